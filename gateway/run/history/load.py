"""Loading the demo history once (`storechat demo-data`, the first `make run` on the embedded
Redis): written, then folded into every projection the gateway keeps (the reports, the
complaints, the directory, the order figures), so the reports show it at once.

`keys.DEMO_HISTORY` is claimed before anything is written: a second run, or two at once,
writes nothing twice. (A run stopped half-way leaves the marker and part of the history;
`FLUSHDB` and a new run start over.)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime

from redis.asyncio import Redis

from gateway import keys
from gateway.app import build_reports
from gateway.desk.business_hours import BusinessHours
from gateway.run.history.demo import DemoTruth, write_demo_history
from gateway.settings import Settings
from gateway.texts import Texts


@dataclass(frozen=True, slots=True)
class Loaded:
    end: date
    # None: a history was there already (ending on `end`).
    truth: DemoTruth | None
    writing_seconds: float = 0.0
    folding_seconds: float = 0.0


async def load_demo_history(redis: Redis, settings: Settings, *, now: float | None = None, weeks: int = 8,
                            seed: int = 8) -> Loaded:
    """The history ending today (the shop's day), unless one was loaded before."""
    hours = BusinessHours.load(settings.business_hours_file)
    moment = time.time() if now is None else now
    end = datetime.fromtimestamp(moment, hours.timezone).date()
    if not await redis.set(keys.DEMO_HISTORY, end.isoformat(), nx=True):
        return Loaded(date.fromisoformat(str(await redis.get(keys.DEMO_HISTORY))), None)
    started = time.perf_counter()
    truth = await write_demo_history(redis, hours, end=end, weeks=weeks, seed=seed, now=moment,
                                     texts=Texts.load(settings.default_locale), faq_dir=settings.root / "faq_data",
                                     rules_file=settings.proactive_rules_file)
    written = time.perf_counter()
    await build_reports(redis, settings, hours, time.time).drain()
    return Loaded(end, truth, written - started, time.perf_counter() - written)


def describe(loaded: Loaded) -> str:
    """What `storechat demo-data` and `storechat run` print."""
    truth = loaded.truth
    if truth is None:
        return f"demo history already loaded (ending {loaded.end.isoformat()}): nothing written"
    return (f"loaded the demo history {truth.first.isoformat()} – {truth.end.isoformat()}: "
            f"{truth.conversations} conversations, {truth.events} events, {truth.orders} orders "
            f"({truth.notified_orders} notified), {truth.csat_answers} survey answers, one defect "
            f"({truth.defect_sku}, {len(truth.defect_conversations)} shoppers); written in "
            f"{loaded.writing_seconds:.1f} s, reports folded in {loaded.folding_seconds:.1f} s")


async def load_history_into(settings: Settings) -> Loaded:
    """`load_demo_history` with a connection of its own (the CLI and `storechat run`)."""
    redis = Redis.from_url(settings.effective_redis_url, decode_responses=True, socket_connect_timeout=2)
    try:
        return await load_demo_history(redis, settings)
    finally:
        await redis.aclose()
