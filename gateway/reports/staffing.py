"""How many agents each hour needs: for the hours measured, and for next week's forecast.

Pure functions over counts the rollups already hold (no Redis, no clock): Erlang C turns an
hour's handoffs into agents, `forecast_week` projects next week's handoffs from the history,
and `staffing_plan` assembles the `staffing` report part from both.

Why N agents with c chats each are modelled as N·c servers (Erlang C, M/M/N·c): a handoff
waits only while every chat slot of every agent is taken (the desk assigns to any online
agent below `agent_max_chats`), and each slot frees after one *measured* handling time —
how long an agent holds a chat while juggling the others. That measurement already
contains the slowdown of sharing attention; the other textbook model (N servers, each
serving c times as fast) would need the time a chat takes when worked alone, which the
events do not show, and dividing the measured time by c would count the multitasking twice.
The N·c picture assumes slots free independently, a fair one while chats mostly wait on
the shopper's typing; it is somewhat optimistic when all of one agent's chats need him at
once, so c should be what agents really sustain, not the configured maximum.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

HOURS = 24
WEEKDAYS = 7
WEEK = timedelta(days=7)
# 52 weeks: the same weekday a year earlier (a calendar date drifts by one or two weekdays).
YEAR = timedelta(days=364)
# The weekly pattern rests on at most this many recent weeks; a week's weight halves every
# HALF_LIFE_WEEKS further back, so last week leads but one odd week cannot swing the plan.
MAX_WEEKS = 8
HALF_LIFE_WEEKS = 2.0
# A trend needs at least three weeks to be more than noise, and is kept within these factors
# (a line through eight weekly totals extrapolated one to two weeks ahead, no more).
MIN_TREND_WEEKS = 3
TREND_LIMITS = (0.5, 2.0)

Grid = tuple[tuple[float, ...], ...]


@dataclass(frozen=True, slots=True)
class Staffing:
    """The fewest agents an hour needs, and what the shoppers get with them."""

    agents: int
    service_level: float  # share of handoffs answered within the target time
    average_speed_of_answer: float  # seconds from the handoff to an agent, on average
    occupancy: float  # share of the agents' chat slots busy


@dataclass(frozen=True, slots=True)
class Forecast:
    """Next week's handoffs per weekday × local hour (row 0 = the Monday `week_of`)."""

    week_of: date
    handoffs: Grid
    weeks: int  # recent weeks the weekly pattern rests on
    trend: float  # factor for the level's movement over those weeks (1: flat)
    seasonal: float | None  # last year's same week ÷ its weeks before; None: no year-ago data


def erlang_c(servers: int, traffic: float) -> float:
    """The probability that an arrival waits, with `servers` servers and `traffic` Erlangs.

    Through Erlang B's recursion B(k) = A·B(k−1) / (k + A·B(k−1)): every step stays within
    [0, 1], where the textbook A^N/N! overflows a float from N ≈ 170 chat slots.
    """
    if servers < 0 or not traffic >= 0:
        raise ValueError("servers and traffic must not be negative")
    if traffic == 0:
        return 0.0
    if servers <= traffic:
        return 1.0  # the queue grows without end: every arrival waits
    blocking = 1.0
    for slot in range(1, servers + 1):
        blocking = traffic * blocking / (slot + traffic * blocking)
    return _waiting(servers, traffic, blocking)


def _waiting(servers: int, traffic: float, blocking: float) -> float:
    """Erlang C from Erlang B for the same servers (needs servers > traffic)."""
    return servers * blocking / (servers - traffic * (1.0 - blocking))


def agents_needed(
    arrivals_per_hour: float, *, handling_seconds: float, concurrency: int,
    service_level: float, answer_within: float,
) -> Staffing:
    """The smallest number of agents that answers `service_level` of an hour's handoffs
    within `answer_within` seconds, each agent working `concurrency` chats at once.

    Erlang C over N·concurrency servers (module docstring): the share answered in time is
    1 − C·exp(−(m − A)·T / h) and the average speed of answer C·h / (m − A), with m slots,
    A = λ·h / 3600 Erlangs, h the handling time and T the target. Every count of agents
    below the answer misses the target, and the slots are never all busy (occupancy < 1).
    No arrivals need no agent.
    """
    if not (math.isfinite(arrivals_per_hour) and arrivals_per_hour >= 0):
        raise ValueError("arrivals per hour must be a number, not negative")
    if not handling_seconds > 0 or concurrency < 1:
        raise ValueError("handling time must be positive and concurrency at least 1")
    if not 0 < service_level < 1 or not answer_within >= 0:
        raise ValueError("service level must be a share below 1, the answer time not negative")
    if arrivals_per_hour == 0:
        return Staffing(agents=0, service_level=1.0, average_speed_of_answer=0.0, occupancy=0.0)
    traffic = arrivals_per_hour * handling_seconds / 3600.0
    blocking, slots = 1.0, 0
    # Add one slot at a time, carrying Erlang B along, and test each whole agent's worth:
    # the share answered in time grows with every slot, so the first that reaches it is the least.
    while True:
        slots += 1
        blocking = traffic * blocking / (slots + traffic * blocking)
        if slots % concurrency or slots <= traffic:
            continue
        waits = _waiting(slots, traffic, blocking)
        in_time = 1.0 - waits * math.exp(-(slots - traffic) * answer_within / handling_seconds)
        if in_time >= service_level:
            return Staffing(
                agents=slots // concurrency, service_level=in_time,
                average_speed_of_answer=waits * handling_seconds / (slots - traffic),
                occupancy=traffic / slots,
            )


