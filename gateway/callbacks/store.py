"""Call-backs in Redis: one per conversation at a time, the list of open ones by their slot,
and every step as an event on the case, all written in one transaction.

A conversation's call-back is a hash (keys.conversation_callback) that expires RECORD_DAYS
after its slot: the case's events are the record, the hash only what the team works from.
Open call-backs are in keys.CALLBACKS_DUE, scored by their slot, at most MAX_OPEN of them;
reminders still to go in keys.CALLBACK_REMINDERS.

What bounds the open list per client: one call-back per conversation (asking again changes
it), and a web client gets conversations only within web_conversation_per_address (and its
call-back requests within web_callback_per_address, each number within
callback_request_per_phone: config/limits.yml). Filling MAX_OPEN takes as many conversations
as that, i.e. many client addresses, not a few.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import WatchError

from core.types import Clock, EventKind
from gateway import keys
from gateway.conversations.store import Fields, append_event, event_fields

# Open call-backs the whole shop may have at once: a bound on the list, far above any team's day.
MAX_OPEN = 10_000
RECORD_DAYS = 30
# Tries at an unanswered call before the shopper counts as unreachable.
MAX_ATTEMPTS = 3


class Status(StrEnum):
    OPEN = "open"
    REACHED = "reached"
    UNREACHABLE = "unreachable"


class Step(StrEnum):
    """What a call-back event on the case says happened."""

    REQUESTED = "requested"
    REACHED = "reached"
    NO_ANSWER = "no_answer"
    RESCHEDULED = "rescheduled"
    UNREACHABLE = "unreachable"
    REMINDED = "reminded"


class CallbacksFull(Exception):
    """MAX_OPEN call-backs are open: no new one is taken until the team works some off."""


class NotOpen(LookupError):
    """The conversation has no open call-back (none asked for, or it was completed meanwhile)."""


@dataclass(frozen=True, slots=True)
class Callback:
    conversation_id: str
    phone: str
    slot: float  # epoch seconds of the slot's start
    status: Status
    attempts: int  # calls that went unanswered
    team: str
    locale: str
    requested_at: float
    # How the shopper asked: the widget's button, the bot's answer, a proactive offer.
    via: str
    updated_at: float
    # The number is one the shopper proved is theirs (Callbacks.proven_phones): only such a
    # number is sent the SMS reminder.
    proven: bool = False

    def to_hash(self) -> Fields:
        raw: Fields = {name: str(value) for name, value in asdict(self).items()}
        raw.update(slot=repr(self.slot), requested_at=repr(self.requested_at), updated_at=repr(self.updated_at))
        return raw

    @classmethod
    def from_hash(cls, raw: Mapping[Any, Any]) -> Callback:
        return cls(conversation_id=raw["conversation_id"], phone=raw["phone"], slot=float(raw["slot"]),
                   status=Status(raw["status"]), attempts=int(raw["attempts"]), team=raw["team"],
                   locale=raw["locale"], requested_at=float(raw["requested_at"]), via=raw["via"],
                   updated_at=float(raw["updated_at"]), proven=raw.get("proven") == "True")

    def event_data(self, step: Step, **extra: Any) -> dict[str, Any]:
        """The case event of a step: what the timeline and the reports read (times in ms)."""
        return {"step": step.value, "phone": self.phone, "slot": round(self.slot * 1000), "status": self.status.value,
                "attempts": self.attempts, "team": self.team, "via": self.via,
                **{key: value for key, value in extra.items() if value is not None}}


class CallbackStore:
    def __init__(self, redis: Redis, clock: Clock = time.time) -> None:
        self.redis = redis
        self.clock = clock

    async def get(self, conversation_id: str) -> Callback | None:
        raw = await self.redis.hgetall(keys.conversation_callback(conversation_id))
        return Callback.from_hash(raw) if raw else None

    async def due(self, limit: int = 200) -> list[Callback]:
        """The open call-backs, soonest slot first."""
        ids = await self.redis.zrange(keys.CALLBACKS_DUE, 0, limit - 1)
        async with self.redis.pipeline(transaction=False) as pipe:
            for conversation_id in ids:
                pipe.hgetall(keys.conversation_callback(str(conversation_id)))
            raws: list[dict[str, str]] = await pipe.execute()
        # A record that expired open (nobody worked it for RECORD_DAYS) leaves the list too.
        if gone := [str(conversation_id) for conversation_id, raw in zip(ids, raws, strict=True) if not raw]:
            await self.redis.zrem(keys.CALLBACKS_DUE, *gone)
        return [Callback.from_hash(raw) for raw in raws if raw and raw.get("status") == Status.OPEN.value]

    async def write(self, callback: Callback, step: Step, *, expect_open: bool, reminder_at: float | None = None,
                    by: str | None = None, new: bool = False) -> Callback:
        """Store `callback` (its status decides its place in the open list) with its step's event.

        `expect_open`: only while the conversation's call-back is still open (two agents
        recording an outcome at once: one wins, NotOpen for the other). `new`: a request,
        refused with CallbacksFull when MAX_OPEN others are open.
        """
        key = keys.conversation_callback(callback.conversation_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key, keys.CALLBACKS_DUE)
                    current = await pipe.hget(key, "status")
                    if expect_open and current != Status.OPEN.value:
                        raise NotOpen(callback.conversation_id)
                    if new and current != Status.OPEN.value and await pipe.zcard(keys.CALLBACKS_DUE) >= MAX_OPEN:
                        raise CallbacksFull()
                    now = self.clock()
                    written = replace(callback, updated_at=now)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.hset(key, mapping=written.to_hash())
                    pipe.expireat(key, int(max(written.slot, now)) + RECORD_DAYS * 86400)
                    if written.status is Status.OPEN:
                        pipe.zadd(keys.CALLBACKS_DUE, {written.conversation_id: written.slot})
                    else:
                        pipe.zrem(keys.CALLBACKS_DUE, written.conversation_id)
                    if reminder_at is not None and written.status is Status.OPEN:
                        pipe.zadd(keys.CALLBACK_REMINDERS, {written.conversation_id: reminder_at})
                    elif step is not Step.REMINDED:
                        pipe.zrem(keys.CALLBACK_REMINDERS, written.conversation_id)
                    append_event(pipe, written.conversation_id,
                                 event_fields(EventKind.CALLBACK, now, data=written.event_data(step, by=by)))
                    await pipe.execute()
                    return written
                except WatchError:
                    continue

    async def take_reminders(self, now: float, limit: int = 20) -> list[str]:
        """Conversations whose reminder is due, each taken by one process (its ZREM wins)."""
        due: Any = await self.redis.zrangebyscore(keys.CALLBACK_REMINDERS, "-inf", now, start=0, num=limit)
        taken = []
        for conversation_id in map(str, due):
            if await self.redis.zrem(keys.CALLBACK_REMINDERS, conversation_id):
                taken.append(conversation_id)
        return taken
