"""Time from a shopper's handoff message to the conversation appearing in every agent console.

    .venv/bin/python benchmarks/handoff_latency.py            # the full run (about 2 minutes)
    .venv/bin/python benchmarks/handoff_latency.py --quick    # a smoke run
    .venv/bin/python benchmarks/handoff_latency.py --json     # machine-readable figures on stdout

Two `storechat serve` processes share one Redis; 50 agents (over the four teams) are logged in
with their `/agent` sockets spread over both. What is measured and how to read it:
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

# Run as a script (`python benchmarks/handoff_latency.py`): make the repository importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from redis.asyncio import Redis  # noqa: E402

from benchmarks import consoles, handoffs  # noqa: E402
from benchmarks.bot_turns import QUIET_CORES, CpuMeter  # noqa: E402
from benchmarks.cli import add_run_options, parse, progress, stop_on_sigterm  # noqa: E402
from benchmarks.report import percentile  # noqa: E402
from benchmarks.stack import LOG_DIR, Storechat, storechat_gateways  # noqa: E402
from gateway.conversations.store import ConversationStore  # noqa: E402
from gateway.settings import Settings  # noqa: E402

GOAL_P99_MS = 100.0
GATEWAYS = 2


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--handoffs", type=int, default=200, help="handoffs in each scenario (200)")
    parser.add_argument("--agents", type=int, default=50, help="agent consoles connected, spread over the gateways (50)")
    parser.add_argument("--concurrency", type=int, default=5,
                        help="shoppers handing off at the same moment in the burst scenario (5); "
                             "the other scenario runs them one by one")
    parser.add_argument("--warmup", type=int, default=40, help="handoffs before measuring, not counted (40)")
    parser.add_argument("--seed", type=int, default=1, help="which handoff lines the shoppers say")
    add_run_options(parser, quiet_wait_before="before measuring", quick="20 handoffs, 8 warm-up")
    args = parse(parser, argv)
    if args.quick:
        args.handoffs, args.warmup = 20, len(handoffs.LINES)
    if args.handoffs < 1 or args.agents < 1 or args.concurrency < 1 or args.warmup < 0:
        parser.error("--handoffs, --agents and --concurrency must be positive, --warmup not negative")
    return args


@dataclass(frozen=True, slots=True)
class Figures:
    scenario: str
    handoffs: int
    # Over every (handoff, console) pair: the conversation appearing in that console.
    console_median_ms: float
    console_p99_ms: float
    console_max_ms: float
    # Over handoffs: the first console to show it.
    first_median_ms: float
    first_p99_ms: float
    # The shopper's own first reply (the bot's turn, as the shopper sees it).
    reply_median_ms: float
    reply_p99_ms: float
    # To the state change (queued) written in Redis: the bot's turn plus the gateway's handling.
    queued_median_ms: float
    queued_p99_ms: float
    # Per pair, from that state change to the console: the fan-out alone.
    fan_out_median_ms: float
    fan_out_p99_ms: float
    fan_out_max_ms: float
    # Per pair, console minus the shopper's own reply (negative: the console was first).
    console_minus_reply_median_ms: float
    # Consoles on the shopper's gateway, and on the other one (through the Redis manager).
    same_gateway_p99_ms: float
    other_gateway_p99_ms: float
    lost: int  # (handoff, console of its team) pairs never shown within handoffs.DELIVERY_TIMEOUT
    leaked: int  # (handoff, console of another team) pairs shown (none may be)
    no_reply: int  # handoffs whose shopper got no reply in that time
    wrong_team: int  # handoffs shown for another team than the line's
    window_s: float
    other_cores: float
    cpu_ms_per_handoff: dict[str, float]
    cores: dict[str, float]  # each process's average use during the scenario
    # Redis commands per handoff (all clients; the benchmark's own lookups are about 5 of them).
    redis_calls_per_handoff: float
    redis_top_calls: dict[str, float]

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def figures(scenario: str, run: handoffs.Run, gateway_of: Sequence[str], cpu_s: dict[str, float],
            elapsed_s: float, redis_calls: Counter[str]) -> Figures:
    done = run.handoffs
    pairs = [s * 1000 for h in done for s in h.consoles_s.values()]
    same = [s * 1000 for h in done for c, s in h.consoles_s.items() if gateway_of[c] == h.gateway]
    other = [s * 1000 for h in done for c, s in h.consoles_s.items() if gateway_of[c] != h.gateway]
    firsts = [h.first_s * 1000 for h in done if h.first_s is not None]
    replies = [h.reply_s * 1000 for h in done if h.reply_s is not None]
    queued = [h.queued_s * 1000 for h in done if h.queued_s is not None]
    fan_out = [s * 1000 for h in done for s in h.fan_out_s]
    beyond = [(s - h.reply_s) * 1000 for h in done if h.reply_s is not None for s in h.consoles_s.values()]
    count = max(len(done), 1)
    return Figures(
        scenario=scenario, handoffs=len(done),
        console_median_ms=percentile(pairs, 0.5), console_p99_ms=percentile(pairs, 0.99),
        console_max_ms=max(pairs, default=float("nan")),
        first_median_ms=percentile(firsts, 0.5), first_p99_ms=percentile(firsts, 0.99),
        reply_median_ms=percentile(replies, 0.5), reply_p99_ms=percentile(replies, 0.99),
        queued_median_ms=percentile(queued, 0.5), queued_p99_ms=percentile(queued, 0.99),
        fan_out_median_ms=percentile(fan_out, 0.5), fan_out_p99_ms=percentile(fan_out, 0.99),
        fan_out_max_ms=max(fan_out, default=float("nan")),
        console_minus_reply_median_ms=percentile(beyond, 0.5),
        same_gateway_p99_ms=percentile(same, 0.99), other_gateway_p99_ms=percentile(other, 0.99),
        lost=sum(h.missing for h in done), leaked=sum(h.leaked for h in done), no_reply=sum(h.reply_s is None for h in done),
        wrong_team=sum(h.team is not None and h.team != h.line.team.value for h in done),
        window_s=run.window_s, other_cores=cpu_s.get("other", 0.0) / elapsed_s,
        cpu_ms_per_handoff={name: s * 1000 / count for name, s in cpu_s.items() if name != "other"},
        cores={name: s / elapsed_s for name, s in cpu_s.items() if name != "other"},
        redis_calls_per_handoff=sum(redis_calls.values()) / count,
        redis_top_calls={name: calls / count for name, calls in redis_calls.most_common(8)},
    )


def table(results: Sequence[Figures]) -> str:
    """Every latency runs from the shopper's handoff message, except fan-out (state change → console)."""
    head = (f"{'scenario':<12} {'handoffs':>8} │ {'every console: median':>21} {'p99':>7} {'max':>7} │ "
            f"{'first: med':>10} {'p99':>7} │ {'reply: med':>10} {'p99':>7} │ {'queued: med':>11} {'p99':>7} │ "
            f"{'fan-out: med':>12} {'p99':>7} {'max':>7} │ {'lost':>4} {'other':>5}")
    rows = [head, "─" * len(head)]
    for f in results:
        rows.append(
            f"{f.scenario:<12} {f.handoffs:>8} │ {f.console_median_ms:>19.1f}ms {f.console_p99_ms:>5.1f}ms "
            f"{f.console_max_ms:>5.1f}ms │ {f.first_median_ms:>8.1f}ms {f.first_p99_ms:>5.1f}ms │ "
            f"{f.reply_median_ms:>8.1f}ms {f.reply_p99_ms:>5.1f}ms │ {f.queued_median_ms:>9.1f}ms "
            f"{f.queued_p99_ms:>5.1f}ms │ {f.fan_out_median_ms:>10.1f}ms {f.fan_out_p99_ms:>5.1f}ms "
            f"{f.fan_out_max_ms:>5.1f}ms │ {f.lost:>4} {f.other_cores:>5.2f}"
        )
    rows.append("")
    for f in results:
        cpu = ", ".join(f"{name} {ms:.1f} ({f.cores[name]:.2f} cores)"
                        for name, ms in f.cpu_ms_per_handoff.items() if ms >= 0.05)
        rows.append(f"{f.scenario}: CPU ms per handoff: {cpu}")
        top = ", ".join(f"{name} {calls:.1f}" for name, calls in f.redis_top_calls.items())
        rows.append(f"{'':<{len(f.scenario)}}  Redis commands per handoff: {f.redis_calls_per_handoff:.0f} ({top}, …)")
        rows.append(f"{'':<{len(f.scenario)}}  every console, p99: on the shopper's gateway "
                    f"{f.same_gateway_p99_ms:.1f} ms, on the other {f.other_gateway_p99_ms:.1f} ms; "
                    f"console − the shopper's own reply: median {f.console_minus_reply_median_ms:+.1f} ms")
    return "\n".join(rows)


