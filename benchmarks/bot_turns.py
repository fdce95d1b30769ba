"""Speed of a whole storechat turn, measured against a stock `rasa init` assistant.

    .venv/bin/python benchmarks/bot_turns.py            # the full run (about 3 minutes)
    .venv/bin/python benchmarks/bot_turns.py --quick    # a smoke run
    .venv/bin/python benchmarks/bot_turns.py --json     # machine-readable figures on stdout

What is measured and how to read it: benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

# Run as a script (`python benchmarks/bot_turns.py`): make the repository importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import load, procfs, report  # noqa: E402
from benchmarks.cli import add_run_options, parse, progress, stop_on_sigterm  # noqa: E402
from benchmarks.stack import LOG_DIR, Stack, both_systems  # noqa: E402
from gateway.settings import Settings  # noqa: E402

# The processes whose CPU time belongs to each system's turns.
PROCESSES = {
    "storechat": ("gateway", "rasa", "actions", "redis"),
    "storechat-rasa": ("rasa", "actions", "redis"),
    "anchor": ("anchor",),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--shoppers", type=int, default=20, help="concurrent shoppers in the load scenario (20)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of the load scenario (20)")
    parser.add_argument("--turns", type=int, default=60, help="turns of the single-shopper scenario (60)")
    parser.add_argument("--per-conversation", type=int, default=8,
                        help="turns before a shopper leaves and a new one starts a conversation (8)")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of concurrent warm-up per system (5)")
    parser.add_argument("--seed", type=int, default=1, help="what the shoppers say (the same for every system)")
    parser.add_argument("--no-breakdown", action="store_true",
                        help="skip storechat's Rasa measured directly, without the gateway")
    add_run_options(parser, quiet_wait_before="before each system", quick="10 turns, 3 s, 1 s warm-up")
    args = parse(parser, argv)
    if args.quick:
        args.turns, args.duration, args.warmup = 10, 3.0, 1.0
    if args.shoppers < 1 or args.turns < 1 or args.duration <= 0 or args.per_conversation < 1:
        parser.error("--shoppers, --turns, --per-conversation and --duration must be positive")
    return args


# Other processes may use this much of a core while we measure (see --quiet-wait).
QUIET_CORES = 0.25


class CpuMeter:
    """CPU seconds used by each process (and by this benchmark client) between two points."""

    def __init__(self, stack: Stack, names: tuple[str, ...]) -> None:
        self.pids = {name: stack.processes[name].pid for name in names}
        self.everything = {name: process.pid for name, process in stack.processes.items()}

    def others_cores(self, seconds: float) -> float:
        """Cores used, on average over `seconds`, by processes that are not ours."""
        def ours() -> float:
            return sum(procfs.cpu_seconds(pid) for pid in self.everything.values()) + time.process_time()

        machine, mine = procfs.machine_busy_seconds(), ours()
        time.sleep(seconds)
        return max(procfs.machine_busy_seconds() - machine - (ours() - mine), 0.0) / seconds

    def wait_until_quiet(self, max_wait: float) -> float:
        """Wait (up to `max_wait` s) until other processes leave the CPU to us; their last load in cores."""
        deadline = time.monotonic() + max_wait
        while True:
            load = self.others_cores(2.0)
            if load < QUIET_CORES or time.monotonic() >= deadline:
                return load
            progress(f"  waiting: other processes use {load:.2f} cores")

    async def still_busy(self, max_wait: float) -> float | None:
        """The cores other processes still use after waiting up to `max_wait` s for them to leave
        the CPU to us; None if they did (or `max_wait` is 0)."""
        if max_wait <= 0:
            return None
        others = await asyncio.to_thread(self.wait_until_quiet, max_wait)
        return others if others >= QUIET_CORES else None

    def snapshot(self) -> dict[str, float]:
        used = {name: procfs.cpu_seconds(pid) for name, pid in self.pids.items()}
        used["client"] = time.process_time()
        used["machine"] = procfs.machine_busy_seconds()
        return used

    @staticmethod
    def delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        used = {name: after[name] - before[name] for name in before}
        # CPU that neither the system under test nor the client used: anything else running
        # (the other system idles; its few ticks count here too).
        ours = sum(seconds for name, seconds in used.items() if name != "machine")
        used["other"] = max(used.pop("machine") - ours, 0.0)
        return used


async def measure_system(
    name: str, system: load.System, meter: CpuMeter, args: argparse.Namespace
) -> list[report.Figures]:
    if (others := await meter.still_busy(args.quiet_wait)) is not None:
        progress(f"  warning: other processes still use {others:.2f} cores; {name}'s figures will suffer")
    progress(f"{name}: warm-up")
    await load.learn(system)
    if args.warmup > 0:
        await load.concurrent(system, args.shoppers, args.warmup, args.per_conversation, args.seed + 1000)

    async def scenario(label: str, shoppers: int, run: Callable[[], Awaitable[load.Run]]) -> report.Figures:
        progress(f"{name}: {label}")
        before, started = meter.snapshot(), time.perf_counter()
        result = await run()
        elapsed = time.perf_counter() - started
        return report.figures(name, label, shoppers, result, CpuMeter.delta(before, meter.snapshot()), elapsed)

    return [
        await scenario("1 shopper", 1, lambda: load.single(system, args.turns, args.per_conversation, args.seed)),
        await scenario(f"{args.shoppers} shoppers", args.shoppers,
                       lambda: load.concurrent(system, args.shoppers, args.duration, args.per_conversation, args.seed)),
    ]


async def measure(stack: Stack, gateway_url: str, rasa_url: str, anchor_url: str, rasa_token: str,
                  args: argparse.Namespace) -> list[report.Figures]:
    systems: list[tuple[str, Callable[[], load.System]]] = [
        ("storechat", lambda: load.SocketSystem("storechat", gateway_url)),
        ("storechat-rasa", lambda: load.storechat_rasa_system(rasa_url, rasa_token)),
        ("anchor", lambda: load.anchor_system(anchor_url)),
    ]
    results: list[report.Figures] = []
    for name, make in systems:
        if name == "storechat-rasa" and args.no_breakdown:
            continue
        system = make()
        try:
            results += await measure_system(name, system, CpuMeter(stack, PROCESSES[name]), args)
        finally:
            await system.aclose()
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_on_sigterm()
    progress(
        f"Starting storechat ({Settings.from_env().rasa_workers} Rasa workers, RASA_WORKERS) "
        f"and the anchor (1 Rasa process, as shipped; logs in {LOG_DIR})…"
    )
    try:
        with both_systems() as (stack, urls):
            results = asyncio.run(measure(stack, urls.gateway, urls.rasa, urls.anchor, urls.rasa_token, args))
            peak_rss = {name: procfs.peak_rss_mib(process.pid) for name, process in stack.processes.items()}
            progress("Stopping…")
    except (KeyboardInterrupt, asyncio.CancelledError):
        # Ctrl-C may surface as the cancellation of the measuring task.
        progress("Interrupted; every process was stopped.")
        return 130
    goals = report.goals(results, args.shoppers)
    # With --json the figures go to stdout as JSON and the human summary to stderr.
    out = sys.stderr if args.json else sys.stdout
    print(file=out)
    print(report.table(results), file=out)
    print(file=out)
    print("Peak RSS (VmHWM): " + ", ".join(f"{name} {mib:.0f} MiB" for name, mib in peak_rss.items()), file=out)
    print(file=out)
    for line in goals.lines(args.shoppers):
        print(line, file=out)
    for warning in report.warnings(results):
        print("warning: " + warning, file=out)
    if args.json:
        print(json.dumps({
            "config": {key: value for key, value in vars(args).items() if key != "json"},
            "cpus": os.cpu_count(),
            "results": [f.as_dict() for f in results],
            "goals": goals.as_dict(),
            "warnings": report.warnings(results),
            "peak_rss_mib": peak_rss,
        }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
