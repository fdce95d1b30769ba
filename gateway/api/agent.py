"""The Agent API's /api/v1/agent routes: sessions, queues, the whole case, and what agents do.

An agent is authenticated by an HttpOnly session cookie. Every state-changing
request must also carry the session's CSRF token in `X-CSRF-Token`: a cookie is
sent by the browser on its own, the header only by the console's own script.
The console (agent_console/) uses nothing but these routes and the /agent
Socket.IO namespace, so a shop can integrate the same calls.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from aiohttp import web

from core.types import Conversation
from gateway.api.agent_contract import (
    AgentLoadView,
    Agents,
    AgentSessionView,
    CannedAnswerList,
    Case,
    CaseEvent,
    ConversationSummary,
    LoginInput,
    PresenceInput,
    ProactiveReport,
    Queues,
    SentMessage,
    Suggestion,
    TextInput,
    TransferInput,
)
from gateway.api import request_actions
from gateway.api.http import ApiError, Handler, answer, caller, constrained_path, limit, read_body
from gateway.conversations.outbox import MessageHeld
from gateway.conversations.store import UnknownConversation, event_to_json
from gateway.desk.agents import Agent, AgentRole, AgentSession, AgentStore, LoginLimiter, LoginLocked, SessionStore
from gateway.desk.assignment import AgentLoad, Presence, Roster
from gateway.desk.canned import CannedAnswers
from gateway.desk.case import Cases
from gateway.limits.clients import Network
from gateway.desk.desk import Conflict, Desk, NotPermitted
from gateway.desk.reach import NotYours
from gateway.desk.request_actions import RequestActions
from gateway.proactive.service import PROACTIVE

COOKIE = "storechat_agent"
CSRF_HEADER = "X-CSRF-Token"


@dataclass(frozen=True, slots=True)
class AgentApi:
    agents: AgentStore
    sessions: SessionStore
    limiter: LoginLimiter
    # The cookie is Secure when shoppers and agents reach the gateway over https.
    secure_cookie: bool
    roster: Roster
    desk: Desk
    cases: Cases
    canned: CannedAnswers
    max_message_chars: int
    # Tells every console that an agent's presence or load changed (the /agent namespace).
    announce_presence: Callable[[AgentLoad], Awaitable[None]]
    # Approve, reject, return labels, damaged-item decisions (gateway/desk/request_actions.py).
    actions: RequestActions
    # STORECHAT_TRUSTED_PROXIES: whose X-Forwarded-For names the client logging in.
    proxies: Sequence[Network] = ()


AGENT_API = web.AppKey("agent_api", AgentApi)


def _api(request: web.Request) -> AgentApi:
    return request.config_dict[AGENT_API]


async def require_agent(request: web.Request, *, csrf: bool) -> AgentSession:
    """The caller's live session (its idle timer restarted), or the 401/403 ApiError.

    `csrf=True` for every request that changes something: the X-CSRF-Token header
    must then equal the session's token.
    """
    session_id = request.cookies.get(COOKIE)
    session = await _api(request).sessions.touch(session_id) if session_id else None
    if session is None:
        raise ApiError(401, "unauthorized", "log in first (the session is missing or has expired)")
    await limit(request, "agent_api_per_agent", session.agent.email)
    if csrf:
        presented = request.headers.get(CSRF_HEADER, "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(presented, session.csrf_token.encode("ascii")):
            raise ApiError(403, "csrf_failed", f"send the session's csrf_token in the {CSRF_HEADER} header")
    return session


def _session_answer(session: AgentSession) -> web.Response:
    return answer(AgentSessionView, session)


async def login(request: web.Request) -> web.Response:
    api = _api(request)
    # A cross-site form cannot send JSON without a preflight: no logging a victim into another account.
    if request.content_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "send the credentials as application/json")
    credentials = await read_body(request, LoginInput, "invalid_credentials")
    email, password = credentials.email, credentials.password
    try:
        await api.limiter.attempt(caller(request, api.proxies), email)
    except LoginLocked as exc:
        raise ApiError(429, "too_many_attempts", str(exc), extra={"retry_after": exc.retry_after},
                       headers={"Retry-After": str(exc.retry_after)}) from None
    agent = await api.agents.authenticate(email, password)
    if agent is None:
        raise ApiError(401, "invalid_credentials", "wrong email or password")
    await api.limiter.succeeded(caller(request, api.proxies), email)
    if previous := request.cookies.get(COOKIE):
        await api.sessions.close(previous)
    session = await api.sessions.open(agent)
    response = _session_answer(session)
    response.set_cookie(COOKIE, session.session_id, path="/", httponly=True, samesite="Strict",
                        secure=api.secure_cookie)
    return response


async def logout(request: web.Request) -> web.Response:
    session = await require_agent(request, csrf=True)
    await _api(request).sessions.close(session.session_id)
    response = web.Response(status=204)
    response.del_cookie(COOKIE, path="/")
    return response


async def me(request: web.Request) -> web.Response:
    return _session_answer(await require_agent(request, csrf=False))


# --- queues, cases, and what agents do ------------------------------------------------


async def _conversation(request: web.Request, agent: Agent, *, to_work: bool = False) -> Conversation:
    """The path's conversation if the agent reads it (and works it, `to_work`; gateway/desk/reach.py);
    404 as for a missing one if not read, so an id of another team's conversation is not
    confirmed; 403 `not_your_team` if read (through its contact) but not the agent's to work."""
    try:
        return await _api(request).cases.reach.conversation(agent, request.match_info["cid"], to_work=to_work)
    except UnknownConversation:
        raise ApiError(404, "unknown_conversation", "no such conversation") from None
    except NotYours:
        raise ApiError(403, "not_your_team", "another team's conversation: read only") from None


