"""The one conversation loop every channel feeds: record, ask the bot, deliver.

The shopper's message is written to the case (with its turn queued, in the same step)
before anything else happens, so a bot that is down or slow never loses it; the turns of
one conversation are answered one at a time, in order (gateway/conversations/turns.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from channels import rich
from core.types import (
    MAX_CUSTOMER_TOKEN_LENGTH,
    Author,
    BotTurn,
    Channel,
    Conversation,
    ConversationState,
    Event,
    EventKind,
    OutgoingMessage,
    Team,
)
from gateway import keys
from gateway.bot.rasa_client import BotBusy, BotUnavailable
from gateway.conversations import state_machine
from gateway.conversations.csat import Survey
from gateway.conversations.outbox import Outbox
from gateway.conversations.store import ConversationStore, Stored, event_from_entry
from gateway.conversations.turns import Turn, TurnQueue
from gateway.texts import Texts

log = logging.getLogger(__name__)


class Bot(Protocol):
    async def turn(self, sender: str, text: str, metadata: Mapping[str, Any]) -> BotTurn: ...


class Handoff(Protocol):
    """The desk (gateway/desk/desk.py): a team's queue, and the shopper told their place in it."""

    async def queue(self, conversation: Conversation, team: Team, reason: str) -> Conversation | None: ...

    async def place(self, queued: Conversation) -> None: ...


class OfferAnswers(Protocol):
    """Proactive chat offers (gateway/proactive/): True when the message answered one."""

    async def answer(self, conversation: Conversation, text: str) -> bool: ...


def turn_metadata(client_metadata: Mapping[str, Any]) -> dict[str, Any]:
    """What of a client's metadata the bot may learn, kept with the message's turn until it
    is answered: the customer token, as it came (it proves nothing until the gateway's API
    checks its signature). Anything else a client puts into its metadata stays out of Rasa."""
    token = client_metadata.get("customer_token")
    if isinstance(token, str) and 0 < len(token) <= MAX_CUSTOMER_TOKEN_LENGTH:
        return {"customer_token": token}
    return {}


def bot_metadata(conversation: Conversation, client_metadata: Mapping[str, Any]) -> dict[str, Any]:
    """What the bot learns with a message: only what the gateway knows or can check."""
    metadata: dict[str, Any] = {"channel": conversation.channel.value}
    if conversation.channel is Channel.WEB:
        # Only the widget knows the shopper's language; elsewhere the bot reads it from
        # their words (a default "de" here would make an English texter read German).
        metadata["locale"] = conversation.locale
    metadata.update(turn_metadata(client_metadata))
    # No phone number, even on SMS/WhatsApp: the gateway proves a phone from the conversation's
    # own address (gateway/shop/verification.py), and Rasa's tracker need not keep it.
    return metadata


# Rasa reads a message that starts with this as an intent (with entities), not as words.
INTENT_PREFIX = "/"
# Case events read back for the quick replies offered since the shopper last wrote.
OFFER_LOOKBACK = 20
# A bot that says it is busy (503: its Redis restarting) is asked again after these waits,
# about 7.5 s in all (RASA_TIMEOUT's default is 8 s); then the shopper goes to a person.
BUSY_WAITS = (0.5, 1.0, 2.0, 4.0)
# Where a bot turn's messages go out as one (a mail, not three mails for one answer).
ONE_MESSAGE_A_TURN = frozenset({Channel.EMAIL})


def bot_text(text: str, offered: Sequence[Mapping[str, Any]]) -> str:
    """What the bot reads of the shopper's message: a `/intent{…}` payload only when it was
    offered as a quick reply of the last message to the shopper (a tapped button, or its
    number on SMS); anything else typed like one (`/order_status{"order_id": "1"}`) is read
    as words, so no shopper can name an intent or fill a slot the conversation never offered."""
    stripped = text.strip()  # as Rasa strips it
    if not stripped.startswith(INTENT_PREFIX):
        return text
    if any(str(reply.get("payload", "")).strip() == stripped for reply in offered):
        return text
    return stripped.lstrip(INTENT_PREFIX) or text


