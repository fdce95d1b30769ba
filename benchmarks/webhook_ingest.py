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
import multiprocessing
import os
import random
import secrets
import shutil
import signal
import sys
import time
import traceback
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlencode

# Run as a script (`python benchmarks/webhook_ingest.py`): make the repository importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402
from redis.asyncio import Redis  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402

from benchmarks.bot_turns import QUIET_CORES, CpuMeter  # noqa: E402
from benchmarks.handoff_latency import redis_calls  # noqa: E402
from benchmarks.report import percentile  # noqa: E402
from benchmarks.stack import BENCH_DIR, LOG_DIR, Stack, free_port  # noqa: E402
from gateway import keys, services  # noqa: E402
from gateway.inbox import STREAM_MAX_ENTRIES  # noqa: E402
from gateway.settings import REPO_ROOT, Settings  # noqa: E402
from gateway.types import Channel  # noqa: E402

ACCOUNT_SID = "AC" + "5eedbe0c4a11c0ffee0ddba11facade5"  # made up: AC + 32 hex digits
SHOP_NUMBER = "+4930901820"
# What shoppers text a shop: no SMS keywords (STOP, HELP, …) and no bare numbers (option answers).
TEXTS = (
    "Wo ist meine Bestellung?", "Kann ich die Schuhe zurückschicken?", "Hi, my parcel hasn't arrived yet",
    "Do you ship to Austria?", "Die Jacke ist zu groß, kann ich sie umtauschen?", "Wie lange dauert die Erstattung?",
    "Is the blue one back in stock?", "Meine Zahlung wurde zweimal abgebucht 😕",
)
REQUEST_TIMEOUT = 30.0
DRAIN_TIMEOUT = 300.0
RESEND_SAMPLE = 100
# A load generator busier than this is near the limit of what one client process can send.
CLIENT_BOUND_CORES = 0.8
# Distinct MessageSids per load run (the tag is part of the sid); both timed runs send the same requests.
WARMUP_BARE, WARMUP_STORECHAT, TIMED = 1, 2, 3
INBOX = keys.inbox(Channel.SMS.value)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--concurrency", type=int, default=32, help="concurrent keep-alive connections (32)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of the timed run per system (10)")
    parser.add_argument("--requests", type=int, default=None,
                        help="a timed run of exactly this many requests per system instead of --duration")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up per system, not counted (3)")
    parser.add_argument("--senders", type=int, default=300, help="distinct shopper phone numbers (300)")
    parser.add_argument("--quiet-wait", type=float, default=None,
                        help="before each timed run, wait up to this many seconds for other processes on the "
                             "machine to use less than a quarter of a core (120)")
    parser.add_argument("--quick", action="store_true", help="a short smoke run (2 s, 1 s warm-up, 10 s quiet wait)")
    parser.add_argument("--json", action="store_true",
                        help="print the figures as JSON on stdout (the summary goes to stderr)")
    parser.add_argument("--serve", choices=("bare", "twilio"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup = 2.0, 1.0
    if args.quiet_wait is None:
        args.quiet_wait = 10.0 if args.quick else 120.0
    if args.concurrency < 1 or args.duration <= 0 or args.senders < 1 or args.warmup < 0 \
            or (args.requests is not None and args.requests < 1):
        parser.error("--concurrency, --duration, --senders and --requests must be positive, --warmup not negative")
    return args


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# --- the webhooks ---------------------------------------------------------------------

_HEADERS = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "*/*",
            "User-Agent": "TwilioProxy/1.1", "X-Home-Region": "us1"}


@dataclass(frozen=True, slots=True)
class Webhook:
    sid: str
    body: bytes
    signature: str
    idempotency_token: str

    @property
    def headers(self) -> dict[str, str]:
        # Built when sent: a run signs a few hundred thousand of them beforehand.
        return {**_HEADERS, "I-Twilio-Idempotency-Token": self.idempotency_token,
                "X-Twilio-Signature": self.signature}


def message_sid(tag: int, index: int) -> str:
    return f"SM{tag:02x}{index:030x}"


def webhook(validator: RequestValidator, url: str, tag: int, index: int, senders: int) -> Webhook:
    """Inbound SMS `index` of load run `tag` as Twilio posts it: every parameter, in Twilio's
    order, blanks where Twilio leaves them blank for a German number; signed for `url`."""
    sid = message_sid(tag, index)
    params = {
        "ToCountry": "DE", "ToState": "", "SmsMessageSid": sid, "NumMedia": "0", "ToCity": "", "FromZip": "",
        "SmsSid": sid, "FromState": "", "SmsStatus": "received", "FromCity": "", "Body": TEXTS[index % len(TEXTS)],
        "FromCountry": "DE", "To": SHOP_NUMBER, "ToZip": "", "NumSegments": "1", "MessageSid": sid,
        "AccountSid": ACCOUNT_SID, "From": f"+49151{index % senders:07d}", "ApiVersion": "2010-04-01",
    }
    return Webhook(sid, urlencode(params).encode("ascii"), validator.compute_signature(url, params),
                   str(uuid.UUID(int=(tag << 96) | index)))


# --- the load generator (its own process) ---------------------------------------------

@dataclass(frozen=True, slots=True)
class Plan:
    url: str  # where the requests go
    signed_url: str  # what they are signed for (storechat's public webhook URL)
    auth_token: str
    tag: int
    count: int  # requests built and signed before the clock starts
    concurrency: int
    senders: int
    duration: float | None  # None: send all `count` requests


@dataclass(frozen=True, slots=True)
class LoadResult:
    sent: int
    statuses: dict[int, int]  # over every request sent (0: no answer, a connection error or timeout)
    accepted: list[int]  # indexes of the requests answered 200
    latencies_ms: list[float]  # sent → answer read, for the requests completed inside the window
    window_s: float
    client_cpu_s: float  # the load generator's own CPU inside the window
    ran_out: bool  # every request built was sent before the window ended


def _load_process(plan: Plan, conn: Connection) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops it
    try:
        try:
            result = asyncio.run(_load(plan, conn.send))
            conn.send(("done", asdict(result)))
        except (BrokenPipeError, EOFError):
            return  # the parent is gone (interrupted): nothing to report to
        except BaseException:
            conn.send(("error", traceback.format_exc()))
    finally:
        conn.close()


async def _load(plan: Plan, notify: Callable[[tuple[Any, ...]], None]) -> LoadResult:
    validator = RequestValidator(plan.auth_token)
    requests = [webhook(validator, plan.signed_url, plan.tag, i, plan.senders) for i in range(plan.count)]
    statuses: Counter[int] = Counter()
    accepted: list[int] = []
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=plan.concurrency)
    async with aiohttp.ClientSession(connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)) as session:

        async def send(index: int) -> tuple[float, float]:
            request = requests[index]
            started = time.perf_counter()
            try:
                async with session.post(plan.url, data=request.body, headers=request.headers) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, asyncio.TimeoutError):
                status = 0
            ended = time.perf_counter()
            statuses[status] += 1
            if status == 200:
                accepted.append(index)
            return ended, ended - started

        # One request per connection first: every connection is open before the clock starts.
        await asyncio.gather(*(send(i) for i in range(min(plan.concurrency, plan.count))))
        next_index = min(plan.concurrency, plan.count)
        notify(("window_start",))
        cpu_start, start = time.process_time(), time.perf_counter()
        end = start + plan.duration if plan.duration is not None else math.inf
        last_end, cpu_end = start, math.nan

        async def worker() -> None:
            nonlocal next_index, last_end
            while next_index < plan.count and time.perf_counter() < end:
                index, next_index = next_index, next_index + 1
                ended, took = await send(index)
                if ended <= end:
                    latencies.append(took * 1000)
                    last_end = max(last_end, ended)

        async def window_end() -> None:
            nonlocal cpu_end
            await asyncio.sleep(end - time.perf_counter())
            cpu_end = time.process_time()
            notify(("window_end",))

        timer = asyncio.create_task(window_end()) if plan.duration is not None else None
        await asyncio.gather(*(worker() for _ in range(plan.concurrency)))
        ran_out = timer is not None and not timer.done()
        if timer is None or ran_out:
            if timer is not None:
                timer.cancel()
            cpu_end = time.process_time()
            notify(("window_end",))
        else:
            await timer
    window = plan.duration if plan.duration is not None and not ran_out else last_end - start
    return LoadResult(sent=next_index, statuses=dict(statuses), accepted=accepted, latencies_ms=latencies,
                      window_s=window, client_cpu_s=cpu_end - cpu_start, ran_out=ran_out)