async def _acting(request: web.Request) -> tuple[AgentApi, Agent, str]:
    """The API, the agent and the conversation id of a state-changing conversation request."""
    session = await require_agent(request, csrf=True)
    conversation = await _conversation(request, session.agent, to_work=True)
    return _api(request), session.agent, conversation.id


async def _summary_response(api: AgentApi, conversation: Conversation) -> web.Response:
    return answer(ConversationSummary, await api.cases.summary(conversation))


def _desk_errors(exc: Exception) -> ApiError:
    if isinstance(exc, Conflict):
        extra = {"conversation": {"state": exc.conversation.state.value, "agent": exc.conversation.agent}
                 } if exc.conversation else None
        return ApiError(409, "conflict", str(exc), extra=extra)
    if isinstance(exc, NotPermitted):
        return ApiError(403, "not_permitted", str(exc))
    return ApiError(422, "invalid_transfer", str(exc))


async def _text_body(request: web.Request, max_length: int) -> str:
    return (await read_body(request, TextInput, "invalid_text", context={"max_message_chars": max_length})).text


async def queues(request: web.Request) -> web.Response:
    session = await require_agent(request, csrf=False)
    api = _api(request)
    # The queues the agent reaches: their own team first.
    teams = api.cases.reach.teams(session.agent)
    return answer(Queues, {
        "queues": {team: await api.cases.queue(team.value) for team in teams},
        "mine": await api.cases.assigned_to(session.agent.email),
        "agents": [AgentLoadView.of(load) for load in await api.roster.everyone()],
    })


async def agents_list(request: web.Request) -> web.Response:
    await require_agent(request, csrf=False)
    return answer(Agents, {"agents": [AgentLoadView.of(load) for load in await _api(request).roster.everyone()]})


async def set_presence(request: web.Request) -> web.Response:
    session = await require_agent(request, csrf=True)
    api = _api(request)
    wanted = (await read_body(request, PresenceInput, "invalid_presence")).status
    await api.roster.choose(session.agent.email, wanted)
    load = await api.roster.load(session.agent)
    await api.announce_presence(load)
    if load.presence is Presence.ONLINE:
        await api.desk.agent_available(session.agent)
    return answer(AgentLoadView, AgentLoadView.of(load))


async def whole_case(request: web.Request) -> web.Response:
    agent = (await require_agent(request, csrf=False)).agent
    return answer(Case, await _api(request).cases.whole(await _conversation(request, agent), agent))


async def claim(request: web.Request) -> web.Response:
    api, agent, cid = await _acting(request)
    try:
        conversation = await api.desk.claim(cid, agent)
    except Conflict as exc:
        raise _desk_errors(exc) from None
    return await _summary_response(api, conversation)


async def reply(request: web.Request) -> web.Response:
    api, agent, cid = await _acting(request)
    text = await _text_body(request, api.max_message_chars)
    try:
        event = await api.desk.reply(cid, agent, text)
    except Conflict as exc:
        raise _desk_errors(exc) from None
    except MessageHeld as exc:
        # On the case (colleagues see what was tried), not with the shopper.
        raise ApiError(422, "not_sent", str(exc), extra={"reason": exc.reason}) from None
    # Queued for a messaging channel's workers (nobody waits for the provider); the web chat's is out.
    delivery = {"state": event.data.get("delivery") or "sent"}
    return answer(SentMessage, {**event_to_json(event), "delivery": delivery}, 201)


