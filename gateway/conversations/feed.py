"""Following every case's new events, once each, in order: what keeps rollups and indexes current.

Every event appended to a case (gateway/conversations/store.py `append_event`) also adds
the conversation's id to one stream, the feed. A *projection* — the report rollups, the
complaint clusters, the conversation directory — reads it through its own consumer group
and, for each conversation named, folds the events it has not seen yet. Its cursor (the
last stream id it folded) and its per-conversation state live in one hash that is watched
while it folds, and the cursor moves in the same MULTI as the projection's writes: two
gateway processes, or a redelivered feed entry, can never fold an event twice, and one
conversation's events are always folded in their order. A feed entry names a
conversation, not an event, so a burst of events costs one fold.

The feed is bounded (`FEED_MAXLEN` in the store, approximately); a projection that falls further
behind than that (a long outage) is rebuilt from the cases themselves with `rebuild`.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError, ResponseError, WatchError

from core.types import Conversation, Event
from gateway import keys
from gateway.conversations.store import conversation_from_hash, event_from_entry

log = logging.getLogger(__name__)

# Events folded per read of a case's stream (a case with more is folded in several steps).
EVENTS_PER_FOLD = 500
_READ_BLOCK_MS = 2000
# After a read that was not a full batch, the follower waits this long for more: a turn's
# events (the shopper's message, the bot's answers, a state change) are then folded in one
# go per conversation and projection, not one fold per event; reports lag by this much at most.
LINGER_SECONDS = 1.0
_BACKOFF_CAP = 5.0
CURSOR = "cursor"

Write = Callable[[Pipeline], None]


@dataclass(frozen=True, slots=True)
class Projected:
    """What a projection made of a conversation's new events.

    `state` replaces its stored state (strings; the cursor is added by the follower);
    `write` queues its Redis writes on the transaction that also moves the cursor.
    """

    state: Mapping[str, str]
    write: Write | None = None


class Projection(Protocol):
    @property
    def name(self) -> str:
        """Names its consumer group and its per-conversation state (`keys.projection_state`)."""
        ...

    async def project(self, redis: Redis, conversation: Conversation, state: Mapping[str, str],
                      events: Sequence[Event]) -> Projected:
        """Fold `events` (new, in order) into `state`. Reads may happen here; writes only in
        `Projected.write`, which runs inside the transaction (so a retry re-reads and re-folds)."""
        ...

    async def reset(self, redis: Redis) -> None:
        """Delete everything the projection wrote (before a rebuild)."""
        ...


@dataclass
class Follower:
    redis: Redis
    projection: Projection
    claim_idle_ms: int = 60_000
    batch: int = 100
    linger_seconds: float = LINGER_SECONDS
    consumer: str = field(default_factory=lambda: f"gateway-{uuid.uuid4().hex[:12]}")

    @property
    def group(self) -> str:
        return self.projection.name

    async def ensure_group(self, start: str = "0") -> None:
        """The projection's consumer group; a new one reads the whole feed (folding is idempotent,
        so what was folded before is skipped), `rebuild`'s starts at its end."""
        try:
            await self.redis.xgroup_create(keys.FEED, self.group, id=start, mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def run(self) -> None:
        """Fold for ever (a background task of every gateway process)."""
        delay = 0.1
        while True:
            try:
                await self.ensure_group()
                while True:
                    read = await self.step(block_ms=_READ_BLOCK_MS)
                    delay = 0.1
                    if 0 < read < self.batch:
                        await asyncio.sleep(self.linger_seconds)
            except RedisError as exc:
                log.warning("%s: Redis unavailable (%s); retrying in %.1f s", self.group, exc, delay)
            except Exception:  # a bug in one fold must not stop the reports for good
                log.exception("%s: folding failed; restarting in %.1f s", self.group, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, _BACKOFF_CAP)

    async def step(self, *, block_ms: int | None = None) -> int:
        """Read one batch of feed entries (stale ones of a stopped process first), fold the
        conversations they name, acknowledge them; how many entries there were."""
        entries = await self._claim_stale() or await self._read(block_ms)
        if not entries:
            return 0
        conversation_ids = list(dict.fromkeys(cid for _, cid in entries))
        await asyncio.gather(*(self.catch_up(cid) for cid in conversation_ids))
        await self.redis.xack(keys.FEED, self.group, *[entry_id for entry_id, _ in entries])
        return len(entries)

    async def drain(self) -> None:
        """Fold until the feed has nothing new for this projection (tests, `demo-data`)."""
        await self.ensure_group()
        while await self.step():
            pass

    async def catch_up(self, conversation_id: str) -> None:
        """Fold every event of the conversation this projection has not folded yet."""
        while await self._fold_once(conversation_id):
            pass

    async def _fold_once(self, conversation_id: str) -> bool:
        """One fold of up to EVENTS_PER_FOLD new events; True if there may be more."""
        state_key = keys.projection_state(self.group, conversation_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(state_key)
                    state: dict[Any, Any] = await pipe.hgetall(state_key)
                    cursor = state.pop(CURSOR, None)
                    entries = await pipe.xrange(keys.conversation_events(conversation_id),
                                                min=f"({cursor}" if cursor else "-", count=EVENTS_PER_FOLD)
                    if not entries:
                        return False
                    raw = await pipe.hgetall(keys.conversation(conversation_id))
                    if not raw:
                        return False  # deleted meanwhile: nothing to fold into
                    events = [event_from_entry(entry_id, fields or {}) for entry_id, fields in entries]
                    projected = await self.projection.project(self.redis, conversation_from_hash(raw),
                                                              state, events)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.delete(state_key)
                    written: dict[Any, Any] = {**projected.state, CURSOR: events[-1].id}
                    pipe.hset(state_key, mapping=written)
                    if projected.write is not None:
                        projected.write(pipe)
                    await pipe.execute()
                    return len(entries) == EVENTS_PER_FOLD
                except WatchError:
                    continue  # another process folded this conversation meanwhile: re-read

    async def _claim_stale(self) -> list[tuple[str, str]]:
        result: Any = await self.redis.xautoclaim(keys.FEED, self.group, self.consumer,
                                                  min_idle_time=self.claim_idle_ms, start_id="0-0",
                                                  count=self.batch)
        return _entries(result[1])

    async def _read(self, block_ms: int | None) -> list[tuple[str, str]]:
        response: Any = await self.redis.xreadgroup(self.group, self.consumer, {keys.FEED: ">"},
                                                     count=self.batch, block=block_ms)
        return [entry for _, stream_entries in response or [] for entry in _entries(stream_entries)]


def _entries(raw: Iterable[Any]) -> list[tuple[str, str]]:
    return [(str(entry_id), str(fields["c"])) for entry_id, fields in raw if fields and "c" in fields]


async def rebuild(redis: Redis, projection: Projection, *, batch: int = 500) -> int:
    """Fold every case from its first event: after a projection changed, or fell behind the
    feed. Its consumer group starts at the feed's end, so nothing is folded twice. How many
    conversations were folded."""
    follower = Follower(redis, projection)
    await redis.xgroup_destroy(keys.FEED, follower.group)
    await projection.reset(redis)
    async for key in redis.scan_iter(match=keys.projection_state(follower.group, "*"), count=1000):
        await redis.delete(key)
    await follower.ensure_group(start="$")
    folded = 0
    pending: list[str] = []
    async for key in redis.scan_iter(match=keys.conversation("*"), count=1000, _type="hash"):
        conversation_id = str(key).removeprefix(keys.conversation(""))
        if ":" in conversation_id:
            continue  # a case's survey or other hash beside it, not a conversation
        pending.append(conversation_id)
        if len(pending) >= batch:
            folded += await _catch_up_all(follower, pending)
            pending = []
    return folded + await _catch_up_all(follower, pending)


async def _catch_up_all(follower: Follower, conversation_ids: list[str]) -> int:
    await asyncio.gather(*(follower.catch_up(cid) for cid in conversation_ids))
    return len(conversation_ids)
