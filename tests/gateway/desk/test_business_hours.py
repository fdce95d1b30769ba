"""Business hours: when a person answers, and what an out-of-hours shopper is told.

Fixed datetimes only: the demo shop's file (config/business_hours.yml, MISSION.md's
hours and the German public holidays), the daylight-saving weekends of 2026/27, and
invalid files that an operator must hear about at start-up rather than at Christmas.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gateway.desk.business_hours import SEARCH_DAYS, BusinessHours, describe_opening
from gateway.settings import REPO_ROOT
from gateway.texts import Texts

BERLIN = ZoneInfo("Europe/Berlin")
TEXTS = Texts.load("de")
DEMO_FILE = REPO_ROOT / "config" / "business_hours.yml"


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


@pytest.fixture(scope="module")
def demo() -> BusinessHours:
    return BusinessHours.load(DEMO_FILE)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hours.yml"
    path.write_text(text, encoding="utf-8")
    return path


# --- the demo shop: Mo–Fr 8–20, Sa 9–16, Europe/Berlin --------------------------------


@pytest.mark.parametrize(
    ("at", "is_open"),
    [
        (berlin(2026, 11, 23, 7, 59), False),  # Monday
        (berlin(2026, 11, 23, 8, 0), True),
        (berlin(2026, 11, 23, 19, 59), True),
        (berlin(2026, 11, 23, 20, 0), False),
        (berlin(2026, 11, 27, 20, 30), False),  # Friday evening
        (berlin(2026, 11, 28, 8, 59), False),  # Saturday
        (berlin(2026, 11, 28, 9, 0), True),
        (berlin(2026, 11, 28, 15, 59), True),
        (berlin(2026, 11, 28, 16, 0), False),
        (berlin(2026, 11, 29, 12, 0), False),  # Sunday
        (berlin(2026, 12, 24, 12, 0), True),  # Christmas Eve is a working day
        (berlin(2026, 12, 25, 12, 0), False),  # Christmas Day, a Friday
        (berlin(2027, 3, 29, 12, 0), False),  # Easter Monday
    ],
)
def test_the_demo_shop_is_open_mondays_to_fridays_8_to_20_and_saturdays_9_to_16(
    demo: BusinessHours, at: datetime, is_open: bool
) -> None:
    assert demo.is_open(at) is is_open


def test_a_time_in_another_timezone_is_read_as_the_same_instant(demo: BusinessHours) -> None:
    # 07:30 UTC on a winter Monday is 08:30 in Berlin.
    assert demo.is_open(datetime(2026, 11, 23, 7, 30, tzinfo=timezone.utc))
    assert not demo.is_open(datetime(2026, 11, 23, 6, 30, tzinfo=timezone.utc))


def test_while_open_the_next_opening_is_now_in_the_shops_timezone(demo: BusinessHours) -> None:
    now = datetime(2026, 11, 23, 9, 15, tzinfo=timezone.utc)

    opening = demo.next_opening(now)

    assert opening == now and opening.tzinfo == BERLIN and opening.hour == 10


@pytest.mark.parametrize(
    ("at", "opening"),
    [
        (berlin(2026, 11, 23, 6, 0), berlin(2026, 11, 23, 8, 0)),  # Monday morning
        (berlin(2026, 11, 27, 20, 30), berlin(2026, 11, 28, 9, 0)),  # Friday → Saturday 9:00
        (berlin(2026, 11, 28, 17, 0), berlin(2026, 11, 30, 8, 0)),  # Saturday → Monday 8:00
        (berlin(2026, 11, 29, 23, 59), berlin(2026, 11, 30, 8, 0)),  # Sunday night
        # Christmas Eve evening: Christmas (Fri), Boxing Day (Sat), Sunday closed.
        (berlin(2026, 12, 24, 20, 30), berlin(2026, 12, 28, 8, 0)),
        # New Year's Eve evening: New Year's Day is a Friday holiday.
        (berlin(2026, 12, 31, 21, 0), berlin(2027, 1, 2, 9, 0)),
    ],
)
def test_out_of_hours_the_next_opening_skips_closed_days_and_holidays(
    demo: BusinessHours, at: datetime, opening: datetime
) -> None:
    found = demo.next_opening(at)

    assert found == opening
    assert (found.tzinfo, found.hour, found.minute) == (BERLIN, opening.hour, opening.minute)


def test_the_saturday_before_the_october_change_reopens_at_8_winter_time(demo: BusinessHours) -> None:
    # Clocks go back in the night to Sunday 2026-10-25: Saturday is UTC+2, Monday UTC+1.
    saturday = berlin(2026, 10, 24, 17, 0)

    opening = demo.next_opening(saturday)

    assert (opening.date(), opening.hour, opening.minute) == (date(2026, 10, 26), 8, 0)
    assert opening.utcoffset() == timedelta(hours=1)
    assert opening.astimezone(timezone.utc) == datetime(2026, 10, 26, 7, 0, tzinfo=timezone.utc)
    # 39 hours by the clock, 40 lived (same-tzinfo subtraction would say 39).
    assert opening.astimezone(timezone.utc) - saturday.astimezone(timezone.utc) == timedelta(hours=40)
    assert demo.is_open(datetime(2026, 10, 26, 7, 30, tzinfo=timezone.utc))  # 8:30 CET
    assert not demo.is_open(datetime(2026, 10, 26, 6, 30, tzinfo=timezone.utc))  # 7:30 CET


def test_the_saturday_before_the_march_change_reopens_after_easter_at_8_summer_time(
    demo: BusinessHours,
) -> None:
    # Clocks go forward in the night to Sunday 2027-03-28 (Easter); Monday is a holiday.
    saturday = berlin(2027, 3, 27, 17, 0)

    opening = demo.next_opening(saturday)

    assert (opening.date(), opening.hour, opening.minute) == (date(2027, 3, 30), 8, 0)
    assert opening.utcoffset() == timedelta(hours=2)
    assert opening.astimezone(timezone.utc) == datetime(2027, 3, 30, 6, 0, tzinfo=timezone.utc)
    assert demo.is_open(datetime(2027, 3, 30, 6, 0, tzinfo=timezone.utc))
    assert not demo.is_open(datetime(2027, 3, 30, 5, 59, tzinfo=timezone.utc))


def test_a_naive_datetime_is_refused_rather_than_read_in_the_servers_timezone(demo: BusinessHours) -> None:
    with pytest.raises(ValueError, match="no timezone"):
        demo.is_open(datetime(2026, 11, 23, 10, 0))
    with pytest.raises(ValueError, match="no timezone"):
        demo.next_opening(datetime(2026, 11, 23, 10, 0))


# --- schedules: several intervals, midnight, teams ------------------------------------


def test_a_day_can_have_several_intervals_and_end_at_midnight(tmp_path: Path) -> None:
    hours = BusinessHours.load(write(tmp_path, """\
