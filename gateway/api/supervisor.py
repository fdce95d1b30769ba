"""The supervisor console's /api/v1/agent routes: every conversation (list and search), the
overview of queues and agents, and the teams' shopper requests.

Supervisors only: an agent's session gets 403, no session 401. Taking a conversation over
is `POST /agent/conversations/{cid}/transfer {"agent": <own email>}` and handing it back to
the bot is `POST /agent/conversations/{cid}/handback` (both gateway/api/agent.py). The
directory is kept by its projection's Follower (gateway/desk/directory.py); what it
answers is as current as that Follower, while each page's summaries are read from the
conversations themselves.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from aiohttp import web

from core.types import ConversationState, Team
from gateway import keys
from gateway.api.agent import AGENT_API, AgentApi, AgentRoute, require_agent
from gateway.api.agent_contract import AgentLoadView
from gateway.api.http import ApiError, answer, invalid_input_as
from gateway.api.supervisor_contract import (
    DirectoryPage,
    DirectoryQuery,
    Overview,
    RequestsQuery,
    TeamRequestList,
)
from gateway.desk.agents import AgentRole
from gateway.desk.assignment import Presence
from gateway.desk.directory import Cursor, Directory, Filter, InvalidCursor
from gateway.json_input import Body, parse
from gateway.shop.orders import normalise_email
from gateway.shop.shopper_requests import RequestStatus, request_to_json, waits_for_parcel

# The newest requests of a team looked at for one answer (a team's list keeps every request).
REQUESTS_SCANNED = 1000
NOT_DONE = frozenset({RequestStatus.OPEN, RequestStatus.RECEIVED})
Query = TypeVar("Query", bound=Body)


async def _supervisor(request: web.Request) -> AgentApi:
    session = await require_agent(request, csrf=False)
    if session.agent.role is not AgentRole.SUPERVISOR:
        raise ApiError(403, "not_permitted", "only a supervisor sees this")
    return request.config_dict[AGENT_API]


def _query(request: web.Request, model: type[Query]) -> Query:
    """The query string as `model` reads it; an empty value counts as absent."""
    given = {name: value for name, value in request.query.items() if value != ""}
    with invalid_input_as("invalid_query"):
        return parse(model, given)


def _midnight(day: date, timezone: ZoneInfo) -> float:
    return datetime.combine(day, time(0), timezone).timestamp()


def _filter(query: DirectoryQuery, timezone: ZoneInfo) -> Filter:
    if query.since and query.until and query.until < query.since:
        raise ApiError(422, "invalid_query", "to: must not be before from")
    return Filter(
        state=query.state, team=query.team, channel=query.channel, csat=query.csat, text=query.q,
        agent=normalise_email(query.agent) if query.agent else None,
        since=_midnight(query.since, timezone) if query.since else None,
        until=_midnight(query.until + timedelta(days=1), timezone) if query.until else None,
    )


async def conversations(request: web.Request) -> web.Response:
    api = await _supervisor(request)
    query = _query(request, DirectoryQuery)
    try:
        cursor = Cursor.decode(query.cursor) if query.cursor else None
    except InvalidCursor as exc:
        raise ApiError(422, "invalid_query", f"cursor: {exc}") from None
    wanted = _filter(query, api.desk.hours.timezone)
    page = await Directory(api.desk.store.redis).search(wanted, limit=query.limit, cursor=cursor)
    summaries = {summary["id"]: summary
                 for summary in await api.cases.summaries([hit.conversation_id for hit in page.hits])}
    entries = []
    for hit in page.hits:
        summary = summaries.get(hit.conversation_id)
        # The index follows the feed; the conversation itself says what state it is in now.
        if summary is None or (query.state is not None and summary["state"] != query.state.value):
            continue
        entries.append({**summary, "csat": hit.csat, "last_activity_at": round(hit.last_activity * 1000)})
    return answer(DirectoryPage, {"conversations": entries, "next": page.next})


async def overview(request: web.Request) -> web.Response:
    api = await _supervisor(request)
    redis, now = api.desk.store.redis, api.desk.store.clock()
    async with redis.pipeline(transaction=False) as pipe:
        for team in Team:
            pipe.zcard(keys.team_queue(team.value))
            pipe.zrange(keys.team_queue(team.value), 0, 0, withscores=True)
        pipe.zcard(keys.conversations_by_state(ConversationState.ASSIGNED.value))
        *queued, assigned = await pipe.execute()
    teams = []
    for index, team in enumerate(Team):
        waiting, oldest = int(queued[2 * index]), queued[2 * index + 1]
        longest = round(max(0.0, now - float(oldest[0][1])), 3) if oldest else None
        teams.append({"team": team, "waiting": waiting, "longest_wait_seconds": longest})
    loads = await api.roster.everyone()
    capacity = api.desk.router.capacity
    online = [load for load in loads if load.presence is Presence.ONLINE]
    totals: dict[str, Any] = {
        "waiting": sum(entry["waiting"] for entry in teams), "assigned": int(assigned),
        **{presence.value: sum(1 for load in loads if load.presence is presence) for presence in Presence},
        "open_chats": sum(load.open_chats for load in loads),
        "free_slots": sum(max(0, capacity - load.open_chats) for load in online),
    }
    return answer(Overview, {"teams": teams, "agents": [AgentLoadView.of(load) for load in loads],
                             "capacity": capacity, "totals": totals})


async def team_requests(request: web.Request) -> web.Response:
    api = await _supervisor(request)
    query = _query(request, RequestsQuery)
    wanted = NOT_DONE if query.status is None else frozenset({query.status})
    store, redis = api.cases.requests, api.desk.store.redis
    teams = []
    for team in [query.team] if query.team else list(Team):
        ids = await redis.zrevrange(keys.team_requests(team.value), 0, REQUESTS_SCANNED - 1)
        listed = [item for item in await store.many([str(i) for i in ids])
                  if item.status in wanted or (query.status is None and waits_for_parcel(item))]
        teams.append({"team": team, "requests": [request_to_json(item, api.cases.public_url)
                                                 for item in listed[:query.limit]]})
    return answer(TeamRequestList, {"teams": teams})


ROUTES = (
    AgentRoute("GET", "/agent/conversations", conversations, False),
    AgentRoute("GET", "/agent/overview", overview, False),
    AgentRoute("GET", "/agent/requests", team_requests, False),
)


def add_supervisor_routes(api: web.Application) -> None:
    """Add the supervisor routes to the /api/v1 sub-application (beside add_agent_routes)."""
    for route in ROUTES:
        api.router.add_route(route.method, route.path, route.handler)
