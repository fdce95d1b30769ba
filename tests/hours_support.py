"""Business-hours files for tests, so no test depends on the hour it runs at."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from core.formatting import format_day

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# Closed hours are open only on the day after tomorrow: whenever a test runs, the team is out.
NEXT_OPEN_DATE = datetime.now(ZoneInfo("Europe/Berlin")).date() + timedelta(days=2)
NEXT_OPEN_DAY = NEXT_OPEN_DATE.weekday()
NEXT_OPEN_DAY_DE = format_day(NEXT_OPEN_DATE, "de")  # "Montag, 30. November"


def hours_file(directory: Path, *, open_now: bool) -> Path:
    path = directory / ("always-open.yml" if open_now else "closed-now.yml")
    days = DAYS if open_now else (DAYS[NEXT_OPEN_DAY],)
    hours = "00:00-24:00" if open_now else "08:00-09:00"
    lines = [f"  {day}: ['{hours}']" for day in days]
    path.write_text("timezone: Europe/Berlin\nweekly:\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path
