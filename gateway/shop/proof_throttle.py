"""Growing waits for whoever keeps failing to prove an order with a typed proof.

A wrong email or postal code slows down the one who typed it, where they are: the
conversation, the device or session it came from (the conversation's channel address:
the web session id, the phone number, the PSID) and, on the web, the network address the
shopper last wrote from. Never the order: locking the order let four throwaway chats lock
its owner out for an hour — also of order numbers that did not exist yet.

Each client has a few free failures (a network address more, as a household or an office
shares one); the failure that uses them up costs a minute's wait, each further one twice
the one before, at most an hour. A client quiet for a day after its wait is forgotten.
This is not one of the rates of gateway/limits/: a rate lets a patient guesser go on at
that rate for ever, where here the n-th wrong guess costs 2ⁿ minutes, while an owner who
mistyped three times waits one.

An attempt is counted before the proof is checked, in one step for all its clients, so
parallel guesses cannot all slip in; a proof that succeeds gives its attempt back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

from core.types import Conversation
from gateway import keys
from gateway.limits.clients import rate_client

# Free failures per kind of client before the waits begin.
CONVERSATION_FREE = 3
ADDRESS_FREE = 3
NETWORK_FREE = 10
FIRST_WAIT_MS = 60_000
LONGEST_WAIT_MS = 3_600_000
# Failures are forgotten this long after the wait they earned (or the failure itself).
FORGET_MS = 24 * 3_600_000

# KEYS: the clients' hashes {failures, until}. ARGV: first wait, longest wait, forget, then
# each client's free failures. Returns {-1, ms to wait} when a client must still wait
# (nothing counted), else {attempts left before a wait, the wait this attempt would earn}.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local first, longest, forget = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local wait = 0
for _, key in ipairs(KEYS) do
  local left = tonumber(redis.call('HGET', key, 'until') or '0') - now
  if left > wait then wait = left end
end
if wait > 0 then return {-1, wait} end
local attempts, earned = -1, 0
for i, key in ipairs(KEYS) do
  local free = tonumber(ARGV[3 + i])
  local failures = redis.call('HINCRBY', key, 'failures', 1)
  local delay = 0
  if failures >= free then
    delay = math.floor(math.min(longest, first * 2 ^ math.min(failures - free, 32)))
    redis.call('HSET', key, 'until', now + delay)
  end
  redis.call('PEXPIRE', key, delay + forget)
  local left = math.max(0, free - failures)
  if attempts < 0 or left < attempts then attempts = left end
  if delay > earned then earned = delay end
end
return {attempts, earned}
"""

# A proof that succeeded: its attempt back, and no wait where that leaves the client free.
_REFUND = """
for i, key in ipairs(KEYS) do
  local failures = tonumber(redis.call('HGET', key, 'failures') or '0')
  if failures > 0 then
    failures = redis.call('HINCRBY', key, 'failures', -1)
    if failures < tonumber(ARGV[i]) then redis.call('HDEL', key, 'until') end
  end
end
return 0
"""


@dataclass(frozen=True, slots=True)
class Client:
    key: str
    free: int


@dataclass(frozen=True, slots=True)
class Attempt:
    """A counted attempt: the attempts left before a wait begins, and (when none are left)
    the seconds the client now waits."""

    attempts_left: int
    retry_after: int | None


class MustWait(Exception):
    """A client of this attempt is still waiting out its earlier failures."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"wait {retry_after} s")
        self.retry_after = retry_after


def _seconds(ms: int) -> int:
    return max(1, -(-ms // 1000))


class ProofThrottle:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._reserve = redis.register_script(_RESERVE)
        self._refund = redis.register_script(_REFUND)

    async def clients(self, conversation_id: str, conversation: Conversation | None) -> list[Client]:
        """The conversation; for one we know, also its channel address and the network
        address its shopper last wrote from (web chat keeps it)."""
        found = [Client(keys.verification_failures(conversation_id), CONVERSATION_FREE)]
        if conversation is None:
            return found
        address = f"{conversation.channel.value}:{conversation.address}"
        found.append(Client(keys.verification_client_failures("address", address), ADDRESS_FREE))
        network = await self.redis.get(keys.conversation_client(conversation_id))
        if network:
            found.append(Client(keys.verification_client_failures("network", rate_client(str(network))),
                                NETWORK_FREE))
        return found

    async def reserve(self, clients: Sequence[Client]) -> Attempt:
        """Counts an attempt against every client, or raises MustWait (and counts nothing)."""
        attempts, earned = await self._reserve(
            [client.key for client in clients],
            [FIRST_WAIT_MS, LONGEST_WAIT_MS, FORGET_MS, *(client.free for client in clients)],
        )
        if int(attempts) < 0:
            raise MustWait(_seconds(int(earned)))
        return Attempt(int(attempts), _seconds(int(earned)) if int(earned) > 0 else None)

    async def refund(self, clients: Sequence[Client]) -> None:
        await self._refund([client.key for client in clients], [client.free for client in clients])

    async def standing(self, clients: Sequence[Client]) -> Attempt:
        """The clients' attempts left and wait, counting nothing (for a possession proof's
        answer, which must read like a typed one's)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for client in clients:
                pipe.hmget(client.key, ["failures", "until"])
            pipe.time()
            *rows, (seconds, micros) = await pipe.execute()
        now = int(seconds) * 1000 + int(micros) // 1000
        left = min(max(0, client.free - int(failures or 0)) for client, (failures, _) in zip(clients, rows))
        wait = max(int(until or 0) - now for _, until in rows)
        return Attempt(left, _seconds(wait) if wait > 0 else None)
