"""One conversation's messages are answered one at a time, in order, whichever process took them.

A shopper's message goes on the case and on its conversation's turn queue in one
transaction (`ConversationStore.append_shopper_message` with `TurnQueue.push`). Whoever
holds the conversation's lease (a Redis key with a token and a TTL) works through the
queue, oldest first; the lease is extended while a turn runs and given back only when the
queue is empty — one script checks both, so a message pushed meanwhile is never left
without a worker. A process that died holding a lease stops extending it; the sweeper of
every process looks for queues that have not moved for a while and takes one over as soon
as its lease has expired. Different conversations' turns run side by side.

A turn is answered at least once: a process that dies in the middle of one leaves it at the
head of the queue, and the next holder answers it again (the shopper may read the answer
twice; their message is stored once).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.types import Clock
from gateway import keys
from gateway.conversations.leases import Leases

log = logging.getLogger(__name__)

# A holder extends its lease every HEARTBEAT_SECONDS; one that stopped loses it after LEASE_MS.
LEASE_MS = 6_000
HEARTBEAT_SECONDS = 2.0
# The sweeper looks every SWEEP_SECONDS at queues that have not moved for STALE_SECONDS.
SWEEP_SECONDS = 1.0
STALE_SECONDS = 2.0
SWEEP_BATCH = 100
# A queue nobody answers (no gateway running) is kept this long: a week of a shop's downtime.
QUEUE_SECONDS = 7 * 24 * 3600

# KEYS: lease, queue, waiting. ARGV: token, lease ms, conversation id.
# Takes the lease and returns the queue's head: -1 if another holds the lease; 0 if the
# queue is empty (the lease given back at once, the conversation off the waiting set).
_TAKE = """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return -1 end
local head = redis.call('LINDEX', KEYS[2], 0)
if head then return head end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[3], ARGV[3])
return 0
"""

# KEYS: lease, queue, waiting. ARGV: token, conversation id, now.
# Drops the answered head and returns the next: -1 if the caller lost the lease; 0 if the
# queue is empty now (the lease given back, in the same step, so no message is left behind).
_NEXT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
redis.call('LPOP', KEYS[2])
local head = redis.call('LINDEX', KEYS[2], 0)
if head then
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
  return head
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[3], ARGV[2])
return 0
"""

