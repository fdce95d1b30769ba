"""How the offers do: shown, accepted, declined and converted, per rule, for supervisors.

Converted is an order placed in the same browsing session after the offer was shown
(whatever the answer): the question is whether offering helps sell, not only whether
people click.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from redis.asyncio import Redis

from gateway import keys
from gateway.proactive.rules import Rule


class Outcome(StrEnum):
    SHOWN = "shown"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    CONVERTED = "converted"


@dataclass(frozen=True, slots=True)
class Metrics:
    redis: Redis

    async def count(self, rule: str, outcome: Outcome) -> None:
        await self.redis.hincrby(keys.proactive_metrics(), f"{rule}:{outcome.value}", 1)

    async def report(self, rules: Iterable[Rule]) -> dict[str, Any]:
        """`{"rules": [{"rule", "target", "shown", "accepted", "declined", "converted", "conversion_rate"}]}`."""
        counters = await self.redis.hgetall(keys.proactive_metrics())
        report = []
        for rule in rules:
            counts = {outcome.value: int(counters.get(f"{rule.name}:{outcome.value}") or 0) for outcome in Outcome}
            shown = counts[Outcome.SHOWN.value]
            rate = round(counts[Outcome.CONVERTED.value] / shown, 4) if shown else 0.0
            report.append({"rule": rule.name, "target": rule.target.value, **counts, "conversion_rate": rate})
        return {"rules": report}
