"""Signed Twilio webhooks per second one gateway process accepts, against a bare aiohttp handler.

    .venv/bin/python benchmarks/webhook_ingest.py            # the full run (about a minute)
    .venv/bin/python benchmarks/webhook_ingest.py --quick    # a smoke run (2 s per system)
    .venv/bin/python benchmarks/webhook_ingest.py --json     # machine-readable figures on stdout

One `storechat serve` process with the SMS channel on, an embedded append-only Redis and a
Twilio API stand-in; no Rasa (RASA_URL points at a closed port). A load generator in its own
process posts pre-signed, distinct inbound-SMS webhooks to POST /webhooks/sms, then the very
same requests to a bare aiohttp handler. Afterwards Redis is asked whether every acknowledged
message was stored. What is measured and how to read it: benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

# Run as a script (`python benchmarks/webhook_ingest.py`): make the repository importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402
from redis.asyncio import Redis  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402

from benchmarks.bot_turns import QUIET_CORES, CpuMeter  # noqa: E402
from benchmarks.cli import add_run_options, parse, progress, stop_on_sigterm  # noqa: E402
from benchmarks.handoff_latency import redis_calls  # noqa: E402
from benchmarks.stack import LOG_DIR  # noqa: E402
from benchmarks.webhook_load import (  # noqa: E402
    REQUEST_TIMEOUT,
    Figures,
    Hook,
    LoadResult,
    Plan,
    Webhook,
    drive,
    figures,
    message_sid,
    nothing,
    webhook,
)
from benchmarks.webhook_system import (  # noqa: E402
    INBOX,
    InboxState,
    System,
    backlog,
    inbox_state,
    system,
    wait_drained,
)
from gateway import keys  # noqa: E402
from gateway.messaging.inbox import STREAM_MAX_ENTRIES  # noqa: E402

DRAIN_TIMEOUT = 300.0
RESEND_SAMPLE = 100
# A load generator busier than this is near the limit of what one client process can send.
CLIENT_BOUND_CORES = 0.8
# Distinct MessageSids per load run (the tag is part of the sid); both timed runs send the same requests.
WARMUP_BARE, WARMUP_STORECHAT, TIMED = 1, 2, 3


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--concurrency", type=int, default=32, help="concurrent keep-alive connections (32)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of the timed run per system (10)")
    parser.add_argument("--requests", type=int, default=None,
                        help="a timed run of exactly this many requests per system instead of --duration")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up per system, not counted (3)")
    parser.add_argument("--senders", type=int, default=300, help="distinct shopper phone numbers (300)")
    add_run_options(parser, quiet_wait_before="before each timed run", quick="2 s, 1 s warm-up")
    args = parse(parser, argv)
    if args.quick:
        args.duration, args.warmup = 2.0, 1.0
    if args.concurrency < 1 or args.duration <= 0 or args.senders < 1 or args.warmup < 0 \
            or (args.requests is not None and args.requests < 1):
        parser.error("--concurrency, --duration, --senders and --requests must be positive, --warmup not negative")
    return args


# --- measuring ----------------------------------------------------------------------------

@dataclass
class Processing:
    """The gateway's inbox worker, running in the same process while the load runs."""

    warmup_drain_s: float | None = None
    during_load: int = 0  # entries processed inside the window
    backlog_at_end: int = 0
    drain_s: float | None = None
    dead: int = 0  # entries whose processing failed (storechat:inbox:dead)
    # Messages sent to the Twilio stand-in: a new conversation's bot-unavailable notice and
    # its place in the queue (or the opening hours).
    notices_sent: int = 0
    # The gateway's CPU per entry: processing alone (while the backlog drained, nothing
    # arriving), and what is left of the timed window's CPU per accepted webhook after
    # taking out the entries processed meanwhile — an estimate of accepting alone.
    process_cpu_us: float = math.nan
    accept_cpu_us: float = math.nan
    # Redis commands per webhook accepted in the window, accepting and processing it (INFO commandstats
    # from the window's start until the backlog was processed; all clients).
    redis_commands: float = math.nan
    redis_top_commands: dict[str, float] = field(default_factory=dict)

    @property
    def accept_ceiling_per_s(self) -> float:
        """Webhooks/s one gateway process could accept if it processed nothing (estimate)."""
        return 1e6 / self.accept_cpu_us if self.accept_cpu_us > 0 else math.nan


