"""The reports' projection on real Redis: events through the real store, folded by the feed."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from redis.asyncio import Redis

from core.types import Author, Channel, ConversationState as S, EventKind, Team
from gateway.conversations import state_machine
from gateway.conversations.store import ConversationStore
from gateway.desk.business_hours import BusinessHours
from gateway.reports import figures
from gateway.conversations.feed import Follower, rebuild
from gateway.reports.projection import ReportsProjection
from gateway.reports.query import ReportQuery
from gateway.reports.rollups import Rollups

HOURS = BusinessHours.load(Path("config/business_hours.yml"))
# Tuesday 1 December 2026, 10:00 in Berlin (CET, UTC+1).
T0 = 1796115600.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


async def _handed_off_chat(redis: Redis, clock: Clock) -> str:
    store = ConversationStore(redis, clock)
    conversation = await store.open(Channel.WEB, "session-1", "de")
    await store.append_message(conversation.id, Author.SHOPPER, "Wo ist meine Bestellung?")
    clock.now += 2
    await store.append_message(conversation.id, Author.BOT, "Gern! Die Nummer?", {"intent": "order_status"})
    clock.now += 10
    await state_machine.transition(redis, conversation.id, S.QUEUED, clock=clock, reason="shopper_asked",
                                   team="logistics")
    clock.now += 90
    await state_machine.transition(redis, conversation.id, S.ASSIGNED, clock=clock, reason="claimed",
                                   team="logistics", agent="anna@shop.example")
    clock.now += 5
    await store.append_message(conversation.id, Author.AGENT, "Hallo, ich schaue nach.",
                               {"agent": "anna@shop.example", "agent_name": "Anna"})
    clock.now += 300
    await state_machine.transition(redis, conversation.id, S.RESOLVED, clock=clock, reason="resolved")
    await store.append(conversation.id, EventKind.CSAT, author=Author.SHOPPER, data={"score": 5, "comment": None})
    return conversation.id


def _query(**filters: object) -> ReportQuery:
    return ReportQuery(date(2026, 12, 1), date(2026, 12, 1), HOURS.timezone, **filters)  # type: ignore[arg-type]


async def test_a_handed_off_chat_is_counted_once_with_its_first_response_from_the_handoff(redis: Redis) -> None:
    projection = ReportsProjection(Rollups(HOURS))
    follower = Follower(redis, projection)
    await follower.ensure_group()
    await _handed_off_chat(redis, Clock())
    await follower.drain()
    await follower.drain()  # nothing new: nothing counted twice

    speed = await figures.speed(redis, _query(), target_seconds=60)
    assert speed["first_response"] == {"count": 1, "median": 90, "p90": 90, "mean": 95.0,
                                       "over_target": 1, "unanswered": 0}
    assert speed["resolution"]["count"] == 1 and speed["resolution"]["mean"] == 407.0
    assert speed["waiting"]["count"] == 1 and speed["waiting"]["mean"] == 2.0
    volume = await figures.volume(redis, _query())
    assert volume["started"]["total"] == 1 and volume["started"]["by_channel"]["web"] == 1
    assert volume["heatmap"]["incoming"][1][10] == 1  # Tuesday, 10:00 Berlin
    bot = await figures.bot(redis, _query())
    assert bot["deflected"] == 0 and bot["topics"][0]["topic"] == "order_status"
    satisfaction = await figures.satisfaction(redis, _query(team=Team.LOGISTICS))
    assert satisfaction["score"] == 1.0 and satisfaction["by_agent"][0]["agent"] == "anna@shop.example"
    other_team = await figures.speed(redis, _query(team=Team.BILLING), target_seconds=60)
    assert other_team["first_response"]["count"] == 0


async def test_rebuild_counts_the_same_as_following(redis: Redis) -> None:
    projection = ReportsProjection(Rollups(HOURS))
    follower = Follower(redis, projection)
    await follower.ensure_group()
    await _handed_off_chat(redis, Clock())
    await follower.drain()
    before = await figures.speed(redis, _query(), target_seconds=60)
    assert await rebuild(redis, projection) == 1
    assert await figures.speed(redis, _query(), target_seconds=60) == before
