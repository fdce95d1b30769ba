"""The conversations behind a report, as CSV: one row per conversation (episode).

The rows are what the episode fold keeps per start day (`keys.report_episodes`), so an
export reads the days of its range and nothing else. Times are written in the shop's
time zone, ISO 8601 with their offset, so a spreadsheet sorts them and a person reads them.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

from redis.asyncio import Redis

from gateway import keys
from gateway.reports.query import ReportQuery

COLUMNS = ("conversation_id", "episode", "channel", "started_at", "first_handoff_at", "first_response_at",
           "resolved_at", "team", "agent", "topic", "reason", "outcome", "csat")
TIMES = frozenset({"started_at", "first_handoff_at", "first_response_at", "resolved_at"})
# A cell a spreadsheet would run as a formula (CSV injection) starts with one of these.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(name: str, value: Any, query: ReportQuery) -> str:
    if value is None:
        return ""
    if name in TIMES:
        return datetime.fromtimestamp(float(value), query.timezone).isoformat(timespec="seconds")
    text = str(value)
    return f"'{text}" if text.startswith(_FORMULA) else text


def _matches(row: Mapping[str, Any], query: ReportQuery) -> bool:
    return not ((query.business_hours and not row.get("open_hours"))
                or (query.channel and row.get("channel") != query.channel.value)
                or (query.team and row.get("team") != query.team.value)
                or (query.agent and row.get("agent") != query.agent))


async def csv_lines(redis: Redis, query: ReportQuery) -> AsyncIterator[str]:
    """The header, then every matching conversation of the range, oldest start first."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")

    def line(cells: list[str]) -> str:
        out.seek(0)
        out.truncate()
        writer.writerow(cells)
        return out.getvalue()

    yield line(list(COLUMNS))
    for day in query.days():
        raw = await redis.hgetall(keys.report_episodes(day.isoformat()))
        rows = sorted((json.loads(value) for value in raw.values()), key=lambda row: row["started_at"])
        for row in rows:
            if _matches(row, query):
                yield line([_cell(name, row.get(name), query) for name in COLUMNS])