@dataclass(frozen=True, slots=True)
class Turn:
    """A shopper message waiting for its answer: what the bot and the gateway's rules read.

    `text` is what the shopper sent (a tapped quick reply's payload), `read` what the bot
    reads of it; `metadata` only what the bot may learn (gateway/conversations/loop.py)."""

    text: str
    read: str
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def encode(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def decode(cls, raw: str) -> Turn:
        data = json.loads(raw)
        return cls(text=str(data["text"]), read=str(data["read"]), metadata=dict(data.get("metadata") or {}))


Answer = Callable[[str, Turn], Awaitable[None]]


class TurnQueue:
    def __init__(self, redis: Redis, clock: Clock, *, lease_ms: int = LEASE_MS,
                 heartbeat_seconds: float = HEARTBEAT_SECONDS, stale_seconds: float = STALE_SECONDS) -> None:
        self.redis = redis
        self.clock = clock
        self.lease_ms = lease_ms
        self.stale_seconds = stale_seconds
        self._answer: Answer | None = None
        self._take = redis.register_script(_TAKE)
        self._next = redis.register_script(_NEXT)
        self.leases = Leases(redis, keys.TURNS_WAITING, lease_ms=lease_ms, heartbeat_seconds=heartbeat_seconds)
        # Conversations this process is answering, and the tasks kicked off for them.
        self._holding: dict[str, str] = {}
        # Asked for while this process was at them: looked at again when the holder is done
        # (a message pushed just after the holder found the queue empty is not left waiting).
        self._again: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def answer_with(self, answer: Answer) -> None:
        """Who answers a turn (the conversation loop); set once, before any turn runs."""
        self._answer = answer

    def push(self, pipe: Any, conversation_id: str, turn: Turn) -> None:
        """Queue, on `pipe` (the transaction that stores the message), the message's turn."""
        queue = keys.turn_queue(conversation_id)
        pipe.rpush(queue, turn.encode())
        pipe.expire(queue, QUEUE_SECONDS)
        pipe.zadd(keys.TURNS_WAITING, {conversation_id: self.clock()}, nx=True)

    async def run(self, conversation_id: str) -> None:
        """Answer the conversation's queue here, unless another holder (here or in another
        process) is at it already: then that one answers the new message too."""
        if conversation_id in self._holding:
            self._again.add(conversation_id)
            return
        self._again.discard(conversation_id)
        token = uuid.uuid4().hex
        lease = keys.turn_lease(conversation_id)
        head = await self._take(keys=[lease, keys.turn_queue(conversation_id), keys.TURNS_WAITING],
                                args=[token, self.lease_ms, conversation_id])
        if isinstance(head, int):
            return  # another holder is at it (-1), or nothing is queued (0)
        self._holding[conversation_id] = token
        # While it works, the queue counts as moving (the sweeper looks at stale ones only).
        heartbeat = asyncio.create_task(self.leases.keep(lease, conversation_id, token, self.clock),
                                        name=f"turn-lease-{conversation_id}")
        try:
            await self._drain(conversation_id, token, str(head))
        except asyncio.CancelledError:
            # Stopping: the turn stays queued, and another process need not wait for the lease.
            with contextlib.suppress(RedisError):
                await self.leases.give_back(lease, token)
            raise
        finally:
            heartbeat.cancel()
            del self._holding[conversation_id]
        if conversation_id in self._again:
            self.kick(conversation_id)

    def kick(self, conversation_id: str) -> None:
        """`run` in the background (the web chat acknowledges a message before its turn)."""
        task = asyncio.create_task(self._run_logged(conversation_id), name=f"turns-{conversation_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_logged(self, conversation_id: str) -> None:
        try:
            await self.run(conversation_id)
        except RedisError as exc:
            # The queue is kept: the sweeper takes it up again once Redis answers.
            log.warning("turns of conversation %s wait: Redis unavailable (%s)", conversation_id, exc)

    async def _drain(self, conversation_id: str, token: str, head: str) -> None:
        pointers = [keys.turn_lease(conversation_id), keys.turn_queue(conversation_id), keys.TURNS_WAITING]
        while True:
            await self._answer_one(conversation_id, head)
            following = await self._next(keys=pointers, args=[token, conversation_id, self.clock()])
            if following == -1:
                # Another process took over (this one stalled past the lease): it answers the rest.
                log.warning("turns of conversation %s: lost the lease during a turn", conversation_id)
                return
            if following == 0:
                return  # the queue is empty and the lease given back
            head = str(following)

    async def _answer_one(self, conversation_id: str, raw: str) -> None:
        if self._answer is None:
            raise RuntimeError("TurnQueue.answer_with was never called")
        try:
            turn = Turn.decode(raw)
        except (ValueError, KeyError, TypeError) as exc:
            log.error("conversation %s: an unreadable turn is dropped (%r): %.200s", conversation_id, exc, raw)
            return
        try:
            await self._answer(conversation_id, turn)
        except (asyncio.CancelledError, RedisError):
            raise  # the turn stays at the head of the queue for the next holder
        except Exception:
            # A bug must not hold up the conversation for ever: the message is on the case.
            log.exception("conversation %s: answering a turn failed; it is skipped", conversation_id)

    async def sweep(self) -> int:
        """Take up the queues that have not moved for a while and have no live holder."""
        stale = await self.redis.zrangebyscore(keys.TURNS_WAITING, "-inf", self.clock() - self.stale_seconds,
                                               start=0, num=SWEEP_BATCH)
        taken = 0
        for conversation_id in map(str, stale):
            if conversation_id in self._holding:
                continue
            if await self.leases.forget_gone(keys.turn_queue(conversation_id), conversation_id):
                continue  # erased meanwhile
            if not await self.redis.exists(keys.turn_lease(conversation_id)):
                log.warning("turns of conversation %s: taking over a queue nobody answers", conversation_id)
                self.kick(conversation_id)
                taken += 1
        return taken

    async def sweep_forever(self, interval: float = SWEEP_SECONDS) -> None:
        while True:
            try:
                await self.sweep()
            except RedisError as exc:
                log.warning("turn sweeper: Redis unavailable (%s)", exc)
            await asyncio.sleep(interval)

    async def stop(self) -> None:
        """Stop answering; each cancelled holder gives its lease back (see `run`)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
