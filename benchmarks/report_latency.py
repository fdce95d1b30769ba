"""Timing every report over HTTP: a real `storechat serve` on the loaded Redis, a supervisor
logged in with `POST /api/v1/agent/login`, and each route of `gateway/api/reports.py` ROUTES
asked in turn with varied queries (the last 7, 30 or 90 days; no filter, a channel, a team,
an agent, a channel and a team; with and without `business_hours`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import random
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

import aiohttp

from benchmarks.report import percentile
from benchmarks.stack import BENCH_DIR, Stack, free_port
from core.types import Team
from gateway.api.agent import COOKIE
from gateway.api.reports import ROUTES
from gateway.app import connect_redis
from gateway.desk.agents import AgentRole, AgentStore
from gateway.run import processes
from gateway.run.history.writer import BERLIN
from gateway.settings import Settings

GOAL_P95_MS = 200.0
CSV = "/agent/reports/conversations.csv"
RANGES = (7, 30, 90)
FILTERS: tuple[dict[str, str], ...] = (
    {}, {"channel": "web"}, {"team": "logistics"}, {"agent": "anna@nordlicht-home.example"},
    {"channel": "whatsapp", "team": "product"},
)
SUPERVISOR = "bench-supervisor@bench.example"


def report_paths() -> list[str]:
    """Every JSON report the Agent API has (read from its routes, so a new one is timed too)."""
    return [path for path, _ in ROUTES if path.startswith("/agent/reports/") and path != CSV]


def queries(seed: int) -> list[tuple[int, dict[str, str]]]:
    """(days, query) for every range × filter × business hours, in a shuffled order."""
    today = datetime.now(BERLIN).date()
    found = []
    for days, filters, open_only in itertools.product(RANGES, FILTERS, (False, True)):
        query = {"from": (today - timedelta(days=days - 1)).isoformat(), "to": today.isoformat(), **filters}
        if open_only:
            query["business_hours"] = "true"
        found.append((days, query))
    random.Random(seed).shuffle(found)
    return found


@dataclass
class Timings:
    path: str
    ms: list[float] = field(default_factory=list)
    ms_90: list[float] = field(default_factory=list)  # the 90-day ranges alone
    first_byte_ms: list[float] = field(default_factory=list)  # the CSV export's
    failures: list[str] = field(default_factory=list)
    bytes: list[int] = field(default_factory=list)

    def figures(self) -> dict[str, object]:
        p95 = percentile(self.ms, 0.95)
        return {"report": self.path.removeprefix("/agent/reports/"), "requests": len(self.ms),
                "p50_ms": percentile(self.ms, 0.5), "p95_ms": p95, "max_ms": max(self.ms, default=float("nan")),
                "p95_90_days_ms": percentile(self.ms_90, 0.95),
                "first_byte_p95_ms": percentile(self.first_byte_ms, 0.95) if self.first_byte_ms else None,
                "median_bytes": percentile([float(n) for n in self.bytes], 0.5),
                "goal_met": p95 <= GOAL_P95_MS, "failures": len(self.failures),
                "failure_examples": self.failures[:3]}


def _answers(url: str) -> Callable[[], bool]:
    def probe() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except urllib.error.HTTPError:
            return True  # it answers (401: not logged in)
        except OSError:
            return False
    return probe


@contextmanager
def gateway(redis_url: str) -> Iterator[str]:
    """One `storechat serve` on the loaded Redis (no Rasa: the reports do not need it; no
    report worker: everything is folded already); its base URL."""
    settings = Settings(port=free_port(), redis_url=redis_url, rasa_url=f"http://127.0.0.1:{free_port()}",
                        data_dir=BENCH_DIR / "reports" / "gateway")
    url = f"http://127.0.0.1:{settings.port}"
    with ExitStack() as exits:
        stack = Stack(exits)
        service = processes.gateway(settings, env={"STORECHAT_REPORT_WORKER": "false"})
        stack.start(dataclasses.replace(service, name="reports-gateway"),
                    _answers(f"{url}/api/v1/agent/reports/volume"))
        yield url


async def _supervisor(redis_url: str) -> str:
    password = secrets.token_urlsafe(18)
    redis = connect_redis(redis_url)
    try:
        await AgentStore(redis).put(SUPERVISOR, password, team=Team.GENERAL, name="Bench Supervisor",
                                    role=AgentRole.SUPERVISOR)
    finally:
        await redis.aclose()
    return password


async def _login(http: aiohttp.ClientSession, url: str, password: str) -> dict[str, str]:
    async with http.post(f"{url}/api/v1/agent/login", json={"email": SUPERVISOR, "password": password}) as response:
        if response.status != 200 or COOKIE not in response.cookies:
            raise RuntimeError(f"supervisor login: HTTP {response.status} {await response.text()}")
        return {"Cookie": f"{COOKIE}={response.cookies[COOKIE].value}"}


async def _get(http: aiohttp.ClientSession, url: str, headers: dict[str, str], timings: Timings,
               days: int, query: dict[str, str], *, count: bool = True) -> None:
    started = time.perf_counter()
    async with http.get(f"{url}/api/v1{timings.path}?{urlencode(query)}", headers=headers) as response:
        first = await response.content.readany()
        first_byte = time.perf_counter()
        rest = await response.read()
        ended = time.perf_counter()
    if response.status != 200:
        timings.failures.append(f"{urlencode(query)}: HTTP {response.status} {(first + rest)[:200]!r}")
        return
    if count:
        timings.ms.append((ended - started) * 1000)
        timings.bytes.append(len(first) + len(rest))
        if days == 90:
            timings.ms_90.append((ended - started) * 1000)
        if timings.path == CSV:
            timings.first_byte_ms.append((first_byte - started) * 1000)


@dataclass(frozen=True, slots=True)
class Counted:
    """What the volume report counts over the whole history: the check that it is all there."""

    started: int
    handoffs: int


async def _counted(http: aiohttp.ClientSession, url: str, headers: dict[str, str], first: date) -> Counted:
    # From the day before: a chat opened just before midnight may start its conversation then.
    since = first - timedelta(days=1)
    query = urlencode({"from": since.isoformat(), "to": datetime.now(BERLIN).date().isoformat()})
    async with http.get(f"{url}/api/v1/agent/reports/volume?{query}", headers=headers) as response:
        body = await response.json()
    return Counted(body["started"]["total"], body["handoffs"]["total"])


async def time_reports(redis_url: str, url: str, *, first: date, requests: int, csv_requests: int, seed: int,
                       progress: Callable[[str], None]) -> tuple[list[Timings], Counted]:
    """`requests` timed requests of each report (after one not timed), one request at a time,
    the reports taking turns; then `csv_requests` of the CSV export. And what the volume report
    counts from the history's `first` day on."""
    password = await _supervisor(redis_url)
    variants = queries(seed)
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        headers = await _login(http, url, password)
        reports = [Timings(path) for path in report_paths()]
        for timings in reports:
            await _get(http, url, headers, timings, *variants[0], count=False)
        for number in range(requests):
            for timings in reports:
                await _get(http, url, headers, timings, *variants[number % len(variants)])
        progress(f"  {requests} requests of each of {len(reports)} reports")
        export = Timings(CSV)
        for number in range(csv_requests):
            await _get(http, url, headers, export, *variants[number % len(variants)])
        counted = await _counted(http, url, headers, first)
    return [*reports, export], counted


