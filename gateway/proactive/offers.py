"""The offer to the shopper, and what their answer starts.

The offer is a bot message on the case (history replay shows it) and two emits to the
visitor's session rooms: `proactive_offer` for the storechat widget (with a `bot_uttered`
carrying `offer_id`, which it ignores), and the `bot_uttered` of a plain Rasa widget.
Its quick replies are `/offer_accept{"offer_id": …}` and `/offer_decline{…}`; the
conversation loop hands every web message here before the bot sees it. Anything else
written while the offer is open accepts it too: the shopper took up the chat.

A visitor who never wrote has no conversation (a page view creates none): their offer is
shown with an empty conversation id, the history shows it until they answer, and their
first message's new conversation adopts it (the offer goes on that case first).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from redis.asyncio import Redis

from core.types import (
    Author,
    Channel,
    Clock,
    Conversation,
    ConversationState,
    Event,
    EventKind,
    OutgoingMessage,
    QuickReply,
    Team,
)
from gateway import keys
from gateway.conversations.outbox import Outbox, message_data
from gateway.conversations.store import ConversationStore
from gateway.desk.desk import Desk
from gateway.proactive.metrics import Metrics, Outcome
from gateway.proactive.rules import Rules, Target
from gateway.proactive.visitors import CONTEXT_PAGES, VisitorStore
from gateway.webchat.socket_server import emit_message, rich_room

log = logging.getLogger(__name__)

ACCEPT = "offer_accept"
DECLINE = "offer_decline"
# The shopper would rather be phoned: the offer counts as accepted, and the answer opens the
# widget's call-back form (its quick reply CALLBACK_FORM, as the bot's answer to "call me back").
CALLBACK = "offer_callback"
CALLBACK_FORM = "/callback_form"
_PAYLOAD = re.compile(r"^/(offer_accept|offer_decline|offer_callback)(\{.*\})$", re.DOTALL)
_OFFER_ID = re.compile(r"[0-9a-f]{32}")

# KEYS: the offer, the visitor. ARGV: the answer, now, the offer id.
# Only the first answer counts (a double tap, two tabs, two processes).
_ANSWER = """
if redis.call('HGET', KEYS[1], 'state') ~= 'shown' then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'answered_at', ARGV[2])
if redis.call('HGET', KEYS[2], 'open_offer') == ARGV[3] then redis.call('HDEL', KEYS[2], 'open_offer') end
return 1
"""

# KEYS: the offer. ARGV: the conversation. The first conversation to claim an offer shown
# before there was one gets it (two tabs writing their first message at once).
_ADOPT = """
if redis.call('HGET', KEYS[1], 'state') ~= 'shown' or redis.call('HGET', KEYS[1], 'conversation_id') ~= '' then
  return 0
end
redis.call('HSET', KEYS[1], 'conversation_id', ARGV[1])
return 1
"""


class Emit(Protocol):
    async def __call__(self, event: str, data: dict[str, Any], room: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Offer:
    offer_id: str
    rule: str
    target: Target
    team: Team | None
    session_id: str
    conversation_id: str
    shown_at: float
    state: str = "shown"
    # The language it was written in ("" in records older than that field).
    locale: str = ""

    def to_hash(self) -> dict[str, str]:
        return {"rule": self.rule, "target": self.target.value, "team": self.team.value if self.team else "",
                "session_id": self.session_id, "conversation_id": self.conversation_id,
                "shown_at": repr(self.shown_at), "state": self.state, "locale": self.locale}

    @classmethod
    def from_hash(cls, offer_id: str, raw: Mapping[Any, Any]) -> Offer:
        return cls(offer_id=offer_id, rule=raw["rule"], target=Target(raw["target"]),
                   team=Team(raw["team"]) if raw.get("team") else None, session_id=raw["session_id"],
                   conversation_id=raw["conversation_id"], shown_at=float(raw["shown_at"]), state=raw["state"],
                   locale=raw.get("locale", ""))


def payload(action: str, offer_id: str) -> str:
    return f"/{action}" + json.dumps({"offer_id": offer_id}, separators=(",", ":"))


def parse_payload(text: str) -> tuple[str, str | None] | None:
    """(action, offer id) of an offer's quick reply; None for anything else the shopper wrote."""
    match = _PAYLOAD.match(text.strip())
    if match is None:
        return None
    try:
        entities = json.loads(match.group(2))
    except ValueError:
        entities = None
    offer_id = entities.get("offer_id") if isinstance(entities, dict) else None
    valid = isinstance(offer_id, str) and _OFFER_ID.fullmatch(offer_id)
    return match.group(1), offer_id if valid else None


