"""How well the complaints report finds the demo history's defect: its alerts, and the precision
and recall of the cluster holding most of the defect's conversations.

    .venv/bin/python -m gateway.run.history.measure      # a throwaway Redis of its own
    .venv/bin/python -m gateway.run.history.measure --redis-url redis://127.0.0.1:6390/3   # an empty one

Loads the history the way `storechat demo-data` does, then reads the real report.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from gateway.complaints.lexicon import Lexicon
from gateway.complaints.report import complaint_themes, complaints_report
from gateway.desk.business_hours import BusinessHours
from gateway.reports.query import ReportQuery
from gateway.run import processes
from gateway.run.history.demo import DemoTruth
from gateway.run.history.load import describe, load_demo_history
from gateway.settings import Settings

# The range the clusters are read from: the last two weeks (the defect began ten days ago).
RANGE_DAYS = 14


@dataclass(frozen=True, slots=True)
class Found:
    report: dict[str, Any]
    # The best cluster for the defect: (product, theme id), its precision and recall.
    cluster: tuple[str | None, str] | None
    precision: float
    recall: float


async def find_defect(redis: Redis, settings: Settings, truth: DemoTruth, *, now: float) -> Found:
    """The complaints report of the history's last RANGE_DAYS days, with the settings' alert thresholds."""
    lexicon = Lexicon.load(settings.root / "faq_data")
    timezone = BusinessHours.load(settings.business_hours_file).timezone
    query = ReportQuery(first=truth.end - timedelta(days=RANGE_DAYS - 1), last=truth.end, timezone=timezone)
    report = await complaints_report(redis, query, now=now, lexicon=lexicon,
                                     alert_shoppers=settings.complaint_alert_shoppers,
                                     alert_days=settings.complaint_alert_days)
    best = (await complaint_themes(redis, query, lexicon=lexicon)).best_match(set(truth.defect_conversations))
    if best is None:
        return Found(report, None, 0.0, 0.0)
    cluster, precision, recall = best
    return Found(report, cluster, precision, recall)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _measure(url: str) -> int:
    settings = Settings(redis_url=url)
    redis = Redis.from_url(url, decode_responses=True)
    try:
        if await redis.dbsize():
            print(f"error: {url} is not empty", file=sys.stderr)
            return 2
        now = time.time()
        loaded = await load_demo_history(redis, settings, now=now)
        print(describe(loaded))
        assert loaded.truth is not None
        found = await find_defect(redis, settings, loaded.truth, now=now)
        for alert in found.report["alerts"]:
            cases = set(alert["cases"])
            print(f"alert: {alert['product']['sku']} ({alert['product']['name']}), {alert['shoppers']} shoppers "
                  f"in {alert['window_days']} days, baseline {alert['baseline']}, {len(cases)} cases, "
                  f"{len(cases & set(loaded.truth.defect_conversations))} of them the defect's")
        if not found.report["alerts"]:
            print("no alert")
        print(f"best cluster for the defect: {found.cluster}, precision {found.precision:.2f}, "
              f"recall {found.recall:.2f} ({len(loaded.truth.defect_conversations)} conversations)")
        return 0
    finally:
        await redis.aclose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", help="an empty Redis database (default: start a throwaway redis-server)")
    args = parser.parse_args(argv)
    if args.redis_url:
        return asyncio.run(_measure(args.redis_url))
    port = _free_port()
    with tempfile.TemporaryDirectory() as folder:
        service = processes.embedded_redis(port, Path(folder), persist=False)
        process = processes.start(service, Path(folder) / "redis.log")
        try:
            url = f"redis://127.0.0.1:{port}/0"
            processes.wait_until(processes.redis_ok(url), timeout=20, process=process, what="redis")
            return asyncio.run(_measure(url))
        finally:
            processes.stop(process)


if __name__ == "__main__":
    sys.exit(main())
