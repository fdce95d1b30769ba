"""What the storefront reports about a visitor: the events' models, which read untrusted JSON.

The same four shapes arrive from the widget (Socket.IO `storefront_event`) and from the
shop's backend (`POST /api/v1/storefront/events`); the gateway stamps them with its own
clock on arrival, so a visitor's device clock never decides a rule.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, TypeAdapter

from gateway.json_input import Body, Currency, Money, Quantity, Sku, Text, Url, parse_as, problem

MAX_CART_ITEMS = 100
MAX_TITLE_CHARS = 300
Title = Annotated[str, Text(max_length=MAX_TITLE_CHARS)]


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


class PageView(Body):
    type: Literal[EventType.PAGE_VIEW]
    page_type: PageType
    url: Url | None = None
    title: Title | None = None


class CartItem(Body):
    sku: Sku
    name: Title
    quantity: Quantity
    price: Money


def _cart_items(value: Any) -> Any:
    # An empty list is a cart emptied: news too, unlike an order without items.
    if not isinstance(value, (list, tuple)):
        raise problem("must be an array (empty for an emptied cart)")
    return value


class Cart(Body):
    type: Literal[EventType.CART]
    items: Annotated[tuple[CartItem, ...], Field(max_length=MAX_CART_ITEMS, description="empty: the cart was emptied"),
                     BeforeValidator(_cart_items)]
    value: Money
    currency: Currency

    @property
    def amount(self) -> Decimal:
        return Decimal(self.value)


class CheckoutStarted(Body):
    type: Literal[EventType.CHECKOUT_STARTED]


class OrderPlaced(Body):
    type: Literal[EventType.ORDER_PLACED]
    order_id: Annotated[str, Text(max_length=64)] | None = None
    value: Money | None = None


StorefrontEvent = Annotated[PageView | Cart | CheckoutStarted | OrderPlaced, Field(discriminator="type")]
_EVENT: TypeAdapter[StorefrontEvent] = TypeAdapter(StorefrontEvent)


def parse_event(value: object, path: str = "") -> StorefrontEvent:
    """One storefront event; InvalidInput names the offending field."""
    return parse_as(_EVENT, value, path)


def cart_to_json(cart: Cart) -> dict[str, Any]:
    return cart.model_dump(mode="json", exclude={"type"})


def cart_from_json(raw: dict[str, Any]) -> Cart:
    """A cart as stored by `cart_to_json`."""
    return Cart.model_validate({**raw, "type": EventType.CART})
