"""Loading the reports benchmark's history and folding it, with what each costs Redis.

The history is written `--fold-every` days at a time by `--workers` processes (each a share of
the chats, `--lanes` at a time); after each chunk every projection of `build_reports` folds
the feed, one projection after the other, all workers following it in its one consumer group,
as several gateway processes would. Between the phases the main process reads
`INFO commandstats` and `used_memory`, so writing and each projection's folding are counted
apart. (The feed is capped at about a million entries: a chunk stays well below that.)
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import redis as sync_redis

from benchmarks.report_history import Written, day_counts, numbered, write_chats
from gateway import keys
from gateway.app import build_reports, connect_redis
from gateway.complaints.projection import ComplaintsProjection
from gateway.desk.business_hours import BusinessHours
from gateway.settings import Settings

CHATS_PER_TASK = 200
# Per worker process, set once by `_start_worker`: the Redis URL and the complaints projection
# (loading it trains the feedback classifier, about a second: not once per task).
_WORKER: dict[str, Any] = {}


def commandstats(redis: sync_redis.Redis) -> Counter[str]:
    """Calls so far, by command (commands inside MULTI and scripts included)."""
    stats: dict[str, dict[str, Any]] = redis.info("commandstats")
    return Counter({name.removeprefix("cmdstat_"): int(values["calls"]) for name, values in stats.items()})


def used_memory(redis: sync_redis.Redis) -> int:
    return int(redis.info("memory")["used_memory"])


@dataclass
class Phase:
    """What one kind of work cost over the whole load."""

    seconds: float = 0.0
    commands: Counter[str] = field(default_factory=Counter)
    memory: int = 0

    @property
    def total(self) -> int:
        return sum(self.commands.values())


@dataclass
class Loaded:
    days: list[date]
    written: Written
    writing: Phase
    # Every projection, the whole history (after the first chunk they fold side by side).
    folding: Phase
    # Projection name → its folding of the first chunk alone, one projection after the other.
    first_chunk: dict[str, Phase]
    first_chunk_conversations: int
    memory_before: int
    memory_after: int


class Meter:
    """Charges the commands, memory and time between two readings to a phase."""

    def __init__(self, redis: sync_redis.Redis) -> None:
        self.redis = redis
        self._read()

    def _read(self) -> None:
        self.at, self.commands, self.memory = time.perf_counter(), commandstats(self.redis), used_memory(self.redis)

    def charge(self, phase: Phase) -> None:
        at, commands, memory = self.at, self.commands, self.memory
        self._read()
        phase.seconds += self.at - at
        phase.commands.update(self.commands - commands)
        phase.memory += self.memory - memory


# --- in the worker processes ------------------------------------------------------------


def _start_worker(redis_url: str) -> None:
    settings = Settings()
    _WORKER.update(url=redis_url, settings=settings, hours=BusinessHours.load(settings.business_hours_file),
                   complaints=ComplaintsProjection.load(settings.root / "faq_data"))


def _ready(_: int) -> None:
    """Nothing: waited for so that the workers' start-up is nobody's cost."""


def _write(task: tuple[list[tuple[date, int]], int, int]) -> Written:
    chats, seed, lanes = task

    async def run() -> Written:
        redis, written = connect_redis(_WORKER["url"]), Written()
        try:
            await write_chats(redis, _WORKER["hours"], chats, seed=seed, lanes=lanes, written=written)
        finally:
            await redis.aclose()
        return written

    return asyncio.run(run())


def _drain(projection: str) -> None:
    async def run() -> None:
        redis = connect_redis(_WORKER["url"])
        try:
            reports = build_reports(redis, _WORKER["settings"], _WORKER["hours"], time.time, _WORKER["complaints"])
            for follower in reports.followers():
                if follower.group == projection:
                    await follower.drain()
        finally:
            await redis.aclose()

    asyncio.run(run())


# --- in the main process ------------------------------------------------------------------


def _merge(into: Written, part: Written) -> None:
    for name in ("conversations", "handoffs", "answered", "resolved", "csat", "reopened"):
        setattr(into, name, getattr(into, name) + getattr(part, name))
    for channel, n in part.by_channel.items():
        into.by_channel[channel] = into.by_channel.get(channel, 0) + n


def _chunks(days: Sequence[date], size: int) -> Iterator[list[date]]:
    for start in range(0, len(days), size):
        yield list(days[start:start + size])


def projection_names(settings: Settings) -> list[str]:
    """The names of the projections `build_reports` registers (its Redis is never sent a command)."""
    hours = BusinessHours.load(settings.business_hours_file)
    reports = build_reports(connect_redis("redis://127.0.0.1:1/0"), settings, hours, time.time,
                            ComplaintsProjection.load(settings.root / "faq_data"))
    return [projection.name for projection in reports.projections]


def load(redis_url: str, days: list[date], per_day: int, *, workers: int, lanes: int, fold_every: int,
         seed: int, progress: Any) -> Loaded:
    """Write and fold the history. Each projection is followed by one process: two processes
    folding one projection would fight over the same conversations (a conversation's feed
    entries reach both consumers of the group: WATCH conflicts, folds done twice)."""
    redis = sync_redis.Redis.from_url(redis_url, decode_responses=True)
    names = projection_names(Settings())
    counts = day_counts(days, per_day)
    written, writing, folding = Written(), Phase(), Phase()
    first_chunk = {name: Phase() for name in names}
    first_conversations = 0
    memory_before = used_memory(redis)
    numbers = iter(numbered(counts))
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, initializer=_start_worker, initargs=(redis_url,)) as pool:
        pool.map(_ready, range(workers * 4), chunksize=1)
        meter = Meter(redis)
        for index, chunk in enumerate(_chunks(days, fold_every)):
            chats = [next(numbers) for _ in range(sum(counts[day] for day in chunk))]
            # Shuffled, so each task holds chats of every hour (their lengths vary by hour).
            random.Random(seed).shuffle(chats)
            tasks = [(chats[i:i + CHATS_PER_TASK], seed, lanes) for i in range(0, len(chats), CHATS_PER_TASK)]
            meter.charge(Phase())  # nothing between the chunks is anyone's
            for part in pool.imap_unordered(_write, tasks):
                _merge(written, part)
            meter.charge(writing)
            if index == 0:
                # One at a time: what each projection costs on its own.
                first_conversations = written.conversations
                for name in names:
                    pool.apply(_drain, (name,))
                    meter.charge(first_chunk[name])
                    folding.commands.update(first_chunk[name].commands)
                    folding.seconds += first_chunk[name].seconds
                    folding.memory += first_chunk[name].memory
            else:
                pool.map(_drain, names, chunksize=1)
                meter.charge(folding)
            rate = written.conversations / (writing.seconds + folding.seconds)
            progress(f"  {chunk[-1]}: {written.conversations:,} conversations written and folded "
                     f"({rate:.0f}/s overall; writing {written.conversations / writing.seconds:.0f}/s, "
                     f"folding {written.conversations / folding.seconds:.0f}/s)")
    loaded = Loaded(days, written, writing, folding, first_chunk, first_conversations, memory_before,
                    used_memory(redis))
    last = redis.xinfo_stream(keys.FEED)["last-generated-id"]
    behind = [group["name"] for group in redis.xinfo_groups(keys.FEED)
              if group["pending"] or group["last-delivered-id"] != last]
    if behind:
        progress(f"warning: the feed was not folded to its end by {', '.join(behind)}")
    redis.close()
    return loaded


# --- what the projections keep, by key family ---------------------------------------------

SAMPLE = 4000
# Key families (see `family`) each projection owns.
OWNERS = {"report": "reports", "directory": "directory", "complaints": "complaints", "shipping": "orders",
          "notifications:sent": "orders"}


def family(key: str) -> str:
    """`storechat:conv:<id>:events` → `conv:events`, `storechat:projection:reports:<id>` →
    `projection:reports`, `storechat:report:all:…` → `report:rollups`."""
    parts = key.removeprefix(keys.PREFIX + ":").split(":")
    head = parts[0]
    if head == "projection":
        return f"projection:{parts[1]}"
    if head == "report":
        return "report:rollups" if parts[1] in ("all", "open") else f"report:{parts[1]}"
    if head in ("directory", "complaints", "notifications", "agent"):
        return f"{head}:{parts[1]}" if len(parts) > 1 else head
    if head in ("conv", "contact") and len(parts) > 2:
        return f"{head}:{parts[2]}"
    return head


def owner(name: str) -> str | None:
    if name.startswith("projection:"):
        return name.removeprefix("projection:")
    return next((who for prefix, who in OWNERS.items() if name == prefix or name.startswith(prefix + ":")), None)


def key_memory(redis: sync_redis.Redis) -> dict[str, tuple[int, int]]:
    """Family → (keys, bytes): `MEMORY USAGE` of every key, or of a random SAMPLE of a family's
    keys scaled to its count (`SAMPLES 0`: every element of a hash, set or stream counted)."""
    names: dict[str, list[str]] = {}
    for key in redis.scan_iter(count=5000):
        names.setdefault(family(str(key)), []).append(str(key))
    found: dict[str, tuple[int, int]] = {}
    rng = random.Random(0)
    for name, members in names.items():
        measured = members if len(members) <= SAMPLE else rng.sample(members, SAMPLE)
        with redis.pipeline(transaction=False) as pipe:
            for key in measured:
                pipe.memory_usage(key, samples=0)
            sizes = [size or 0 for size in pipe.execute()]
        found[name] = (len(members), round(sum(sizes) * len(members) / len(measured)))
    return found


# --- the same, folded live ------------------------------------------------------------------


async def _caught_up(redis: Any, groups: int) -> bool:
    last = (await redis.xinfo_stream(keys.FEED))["last-generated-id"]
    found = await redis.xinfo_groups(keys.FEED)
    return len(found) == groups and all(not g["pending"] and g["last-delivered-id"] == last for g in found)


async def live_cost(redis_url: str, day: date, chats: int, *, seed: int) -> tuple[Counter[str], Counter[str]]:
    """What `chats` conversations cost written alone, and written while every projection follows
    the feed as a gateway's report worker does (`Reports.start`): (writing, projections live).

    Written one at a time, so each follower is woken by nearly every event, as in a shop where
    the events of many chats trickle in: each fold then covers an event or two, not a whole
    conversation. The writes are the same both times (each chat's steps come from its seed), so
    the difference of the two counts is the projections'."""
    redis, sync = connect_redis(redis_url), sync_redis.Redis.from_url(redis_url, decode_responses=True)
    settings = Settings()
    hours = BusinessHours.load(settings.business_hours_file)
    numbers = [(day, 10_000_000 + n) for n in range(chats)]
    try:
        before = commandstats(sync)
        await write_chats(redis, hours, numbers, seed=seed, lanes=1, written=Written())
        writing = commandstats(sync) - before
        await redis.flushall()
        reports = build_reports(redis, settings, hours, time.time, ComplaintsProjection.load(settings.root / "faq_data"))
        for follower in reports.followers():
            await follower.ensure_group()
        before = commandstats(sync)
        tasks = reports.start()
        await write_chats(redis, hours, numbers, seed=seed, lanes=1, written=Written())
        while not await _caught_up(redis, len(reports.projections)):
            await asyncio.sleep(0.2)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        both = commandstats(sync) - before
    finally:
        await redis.aclose()
        sync.close()
    # The caught-up checks' own commands are not the projections'.
    both.subtract({"xinfo": both["xinfo"]})
    return writing, +(both - writing)
