"""The durable queue of shop webhooks and its workers.

An event goes in with the request change that caused it, in one Redis transaction
(`stage`): its hash (body, state, attempts) and its id on the queue, due at once. Every
process that has STORECHAT_SHOP_WEBHOOK_URL runs `run`: it claims the due events (one
script moves each a lease ahead, so nobody else takes it meanwhile; a process that dies
leaves it due again when the lease runs out) and POSTs each, signed (signing.py).

What happens to an answer: 2xx → delivered. A connection error, a timeout, 429 or a 5xx →
tried again after a capped exponential backoff with jitter (gateway/background.py), or the
receiver's Retry-After, until STORECHAT_SHOP_WEBHOOK_ATTEMPTS tries are spent; any other
answer (400, 401, 404, …) is the receiver's refusal, not a passing fault. A refused or
exhausted event is failed: `failed` says so on the case, and the log says it too. It is
`failing` (still on the queue, under the lease) until that note is written, then `failed`: a
process that dies in between leaves it to the next claimer, which writes the note (at least
once: a death right after the note may write it twice, never not at all). A retry
may reach a receiver that had taken the first try (the answer was lost): the receiver
deduplicates by the event id, which never changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

from core.types import Clock
from gateway.background import backoff_delays
from gateway.environment import ConfigError
from gateway.messaging.delivery import retry_after
from gateway.settings import Settings
from gateway.shop_events import keys
from gateway.shop_events.events import ShopEvent
from gateway.shop_events.signing import ATTEMPT_HEADER, EVENT_ID_HEADER, EVENT_TYPE_HEADER, SIGNATURE_HEADER, sign

log = logging.getLogger(__name__)

# A delivered or failed event's record (type, state, tries, last error) is kept this long for a
# look-up, then expires. Its body (which may hold a shopper's new address) is deleted as soon
# as it was delivered or given up on: personal data stays only while it is still to send.
EVENT_SECONDS = 30 * 24 * 3600
CALL_TIMEOUT_SECONDS = 10.0
# Longer than a call may take: a claimed event is nobody else's for this long.
LEASE_SECONDS = 30.0
BACKOFF_CAP_SECONDS = 300.0
POLL_SECONDS = 0.5
BATCH = 20
_REASON_CHARS = 300

# KEYS: the queue. ARGV: now (ms), the lease's end (ms), batch size. The due ids, each moved
# to the lease's end.
_CLAIM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(due) do redis.call('ZADD', KEYS[1], 'XX', ARGV[2], id) end
return due
"""


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    url: str
    secret: str = field(repr=False)
    attempts: int = 8
    # The first retry's wait; each next one doubles, at most BACKOFF_CAP_SECONDS.
    retry_seconds: float = 2.0
    cap_seconds: float = BACKOFF_CAP_SECONDS
    timeout_seconds: float = CALL_TIMEOUT_SECONDS


@dataclass(frozen=True, slots=True)
class Failed:
    """An event the shop did not take: which, for which conversation and request, and why."""

    event_id: str
    type: str
    conversation_id: str
    request_id: str
    reason: str