@dataclass(frozen=True, slots=True)
class Offers:
    rules: Rules
    store: ConversationStore
    outbox: Outbox
    desk: Desk
    visitors: VisitorStore
    metrics: Metrics
    emit: Emit
    clock: Clock

    @property
    def redis(self) -> Redis:
        return self.store.redis

    def message(self, offer: Offer, locale: str) -> OutgoingMessage | None:
        """The offer as the shopper reads it (None once its rule is gone from the rules file)."""
        rule = self.rules.get(offer.rule)
        if rule is None:
            return None
        texts = rule.texts_in(locale, self.rules.default_locale)
        text = texts.human_text if offer.target is Target.HUMAN and texts.human_text else texts.text
        return OutgoingMessage(text, author=Author.BOT, quick_replies=(
            QuickReply(texts.accept, payload(ACCEPT, offer.offer_id)),
            QuickReply(texts.decline, payload(DECLINE, offer.offer_id)),
            QuickReply(self.desk.texts.get(locale, "callback_offer_choice"), payload(CALLBACK, offer.offer_id)),
        ))

    async def show(self, conversation: Conversation | None, offer: Offer) -> None:
        """To the visitor's session room; on the case too when there is one (else see `adopt`)."""
        message = self.message(offer, conversation.locale if conversation else offer.locale)
        if message is None:
            return
        text = message.text
        event = None
        if conversation is not None:
            event = await self.outbox.record(conversation, message, offer_id=offer.offer_id, rule=offer.rule)
        offered: dict[str, Any] = {
            "offer_id": offer.offer_id, "rule": offer.rule, "text": text,
            "quick_replies": [{"title": reply.title, "payload": reply.payload} for reply in message.quick_replies],
            "target": offer.target.value,
        }
        if offer.team is not None:
            offered["team"] = offer.team.value
        # The storechat widget shows `proactive_offer` and skips the `bot_uttered` with its offer_id;
        # a plain Rasa widget gets the message as any other.
        await self.emit("proactive_offer", offered, rich_room(offer.session_id))
        await emit_message(self.emit, offer.session_id, message, event=event, rich_extra={"offer_id": offer.offer_id})
        log.info("proactive offer %s (%s, %s) shown to %s", offer.offer_id, offer.rule, offer.target.value,
                 f"conversation {conversation.id}" if conversation else "a visitor without a conversation")

    async def find(self, offer_id: str) -> Offer | None:
        raw = await self.redis.hgetall(keys.proactive_offer(offer_id))
        return Offer.from_hash(offer_id, raw) if raw else None

    async def _unadopted(self, session_id: str) -> Offer | None:
        """The session's open offer, if it was shown before the session had a conversation."""
        visitor = await self.visitors.get(session_id)
        offer = await self.find(visitor.open_offer) if visitor is not None and visitor.open_offer else None
        if offer is None or offer.conversation_id or offer.state != "shown":
            return None
        return offer

    async def pending(self, session_id: str) -> Event | None:
        """That offer as a history event, so a reload shows it (and its answers) again."""
        offer = await self._unadopted(session_id)
        message = self.message(offer, offer.locale) if offer is not None else None
        if offer is None or message is None:
            return None
        return Event(id="", kind=EventKind.MESSAGE, at=offer.shown_at, author=Author.BOT, text=message.text,
                     data=message_data(message))

    async def adopt(self, conversation: Conversation) -> None:
        """A new web conversation takes the offer its session was shown: on the case before the
        first message, whose quick reply then reads as its title and answers the offer."""
        offer = await self._unadopted(conversation.address)
        if offer is None or not await self.redis.eval(_ADOPT, 1, keys.proactive_offer(offer.offer_id),
                                                      conversation.id):
            return
        message = self.message(offer, offer.locale or conversation.locale)
        if message is not None:
            await self.outbox.record(conversation, message, offer_id=offer.offer_id, rule=offer.rule)

    async def answer(self, conversation: Conversation, text: str) -> bool:
        """Take the shopper's message as the answer to an offer; False: the bot answers it."""
        if conversation.channel is not Channel.WEB or conversation.state is not ConversationState.BOT:
            return False
        if text.strip() == CALLBACK_FORM:
            await self._callback_by_person(conversation)
            return True
        quick_reply = parse_payload(text)
        if quick_reply is not None:
            action, offer_id = quick_reply
            offer = await self.find(offer_id) if offer_id else None
            # The payload means nothing to the bot: an unknown or already answered offer ends here.
            if offer is None or offer.conversation_id != conversation.id:
                log.info("answer to an unknown offer in conversation %s ignored", conversation.id)
                return True
            if not await self._answered(offer, DECLINE if action == DECLINE else ACCEPT):
                return True
            if action == DECLINE:
                await self._decline(conversation, offer)
                return True
            if action == CALLBACK:
                await self._callback(conversation, offer)
                return True
            return await self._accept(conversation, offer, tapped=True)
        visitor = await self.visitors.get(conversation.address)
        if visitor is None or visitor.open_offer is None or visitor.open_until <= self.clock():
            return False
        offer = await self.find(visitor.open_offer)
        if offer is None or offer.conversation_id != conversation.id or not await self._answered(offer, ACCEPT):
            return False
        return await self._accept(conversation, offer, tapped=False)

    async def _answered(self, offer: Offer, action: str) -> bool:
        state = "accepted" if action == ACCEPT else "declined"
        won = await self.redis.eval(_ANSWER, 2, keys.proactive_offer(offer.offer_id), keys.visitor(offer.session_id),
                                    state, repr(self.clock()), offer.offer_id)
        return bool(won)

    async def _decline(self, conversation: Conversation, offer: Offer) -> None:
        await self.metrics.count(offer.rule, Outcome.DECLINED, self.clock())
        await self.outbox.send(conversation, OutgoingMessage(self.rules.declined_text(conversation.locale)))

    async def _callback(self, conversation: Conversation, offer: Offer) -> None:
        """Accepted, by a call: the case learns what the shopper was doing, and the shopper gets the form."""
        await self.metrics.count(offer.rule, Outcome.ACCEPTED, self.clock())
        visitor = await self.visitors.for_agent(offer.session_id, CONTEXT_PAGES)
        await self.store.append(conversation.id, EventKind.CONTEXT, data={
            "rule": offer.rule, "offer_id": offer.offer_id, "target": "callback", **visitor,
        })
        texts, locale = self.desk.texts, conversation.locale
        choice = QuickReply(texts.get(locale, "callback_offer_choice"), CALLBACK_FORM)
        await self.outbox.send(conversation, OutgoingMessage(texts.get(locale, "callback_offer"), quick_replies=(choice,)))

    async def _callback_by_person(self, conversation: Conversation) -> None:
        """The form's quick reply reached the gateway: a widget that has no form (a plain Rasa
        widget) tapped it. A colleague arranges the call in the chat instead."""
        queued = await self.desk.queue(conversation, Team.GENERAL, "callback")
        await self.outbox.send(conversation, OutgoingMessage(self.desk.texts.get(conversation.locale,
                                                                                 "callback_by_person")))
        if queued is not None:
            await self.desk.place(queued)

    async def _accept(self, conversation: Conversation, offer: Offer, *, tapped: bool) -> bool:
        """The case learns what the shopper was doing; a person or the bot takes the chat.

        True when the message is answered here; False when it was the shopper's own
        question to the bot (written instead of tapping), which the bot then answers.
        """
        await self.metrics.count(offer.rule, Outcome.ACCEPTED, self.clock())
        visitor = await self.visitors.for_agent(offer.session_id, CONTEXT_PAGES)
        await self.store.append(conversation.id, EventKind.CONTEXT, data={
            "rule": offer.rule, "offer_id": offer.offer_id, "target": offer.target.value, **visitor,
        })
        if offer.target is Target.HUMAN and offer.team is not None:
            queued = await self.desk.queue(conversation, offer.team, f"proactive_{offer.rule}")
            if queued is not None:
                await self.desk.place(queued)
            return True
        if not tapped:
            return False
        rule = self.rules.get(offer.rule)
        if rule is not None:
            texts = rule.texts_in(conversation.locale, self.rules.default_locale)
            await self.outbox.send(conversation, OutgoingMessage(texts.accepted))
        return True