class ConversationLoop:
    def __init__(self, store: ConversationStore, bot: Bot, texts: Texts, outbox: Outbox, desk: Handoff,
                 survey: Survey, offers: OfferAnswers | None = None) -> None:
        self.store = store
        self.bot = bot
        self.texts = texts
        self.outbox = outbox
        self.desk = desk
        self.survey = survey
        self.offers = offers
        self.turns = TurnQueue(store.redis, store.clock)
        self.turns.answer_with(self._answer)

    async def shopper_message(
        self, conversation: Conversation, text: str, metadata: Mapping[str, Any], *,
        attachments: Sequence[Mapping[str, Any]] = (), provider_id: str | None = None,
        message_id: str | None = None, details: Mapping[str, Any] | None = None,
    ) -> Stored:
        """Store the message, then answer the conversation's turns here, unless another
        holder (in this process or another) is at it: then that one answers it, in order."""
        stored = await self.receive(conversation, text, metadata, attachments=attachments,
                                    provider_id=provider_id, message_id=message_id, details=details)
        await self.turns.run(conversation.id)
        return stored

    async def receive(
        self, conversation: Conversation, text: str, metadata: Mapping[str, Any], *,
        attachments: Sequence[Mapping[str, Any]] = (), provider_id: str | None = None,
        message_id: str | None = None, details: Mapping[str, Any] | None = None,
    ) -> Stored:
        """Put the message on the case and its turn on the conversation's queue, in one step,
        once: the same `message_id` (a widget's id) or `provider_id` again is not stored again.

        `attachments` (photos, files, a location) and the provider's message id come from
        messaging channels; both go on the case for the agent, as do a channel's `details`
        (a mail's subject and whole text, its quoted history included)."""
        # The case keeps only what a colleague can rely on: not the credential, and no
        # claims (a "phone" a web client made up) that would look proven on the case.
        data: dict[str, Any] = {}
        if isinstance(locale := metadata.get("locale"), str):
            data["metadata"] = {"locale": locale[:35]}
        if attachments:
            data["attachments"] = [dict(item) for item in attachments]
        if provider_id:
            data["provider_id"] = provider_id
        if message_id:
            data["client_message_id"] = message_id
        if details:
            data.update(details)
        # A tapped quick reply arrives as its payload; keep the title the shopper saw.
        offered = await self._offered(conversation.id)
        for reply in offered:
            if reply.get("payload") == text:
                data["quick_reply_title"] = reply.get("title")
                break
        if (read := bot_text(text, offered)) != text:
            log.info("conversation %s: a payload no quick reply offered is read as text", conversation.id)
        turn = Turn(text=text, read=read, metadata=turn_metadata(metadata))
        return await self.store.append_shopper_message(
            conversation.id, text, data, message_id=message_id or provider_id,
            also=lambda pipe: self.turns.push(pipe, conversation.id, turn),
        )

    async def _answer(self, conversation_id: str, turn: Turn) -> None:
        """One turn of the conversation's queue (gateway/conversations/turns.py), read against
        the conversation as it is now: the messages before it have been answered."""
        conversation = await self.store.find(conversation_id)
        if conversation is None:
            log.info("turn of conversation %s dropped: the case was erased", conversation_id)
            return
        text = turn.text
        # After a resolve the first message may answer the satisfaction question (also when
        # it raced the resolve and already started a fresh bot turn).
        if conversation.state in (ConversationState.RESOLVED, ConversationState.BOT):
            if await self.survey.answer(conversation, text):
                return
        if conversation.state is ConversationState.RESOLVED:
            conversation = await state_machine.transition(
                self.store.redis, conversation.id, ConversationState.BOT,
                clock=self.store.clock, reason="shopper_returned", expect=ConversationState.RESOLVED,
            )
        # A tapped (or a written) answer to a proactive chat offer starts the chat it offered.
        if self.offers is not None and await self.offers.answer(conversation, text):
            return
        if conversation.state is not ConversationState.BOT:
            return  # a human owns the conversation: the bot stays silent
        if not text.strip():
            # Only a photo or a file: the bot cannot look at it, so it says so and how to go on.
            notice = OutgoingMessage(self.texts.get(conversation.locale, "attachment_only"), author=Author.SYSTEM)
            await self.outbox.send(conversation, notice)
            return
        await self._bot_turn(conversation, turn.read, turn.metadata)

    async def _offered(self, conversation_id: str) -> list[Mapping[str, Any]]:
        """The quick replies of every message to the shopper since their last message (a
        bot turn may put its buttons under an earlier message than its last)."""
        offered: list[Mapping[str, Any]] = []
        entries = await self.store.redis.xrevrange(keys.conversation_events(conversation_id), count=OFFER_LOOKBACK)
        for entry_id, fields in entries or []:
            event = event_from_entry(entry_id, fields or {})
            if event.kind is EventKind.MESSAGE and event.author is Author.SHOPPER:
                break
            if event.kind is EventKind.MESSAGE:
                offered += [reply for reply in event.data.get("quick_replies", []) if isinstance(reply, Mapping)]
        return offered

    async def _ask_bot(self, conversation: Conversation, text: str, metadata: Mapping[str, Any]) -> BotTurn:
        """The bot's turn; asked again while Rasa says it kept nothing and is busy for a moment
        (its Redis restarting): a blip should not hand the shopper to a person."""
        for wait in (*BUSY_WAITS, None):
            try:
                return await self.bot.turn(conversation.id, text, bot_metadata(conversation, metadata))
            except BotBusy as exc:
                if wait is None:
                    raise
                log.info("bot busy for conversation %s (%s): asking again in %.1f s", conversation.id, exc, wait)
                await asyncio.sleep(wait)
        raise AssertionError("unreachable")

    async def _bot_turn(self, conversation: Conversation, text: str, metadata: Mapping[str, Any]) -> None:
        try:
            turn = await self._ask_bot(conversation, text, metadata)
        except BotUnavailable as exc:
            # The notice promises a reply: the case goes to the queue, so a person gives it.
            log.warning("bot unavailable for conversation %s: %s", conversation.id, exc)
            notice = OutgoingMessage(self.texts.get(conversation.locale, "bot_unavailable"), author=Author.SYSTEM)
            told = await self.outbox.record(conversation, notice, reason="bot_unavailable")
            queued = await self.desk.queue(conversation, Team.GENERAL, "bot_unavailable")
            await self.outbox.deliver(conversation, notice, told)
            if queued is not None:
                await self.desk.place(queued)
            return
        if (await self.store.get(conversation.id)).state is not ConversationState.BOT:
            # A person took the conversation while the bot was thinking: they answer now.
            log.info("bot turn for %s dropped: the conversation left the bot meanwhile", conversation.id)
            return
        if (conversation.channel is not Channel.WEB and turn.language in self.texts.languages
                and turn.language != conversation.locale):
            # No locale comes with SMS or Meta messages: the gateway's own texts (queue,
            # agent joined, satisfaction) follow the language the bot found the shopper writes.
            await self.store.set_locale(conversation.id, turn.language)
            conversation = dataclasses.replace(conversation, locale=turn.language)
        understood = turn.understanding
        messages = turn.messages
        if conversation.channel in ONE_MESSAGE_A_TURN and len(messages) > 1:
            messages = (rich.one_message(messages),)
        recorded: list[Event] = []
        for message in messages:
            recorded.append(await self.outbox.record(
                conversation, message,
                intent=understood.intent, confidence=understood.confidence,
                retrieval_intent=understood.retrieval_intent,
                retrieval_confidence=understood.retrieval_confidence,
            ))
        # Queued before the shopper reads "passing you on", so their answer to it already
        # finds the bot silent; placed (given to an agent, or told their place) after it.
        queued = None
        if turn.handoff is not None:
            queued = await self.desk.queue(conversation, turn.handoff.team, turn.handoff.reason)
        for message, event in zip(messages, recorded, strict=True):
            await self.outbox.deliver(conversation, message, event)
        if queued is not None:
            await self.desk.place(queued)
