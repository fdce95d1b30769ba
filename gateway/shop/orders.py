"""Orders as the shop pushes them, stored in Redis as JSON.

The shop is the source of truth: it PUTs whole orders and appends shipment
events; the bot only reads them. An index by (normalised) email answers "all
orders of this customer" once the shop's customer token has vouched for the email.
An order may name where the customer wants news of its shipment (`notify`, sent by
gateway/notifications/); only the shop reads that back, never the bot or an agent.
The order's parts, and its stored form read back, are gateway/shop/order_records.py.
"""

from __future__ import annotations

import json
import re
import string
import time
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, date, datetime
from enum import Enum
from typing import Annotated, Any

from pydantic import AfterValidator, Field, SerializerFunctionWrapHandler, ValidationInfo
from pydantic import field_validator, model_serializer
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from core.types import Clock
from gateway import keys
from gateway.json_input import (
    Body, CalendarDate, Currency, Money, ShortText, Text, Timestamp, Url, parse, problem, setting,
)
from gateway.shop import shipping_record
# The record's parts, imported from here by the rest of the gateway.
from gateway.shop.order_records import SHIPPED_STATUSES as SHIPPED_STATUSES, STATUSES as STATUSES
from gateway.shop.order_records import Address as Address, Carrier as Carrier, Item as Item, Notify as Notify
from gateway.shop.order_records import Order as Order, OrderEvent as OrderEvent, OrderStatus as OrderStatus
from gateway.shop.order_records import order_from_stored

EMAIL = r"[^@\s]+@[^@\s]+"
PHONE = r"\+?[0-9 ()/.-]{5,30}"

_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def normalise_email(email: str) -> str:
    """The form emails are compared and indexed in: surrounding blanks and the case of A–Z do not matter.

    Only ASCII letters are lowered: ``str.lower`` (like ``casefold``) turns the Kelvin
    sign into ``k`` and ``İ`` into ``i̇``, so a look-alike address could read another
    customer's orders. Other characters must match exactly.
    """
    return email.strip().translate(_ASCII_LOWER)


# --- the order's JSON: what the shop sends, what the API answers (and Redis stores) ---


def _an_order_number(order_id: str, info: ValidationInfo) -> str:
    # The pattern is the operator's (a setting): each request brings it in the context.
    pattern: re.Pattern[str] = setting(info, "order_pattern")
    if not pattern.fullmatch(order_id):
        raise problem(f"must match {pattern.pattern}")
    return order_id


# An order id in a body (the bot's): one that cannot exist is refused before any lookup.
OrderNumber = Annotated[str, Text(max_length=64), AfterValidator(_an_order_number),
                        Field(description="matches STORECHAT_ORDER_NUMBER_PATTERN")]


class OrderInput(Body):
    """An order as the shop sends it; `events` is ignored if sent."""

    order_id: str | None = Field(None, description="optional in the body; must equal the URL's")
    email: Annotated[str, Text(max_length=254, pattern=EMAIL)]
    items: Annotated[tuple[Item, ...], Field(min_length=1, max_length=100)]
    total: Money
    currency: Currency
    status: OrderStatus
    placed_at: Timestamp
    phone: Annotated[str, Text(max_length=30, pattern=PHONE), Field(examples=["+4915112345678"])] | None = None
    postal_code: Annotated[str, Text(max_length=12)] | None = None
    customer_name: ShortText | None = None
    carrier: Carrier | None = None
    tracking_number: Annotated[str, Text(max_length=64)] | None = None
    tracking_url: Url | None = None
    estimated_delivery: CalendarDate | None = None
    invoice_url: Url | None = None
    shipping_address: Address | None = None
    notify: Notify | None = None

    @field_validator("order_id")
    @classmethod
    def _the_urls(cls, order_id: str | None, info: ValidationInfo) -> str | None:
        if order_id is not None and order_id != setting(info, "order_id"):
            raise problem("must equal the order id in the URL")
        return order_id


class OrderEventInput(Body):
    """`at` defaults to now; the order takes the event's status. An order with `notify` tells
    the customer of it; the same status and `at` posted again tells them nothing more (send
    `at`, so a retry is recognised)."""

    status: OrderStatus
    at: Timestamp | None = None
    location: ShortText | None = None
    note: Annotated[str, Text(max_length=1000)] | None = None
    estimated_delivery: CalendarDate | None = None

    def event(self, now: datetime) -> OrderEvent:
        return OrderEvent(self.status, self.at or now, self.location, self.note)


def _present(data: dict[str, Any], optional: tuple[str, ...]) -> dict[str, Any]:
    """`data` without the `optional` keys that are None: absent in the JSON rather than null."""
    return {key: value for key, value in data.items() if key not in optional or value is not None}


class ItemView(Body):
    """An item as the answers write it back: as stored, so the bounds of its day (a quantity
    of 1000 before Quantity's limit) are not the answer's."""

    sku: str
    name: str
    quantity: int
    price: str