async def note(request: web.Request) -> web.Response:
    api, agent, cid = await _acting(request)
    event = await api.desk.note(cid, agent, await _text_body(request, api.max_message_chars))
    return answer(CaseEvent, event_to_json(event), 201)


async def transfer(request: web.Request) -> web.Response:
    api, agent, cid = await _acting(request)
    wanted = await read_body(request, TransferInput, "invalid_transfer")
    try:
        conversation = await api.desk.transfer(cid, agent, team=wanted.team, to_agent=wanted.agent)
    except (Conflict, NotPermitted, ValueError) as exc:
        raise _desk_errors(exc) from None
    return await _summary_response(api, conversation)


async def resolve(request: web.Request) -> web.Response:
    api, agent, cid = await _acting(request)
    try:
        conversation = await api.desk.resolve(cid, agent)
    except (Conflict, NotPermitted) as exc:
        raise _desk_errors(exc) from None
    return await _summary_response(api, conversation)


async def hand_back(request: web.Request) -> web.Response:
    api, agent, cid = await _acting(request)
    try:
        conversation = await api.desk.hand_back(cid, agent)
    except (Conflict, NotPermitted) as exc:
        raise _desk_errors(exc) from None
    return await _summary_response(api, conversation)


async def request_action(request: web.Request) -> web.Response:
    """Approve, reject, send a label, decide: gateway/api/request_actions.py."""
    api, agent, cid = await _acting(request)
    return await request_actions.act(request, api.actions, agent, cid)


async def canned(request: web.Request) -> web.Response:
    await require_agent(request, csrf=False)
    locale = request.query.get("locale", "")
    query = request.query.get("q", "")[:500]
    return answer(CannedAnswerList, {"answers": _api(request).canned.search(locale, query)})


async def suggestion(request: web.Request) -> web.Response:
    session = await require_agent(request, csrf=False)
    api = _api(request)
    conversation = await _conversation(request, session.agent)
    last = conversation.preview or ""
    return answer(Suggestion, {"answer": api.canned.best_match(conversation.locale, last) if last else None})


async def proactive_report(request: web.Request) -> web.Response:
    """How the proactive chat offers do, per rule: for supervisors only."""
    session = await require_agent(request, csrf=False)
    if session.agent.role is not AgentRole.SUPERVISOR:
        raise ApiError(403, "not_permitted", "only a supervisor sees the proactive offers' results")
    return answer(ProactiveReport, await request.config_dict[PROACTIVE].report())


@dataclass(frozen=True, slots=True)
class AgentRoute:
    method: str
    path: str
    handler: Handler
    # None: open to anyone (logging in); otherwise the session cookie, plus the CSRF header if True.
    csrf: bool | None


ROUTES = (
    AgentRoute("POST", "/agent/login", login, None),
    AgentRoute("POST", "/agent/logout", logout, True),
    AgentRoute("GET", "/agent/me", me, False),
    AgentRoute("GET", "/agent/queues", queues, False),
    AgentRoute("GET", "/agent/agents", agents_list, False),
    AgentRoute("PUT", "/agent/presence", set_presence, True),
    AgentRoute("GET", "/agent/canned", canned, False),
    AgentRoute("GET", "/agent/proactive", proactive_report, False),
    AgentRoute("GET", "/agent/conversations/{cid}", whole_case, False),
    AgentRoute("GET", "/agent/conversations/{cid}/suggestion", suggestion, False),
    AgentRoute("POST", "/agent/conversations/{cid}/claim", claim, True),
    AgentRoute("POST", "/agent/conversations/{cid}/messages", reply, True),
    AgentRoute("POST", "/agent/conversations/{cid}/notes", note, True),
    AgentRoute("POST", "/agent/conversations/{cid}/transfer", transfer, True),
    AgentRoute("POST", "/agent/conversations/{cid}/resolve", resolve, True),
    AgentRoute("POST", "/agent/conversations/{cid}/handback", hand_back, True),
    AgentRoute("POST", "/agent/conversations/{cid}/requests/{request_id}/approve", request_action, True),
    AgentRoute("POST", "/agent/conversations/{cid}/requests/{request_id}/reject", request_action, True),
    AgentRoute("POST", "/agent/conversations/{cid}/requests/{request_id}/label", request_action, True),
    AgentRoute("POST", "/agent/conversations/{cid}/decisions", request_action, True),
)


def add_agent_routes(api: web.Application) -> None:
    """Add the agent routes to the /api/v1 sub-application; the parent app must provide AGENT_API."""
    for route in ROUTES:
        api.router.add_route(route.method, constrained_path(route.path), route.handler)
