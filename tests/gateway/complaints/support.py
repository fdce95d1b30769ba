"""Conversations written as the gateway writes them (the store, the state machine, the request
store, the survey's CSAT events) on a clock the test controls, and the complaints projection
folding them through the real feed."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from core.types import Author, Channel, Conversation, ConversationState, EventKind
from gateway import keys
from gateway.complaints.projection import ComplaintsProjection
from gateway.conversations import state_machine
from gateway.conversations.feed import Follower
from gateway.conversations.store import ConversationStore
from gateway.json_input import parse
from gateway.settings import REPO_ROOT
from gateway.shop.orders import OrderEvent, OrderStatus, OrderStore, parse_order
from gateway.shop.shopper_requests import RequestInput, RequestStore

FAQ = REPO_ROOT / "faq_data"
DAY = 86_400.0
# Monday 2026-03-02 09:00 UTC: the tests' "now" unless they move it.
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC).timestamp()
ORDER_PATTERN = {"order_pattern": re.compile(r"\d{6}")}


@dataclass
class Clock:
    now: float = START

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Case:
    """One shopper's conversation."""

    redis: Redis
    clock: Clock
    conversation: Conversation
    requests: RequestStore = field(init=False)

    def __post_init__(self) -> None:
        self.requests = RequestStore(self.redis, "https://chat.example", self.clock)

    @property
    def id(self) -> str:
        return self.conversation.id

    @property
    def store(self) -> ConversationStore:
        return ConversationStore(self.redis, self.clock)

    async def shopper(self, text: str) -> None:
        self.clock.advance(5)
        await self.store.append_message(self.id, Author.SHOPPER, text)

    async def bot(self, text: str, intent: str, **data: Any) -> None:
        self.clock.advance(1)
        await self.store.append_message(self.id, Author.BOT, text, {"intent": intent, "confidence": 0.93, **data})

    async def complain(self, text: str, *, intent: str = "report_damage") -> None:
        """The shopper complains, the bot understands it and hands the case to a team."""
        await self.shopper(text)
        await self.bot("Das tut mir leid, ich gebe Sie weiter.", intent)
        reason, team = ("damaged_item", "product") if intent == "report_damage" else ("complaint", "general")
        await self.handoff(reason, team)

    async def handoff(self, reason: str, team: str) -> None:
        self.clock.advance(1)
        await state_machine.transition(self.redis, self.id, ConversationState.QUEUED, clock=self.clock,
                                       reason=reason, team=team)

    async def resolve(self) -> None:
        self.clock.advance(60)
        await state_machine.transition(self.redis, self.id, ConversationState.RESOLVED, clock=self.clock,
                                       reason="agent_resolved")

    async def csat(self, score: int, comment: str | None) -> None:
        """The survey's two events: the score, then the comment (gateway/conversations/csat.py)."""
        self.clock.advance(10)
        await self.store.append(self.id, EventKind.CSAT, author=Author.SHOPPER, data={"score": score, "comment": None})
        if comment is not None:
            self.clock.advance(10)
            await self.store.append(self.id, EventKind.CSAT, author=Author.SHOPPER,
                                    data={"score": score, "comment": comment})

    async def prove(self, order_id: str) -> None:
        """As gateway/shop/verification.py remembers a proof."""
        await self.redis.sadd(keys.verified_orders(self.id), order_id)

    async def request_return(self, order_id: str, reason: str, items: list[str] | None = None) -> None:
        order = await OrderStore(self.redis, self.clock).get(order_id)
        assert order is not None
        body: dict[str, Any] = {"kind": "return", "order_id": order_id, "reason": reason}
        if items:
            body["items"] = items
        self.clock.advance(5)
        await self.requests.open(self.id, parse(RequestInput, body, context=ORDER_PATTERN), order)


async def open_case(redis: Redis, clock: Clock, locale: str = "de", channel: Channel = Channel.WEB, *,
                    contact_id: str | None = None) -> Case:
    """A new conversation of a new shopper, or of the shopper `contact_id` (another conversation)."""
    store = ConversationStore(redis, clock)
    address = uuid.uuid4().hex
    if contact_id is not None:
        return Case(redis, clock, await store.create(contact_id, channel, address, locale))
    return Case(redis, clock, await store.open(channel, address, locale))


async def put_order(redis: Redis, clock: Clock, order_id: str, items: list[tuple[str, str]], *,
                    delivered_days_ago: float = 2) -> None:
    """An order as the shop pushes it, delivered `delivered_days_ago` (so it can be returned)."""
    placed = datetime.fromtimestamp(clock.now - (delivered_days_ago + 3) * DAY, UTC)
    body = {
        "order_id": order_id, "email": f"{order_id}@example.com", "currency": "EUR", "status": "delivered",
        "total": "10.00", "placed_at": placed.isoformat(),
        "items": [{"sku": sku, "name": name, "quantity": 1, "price": "10.00"} for sku, name in items],
    }
    events = (OrderEvent(OrderStatus.PLACED, placed),
              OrderEvent(OrderStatus.DELIVERED, placed + timedelta(days=3)))
    await OrderStore(redis, clock).put(parse_order(body, order_id), events=events)


async def fold(redis: Redis, projection: ComplaintsProjection) -> None:
    """Everything written so far, folded through the feed as a gateway process would."""
    await Follower(redis, projection).drain()