def goal_line(results: Sequence[Figures]) -> tuple[str, bool]:
    """The issue's goal: p99 of handoff → every console under 100 ms, and nothing lost."""
    met = all(f.console_p99_ms < GOAL_P99_MS for f in results) and not any(f.lost for f in results)
    figures = ", ".join(
        f"{f.scenario} {f.console_p99_ms:.1f} ms [{'met' if f.console_p99_ms < GOAL_P99_MS and not f.lost else 'NOT met'}]"
        for f in results)
    return f"handoff → every console, p99 — goal < {GOAL_P99_MS:.0f} ms, nothing lost: {figures}", met


@dataclass(frozen=True, slots=True)
class Setup:
    """What the run was, besides its figures."""

    consoles_per_gateway: dict[str, int]
    agents_per_team: dict[str, int]
    warm_up_handoffs: int
    warm_up_lost: int
    # Lines whose conversation no console showed in the warm-up (the bot did not hand them over).
    lines_not_handed_off: list[str]
    # `conversation` events that carried no conversation id (should be 0).
    malformed_events: int
    # What one console received per handoff on average, by event name (warm-up included).
    events_per_console_per_handoff: dict[str, float]

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def warnings(results: Sequence[Figures], agents: int) -> list[str]:
    found = []
    for f in results:
        if f.lost:
            found.append(f"{f.scenario}: FAILURE — {f.lost} (handoff, console of its team) deliveries "
                         f"never arrived within {handoffs.DELIVERY_TIMEOUT:.0f} s")
        if f.leaked:
            found.append(f"{f.scenario}: FAILURE — {f.leaked} (handoff, console of another team) deliveries: "
                         "a console was shown a conversation out of its agent's reach")
        if f.no_reply:
            found.append(f"{f.scenario}: {f.no_reply} shoppers got no reply within {handoffs.DELIVERY_TIMEOUT:.0f} s")
        if f.wrong_team:
            found.append(f"{f.scenario}: {f.wrong_team} handoffs were shown for another team than expected")
        if f.other_cores >= QUIET_CORES:
            found.append(f"{f.scenario}: other processes used {f.other_cores:.2f} cores meanwhile; "
                         "the figures are worse than on a quiet machine")
    return found


