"""Staffing: agents per hour by Erlang C, next week's forecast, and the report part.

The Erlang C figures are checked against the published worked example (callcentrehelper.com,
"Erlang C Formula – Made Simple": 100 calls in 30 minutes, 180 s handling, 80 % within 20 s:
P(wait) 0.6821 with 11 agents, 14 agents reach 88.8 % with an 8 s average speed of answer)
and against the textbook factorial formula computed in exact fractions.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, timedelta
from fractions import Fraction

import pytest

from gateway.reports.staffing import agents_needed, erlang_c, forecast_week, measured_arrivals, staffing_plan

OPEN_HOURS = range(9, 18)
History = dict[date, list[int]]


def exact_erlang_c(servers: int, traffic: Fraction) -> float:
    """The textbook A^N/N! · N/(N−A) over the sum, in fractions: no rounding, no overflow."""
    term = traffic**servers / math.factorial(servers) * servers / (servers - traffic)
    below = sum(traffic**k / math.factorial(k) for k in range(servers))
    return float(term / (below + term))


def history(first: date, last: date, count: Callable[[date, int], int]) -> History:
    days = (last - first).days + 1
    return {
        first + timedelta(days=n): [count(first + timedelta(days=n), hour) for hour in range(24)]
        for n in range(days)
    }


def needs(arrivals: float, concurrency: int = 1) -> int:
    return agents_needed(
        arrivals, handling_seconds=180, concurrency=concurrency, service_level=0.8, answer_within=20,
    ).agents


# --- Erlang C -------------------------------------------------------------------------------

@pytest.mark.parametrize(("servers", "published"), [(11, 0.6821), (12, 0.4494), (13, 0.2853), (14, 0.1741)])
def test_erlang_c_matches_the_published_example(servers: int, published: float) -> None:
    assert erlang_c(servers, 10.0) == pytest.approx(published, abs=5e-5)
    assert erlang_c(servers, 10.0) == pytest.approx(exact_erlang_c(servers, Fraction(10)), rel=1e-12)


def test_the_published_example_needs_fourteen_agents() -> None:
    # 100 chats in 30 minutes = 200 an hour at 180 s: 10 Erlangs, 80 % within 20 s.
    plan = agents_needed(200, handling_seconds=180, concurrency=1, service_level=0.8, answer_within=20)
    assert plan.agents == 14
    assert plan.service_level == pytest.approx(0.8884, abs=5e-5)
    assert plan.average_speed_of_answer == pytest.approx(7.84, abs=5e-3)
    assert plan.occupancy == pytest.approx(10 / 14)
    # 13 agents would answer only 79.6 % within 20 s: 14 is the least that meets the target.
    assert 1 - erlang_c(13, 10.0) * math.exp(-3 * 20 / 180) < 0.8


def test_a_large_shop_gets_a_number_not_an_overflow() -> None:
    # 500 Erlangs: 500^520/520! is far outside a float; the recursion stays exact.
    assert erlang_c(520, 500.0) == pytest.approx(exact_erlang_c(520, Fraction(500)), rel=1e-9)
    plan = agents_needed(10_000, handling_seconds=180, concurrency=1, service_level=0.8, answer_within=20)
    assert 500 < plan.agents < 540 and plan.service_level >= 0.8 and plan.occupancy < 1


def test_no_handoffs_need_no_agent_and_any_handoff_needs_one() -> None:
    assert agents_needed(0, handling_seconds=600, concurrency=3, service_level=0.8, answer_within=60).agents == 0
    assert needs(0.1) == 1


def test_more_handoffs_never_need_fewer_agents() -> None:
    counts = [needs(arrivals / 2) for arrivals in range(0, 801)]
    assert counts == sorted(counts)
    assert counts[-1] > counts[100] > counts[1]


def test_every_answer_meets_the_target_and_one_agent_less_would_not() -> None:
    for arrivals in (1, 7.5, 30, 120, 333):
        for concurrency in (1, 2, 3):
            plan = agents_needed(
                arrivals, handling_seconds=420, concurrency=concurrency, service_level=0.9, answer_within=60,
            )
            traffic = arrivals * 420 / 3600
            fewer = (plan.agents - 1) * concurrency
            assert plan.service_level >= 0.9 and plan.occupancy < 1
            assert fewer <= traffic or 1 - erlang_c(fewer, traffic) * math.exp(-(fewer - traffic) * 60 / 420) < 0.9


def test_two_chats_at_once_halve_the_agents() -> None:
    # With the handling time measured while agents juggle chats, two chats each need half the
    # agents, rounded up to a whole agent (the slots, not the agents, are the servers).
    for arrivals in (5, 40, 200, 900):
        alone = needs(arrivals)
        assert needs(arrivals, concurrency=2) == math.ceil(alone / 2)
        assert needs(arrivals, concurrency=3) == math.ceil(alone / 3)


def test_nonsense_settings_are_refused() -> None:
    for bad in (
        {"handling_seconds": 0}, {"concurrency": 0}, {"service_level": 1.0}, {"answer_within": -1},
    ):
        settings = {"handling_seconds": 180.0, "concurrency": 1, "service_level": 0.8, "answer_within": 20.0}
        with pytest.raises(ValueError):
            agents_needed(10, **(settings | bad))
    with pytest.raises(ValueError):
        needs(-1)


# --- forecast -------------------------------------------------------------------------------

def weekly(day: date, hour: int) -> int:
    """A clean weekly pattern: busy Mondays, quiet Sundays, a midday peak, closed at night."""
    return (7 - day.weekday()) * (3 if hour in (12, 13) else 1) if hour in OPEN_HOURS else 0


def test_a_clean_weekly_pattern_is_forecast_exactly() -> None:
    today = date(2025, 3, 12)  # a Wednesday
    forecast = forecast_week(history(today - timedelta(days=70), today - timedelta(days=1), weekly), today)
    assert forecast is not None
    assert forecast.week_of == date(2025, 3, 17)
    monday = forecast.week_of
    expected = [[float(weekly(monday + timedelta(days=d), h)) for h in range(24)] for d in range(7)]
    assert [[round(cell, 9) for cell in row] for row in forecast.handoffs] == expected
    assert forecast.trend == pytest.approx(1.0) and forecast.seasonal is None and forecast.weeks == 8


def test_less_than_a_week_of_history_gives_no_forecast() -> None:
    today = date(2025, 3, 12)
    assert forecast_week({}, today) is None
    assert forecast_week(history(today - timedelta(days=6), today - timedelta(days=1), weekly), today) is None
    # Today's own (unfinished) hours do not make the week whole.
    short = history(today - timedelta(days=6), today, weekly)
    assert forecast_week(short, today) is None
    assert forecast_week(history(today - timedelta(days=7), today - timedelta(days=1), weekly), today) is not None


def test_a_growing_shop_is_planned_for_its_growth() -> None:
    # Every open hour gets one handoff more every day: the weekly totals rise in a straight
    # line, and next week's forecast is that line's next week, not the recent average.
    start, today = date(2025, 1, 6), date(2025, 3, 13)
    growing = history(start, today - timedelta(days=1),
                      lambda day, hour: 10 + (day - start).days if hour in OPEN_HOURS else 0)
    forecast = forecast_week(growing, today)
    assert forecast is not None and forecast.trend > 1
    week = [forecast.week_of + timedelta(days=d) for d in range(7)]
    actual = sum((10 + (day - start).days) * len(OPEN_HOURS) for day in week)
    assert sum(map(sum, forecast.handoffs)) == pytest.approx(actual, rel=1e-9)


def test_the_weeks_before_christmas_get_last_years_peak() -> None:
    # Last year the week of 16 December had 1.8× the weeks before it; this year runs at 12 an
    # open hour against last year's 10. Next week (from 15 December 2025) gets 12 × 1.8.
    peak = date(2024, 12, 16)

    def two_years(day: date, hour: int) -> int:
        if hour not in OPEN_HOURS:
            return 0
        if peak <= day < peak + timedelta(days=7):
            return 18
        return 10 if day.year == 2024 else 12

    today = date(2025, 12, 11)
    forecast = forecast_week(history(date(2024, 9, 1), today - timedelta(days=1), two_years), today)
    assert forecast is not None
    assert forecast.week_of == date(2025, 12, 15)
    assert forecast.seasonal == pytest.approx(1.8) and forecast.trend == pytest.approx(1.0)
    for row in forecast.handoffs:
        assert [round(cell, 6) for cell in row] == [21.6 if h in OPEN_HOURS else 0.0 for h in range(24)]


def test_without_last_years_weeks_there_is_no_seasonal_factor() -> None:
    # History from March only: the December peak of a year before is not there to compare.
    today = date(2025, 12, 11)
    forecast = forecast_week(history(date(2025, 3, 1), today - timedelta(days=1), weekly), today)
    assert forecast is not None and forecast.seasonal is None


# --- the report part ------------------------------------------------------------------------

def test_measured_needs_average_each_weekday_over_the_range() -> None:
    # Two Mondays in the range: 30 and 50 handoffs at 10:00 are 40 an hour on an average Monday.
    first, last = date(2025, 3, 3), date(2025, 3, 16)
    days = {first: [30 if h == 10 else 0 for h in range(24)], first + timedelta(days=7): [50 if h == 10 else 0 for h in range(24)]}
    arrivals = measured_arrivals(days, first, last)
    assert arrivals[0][10] == 40 and sum(map(sum, arrivals)) == 40
    plan = staffing_plan(days, first, last, handling_seconds=180, concurrency=1,
                         service_level=0.8, answer_within=20, today=date(2025, 3, 17))
    assert plan["needed"][0][10] == needs(40)
    assert sum(map(sum, plan["needed"])) == needs(40)
    assert plan["forecast"]["week_of"] == "2025-03-24"


def test_the_staffing_part_has_the_reports_shape() -> None:
    today = date(2025, 3, 12)
    days = history(today - timedelta(days=70), today - timedelta(days=1), weekly)
    plan = staffing_plan(days, date(2025, 2, 10), date(2025, 3, 9), handling_seconds=180, concurrency=2,
                         service_level=0.8, answer_within=20, today=today)
    assert set(plan) == {"service_level", "answer_within_seconds", "concurrency", "handling_seconds", "needed", "forecast"}
    assert (plan["service_level"], plan["answer_within_seconds"], plan["concurrency"]) == (0.8, 20, 2)
    forecast = plan["forecast"]
    assert set(forecast) == {"week_of", "handoffs", "needed"}
    for grid in (plan["needed"], forecast["handoffs"], forecast["needed"]):
        assert len(grid) == 7 and all(len(row) == 24 for row in grid)
    # A steady shop: the measured week and next week's forecast need the same agents.
    assert forecast["needed"] == plan["needed"]
    assert forecast["handoffs"][0][12] == 21.0 and forecast["needed"][0][12] == needs(21, concurrency=2)
    assert forecast["needed"][6][3] == 0


def test_a_new_shop_gets_its_measured_needs_and_no_forecast_yet() -> None:
    today = date(2025, 3, 12)
    days = history(today - timedelta(days=3), today - timedelta(days=1), weekly)
    plan = staffing_plan(days, today - timedelta(days=3), today - timedelta(days=1), handling_seconds=180,
                         concurrency=1, service_level=0.8, answer_within=20, today=today)
    assert plan["forecast"] is None
    assert plan["needed"][today.weekday() - 1][12] == needs(weekly(today - timedelta(days=1), 12))
