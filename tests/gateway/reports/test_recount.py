"""Every report figure equals a brute-force recount of the raw conversation histories.

The scenario (cases.py: the hand-written corners and seeded random chats) is written through
the real store and state machine into a clean Redis; the gateway's projections fold it; then
for many queries the Agent API's reports (volume, speed, bot, satisfaction) and the CSV
export are compared, field by field, with what recount.py / recount_figures.py compute from
the histories and the README's definitions alone (they never call gateway/reports/).
"""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from core.types import Team
from gateway.app import create_app
from gateway.desk.agents import AgentRole
from gateway.reports.service import REPORTS
from gateway.run.history.writer import AGENTS, SUPERVISOR, Clock, Scenario, berlin
from gateway.settings import Settings
from tests.gateway.agent_support import add_agent
from tests.gateway.api.test_reports_api import _logged_in
from tests.gateway.reports.cases import write_scenario
from tests.gateway.reports.recount import OpeningMinutes, recount
from tests.gateway.reports.recount_figures import CHANNELS, TEAMS, Figures, Query

pytestmark = pytest.mark.slow

RANDOM_CHATS = 300
REPORTS_COMPARED = ("volume", "speed", "bot", "satisfaction")
WHOLE = Query(date(2026, 3, 1), date(2026, 12, 31))
AUTUMN = Query(date(2026, 10, 1), date(2026, 11, 10))


def one_day(day: date, **filters: Any) -> Query:
    return Query(day, day, **filters)


QUERIES = (
    WHOLE,
    replace(WHOLE, business_hours=True),
    AUTUMN,
    one_day(date(2026, 3, 29)),  # the clocks go forward
    one_day(date(2026, 3, 29), business_hours=True),
    one_day(date(2026, 10, 25)),  # the clocks go back
    one_day(date(2026, 10, 24), business_hours=True),  # the Saturday before
    one_day(date(2026, 10, 20)),  # "midnight" starts here ...
    one_day(date(2026, 10, 21)),  # ... and is handed off after midnight
    one_day(date(2026, 10, 15), business_hours=True),  # "overnight"
    one_day(date(2026, 12, 24)),  # Christmas Eve, before two closed holidays
    one_day(date(2026, 12, 24), business_hours=True),
    *(replace(WHOLE, channel=channel) for channel in CHANNELS),
    Query(date(2026, 3, 23), date(2026, 4, 5), business_hours=True),  # the spring weeks
    *(replace(WHOLE, team=team) for team in TEAMS),
    replace(AUTUMN, team="logistics", business_hours=True),
    *(replace(WHOLE, agent=agent) for agent in AGENTS),
    replace(WHOLE, agent="ben@nordlicht-home.example", channel="messenger"),
    replace(AUTUMN, agent="carla@nordlicht-home.example", business_hours=True),
    replace(AUTUMN, team="product", agent="carla@nordlicht-home.example"),
    # Targets: exactly the "exactly_target" case's 120 s, and others on bucket edges.
    *(replace(WHOLE, target=target) for target in (60, 120, 300, 900, 3600)),
    replace(one_day(date(2026, 10, 14)), target=120),
)


