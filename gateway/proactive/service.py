"""Proactive offers wired together for the app: built once, one ticker per process."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import socketio
from aiohttp import web

from core.types import Conversation, Event
from gateway.conversations.outbox import Outbox
from gateway.conversations.store import ConversationStore
from gateway.desk.desk import Desk
from gateway.limits.limiter import Limiter
from gateway.proactive.engine import TICK_SECONDS, Engine, FreeAgents
from gateway.proactive.events import StorefrontEvent
from gateway.proactive.intake import StorefrontSocket
from gateway.proactive.metrics import Metrics
from gateway.proactive.offers import Emit, Offers
from gateway.proactive.rules import Rules
from gateway.proactive.visitors import VISITOR_TTL_SECONDS, VisitorStore
from gateway.webchat.limits import WebLimits


def socketio_emit(sio: socketio.AsyncServer) -> Emit:
    async def emit(event: str, data: dict[str, Any], room: str) -> None:
        # Through the Redis manager: the room's socket may be on another gateway process.
        await sio.emit(event, data, room=room)

    return emit


@dataclass(frozen=True, slots=True)
class Proactive:
    rules: Rules
    visitors: VisitorStore
    metrics: Metrics
    offers: Offers
    engine: Engine

    @classmethod
    def build(cls, *, rules: Rules, store: ConversationStore, agents: FreeAgents, outbox: Outbox, desk: Desk,
              emit: Emit, visitor_ttl_seconds: int = VISITOR_TTL_SECONDS) -> Proactive:
        """Everything on the conversations' clock, so "the shopper wrote 10 minutes ago" and
        "idle for 60 seconds" are measured alike (and a test's clock drives both); the offers
        are counted on the shop's days (the business hours' timezone)."""
        visitors = VisitorStore(store.redis, visitor_ttl_seconds)
        metrics = Metrics(store.redis, desk.hours.timezone)
        offers = Offers(rules, store, outbox, desk, visitors, metrics, emit, store.clock)
        engine = Engine(rules, visitors, store, agents, offers, metrics, store.clock)
        return cls(rules, visitors, metrics, offers, engine)

    async def observe(self, session_id: str, event: StorefrontEvent, locale: str | None = None) -> None:
        await self.engine.on_event(session_id, event, locale)

    async def pending(self, session_id: str) -> Event | None:
        """The web chat's hook: an offer the session has not answered, before it wrote at all."""
        return await self.offers.pending(session_id)

    async def adopt(self, conversation: Conversation) -> None:
        """The web chat's hook: the session's new conversation gets the offer it was shown, and
        its visitor is kept from now on as long as a writer's (gateway/proactive/visitors.py)."""
        await self.visitors.keep(conversation.address)
        await self.offers.adopt(conversation)

    async def answer(self, conversation: Conversation, text: str) -> bool:
        """The conversation loop's hook: True when the message answered an offer."""
        return await self.offers.answer(conversation, text)

    async def report(self) -> dict[str, Any]:
        return await self.metrics.report(self.rules.rules)

    def attach(self, sio: socketio.AsyncServer, limiter: Limiter) -> StorefrontSocket:
        return StorefrontSocket(sio, self.observe, WebLimits(limiter))

    def start_ticker(self, interval: float = TICK_SECONDS) -> asyncio.Task[None]:
        """This process's ticker; stop it with gateway.background.stop."""
        return asyncio.create_task(self.engine.run(interval), name="proactive-ticker")


PROACTIVE = web.AppKey("proactive", Proactive)
