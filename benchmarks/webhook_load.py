"""The load generator: pre-signed, distinct Twilio inbound-SMS webhooks posted over keep-alive
connections from a process of its own (its CPU is then not the server's), and the figures of
one timed run. `drive` runs it once, calling back at the edges of its timed window.
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing
import signal
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from multiprocessing.connection import Connection
from typing import Any
from urllib.parse import urlencode

import aiohttp
from twilio.request_validator import RequestValidator

from benchmarks.report import percentile

ACCOUNT_SID = "AC" + "5eedbe0c4a11c0ffee0ddba11facade5"  # made up: AC + 32 hex digits
SHOP_NUMBER = "+4930901820"
# What shoppers text a shop: no SMS keywords (STOP, HELP, …) and no bare numbers (option answers).
TEXTS = (
    "Wo ist meine Bestellung?", "Kann ich die Schuhe zurückschicken?", "Hi, my parcel hasn't arrived yet",
    "Do you ship to Austria?", "Die Jacke ist zu groß, kann ich sie umtauschen?", "Wie lange dauert die Erstattung?",
    "Is the blue one back in stock?", "Meine Zahlung wurde zweimal abgebucht 😕",
)
REQUEST_TIMEOUT = 30.0


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


async def nothing() -> None:
    return None


async def drive(plan: Plan, on_start: Hook = nothing, on_end: Hook = nothing) -> LoadResult:
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


# --- what one timed run measured ----------------------------------------------------------

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
