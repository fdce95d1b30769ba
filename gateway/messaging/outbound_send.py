"""One step of a queued message (gateway/messaging/outbound.py): one provider call, what it
came to, and what goes on the case.

A message's delivery states are DELIVERY events on its case naming it (`data.message_id`,
the message's own event id): `sent` (with the provider's ids), then `delivered` and `read`
when the provider reports them (gateway/messaging/inbound.py); or `failed` with the
provider's reason, `unknown` (the request went out and no answer came: not sent again), or
`not_sent` (opted out, outside the window). `queued` is the message's own `data.delivery`.
"""

from __future__ import annotations

import json
import logging
import random
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from channels.base import ProviderRequest
from core.types import Author, Channel, Clock, Conversation, Event, EventKind, OutgoingMessage, QuickReply, Template
from gateway import keys
from gateway.conversations.store import ConversationStore
from gateway.messaging.delivery import SENT_IDS_SECONDS, Accepted, ChannelDelivery, Plan, Refused, RetryLater

log = logging.getLogger(__name__)

# Tries of a message the provider could not take yet (connection refused, 429, 503), and
# the capped backoff between them where the provider named no Retry-After.
ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 60.0
_TEXT_CHARS = 500


def _message_json(message: OutgoingMessage) -> dict[str, Any]:
    return {"text": message.text, "author": message.author.value,
            "quick_replies": [asdict(reply) for reply in message.quick_replies], "image_url": message.image_url,
            "agent_name": message.agent_name, "template": asdict(message.template) if message.template else None}


def _message_of(data: Mapping[str, Any]) -> OutgoingMessage:
    template = data.get("template")
    return OutgoingMessage(
        text=str(data["text"]), author=Author(data.get("author", Author.BOT.value)),
        quick_replies=tuple(QuickReply(str(r["title"]), str(r["payload"])) for r in data.get("quick_replies") or ()),
        image_url=data.get("image_url"), agent_name=data.get("agent_name"),
        template=Template(str(template["name"]), str(template["language"]), tuple(template.get("parameters") or ()))
        if template else None,
    )


@dataclass(frozen=True, slots=True)
class Entry:
    """A message on a conversation's outbound queue, and how far it got."""

    id: str
    event_id: str
    channel: str
    address: str
    message: OutgoingMessage
    plan: Plan
    queued_at: float
    attempt: int = 0
    not_before: float = 0.0
    # The next of the message's provider calls (a long SMS is several), and the ids so far.
    part: int = 0
    provider_ids: tuple[str, ...] = field(default=())

    @classmethod
    def new(cls, conversation: Conversation, message: OutgoingMessage, plan: Plan, now: float) -> Entry:
        return cls(uuid.uuid4().hex, "", conversation.channel.value, conversation.address, message, plan, now)

    def encode(self) -> str:
        """JSON with `event_id` first: the push script writes it (gateway/messaging/outbound.py)."""
        data = {"event_id": self.event_id, "id": self.id, "channel": self.channel, "address": self.address,
                "message": _message_json(self.message), "window_open": self.plan.window_open,
                "template": self.plan.template, "queued_at": self.queued_at, "attempt": self.attempt,
                "not_before": self.not_before, "part": self.part, "provider_ids": list(self.provider_ids)}
        if self.plan.headers:
            data["headers"] = [list(pair) for pair in self.plan.headers]
        if not self.event_id:
            del data["event_id"]
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def decode(cls, raw: str) -> Entry:
        data = json.loads(raw)
        return cls(id=str(data["id"]), event_id=str(data["event_id"]), channel=str(data["channel"]),
                   address=str(data["address"]), message=_message_of(data["message"]),
                   plan=Plan(window_open=bool(data["window_open"]), template=bool(data["template"]),
                             headers=tuple((str(name), str(value)) for name, value in data.get("headers") or ())),
                   queued_at=float(data["queued_at"]), attempt=int(data["attempt"]),
                   not_before=float(data["not_before"]), part=int(data["part"]),
                   provider_ids=tuple(map(str, data["provider_ids"])))


# Adds the finishing script to the transaction that records the outcome.
Finish = Callable[[Any], None]


@dataclass(frozen=True, slots=True)
class Next:
    """After a call: the head's next state (its next part or try), or None when it is done;
    `record` then puts the outcome on the case, together with `finish`."""

    entry: Entry | None
    record: Callable[[Finish], Awaitable[None]] | None = None


