"""The reports at shop scale: 90 days × 2,000 conversations a day, written through the real store,
folded by the real projections, and every report timed over HTTP.

    .venv/bin/python benchmarks/reports.py                          # the full size (make bench-reports)
    .venv/bin/python benchmarks/reports.py --days 7 --per-day 300   # a smaller history
    .venv/bin/python benchmarks/reports.py --json > reports.json    # JSON on stdout, summary on stderr

Prints the load rate, what keeping the projections costs per conversation (Redis commands and
bytes) and how fast they fold, then p50 / p95 / max of each report against the goal,
p95 ≤ 200 ms. The exit status is 1 when a report request failed or nothing was folded.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import resource
import shutil
import sys
import time
from collections import Counter
from contextlib import ExitStack
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

# Run as a script (`python benchmarks/reports.py`): make the repository importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis as sync_redis  # noqa: E402

from benchmarks import procfs, report_latency  # noqa: E402
from benchmarks.cli import progress, stop_on_sigterm  # noqa: E402
from benchmarks.report_load import Loaded, key_memory, live_cost, load, owner  # noqa: E402
from benchmarks.stack import BENCH_DIR, LOG_DIR, Stack, free_port  # noqa: E402
from gateway.run import processes  # noqa: E402
from gateway.run.history.writer import BERLIN  # noqa: E402

DATA_DIR = BENCH_DIR / "reports"


class OtherCores:
    """Cores that processes outside the benchmark used on average since the last reading."""

    def __init__(self) -> None:
        self._read()

    def _read(self) -> None:
        reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
        own = procfs.cpu_seconds(os.getpid()) + reaped.ru_utime + reaped.ru_stime
        self.at, self.machine, self.own = time.perf_counter(), procfs.machine_busy_seconds(), own

    def cores(self) -> float:
        at, machine, own = self.at, self.machine, self.own
        self._read()
        return max(0.0, (self.machine - machine) - (self.own - own)) / max(self.at - at, 1e-9)


def _other(phase: str, cores: float) -> str:
    warning = "  — a busy machine: the figures are worse than on a quiet one" if cores >= 0.25 else ""
    return f"other processes used {cores:.2f} cores on average during the {phase}{warning}"


def _per_conversation(counter: Counter[str], conversations: int, top: int = 6) -> str:
    common = ", ".join(f"{name} {n / conversations:.1f}" for name, n in counter.most_common(top))
    return f"{sum(counter.values()) / conversations:.1f} ({common})"


def cost_figures(loaded: Loaded, memory: dict[str, tuple[int, int]]) -> dict[str, Any]:
    n, first = max(loaded.written.conversations, 1), max(loaded.first_chunk_conversations, 1)
    owned: dict[str, int] = {}
    for name, (_, size) in memory.items():
        if (who := owner(name)) is not None:
            owned[who] = owned.get(who, 0) + size
    folding = loaded.folding
    return {
        "days": [day.isoformat() for day in loaded.days],
        "conversations": loaded.written.conversations,
        "written": loaded.written.__dict__,
        "load_seconds": loaded.writing.seconds + folding.seconds,
        "writing": {"seconds": loaded.writing.seconds, "per_s": n / loaded.writing.seconds,
                    "commands_per_conversation": loaded.writing.total / n,
                    "feed_xadds_per_conversation": loaded.writing.commands["xadd"] / 2 / n,
                    "used_memory_per_conversation": loaded.writing.memory / n},
        "folding": {"seconds": folding.seconds, "per_s": n / folding.seconds if folding.seconds else None,
                    "commands_per_conversation": folding.total / n,
                    "used_memory_per_conversation": folding.memory / n,
                    "key_bytes_per_conversation": sum(owned.values()) / n},
        "projections": {name: {"first_chunk_conversations": loaded.first_chunk_conversations,
                               "per_s": first / phase.seconds if phase.seconds else None,
                               "commands_per_conversation": phase.total / first,
                               "top_commands": {c: k / first for c, k in phase.commands.most_common(8)},
                               "used_memory_per_conversation": phase.memory / first,
                               "key_bytes_per_conversation": owned.get(name, 0) / n}
                        for name, phase in loaded.first_chunk.items()},
        "memory": {name: {"keys": count, "bytes": size} for name, (count, size) in sorted(memory.items())},
        "used_memory": {"before": loaded.memory_before, "after": loaded.memory_after},
    }


def print_costs(loaded: Loaded, figures: dict[str, Any]) -> None:
    n, first = max(loaded.written.conversations, 1), max(loaded.first_chunk_conversations, 1)
    w = loaded.written
    progress(f"\nhistory: {w.conversations:,} conversations over {len(loaded.days)} days "
             f"({loaded.days[0]} … {loaded.days[-1]}); {w.handoffs:,} handoffs, {w.answered:,} answered by an "
             f"agent, {w.resolved:,} resolved, {w.csat:,} surveys answered, {w.reopened:,} reopened; "
             f"channels {w.by_channel}")
    writing, folding = figures["writing"], figures["folding"]
    progress(f"load: written at {writing['per_s']:.0f} conversations/s ({loaded.writing.seconds:.0f} s), "
             f"folded at {folding['per_s'] or 0:.0f}/s through every projection ({loaded.folding.seconds:.0f} s); "
             f"{figures['load_seconds'] / 60:.1f} min in all")
    progress(f"writing (the store and state machine, not the projections): "
             f"{_per_conversation(loaded.writing.commands, n)} commands per conversation, of them "
             f"{writing['feed_xadds_per_conversation']:.1f} XADDs to the feed (there for the projections); "
             f"{writing['used_memory_per_conversation']:,.0f} bytes of used_memory")
    progress(f"keeping the projections, per conversation (each conversation folded after it was written): "
             f"{_per_conversation(loaded.folding.commands, n)} commands, "
             f"{folding['key_bytes_per_conversation']:,.0f} bytes in their keys "
             f"({folding['used_memory_per_conversation']:,.0f} of used_memory)")
    progress(f"  by projection (commands and rate: the first {first:,} conversations, one projection at a time; "
             "bytes: MEMORY USAGE of the keys it owns, its per-conversation state included, at the end):")
    progress(f"  {'projection':<11} {'conv/s':>7} {'bytes':>7}   commands")
    for name, phase in loaded.first_chunk.items():
        f = figures["projections"][name]
        progress(f"  {name:<11} {f['per_s'] or 0:>7.0f} {f['key_bytes_per_conversation']:>7,.0f}   "
                 f"{_per_conversation(phase.commands, first)}")
    biggest = sorted(figures["memory"].items(), key=lambda item: -item[1]["bytes"])[:12]
    progress("largest key families: " + ", ".join(
        f"{name} {entry['bytes'] / 1e6:,.1f} MB ({entry['keys']:,} keys)" for name, entry in biggest))


def _start_redis(stack: Stack, port: int, name: str) -> None:
    """An empty Redis without persistence: a background save's fork would land in the timings,
    and nothing here needs to survive the run. A directory of its own: two runs do not meet."""
    directory = DATA_DIR / f"redis-{port}"
    stack.exits.callback(shutil.rmtree, directory, ignore_errors=True)
    service = dataclasses.replace(processes.embedded_redis(port, directory, persist=False), name=name)
    stack.start(service, processes.redis_ok(f"redis://127.0.0.1:{port}/0"))


def _live(stack: Stack, chats: int, day: Any, seed: int, loaded: Loaded) -> dict[str, Any]:
    port = free_port()
    _start_redis(stack, port, "reports-live-redis")
    progress(f"\nwriting {chats} conversations again, one at a time, while every projection follows the feed …")
    writing, live = asyncio.run(live_cost(f"redis://127.0.0.1:{port}/0", day, chats, seed=seed))
    n, projections = max(loaded.written.conversations, 1), max(len(loaded.first_chunk), 1)
    after_the_fact = loaded.folding.total / n
    # Every fold that wrote something ends in one EXEC.
    folds, folds_after = live["exec"] / chats / projections, loaded.folding.commands["exec"] / n / projections
    progress(f"live, as the gateway's report worker folds ({folds:.1f} folds per conversation and projection, "
             f"against {folds_after:.1f} after the fact): {_per_conversation(live, chats)} commands per "
             f"conversation for all projections, against {after_the_fact:.1f} folded after the fact "
             f"(the writing: {sum(writing.values()) / chats:.1f})")
    return {"conversations": chats, "commands_per_conversation": sum(live.values()) / chats,
            "folds_per_conversation_and_projection": folds,
            "top_commands": {c: k / chats for c, k in live.most_common(10)},
            "writing_commands_per_conversation": sum(writing.values()) / chats}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=90, help="days of history, ending yesterday (90)")
    parser.add_argument("--per-day", type=int, default=2000, help="conversations a day on average (2000)")
    parser.add_argument("--workers", type=int, default=2, help="processes writing and folding (2)")
    parser.add_argument("--lanes", type=int, default=16, help="chats each worker writes at once (16)")
    parser.add_argument("--fold-every", type=int, default=10, help="days written between folds (10)")
    parser.add_argument("--live", type=int, default=300,
                        help="conversations written while the projections follow live, on a Redis of their own (300)")
    parser.add_argument("--requests", type=int, default=60, help="timed requests of each report (60)")
    parser.add_argument("--csv-requests", type=int, default=12, help="timed CSV exports (12)")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--keep", action="store_true",
                        help="keep the loaded Redis running at the end (its URL printed) until Ctrl-C, to profile on")
    parser.add_argument("--json", action="store_true", help="the figures as JSON on stdout (summary on stderr)")
    args = parser.parse_args(argv)
    stop_on_sigterm()
    today = datetime.now(BERLIN).date()
    days = [today - timedelta(days=n) for n in range(args.days, 0, -1)]
    port = free_port()
    redis_url = f"redis://127.0.0.1:{port}/0"
    with ExitStack() as exits:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        stack = Stack(exits)
        _start_redis(stack, port, "reports-redis")
        progress(f"writing {args.days} days × ~{args.per_day} conversations ({args.workers} processes × "
                 f"{args.lanes} at once), folding every {args.fold_every} days …")
        started, other = time.perf_counter(), OtherCores()
        loaded = load(redis_url, days, args.per_day, workers=args.workers, lanes=args.lanes,
                      fold_every=args.fold_every, seed=args.seed, progress=progress)
        redis = sync_redis.Redis.from_url(redis_url, decode_responses=True)
        memory = key_memory(redis)
        redis.close()
        figures = cost_figures(loaded, memory)
        figures["other_cores"] = other.cores()
        print_costs(loaded, figures)
        progress(_other("load", figures["other_cores"]))
        if args.live:
            figures["live"] = _live(stack, args.live, days[-1], args.seed, loaded)
        progress(f"\ntiming the reports ({args.requests} requests each, one at a time) …")
        other.cores()  # from here on: the timing's
        timings, counted = report_latency.run(redis_url, first=days[0], requests=args.requests,
                                              csv_requests=args.csv_requests, seed=args.seed, progress=progress)
        other_cores = other.cores()
        progress(report_latency.table(timings))
        progress(_other("timing", other_cores))
        progress(f"the volume report counts {counted.started:,} conversations started and {counted.handoffs:,} "
                 f"handoffs from {days[0] - timedelta(days=1)} on ({loaded.written.conversations:,} written, {loaded.written.reopened:,} "
                 f"of them reopened: a new conversation each; {loaded.written.handoffs:,} handoffs written)")
        progress(f"\n{time.perf_counter() - started:.0f} s in all")
        if args.keep:
            progress(f"the loaded Redis stays at {redis_url} until Ctrl-C")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
    reports = [timing.figures() for timing in timings]
    if args.json:
        print(json.dumps({"config": vars(args), "load": figures, "reports": reports,
                          "other_cores_timing": other_cores,
                          "counted": {"started": counted.started, "handoffs": counted.handoffs}}, indent=2, default=str))
    failed = any(report["failures"] or not report["requests"] for report in reports)
    return 1 if failed or not loaded.written.conversations else 0


if __name__ == "__main__":
    sys.exit(main())
