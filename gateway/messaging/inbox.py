"""Webhook deliveries, stored before they are acknowledged and processed after.

A provider's webhook is answered as soon as its messages are in Redis: each one is
checked against the ids already seen and appended to its channel's stream in a
single script (a redelivery is acknowledged and dropped; nothing is half-stored).
Every gateway process that has a channel configured runs an `InboxWorker` on its
stream in one consumer group, so each entry is processed by one process; an entry
read by a process that died before acknowledging it is claimed by another once it
has been idle for `claim_idle_ms`.

A shopper's messages are processed in the order they came; different shoppers'
messages of one batch are processed side by side.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from channels.base import DeliveryState, DeliveryStatus, Inbound, Media, Received
from core.types import Channel
from gateway import keys

log = logging.getLogger(__name__)

# A provider retries for hours at most (Meta: up to 36 h): ids are remembered for a week.
SEEN_SECONDS = 7 * 24 * 3600
# The workers trim what they finished (`_trim_finished`), so a stream holds only the
# deliveries not yet answered. This cap is for when no worker runs at all: 200,000
# deliveries waiting is days of a busy shop's traffic (and webhook_message_per_sender
# holds each shopper to a few a minute), so in normal operation nothing unanswered is cut.
STREAM_MAX_ENTRIES = 200_000
_READ_BLOCK_MS = 1000
_BACKOFF_CAP = 5.0

# KEYS: seen key, stream. ARGV: seen ttl, stream max length, then the entry's fields.
_ACCEPT = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 3))
  return 1
end
return 0
"""

Handler = Callable[[Received], Awaitable[None]]
# (stream, entry id, fields)
Entry = tuple[str, str, dict[str, str]]


def _dedupe_id(item: Received) -> str:
    # A message is one delivery; a status is one per state of the message it is about. A
    # mail's Message-ID is its sender's to choose: one delivery per sender and Message-ID.
    if isinstance(item, Inbound):
        return f"{item.address}:{item.provider_id}" if item.channel is Channel.EMAIL else item.provider_id
    return f"status:{item.provider_id}:{item.state.value}"


def encode(item: Received) -> str:
    kind = "inbound" if isinstance(item, Inbound) else "status"
    return json.dumps({"kind": kind, **asdict(item)}, ensure_ascii=False, separators=(",", ":"))


def decode(raw: str) -> Received:
    data: dict[str, Any] = json.loads(raw)
    kind = data.pop("kind")
    data["channel"] = Channel(data["channel"])
    if kind == "status":
        data["state"] = DeliveryState(data["state"])
        return DeliveryStatus(**data)
    data["media"] = tuple(Media(**media) for media in data.get("media") or ())
    return Inbound(**data)


async def unseen(redis: Redis, items: Iterable[Received]) -> list[Received]:
    """The items not accepted before (a redelivery's new ones): what a rate limit counts."""
    items = list(items)
    if not items:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        for item in items:
            pipe.exists(keys.webhook_seen(item.channel.value, _dedupe_id(item)))
        seen = await pipe.execute()
    return [item for item, found in zip(items, seen, strict=True) if not found]


async def accept(redis: Redis, items: Iterable[Received]) -> tuple[int, int]:
    """Store new deliveries for processing; (accepted, duplicates)."""
    items = list(items)
    if not items:
        return 0, 0
    async with redis.pipeline(transaction=False) as pipe:
        for item in items:
            pipe.eval(_ACCEPT, 2, keys.webhook_seen(item.channel.value, _dedupe_id(item)),
                      keys.inbox(item.channel.value),
                      SEEN_SECONDS, STREAM_MAX_ENTRIES, "item", encode(item))
        results = await pipe.execute()
    accepted = sum(int(result) for result in results)
    return accepted, len(items) - accepted