@dataclass
class Integrity:
    accepted: int = 0  # webhooks answered 200, warm-up and priming included
    seen_missing: int = 0  # of those, without their dedupe key
    stream_entries: int = 0
    lost: int = 0
    resent: int = 0
    resent_statuses: dict[int, int] = field(default_factory=dict)
    added_by_resend: int = 0
    forged_status: int = 0  # a wrong signature's answer (403 expected)

    @property
    def ok(self) -> bool:
        return (not self.lost and self.stream_entries == self.accepted and self.added_by_resend == 0
                and self.resent_statuses == {200: self.resent} and self.forged_status == 403)


@dataclass
class Outcome:
    results: list[Figures]
    processing: Processing
    integrity: Integrity
    warnings: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures and self.integrity.ok


def _pool_size(args: argparse.Namespace, warm: LoadResult) -> int:
    """Requests to sign for a timed run: 1.5 × what the warm-up's rate needs (at least 2,000)."""
    if args.requests is not None:
        return int(args.requests + args.concurrency)
    rate = len(warm.latencies_ms) / warm.window_s if warm.window_s else 0.0
    return max(int(rate * args.duration * 1.5), 2000) + int(args.concurrency)


def _plan(sut: System, args: argparse.Namespace, url: str, tag: int, count: int, *, timed: bool) -> Plan:
    duration = (None if args.requests is not None else args.duration) if timed else args.warmup
    return Plan(url=url, signed_url=sut.signed_url, auth_token=sut.auth_token, tag=tag, count=count,
                concurrency=args.concurrency, senders=args.senders, duration=duration)


async def _warm_up(sut: System, args: argparse.Namespace, url: str, tag: int, outcome: Outcome,
                   name: str) -> LoadResult:
    # Enough requests for 12 k/s, and every sender at least once.
    count = max(int(args.warmup * 12_000), args.senders + args.concurrency)
    result = await drive(_plan(sut, args, url, tag, count, timed=False))
    if set(result.statuses) - {200}:
        outcome.failures.append(f"{name} warm-up: answers other than 200: {result.statuses}")
    return result


async def _quiet(meter: CpuMeter, args: argparse.Namespace, outcome: Outcome, name: str) -> None:
    if (others := await meter.still_busy(args.quiet_wait)) is not None:
        outcome.warnings.append(f"other processes still used {others:.2f} cores before {name}'s timed run")


@dataclass(frozen=True, slots=True)
class Timed:
    result: LoadResult
    ended: float  # perf_counter() at the window's end
    cpu_start: dict[str, float]  # CpuMeter snapshots at the window's edges
    cpu_end: dict[str, float]


async def _timed(name: str, server: str, meter: CpuMeter, plan: Plan, outcome: Outcome,
                 on_start: Hook = nothing, on_end: Hook = nothing) -> Timed:
    edges: dict[str, dict[str, float]] = {}
    ended = [math.nan]

    async def start() -> None:
        edges["start"] = meter.snapshot()
        await on_start()

    async def end() -> None:
        edges["end"], ended[0] = meter.snapshot(), time.perf_counter()
        await on_end()

    result = await drive(plan, start, end)
    cpu = CpuMeter.delta(edges["start"], edges["end"])
    outcome.results.append(figures(name, server, result, cpu))
    if outcome.results[-1].cores["other"] >= QUIET_CORES:
        outcome.warnings.append(f"{name}: other processes used {outcome.results[-1].cores['other']:.2f} cores "
                                "during the timed run; the figures are lower than on a quiet machine")
    if result.client_cpu_s / result.window_s > CLIENT_BOUND_CORES:
        outcome.warnings.append(
            f"{name}: the load generator used {result.client_cpu_s / result.window_s:.2f} cores — this figure is "
            f"as much the client's limit as the server's (server CPU per request is the fairer comparison)")
    if set(result.statuses) - {200}:
        outcome.failures.append(f"{name}: answers other than 200: {result.statuses}")
    if result.ran_out:
        outcome.warnings.append(f"{name}: all {plan.count} signed requests were sent before the window ended "
                                f"(measured over {result.window_s:.1f} s); use --requests")
    return Timed(result, ended[0], edges["start"], edges["end"])


