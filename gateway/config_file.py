"""Checks shared by storechat's YAML configuration files (business hours, notifications).

Each error names the file and the entry, so an operator finds the line at once.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_INTERVAL = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


def no_unknown_keys(raw: dict[object, object], allowed: frozenset[str], where: str) -> None:
    # A misspelt key ("closed_date", "quiet_hour") would otherwise be ignored without a word.
    unknown = sorted(str(key) for key in raw if key not in allowed)
    if unknown:
        raise ValueError(f"{where}: unknown key {unknown[0]!r} (use {', '.join(sorted(allowed))})")


def timezone(raw: object, where: str) -> ZoneInfo:
    if not isinstance(raw, str) or not raw:
        raise ValueError(f"{where}: `timezone` is missing (e.g. Europe/Berlin)")
    try:
        return ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{where}: unknown timezone {raw!r} (e.g. Europe/Berlin)") from None


def clock_interval(raw: object, where: str, example: str) -> tuple[int, int, int, int]:
    """'08:00-20:00' as (start hour, start minute, end hour, end minute), not yet range-checked."""
    match = _INTERVAL.match(str(raw).strip())
    if match is None:
        raise ValueError(f"{where}: {raw!r} is not an interval like '{example}'")
    start_h, start_m, end_h, end_m = (int(group) for group in match.groups())
    return start_h, start_m, end_h, end_m
