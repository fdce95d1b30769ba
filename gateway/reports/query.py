"""What a supervisor asks a report for: a range of shop-local days and the filters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from core.types import Channel, Team

MAX_DAYS = 366


@dataclass(frozen=True, slots=True)
class ReportQuery:
    """Days `first` to `last` (inclusive) in the shop's `timezone`, and the filters.

    `business_hours` counts only what happened in the opening hours, and only the
    seconds inside them (README, "Reports: what every figure means").
    """

    first: date
    last: date
    timezone: ZoneInfo
    channel: Channel | None = None
    team: Team | None = None
    agent: str | None = None
    business_hours: bool = False

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError("the range ends before it starts")
        if (self.last - self.first).days >= MAX_DAYS:
            raise ValueError(f"a report covers at most {MAX_DAYS} days")

    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    def range_json(self) -> dict[str, Any]:
        """The `range` every report answers with."""
        return {
            "from": self.first.isoformat(), "to": self.last.isoformat(), "timezone": self.timezone.key,
            "business_hours": self.business_hours, "channel": self.channel.value if self.channel else None,
            "team": self.team.value if self.team else None, "agent": self.agent,
        }
