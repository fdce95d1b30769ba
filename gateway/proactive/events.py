"""What the storefront reports about a visitor, parsed from untrusted JSON.

The same four shapes arrive from the widget (Socket.IO `storefront_event`) and from the
shop's backend (`POST /api/v1/storefront/events`); the gateway stamps them with its own
clock on arrival, so a visitor's device clock never decides a rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from gateway.json_input import InvalidInput, Reader, field_path

MONEY = re.compile(r"\d{1,9}(\.\d{1,2})?")
CURRENCY = re.compile(r"[A-Z]{3}")
# As the widget's session ids (channels/webchat.py): unguessable, nothing a Redis key would mind.
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{20,64}")
MAX_CART_ITEMS = 100
MAX_TITLE_CHARS = 300


class EventType(StrEnum):
    PAGE_VIEW = "page_view"
    CART = "cart"
    CHECKOUT_STARTED = "checkout_started"
    ORDER_PLACED = "order_placed"


class PageType(StrEnum):
    PRODUCT = "product"
    CATEGORY = "category"
    CART = "cart"
    CHECKOUT = "checkout"
    HELP = "help"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class PageView:
    page_type: PageType
    url: str | None = None
    title: str | None = None


@dataclass(frozen=True, slots=True)
class CartItem:
    sku: str
    name: str
    quantity: int
    price: str


@dataclass(frozen=True, slots=True)
class Cart:
    items: tuple[CartItem, ...]
    value: str
    currency: str

    @property
    def amount(self) -> Decimal:
        return Decimal(self.value)


@dataclass(frozen=True, slots=True)
class CheckoutStarted:
    pass


@dataclass(frozen=True, slots=True)
class OrderPlaced:
    order_id: str | None = None
    value: str | None = None


StorefrontEvent = PageView | Cart | CheckoutStarted | OrderPlaced


def _cart_item(value: object, path: str) -> CartItem:
    reader = Reader.of(value, path)
    return CartItem(
        sku=reader.text("sku", max_length=64),
        name=reader.text("name", max_length=MAX_TITLE_CHARS),
        quantity=reader.positive_int("quantity"),
        price=reader.text("price", max_length=12, pattern=MONEY),
    )


def _cart(reader: Reader) -> Cart:
    items = reader.data.get("items")
    where = field_path(reader.path, "items")
    # An empty list is a cart emptied: news too, unlike an order without items.
    if not isinstance(items, list):
        raise InvalidInput(where, "must be an array (empty for an emptied cart)")
    if len(items) > MAX_CART_ITEMS:
        raise InvalidInput(where, f"must have at most {MAX_CART_ITEMS} entries")
    return Cart(
        items=tuple(_cart_item(item, field_path(where, index)) for index, item in enumerate(items)),
        value=reader.text("value", max_length=12, pattern=MONEY),
        currency=reader.text("currency", max_length=3, pattern=CURRENCY),
    )


def parse_event(value: object, path: str = "") -> StorefrontEvent:
    """One storefront event; InvalidInput names the offending field."""
    reader = Reader.of(value, path)
    kind = EventType(reader.choice("type", tuple(kind.value for kind in EventType)))
    if kind is EventType.PAGE_VIEW:
        return PageView(
            page_type=PageType(reader.choice("page_type", tuple(page.value for page in PageType))),
            url=reader.optional_url("url"),
            title=reader.optional_text("title", max_length=MAX_TITLE_CHARS),
        )
    if kind is EventType.CART:
        return _cart(reader)
    if kind is EventType.CHECKOUT_STARTED:
        return CheckoutStarted()
    return OrderPlaced(
        order_id=reader.optional_text("order_id", max_length=64),
        value=reader.optional_text("value", max_length=12, pattern=MONEY),
    )


def cart_to_json(cart: Cart) -> dict[str, Any]:
    return {
        "items": [{"sku": item.sku, "name": item.name, "quantity": item.quantity, "price": item.price}
                  for item in cart.items],
        "value": cart.value,
        "currency": cart.currency,
    }


def cart_from_json(raw: dict[str, Any]) -> Cart:
    """A cart as stored by `cart_to_json` (already validated when it arrived)."""
    return Cart(
        items=tuple(CartItem(str(item["sku"]), str(item["name"]), int(item["quantity"]), str(item["price"]))
                    for item in raw["items"]),
        value=str(raw["value"]),
        currency=str(raw["currency"]),
    )
