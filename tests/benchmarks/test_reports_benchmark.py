"""The reports benchmark (benchmarks/reports.py) end to end, small: 2 days × 30 conversations
written, folded by every projection, and every report asked over HTTP. Its figures must make
sense; how fast anything was is the benchmark's to say, never a test's."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date

import pytest

from benchmarks.report_history import day_counts
from benchmarks.report_latency import report_paths
from gateway.settings import REPO_ROOT


@pytest.mark.slow
def test_a_small_history_is_written_folded_and_every_report_answers() -> None:
    ran = subprocess.run(
        [sys.executable, "benchmarks/reports.py", "--days", "2", "--per-day", "30", "--requests", "2",
         "--csv-requests", "1", "--live", "10", "--json"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=240,
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    figures = json.loads(ran.stdout)
    load, counted = figures["load"], figures["counted"]

    days = [date.fromisoformat(day) for day in load["days"]]
    assert len(days) == 2 and load["conversations"] == sum(day_counts(days, 30).values())
    # Every conversation the history wrote is counted, a reopened one twice; nothing is invented.
    assert load["conversations"] <= counted["started"] <= load["conversations"] + load["written"]["reopened"]
    assert 0 < counted["handoffs"] <= load["written"]["handoffs"]
    assert load["writing"]["commands_per_conversation"] > 0
    assert load["writing"]["feed_xadds_per_conversation"] >= 2  # created, and at least a message
    assert set(load["projections"]) >= {"reports", "complaints", "directory", "orders"}
    for name, projection in load["projections"].items():
        assert projection["commands_per_conversation"] > 0, name
    assert load["projections"]["reports"]["key_bytes_per_conversation"] > 0
    # Folded live, a conversation is folded at least once per projection, never for nothing.
    assert load["live"]["folds_per_conversation_and_projection"] >= 1
    assert load["live"]["commands_per_conversation"] > 0

    reports = {report["report"]: report for report in figures["reports"]}
    expected = {path.removeprefix("/agent/reports/") for path in report_paths()} | {"conversations.csv"}
    assert set(reports) == expected
    for name, report in reports.items():
        assert report["failures"] == 0, (name, report["failure_examples"])
        assert report["requests"] == (1 if name == "conversations.csv" else 2)
        assert report["median_bytes"] > 0