async def record_state(store: ConversationStore, conversation_id: str, *, message_id: str, channel: str,
                       state: str, text: str | None = None, also: Finish | None = None, **data: Any) -> Event | None:
    """A DELIVERY event naming the message (what the console shows under it); None if the
    case was erased meanwhile (its news is not written into a case that is gone)."""
    if not await store.redis.exists(keys.conversation(conversation_id)):
        if also is not None:
            async with store.redis.pipeline(transaction=True) as pipe:
                also(pipe)  # the queue's step still happens
                await pipe.execute()
        return None
    fields = {"status": state, "message_id": message_id, "channel": channel,
              **{key: value for key, value in data.items() if value is not None}}
    return await store.append(conversation_id, EventKind.DELIVERY, author=Author.SYSTEM,
                              text=text[:_TEXT_CHARS] if text else None, data=fields, also=also)


def backoff(attempt: int) -> float:
    """The wait before try `attempt + 1`: capped exponential, with jitter."""
    return float(min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2.0 ** attempt)) * random.uniform(0.5, 1.0)


class Sender:
    def __init__(self, store: ConversationStore, deliveries: Mapping[Channel, ChannelDelivery], clock: Clock) -> None:
        self.store = store
        self.deliveries = {channel.value: delivery for channel, delivery in deliveries.items()}
        self.clock = clock

    async def opted_out_since_queued(self, entry: Entry) -> bool:
        """Whether the shopper opted out after the message was queued (the confirmation of a
        STOP is queued after the STOP arrived, and still goes)."""
        since = await self.store.redis.hget(keys.opt_out(entry.channel, entry.address), "at")
        return since is not None and float(since) > entry.queued_at

    async def prepare(self, conversation_id: str, entry: Entry) -> ProviderRequest | None:
        """The entry's next provider call, or None if there is nothing to send here."""
        delivery = self.deliveries.get(entry.channel)
        if delivery is None:
            log.warning("outbound of conversation %s: the %s channel is not configured in this process",
                        conversation_id, entry.channel)
            return None
        if not await self.store.redis.exists(keys.conversation(conversation_id)):
            log.info("outbound of conversation %s dropped: the case was erased", conversation_id)
            return None
        requests = delivery.requests(entry.address, entry.message, entry.plan)
        return requests[entry.part] if entry.part < len(requests) else None

    async def send(self, conversation_id: str, entry: Entry, request: ProviderRequest) -> Next:
        delivery = self.deliveries[entry.channel]
        outcome = await delivery.client.call(request, idempotent=delivery.idempotent)
        if isinstance(outcome, Accepted):
            ids = (*entry.provider_ids, *delivery.adapter.sent_ids(outcome.body))
            if entry.part + 1 < len(delivery.requests(entry.address, entry.message, entry.plan)):
                return Next(replace(entry, part=entry.part + 1, attempt=0, not_before=0.0, provider_ids=ids))
            return Next(None, self._sent(conversation_id, entry, ids))
        if isinstance(outcome, RetryLater):
            if entry.attempt + 1 >= ATTEMPTS:
                return Next(None, self._outcome(conversation_id, entry, "failed",
                                                f"gave up after {ATTEMPTS} attempts: {outcome.reason}"))
            wait = outcome.after if outcome.after is not None else backoff(entry.attempt)
            log.info("%s message of conversation %s: try %d in %.1f s (%s)", entry.channel, conversation_id,
                     entry.attempt + 2, wait, outcome.reason)
            return Next(replace(entry, attempt=entry.attempt + 1, not_before=self.clock() + wait))
        state = "failed" if isinstance(outcome, Refused) else "unknown"
        log.warning("%s message of conversation %s %s: %s", entry.channel, conversation_id, state, outcome.reason)
        return Next(None, self._outcome(conversation_id, entry, state, outcome.reason))

    def _sent(self, conversation_id: str, entry: Entry, ids: tuple[str, ...]) -> Callable[[Finish], Awaitable[None]]:
        async def record(finish: Finish) -> None:
            def also(pipe: Any) -> None:
                # For the provider's statuses: which message of which conversation an id is.
                owner = json.dumps({"c": conversation_id, "m": entry.event_id}, separators=(",", ":"))
                for provider_id in ids:
                    pipe.set(keys.sent_message(entry.channel, provider_id), owner, ex=SENT_IDS_SECONDS)
                finish(pipe)

            await record_state(self.store, conversation_id, message_id=entry.event_id, channel=entry.channel,
                               state="sent", provider_ids=list(ids), also=also)
        return record

    def _outcome(self, conversation_id: str, entry: Entry, state: str,
                 reason: str) -> Callable[[Finish], Awaitable[None]]:
        async def record(finish: Finish) -> None:
            await record_state(self.store, conversation_id, message_id=entry.event_id, channel=entry.channel,
                               state=state, text=reason, reason=reason[:_TEXT_CHARS],
                               provider_ids=list(entry.provider_ids) or None, also=finish)
        return record