def measured_arrivals(history: Mapping[date, Sequence[int]], first: date, last: date) -> Grid:
    """Handoffs per hour for each weekday × local hour of days `first`..`last`, in an average week:
    the handoffs of that weekday and hour ÷ the number of such weekdays in the range (0 where the
    range holds no such weekday). A day missing from `history` had no handoffs.
    """
    if last < first:
        raise ValueError("the range ends before it starts")
    sums = [[0.0] * HOURS for _ in range(WEEKDAYS)]
    days = [0] * WEEKDAYS
    for offset in range((last - first).days + 1):
        day = first + timedelta(days=offset)
        days[day.weekday()] += 1
        for hour, count in enumerate(_counts(history, day)):
            sums[day.weekday()][hour] += count
    return tuple(
        tuple(total / days[weekday] if days[weekday] else 0.0 for total in sums[weekday])
        for weekday in range(WEEKDAYS)
    )


def forecast_week(history: Mapping[date, Sequence[int]], today: date) -> Forecast | None:
    """Next week's handoffs (the week from the Monday after `today`), or None when the history
    before today is shorter than a week: a weekly pattern needs every weekday seen once.

    The history is handoffs per shop-local date × hour; it starts at its first date, ends the
    day before `today` (today is not over), and a date missing in between had no handoffs.
    Method, in three factors, each documented where it is computed:
    1. pattern — each weekday × hour averaged over the last (up to 8) whole weeks before today,
       weighted so a week counts half as much two weeks further back;
    2. trend — a weighted least-squares line through those weeks' totals, taken from the
       pattern's weighted centre to next week (1 with fewer than 3 weeks; within 0.5–2);
    3. seasonal — when the history holds the same weeks 52 weeks earlier: last year's next week
       ÷ last year's same recent weeks, weighted alike (the weeks before Christmas: 1.8 if that
       week had 1.8× the weeks before it). The trend is then fitted to the totals divided by
       last year's shape, so a rise that is merely seasonal is not counted twice.
    The seasonal factor scales the whole week; the shape of its days comes from recent weeks.
    """
    past = [day for day in history if day < today]
    if not past:
        return None
    start = min(past)
    weeks = min(MAX_WEEKS, (today - start).days // 7)
    if weeks == 0:
        return None
    week_of = today + timedelta(days=WEEKDAYS - today.weekday())
    # Whole weeks back from yesterday, newest first: each holds every weekday once.
    blocks = [today - WEEK * (back + 1) for back in range(weeks)]
    weights = [0.5 ** (back / HALF_LIFE_WEEKS) for back in range(weeks)]
    pattern = _pattern(history, blocks, weights)
    totals = [_week_total(history, block) for block in blocks]
    year_ago = _year_ago(history, start, blocks, weights, week_of)
    seasonal, shape = year_ago if year_ago else (None, [1.0] * weeks)
    # Weeks from the newest block's centre (4 days before today) to next week's (day 3 of it).
    ahead = ((week_of - today).days + 3 + 4) / 7
    trend = _trend([total / index for total, index in zip(totals, shape)], weights, ahead)
    factor = trend * (1.0 if seasonal is None else seasonal)
    return Forecast(
        week_of=week_of, handoffs=tuple(tuple(cell * factor for cell in row) for row in pattern),
        weeks=weeks, trend=trend, seasonal=seasonal,
    )


def history_days(today: date) -> list[date]:
    """The days `forecast_week` looks at: the recent weeks, and the same weeks a year earlier
    with the week after them (what the rollups must be read for, and no more)."""
    recent = today - WEEK * MAX_WEEKS
    week_of = today + timedelta(days=WEEKDAYS - today.weekday())
    spans = ((recent, today), (recent - YEAR, week_of - YEAR + WEEK))
    return [first + timedelta(days=n) for first, end in spans for n in range((end - first).days)]


def _counts(history: Mapping[date, Sequence[int]], day: date) -> Sequence[int]:
    counts = history.get(day)
    if counts is None:
        return (0,) * HOURS
    if len(counts) != HOURS:
        raise ValueError(f"{day.isoformat()} has {len(counts)} hours, not {HOURS}")
    return counts


def _week_total(history: Mapping[date, Sequence[int]], first: date) -> float:
    return float(sum(sum(_counts(history, first + timedelta(days=n))) for n in range(WEEKDAYS)))


def _weighted_mean(values: Sequence[float], weights: Sequence[float]) -> float:
    return sum(v * w for v, w in zip(values, weights)) / sum(weights)


def _pattern(history: Mapping[date, Sequence[int]], blocks: Sequence[date], weights: Sequence[float]) -> Grid:
    """Each weekday × hour over the weeks starting at `blocks`, weighted by `weights`."""
    cells = [[0.0] * HOURS for _ in range(WEEKDAYS)]
    for block, weight in zip(blocks, weights):
        for n in range(WEEKDAYS):
            day = block + timedelta(days=n)
            for hour, count in enumerate(_counts(history, day)):
                cells[day.weekday()][hour] += weight * count
    total = sum(weights)
    return tuple(tuple(cell / total for cell in row) for row in cells)


def _year_ago(
    history: Mapping[date, Sequence[int]], start: date, blocks: Sequence[date],
    weights: Sequence[float], week_of: date,
) -> tuple[float, list[float]] | None:
    """Last year's ratio of next week to the recent weeks, and each recent week's share of
    last year's level (its shape); None unless the history covers all of them a year back
    and they had handoffs.
    """
    if blocks[-1] - YEAR < start:
        return None
    totals = [_week_total(history, block - YEAR) for block in blocks]
    level = _weighted_mean(totals, weights)
    if level <= 0:
        return None
    shape = [total / level for total in totals]
    if any(index <= 0 for index in shape):
        shape = [1.0] * len(blocks)  # a closed week last year says nothing about this year's trend
    return _week_total(history, week_of - YEAR) / level, shape


def _trend(levels: Sequence[float], weights: Sequence[float], ahead: float) -> float:
    """The weighted least-squares line through the weekly levels (newest at 0, one back at −1),
    at `ahead` weeks, relative to the line at the weighted centre — the weighted mean, which is
    what the pattern already shows. Exact for a level that grows in a straight line.
    """
    if len(levels) < MIN_TREND_WEEKS:
        return 1.0
    xs = [-float(back) for back in range(len(levels))]
    x_mean, y_mean = _weighted_mean(xs, weights), _weighted_mean(levels, weights)
    if y_mean <= 0:
        return 1.0
    spread = sum(w * (x - x_mean) ** 2 for x, w in zip(xs, weights))
    slope = sum(w * (x - x_mean) * (y - y_mean) for x, y, w in zip(xs, levels, weights)) / spread
    low, high = TREND_LIMITS
    return min(high, max(low, 1.0 + slope * (ahead - x_mean) / y_mean))


def staffing_plan(
    handoffs_by_day_hour: Mapping[date, Sequence[int]], first: date, last: date, *,
    handling_seconds: float, concurrency: int, service_level: float, answer_within: float,
    today: date,
) -> dict[str, Any]:
    """The `staffing` report part, all but its `range` (the report query adds that).

    `needed`: agents per weekday × local hour for the average week of `first`..`last`
    (`measured_arrivals`). Averaging flattens a single heavy day: this is the typical week,
    and `forecast` is the one to plan the next week by. `forecast` is None while the
    history before `today` is shorter than a week; its `needed` is computed from the
    handoffs as shown (rounded to 0.1), so the figures on the page agree with each other.
    """
    def needed(grid: Grid) -> list[list[int]]:
        return [
            [agents_needed(
                arrivals, handling_seconds=handling_seconds, concurrency=concurrency,
                service_level=service_level, answer_within=answer_within,
            ).agents for arrivals in row]
            for row in grid
        ]

    forecast = forecast_week(handoffs_by_day_hour, today)
    shown = None if forecast is None else tuple(
        tuple(round(cell, 1) for cell in row) for row in forecast.handoffs
    )
    return {
        "service_level": service_level, "answer_within_seconds": answer_within,
        "concurrency": concurrency, "handling_seconds": handling_seconds,
        "needed": needed(measured_arrivals(handoffs_by_day_hour, first, last)),
        "forecast": None if forecast is None or shown is None else {
            "week_of": forecast.week_of.isoformat(),
            "handoffs": [list(row) for row in shown],
            "needed": needed(shown),
        },
    }
