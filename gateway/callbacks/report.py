"""The `callbacks` report: call-backs requested, reached, unanswered, rescheduled, unreachable.

A projection of the feed (its own consumer group, "callbacks"): every `callback` event of a
case is counted once, on the shop-local day of the event, by its step and the conversation's
channel (keys.callbacks_counted_on, kept ROLLUP_DAYS). Definitions (README, "Reports"):
**requested** — call-backs asked for (a changed number or time of an open one is a
reschedule, not a new request); **reached** — calls recorded as reached; **no answer** —
calls recorded as unanswered that are tried again; **unreachable** — call-backs closed after
their last unanswered try (that try counts here, not under no answer); **rescheduled** — new
slots, by the agent or the shopper. A call-back has no team filter of its own (it is the
general team's unless its case was at another team's desk) and no agent or hours filter: the
report names them in `unfiltered`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from core.types import Conversation, Event, EventKind
from gateway import keys
from gateway.callbacks.store import Step
from gateway.conversations.feed import Projected
from gateway.reports.query import ReportQuery

ROLLUP_DAYS = 800
COUNTED = (Step.REQUESTED, Step.REACHED, Step.NO_ANSWER, Step.RESCHEDULED, Step.UNREACHABLE)
_COUNTED = frozenset(step.value for step in COUNTED)


def counted(events: Sequence[Event], timezone: ZoneInfo, channel: str) -> Counter[tuple[str, str]]:
    """(shop-local day, "<step>:<channel>") → call-back events of that step."""
    found: Counter[tuple[str, str]] = Counter()
    for event in events:
        step = event.data.get("step")
        if event.kind is EventKind.CALLBACK and step in _COUNTED:
            day = datetime.fromtimestamp(event.at, timezone).date().isoformat()
            found[(day, f"{step}:{channel}")] += 1
    return found


@dataclass(frozen=True, slots=True)
class CallbacksProjection:
    timezone: ZoneInfo
    name: str = "callbacks"

    async def project(self, redis: Redis, conversation: Conversation, state: Mapping[str, str],
                      events: Sequence[Event]) -> Projected:
        found = counted(events, self.timezone, conversation.channel.value)
        if not found:
            return Projected({})
        return Projected({}, lambda pipe: _write(pipe, found))

    async def reset(self, redis: Redis) -> None:
        async for key in redis.scan_iter(match=keys.callbacks_counted_on("*"), count=1000):
            await redis.delete(key)


def _write(pipe: Pipeline, found: Counter[tuple[str, str]]) -> None:
    for (day, field), count in found.items():
        pipe.hincrby(keys.callbacks_counted_on(day), field, count)
        pipe.expire(keys.callbacks_counted_on(day), ROLLUP_DAYS * 86400)


async def callbacks_report(redis: Redis, query: ReportQuery) -> dict[str, Any]:
    """`{"range", "unfiltered", "totals": {step: n}, "days": [{"day", step: n, …}]}`, the channel filter applied."""
    async with redis.pipeline(transaction=False) as pipe:
        for day in query.days():
            pipe.hgetall(keys.callbacks_counted_on(day.isoformat()))
        read: list[dict[str, str]] = await pipe.execute()
    totals = dict.fromkeys((step.value for step in COUNTED), 0)
    days = []
    for day, counters in zip(query.days(), read, strict=True):
        row = dict.fromkeys((step.value for step in COUNTED), 0)
        for field, count in counters.items():
            step, _, channel = field.partition(":")
            if step in row and (query.channel is None or channel == query.channel.value):
                row[step] += int(count)
                totals[step] += int(count)
        days.append({"day": day.isoformat(), **row})
    unfiltered = [name for name, given in (("team", query.team), ("agent", query.agent),
                                           ("business_hours", query.business_hours)) if given]
    return {"range": query.range_json(), "unfiltered": unfiltered, "totals": totals, "days": days}
