"""The rollups: the episode fold's facts counted per shop-local day, kept in Redis.

A report over 90 days reads 90 small hashes, never a conversation. Each fact is counted
in every hash a filter could ask for — its channel or all channels, × all teams, its
team, its team and agent, its agent — so a filtered report reads one hash a day
instead of summing many. It is counted twice over: in the `all` variant, and in the `open` variant
when its moment lies in the opening hours (its team's, or the shop's) — a duration always,
counting only its seconds inside opening hours. The cost per conversation
(commands and bytes) is what benchmarks/reports.py prints.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from gateway import keys
from gateway.desk.business_hours import BusinessHours
from gateway.reports import buckets
from gateway.reports.episodes import Fact, FactName
from gateway.reports.query import ReportQuery

ALL = "*"
VARIANT_ALL = "all"
VARIANT_OPEN = "open"
# Kept for two years and a bit: next December's forecast looks at last December.
RETENTION_DAYS = 800
# The most frequent not-understood messages kept per day and channel.
MAX_TEXTS_PER_DAY = 2000
MAX_COMMENTS_PER_DAY = 2000

DURATIONS = frozenset({FactName.FIRST_RESPONSE, FactName.RESOLUTION, FactName.WAITING, FactName.HANDLING})
BY_HOUR = frozenset({FactName.STARTED, FactName.HANDOFF})
BREAKDOWN = frozenset({FactName.SURVEY, FactName.CSAT})


def _combos(fact: Fact) -> list[tuple[str, str, str]]:
    teams = [(ALL, ALL)]
    if fact.team:
        teams.append((fact.team, ALL))
    if fact.agent:
        teams.append((ALL, fact.agent))
        if fact.team:
            teams.append((fact.team, fact.agent))
    return [(channel, team, agent) for channel in (fact.channel, ALL) for team, agent in teams]


def _fields(fact: Fact, hour: int, milliseconds: int | None) -> list[str]:
    """The counters one fact adds 1 to (a duration also adds its milliseconds to `:ms`)."""
    name = fact.name.value
    if fact.name in DURATIONS:
        return [f"{name}:n", f"{name}:b{buckets.bucket(milliseconds or 0)}"]
    if fact.name in (FactName.TOPIC, FactName.TOPIC_HANDED):
        return [f"{name}:{fact.label}"]
    if fact.name is FactName.CSAT:
        name = f"csat:{fact.label}"
    fields = [name]
    if fact.name in BY_HOUR:
        fields += [f"{name}:h{hour}", f"{name}@c:{fact.channel}"]
    if fact.name is FactName.HANDOFF:
        fields += [f"handoffs:r:{fact.label}:{fact.team}", f"handoffs@t:{fact.team}"]
    if fact.name in BREAKDOWN:
        fields += [f"{name}@c:{fact.channel}", f"{name}@t:{fact.team or '-'}", f"{name}@a:{fact.agent or '-'}"]
    return fields


@dataclass
class Staged:
    """The writes of one fold, computed before its transaction (so it only queues them)."""

    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    texts: dict[str, dict[str, int]] = field(default_factory=dict)
    comments: dict[str, list[str]] = field(default_factory=dict)
    rows: dict[str, dict[Any, Any]] = field(default_factory=dict)
    expire: dict[str, int] = field(default_factory=dict)

    def count(self, key: str, name: str, by: int, until: int) -> None:
        self.counts[(key, name)] = self.counts.get((key, name), 0) + by
        self.expire[key] = until

    def write(self, pipe: Pipeline) -> None:
        for (key, name), by in self.counts.items():
            pipe.hincrby(key, name, by)
        for key, texts in self.texts.items():
            for text, by in texts.items():
                pipe.zincrby(key, by, text)
            pipe.zremrangebyrank(key, 0, -(MAX_TEXTS_PER_DAY + 1))
        for key, entries in self.comments.items():
            pipe.rpush(key, *entries)
            pipe.ltrim(key, -MAX_COMMENTS_PER_DAY, -1)
        for key, mapping in self.rows.items():
            pipe.hset(key, mapping=mapping)
        for key, until in self.expire.items():
            pipe.expireat(key, until)


@dataclass(frozen=True, slots=True)
class Rollups:
    hours: BusinessHours

    def local(self, at: float) -> datetime:
        return datetime.fromtimestamp(at, self.hours.timezone)

    def _until(self, day: date) -> int:
        return int(datetime.combine(day + timedelta(days=RETENTION_DAYS), datetime.min.time(), UTC).timestamp())

    def stage(self, facts: Iterable[Fact], rows: Mapping[str, tuple[float, Mapping[str, Any]]]) -> Staged:
        """The writes that count `facts` and store the episode `rows` ({field: (start, row)})."""
        staged = Staged()
        for fact in facts:
            local = self.local(fact.at)
            day, until = local.date(), self._until(local.date())
            variants = [(VARIANT_ALL, fact.span[1] - fact.span[0] if fact.span else None)]
            if fact.span is not None:
                # A duration counts in opening hours whenever it started (a handoff made while
                # closed: its clock runs from the next opening), at its opening seconds.
                variants.append((VARIANT_OPEN, self.hours.open_seconds(*fact.span, fact.team)))
            elif self.hours.is_open(local, fact.team):
                variants.append((VARIANT_OPEN, None))
            for variant, seconds in variants:
                self._stage_fact(staged, fact, variant, day, local.hour, seconds, until)
            if fact.name is FactName.COMMENT:
                entry = {"conversation_id": fact.conversation_id, "at": fact.at, "score": fact.label,
                         "comment": fact.text, "channel": fact.channel, "team": fact.team, "agent": fact.agent,
                         "open": len(variants) > 1}
                key = keys.report_comments(day.isoformat())
                staged.comments.setdefault(key, []).append(json.dumps(entry, ensure_ascii=False))
                staged.expire[key] = until
        for name, (start, content) in rows.items():
            local = self.local(start)
            key = keys.report_episodes(local.date().isoformat())
            row = {**content, "open_hours": self.hours.is_open(local)}
            staged.rows.setdefault(key, {})[name] = json.dumps(row, ensure_ascii=False)
            staged.expire[key] = self._until(local.date())
        return staged

    def _stage_fact(self, staged: Staged, fact: Fact, variant: str, day: date, hour: int,
                    seconds: float | None, until: int) -> None:
        if fact.name is FactName.COMMENT:
            return
        milliseconds = round(seconds * 1000) if seconds is not None else None
        if fact.name is FactName.NOT_UNDERSTOOD and fact.text:
            for channel in (fact.channel, ALL):
                key = keys.report_not_understood(variant, day.isoformat(), channel)
                texts = staged.texts.setdefault(key, {})
                texts[fact.text] = texts.get(fact.text, 0) + 1
                staged.expire[key] = until
        names = _fields(fact, hour, milliseconds)
        for combo in _combos(fact):
            key = keys.report_rollup(variant, day.isoformat(), *combo)
            for name in names:
                staged.count(key, name, 1, until)
            if milliseconds is not None:
                staged.count(key, f"{fact.name.value}:ms", milliseconds, until)


# --- reading ----------------------------------------------------------------------------


def variant(query: ReportQuery) -> str:
    return VARIANT_OPEN if query.business_hours else VARIANT_ALL


async def read_days(redis: Redis, query: ReportQuery, *, filtered: bool = True,
                    days: Sequence[date] | None = None) -> dict[date, dict[str, int]]:
    """Each day's counters for the query's filters (`filtered=False`: its channel only), for
    the query's days or the `days` given."""
    team = (query.team.value if query.team else ALL) if filtered else ALL
    agent = (query.agent or ALL) if filtered else ALL
    channel = query.channel.value if query.channel else ALL
    days = query.days() if days is None else days
    async with redis.pipeline(transaction=False) as pipe:
        for day in days:
            pipe.hgetall(keys.report_rollup(variant(query), day.isoformat(), channel, team, agent))
        raws: Sequence[Mapping[str, str]] = await pipe.execute()
    return {day: {name: int(value) for name, value in raw.items()} for day, raw in zip(days, raws, strict=True)}


def total(days: Mapping[date, Mapping[str, int]]) -> dict[str, int]:
    summed: dict[str, int] = {}
    for counters in days.values():
        for name, value in counters.items():
            summed[name] = summed.get(name, 0) + value
    return summed


def histogram(counters: Mapping[str, int], name: str) -> dict[int, int]:
    prefix = f"{name}:b"
    return {int(field[len(prefix):]): n for field, n in counters.items() if field.startswith(prefix)}


def with_prefix(counters: Mapping[str, int], prefix: str) -> dict[str, int]:
    """`{rest: n}` for every counter named `prefix` + rest."""
    return {field[len(prefix):]: n for field, n in counters.items() if field.startswith(prefix)}
