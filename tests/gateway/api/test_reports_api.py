"""The reports in the Agent API: supervisors only, the query checked, figures from the rollups."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from core.types import Author, Channel, ConversationState, Team
from gateway.api.agent import COOKIE
from gateway.app import STORE, create_app
from gateway.conversations import state_machine
from gateway.desk.agents import AgentRole
from gateway.reports.service import REPORTS
from gateway.settings import Settings
from tests.gateway.agent_support import PASSWORD, add_agent

# Tuesday 1 December 2026, 19:58 in Berlin: two minutes before the teams close.
T0 = 1796151480.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


async def _logged_in(client: TestClient, email: str) -> None:
    response = await client.post("/api/v1/agent/login", json={"email": email, "password": PASSWORD})
    assert response.status == 200
    # The test settings' public URL is https, so the cookie is Secure: sent by hand over http.
    client.session.headers["Cookie"] = f"{COOKIE}={response.cookies[COOKIE].value}"


async def _get(client: TestClient, path: str) -> tuple[int, Any]:
    response = await client.get(f"/api/v1/agent/reports/{path}")
    return response.status, await response.json()


async def test_an_evening_handoff_answered_next_morning(aiohttp_client: Any, redis: Redis,
                                                        api_settings: Settings) -> None:
    clock = Clock()
    app = create_app(api_settings, clock=clock)
    client = await aiohttp_client(app)
    await add_agent(redis, "sue@shop.example", Team.GENERAL, role=AgentRole.SUPERVISOR)
    store = app[STORE]
    conversation = await store.open(Channel.SMS, "+491701234567", "de")
    await store.append_message(conversation.id, Author.SHOPPER, "Ich möchte mit einem Menschen sprechen")
    clock.now += 1
    await store.append_message(conversation.id, Author.BOT, "Ich verbinde dich.", {"intent": "request_human"})
    await state_machine.transition(redis, conversation.id, ConversationState.QUEUED, clock=clock,
                                   reason="shopper_asked", team="billing")
    clock.now += 12 * 3600 + 5 * 60  # 08:03 the next morning
    await store.append_message(conversation.id, Author.AGENT, "Guten Morgen!", {"agent": "bea@shop.example"})
    await app[REPORTS].drain()
    await _logged_in(client, "sue@shop.example")

    status, speed = await _get(client, "speed?from=2026-12-01&to=2026-12-02")
    assert status == 200
    assert speed["first_response"]["count"] == 1
    assert speed["first_response"]["mean"] == 43_500.0 and speed["first_response"]["over_target"] == 1
    status, in_hours = await _get(client, "speed?from=2026-12-01&to=2026-12-02&business_hours=true")
    # 19:58:01 → 20:00 and 08:00 → 08:03:01 are in opening hours: 119 s + 181 s.
    assert in_hours["first_response"]["mean"] == 300.0 and in_hours["first_response"]["median"] == 300
    status, volume = await _get(client, "volume?from=2026-12-01&to=2026-12-01&channel=sms")
    assert volume["started"]["total"] == 1 and volume["handoffs"]["by_team"]["billing"] == 1
    assert volume["heatmap"]["handoffs"][1][19] == 1
    status, other = await _get(client, "volume?from=2026-12-01&to=2026-12-01&channel=web")
    assert other["started"]["total"] == 0
    # A handoff is no agent's yet: with an agent filter it is left out, not shown as zero.
    status, bea = await _get(client, "volume?from=2026-12-01&to=2026-12-01&agent=bea@shop.example")
    assert status == 200 and bea["handoffs"] is None and bea["heatmap"]["handoffs"] is None
    assert {"handoffs", "heatmap.handoffs", "started"} <= set(bea["unfiltered"])
    status, bea_speed = await _get(client, "speed?from=2026-12-01&to=2026-12-02&agent=bea@shop.example")
    assert bea_speed["first_response"]["count"] == 1 and bea_speed["first_response"]["unanswered"] is None
    assert bea_speed["unfiltered"] == ["first_response.unanswered"]


async def test_reports_are_for_supervisors_and_the_query_is_checked(api: TestClient, redis: Redis) -> None:
    await add_agent(redis, "anna@shop.example", Team.LOGISTICS)
    await _logged_in(api, "anna@shop.example")
    status, body = await _get(api, "volume")
    assert status == 403 and body["error"] == "not_permitted"
    await add_agent(redis, "sue@shop.example", Team.GENERAL, role=AgentRole.SUPERVISOR)
    await _logged_in(api, "sue@shop.example")
    for query, named in [("from=2026-13-01", "from"), ("from=2026-12-02&to=2026-12-01", "from/to"),
                         ("team=sales", "team"), ("business_hours=maybe", "business_hours"),
                         ("from=2024-01-01&to=2026-01-01", "from/to")]:
        status, body = await _get(api, f"bot?{query}")
        assert status == 422 and body["message"].startswith(named), (query, body)
    status, body = await _get(api, "speed?target=125")
    assert status == 422 and body["message"].startswith("target")
    status, body = await _get(api, "satisfaction")
    assert status == 200 and body["range"]["timezone"] == "Europe/Berlin" and body["answers"] == 0


async def test_staffing_and_the_csv_of_the_conversations_behind_the_reports(
        aiohttp_client: Any, redis: Redis, api_settings: Settings) -> None:
    clock = Clock()
    app = create_app(api_settings, clock=clock)
    client = await aiohttp_client(app)
    await add_agent(redis, "sue@shop.example", Team.GENERAL, role=AgentRole.SUPERVISOR)
    store = app[STORE]
    conversation = await store.open(Channel.WEB, "session-2", "en")
    await store.append_message(conversation.id, Author.SHOPPER, "I want a person")
    await state_machine.transition(redis, conversation.id, ConversationState.QUEUED, clock=clock,
                                   reason="shopper_asked", team="general")
    clock.now += 60
    await state_machine.transition(redis, conversation.id, ConversationState.ASSIGNED, clock=clock,
                                   reason="claimed", team="general", agent="sue@shop.example")
    clock.now += 240
    await state_machine.transition(redis, conversation.id, ConversationState.RESOLVED, clock=clock,
                                   reason="resolved by sue@shop.example")
    await app[REPORTS].drain()
    await _logged_in(client, "sue@shop.example")

    status, staffing = await _get(client, "staffing?from=2026-12-01&to=2026-12-01&service_level=0.8")
    assert status == 200
    assert staffing["handling_seconds"] == 240.0 and staffing["handling_measured"] is True
    assert staffing["needed"][1][19] == 1 and staffing["needed"][1][10] == 0
    assert staffing["forecast"] is None  # one day of history is no weekly pattern
    status, body = await _get(client, "staffing?concurrency=0")
    assert status == 422 and body["message"].startswith("concurrency")

    response = await client.get("/api/v1/agent/reports/conversations.csv?from=2026-12-01&to=2026-12-01")
    assert response.status == 200 and response.content_type == "text/csv"
    lines = (await response.text()).splitlines()
    assert lines[0].startswith("conversation_id,episode,channel,started_at")
    assert len(lines) == 2
    row = dict(zip(lines[0].split(","), lines[1].split(","), strict=True))
    assert row["conversation_id"] == conversation.id and row["outcome"] == "resolved"
    assert row["started_at"] == "2026-12-01T19:58:00+01:00" and row["agent"] == "sue@shop.example"
