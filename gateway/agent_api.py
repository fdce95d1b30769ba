"""The agent console's /api/v1/agent routes: log in, log out, who am I.

An agent is authenticated by an HttpOnly session cookie. Every state-changing
request must also carry the session's CSRF token in `X-CSRF-Token`: a cookie is
sent by the browser on its own, the header only by the console's own script.
Later console routes call `require_agent` first.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from aiohttp import web
from redis.asyncio import Redis

from gateway.agents import (
    MAX_PASSWORD_CHARS,
    AgentSession,
    AgentStore,
    LoginLimiter,
    LoginLocked,
    SessionStore,
    agent_to_json,
)
from gateway.api_http import ApiError, Handler, invalid_input_as, read_json
from gateway.json_input import Reader
from gateway.settings import Settings

COOKIE = "storechat_agent"
CSRF_HEADER = "X-CSRF-Token"


@dataclass(frozen=True, slots=True)
class AgentApi:
    agents: AgentStore
    sessions: SessionStore
    limiter: LoginLimiter
    # The cookie is Secure when shoppers and agents reach the gateway over https.
    secure_cookie: bool

    @classmethod
    def build(cls, redis: Redis, settings: Settings) -> AgentApi:
        agents = AgentStore(redis)
        return cls(
            agents=agents,
            sessions=SessionStore(redis, agents, settings.agent_session_ms),
            limiter=LoginLimiter(redis),
            secure_cookie=settings.effective_public_url.startswith("https://"),
        )


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
    if csrf:
        presented = request.headers.get(CSRF_HEADER, "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(presented, session.csrf_token.encode("ascii")):
            raise ApiError(403, "csrf_failed", f"send the session's csrf_token in the {CSRF_HEADER} header")
    return session


def _session_json(session: AgentSession) -> dict[str, object]:
    return {"agent": agent_to_json(session.agent), "csrf_token": session.csrf_token}


async def login(request: web.Request) -> web.Response:
    api = _api(request)
    # A cross-site form cannot send JSON without a preflight: no logging a victim into another account.
    if request.content_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "send the credentials as application/json")
    body = await read_json(request)
    with invalid_input_as("invalid_credentials"):
        reader = Reader.of(body)
        email = reader.text("email", max_length=254)
        password = reader.text("password", max_length=MAX_PASSWORD_CHARS)
    try:
        await api.limiter.attempt(email)
    except LoginLocked as exc:
        raise ApiError(429, "locked", str(exc), headers={"Retry-After": str(exc.retry_after)}) from None
    agent = await api.agents.authenticate(email, password)
    if agent is None:
        raise ApiError(401, "invalid_credentials", "wrong email or password")
    await api.limiter.succeeded(email)
    if previous := request.cookies.get(COOKIE):
        await api.sessions.close(previous)
    session = await api.sessions.open(agent)
    response = web.json_response(_session_json(session))
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
    return web.json_response(_session_json(await require_agent(request, csrf=False)))


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
)


def add_agent_routes(api: web.Application) -> None:
    """Add the agent routes to the /api/v1 sub-application; the parent app must provide AGENT_API."""
    for route in ROUTES:
        api.router.add_route(route.method, route.path, route.handler)
