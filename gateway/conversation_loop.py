"""The one conversation loop every channel feeds: record, ask the bot, deliver.

The shopper's message is written to the case before anything else happens, so a
bot that is down or slow never loses it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any, Protocol

from gateway import customer_token, state_machine
from gateway.conversations import ConversationStore
from gateway.rasa_client import BotUnavailable
from gateway.texts import Texts
from gateway.types import Author, BotTurn, Channel, Conversation, ConversationState, Handoff, OutgoingMessage, Team

log = logging.getLogger(__name__)


class Bot(Protocol):
    async def turn(self, sender: str, text: str, metadata: Mapping[str, Any]) -> BotTurn: ...


class Deliver(Protocol):
    async def __call__(self, conversation: Conversation, message: OutgoingMessage) -> None: ...


# Channels whose address is a phone number the provider has proven.
PHONE_CHANNELS = frozenset({Channel.SMS, Channel.WHATSAPP})


def bot_metadata(conversation: Conversation, client_metadata: Mapping[str, Any]) -> dict[str, Any]:
    """What the bot learns with a message: only what the gateway knows or can check.

    Anything else a client puts into its metadata stays out of Rasa. The customer token
    passes as it came: it proves nothing until the gateway's API checks its signature.
    """
    metadata: dict[str, Any] = {"locale": conversation.locale, "channel": conversation.channel.value}
    token = client_metadata.get("customer_token")
    if isinstance(token, str) and 0 < len(token) <= customer_token.MAX_TOKEN_LENGTH:
        metadata["customer_token"] = token
    if conversation.channel in PHONE_CHANNELS:
        metadata["phone"] = conversation.address
    return metadata


def message_data(message: OutgoingMessage) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if message.quick_replies:
        data["quick_replies"] = [asdict(reply) for reply in message.quick_replies]
    if message.image_url:
        data["image_url"] = message.image_url
    if message.agent_name:
        data["agent_name"] = message.agent_name
    return data


class ConversationLoop:
    def __init__(self, store: ConversationStore, bot: Bot, texts: Texts) -> None:
        self.store = store
        self.bot = bot
        self.texts = texts
        self._deliverers: dict[Channel, Deliver] = {}

    def register_channel(self, channel: Channel, deliver: Deliver) -> None:
        self._deliverers[channel] = deliver

    async def _record(self, conversation: Conversation, message: OutgoingMessage, **data: Any) -> None:
        """A message to the shopper goes on the case before it is delivered."""
        extra = {key: value for key, value in data.items() if value is not None}
        await self.store.append_message(
            conversation.id, message.author, message.text, {**message_data(message), **extra}
        )

    async def shopper_message(
        self, conversation: Conversation, text: str, metadata: Mapping[str, Any]
    ) -> None:
        # The case keeps only what a colleague can rely on: not the credential, and no
        # claims (a "phone" a web client made up) that would look proven on the case.
        data: dict[str, Any] = {}
        if isinstance(locale := metadata.get("locale"), str):
            data["metadata"] = {"locale": locale[:35]}
        # A tapped quick reply arrives as its payload; keep the title the shopper saw.
        for reply in await self.store.offered_quick_replies(conversation.id):
            if reply.get("payload") == text:
                data["quick_reply_title"] = reply.get("title")
                break
        await self.store.append_message(conversation.id, Author.SHOPPER, text, data)
        if conversation.state is ConversationState.RESOLVED:
            conversation = await state_machine.transition(
                self.store.redis, conversation.id, ConversationState.BOT,
                clock=self.store.clock, reason="shopper_returned", expect=ConversationState.RESOLVED,
            )
        if conversation.state is not ConversationState.BOT:
            return  # a human owns the conversation: the bot stays silent
        await self._bot_turn(conversation, text, metadata)

    async def _bot_turn(self, conversation: Conversation, text: str, metadata: Mapping[str, Any]) -> None:
        try:
            turn = await self.bot.turn(conversation.id, text, bot_metadata(conversation, metadata))
        except BotUnavailable as exc:
            # The notice promises a reply: the case goes to the queue, so a person gives it.
            log.warning("bot unavailable for conversation %s: %s", conversation.id, exc)
            notice = OutgoingMessage(self.texts.get(conversation.locale, "bot_unavailable"), author=Author.SYSTEM)
            await self._record(conversation, notice, reason="bot_unavailable")
            await self._hand_off(conversation, Handoff(Team.GENERAL, "bot_unavailable"))
            await self._deliverers[conversation.channel](conversation, notice)
            return
        if (await self.store.get(conversation.id)).state is not ConversationState.BOT:
            # A person took the conversation while the bot was thinking: they answer now.
            log.info("bot turn for %s dropped: the conversation left the bot meanwhile", conversation.id)
            return
        understood = turn.understanding
        for message in turn.messages:
            await self._record(
                conversation, message,
                intent=understood.intent, confidence=understood.confidence,
                retrieval_intent=understood.retrieval_intent,
                retrieval_confidence=understood.retrieval_confidence,
            )
        # Queued before the shopper reads "passing you on", so their answer to it
        # already finds the bot silent.
        if turn.handoff is not None:
            await self._hand_off(conversation, turn.handoff)
        deliver = self._deliverers[conversation.channel]
        for message in turn.messages:
            await deliver(conversation, message)

    async def _hand_off(self, conversation: Conversation, handoff: Handoff) -> None:
        """Queue the conversation for the team the bot named; from now on the bot is silent."""
        try:
            await state_machine.transition(
                self.store.redis, conversation.id, ConversationState.QUEUED,
                clock=self.store.clock, reason=handoff.reason, expect=ConversationState.BOT,
                team=handoff.team.value,
            )
        except state_machine.StateChanged as exc:
            # Someone (an agent's claim) moved it first: the case is already with a person.
            log.info("handoff of %s skipped: %s", conversation.id, exc)
        else:
            log.info("conversation %s queued for %s (%s)", conversation.id, handoff.team.value, handoff.reason)