Hook = Callable[[], Awaitable[None]]


async def _nothing() -> None:
    return None


async def drive(plan: Plan, on_start: Hook = _nothing, on_end: Hook = _nothing) -> LoadResult:
    """Run the load generator in its own process; `on_start`/`on_end` at its window's edges."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_load_process, args=(plan, sender), name="load", daemon=True)
    process.start()
    sender.close()
    finished = False
    try:
        while True:
            if not await asyncio.to_thread(receiver.poll, 0.5):
                if not process.is_alive():
                    raise RuntimeError(f"the load generator exited with code {process.exitcode}")
                continue
            kind, *rest = receiver.recv()
            if kind == "window_start":
                await on_start()
            elif kind == "window_end":
                await on_end()
            elif kind == "error":
                raise RuntimeError(f"the load generator failed:\n{rest[0]}")
            else:
                data = rest[0]
                data["statuses"] = {int(code): n for code, n in data["statuses"].items()}
                finished = True
                return LoadResult(**data)
    finally:
        receiver.close()
        if finished:
            process.join(5)  # it has reported: it is ending
        if process.is_alive():
            process.terminate()
        process.join()


# --- the stand-ins: a bare aiohttp handler and Twilio's Messages API ------------------

@dataclass
class Sent:
    messages: int = 0


SENT = web.AppKey("sent", Sent)


async def _ok(request: web.Request) -> web.Response:
    await request.read()
    return web.json_response({"ok": True})


async def _twilio_message(request: web.Request) -> web.Response:
    await request.read()
    request.app[SENT].messages += 1
    return web.json_response({"sid": f"SM{uuid.uuid4().hex}", "status": "queued"}, status=201)


async def _twilio_count(request: web.Request) -> web.Response:
    return web.json_response(asdict(request.app[SENT]))


def serve(kind: str, port: int) -> None:
    app = web.Application()
    app.router.add_get("/", _ok)
    if kind == "bare":
        app.router.add_post("/{tail:.*}", _ok)
    else:
        app[SENT] = Sent()
        app.router.add_post("/2010-04-01/Accounts/{account}/Messages.json", _twilio_message)
        app.router.add_get("/count", _twilio_count)
    # No access log, as in the public benchmarks the anchor comes from.
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


# --- the processes under test -----------------------------------------------------------

@dataclass(frozen=True, slots=True)
class System:
    stack: Stack
    redis_url: str
    gateway: str  # storechat's base URL, also its public URL
    bare: str
    twilio: str
    auth_token: str

    @property
    def signed_url(self) -> str:
        return f"{self.gateway}/webhooks/sms"


def _answers(url: str, status: int) -> Callable[[], bool]:
    def probe() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return bool(response.status == status)
        except urllib.error.HTTPError as exc:
            return exc.code == status
        except (urllib.error.URLError, OSError):
            return False

    return probe


def _stand_in(kind: str, port: int) -> services.Service:
    return services.Service(kind, (sys.executable, str(Path(__file__).resolve()), "--serve", kind,
                                   "--port", str(port)), REPO_ROOT)


@contextmanager
def system() -> Iterator[System]:
    redis_port, gateway_port, bare_port, twilio_port = free_port(), free_port(), free_port(), free_port()
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    gateway, twilio = f"http://127.0.0.1:{gateway_port}", f"http://127.0.0.1:{twilio_port}"
    # Nothing listens on rasa_url: every first message of a conversation takes the bot-unavailable path.
    settings = Settings(port=gateway_port, redis_url=redis_url, rasa_url=f"http://127.0.0.1:{free_port()}",
                        data_dir=BENCH_DIR / "webhooks", root=REPO_ROOT)
    token = secrets.token_hex(16)
    channel = {"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": token, "TWILIO_FROM_NUMBER": SHOP_NUMBER,
               "TWILIO_API_BASE": twilio, "STORECHAT_PUBLIC_URL": gateway}
    redis_dir = BENCH_DIR / "webhooks" / "redis"
    with ExitStack() as exits:
        stack = Stack(exits)
        # Like `storechat run`: append-only persistence, as in production; empty at every run.
        shutil.rmtree(redis_dir, ignore_errors=True)
        stack.start(services.embedded_redis(redis_port, redis_dir), services.redis_ok(redis_url))
        stack.start(_stand_in("twilio", twilio_port), services.http_ok(f"{twilio}/"), wait=False)
        stack.start(_stand_in("bare", bare_port), services.http_ok(f"http://127.0.0.1:{bare_port}/"), wait=False)
        # /healthz is 503 without Rasa; GET /webhooks/sms answers 405 once the route and the SMS channel are up.
        stack.start(services.gateway(settings, env=channel), _answers(f"{gateway}/webhooks/sms", 405), wait=False)
        stack.wait()
        yield System(stack, redis_url, gateway, f"http://127.0.0.1:{bare_port}", twilio, token)


# --- the inbox stream -------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class InboxState:
    length: int
    last_added: str
    last_delivered: str  # the last entry an inbox worker has read
    pending: int  # read but not yet acknowledged

    @property
    def drained(self) -> bool:
        return self.last_delivered == self.last_added and self.pending == 0


async def inbox_state(redis: Redis) -> InboxState:
    async with redis.pipeline(transaction=True) as pipe:
        pipe.xinfo_stream(INBOX)
        pipe.xinfo_groups(INBOX)
        stream, groups = await pipe.execute()
    group = next(g for g in groups if g["name"] == keys.INBOX_GROUP)
    return InboxState(int(stream["length"]), str(stream["last-generated-id"]), str(group["last-delivered-id"]),
                      int(group["pending"]))


async def backlog(redis: Redis, state: InboxState) -> int:
    """Entries not yet processed at `state`: never read (counted page by page) plus pending."""
    unread, after = 0, state.last_delivered
    while page := await redis.xrange(INBOX, min=f"({after}", max=state.last_added, count=10_000):
        unread += len(page)
        after = str(page[-1][0])
        if after == state.last_added:
            break
    return unread + state.pending


async def wait_drained(redis: Redis, timeout: float) -> float | None:
    """Seconds until every entry is processed, None if not within `timeout`."""
    started = time.perf_counter()
    while not (await inbox_state(redis)).drained:
        if time.perf_counter() - started > timeout:
            return None
        await asyncio.sleep(0.02)
    return time.perf_counter() - started


# --- measuring ----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Figures:
    system: str
    requests: int  # completed inside the window
    window_s: float
    per_s: float
    median_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[int, int]  # every request of the run, warm-up excluded
    ran_out: bool
    cores: dict[str, float]  # each process's average use inside the window
    server_cpu_us: float  # the server process's CPU per request


def figures(name: str, server: str, result: LoadResult, cpu_s: dict[str, float]) -> Figures:
    lat = result.latencies_ms
    window = result.window_s or math.nan
    cpu_s = {**cpu_s, "load": result.client_cpu_s,
             "other": max(cpu_s.get("other", 0.0) - result.client_cpu_s, 0.0)}
    return Figures(
        system=name, requests=len(lat), window_s=result.window_s, per_s=len(lat) / window,
        median_ms=percentile(lat, 0.5), p90_ms=percentile(lat, 0.9), p99_ms=percentile(lat, 0.99),
        max_ms=max(lat, default=math.nan), statuses=result.statuses, ran_out=result.ran_out,
        cores={name: round(seconds / window, 3) for name, seconds in cpu_s.items() if name != "client"},
        server_cpu_us=cpu_s[server] * 1e6 / max(len(lat), 1),
    )


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
    if args.quiet_wait > 0:
        others = await asyncio.to_thread(meter.wait_until_quiet, args.quiet_wait)
        if others >= QUIET_CORES:
            outcome.warnings.append(f"other processes still used {others:.2f} cores before {name}'s timed run")


@dataclass(frozen=True, slots=True)
class Timed:
    result: LoadResult
    ended: float  # perf_counter() at the window's end
    cpu_start: dict[str, float]  # CpuMeter snapshots at the window's edges
    cpu_end: dict[str, float]


async def _timed(name: str, server: str, meter: CpuMeter, plan: Plan, outcome: Outcome,
                 on_start: Hook = _nothing, on_end: Hook = _nothing) -> Timed:
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


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # unwinds through the stack's ExitStack, which stops every process


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve:
        serve(args.serve, args.port)
        return 0
    signal.signal(signal.SIGTERM, _terminate)
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
            "config": {key: value for key, value in vars(args).items() if key not in ("json", "serve", "port")},
            "cpus": os.cpu_count(), "results": [asdict(f) for f in outcome.results],
            "ratio": ratio(outcome.results), "processing": asdict(outcome.processing),
            "integrity": asdict(outcome.integrity), "ok": outcome.ok,
            "failures": outcome.failures, "warnings": outcome.warnings,
        }, indent=2))
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    sys.exit(main())
