"""The call-backs in the Agent API: the team's call-back list and an agent's outcome of a call,
and the supervisors' `callbacks` report (gateway/callbacks/)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.api.agent import AgentRoute, require_agent
from gateway.api.callbacks_contract import CallbackList, CallbackReport, CallbackView, OutcomeInput
from gateway.api.http import ApiError, answer, constrained_path, read_body
from gateway.api.reports import report_query, supervisor
from gateway.callbacks.report import callbacks_report
from gateway.callbacks.service import CALLBACKS, NotTheAssignee, Outcome, SlotNotOffered
from gateway.callbacks.store import Callback, NotOpen
from gateway.conversations.store import UnknownConversation
from gateway.desk.desk import Conflict, NotPermitted
from gateway.desk.reach import NotYours


def view(callback: Callback) -> dict[str, Any]:
    return {**{name: getattr(callback, name) for name in ("conversation_id", "phone", "status", "attempts", "team",
                                                          "locale", "via")},
            "slot": round(callback.slot * 1000), "requested_at": round(callback.requested_at * 1000),
            "updated_at": round(callback.updated_at * 1000)}


async def callback_list(request: web.Request) -> web.Response:
    session = await require_agent(request, csrf=False)
    callbacks = request.config_dict[CALLBACKS]
    listed = await callbacks.list_for(callbacks.reach.teams(session.agent))
    teams = sorted({callback.team for callback in listed})
    return answer(CallbackList, {"callbacks": [view(callback) for callback in listed],
                                 "slots": {team: [round(at * 1000) for at in callbacks.slots(team)] for team in teams}})


async def record_outcome(request: web.Request) -> web.Response:
    session = await require_agent(request, csrf=True)
    callbacks = request.config_dict[CALLBACKS]
    try:
        conversation = await callbacks.reach.conversation(session.agent, request.match_info["cid"], to_work=True)
    except UnknownConversation:
        raise ApiError(404, "unknown_conversation", "no such conversation") from None
    except NotYours:
        raise ApiError(403, "not_your_team", "another team's conversation: read only") from None
    wanted = await read_body(request, OutcomeInput, "invalid_outcome")
    slot = wanted.slot / 1000 if wanted.slot is not None else None
    try:
        done = await callbacks.outcome(conversation.id, session.agent, Outcome(wanted.outcome), slot=slot,
                                       resolve=wanted.resolve)
    except NotOpen:
        raise ApiError(409, "not_open", "the conversation has no open call-back") from None
    except NotTheAssignee as exc:
        raise ApiError(403, "not_your_case", str(exc)) from None
    except SlotNotOffered as exc:
        raise ApiError(422, "slot_not_offered", str(exc)) from None
    except (Conflict, NotPermitted) as exc:
        # Recorded; the case itself was taken or changed by someone else meanwhile.
        raise ApiError(409, "conflict", str(exc)) from None
    return answer(CallbackView, view(done))


async def report(request: web.Request) -> web.Response:
    reports = await supervisor(request)
    return answer(CallbackReport, await callbacks_report(reports.redis, report_query(request, reports)))


ROUTES = (
    AgentRoute("GET", "/agent/callbacks", callback_list, False),
    AgentRoute("POST", "/agent/conversations/{cid}/callback", record_outcome, True),
)
REPORT_ROUTE = ("/agent/reports/callbacks", report)


def add_callback_routes(api: web.Application) -> None:
    """Add the call-back routes to the /api/v1 sub-application (beside add_agent_routes)."""
    for route in ROUTES:
        api.router.add_route(route.method, constrained_path(route.path), route.handler)
    api.router.add_get(*REPORT_ROUTE)