async def measure(sut: System, args: argparse.Namespace) -> Outcome:
    meter = CpuMeter(sut.stack, ("gateway", "redis", "twilio", "bare"))
    outcome = Outcome([], Processing(), Integrity())
    bare_url = f"{sut.bare}/webhooks/sms"
    progress(f"bare aiohttp: {args.warmup:g} s warm-up")
    warm = await _warm_up(sut, args, bare_url, WARMUP_BARE, outcome, "bare aiohttp")
    await _quiet(meter, args, outcome, "bare aiohttp")
    plan = _plan(sut, args, bare_url, TIMED, _pool_size(args, warm), timed=True)
    progress(f"bare aiohttp: timed run ({plan.count} requests signed beforehand)")
    await _timed("bare aiohttp", "bare", meter, plan, outcome)

    redis = Redis.from_url(sut.redis_url, decode_responses=True)
    try:
        processing = outcome.processing
        progress(f"storechat: {args.warmup:g} s warm-up (opens the {args.senders} senders' conversations)")
        warm = await _warm_up(sut, args, sut.signed_url, WARMUP_STORECHAT, outcome, "storechat")
        processing.warmup_drain_s = await wait_drained(redis, DRAIN_TIMEOUT)
        await _quiet(meter, args, outcome, "storechat")
        # The same requests as the bare handler got (as many as storechat's own warm-up rate needs).
        plan = _plan(sut, args, sut.signed_url, TIMED, _pool_size(args, warm), timed=True)
        if len(warm.accepted) + plan.count > STREAM_MAX_ENTRIES:
            outcome.warnings.append(f"more than {STREAM_MAX_ENTRIES} requests: the inbox stream is trimmed, "
                                    "so its entry count cannot confirm them")
        progress(f"storechat: timed run ({plan.count} requests signed beforehand)")
        edges: dict[str, tuple[InboxState, int]] = {}

        calls_before: Counter[str] = Counter()

        async def mark(edge: str) -> None:
            state = await inbox_state(redis)
            edges[edge] = (state, await backlog(redis, state))
            if edge == "start":
                calls_before.update(await redis_calls(redis))

        timed = await _timed("storechat", "gateway", meter, plan, outcome,
                                    lambda: mark("start"), lambda: mark("end"))
        (start, backlog_start), (end, backlog_end) = edges["start"], edges["end"]
        processing.backlog_at_end = backlog_end
        processing.during_load = (end.length - start.length) - (backlog_end - backlog_start)
        progress(f"storechat: waiting for the inbox worker to process the backlog ({backlog_end} entries)")
        if await wait_drained(redis, DRAIN_TIMEOUT) is not None:
            processing.drain_s = time.perf_counter() - timed.ended
            drain_cpu = CpuMeter.delta(timed.cpu_end, meter.snapshot())["gateway"]
            if backlog_end:
                processing.process_cpu_us = drain_cpu * 1e6 / backlog_end
                window_cpu = CpuMeter.delta(timed.cpu_start, timed.cpu_end)["gateway"]
                added = end.length - start.length
                processing.accept_cpu_us = (window_cpu * 1e6 - processing.during_load * processing.process_cpu_us
                                            ) / max(added, 1)
                calls = await redis_calls(redis)
                calls.subtract(calls_before)
                processing.redis_commands = sum(calls.values()) / max(added, 1)
                processing.redis_top_commands = {name: round(n / max(added, 1), 2)
                                                 for name, n in calls.most_common(8)}
        else:
            outcome.warnings.append(f"the inbox backlog was not processed within {DRAIN_TIMEOUT:.0f} s")
        processing.dead = int(await redis.xlen(keys.INBOX_DEAD))
        if processing.dead:
            outcome.warnings.append(f"{processing.dead} inbox entries failed to process (see gateway.log)")
        async with aiohttp.ClientSession() as session, session.get(f"{sut.twilio}/count") as response:
            processing.notices_sent = int((await response.json()).get("messages", 0))
        progress("storechat: checking that no acknowledged webhook was lost, then redeliveries")
        await check(redis, sut, args, {WARMUP_STORECHAT: warm.accepted, TIMED: timed.result.accepted}, outcome.integrity)
    finally:
        await redis.aclose()
    return outcome