timezone: Europe/Berlin
weekly:
  monday: ["13:00-18:00", "08:00-12:00"]
  tuesday: ["20:00-24:00"]
"""))

    assert hours.is_open(berlin(2026, 11, 23, 11, 59))
    assert not hours.is_open(berlin(2026, 11, 23, 12, 30))
    assert hours.next_opening(berlin(2026, 11, 23, 12, 30)) == berlin(2026, 11, 23, 13, 0)
    assert hours.is_open(berlin(2026, 11, 24, 23, 59))
    assert not hours.is_open(berlin(2026, 11, 25, 0, 0))
    assert hours.next_opening(berlin(2026, 11, 23, 18, 0)) == berlin(2026, 11, 24, 20, 0)


TEAMS_FILE = """\
timezone: Europe/Berlin
weekly:
  monday: ["08:00-20:00"]
  tuesday: ["08:00-20:00"]
  wednesday: ["08:00-20:00"]
  thursday: ["08:00-20:00"]
  friday: ["08:00-20:00"]
closed_dates: [2026-12-25]
teams:
  billing:
    weekly:
      monday: ["09:00-17:00"]
      wednesday: ["09:00-17:00"]
    closed_dates: [2026-11-30]
  logistics:
    closed_dates: [2026-11-24]
"""


def test_a_team_override_replaces_the_week_and_adds_closed_dates(tmp_path: Path) -> None:
    hours = BusinessHours.load(write(tmp_path, TEAMS_FILE))
    monday_8_30 = berlin(2026, 11, 23, 8, 30)

    assert hours.is_open(monday_8_30) and not hours.is_open(monday_8_30, "billing")
    assert hours.next_opening(monday_8_30, "billing") == berlin(2026, 11, 23, 9, 0)
    # Billing after Monday 17:00: not Tuesday (not its day), Wednesday.
    assert hours.next_opening(berlin(2026, 11, 23, 17, 0), "billing") == berlin(2026, 11, 25, 9, 0)
    # From Friday: its own closed Monday is skipped too.
    assert hours.next_opening(berlin(2026, 11, 27, 12, 0), "billing") == berlin(2026, 12, 2, 9, 0)
    # Logistics keeps the shop's week and closed dates, plus its own closed Tuesday.
    assert not hours.is_open(berlin(2026, 12, 25, 10, 0), "logistics")
    assert not hours.is_open(berlin(2026, 11, 24, 10, 0), "logistics")
    assert hours.is_open(berlin(2026, 11, 24, 10, 0))


def test_a_team_without_an_override_works_the_shops_hours(tmp_path: Path) -> None:
    hours = BusinessHours.load(write(tmp_path, TEAMS_FILE))

    for at in (berlin(2026, 11, 23, 8, 30), berlin(2026, 11, 23, 20, 0), berlin(2026, 11, 28, 10, 0)):
        assert hours.is_open(at, "product") is hours.is_open(at) is hours.is_open(at, None)


def test_no_opening_within_the_search_window_is_an_error(tmp_path: Path) -> None:
    start = date(2026, 11, 23)
    closed = ", ".join((start + timedelta(days=n)).isoformat() for n in range(SEARCH_DAYS + 2))
    hours = BusinessHours.load(write(tmp_path, f"""\
