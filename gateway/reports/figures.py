"""The conversation reports — volume, speed, the bot, satisfaction — read from the rollups.

Each function answers one `GET /api/v1/agent/reports/{report}` (shapes in the OpenAPI
document, definitions in the README). Nothing here reads a conversation.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from datetime import date
from fractions import Fraction
from typing import Any

from redis.asyncio import Redis

from core.types import Channel, Team
from gateway import keys
from gateway.reports import buckets
from gateway.reports.episodes import UNKNOWN_TOPIC
from gateway.reports.rollups import histogram, read_days, total, variant, with_prefix
from gateway.reports.query import ReportQuery

TOP_TEXTS = 20
MAX_COMMENTS = 200
# Figures that have no team: a team or agent filter does not apply to them.
UNFILTERED_VOLUME = ("started", "heatmap.incoming")
UNFILTERED_BOT = ("conversations", "deflected", "deflection_rate", "topics", "not_understood")
# Figures a handoff settles before any agent has it: with an agent filter they are left out
# (null) rather than shown as zero.
NO_AGENT_VOLUME = ("handoffs", "heatmap.handoffs")
NO_AGENT_SPEED = ("first_response.unanswered",)
NO_AGENT_BOT = ("handoffs_by_reason",)
# E-mail, an asynchronous channel, is to be answered the same day: a person's first reply
# within this long of the handoff (README, "Reports: what every figure means").
SAME_DAY_SECONDS = 24 * 3600



def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def durations(counters: Mapping[str, int], name: str) -> dict[str, Any]:
    """`{count, median, p90, mean}` of one duration, in seconds (None without a sample)."""
    count = counters.get(f"{name}:n", 0)
    spread = histogram(counters, name)
    return {
        "count": count,
        "median": buckets.percentile(spread, 0.5),
        "p90": buckets.percentile(spread, 0.9),
        # Exact, half to even, to the millisecond (float division could tip a tie either way).
        "mean": round(Fraction(counters.get(f"{name}:ms", 0), count)) / 1000 if count else None,
    }


def _unfiltered(query: ReportQuery, figures: tuple[str, ...], no_agent: tuple[str, ...] = ()) -> list[str]:
    return [*(figures if query.team or query.agent else ()), *(no_agent if query.agent else ())]


def _heatmap(days: Mapping[date, Mapping[str, int]], name: str) -> list[list[int]]:
    grid = [[0] * 24 for _ in range(7)]
    for day, counters in days.items():
        for hour in range(24):
            grid[day.weekday()][hour] += counters.get(f"{name}:h{hour}", 0)
    return grid


async def volume(redis: Redis, query: ReportQuery) -> dict[str, Any]:
    everyone = await read_days(redis, query, filtered=False)
    # Without a team or agent filter both are the same hashes: read once.
    filtered = await read_days(redis, query) if query.team or query.agent else everyone
    started, handed = total(everyone), total(filtered)
    agent = query.agent is not None
    return {
        "range": query.range_json(),
        "unfiltered": _unfiltered(query, UNFILTERED_VOLUME, NO_AGENT_VOLUME),
        "started": {
            "total": started.get("started", 0),
            "by_channel": {c.value: started.get(f"started@c:{c.value}", 0) for c in Channel},
            "by_day": [{"day": day.isoformat(), "total": counters.get("started", 0),
                        "by_channel": {c.value: counters.get(f"started@c:{c.value}", 0) for c in Channel}}
                       for day, counters in everyone.items()],
        },
        "handoffs": None if agent else {
            "total": handed.get("handoffs", 0),
            "by_team": {t.value: handed.get(f"handoffs@t:{t.value}", 0) for t in Team},
            "by_day": [{"day": day.isoformat(), "total": counters.get("handoffs", 0)}
                       for day, counters in filtered.items()],
        },
        "heatmap": {"incoming": _heatmap(everyone, "started"),
                    "handoffs": None if agent else _heatmap(filtered, "handoffs")},
    }


async def speed(redis: Redis, query: ReportQuery, *, target_seconds: int) -> dict[str, Any]:
    days = await read_days(redis, query)
    counters = total(days)
    first = durations(counters, "frt")
    first["over_target"] = buckets.count_over(histogram(counters, "frt"), target_seconds)
    first["unanswered"] = None if query.agent else counters.get("unanswered", 0)
    return {
        "email_same_day": await _same_day(redis, query),
        "range": query.range_json(),
        "unfiltered": _unfiltered(query, (), NO_AGENT_SPEED),
        "target_seconds": target_seconds,
        "first_response": first,
        "resolution": durations(counters, "res"),
        "waiting": durations(counters, "wait"),
        "handling": durations(counters, "handle"),
        "by_day": [{"day": day.isoformat(),
                    "first_response": _count_median(day_counters, "frt"),
                    "resolution": _count_median(day_counters, "res"),
                    "waiting": _count_median(day_counters, "wait")}
                   for day, day_counters in days.items()],
    }


async def _same_day(redis: Redis, query: ReportQuery) -> dict[str, Any] | None:
    """E-mail handoffs a person first answered within SAME_DAY_SECONDS (null with a filter
    for another channel)."""
    if query.channel not in (None, Channel.EMAIL):
        return None
    counters = total(await read_days(redis, dataclasses.replace(query, channel=Channel.EMAIL)))
    answered = counters.get("frt:n", 0)
    within = answered - buckets.count_over(histogram(counters, "frt"), SAME_DAY_SECONDS)
    return {"answered": answered, "within_24h": within, "rate": _rate(within, answered),
            "unanswered": None if query.agent else counters.get("unanswered", 0)}


def _count_median(counters: Mapping[str, int], name: str) -> dict[str, Any]:
    return {"count": counters.get(f"{name}:n", 0), "median": buckets.percentile(histogram(counters, name), 0.5)}


async def bot(redis: Redis, query: ReportQuery) -> dict[str, Any]:
    everyone = total(await read_days(redis, query, filtered=False))
    filtered = total(await read_days(redis, query)) if query.team or query.agent else everyone
    # Bot episodes: a conversation, and again what follows a hand back (README, "topic").
    conversations, handed = everyone.get("bot", 0), everyone.get("handed", 0)
    started_by_topic = with_prefix(everyone, "topic:")
    handed_by_topic = with_prefix(everyone, "topic_handed:")
    # Every bot episode without a topic fact is one in which nothing was recognised.
    unknown = conversations - sum(started_by_topic.values())
    if unknown:
        started_by_topic[UNKNOWN_TOPIC] = unknown
        handed_by_topic[UNKNOWN_TOPIC] = handed - sum(handed_by_topic.values())
    topics: list[dict[str, Any]] = sorted(
        ({"topic": topic, "conversations": n, "deflected": n - handed_by_topic.get(topic, 0),
          "deflection_rate": _rate(n - handed_by_topic.get(topic, 0), n)}
         for topic, n in started_by_topic.items()),
        key=lambda line: (line["topic"] == UNKNOWN_TOPIC, -line["conversations"], line["topic"]),
    )
    reasons: list[dict[str, Any]] = []
    for name, n in with_prefix(filtered, "handoffs:r:").items():
        reason, _, team = name.rpartition(":")
        reasons.append({"reason": reason or "unknown", "team": team, "handoffs": n})
    reasons.sort(key=lambda line: (-line["handoffs"], line["reason"], line["team"]))
    return {
        "range": query.range_json(),
        "unfiltered": _unfiltered(query, UNFILTERED_BOT, NO_AGENT_BOT),
        "conversations": conversations,
        "deflected": conversations - handed,
        "deflection_rate": _rate(conversations - handed, conversations),
        "topics": topics,
        "handoffs_by_reason": None if query.agent else reasons,
        "not_understood": {"turns": everyone.get("nu", 0), "top": await _top_texts(redis, query)},
    }


async def _top_texts(redis: Redis, query: ReportQuery) -> list[dict[str, Any]]:
    channel = query.channel.value if query.channel else "*"
    day_keys = [keys.report_not_understood(variant(query), day.isoformat(), channel) for day in query.days()]
    counts: dict[str, int] = {}
    async with redis.pipeline(transaction=False) as pipe:
        for key in day_keys:
            pipe.zrange(key, 0, -1, withscores=True)
        for entries in await pipe.execute():
            for text, score in entries:
                counts[str(text)] = counts.get(str(text), 0) + int(score)
    top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:TOP_TEXTS]
    return [{"text": text, "count": n} for text, n in top]


def _scores(counters: Mapping[str, int], suffix: str = "") -> dict[str, Any]:
    distribution = {str(score): counters.get(f"csat:{score}{suffix}", 0) for score in range(1, 6)}
    answers = sum(distribution.values())
    surveys = counters.get(f"surveys{suffix}", 0)
    return {"surveys": surveys, "answers": answers, "response_rate": _rate(answers, surveys),
            "score": _rate(distribution["4"] + distribution["5"], answers), "distribution": distribution}


def _breakdown(counters: Mapping[str, int], kind: str, key: str) -> list[dict[str, Any]]:
    names = sorted(name for name in with_prefix(counters, f"surveys@{kind}:") if name != "-")
    lines = []
    for name in names:
        scores = _scores(counters, f"@{kind}:{name}")
        lines.append({key: name, "surveys": scores["surveys"], "answers": scores["answers"], "score": scores["score"]})
    return lines


async def satisfaction(redis: Redis, query: ReportQuery) -> dict[str, Any]:
    """Comments come unclassed (`feedback` null): the service classes them (one batch)."""
    days = await read_days(redis, query)
    counters = total(days)
    return {
        "range": query.range_json(),
        **_scores(counters),
        "by_day": [{"day": day.isoformat(), "answers": (s := _scores(c))["answers"], "score": s["score"]}
                   for day, c in days.items()],
        "by_team": _breakdown(counters, "t", "team"),
        "by_agent": _breakdown(counters, "a", "agent"),
        "by_channel": _breakdown(counters, "c", "channel"),
        "comments": await _comments(redis, query),
    }


async def _comments(redis: Redis, query: ReportQuery) -> list[dict[str, Any]]:
    async with redis.pipeline(transaction=False) as pipe:
        for day in reversed(query.days()):
            pipe.lrange(keys.report_comments(day.isoformat()), 0, -1)
        raws = await pipe.execute()
    comments: list[dict[str, Any]] = []
    for raw_day in raws:
        # A day's comments are kept in the order their conversations were folded, not by time;
        # the days themselves come newest first, so sorting each day sorts them all.
        entries = sorted((json.loads(raw) for raw in raw_day), key=lambda e: (-e["at"], e["conversation_id"]))
        for entry in entries:
            if not _matches(entry, query):
                continue
            score = entry.get("score")
            comments.append({
                "conversation_id": entry["conversation_id"], "at": round(entry["at"] * 1000),
                "score": int(score) if score else None, "comment": entry["comment"], "channel": entry["channel"],
                "team": entry.get("team"), "agent": entry.get("agent"),
                "feedback": None,
            })
            if len(comments) >= MAX_COMMENTS:
                return comments
    return comments


def _matches(entry: Mapping[str, Any], query: ReportQuery) -> bool:
    return not ((query.business_hours and not entry.get("open"))
                or (query.channel and entry.get("channel") != query.channel.value)
                or (query.team and entry.get("team") != query.team.value)
                or (query.agent and entry.get("agent") != query.agent))
