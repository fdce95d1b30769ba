"""The durable outbound queue: messages to shoppers on SMS, Messenger and WhatsApp.

A message goes on the case and on its conversation's outbound queue (a Redis list) in one
transaction (`Outbound.stage`, through `Outbox.record`); the agent's request, or the bot's
turn, does not wait for the provider. Whoever holds the conversation's lease (a key with a
token and a TTL, extended while it works) sends the queue's messages one at a time, oldest
first, so one conversation's messages go out in order whichever process sends them; the
lease is given back only when the queue is empty (one script checks both). Each process
sends what it queued itself at once; its sweeper takes up every queue whose time has come
and that nobody holds: a retry's not-before time, or a dead holder's queue.

Never two SMS for one message: before a provider call the holder marks the message's part
as being sent (`keys.outbound_sending`), and takes the mark away with the call's outcome.
A holder that finds the mark there (its predecessor died, or stopped, during the call)
records the message as `unknown` instead of calling again; one that died before the mark
leaves the message to be sent by the next. What one call came to, and what is recorded on
the case, is gateway/messaging/outbound_send.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.types import Channel, Clock, Conversation, Event, OutgoingMessage
from gateway import keys
from gateway.conversations.leases import Leases
from gateway.conversations.outbox import ONCE_SECONDS, Staged
from gateway.conversations.store import ConversationStore
from gateway.messaging.delivery import HELD_TEXT, ChannelDelivery, NotSent
from gateway.messaging.outbound_send import Entry, Finish, Next, Sender, record_state

log = logging.getLogger(__name__)

LEASE_MS = 6_000
HEARTBEAT_SECONDS = 2.0
SWEEP_SECONDS = 0.5
# A queue pushed in a process that does not send (or died at once) is taken up after this.
STALE_SECONDS = 2.0
SWEEP_BATCH = 100
# A stopping process lets a provider call under way finish this long before it cuts it short
# (a call cut short is `unknown`: a rolling restart should not make every message in flight so).
STOP_GRACE_SECONDS = 5.0
# A queue nobody sends (no gateway running) is kept a week.
QUEUE_SECONDS = 7 * 24 * 3600
UNREADABLE = "the queued message could not be read back (a bug, or a change of format): it was not sent"
STOPPED_MID_CALL = ("a gateway process stopped while sending it: the provider may or may not have sent it, "
                    "so it is not sent again")

# KEYS: the conversation's events, its queue, the due set[, the dedupe key].
# ARGV: the entry's JSON without its event id, queue ttl, due score, conversation id, dedupe ttl.
# Runs in the transaction right after the message's append, so the events stream's last
# entry is the message: its id goes into the entry. With a dedupe key already set, nothing.
_PUSH = """
if #KEYS == 4 and not redis.call('SET', KEYS[4], '1', 'NX', 'EX', ARGV[5]) then return 0 end
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
redis.call('RPUSH', KEYS[2], '{"event_id":"' .. last[1][1] .. '",' .. string.sub(ARGV[1], 2))
redis.call('EXPIRE', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[3], 'NX', ARGV[3], ARGV[4])
return 1
"""

# KEYS: lease, sending. ARGV: token, mark. Marks the head's part as being sent, if the lease is held.
_BEGIN = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'EX', 86400)
return 1
"""

# KEYS: lease, queue, due, sending. ARGV: token, conversation id, due score.
# The head is done (sent, failed, unknown, dropped): off the queue, its mark gone.
_DONE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('LPOP', KEYS[2])
redis.call('DEL', KEYS[4])
if redis.call('LLEN', KEYS[2]) == 0 then redis.call('ZREM', KEYS[3], ARGV[2])
else redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2]) end
return 1
"""

# KEYS: lease, queue, due, sending. ARGV: token, conversation id, the head's new JSON, due score or ''.
# The head moves on (its next part, or its next try): rewritten, its mark gone; with a due
# score the lease is given back too, and the sweeper takes the queue up then.
_UPDATE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('LSET', KEYS[2], 0, ARGV[3])
redis.call('DEL', KEYS[4])
if ARGV[4] ~= '' then
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[2])
  redis.call('DEL', KEYS[1])
end
return 1
"""