async def redis_calls(redis: Redis) -> Counter[str]:
    """Commands the Redis server has run so far, by name (INFO commandstats)."""
    stats = await redis.info("commandstats")
    return Counter({name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()
                    if name.startswith("cmdstat_") and name != "cmdstat_info"})


async def measure(system: Storechat, args: argparse.Namespace) -> tuple[list[Figures], Setup]:
    redis = Redis.from_url(system.redis_url, decode_responses=True)
    try:
        progress(f"Creating {args.agents} agents, logging them in and connecting their consoles…")
        logins = await consoles.create_agents(redis, args.agents)
        arrivals = consoles.Arrivals([login.team.value for login in logins])
        connected = await consoles.connect_consoles(logins, system.gateways, arrivals)
        try:
            return await _scenarios(system, args, ConversationStore(redis), arrivals, connected)
        finally:
            await asyncio.gather(*(console.close() for console in connected), return_exceptions=True)
    finally:
        await redis.aclose()


async def _scenarios(system: Storechat, args: argparse.Namespace, store: ConversationStore,
                     arrivals: consoles.Arrivals, connected: list[consoles.Console]) -> tuple[list[Figures], Setup]:
    gateway_of = [console.gateway for console in connected]
    names = tuple(system.gateways) + ("rasa", "actions", "redis")
    meter = CpuMeter(system.stack, names)
    progress("Warm-up: every handoff line once, then the rest concurrently")
    warm = await handoffs.run(len(handoffs.LINES), 1, system.gateways, handoffs.LINES, store, arrivals, args.seed)
    if args.warmup > len(handoffs.LINES):
        warm.handoffs += (await handoffs.run(args.warmup - len(handoffs.LINES), args.concurrency, system.gateways,
                                             handoffs.LINES, store, arrivals, args.seed + 1)).handoffs
    not_handed_off = sorted({h.line.text for h in warm.handoffs if h.first_s is None})
    if not_handed_off:
        progress(f"  warning: no console showed these lines' conversations: {not_handed_off}")
    if (others := await meter.still_busy(args.quiet_wait)) is not None:
        progress(f"  warning: other processes still use {others:.2f} cores; the figures will suffer")
    results = []
    for label, concurrency, seed in (("1 at a time", 1, args.seed + 2),
                                     (f"{args.concurrency} at a time", args.concurrency, args.seed + 3)):
        progress(f"{label}: {args.handoffs} handoffs")
        calls_before = await redis_calls(store.redis)
        before, started = meter.snapshot(), time.perf_counter()
        run = await handoffs.run(args.handoffs, concurrency, system.gateways, handoffs.LINES, store, arrivals, seed)
        elapsed = time.perf_counter() - started
        cpu = CpuMeter.delta(before, meter.snapshot())
        calls = await redis_calls(store.redis)
        calls.subtract(calls_before)
        results.append(figures(label, run, gateway_of, cpu, elapsed, calls))
    teams = [console.login.team.value for console in connected]
    received: Counter[str] = sum((console.received for console in connected), Counter())
    handed_off = len(warm.handoffs) + sum(f.handoffs for f in results)
    return results, Setup(
        consoles_per_gateway={name: gateway_of.count(name) for name in system.gateways},
        agents_per_team={team: teams.count(team) for team in sorted(set(teams))},
        warm_up_handoffs=len(warm.handoffs), warm_up_lost=sum(h.missing for h in warm.handoffs),
        lines_not_handed_off=not_handed_off,
        malformed_events=sum(console.malformed for console in connected),
        events_per_console_per_handoff={name: round(count / len(connected) / handed_off, 2)
                                        for name, count in sorted(received.items())},
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_on_sigterm()
    progress(f"Starting storechat with {GATEWAYS} gateways on one Redis "
             f"({Settings.from_env().rasa_workers} Rasa workers, RASA_WORKERS; logs in {LOG_DIR})…")
    try:
        with storechat_gateways(GATEWAYS) as system:
            results, setup = asyncio.run(measure(system, args))
            progress("Stopping…")
    except (KeyboardInterrupt, asyncio.CancelledError):
        progress("Interrupted; every process was stopped.")
        return 130
    goal, met = goal_line(results)
    out = sys.stderr if args.json else sys.stdout
    print(file=out)
    print(f"{args.agents} agent consoles on {GATEWAYS} gateways "
          f"({', '.join(f'{name} {count}' for name, count in setup.consoles_per_gateway.items())}; teams "
          f"{', '.join(f'{team} {count}' for team, count in setup.agents_per_team.items())}), "
          f"shoppers on both in turn; {os.cpu_count()} cores", file=out)
    print("events a console received per handoff: " + ", ".join(
        f"{name} {count:.2f}" for name, count in setup.events_per_console_per_handoff.items()), file=out)
    print(table(results), file=out)
    print(file=out)
    print(goal, file=out)
    for warning in warnings(results, args.agents):
        print("warning: " + warning, file=out)
    if args.json:
        print(json.dumps({
            "config": {key: value for key, value in vars(args).items() if key != "json"},
            "cpus": os.cpu_count(), "gateways": GATEWAYS, "setup": setup.as_dict(),
            "results": [f.as_dict() for f in results],
            "goal": {"p99_ms": GOAL_P99_MS, "met": met},
            "warnings": warnings(results, args.agents),
        }, indent=2))
    return 0 if not any(f.lost or f.leaked for f in results) else 1


if __name__ == "__main__":
    sys.exit(main())
