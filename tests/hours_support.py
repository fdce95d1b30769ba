"""Business-hours files for tests, so no test depends on the hour it runs at."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DAYS_DE = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")
# Closed hours are open only on the day after tomorrow: whenever a test runs, the team is out.
NEXT_OPEN_DAY = (datetime.now(ZoneInfo("Europe/Berlin")).weekday() + 2) % 7
NEXT_OPEN_DAY_DE = DAYS_DE[NEXT_OPEN_DAY]


def hours_file(directory: Path, *, open_now: bool) -> Path:
    path = directory / ("always-open.yml" if open_now else "closed-now.yml")
    days = DAYS if open_now else (DAYS[NEXT_OPEN_DAY],)
    hours = "00:00-24:00" if open_now else "08:00-09:00"
    lines = [f"  {day}: ['{hours}']" for day in days]
    path.write_text("timezone: Europe/Berlin\nweekly:\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path
