"""A storefront visitor's state in Redis, keyed by the widget's web session id.

What the rules look at is kept as a few numbers that a new event updates (the page the
visitor is on and since when, product-page time since the cart last changed, help pages
read, checkout) rather than re-read from the trail each time. A browsing session ends
after `session_timeout` without an event; the next event starts a new one, and from then
on the visitor is a returning one. The cart and the trail outlive sessions: an agent
wants to see them whenever the shopper writes. A visitor who never wrote is kept a day after
their last event (a returning visitor is one of the same day, then); once the session has a
conversation (`keep`), the visitor is kept the configured retention (config/retention.yml,
VISITOR_TTL_SECONDS by default) after their last event. A page view keeps nothing for good,
and a flood of sessions from one address fills no more than a day's worth.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import WatchError

from gateway import keys
from gateway.proactive.events import (
    Cart,
    CheckoutStarted,
    OrderPlaced,
    PageType,
    PageView,
    StorefrontEvent,
    cart_from_json,
    cart_to_json,
)

# A returning visitor is recognised within this long of their last visit.
VISITOR_TTL_SECONDS = 30 * 24 * 3600
# A visitor whose session has no conversation is kept this long at most.
UNWRITTEN_VISITOR_TTL_SECONDS = 24 * 3600
# The visitor hash's field saying the session has a conversation (set by `keep`).
_WROTE = "wrote"
# Page views kept for the agent; an accepted offer puts the last CONTEXT_PAGES on the case.
TRAIL_PAGES = 20
CONTEXT_PAGES = 10


@dataclass(frozen=True, slots=True)
class Visitor:
    session_id: str
    first_seen: float
    # Browsing sessions so far, this one included: 1 is a new visitor.
    visits: int
    session_started: float
    last_event: float
    page_type: PageType | None = None
    page_since: float = 0.0
    # Product-page time of pages already left, since the cart last changed in this session.
    product_seconds: float = 0.0
    help_pages: int = 0
    # checkout_started or order_placed in this session.
    checkout: bool = False
    cart: Cart | None = None
    cart_at: float = 0.0
    # Written by the offer's claim (gateway/proactive/engine.py), not by events.
    open_offer: str | None = None
    open_until: float = 0.0
    # The widget's language: what an offer to a visitor without a conversation is written in.
    locale: str | None = None

    @property
    def returning(self) -> bool:
        return self.visits > 1

    def browsing_seconds(self, now: float) -> float:
        """Product-page time since the cart last changed, the page open now included."""
        current = max(0.0, now - self.page_since) if self.page_type is PageType.PRODUCT else 0.0
        return self.product_seconds + current

    def session_over(self, now: float, timeout: float) -> bool:
        return now - self.last_event > timeout


def _carts_differ(old: Cart | None, new: Cart) -> bool:
    return (old.items if old else ()) != new.items or (old is not None and old.value != new.value)


def observe(visitor: Visitor | None, session_id: str, event: StorefrontEvent, now: float,
            session_timeout: float) -> Visitor:
    """The visitor after `event` arrived at `now` (pure: the store writes the result)."""
    if visitor is None:
        visitor = Visitor(session_id, first_seen=now, visits=1, session_started=now, last_event=now)
    elif visitor.session_over(now, session_timeout):
        visitor = Visitor(session_id, first_seen=visitor.first_seen, visits=visitor.visits + 1,
                          session_started=now, last_event=now, cart=visitor.cart, cart_at=visitor.cart_at,
                          open_offer=visitor.open_offer, open_until=visitor.open_until)
    if isinstance(event, PageView):
        visitor = replace(
            visitor,
            product_seconds=visitor.browsing_seconds(now),
            page_type=event.page_type,
            page_since=now,
            help_pages=visitor.help_pages + (event.page_type is PageType.HELP),
        )
    elif isinstance(event, Cart):
        if _carts_differ(visitor.cart, event):
            # The shopper acted on what they browsed: browsing time starts again.
            visitor = replace(visitor, product_seconds=0.0, page_since=now, cart_at=now)
        visitor = replace(visitor, cart=event)
    elif isinstance(event, (CheckoutStarted, OrderPlaced)):
        visitor = replace(visitor, checkout=True)
    return replace(visitor, last_event=now)


def visitor_to_hash(visitor: Visitor) -> dict[Any, Any]:
    """The fields events own (the open offer is the offer claim's)."""
    return {
        "first_seen": repr(visitor.first_seen),
        "visits": str(visitor.visits),
        "session_started": repr(visitor.session_started),
        "last_event": repr(visitor.last_event),
        "page_type": visitor.page_type.value if visitor.page_type else "",
        "page_since": repr(visitor.page_since),
        "product_seconds": repr(visitor.product_seconds),
        "help_pages": str(visitor.help_pages),
        "checkout": "1" if visitor.checkout else "0",
        "cart": json.dumps(cart_to_json(visitor.cart), separators=(",", ":")) if visitor.cart else "",
        "cart_at": repr(visitor.cart_at),
        "locale": visitor.locale or "",
    }


def visitor_from_hash(session_id: str, raw: dict[Any, Any]) -> Visitor | None:
    if "first_seen" not in raw:
        return None
    return Visitor(
        session_id=session_id,
        first_seen=float(raw["first_seen"]),
        visits=int(raw["visits"]),
        session_started=float(raw["session_started"]),
        last_event=float(raw["last_event"]),
        page_type=PageType(raw["page_type"]) if raw.get("page_type") else None,
        page_since=float(raw.get("page_since") or 0),
        product_seconds=float(raw.get("product_seconds") or 0),
        help_pages=int(raw.get("help_pages") or 0),
        checkout=raw.get("checkout") == "1",
        cart=cart_from_json(json.loads(raw["cart"])) if raw.get("cart") else None,
        cart_at=float(raw.get("cart_at") or 0),
        open_offer=raw.get("open_offer") or None,
        open_until=float(raw.get("open_until") or 0),
        locale=raw.get("locale") or None,
    )


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def cart_for_agent(visitor: Visitor | None) -> dict[str, Any] | None:
    if visitor is None or visitor.cart is None:
        return None
    return {**cart_to_json(visitor.cart), "updated_at": _ms(visitor.cart_at)}


@dataclass(frozen=True, slots=True)
class VisitorStore:
    redis: Redis
    # How long a visitor and their trail are kept after their last event (config/retention.yml).
    ttl_seconds: int = VISITOR_TTL_SECONDS

    async def observe(self, session_id: str, event: StorefrontEvent, now: float,
                      session_timeout: float, locale: str | None = None) -> tuple[Visitor, Visitor | None]:
        """Apply `event`; the visitor after it and as it was before (None: first seen now).

        Optimistic locking: the widget and the shop's backend may report the same
        visitor at once, and neither update may be lost.
        """
        key = keys.visitor(session_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    raw = await pipe.hgetall(key)
                    previous = visitor_from_hash(session_id, raw)
                    ttl = self.ttl_seconds if raw.get(_WROTE) == "1" else self.unwritten_ttl_seconds
                    current = observe(previous, session_id, event, now, session_timeout)
                    if locale is not None:
                        current = replace(current, locale=locale)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.hset(key, mapping=visitor_to_hash(current))
                    pipe.expire(key, ttl)
                    if isinstance(event, PageView):
                        trail = keys.visitor_trail(session_id)
                        pipe.rpush(trail, json.dumps({"page_type": event.page_type.value, "url": event.url,
                                                      "title": event.title, "at": now}, ensure_ascii=False))
                        pipe.ltrim(trail, -TRAIL_PAGES, -1)
                        pipe.expire(trail, ttl)
                    await pipe.execute()
                    return current, previous
                except WatchError:
                    continue

    @property
    def unwritten_ttl_seconds(self) -> int:
        return min(self.ttl_seconds, UNWRITTEN_VISITOR_TTL_SECONDS)

    async def keep(self, session_id: str) -> None:
        """The session has a conversation now: its visitor is kept the configured retention."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.visitor(session_id), _WROTE, "1")
            pipe.expire(keys.visitor(session_id), self.ttl_seconds)
            pipe.expire(keys.visitor_trail(session_id), self.ttl_seconds)
            await pipe.execute()

    async def get(self, session_id: str) -> Visitor | None:
        return visitor_from_hash(session_id, await self.redis.hgetall(keys.visitor(session_id)))

    async def trail(self, session_id: str, count: int = TRAIL_PAGES) -> list[dict[str, Any]]:
        """The last `count` page views, oldest first, times in milliseconds (as the Agent API)."""
        entries = await self.redis.lrange(keys.visitor_trail(session_id), -count, -1)
        pages = [json.loads(entry) for entry in entries]
        return [{**page, "at": _ms(float(page["at"]))} for page in pages]

    async def for_agent(self, session_id: str, pages: int = TRAIL_PAGES) -> dict[str, Any]:
        """`{"cart", "trail"}` as a case shows them."""
        return {"cart": cart_for_agent(await self.get(session_id)), "trail": await self.trail(session_id, pages)}