async def check(redis: Redis, sut: System, args: argparse.Namespace, accepted: dict[int, list[int]],
                integrity: Integrity) -> None:
    """Every webhook answered 200 has its dedupe key and its one stream entry; a redelivery
    is acknowledged and not stored again; a forged one is refused."""
    sids = [message_sid(tag, index) for tag, indexes in accepted.items() for index in indexes]
    integrity.accepted = len(sids)
    for offset in range(0, len(sids), 5000):
        async with redis.pipeline(transaction=False) as pipe:
            for sid in sids[offset:offset + 5000]:
                pipe.exists(keys.webhook_seen("sms", sid))
            integrity.seen_missing += sum(not found for found in await pipe.execute())
    integrity.stream_entries = int(await redis.xlen(INBOX))
    integrity.lost = max(integrity.seen_missing, integrity.accepted - integrity.stream_entries)

    validator = RequestValidator(sut.auth_token)
    sample = random.Random(1).sample(accepted[TIMED], min(RESEND_SAMPLE, len(accepted[TIMED])))
    again = [webhook(validator, sut.signed_url, TIMED, index, args.senders) for index in sample]
    forged = webhook(RequestValidator("not-the-token"), sut.signed_url, 0xff, 0, args.senders)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=10),
                                     timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)) as session:

        async def post(request: Webhook) -> int:
            async with session.post(sut.signed_url, data=request.body, headers=request.headers) as response:
                await response.read()
                return response.status

        before = int(await redis.xlen(INBOX))
        integrity.resent = len(again)
        integrity.resent_statuses = dict(Counter(await asyncio.gather(*(post(request) for request in again))))
        integrity.forged_status = await post(forged)
        integrity.added_by_resend = int(await redis.xlen(INBOX)) - before


# --- the report -----------------------------------------------------------------------------

ANCHOR_TEXT = "aiohttp serves roughly 7–10 k simple JSON requests/s per process in public benchmarks"


def table(results: list[Figures]) -> str:
    head = (f"{'system':<13} {'requests':>8} {'req/s':>8} {'median':>8} {'p90':>8} {'p99':>8} {'max':>8} "
            f"{'non-200':>7} {'server CPU/req':>14}   cores used: server, redis, twilio stand-in, load, other")
    rows = [head, "-" * len(head)]
    for f in results:
        server = "bare" if f.system == "bare aiohttp" else "gateway"
        cores = ", ".join(f"{f.cores.get(name, 0.0):.2f}" for name in (server, "redis", "twilio", "load", "other"))
        bad = sum(n for code, n in f.statuses.items() if code != 200)
        rows.append(f"{f.system:<13} {f.requests:>8} {f.per_s:>8.0f} {f.median_ms:>6.2f}ms {f.p90_ms:>6.2f}ms "
                    f"{f.p99_ms:>6.2f}ms {f.max_ms:>6.1f}ms {bad:>7} {f.server_cpu_us:>12.0f}µs   {cores}")
    return "\n".join(rows)


def ratio(results: list[Figures]) -> float:
    bare, storechat = results
    return storechat.per_s / bare.per_s if bare.per_s else math.nan


