"""When the shop's people answer: a weekly schedule in the shop's timezone, closed dates,
and per-team overrides, read from a YAML file (config/business_hours.yml is the demo's).

Out of hours a queued shopper is told when the team will answer (`describe_opening`).
Times are wall-clock times in the shop's timezone, so "08:00" is 8 o'clock on both sides
of a daylight-saving change; zoneinfo reads the system's tz database (/usr/share/zoneinfo).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from core.formatting import format_day, format_time
from core.types import Team
from gateway import config_file
from gateway.texts import Texts

__all__ = ["BusinessHours", "Interval", "Schedule", "describe_opening"]

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# An opening further away than this is a configuration mistake (closed dates that cover
# weeks), not something to tell a shopper.
SEARCH_DAYS = 30
_FILE_KEYS = frozenset({"timezone", "weekly", "closed_dates", "teams"})
_TEAM_KEYS = frozenset({"weekly", "closed_dates"})
_TEAMS = frozenset(team.value for team in Team)


@dataclass(frozen=True, slots=True)
class Interval:
    """One opening on a day, wall-clock time; `end` None means until midnight ("24:00")."""

    start: time
    end: time | None

    def opens_closes(self, day: date, timezone: ZoneInfo) -> tuple[datetime, datetime]:
        opens = datetime.combine(day, self.start, timezone)
        if self.end is None:
            return opens, datetime.combine(day + timedelta(days=1), time(0), timezone)
        return opens, datetime.combine(day, self.end, timezone)


@dataclass(frozen=True, slots=True)
class Schedule:
    """Opening intervals per weekday (0 = Monday; a missing day is closed) and closed dates."""

    week: Mapping[int, tuple[Interval, ...]]
    closed: frozenset[date]

    def intervals(self, day: date) -> tuple[Interval, ...]:
        return () if day in self.closed else self.week.get(day.weekday(), ())


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """The shop's hours and each team's override; build it with `load` at start-up."""

    timezone: ZoneInfo
    default: Schedule
    teams: Mapping[str, Schedule] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> BusinessHours:
        """Read and check a business-hours file; ValueError names the first problem."""
        try:
            raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
        except (OSError, yaml.YAMLError) as exc:
            raise ValueError(f"{path}: cannot read business hours ({exc})") from None
        return cls.parse(raw, str(path))

    @classmethod
    def parse(cls, raw: object, where: str = "business hours") -> BusinessHours:
        """The same checks as `load`, on already-parsed YAML."""
        if not isinstance(raw, dict):
            raise ValueError(f"{where}: expected a mapping with `timezone` and `weekly`")
        config_file.no_unknown_keys(raw, _FILE_KEYS, where)
        timezone = config_file.timezone(raw.get("timezone"), where)
        closed = _dates(raw.get("closed_dates"), f"{where}: closed_dates")
        default = Schedule(_week(raw.get("weekly"), f"{where}: weekly"), closed)
        teams_raw = raw.get("teams") or {}
        if not isinstance(teams_raw, dict):
            raise ValueError(f"{where}: teams must map team names to their hours")
        teams = {
            str(team): _team(override, default, f"{where}: teams.{team}")
            for team, override in teams_raw.items()
        }
        unknown = sorted(set(teams) - _TEAMS)
        if unknown:
            # A misspelt team would silently work the shop's hours.
            raise ValueError(
                f"{where}: teams.{unknown[0]}: unknown team (use {', '.join(sorted(_TEAMS))})"
            )
        return cls(timezone, default, teams)

    def _schedule(self, team: str | None) -> Schedule:
        # A team without an override works the shop's hours.
        return self.teams.get(team or "", self.default)

    def _local(self, at: datetime) -> datetime:
        if at.tzinfo is None or at.utcoffset() is None:
            # A naive time would silently be read in the server's timezone.
            raise ValueError(f"{at.isoformat()} has no timezone; pass an aware datetime")
        return at.astimezone(self.timezone)

    def _periods(self, day: date, team: str | None) -> list[tuple[datetime, datetime]]:
        return [i.opens_closes(day, self.timezone) for i in self._schedule(team).intervals(day)]

    def is_open(self, at: datetime, team: str | None = None) -> bool:
        # Aware datetimes with the same tzinfo compare by wall clock: opening hours are
        # wall-clock hours, which is what makes this right on daylight-saving days.
        local = self._local(at)
        return any(opens <= local < closes for opens, closes in self._periods(local.date(), team))

    def next_opening(self, at: datetime, team: str | None = None) -> datetime:
        """`at` itself (in the shop's timezone) while open, else when the team opens next.

        Raises ValueError when the team does not open within SEARCH_DAYS days.
        """
        local = self._local(at)
        for offset in range(SEARCH_DAYS + 1):
            for opens, closes in self._periods(local.date() + timedelta(days=offset), team):
                if local < closes:
                    return max(local, opens)
        raise ValueError(f"no opening hours within {SEARCH_DAYS} days of {local.isoformat()}")

    def open_seconds(self, start: float, end: float, team: str | None = None) -> float:
        """How many of the seconds from `start` to `end` (epoch seconds) lie in opening hours.

        Summed on timestamps, not wall-clock differences: an interval that spans a
        daylight-saving change is an hour shorter or longer than its wall clock says.
        """
        if end <= start:
            return 0.0
        day = datetime.fromtimestamp(start, self.timezone).date()
        last = datetime.fromtimestamp(end, self.timezone).date()
        total = 0.0
        while day <= last:
            for opens, closes in self._periods(day, team):
                total += max(0.0, min(end, closes.timestamp()) - max(start, opens.timestamp()))
            day += timedelta(days=1)
        return total


# --- reading the file -------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps 2026-12-25 as text: a bad date ("2026-13-01") then gets
    _dates' message naming it instead of the YAML library's "month must be in 1..12"."""


def _timestamp_as_text(loader: _Loader, node: yaml.Node) -> object:
    return loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else None


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


def _interval(raw: object, where: str) -> Interval:
    start_h, start_m, end_h, end_m = config_file.clock_interval(raw, where, "08:00-20:00")
    end_ok = end_h < 24 or (end_h, end_m) == (24, 0)
    if not (start_h < 24 and start_m < 60 and end_m < 60 and end_ok):
        raise ValueError(f"{where}: {raw!r} is not a time of day (00:00 to 24:00)")
    start = time(start_h, start_m)
    end = None if end_h == 24 else time(end_h, end_m)
    if end is not None and end <= start:
        raise ValueError(f"{where}: {raw!r} ends before it starts (split a night into two days)")
    return Interval(start, end)


def _day(raw: object, where: str) -> tuple[Interval, ...]:
    if not isinstance(raw, list):
        raise ValueError(f"{where} must be a list of intervals like ['08:00-12:00', '13:00-18:00']")
    intervals = sorted((_interval(item, where) for item in raw), key=lambda i: i.start)
    for before, after in zip(intervals, intervals[1:]):
        if before.end is None or before.end > after.start:
            raise ValueError(f"{where}: intervals overlap")
    return tuple(intervals)


def _week(raw: object, where: str) -> dict[int, tuple[Interval, ...]]:
    if not isinstance(raw, dict):
        raise ValueError(f"{where} must map weekdays (monday … sunday) to lists of intervals")
    week: dict[int, tuple[Interval, ...]] = {}
    for day, intervals in raw.items():
        name = str(day).lower()
        if name not in DAYS:
            raise ValueError(f"{where}: unknown day {day!r} (use {', '.join(DAYS)})")
        week[DAYS.index(name)] = _day(intervals, f"{where}.{name}")
    if not any(week.values()):
        # next_opening could never answer; a shop always open is "00:00-24:00" every day.
        raise ValueError(f"{where}: no opening hours on any day")
    return week


def _team(raw: object, shop: Schedule, where: str) -> Schedule:
    if not isinstance(raw, dict):
        raise ValueError(f"{where} must be a mapping with `weekly` and/or `closed_dates`")
    config_file.no_unknown_keys(raw, _TEAM_KEYS, where)
    # A team's own week replaces the shop's; its closed dates add to the shop's.
    week = _week(raw["weekly"], f"{where}.weekly") if "weekly" in raw else shop.week
    return Schedule(week, shop.closed | _dates(raw.get("closed_dates"), f"{where}.closed_dates"))


def _dates(raw: object, where: str) -> frozenset[date]:
    if raw is None:
        return frozenset()
    if not isinstance(raw, list):
        raise ValueError(f"{where} must be a list of dates like 2026-12-25")
    dates: set[date] = set()
    for item in raw:
        if isinstance(item, date) and not isinstance(item, datetime):
            dates.add(item)  # `parse` may get YAML read by another loader
            continue
        try:
            dates.add(date.fromisoformat(str(item)))
        except ValueError:
            raise ValueError(f"{where}: {item!r} is not a date like 2026-12-25") from None
    return frozenset(dates)


# --- telling the shopper ----------------------------------------------------------------


def describe_opening(opening: datetime, now: datetime, locale: str, texts: Texts) -> str:
    """How a shopper reads `opening`, seen from `now`, in the opening's timezone:
    "heute um 08:00 Uhr", "tomorrow at 09:00", "on Monday 28 December, at 08:00".

    The words are the texts' ("opening_today", "opening_tomorrow", "opening_later"), the
    day and the time Babel's; an unknown locale reads as the default language, like the
    sentence around it.
    """
    if opening.tzinfo is None or now.tzinfo is None:
        raise ValueError("describe_opening needs aware datetimes")
    locale = texts.locale(locale)
    cldr = texts.cldr_locale(locale)
    clock = format_time(opening.time(), cldr)  # the wall clock where the shop is
    # "Today" is the shop's today: at 00:30 in Berlin a 9:00 opening is today, whatever
    # the date is in UTC.
    days = (opening.date() - now.astimezone(opening.tzinfo).date()).days
    if days == 0:
        return texts.get(locale, "opening_today", time=clock)
    if days == 1:
        return texts.get(locale, "opening_tomorrow", time=clock)
    return texts.get(locale, "opening_later", day=format_day(opening.date(), cldr), time=clock)