timezone: Europe/Berlin
weekly: {{monday: ["08:00-20:00"]}}
closed_dates: [{closed}]
"""))

    with pytest.raises(ValueError, match=f"no opening hours within {SEARCH_DAYS} days"):
        hours.next_opening(berlin(2026, 11, 23, 10, 0))


# --- invalid files --------------------------------------------------------------------

VALID_WEEK = 'weekly: {monday: ["08:00-20:00"]}'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"timezone: Europe/Berlin\n{VALID_WEEK.replace('20:00', '25:00')}", r"'08:00-25:00' is not a time of day"),
        (f"timezone: Europe/Berlin\n{VALID_WEEK.replace('08:00', '08:61')}", "is not a time of day"),
        (f"timezone: Europe/Berlin\n{VALID_WEEK.replace('08:00-20:00', '8-20')}", r"'8-20' is not an interval"),
        (f"timezone: Europe/Berlin\n{VALID_WEEK.replace('08:00-20:00', '20:00-08:00')}", "ends before it starts"),
        ("timezone: Europe/Berlin\nweekly: {monday: ['08:00-12:00', '11:00-14:00']}", "weekly.monday: intervals overlap"),
        ("timezone: Europe/Berlin\nweekly: {funday: ['08:00-20:00']}", "unknown day 'funday'"),
        ("timezone: Europe/Berlin\nweekly: {monday: '08:00-20:00'}", "weekly.monday must be a list"),
        ("timezone: Europe/Berlin\nweekly: {}", "no opening hours on any day"),
        ("timezone: Europe/Berlin", "weekly must map weekdays"),
        (f"timezone: Mars/Olympus_Mons\n{VALID_WEEK}", "unknown timezone 'Mars/Olympus_Mons'"),
        (VALID_WEEK, "`timezone` is missing"),
        (f"timezone: Europe/Berlin\n{VALID_WEEK}\nclosed_dates: [2026-13-01]", "'2026-13-01' is not a date"),
        (f"timezone: Europe/Berlin\n{VALID_WEEK}\nclosed_date: [2026-12-25]", "unknown key 'closed_date'"),
        (f"timezone: Europe/Berlin\n{VALID_WEEK}\nteams: {{billing: yes}}", "teams.billing must be a mapping"),
        (f"timezone: Europe/Berlin\n{VALID_WEEK}\nteams: {{biling: {{}}}}", "teams.biling: unknown team"),
        (f"timezone: Europe/Berlin\n{VALID_WEEK}\nteams: {{billing: {{hours: []}}}}", "unknown key 'hours'"),
        (f"timezone: Europe/Berlin\n{VALID_WEEK}\nteams: {{billing: {{weekly: {{sunday: ['9-5']}}}}}}",
         r"teams.billing.weekly.sunday: '9-5' is not an interval"),
        ("- monday\n- tuesday", "expected a mapping"),
        ("timezone: [unclosed", "cannot read business hours"),
    ],
)
def test_an_invalid_file_is_refused_with_the_problem_named(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)

    with pytest.raises(ValueError, match=message) as refused:
        BusinessHours.load(path)
    assert str(path) in str(refused.value)


def test_a_missing_file_is_refused_with_its_path(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="missing.yml: cannot read business hours"):
        BusinessHours.load(tmp_path / "missing.yml")


# --- what the shopper reads -----------------------------------------------------------


@pytest.mark.parametrize(
    ("opening", "now", "german", "english"),
    [
        (berlin(2026, 11, 23, 8, 0), berlin(2026, 11, 23, 6, 0), "heute um 08:00 Uhr", "today at 08:00"),
        (berlin(2026, 11, 28, 9, 0), berlin(2026, 11, 27, 20, 30), "morgen um 09:00 Uhr", "tomorrow at 09:00"),
        (
            berlin(2026, 12, 28, 8, 0),
            berlin(2026, 12, 24, 20, 30),
            "am Montag, 28. Dezember, um 08:00 Uhr",
            "on Monday 28 December, at 08:00",
        ),
        (
            berlin(2027, 3, 30, 8, 0),
            berlin(2027, 3, 27, 17, 0),
            "am Dienstag, 30. März, um 08:00 Uhr",
            "on Tuesday 30 March, at 08:00",
        ),
        (berlin(2026, 11, 23, 13, 30), berlin(2026, 11, 23, 12, 30), "heute um 13:30 Uhr", "today at 13:30"),
    ],
)
def test_describe_opening_in_german_and_english(
    opening: datetime, now: datetime, german: str, english: str
) -> None:
    assert describe_opening(opening, now, "de", TEXTS) == german
    assert describe_opening(opening, now, "en", TEXTS) == english


def test_today_and_tomorrow_are_the_shops_days_not_utcs() -> None:
    # Saturday 00:30 in Berlin is still Friday in UTC: the 9:00 opening is today.
    now = datetime(2026, 11, 27, 23, 30, tzinfo=timezone.utc)

    assert describe_opening(berlin(2026, 11, 28, 9, 0), now, "en", TEXTS) == "today at 09:00"


@pytest.mark.parametrize(("locale", "expected"), [("fr", "morgen um 09:00 Uhr"), ("", "morgen um 09:00 Uhr"),
                                                  ("de-AT", "morgen um 09:00 Uhr"), ("EN_gb", "tomorrow at 09:00")])
def test_describe_opening_reads_an_unknown_locale_in_the_default_language(locale: str, expected: str) -> None:
    # As the out-of-hours sentence around it does (gateway/texts.py).
    assert describe_opening(berlin(2026, 11, 28, 9, 0), berlin(2026, 11, 27, 20, 30), locale, TEXTS) == expected


def test_the_demo_shops_next_opening_reads_naturally(demo: BusinessHours) -> None:
    now = berlin(2026, 11, 28, 17, 0)  # Saturday after closing

    assert describe_opening(demo.next_opening(now), now, "de", TEXTS) == "am Montag, 30. November, um 08:00 Uhr"
