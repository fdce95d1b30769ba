"""The reports as the gateway runs them: the projections, their followers, and the figures.

Every gateway process may follow the feed (`STORECHAT_REPORT_WORKER`); the followers of
one projection share its consumer group, so each conversation's news is folded by one of
them. A report is read by whichever process the supervisor's request reaches.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from redis.asyncio import Redis

from core.types import Clock
from gateway.desk.business_hours import BusinessHours
from gateway.reports import buckets, figures, staffing
from gateway.conversations.feed import Follower, Projection
from gateway.reports.projection import ReportsProjection
from gateway.reports.query import ReportQuery
from gateway.reports.rollups import Rollups, read_days, total

# The handling time a plan assumes before any chat was handled in the range (10 minutes).
DEFAULT_HANDLING_SECONDS = 600.0
# Comments in, their classes (praise, suggestion, complaint) out, in order.
ClassifyMany = Callable[[list[str]], list[str]]


@dataclass(frozen=True, slots=True)
class Reports:
    redis: Redis
    hours: BusinessHours
    projections: Sequence[Projection]
    first_response_target: int
    clock: Clock
    # Chats one agent works at once, the staffing plan's default (STORECHAT_AGENT_MAX_CHATS).
    concurrency: int = 3
    # Classes the satisfaction report's comments (gateway/complaints/feedback.py); None: unclassed.
    feedback: ClassifyMany | None = None

    @classmethod
    def build(cls, redis: Redis, hours: BusinessHours, *, first_response_target: int, clock: Clock,
              concurrency: int = 3, extra: Sequence[Projection] = (),
              feedback: ClassifyMany | None = None) -> Reports:
        if not buckets.is_edge(first_response_target):
            raise ValueError(f"a first-response target of {first_response_target} s cannot be counted exactly: "
                             "use whole seconds below a minute, 10 s steps below 10 minutes, whole minutes "
                             "below an hour, quarter hours below a day")
        return cls(redis, hours, (ReportsProjection(Rollups(hours)), *extra), first_response_target, clock,
                   concurrency, feedback)

    def followers(self) -> list[Follower]:
        return [Follower(self.redis, projection) for projection in self.projections]

    def start(self) -> list[asyncio.Task[None]]:
        """One background task per projection (kept by the caller, stopped at shutdown)."""
        return [asyncio.create_task(follower.run(), name=f"reports:{follower.group}")
                for follower in self.followers()]

    async def drain(self) -> None:
        """Fold everything the feed holds now (tests, `storechat demo-data`)."""
        for follower in self.followers():
            await follower.drain()

    async def volume(self, query: ReportQuery) -> dict[str, Any]:
        return await figures.volume(self.redis, query)

    async def speed(self, query: ReportQuery, target_seconds: int | None = None) -> dict[str, Any]:
        return await figures.speed(self.redis, query, target_seconds=target_seconds or self.first_response_target)

    async def bot(self, query: ReportQuery) -> dict[str, Any]:
        return await figures.bot(self.redis, query)

    async def satisfaction(self, query: ReportQuery) -> dict[str, Any]:
        report = await figures.satisfaction(self.redis, query)
        comments = report["comments"]
        if self.feedback is not None and comments:
            # One batch, off the event loop: the classifier is a scikit-learn pipeline.
            classes = await asyncio.to_thread(self.feedback, [comment["comment"] for comment in comments])
            for comment, feedback in zip(comments, classes, strict=True):
                comment["feedback"] = feedback
        return report

    async def staffing(self, query: ReportQuery, *, concurrency: int, service_level: float,
                       answer_within: int) -> dict[str, Any]:
        """Agents needed per weekday × hour for the range's handoffs, and next week's forecast."""
        today = datetime.fromtimestamp(self.clock(), self.hours.timezone).date()
        needed = set(query.days()) | set(staffing.history_days(today))
        days = await read_days(self.redis, query, days=sorted(needed))
        measured = total({day: days[day] for day in query.days()})
        handled = measured.get("handle:n", 0)
        handling = measured.get("handle:ms", 0) / handled / 1000 if handled else DEFAULT_HANDLING_SECONDS
        # A day nothing was counted on is before the shop's history (the forecast's start), or had
        # no conversation at all, which the forecast reads as a day without handoffs either way.
        by_hour = {day: [counters.get(f"handoffs:h{hour}", 0) for hour in range(24)]
                   for day, counters in days.items() if counters}
        plan = staffing.staffing_plan(by_hour, query.first, query.last, handling_seconds=max(handling, 1.0),
                                      concurrency=concurrency, service_level=service_level,
                                      answer_within=answer_within, today=today)
        return {"range": query.range_json(), **plan, "handling_measured": bool(handled)}


REPORTS = web.AppKey("reports", Reports)