# Told of each failed event (it goes on the case: gateway/desk/request_actions.py).
OnFailed = Callable[[Failed], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class _Answer:
    delivered: bool
    reason: str = ""
    again: bool = False  # a passing fault: try again
    after: float | None = None  # the receiver's Retry-After


class ShopEventQueue:
    def __init__(self, redis: Redis, http: aiohttp.ClientSession, config: WebhookConfig, *,
                 clock: Clock = time.time) -> None:
        # The wall clock, not the conversations' (a test's may stand still): due times and the
        # signature's timestamp, which the receiver compares with its own clock.
        self.redis = redis
        self.http = http
        self.config = config
        self.clock = clock
        self.on_failed: OnFailed | None = None
        self._claim = redis.register_script(_CLAIM)
        self._wake = asyncio.Event()
        self._calls: set[asyncio.Task[None]] = set()

    def stage(self, pipe: Pipeline, event: ShopEvent) -> None:
        """Queue, on `pipe` (the transaction that records the action), the event for delivery."""
        key = keys.event(event.id)
        pipe.hset(key, mapping={
            "body": event.model_dump_json(), "type": event.type.value, "conversation_id": event.conversation_id,
            "request_id": event.request.id, "state": "queued", "attempts": 0, "last_error": "",
        })
        pipe.expire(key, EVENT_SECONDS)
        pipe.zadd(keys.QUEUE, {event.id: self._ms(0)}, nx=True)

    def wake(self) -> None:
        """An event was queued here: deliver now rather than at the next poll."""
        self._wake.set()

    def _ms(self, later: float) -> int:
        return int((self.clock() + later) * 1000)

    async def state(self, event_id: str) -> dict[str, str]:
        """The event's record (state, attempts, last_error, …); empty once it expired."""
        record: dict[Any, Any] = await self.redis.hgetall(keys.event(event_id))
        return {str(name): str(value) for name, value in record.items()}

    async def run(self, poll: float = POLL_SECONDS) -> None:
        """Deliver due events until cancelled; a Redis outage is waited out."""
        while True:
            try:
                if await self.deliver_due() == BATCH:
                    continue  # more may be due
            except RedisError as exc:
                log.warning("shop webhook queue: %r; trying again", exc)
            except Exception:  # a bug must not stop the deliveries: the event waits out its lease
                log.exception("shop webhook queue: a delivery broke; trying again")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), poll)

    async def deliver_due(self) -> int:
        """One pass: claim the due events and deliver each (at once, side by side); how many."""
        due = await self._claim(keys=[keys.QUEUE],
                                args=[self._ms(0), self._ms(LEASE_SECONDS), BATCH])
        ids = [str(event_id) for event_id in due]
        if ids:
            await asyncio.gather(*(self._deliver(event_id) for event_id in ids))
        return len(ids)

    async def _deliver(self, event_id: str) -> None:
        key = keys.event(event_id)
        record: dict[Any, Any] = await self.redis.hgetall(key)
        if record.get("state") == "failing":  # a predecessor failed it, and died before it was on the case
            await self._failed(event_id, record, record.get("last_error", ""))
            return
        if not record or record.get("state") != "queued":
            await self.redis.zrem(keys.QUEUE, event_id)  # expired, or finished by a predecessor
            return
        attempt = int(await self.redis.hincrby(key, "attempts", 1))
        answer = await self._post(event_id, record["type"], record["body"].encode("utf-8"), attempt)
        if answer.delivered:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.hset(key, mapping={"state": "delivered", "delivered_at": repr(self.clock())})
                pipe.hdel(key, "body")
                pipe.zrem(keys.QUEUE, event_id)
                await pipe.execute()
            log.info("shop webhook %s (%s) delivered on try %d", event_id, record["type"], attempt)
            return
        if answer.again and attempt < self.config.attempts:
            wait = backoff_delays(base=self.config.retry_seconds, cap=self.config.cap_seconds,
                                  attempts=attempt + 1)[-1]
            wait = max(wait, min(answer.after, self.config.cap_seconds)) if answer.after is not None else wait
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.hset(key, "last_error", answer.reason)
                pipe.zadd(keys.QUEUE, {event_id: self._ms(wait)}, xx=True)
                await pipe.execute()
            log.info("shop webhook %s: try %d: %s; again in %.1f s", event_id, attempt, answer.reason, wait)
            return
        await self._fail(event_id, record, attempt, answer.reason)

    async def _fail(self, event_id: str, record: dict[str, Any], attempt: int, reason: str) -> None:
        why = f"{reason} (try {attempt} of {self.config.attempts})"
        # Still queued under this process's lease: if it dies before the note is on the case,
        # the next claimer finds it `failing` and writes it.
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.event(event_id), mapping={"state": "failing", "last_error": why})
            pipe.hdel(keys.event(event_id), "body")
            await pipe.execute()
        log.warning("shop webhook %s (%s) for conversation %s failed: %s", event_id, record["type"],
                    record["conversation_id"], why)
        await self._failed(event_id, record, why)

    async def _failed(self, event_id: str, record: dict[str, Any], why: str) -> None:
        """The failure on the case, then the event done with (an error here leaves it `failing`, due again)."""
        if self.on_failed is not None:
            await self.on_failed(Failed(event_id, record["type"], record["conversation_id"], record["request_id"],
                                        why))
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.event(event_id), "state", "failed")
            pipe.zrem(keys.QUEUE, event_id)
            await pipe.execute()

    async def _post(self, event_id: str, event_type: str, body: bytes, attempt: int) -> _Answer:
        timestamp = int(self.clock())
        headers = {
            "Content-Type": "application/json", "User-Agent": "storechat-webhooks/1",
            SIGNATURE_HEADER: sign(self.config.secret, body, timestamp), EVENT_ID_HEADER: event_id,
            EVENT_TYPE_HEADER: event_type, ATTEMPT_HEADER: str(attempt),
        }
        try:
            async with self.http.post(self.config.url, data=body, headers=headers, allow_redirects=False,
                                      timeout=aiohttp.ClientTimeout(total=self.config.timeout_seconds)) as answer:
                text = (await answer.content.read(_REASON_CHARS)).decode(errors="replace")
                status, wait = answer.status, retry_after(answer.headers.get("Retry-After"), self.clock())
        except (aiohttp.ClientError, TimeoutError) as exc:
            return _Answer(False, f"{type(exc).__name__}: {exc}"[:_REASON_CHARS], again=True)
        if 200 <= status < 300:
            return _Answer(True)
        reason = f"HTTP {status}: {text}".strip()
        return _Answer(False, reason, again=status == 429 or status >= 500, after=wait)


def queue_from_settings(redis: Redis, http: aiohttp.ClientSession, settings: Settings) -> ShopEventQueue | None:
    """The queue if STORECHAT_SHOP_WEBHOOK_URL is set (it needs its secret); None otherwise."""
    if settings.shop_webhook_url is None:
        return None
    if not settings.shop_webhook_secret:
        raise ConfigError("STORECHAT_SHOP_WEBHOOK_URL is set but STORECHAT_SHOP_WEBHOOK_SECRET is not: "
                          "the shop could not tell storechat's webhooks from forged ones")
    return ShopEventQueue(redis, http, WebhookConfig(
        url=settings.shop_webhook_url, secret=settings.shop_webhook_secret, attempts=settings.shop_webhook_attempts,
        retry_seconds=settings.shop_webhook_retry_seconds))
