"""Per-conversation leases in Redis: whoever holds a conversation's lease works through one
of its queues, here or in another process — its turns (gateway/conversations/turns.py) or
its messages to a texter (gateway/messaging/outbound.py).

A lease is a key holding the holder's token with a TTL. The holder extends it while it works
(`keep`), and each extension also moves the queue's score in its schedule (a sorted set of
the conversations with a queue), so the sweeper that looks for queues nobody works on passes
live holders by. A holder that stops gives the lease back (`give_back`); one that died stops
extending it, and the lease runs out. Taking a lease, and giving it back when the queue is
empty, are the queue's own scripts: they check the queue in the same step.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# KEYS: lease, schedule. ARGV: token, ms, conversation id, score. Extends the lease if the
# caller holds it, and moves the queue's score in the schedule (only if it is there).
_EXTEND = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('ZADD', KEYS[2], 'XX', ARGV[4], ARGV[3])
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
"""

# KEYS: lease. ARGV: token. Gives the lease back (a stopping process), if the caller holds it.
_GIVE_BACK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# KEYS: queue, schedule. ARGV: conversation id. Off the schedule if its queue is gone (erased,
# or expired), in one step: a message pushed meanwhile keeps it there.
_FORGET_GONE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
return redis.call('ZREM', KEYS[2], ARGV[1])
"""


class Leases:
    """The leases on one kind of queue, and its schedule (`keys.TURNS_WAITING`, `keys.OUTBOUND_DUE`)."""

    def __init__(self, redis: Redis, schedule: str, *, lease_ms: int, heartbeat_seconds: float) -> None:
        self.redis = redis
        self.schedule = schedule
        self.lease_ms = lease_ms
        self.heartbeat_seconds = heartbeat_seconds
        self._extend = redis.register_script(_EXTEND)
        self._give_back = redis.register_script(_GIVE_BACK)
        self._forget_gone = redis.register_script(_FORGET_GONE)

    async def keep(self, lease: str, conversation_id: str, token: str, score: Callable[[], float]) -> None:
        """Extend the lease every heartbeat while it is the caller's (a task the holder cancels
        when it is done); `score()`: the queue's score in the schedule meanwhile."""
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            try:
                if not await self._extend(keys=[lease, self.schedule],
                                          args=[token, self.lease_ms, conversation_id, score()]):
                    return
            except RedisError as exc:
                log.warning("lease %s not extended: %s", lease, exc)

    async def give_back(self, lease: str, token: str) -> None:
        await self._give_back(keys=[lease], args=[token])

    async def forget_gone(self, queue: str, conversation_id: str) -> bool:
        """Whether the conversation was off the schedule because its queue is gone."""
        return bool(await self._forget_gone(keys=[queue, self.schedule], args=[conversation_id]))
