"""Messages to shoppers: recorded on the case first, then handed to their channel."""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any, Protocol

from core.types import Channel, Conversation, Event, OutgoingMessage
from gateway.conversations.store import ConversationStore

log = logging.getLogger(__name__)


class Deliver(Protocol):
    async def __call__(self, conversation: Conversation, message: OutgoingMessage) -> None: ...


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
        self._deliverers: dict[Channel, Deliver] = {}

    def register_channel(self, channel: Channel, deliver: Deliver) -> None:
        self._deliverers[channel] = deliver

    def delivers_to(self, channel: Channel) -> bool:
        """Whether messages can go out on `channel` here (a messaging channel may be unconfigured)."""
        return channel in self._deliverers

    async def record(self, conversation: Conversation, message: OutgoingMessage, **data: Any) -> Event:
        """Put a message to the shopper on the case (what an agent reads), not yet sent."""
        extra = {key: value for key, value in data.items() if value is not None}
        return await self.store.append_message(
            conversation.id, message.author, message.text, {**message_data(message), **extra}
        )

    async def deliver(self, conversation: Conversation, message: OutgoingMessage) -> None:
        await self._deliverers[conversation.channel](conversation, message)

    async def send(self, conversation: Conversation, message: OutgoingMessage, **data: Any) -> Event:
        event = await self.record(conversation, message, **data)
        await self.deliver(conversation, message)
        return event