class OrderEventView(Body):
    status: OrderStatus
    at: Timestamp
    location: str | None = None
    note: str | None = None

    @model_serializer(mode="wrap")
    def _without_absent(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return _present(handler(self), ("location", "note"))


class OrderView(Body):
    """An order as the bot and the agents read it."""

    order_id: str
    email: str
    phone: str | None
    postal_code: str | None
    customer_name: str | None
    items: tuple[ItemView, ...]
    total: str
    currency: str
    status: OrderStatus
    carrier: Carrier | None
    tracking_number: str | None
    tracking_url: str | None
    estimated_delivery: CalendarDate | None
    placed_at: Timestamp
    invoice_url: str | None
    shipping_address: Address | None
    events: tuple[OrderEventView, ...]


class ShopOrderView(OrderView):
    """An order as the shop reads it back (and Redis keeps it): with where news goes, which
    is not for the bot or agents (a web session id is the shopper's chat credential)."""

    notify: Notify | None = None

    @model_serializer(mode="wrap")
    def _without_absent(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return _present(handler(self), ("notify",))


def parse_order(body: object, order_id: str) -> Order:
    """An order from the shop's JSON (events are not the shop's to overwrite: ignored)."""
    sent = parse(OrderInput, body, context={"order_id": order_id})
    return Order(**{**dict(sent), "order_id": order_id})


def order_to_json(order: Order, *, with_notify: bool = False) -> dict[str, Any]:
    """The order as the API answers; `notify` only `with_notify` (the shop's own answers and storage)."""
    view = ShopOrderView if with_notify else OrderView
    return view.model_validate(order).model_dump(mode="json")


def _dumps(order: Order) -> str:
    return json.dumps(order_to_json(order, with_notify=True), ensure_ascii=False, separators=(",", ":"))


def _write(pipe: Pipeline, old: Order | None, new: Order) -> None:
    """The order and its shipping record, in one place: a shipment event, a PUT and demo data alike."""
    pipe.set(keys.order(new.order_id), _dumps(new))
    shipping_record.queue(pipe, new.order_id, old.shipped_at() if old is not None else None, new.shipped_at())


# --- the store ---------------------------------------------------------------


class Unchecked(Enum):
    ANY = "any"  # put's default: whatever is stored is replaced


class OrderChanged(Exception):
    """The order changed between the caller's read and its put: read it again and decide again."""


class OrderStore:
    def __init__(self, redis: Redis, clock: Clock = time.time) -> None:
        self.redis = redis
        self.clock = clock

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    async def get(self, order_id: str) -> Order | None:
        raw = await self.redis.get(keys.order(order_id))
        return None if raw is None else order_from_stored(raw)

    async def many(self, order_ids: Iterable[str]) -> list[Order]:
        """The orders that exist among `order_ids`, in the given order."""
        ids = list(order_ids)
        if not ids:
            return []
        raws = await self.redis.mget([keys.order(order_id) for order_id in ids])
        return [order_from_stored(raw) for raw in raws if raw is not None]

    async def for_email(self, email: str, *, limit: int | None = None) -> list[Order]:
        """The orders of a customer, newest first; the `limit` newest only if given."""
        last = -1 if limit is None else limit - 1
        ids = await self.redis.zrevrange(keys.orders_by_email(normalise_email(email)), 0, last)
        # The index is written atomically with the order; the check is a second line of defence.
        return [order for order in await self.many(str(i) for i in ids) if normalise_email(order.email) == normalise_email(email)]

    async def put(self, order: Order, *, events: tuple[OrderEvent, ...] | None = None,
                  expected: Order | None | Unchecked = Unchecked.ANY) -> tuple[Order, bool]:
        """Create or replace an order; the order as stored, and True if it was new.

        The stored events are kept (the shop's PUT carries none); a new order or a
        changed status records an event, so the history and the return window always
        have one. `events` replaces the history instead (demo data that owns its orders).
        The order and its email index change in one WATCH/MULTI transaction, so an
        email change can never leave the order listed under both emails or neither.
        With `expected` (the order as the caller read it, None for "not there"), an order
        that changed since raises OrderChanged instead of being overwritten, so a caller
        that built `order` from what it read never loses what another wrote meanwhile.
        """
        key = keys.order(order.order_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    old = None if raw is None else order_from_stored(raw)
                    if expected is not Unchecked.ANY and old != expected:
                        raise OrderChanged(order.order_id)
                    history = events if events is not None else self._history(old, order.status)
                    stored = replace(order, events=history)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    _write(pipe, old, stored)
                    if old is not None and normalise_email(old.email) != normalise_email(order.email):
                        pipe.zrem(keys.orders_by_email(normalise_email(old.email)), order.order_id)
                    pipe.zadd(keys.orders_by_email(normalise_email(order.email)), {order.order_id: order.placed_at.timestamp()})
                    pipe.hset(keys.PRODUCT_NAMES, mapping={f"{item.sku}|{item.name}": item.name for item in order.items})
                    await pipe.execute()
                    return stored, old is None
                except WatchError:
                    continue  # the order changed under us: read it again

    def _history(self, old: Order | None, status: OrderStatus) -> tuple[OrderEvent, ...]:
        if old is None:
            return (OrderEvent(status, self.now()),)
        if old.status is status:
            return old.events
        return (*old.events, OrderEvent(status, self.now()))

    async def add_event(self, order_id: str, event: OrderEvent, *, estimated_delivery: date | None = None) -> Order | None:
        """Append a shipment event; the order takes the event's status. None if no such order."""
        key = keys.order(order_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    if raw is None:
                        return None
                    old = order_from_stored(raw)
                    updated = replace(
                        old, status=event.status, events=(*old.events, event),
                        estimated_delivery=estimated_delivery or old.estimated_delivery,
                    )
                    pipe.multi()  # type: ignore[no-untyped-call]
                    _write(pipe, old, updated)
                    await pipe.execute()
                    return updated
                except WatchError:
                    continue