class InboxWorker:
    def __init__(self, redis: Redis, channels: Iterable[Channel], handle: Handler, *,
                 claim_idle_ms: int = 60_000, batch: int = 50) -> None:
        self.redis = redis
        self.streams = [keys.inbox(channel.value) for channel in channels]
        self.handle = handle
        self.claim_idle_ms = claim_idle_ms
        self.batch = batch
        self.consumer = f"gateway-{uuid.uuid4().hex[:12]}"
        self._next_claim = 0.0
        self._next_trim = 0.0

    async def run(self) -> None:
        delay = 0.1
        while True:
            try:
                await self._ensure_group()
                # What this worker read before Redis went away and had not finished: now, not
                # after the claim time a stopped process's entries wait.
                if entries := await self._read(pending=True):
                    await self._process(entries)
                while True:
                    entries = await self._claim_stale_when_due() or await self._read()
                    if entries:
                        await self._process(entries)
                    await self._trim_finished()
                    delay = 0.1
            except RedisError as exc:
                log.warning("inbox: Redis unavailable (%s); retrying in %.1f s", exc, delay)
            except Exception:  # a bug must not stop every channel's intake for good
                log.exception("inbox: worker failed; restarting in %.1f s", delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, _BACKOFF_CAP)

    async def _ensure_group(self) -> None:
        for stream in self.streams:
            try:
                await self.redis.xgroup_create(stream, keys.INBOX_GROUP, id="0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    async def _claim_stale_when_due(self) -> list[Entry]:
        """Entries another consumer read and never acknowledged (it died), idle long enough.

        Looked for at start and then every half idle time, not on every read."""
        now = asyncio.get_running_loop().time()
        if now < self._next_claim:
            return []
        self._next_claim = now + self.claim_idle_ms / 2000
        entries: list[Entry] = []
        for stream in self.streams:
            result: Any = await self.redis.xautoclaim(stream, keys.INBOX_GROUP, self.consumer,
                                                      min_idle_time=self.claim_idle_ms, start_id="0-0",
                                                      count=self.batch)
            entries += [(stream, str(entry_id), fields) for entry_id, fields in result[1] if fields]
            if len(result[1]) == self.batch:
                self._next_claim = now  # there may be more
        if entries:
            log.warning("inbox: took over %d entries a stopped gateway process had not finished", len(entries))
        return entries

    async def _read(self, *, pending: bool = False) -> list[Entry]:
        """New entries, or (`pending`) the ones this consumer read and has not acknowledged."""
        response: Any = await self.redis.xreadgroup(keys.INBOX_GROUP, self.consumer,
                                                     dict.fromkeys(self.streams, "0" if pending else ">"),
                                                     count=self.batch, block=None if pending else _READ_BLOCK_MS)
        return [(str(stream), str(entry_id), fields)
                for stream, stream_entries in response or [] for entry_id, fields in stream_entries if fields]

    async def _process(self, entries: list[Entry]) -> None:
        by_address: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
        for stream, entry_id, fields in entries:
            raw = fields.get("item", "")
            try:
                item = decode(raw)
                key = (item.channel.value, item.address)
            except (ValueError, TypeError, KeyError) as exc:
                await self._dead(stream, entry_id, raw, f"undecodable: {exc!r}")
                continue
            by_address.setdefault(key, []).append((stream, entry_id, raw))
        await asyncio.gather(*(self._process_in_order(group) for group in by_address.values()))

    async def _process_in_order(self, group: list[tuple[str, str, str]]) -> None:
        for stream, entry_id, raw in group:
            try:
                await self.handle(decode(raw))
            except (asyncio.CancelledError, RedisError):
                raise  # left unacknowledged: this process (after Redis is back) or another takes it over
            except Exception as exc:
                log.exception("inbox: processing entry %s of %s failed", entry_id, stream)
                await self._dead(stream, entry_id, raw, repr(exc))
                continue
            await self.redis.xack(stream, keys.INBOX_GROUP, entry_id)

    async def _trim_finished(self) -> None:
        """Drop the entries every process has finished: those before the oldest one still
        pending (read, not yet acknowledged), or, with none pending, up to the last one
        the group read. Both only move forward, so an entry not yet answered is never cut.
        At most once a second (a busy stream is trimmed in one step, not per batch)."""
        now = asyncio.get_running_loop().time()
        if now < self._next_trim:
            return
        self._next_trim = now + 1.0
        for stream in self.streams:
            pending: Any = await self.redis.xpending(stream, keys.INBOX_GROUP)
            if pending["pending"]:
                oldest = str(pending["min"])
            else:
                groups: Any = await self.redis.xinfo_groups(stream)
                oldest = next((str(group["last-delivered-id"]) for group in groups
                               if group["name"] == keys.INBOX_GROUP), "0-0")
            await self.redis.xtrim(stream, minid=oldest, approximate=False)

    async def _dead(self, stream: str, entry_id: str, raw: str, error: str) -> None:
        """Kept aside for an operator instead of being retried for ever."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xadd(keys.INBOX_DEAD, {"item": raw, "error": error[:1000], "stream": stream, "entry": entry_id},
                      maxlen=10_000, approximate=True)
            pipe.xack(stream, keys.INBOX_GROUP, entry_id)
            await pipe.execute()
