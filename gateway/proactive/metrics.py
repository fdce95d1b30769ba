"""How the offers do: shown, accepted, declined and converted, per rule, for supervisors.

Converted is an order placed in the same browsing session after the offer was shown
(whatever the answer): the question is whether offering helps sell, not only whether
people click.

Each outcome is counted twice in one transaction: all-time (`GET /api/v1/agent/proactive`)
and on its shop-local day (the `proactive` report, gateway/reports/proactive.py), at the
moment it happened on the conversations' clock. A day's counters expire after DAY_SECONDS.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from gateway import keys
from gateway.proactive.rules import Rule

# A report covers at most 366 days; a day's counters are kept a little longer.
DAY_SECONDS = 400 * 24 * 3600


class Outcome(StrEnum):
    SHOWN = "shown"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    CONVERTED = "converted"


@dataclass(frozen=True, slots=True)
class Metrics:
    redis: Redis
    # The shop's (config/business_hours.yml): a day is the shop's day, not UTC's.
    timezone: ZoneInfo

    async def count(self, rule: str, outcome: Outcome, at: float) -> None:
        """Count an outcome that happened at `at` (epoch seconds)."""
        field = f"{rule}:{outcome.value}"
        day = keys.proactive_metrics_on(datetime.fromtimestamp(at, self.timezone).date().isoformat())
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(keys.proactive_metrics(), field, 1)
            pipe.hincrby(day, field, 1)
            pipe.expire(day, DAY_SECONDS)
            await pipe.execute()

    async def report(self, rules: Iterable[Rule]) -> dict[str, Any]:
        """All time: `{"rules": [{"rule", "target", "shown", "accepted", "declined", "converted", "conversion_rate"}]}`."""
        return {"rules": rule_rows(rules, await self.redis.hgetall(keys.proactive_metrics()))}


async def day_counters(redis: Redis, days: Iterable[date]) -> Counter[str]:
    """The counters of `days` summed, by field (`<rule>:<outcome>`)."""
    async with redis.pipeline(transaction=False) as pipe:
        for day in days:
            pipe.hgetall(keys.proactive_metrics_on(day.isoformat()))
        counted: list[dict[str, str]] = await pipe.execute()
    total: Counter[str] = Counter()
    for counters in counted:
        total.update({field: int(value) for field, value in counters.items()})
    return total


def rule_rows(rules: Iterable[Rule], counters: Mapping[Any, Any]) -> list[dict[str, Any]]:
    """One row per rule, in the rules' order (a rule without offers shows zeros)."""
    rows = []
    for rule in rules:
        counts = {outcome.value: int(counters.get(f"{rule.name}:{outcome.value}") or 0) for outcome in Outcome}
        shown = counts[Outcome.SHOWN.value]
        rate = round(counts[Outcome.CONVERTED.value] / shown, 4) if shown else 0.0
        rows.append({"rule": rule.name, "target": rule.target.value, **counts, "conversion_rate": rate})
    return rows
