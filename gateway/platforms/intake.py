"""A platform's delivery applied: to storechat's one order store and the proactive engine.

Once, and never backwards:
- a delivery whose platform id was applied already (a redelivery) is skipped;
- an order's deliveries are applied one at a time (a short lock per platform order), and one
  older than what was applied for that order (the platform's own time, from the signed body:
  Shopify's `updated_at`, WooCommerce's `date_modified_gmt`, Shopware's `timestamp`) is
  stale and skipped, so a late redelivery never overwrites newer data;
- a platform's snapshot never moves an order back along placed → … → delivered (a carrier's
  event posted through the shop API stays), though newer news of a delay or a cancellation does.
The delivery counts as applied only once it was: one that failed halfway is applied again
when the platform delivers it again.

What the platform does not carry (an estimated delivery, an invoice link, tracking posted
through the shop API, where notifications go) is kept from the stored order. A changed
status is a shipment event, told to the customer like one posted through the shop API.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from redis.asyncio import Redis

from core.types import Channel
from gateway.json_input import InvalidInput
from gateway.platforms import keys
from gateway.platforms.types import (
    MAX_ID_CHARS, CartUpdate, OrderPlacedUpdate, OrderUpsert, Parsed, ShipmentUpdate, Update,
)
from gateway.proactive.events import StorefrontEvent, parse_event
from gateway.shop.order_records import NOTIFY_ADDRESSES, NOTIFY_LOCALES
from gateway.shop.orders import Order, OrderChanged, OrderEvent, OrderStatus, OrderStore, parse_order
from gateway.shop.verification import normalise_phone

log = logging.getLogger(__name__)

# A platform retries for two days at most (Shopify: 48 h): delivery ids are remembered a week.
SEEN_SECONDS = 7 * 24 * 3600
# An order's platform record lives as long as its shipping record (a report's year and more).
ORDER_RECORD_SECONDS = 400 * 24 * 3600
# A cart's tie to a visitor lasts as long as a visitor who never wrote is kept.
CART_SECONDS = 24 * 3600
# One delivery of an order is applied within this; a lock left by a process that died frees itself.
LOCK_MS = 10_000
LOCK_WAIT_SECONDS = 5.0
# Tries to write an order another writer (the shop API) keeps changing under us.
ORDER_RETRIES = 5
_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
# The order of progress: a snapshot never moves an order back along it.
PROGRESS = (OrderStatus.PLACED, OrderStatus.CONFIRMED, OrderStatus.PACKED, OrderStatus.SHIPPED,
            OrderStatus.IN_TRANSIT, OrderStatus.OUT_FOR_DELIVERY, OrderStatus.DELIVERED)
# Kept from the stored order when the platform's carries none.
_KEPT = ("carrier", "tracking_number", "tracking_url", "estimated_delivery", "invoice_url", "shipping_address",
         "phone", "postal_code", "customer_name")

Observe = Callable[[str, StorefrontEvent, str | None], Awaitable[None]]
OrderEvents = Callable[[Order, OrderEvent], Awaitable[None]]


class Outcome(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"  # a redelivery of one applied already
    STALE = "stale"  # older than what was applied for the order
    # nothing storechat uses (a topic, a cart of no known visitor, an unknown order, an order
    # without an e-mail: a POS or phone order no retry would ever bring one for)
    IGNORED = "ignored"


class OrderRefused(Exception):
    """The platform's order cannot be stored yet (a number the pattern refuses): 422, and the
    platform delivers it again later, when the operator may have fixed the pattern."""


@dataclass(frozen=True, slots=True)
class Intake:
    redis: Redis
    orders: OrderStore
    order_pattern: re.Pattern[str]
    default_locale: str
    # Where a platform's order asks its news to go: the customer's phone on this channel (None: nowhere).
    notify_channel: Channel | None = None
    order_events: OrderEvents | None = None
    observe: Observe | None = None

    async def apply(self, platform: str, parsed: Parsed) -> Outcome:
        bound = next((u for u in parsed.updates if isinstance(u, (OrderUpsert, ShipmentUpdate))), None)
        lock = self._locked(platform, bound.platform_order_id) if bound else contextlib.nullcontext()
        async with lock:
            seen = keys.delivery_seen(platform, _short(parsed.delivery_id)) if parsed.delivery_id else None
            if seen is not None and await self.redis.exists(seen):
                return Outcome.DUPLICATE
            outcomes = [(update, await self._one(platform, update)) for update in parsed.updates]
            if seen is not None:
                await self.redis.set(seen, "1", ex=SEEN_SECONDS)
        if bound is not None:  # what became of the order is what the delivery was about
            return next(outcome for update, outcome in outcomes if update is bound)
        return Outcome.APPLIED if any(outcome is Outcome.APPLIED for _, outcome in outcomes) else Outcome.IGNORED

    async def _one(self, platform: str, update: Update) -> Outcome:
        if isinstance(update, (OrderUpsert, ShipmentUpdate)):
            # Built from the stored order and written only if it is still that one: an event
            # the shop API appended in between is read again and kept, never overwritten.
            for _ in range(ORDER_RETRIES - 1):
                with contextlib.suppress(OrderChanged):
                    return await self._order(platform, update)
            return await self._order(platform, update)
        if isinstance(update, CartUpdate):
            return await self._cart(platform, update)
        return await self._placed(update)

    @contextlib.asynccontextmanager
    async def _locked(self, platform: str, platform_order_id: str) -> AsyncIterator[None]:
        key, token = keys.order_lock(platform, platform_order_id), secrets.token_hex(8)
        async with asyncio.timeout(LOCK_WAIT_SECONDS):
            while not await self.redis.set(key, token, nx=True, px=LOCK_MS):
                await asyncio.sleep(0.02)
        try:
            yield
        finally:
            await self.redis.eval(_RELEASE, 1, key, token)

    # --- orders -----------------------------------------------------------------------

    async def _order(self, platform: str, update: OrderUpsert | ShipmentUpdate) -> Outcome:
        if isinstance(update, OrderUpsert):
            return await self._upsert(platform, update)
        return await self._shipment(platform, update)

    async def _upsert(self, platform: str, update: OrderUpsert) -> Outcome:
        record_key = keys.platform_order(platform, update.platform_order_id)
        record = _strings(await self.redis.hgetall(record_key))
        if not _newer(record, update.updated_at):
            log.info("%s order %s: delivery of %s older than what was applied: skipped", platform,
                     update.platform_order_id, update.updated_at.isoformat())
            return Outcome.STALE
        order_id = str(update.body.get("order_id"))
        if not self.order_pattern.fullmatch(order_id):
            raise OrderRefused(f"order number {order_id!r} does not match STORECHAT_ORDER_NUMBER_PATTERN "
                               f"({self.order_pattern.pattern})")
        old = await self.orders.get(order_id)
        if not update.body.get("email"):
            if old is None:
                # 200, not 422: no redelivery brings an e-mail, and Shopify drops a subscription
                # after 48 hours of failures. A later update with an e-mail stores the order.
                log.warning("%s order %s has no customer e-mail (a POS or phone order?): not stored, ignored",
                            platform, order_id)
                return Outcome.IGNORED
            update = replace(update, body={**update.body, "email": old.email})  # the one it was stored with
        status = _forward(old.status if old else None, update.status or (old.status if old else OrderStatus.PLACED))
        body = {**{k: v for k, v in update.body.items() if v is not None}, "status": status.value}
        if (notify := self._notify(body.get("phone"), update.locale)) is not None:
            body["notify"] = notify
        try:
            order = parse_order(body, order_id)
        except InvalidInput as exc:
            raise OrderRefused(f"order {order_id}: {exc}") from None
        if old is not None:
            order = replace(order, notify=order.notify or old.notify,
                            **{name: getattr(order, name) or getattr(old, name) for name in _KEPT})
        await self._store(record_key, order, old, update.updated_at, None)
        return Outcome.APPLIED

    async def _shipment(self, platform: str, update: ShipmentUpdate) -> Outcome:
        record_key = keys.platform_order(platform, update.platform_order_id)
        record = _strings(await self.redis.hgetall(record_key))
        old = await self.orders.get(record["order_id"]) if record.get("order_id") else None
        if old is None:
            # The order's own webhook (Shopify's orders/updated, fired with the fulfilment) brings it.
            log.info("%s fulfilment of unknown order %s: skipped", platform, update.platform_order_id)
            return Outcome.IGNORED
        if not _newer(record, update.updated_at):
            log.info("%s order %s: fulfilment of %s older than what was applied: skipped", platform,
                     update.platform_order_id, update.updated_at.isoformat())
            return Outcome.STALE
        order = replace(old, status=_forward(old.status, update.status),
                        carrier=update.carrier or old.carrier,
                        tracking_number=update.tracking_number or old.tracking_number,
                        tracking_url=update.tracking_url or old.tracking_url)
        await self._store(record_key, order, old, update.updated_at, update.location)
        return Outcome.APPLIED

    async def _store(self, record_key: str, order: Order, old: Order | None, at: datetime,
                     location: str | None) -> None:
        changed = old is None or old.status is not order.status
        event = OrderEvent(order.status, at, location)
        events = (*(old.events if old else ()), event) if changed else (old.events if old else ())
        stored, _ = await self.orders.put(order, events=events, expected=old)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(record_key, mapping={"order_id": order.order_id, "updated_ms": str(_ms(at))})
            pipe.expire(record_key, ORDER_RECORD_SECONDS)
            await pipe.execute()
        if changed and self.order_events is not None:
            await self.order_events(stored, event)

    def _notify(self, phone: object, locale: str | None) -> dict[str, str] | None:
        if self.notify_channel is None or not isinstance(phone, str):
            return None
        number = normalise_phone(phone)
        if not NOTIFY_ADDRESSES[self.notify_channel].fullmatch(number):
            return None
        language = locale if locale in NOTIFY_LOCALES else self.default_locale
        if language not in NOTIFY_LOCALES:
            return None
        return {"channel": self.notify_channel.value, "address": number, "locale": language}

    # --- carts --------------------------------------------------------------------------

    async def _cart(self, platform: str, update: CartUpdate) -> Outcome:
        link = keys.cart_session(platform, update.cart_token)
        session = update.session_id
        if session is not None and NOTIFY_ADDRESSES[Channel.WEB].fullmatch(session):
            await self.redis.set(link, session, ex=CART_SECONDS)
        else:
            linked = await self.redis.get(link)
            session = None if linked is None else str(linked)
        if session is None or self.observe is None:
            return Outcome.IGNORED
        await self.redis.expire(link, CART_SECONDS)
        items = [{"sku": i.sku, "name": i.name, "quantity": i.quantity, "price": i.price}
                 for i in update.items if i.quantity > 0]
        return await _observe(self.observe, session, {"type": "cart", "items": items, "value": update.value,
                                             "currency": update.currency})

    async def _placed(self, update: OrderPlacedUpdate) -> Outcome:
        if self.observe is None or not NOTIFY_ADDRESSES[Channel.WEB].fullmatch(update.session_id):
            return Outcome.IGNORED
        return await _observe(self.observe, update.session_id, {"type": "order_placed", "order_id": update.order_id,
                                                       "value": update.value})



async def _observe(observe: Observe, session: str, raw: dict[str, Any]) -> Outcome:
    try:
        event = parse_event(raw)
    except InvalidInput as exc:
        log.warning("storefront %s of session %s not usable: %s", raw["type"], session, exc)
        return Outcome.IGNORED
    await observe(session, event, None)
    return Outcome.APPLIED


def _short(delivery_id: str) -> str:
    """The id as part of a key: a platform's own, or the digest of one no platform would send."""
    return delivery_id if len(delivery_id) <= MAX_ID_CHARS else hashlib.sha256(delivery_id.encode()).hexdigest()


def _strings(raw: dict[Any, Any]) -> dict[str, str]:
    return {str(name): str(value) for name, value in raw.items()}


def _newer(record: dict[str, str], at: datetime) -> bool:
    return not record.get("updated_ms") or _ms(at) >= int(record["updated_ms"])


def _forward(old: OrderStatus | None, new: OrderStatus) -> OrderStatus:
    if old in PROGRESS and new in PROGRESS and PROGRESS.index(new) < PROGRESS.index(old):
        return old
    return new


def _ms(at: datetime) -> int:
    return round(at.timestamp() * 1000)
