"""Retention: how long storechat keeps a case, a visitor's trail and Rasa's tracker
(config/retention.yml, STORECHAT_RETENTION), enforced by the system itself.

Two mechanisms, each where it fits:

- **Visitor trails and Rasa trackers expire in Redis** (EXPIRE, refreshed on every event
  or turn): each is a key or two written in one place, so the TTL is set there
  (gateway/proactive/visitors.py; Rasa's `record_exp`, which gateway/run/processes.py hands
  Rasa from this file). Nothing has to run for them to go.
- **Cases are swept.** A case is a dozen keys written from many places (the store, the
  state machine, verification, requests, the survey, four projections) plus what the
  reports and the directory keep of it; refreshing a TTL on all of them on every event would
  be a write per key per event, and a TTL cannot pseudonymise a complaint. So every gateway
  process runs a sweeper: each tick, the one process that wins `SWEEP_CLAIM` (SET NX with a
  TTL, so a process that died frees it) takes at most `BATCH` cases whose last activity is
  older than the retention — read from the conversation directory's `DIRECTORY_ALL`, which
  is scored by exactly that — and forgets each (gateway/privacy/forget.py), re-checking the
  case's own newest event under a WATCH, so a shopper who writes again in that moment keeps
  their case. Work per tick is bounded; a backlog (the first start with a long history)
  goes at BATCH cases a tick. A contact goes with its last case. A case whose forgetting
  fails is logged and steps aside (its index score moves RETRY_SECONDS on), so broken
  cases never fill the head of the index and stop the sweep.

The directory is kept by the report workers (STORECHAT_REPORT_WORKER, on by default): with
none running, no case expires (and no report is current either).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.types import Clock
from gateway import keys
from gateway.privacy.contact_data import drop_contact
from gateway.privacy.forget import Forget
from gateway.privacy.keys import SWEEP_CLAIM
from gateway.privacy.policy import RetentionPolicy

log = logging.getLogger(__name__)

# Cases forgotten per tick at most, and how often a tick comes.
BATCH = 100
TICK_SECONDS = 60.0
_BACKOFF_CAP = 60.0
# A case whose forgetting failed steps out of the head of the index for this long (its score
# moves on, so the next tick reads the next cases), and is tried again then.
RETRY_SECONDS = 86_400.0

@dataclass(frozen=True, slots=True)
class Sweeper:
    redis: Redis
    forget: Forget
    policy: RetentionPolicy
    clock: Clock
    batch: int = BATCH

    async def sweep(self, *, claim_seconds: float = TICK_SECONDS) -> int:
        """One tick: forget up to `batch` expired cases, if this process holds the tick's claim.
        How many cases were forgotten."""
        claimed = await self.redis.set(SWEEP_CLAIM, secrets.token_hex(8), nx=True,
                                       px=max(1, round(claim_seconds * 1000)))
        if not claimed:
            return 0
        cutoff = self.clock() - self.policy.conversation_seconds
        due = await self.redis.zrangebyscore(keys.DIRECTORY_ALL, "-inf", f"({cutoff!r}", start=0, num=self.batch)
        forgotten = 0
        for conversation_id in map(str, due):
            try:
                case = await self.forget.case(conversation_id, erase=False,
                                              pseudonym=f"expired-{secrets.token_hex(6)}",
                                              still=lambda last: last < cutoff)
            except RedisError:
                raise
            except Exception:  # one broken case must not hold up the others
                log.exception("retention: case %s could not be forgotten; tried again in %.0f h",
                              conversation_id, RETRY_SECONDS / 3600)
                await self.redis.zadd(keys.DIRECTORY_ALL, {conversation_id: cutoff + RETRY_SECONDS}, xx=True)
                continue
            if case is None:
                await self._skip(conversation_id)
                continue
            forgotten += 1
            await drop_contact(self.redis, case.contact_id, [case.identity], only_if_empty=True)
        if forgotten:
            log.info("retention: %d cases older than %d days forgotten", forgotten, self.policy.conversations_days)
        return forgotten

    async def _skip(self, conversation_id: str) -> None:
        """A due entry that was not forgotten: gone already (drop the entry), or active again
        (its newest event, until the directory folds it)."""
        raw = await self.redis.hget(keys.conversation(conversation_id), "updated_at")
        last: Any = await self.redis.xrevrange(keys.conversation_events(conversation_id), count=1)
        if raw is None and not last:
            await self.redis.zrem(keys.DIRECTORY_ALL, conversation_id)
            return
        newest = max(float(raw or 0.0), *(float(fields.get("at") or 0.0) for _, fields in last))
        await self.redis.zadd(keys.DIRECTORY_ALL, {conversation_id: newest}, xx=True, gt=True)

    async def run(self, interval: float = TICK_SECONDS) -> None:
        """Sweep for ever (a background task of every gateway process)."""
        delay = 1.0
        while True:
            try:
                await self.sweep(claim_seconds=interval)
                delay = 1.0
                await asyncio.sleep(interval)
                continue
            except RedisError as exc:
                log.warning("retention: Redis unavailable (%s); retrying in %.0f s", exc, delay)
            except Exception:  # one broken case must not stop retention for good
                log.exception("retention: sweeping failed; retrying in %.0f s", delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, _BACKOFF_CAP)