def table(results: list[Timings]) -> str:
    head = (f"{'report':<18} {'requests':>8} {'p50':>9} {'p95':>9} {'max':>9} {'p95 90d':>9} {'bytes':>10}"
            f"  goal p95 ≤ {GOAL_P95_MS:.0f} ms")
    rows = [head, "-" * len(head)]
    for timings in results:
        f = timings.figures()
        verdict = "met" if f["goal_met"] else "NOT met"
        if timings.path == CSV:
            verdict = f"(first byte p95 {f['first_byte_p95_ms']:.1f} ms; not a goal)"
        if f["failures"]:
            verdict += f"  {f['failures']} FAILED"
        rows.append(f"{f['report']:<18} {f['requests']:>8} {f['p50_ms']:>7.1f}ms {f['p95_ms']:>7.1f}ms "
                    f"{f['max_ms']:>7.1f}ms {f['p95_90_days_ms']:>7.1f}ms {f['median_bytes']:>10,.0f}  {verdict}")
    return "\n".join(rows)


def run(redis_url: str, *, first: date, requests: int, csv_requests: int, seed: int,
        progress: Callable[[str], None]) -> tuple[list[Timings], Counted]:
    with gateway(redis_url) as url:
        return asyncio.run(time_reports(redis_url, url, first=first, requests=requests, csv_requests=csv_requests,
                                        seed=seed, progress=progress))