def differences(live: Any, recounted: Any, path: str = "") -> list[str]:
    """Every place the two answers differ, as `path: live … ≠ recount …`."""
    if isinstance(live, dict) and isinstance(recounted, dict):
        found = []
        for key in sorted(set(live) | set(recounted), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in recounted:
                found.append(f"{where}: only in the report ({live[key]!r})")
            elif key not in live:
                found.append(f"{where}: only in the recount ({recounted[key]!r})")
            else:
                found += differences(live[key], recounted[key], where)
        return found
    if isinstance(live, list) and isinstance(recounted, list):
        if len(live) != len(recounted):
            missing = [item for item in recounted if item not in live][:5]
            extra = [item for item in live if item not in recounted][:5]
            return [f"{path}: {len(live)} entries in the report ≠ {len(recounted)} in the recount; "
                    f"only in the report: {extra}; only in the recount: {missing}"]
        return [found for n, (a, b) in enumerate(zip(live, recounted)) for found in differences(a, b, f"{path}[{n}]")]
    if live != recounted:
        return [f"{path}: report {live!r} ≠ recount {recounted!r}"]
    return []


async def _json(client: TestClient, report: str, query: Query) -> dict[str, Any]:
    response = await client.get(f"/api/v1/agent/reports/{report}", params=query.params())
    assert response.status == 200, (report, query, await response.text())
    answer: dict[str, Any] = await response.json()
    for comment in answer.get("comments", ()):
        # Classed by the feedback classifier (gateway/complaints): no figure the recount defines.
        assert comment.pop("feedback") in (None, "praise", "suggestion", "complaint")
    return answer


async def _csv_rows(client: TestClient, query: Query) -> list[dict[str, str]]:
    params = {name: value for name, value in query.params().items() if name != "target"}
    response = await client.get("/api/v1/agent/reports/conversations.csv", params=params)
    assert response.status == 200
    return list(csv.DictReader(io.StringIO(await response.text())))


# Hand-computed in cases.py: (first response in seconds, of it in opening hours).
FIRST_RESPONSES = {
    "overnight": (43_500, 300), "autumn_night": (148_800, 1_200), "spring_night": (142_500, 2_100),
    "christmas": (307_800, 5_400), "exactly_target": (120, 120), "midnight": (28_560, 60),
}


async def test_every_report_figure_equals_the_recount(aiohttp_client: Any, redis: Redis,
                                                      api_settings: Settings) -> None:
    clock = Clock()
    clock.ms = berlin(2026, 12, 31, 12)
    app = create_app(api_settings, clock=clock)
    client = await aiohttp_client(app)
    reports = app[REPORTS]
    # The gateway's followers fold the feed while the scenario is written (as in production:
    # a conversation is folded in many small steps), then whatever is left.
    scenario = Scenario(redis, reports.hours)
    ids = await write_scenario(scenario, seed=12, random_chats=RANDOM_CHATS)
    assert not scenario.left_out, f"not written (the state machine has no hand back): {scenario.left_out}"
    await reports.drain()
    await add_agent(redis, SUPERVISOR, Team.GENERAL, role=AgentRole.SUPERVISOR)
    await _logged_in(client, SUPERVISOR)
    facts, hours = await recount(redis), OpeningMinutes(reports.hours)

    # The recount is only as good as what it is fed and how it reads it: the corners are
    # there, and it agrees with the durations worked out by hand.
    for name, (seconds, open_seconds) in FIRST_RESPONSES.items():
        handoff = next(h for h in facts.handoffs if h.conversation_id == ids[name])
        assert handoff.answered_at is not None, name
        measured = (handoff.answered_at - handoff.at, hours.open_ms(handoff.at, handoff.answered_at, handoff.team))
        assert measured == (seconds * 1000, open_seconds * 1000), name
    numbers = {e.conversation_id: e.number for e in facts.episodes}
    assert numbers[ids["reopened"]] == numbers[ids["resumed_after_a_day"]] == 2
    assert numbers[ids["resumed_same_day"]] == 1
    handed_back = [b for b in facts.bot_episodes if b.conversation_id == ids["handed_back_queued"]]
    assert [(b.topic, b.handed_off) for b in handed_back] == [(None, True), ("order_status", True)]
    night = Figures(facts, one_day(date(2026, 10, 25)), hours).volume()
    assert night["heatmap"]["incoming"][6][2] == 2, "02:30 happens twice that night"
    # ... and the filtered queries have something to compare.
    whole = Figures(facts, WHOLE, hours)
    assert {"order_status", "none"} <= {line["topic"] for line in whole.bot()["topics"]}
    assert len(whole.satisfaction()["comments"]) >= 20 and whole.speed()["first_response"]["unanswered"] >= 10
    for query in QUERIES:
        if (query.agent or query.team) and query.agent != SUPERVISOR:  # he only resolves others' queues
            filtered = Figures(facts, query, hours)
            assert filtered.first_responses() or filtered.resolves(), f"nothing of theirs to compare: {query}"

    failures: list[str] = []
    for query in QUERIES:
        figures = Figures(facts, query, hours)
        for report in REPORTS_COMPARED:
            found = differences(await _json(client, report, query), figures.report(report))
            failures += [f"{report}?{query.params()}: {line}" for line in found]
        found = differences(await _csv_rows(client, query), figures.csv_rows())
        failures += [f"conversations.csv?{query.params()}: {line}" for line in found]
    assert not failures, f"{len(failures)} figures differ:\n" + "\n".join(failures[:100])
