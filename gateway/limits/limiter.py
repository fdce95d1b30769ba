"""One limiter for every rule: the generic cell rate algorithm (GCRA), one Redis key per
(rule, client) holding the client's "theoretical arrival time".

Redis keeps the count, so every gateway process limits a client together; the script
reads Redis's own clock, so processes whose clocks disagree still count alike. A client
that keeps within its rate holds no key at all once its burst has refilled (the key
expires then), so the limiter's memory is bounded by the clients active right now.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from aiohttp import web
from redis.asyncio import Redis

from gateway import keys
from gateway.limits.rules import Limits

# KEYS[1]: the client's key. ARGV: ms between events, burst, cost. Returns {allowed, retry after ms}.
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + interval * cost
local allowed_at = new_tat - interval * burst
if allowed_at > now then return {0, allowed_at - now} end
redis.call('SET', KEYS[1], new_tat, 'PX', math.max(1, new_tat - now))
return {1, 0}
"""

# KEYS[1]: the client's key. ARGV: ms between events. One counted event given back: the
# arrival time one interval earlier, never before now (a key at now is no key at all).
_REFUND = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tat = tonumber(redis.call('GET', KEYS[1]) or '0') - tonumber(ARGV[1])
if tat <= now then redis.call('DEL', KEYS[1]) return 0 end
redis.call('SET', KEYS[1], tat, 'PX', tat - now)
return 1
"""


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    # Seconds until the same event would be allowed (0 when it was).
    retry_after: float


ALLOWED = Decision(True, 0.0)


def limit_key(rule: str, client: str) -> str:
    # Hashed: a client id is whatever a caller sent (an address, a socket id), never a key part as is.
    digest = hashlib.sha256(client.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"{keys.PREFIX}:limit:{rule}:{digest}"


class Limiter:
    """`await limiter.hit("web_message_per_socket", sid)`: allowed, or how long to wait."""

    def __init__(self, redis: Redis, limits: Limits) -> None:
        self.limits = limits
        self._gcra = redis.register_script(_GCRA)
        self._refund = redis.register_script(_REFUND)

    async def hit(self, rule: str, client: str, cost: int = 1) -> Decision:
        """Counts one event (of `cost`) of `client` against `rule`, unless it is over the rate."""
        rate = self.limits.rate(rule)
        if rate is None:
            return ALLOWED
        interval_ms = rate.interval * 1000
        allowed, retry_ms = await self._gcra([limit_key(rule, client)], [interval_ms, rate.burst, cost])
        return ALLOWED if int(allowed) else Decision(False, max(0.001, float(retry_ms) / 1000))

    async def refund(self, rule: str, client: str) -> None:
        """Gives one counted event of `client` back to `rule` (e.g. a login that succeeded)."""
        rate = self.limits.rate(rule)
        if rate is not None:
            await self._refund([limit_key(rule, client)], [rate.interval * 1000])

    async def hit_all(self, checks: list[tuple[str, str]]) -> Decision:
        """Each (rule, client) in turn; the first refusal is the answer. Events an earlier
        rule allowed stay counted: a client refused by its address's rule was still active."""
        for rule, client in checks:
            decision = await self.hit(rule, client)
            if not decision.allowed:
                return decision
        return ALLOWED


LIMITER = web.AppKey("limiter", Limiter)
