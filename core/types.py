"""The small set of types every part of storechat agrees on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

# Seconds since the epoch; tests pass one they control.
Clock = Callable[[], float]

# The longest customer token anyone passes on (the storefront signs it; the gateway checks it).
MAX_CUSTOMER_TOKEN_LENGTH = 2048


class ConversationState(StrEnum):
    BOT = "bot"
    QUEUED = "queued"
    ASSIGNED = "assigned"
    RESOLVED = "resolved"


class Channel(StrEnum):
    WEB = "web"
    SMS = "sms"
    MESSENGER = "messenger"
    WHATSAPP = "whatsapp"
    EMAIL = "email"


class Author(StrEnum):
    SHOPPER = "shopper"
    BOT = "bot"
    AGENT = "agent"
    SYSTEM = "system"


class EventKind(StrEnum):
    MESSAGE = "message"
    STATE = "state"
    # A shopper request (return, cancellation, ...) opened or moved on; data = the request.
    REQUEST = "request"
    # An agent's private note: on the case for colleagues, never sent to the shopper.
    NOTE = "note"
    # The shopper's satisfaction answer after a resolve; data = {score, comment}.
    CSAT = "csat"
    # What happened to a message on a messaging channel, when it is news for an agent:
    # not sent (opted out, outside the channel's window), failed, an opt-out or opt-in;
    # data = {status, reason?, error?}.
    DELIVERY = "delivery"
    # What the shopper was doing when they took up a proactive chat offer (gateway/proactive/):
    # data = {rule, offer_id, target, cart, trail}.
    CONTEXT = "context"
    # A call-back the shopper asked for and each step of it (gateway/callbacks/): data = {step
    # (requested, reached, no_answer, rescheduled, unreachable, cancelled), phone, slot, attempts, …}.
    CALLBACK = "callback"


@dataclass(frozen=True, slots=True)
class QuickReply:
    title: str
    payload: str


@dataclass(frozen=True, slots=True)
class Template:
    """A message template the provider approved: `parameters` fill its body's {{1}}, {{2}}, …"""

    name: str
    language: str
    parameters: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One message to the shopper, before a channel renders it."""

    text: str
    author: Author = Author.BOT
    quick_replies: tuple[QuickReply, ...] = ()
    image_url: str | None = None
    agent_name: str | None = None
    # What goes instead where the channel allows only approved templates now (WhatsApp
    # after its 24-hour window); without one such a message is held.
    template: Template | None = None


@dataclass(frozen=True, slots=True)
class Understanding:
    """What the bot understood of the shopper's message."""

    intent: str | None
    confidence: float | None
    retrieval_intent: str | None = None
    retrieval_confidence: float | None = None


class Team(StrEnum):
    """Who takes a conversation the bot hands over (MISSION: the *right* human)."""

    LOGISTICS = "logistics"
    PRODUCT = "product"
    BILLING = "billing"
    GENERAL = "general"


@dataclass(frozen=True, slots=True)
class Handoff:
    """The bot's signal that a person must take over (bot/README.md, "The handoff")."""

    team: Team
    reason: str


@dataclass(frozen=True, slots=True)
class BotTurn:
    messages: tuple[OutgoingMessage, ...]
    understanding: Understanding
    handoff: Handoff | None = None
    # The language the bot speaks with the shopper after this turn, if it said.
    language: str | None = None


@dataclass(frozen=True, slots=True)
class Conversation:
    id: str
    contact_id: str
    channel: Channel
    # Where the channel delivers to: the web session id, a phone number, a PSID...
    address: str
    state: ConversationState
    locale: str
    created_at: float
    updated_at: float
    team: str | None = None
    agent: str | None = None
    # Why it was queued (the handoff reason), while queued or assigned.
    reason: str | None = None
    # When it entered its current state (for a queued conversation: its waiting time).
    state_since: float = 0.0
    # The shopper's last message, shortened: what a queue entry shows.
    preview: str | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """One entry of a conversation's history (a Redis stream entry)."""

    id: str
    kind: EventKind
    at: float
    author: Author | None = None
    text: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
