"""Messages to shoppers: recorded on the case, then handed to their channel.

The web chat's messages are emitted over Socket.IO (`deliver`). A messaging channel's
(SMS, Messenger, WhatsApp) goes on the case and on the conversation's durable outbound
queue in one transaction (`record`), and that queue's workers send it
(gateway/messaging/outbound.py): nobody waits for the provider, and a process that dies
leaves the message for another. Whether it may go at all (opted out, outside the
channel's window) is decided here, at once: an agent's message that may not is kept on
the case and `MessageHeld` says why.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable

from core.types import Author, Channel, Conversation, Event, EventKind, OutgoingMessage
from gateway import keys
from gateway.conversations.store import ConversationStore

log = logging.getLogger(__name__)

# A message with a dedupe key (one order event's notification) is queued once in this time.
ONCE_SECONDS = 30 * 24 * 3600


class Deliver(Protocol):
    """Hands a message to its channel; `event` is its entry on the case, when it has one
    (the web chat's own widget shows its id and time)."""

    async def __call__(self, conversation: Conversation, message: OutgoingMessage,
                       event: Event | None = None) -> None: ...


class MessageHeld(Exception):
    """An agent's message was kept on the case but not sent; `reason` says why (opted_out,
    outside_window)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Staged:
    """A message ready for a channel's outbound queue: `push(pipe)` adds its entry to the
    transaction that records it; or held (`held`, `held_text`: why it may not go)."""

    push: Callable[[Any], None] | None = None
    held: str | None = None
    held_text: str = ""


@runtime_checkable
class QueuedChannel(Protocol):
    """A channel whose messages go out through the outbound queue (gateway/messaging/outbound.py)."""

    async def stage(self, conversation: Conversation, message: OutgoingMessage, *,
                    once: str | None = None) -> Staged: ...

    async def not_sent(self, conversation: Conversation, event: Event, reason: str, text: str) -> None: ...

    def queued(self, conversation_id: str) -> None:
        """The record's transaction is done: start sending (here, if this process sends)."""


def message_data(message: OutgoingMessage) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if message.quick_replies:
        data["quick_replies"] = [asdict(reply) for reply in message.quick_replies]
    if message.image_url:
        data["image_url"] = message.image_url
    if message.agent_name:
        data["agent_name"] = message.agent_name
    return data


class Outbox:
    def __init__(self, store: ConversationStore) -> None:
        self.store = store
        self._deliverers: dict[Channel, Deliver | QueuedChannel] = {}

    def register_channel(self, channel: Channel, deliver: Deliver | QueuedChannel) -> None:
        self._deliverers[channel] = deliver

    def delivers_to(self, channel: Channel) -> bool:
        """Whether messages can go out on `channel` here (a messaging channel may be unconfigured)."""
        return channel in self._deliverers

    def _queued(self, channel: Channel) -> QueuedChannel | None:
        deliverer = self._deliverers.get(channel)
        return deliverer if isinstance(deliverer, QueuedChannel) else None

    async def record(self, conversation: Conversation, message: OutgoingMessage, **data: Any) -> Event:
        """Put a message to the shopper on the case (what an agent reads); on a messaging channel
        also on its outbound queue, in the same transaction (`data.delivery`: queued, or
        not_sent — an agent's message then raises `MessageHeld`)."""
        return await self._record(conversation, message, data, once=None)

    async def _record(self, conversation: Conversation, message: OutgoingMessage, data: dict[str, Any], *,
                      once: str | None) -> Event:
        fields = {**message_data(message), **{key: value for key, value in data.items() if value is not None}}
        queued = self._queued(conversation.channel)
        if queued is None:
            mark = None if once is None else (
                lambda pipe: pipe.set(keys.outbound_once(once), "1", ex=ONCE_SECONDS))
            return await self.store.append(conversation.id, EventKind.MESSAGE, author=message.author,
                                           text=message.text, data=fields, also=mark)
        staged = await queued.stage(conversation, message, once=once)
        if staged.held is not None:
            event = await self.store.append(conversation.id, EventKind.MESSAGE, author=message.author,
                                            text=message.text, data={**fields, "delivery": "not_sent"})
            await queued.not_sent(conversation, event, staged.held, staged.held_text)
            if message.author is Author.AGENT:
                raise MessageHeld(staged.held, staged.held_text)
            return event
        event = await self.store.append(conversation.id, EventKind.MESSAGE, author=message.author,
                                        text=message.text, data={**fields, "delivery": "queued"},
                                        also=staged.push)
        queued.queued(conversation.id)
        return event

    async def deliver(self, conversation: Conversation, message: OutgoingMessage,
                      event: Event | None = None) -> None:
        """Hand a recorded message to its channel (a messaging channel's went on its queue with
        its record already)."""
        deliverer = self._deliverers[conversation.channel]
        if isinstance(deliverer, QueuedChannel):
            return
        await deliverer(conversation, message, event)

    async def send(self, conversation: Conversation, message: OutgoingMessage, **data: Any) -> Event:
        event = await self.record(conversation, message, **data)
        await self.deliver(conversation, message, event)
        return event

    async def send_once(self, conversation: Conversation, message: OutgoingMessage, once: str,
                        **data: Any) -> Event | None:
        """`send`, unless a message with the dedupe key `once` went already (None then): a
        notification taken up again after its first claimer stopped is not sent twice."""
        if await self.store.redis.exists(keys.outbound_once(once)):
            return None
        event = await self._record(conversation, message, data, once=once)
        await self.deliver(conversation, message, event)
        return event
