"""Orders as the shop pushes them, stored in Redis as JSON.

The shop is the source of truth: it PUTs whole orders and appends shipment
events; the bot only reads them. An index by (normalised) email answers "all
orders of this customer" once the shop's customer token has vouched for the email.
An order may name where the customer wants news of its shipment (`notify`, sent by
gateway/notifications/); only the shop reads that back, never the bot or an agent.
"""

from __future__ import annotations

import json
import re
import string
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import WatchError

from core.types import Channel, Clock
from gateway import keys
from gateway.json_input import InvalidInput, Reader

MONEY = re.compile(r"\d{1,9}(\.\d{1,2})?")
CURRENCY = re.compile(r"[A-Z]{3}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
PHONE = re.compile(r"\+?[0-9 ()/.-]{5,30}")
COUNTRY = re.compile(r"[A-Z]{2}")
# Where a notification can go: an E.164 number (SMS, WhatsApp), a Messenger PSID, or the
# widget's web session id (the same form channels/webchat.py accepts).
NOTIFY_ADDRESSES = {
    Channel.SMS: re.compile(r"\+[1-9][0-9]{6,14}"),
    Channel.WHATSAPP: re.compile(r"\+[1-9][0-9]{6,14}"),
    Channel.MESSENGER: re.compile(r"[0-9]{1,32}"),
    Channel.WEB: re.compile(r"[A-Za-z0-9_-]{20,64}"),
}
NOTIFY_CHANNELS = tuple(channel.value for channel in NOTIFY_ADDRESSES)
# The languages of the gateway's texts (gateway/locales/).
NOTIFY_LOCALES = ("de", "en")


class OrderStatus(StrEnum):
    PLACED = "placed"
    CONFIRMED = "confirmed"
    PACKED = "packed"
    SHIPPED = "shipped"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    DELAYED = "delayed"
    CANCELLED = "cancelled"


class Carrier(StrEnum):
    DHL = "DHL"
    DPD = "DPD"


STATUSES = tuple(status.value for status in OrderStatus)
CARRIERS = tuple(carrier.value for carrier in Carrier)


_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def normalise_email(email: str) -> str:
    """The form emails are compared and indexed in: surrounding blanks and the case of A–Z do not matter.

    Only ASCII letters are lowered: ``str.lower`` (like ``casefold``) turns the Kelvin
    sign into ``k`` and ``İ`` into ``i̇``, so a look-alike address could read another
    customer's orders. Other characters must match exactly.
    """
    return email.strip().translate(_ASCII_LOWER)


@dataclass(frozen=True, slots=True)
class Item:
    sku: str
    name: str
    quantity: int
    price: str


@dataclass(frozen=True, slots=True)
class Address:
    name: str
    street: str
    postal_code: str
    city: str
    country: str


@dataclass(frozen=True, slots=True)
class OrderEvent:
    status: OrderStatus
    at: datetime
    location: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Notify:
    """Where the customer wants news of the order's shipment, and in which language."""

    channel: Channel
    address: str
    locale: str


@dataclass(frozen=True, slots=True)
class Order:
    order_id: str
    email: str
    items: tuple[Item, ...]
    total: str
    currency: str
    status: OrderStatus
    placed_at: datetime
    phone: str | None = None
    postal_code: str | None = None
    customer_name: str | None = None
    carrier: Carrier | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    estimated_delivery: date | None = None
    invoice_url: str | None = None
    shipping_address: Address | None = None
    notify: Notify | None = None
    events: tuple[OrderEvent, ...] = ()

    def delivered_at(self) -> datetime | None:
        """When the (last) delivered event happened: the start of the return window."""
        delivered = [event.at for event in self.events if event.status is OrderStatus.DELIVERED]
        return delivered[-1] if delivered else None


# --- reading untrusted JSON ------------------------------------------------


def parse_address(reader: Reader) -> Address:
    return Address(
        name=reader.text("name"),
        street=reader.text("street"),
        postal_code=reader.text("postal_code", max_length=12),
        city=reader.text("city"),
        country=reader.text("country", max_length=2, pattern=COUNTRY),
    )


def parse_notify(reader: Reader) -> Notify:
    channel = Channel(reader.choice("channel", NOTIFY_CHANNELS))
    pattern = NOTIFY_ADDRESSES[channel]
    try:
        address = reader.text("address", max_length=64, pattern=pattern)
    except InvalidInput as error:
        # "must match <regex>" says less than what the channel wants.
        raise InvalidInput(error.path, f"must be {_ADDRESS_FORMS[channel]}") from None
    return Notify(channel=channel, address=address, locale=reader.choice("locale", NOTIFY_LOCALES))


_ADDRESS_FORMS = {
    Channel.SMS: "a phone number in E.164 form like +4915112345678",
    Channel.WHATSAPP: "a phone number in E.164 form like +4915112345678",
    Channel.MESSENGER: "the customer's page-scoped id (digits)",
    Channel.WEB: "the widget's session id (StorechatWidget.sessionId())",
}


def _parse_item(element: Any, path: str) -> Item:
    reader = Reader.of(element, path)
    return Item(
        sku=reader.text("sku", max_length=64),
        name=reader.text("name"),
        quantity=reader.positive_int("quantity"),
        price=reader.text("price", max_length=12, pattern=MONEY),
    )


def parse_event(reader: Reader, *, now: datetime) -> OrderEvent:
    return OrderEvent(
        status=OrderStatus(reader.choice("status", STATUSES)),
        at=reader.optional_timestamp("at") or now,
        location=reader.optional_text("location"),
        note=reader.optional_text("note", max_length=1000),
    )


def parse_order(body: object, order_id: str) -> Order:
    """An order from the shop's JSON (events are not the shop's to overwrite: ignored)."""
    reader = Reader.of(body)
    if reader.data.get("order_id", order_id) != order_id:
        raise InvalidInput("order_id", "must equal the order id in the URL")
    carrier = reader.optional_choice("carrier", CARRIERS)
    address = reader.optional_nested("shipping_address")
    notify = reader.optional_nested("notify")
    return Order(
        order_id=order_id,
        email=reader.text("email", max_length=254, pattern=EMAIL),
        items=tuple(_parse_item(element, path) for element, path in reader.array("items")),
        total=reader.text("total", max_length=12, pattern=MONEY),
        currency=reader.text("currency", max_length=3, pattern=CURRENCY),
        status=OrderStatus(reader.choice("status", STATUSES)),
        placed_at=reader.timestamp("placed_at"),
        phone=reader.optional_text("phone", max_length=30, pattern=PHONE),
        postal_code=reader.optional_text("postal_code", max_length=12),
        customer_name=reader.optional_text("customer_name"),
        carrier=Carrier(carrier) if carrier else None,
        tracking_number=reader.optional_text("tracking_number", max_length=64),
        tracking_url=reader.optional_url("tracking_url"),
        estimated_delivery=reader.optional_calendar_date("estimated_delivery"),
        invoice_url=reader.optional_url("invoice_url"),
        shipping_address=parse_address(address) if address else None,
        notify=parse_notify(notify) if notify else None,
    )


# --- the JSON the API answers with (and Redis stores) ------------------------


def event_to_json(event: OrderEvent) -> dict[str, Any]:
    data: dict[str, Any] = {"status": event.status.value, "at": event.at.isoformat()}
    if event.location is not None:
        data["location"] = event.location
    if event.note is not None:
        data["note"] = event.note
    return data


def order_to_json(order: Order, *, with_notify: bool = False) -> dict[str, Any]:
    """The order as the API answers; `notify` only `with_notify` (the shop's own answers and
    storage): a web session id is the shopper's chat credential, not for the bot or agents."""
    address = order.shipping_address
    data: dict[str, Any] = {
        "order_id": order.order_id,
        "email": order.email,
        "phone": order.phone,
        "postal_code": order.postal_code,
        "customer_name": order.customer_name,
        "items": [
            {"sku": item.sku, "name": item.name, "quantity": item.quantity, "price": item.price}
            for item in order.items
        ],
        "total": order.total,
        "currency": order.currency,
        "status": order.status.value,
        "carrier": order.carrier.value if order.carrier else None,
        "tracking_number": order.tracking_number,
        "tracking_url": order.tracking_url,
        "estimated_delivery": order.estimated_delivery.isoformat() if order.estimated_delivery else None,
        "placed_at": order.placed_at.isoformat(),
        "invoice_url": order.invoice_url,
        "shipping_address": None if address is None else {
            "name": address.name, "street": address.street, "postal_code": address.postal_code,
            "city": address.city, "country": address.country,
        },
        "events": [event_to_json(event) for event in order.events],
    }
    if with_notify and order.notify is not None:
        notify = order.notify
        data["notify"] = {"channel": notify.channel.value, "address": notify.address, "locale": notify.locale}
    return data


def order_from_stored(raw: str | bytes) -> Order:
    data = json.loads(raw)
    order = parse_order(data, data["order_id"])
    events = tuple(
        parse_event(Reader.of(element, f"events[{index}]"), now=order.placed_at)
        for index, element in enumerate(data["events"])
    )
    return replace(order, events=events)


def _dumps(order: Order) -> str:
    return json.dumps(order_to_json(order, with_notify=True), ensure_ascii=False, separators=(",", ":"))


# --- the store ---------------------------------------------------------------


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

    async def put(self, order: Order, *, events: tuple[OrderEvent, ...] | None = None) -> tuple[Order, bool]:
        """Create or replace an order; the order as stored, and True if it was new.

        The stored events are kept (the shop's PUT carries none); a new order or a
        changed status records an event, so the history and the return window always
        have one. `events` replaces the history instead (demo data that owns its orders).
        The order and its email index change in one WATCH/MULTI transaction, so an
        email change can never leave the order listed under both emails or neither.
        """
        key = keys.order(order.order_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    old = None if raw is None else order_from_stored(raw)
                    history = events if events is not None else self._history(old, order.status)
                    stored = replace(order, events=history)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.set(key, _dumps(stored))
                    if old is not None and normalise_email(old.email) != normalise_email(order.email):
                        pipe.zrem(keys.orders_by_email(normalise_email(old.email)), order.order_id)
                    pipe.zadd(keys.orders_by_email(normalise_email(order.email)),
                              {order.order_id: order.placed_at.timestamp()})
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
                    pipe.set(key, _dumps(updated))
                    await pipe.execute()
                    return updated
                except WatchError:
                    continue
