"""The contract between the gateway and a shop platform (Shopify, Shopware 6, WooCommerce).

An adapter turns the platform's signed webhook bytes into storechat's types. It never
sees an aiohttp request and never touches Redis: gateway/platforms/routes.py hands it a
`Delivery`, gateway/platforms/intake.py applies what it returns to the one order store
(gateway/shop/orders.py) and the proactive engine (gateway/proactive/).

    shop(delivery)             which shop sent it (the key to a per-shop secret), if known
    verify(delivery, secret)   raise InvalidSignature unless it is signed with `secret`
    parse(delivery)            a `Parsed`: the delivery's id and time, and what it says

An order arrives as the shop API's own order body (`OrderUpsert.body`), so the same input
rules check a platform's order and one PUT through /api/v1/orders.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from gateway.shop.orders import Carrier, OrderStatus

# The order body's carrier field knows these; any other company keeps its number and link only.
_CARRIERS = {"dhl": Carrier.DHL, "dpd": Carrier.DPD}
# A delivery or platform id longer than this is no platform's (it becomes part of a Redis key).
MAX_ID_CHARS = 128


class InvalidSignature(Exception):
    """Not signed with the platform's secret (answered with 403, never applied)."""


class MalformedPayload(ValueError):
    """Signed, but not in the platform's format (answered with 400, logged)."""


@dataclass(frozen=True, slots=True)
class Delivery:
    headers: Mapping[str, str]  # names lower-cased
    body: bytes


@dataclass(frozen=True, slots=True)
class OrderUpsert:
    """The platform's whole order, as the shop API's order body (without `status` if the
    platform's states say nothing storechat knows: the stored status stays)."""

    platform_order_id: str
    body: dict[str, Any]
    status: OrderStatus | None
    # When the platform changed it: an older snapshot never overwrites a newer one.
    updated_at: datetime
    # The customer's language, if the platform knows it (what a notification is written in).
    locale: str | None = None


@dataclass(frozen=True, slots=True)
class ShipmentUpdate:
    """A fulfilment of an order already known (Shopify's fulfillments/*)."""

    platform_order_id: str
    status: OrderStatus
    updated_at: datetime
    carrier: Carrier | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    location: str | None = None


@dataclass(frozen=True, slots=True)
class CartItem:
    sku: str
    name: str
    quantity: int
    price: str


@dataclass(frozen=True, slots=True)
class CartUpdate:
    """A storefront cart or checkout; `session_id` when the storefront tied it to the widget's visitor."""

    cart_token: str
    items: tuple[CartItem, ...]
    value: str
    currency: str
    session_id: str | None = None


@dataclass(frozen=True, slots=True)
class OrderPlacedUpdate:
    """An order placed by a visitor the storefront tied to the widget: no more cart offers."""

    session_id: str
    order_id: str
    value: str


Update = OrderUpsert | ShipmentUpdate | CartUpdate | OrderPlacedUpdate


@dataclass(frozen=True, slots=True)
class Parsed:
    # The platform's id of this delivery (the same on a redelivery); None: nothing to dedupe by.
    delivery_id: str | None
    topic: str
    updates: tuple[Update, ...] = field(default_factory=tuple)


class PlatformAdapter(Protocol):
    name: str

    def shop(self, delivery: Delivery) -> str | None: ...

    def verify(self, delivery: Delivery, secret: str) -> None: ...

    def parse(self, delivery: Delivery) -> Parsed: ...


# --- what every adapter reads the same way ------------------------------------------


def signatures_match(expected: str, given: str | None) -> bool:
    """Constant-time comparison of a signature header with the one computed."""
    return given is not None and hmac.compare_digest(expected.encode(), given.strip().encode())


def json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedPayload(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise MalformedPayload("not a JSON object")
    return data


def obj(value: object) -> dict[str, Any]:
    """A nested object of a payload, or {} when it is missing or null."""
    return value if isinstance(value, dict) else {}


def objects(value: object) -> list[dict[str, Any]]:
    """A payload's list of objects, or [] when it is missing or null."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def text(value: object) -> str | None:
    """A payload's string, blank or missing as None (numbers as their digits)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def an_id(value: object, what: str) -> str:
    found = text(value)
    if found is None or len(found) > MAX_ID_CHARS:
        raise MalformedPayload(f"{what}: missing or not an id")
    return found


def money(value: object) -> str:
    """A price as the order body writes it ("29.90"), from "29.9", 29.9 or "29.90"."""
    try:
        amount = (Decimal(str(value)) if isinstance(value, (int, float, str, Decimal)) and not isinstance(value, bool)
                  else None)
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        raise MalformedPayload(f"not an amount: {value!r}")
    return str(amount.quantize(Decimal("0.01")))


def timestamp(value: object, what: str) -> datetime:
    """An ISO 8601 time; one without an offset is UTC (WooCommerce's *_gmt fields)."""
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None:
        raise MalformedPayload(f"{what}: not a date-time: {value!r}")
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def carrier(company: str | None) -> Carrier | None:
    """DHL for "DHL Express" or "Deutsche Post DHL", DPD for "DPD"; None for any other."""
    lowered = (company or "").lower()
    return next((known for name, known in _CARRIERS.items() if name in lowered), None)


def texts(value: object) -> list[str]:
    """A payload's list of strings (tracking numbers), blanks left out."""
    return [found for item in value if (found := text(item))] if isinstance(value, list) else []


def name_of(*parts: object) -> str | None:
    joined = " ".join(part for part in (text(p) for p in parts) if part)
    return joined or None


def street_of(*lines: object) -> str | None:
    return ", ".join(line for line in (text(p) for p in lines) if line) or None


def address(name: str | None, street: str | None, postal_code: object, city: object,
            country: object) -> dict[str, Any] | None:
    """The order body's shipping address, or None when the platform's lacks a part of it."""
    parts = {"name": name, "street": street, "postal_code": text(postal_code), "city": text(city),
             "country": (text(country) or "").upper() or None}
    return parts if all(parts.values()) else None


def language(locale: object) -> str | None:
    """The language of a platform's locale ("de-DE", "en", "de_DE" → "de", "en", "de")."""
    found = text(locale)
    return found.replace("_", "-").split("-")[0].lower() if found else None