def report(outcome: Outcome, args: argparse.Namespace) -> list[str]:
    p, i = outcome.processing, outcome.integrity
    timed = f"{args.requests} requests" if args.requests is not None else f"{args.duration:g} s"
    bare, storechat = outcome.results
    lines = [
        f"Signed Twilio inbound SMS webhooks, POST /webhooks/sms: {args.concurrency} connections, {timed} timed "
        f"per system after {args.warmup:g} s warm-up, {args.senders} senders; {os.cpu_count()} cores",
        "storechat: one `storechat serve` (SMS channel on; its inbox worker processes in the same process; "
        "access log on, as shipped; no Rasa: RASA_URL is a closed port), embedded Redis (append-only, fsync every "
        "second), a Twilio API stand-in. bare aiohttp: json_response on POST after reading the body, no access "
        "log. Both get the same requests from one aiohttp client process (`load`).",
        "",
        table(outcome.results),
        "",
        f"storechat / bare aiohttp: {ratio(outcome.results):.2f}× the requests/s "
        f"({storechat.per_s:.0f} vs {bare.per_s:.0f}), p99 {storechat.p99_ms:.1f} vs {bare.p99_ms:.1f} ms; "
        f"server CPU per request {storechat.server_cpu_us / bare.server_cpu_us:.1f}× as much",
        f"  anchor: {ANCHOR_TEXT}",
        "",
        f"processing (the inbox worker, same process as the intake; {args.senders} conversations opened in the "
        "warm-up — bot unavailable, queued for a person — and every timed message added to one of them):",
        f"  during the timed run {p.during_load} entries processed ({p.during_load / storechat.window_s:.0f}/s) "
        f"while {storechat.requests} were accepted; backlog when the load stopped: {p.backlog_at_end}",
        "  " + (f"backlog processed {p.drain_s:.1f} s after the load stopped "
                f"({p.backlog_at_end / p.drain_s:.0f} entries/s with nothing arriving)" if p.drain_s
                else "backlog not processed in time") + (
            f"; the warm-up's backlog took {p.warmup_drain_s:.1f} s" if p.warmup_drain_s is not None else ""),
        f"  gateway CPU per webhook: ≈ {p.accept_cpu_us:.0f} µs to accept it, ≈ {p.process_cpu_us:.0f} µs to "
        f"process it (from the drain) — accepting alone would allow ≈ {p.accept_ceiling_per_s:.0f}/s per core "
        "(an estimate)",
        f"  Redis commands per webhook, accepting and processing it: {p.redis_commands:.1f} ("
        + ", ".join(f"{name} {n:.1f}" for name, n in p.redis_top_commands.items()) + ", …)",
        f"  messages sent to the Twilio stand-in: {p.notices_sent} ({p.notices_sent / args.senders:.1f} per new "
        f"conversation: bot unavailable, then the queue notice); failed entries ({keys.INBOX_DEAD}): {p.dead}",
        "",
        f"none lost: {i.accepted} webhooks answered 200 (warm-up and connection priming included); dedupe keys "
        f"present {i.accepted - i.seen_missing}/{i.accepted}; entries in {INBOX} {i.stream_entries} — "
        f"lost: {i.lost}",
        f"redeliveries: {i.resent} already-accepted webhooks resent → "
        + ", ".join(f"{n} × {code}" for code, n in sorted(i.resent_statuses.items()))
        + f", stream entries added: {i.added_by_resend}; a wrong signature → {i.forged_status}",
    ]
    if i.stream_entries != i.accepted:
        lines.append(f"FAILURE: {i.stream_entries} stream entries for {i.accepted} accepted webhooks")
    lines += [f"FAILURE: {failure}" for failure in outcome.failures]
    lines += [f"warning: {warning}" for warning in outcome.warnings]
    return lines


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_on_sigterm()
    progress(f"Starting Redis, a Twilio stand-in, a bare aiohttp app and one gateway (logs in {LOG_DIR})…")
    try:
        with system() as sut:
            outcome = asyncio.run(measure(sut, args))
            progress("Stopping…")
    except (KeyboardInterrupt, asyncio.CancelledError):
        progress("Interrupted; every process was stopped.")
        return 130
    out = sys.stderr if args.json else sys.stdout
    print(file=out)
    print("\n".join(report(outcome, args)), file=out)
    if args.json:
        print(json.dumps({
            "config": {key: value for key, value in vars(args).items() if key != "json"},
            "cpus": os.cpu_count(), "results": [asdict(f) for f in outcome.results],
            "ratio": ratio(outcome.results), "processing": asdict(outcome.processing),
            "integrity": asdict(outcome.integrity), "ok": outcome.ok,
            "failures": outcome.failures, "warnings": outcome.warnings,
        }, indent=2))
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    sys.exit(main())