# KEYS: lease, queue, due. ARGV: token, conversation id.
# 1: the queue is empty and the lease given back; 0: it is not empty; -1: the lease is lost.
_RELEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
if redis.call('LLEN', KEYS[2]) > 0 then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[3], ARGV[2])
return 1
"""

@dataclass(frozen=True, slots=True)
class _Pointers:
    lease: str
    queue: str
    sending: str

    @classmethod
    def of(cls, conversation_id: str) -> _Pointers:
        return cls(keys.outbound_lease(conversation_id), keys.outbound_queue(conversation_id),
                   keys.outbound_sending(conversation_id))


class Outbound:
    def __init__(self, store: ConversationStore, deliveries: Mapping[Channel, ChannelDelivery], *,
                 clock: Clock | None = None, sends: bool = True, lease_ms: int = LEASE_MS,
                 heartbeat_seconds: float = HEARTBEAT_SECONDS, stale_seconds: float = STALE_SECONDS,
                 stop_grace_seconds: float = STOP_GRACE_SECONDS) -> None:
        self.store = store
        self.redis: Redis = store.redis
        self.clock = clock or store.clock
        self.deliveries = dict(deliveries)
        # Whether this process sends (STORECHAT_OUTBOUND_WORKER); off, it only queues.
        self.sends = sends
        self.lease_ms = lease_ms
        self.stale_seconds = stale_seconds
        self.stop_grace_seconds = stop_grace_seconds
        self._stopping = False
        self.sender = Sender(store, self.deliveries, self.clock)
        self._scripts = {name: self.redis.register_script(source) for name, source in
                         (("begin", _BEGIN), ("done", _DONE), ("update", _UPDATE), ("release", _RELEASE))}
        self.leases = Leases(self.redis, keys.OUTBOUND_DUE, lease_ms=lease_ms, heartbeat_seconds=heartbeat_seconds)
        self._holding: dict[str, str] = {}
        # Queued to while this process was sending them: looked at again when the holder is done.
        self._again: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def channel(self, channel: Channel) -> OutboundChannel:
        """What the Outbox registers for a messaging channel."""
        return OutboundChannel(self, self.deliveries[channel])

    # --- queueing ------------------------------------------------------------------------

    def push(self, pipe: Any, conversation_id: str, entry: Entry, once: str | None) -> None:
        """Add, on `pipe` (the transaction that appends the message), the message's entry."""
        keys_ = [keys.conversation_events(conversation_id), keys.outbound_queue(conversation_id), keys.OUTBOUND_DUE]
        if once is not None:
            keys_.append(keys.outbound_once(once))
        pipe.eval(_PUSH, len(keys_), *keys_, entry.encode(), QUEUE_SECONDS, self.clock() + self.stale_seconds,
                  conversation_id, ONCE_SECONDS)

    def kick(self, conversation_id: str) -> None:
        """Send the conversation's queue here, in the background, unless this process already is."""
        if not self.sends or self._stopping:
            return
        if conversation_id in self._holding:
            self._again.add(conversation_id)
            return
        task = asyncio.create_task(self._run_logged(conversation_id), name=f"outbound-{conversation_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- sending ------------------------------------------------------------------------

    async def _run_logged(self, conversation_id: str) -> None:
        try:
            await self.run(conversation_id)
        except RedisError as exc:
            log.warning("outbound of conversation %s waits: Redis unavailable (%s)", conversation_id, exc)
        except Exception:  # the queue is kept; the sweeper takes it up again
            log.exception("outbound of conversation %s failed", conversation_id)

    async def run(self, conversation_id: str) -> None:
        """Send the conversation's queue, unless another holder (here or elsewhere) is at it."""
        if conversation_id in self._holding:
            self._again.add(conversation_id)
            return
        self._again.discard(conversation_id)
        token = uuid.uuid4().hex
        lease = keys.outbound_lease(conversation_id)
        if not await self.redis.set(lease, token, nx=True, px=self.lease_ms):
            return
        self._holding[conversation_id] = token
        # While it works, the queue's due time moves on (the sweeper passes live holders by).
        heartbeat = asyncio.create_task(
            self.leases.keep(lease, conversation_id, token, lambda: self.clock() + self.stale_seconds),
            name=f"outbound-lease-{conversation_id}")
        try:
            await self._drain(conversation_id, token)
        except asyncio.CancelledError:
            # Stopping: the queue stays, and nobody need wait for the lease. A call that was
            # under way keeps its mark, so the next holder records it as unknown.
            with contextlib.suppress(RedisError):
                await self.leases.give_back(lease, token)
            raise
        finally:
            heartbeat.cancel()
            del self._holding[conversation_id]
        if conversation_id in self._again:
            self.kick(conversation_id)

    async def _drain(self, conversation_id: str, token: str) -> None:
        at = _Pointers.of(conversation_id)
        while True:
            if self._stopping:  # the message under way is done; the rest is the next holder's
                await self.leases.give_back(at.lease, token)
                return
            raw = await self.redis.lindex(at.queue, 0)
            if raw is None:
                released = await self._scripts["release"](keys=[at.lease, at.queue, keys.OUTBOUND_DUE],
                                                          args=[token, conversation_id])
                if released == 0:
                    continue  # a message came in meanwhile
                return
            if not await self._one(conversation_id, token, at, str(raw)):
                return

    async def _one(self, conversation_id: str, token: str, at: _Pointers, raw: str) -> bool:
        """Take the queue's head one step on; whether to go on with the queue now."""
        try:
            entry = Entry.decode(raw)
        except (ValueError, KeyError, TypeError) as exc:
            log.error("conversation %s: an unreadable outbound entry is dropped (%r): %.200s",
                      conversation_id, exc, raw)
            await self._unreadable(conversation_id, raw)
            return await self._done(conversation_id, token, at)
        if entry.not_before > self.clock():
            return await self._update(conversation_id, token, at, entry, due=entry.not_before)
        mark = f"{entry.id}:{entry.part}"
        if await self.redis.get(at.sending) == mark:
            await record_state(self.store, conversation_id, message_id=entry.event_id, channel=entry.channel,
                               state="unknown", text=STOPPED_MID_CALL, reason=STOPPED_MID_CALL)
            return await self._done(conversation_id, token, at)
        if await self.sender.opted_out_since_queued(entry):
            # STOP came while it waited (a retry's backoff): nothing more goes to that number.
            await record_state(self.store, conversation_id, message_id=entry.event_id, channel=entry.channel,
                               state="not_sent", text=HELD_TEXT[NotSent.OPTED_OUT], reason=NotSent.OPTED_OUT.value)
            return await self._done(conversation_id, token, at)
        step = await self.sender.prepare(conversation_id, entry)
        if step is None:  # nothing to send (the case was erased, or the channel is not configured here)
            if entry.channel not in {channel.value for channel in self.deliveries}:
                return await self._update(conversation_id, token, at, entry, due=self.clock() + self.stale_seconds)
            return await self._done(conversation_id, token, at)
        if not await self._scripts["begin"](keys=[at.lease, at.sending], args=[token, mark]):
            log.warning("outbound of conversation %s: lost the lease", conversation_id)
            return False
        following = await self.sender.send(conversation_id, entry, step)
        return await self._follow(conversation_id, token, at, following)

    async def _unreadable(self, conversation_id: str, raw: str) -> None:
        """An entry that cannot be sent still gets a state, where it names its message."""
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            data = json.loads(raw)
            if data.get("event_id"):
                await record_state(self.store, conversation_id, message_id=str(data["event_id"]),
                                   channel=str(data.get("channel") or ""), state="failed", text=UNREADABLE,
                                   reason=UNREADABLE)

    async def _follow(self, conversation_id: str, token: str, at: _Pointers, following: Next) -> bool:
        if following.entry is None:
            return await self._done(conversation_id, token, at, also=following.record)
        if following.entry.not_before > self.clock():
            return await self._update(conversation_id, token, at, following.entry, due=following.entry.not_before)
        return await self._update(conversation_id, token, at, following.entry)

    async def _done(self, conversation_id: str, token: str, at: _Pointers,
                    also: Callable[[Finish], Awaitable[None]] | None = None) -> bool:
        args: list[str | float] = [token, conversation_id, self.clock() + self.stale_seconds]
        script_keys = [at.lease, at.queue, keys.OUTBOUND_DUE, at.sending]
        if also is None:
            return bool(await self._scripts["done"](keys=script_keys, args=args))

        def finish(pipe: Any) -> None:
            pipe.eval(_DONE, len(script_keys), *script_keys, *args)

        # The outcome on the case and the head off the queue in one transaction; the script
        # does nothing for a holder that lost its lease meanwhile, which then stops here.
        await also(finish)
        return await self.redis.get(at.lease) == token

    async def _update(self, conversation_id: str, token: str, at: _Pointers, entry: Entry, *,
                      due: float | None = None) -> bool:
        done = await self._scripts["update"](keys=[at.lease, at.queue, keys.OUTBOUND_DUE, at.sending],
                                             args=[token, conversation_id, entry.encode(),
                                                   "" if due is None else repr(due)])
        return bool(done) and due is None

    # --- the sweeper ----------------------------------------------------------------------

    async def sweep(self) -> int:
        """Take up the queues whose time has come and that nobody holds."""
        due = await self.redis.zrangebyscore(keys.OUTBOUND_DUE, "-inf", self.clock(), start=0, num=SWEEP_BATCH)
        taken = 0
        for conversation_id in map(str, due):
            if conversation_id in self._holding:
                continue
            if await self.leases.forget_gone(keys.outbound_queue(conversation_id), conversation_id):
                continue  # erased meanwhile
            if not await self.redis.exists(keys.outbound_lease(conversation_id)):
                self.kick(conversation_id)
                taken += 1
        return taken

    async def sweep_forever(self, interval: float = SWEEP_SECONDS) -> None:
        while True:
            try:
                await self.sweep()
            except RedisError as exc:
                log.warning("outbound sweeper: Redis unavailable (%s)", exc)
            await asyncio.sleep(interval)

    async def stop(self) -> None:
        """Stop sending: no new queue is taken up, each holder gives its lease back after the
        message under way, and one whose provider call outlasts the grace is cancelled (it
        gives its lease back too, see `run`; the next holder records that message `unknown`)."""
        self._stopping = True
        tasks = list(self._tasks)
        if tasks:
            await asyncio.wait(tasks, timeout=self.stop_grace_seconds)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@dataclass(frozen=True, slots=True)
class OutboundChannel:
    """One messaging channel as the Outbox sees it (gateway/conversations/outbox.py `QueuedChannel`)."""

    outbound: Outbound
    delivery: ChannelDelivery

    async def stage(self, conversation: Conversation, message: OutgoingMessage, *,
                    once: str | None = None) -> Staged:
        plan = await self.delivery.plan(conversation, message)
        if plan.held is not None:
            return Staged(held=plan.held.value, held_text=HELD_TEXT[plan.held])
        entry = Entry.new(conversation, message, plan, self.outbound.clock())
        return Staged(push=lambda pipe: self.outbound.push(pipe, conversation.id, entry, once))

    async def not_sent(self, conversation: Conversation, event: Event, reason: str, text: str) -> None:
        log.info("%s message to conversation %s not sent: %s", self.delivery.channel, conversation.id, reason)
        await record_state(self.outbound.store, conversation.id, message_id=event.id, channel=self.delivery.channel,
                           state="not_sent", text=text, reason=reason)

    def queued(self, conversation_id: str) -> None:
        self.outbound.kick(conversation_id)
