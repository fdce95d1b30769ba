"""Shopify's webhooks: orders, fulfilments, carts and checkouts.

Every delivery is signed `X-Shopify-Hmac-Sha256` = base64(HMAC-SHA256(raw body, the app's
client secret)); `X-Shopify-Webhook-Id` is the same on every retry of one delivery. Neither
it nor `X-Shopify-Triggered-At` is signed: what "newer" means for an order is the body's own
`updated_at` (an old body replayed with a fresh header is still old); the header stands in
only for a body without one.

An order is stored under its `order_number` (the number the customer sees, "#1001"
without the sign), not Shopify's long internal id; the fulfilments name that id only,
so gateway/platforms/intake.py keeps which number it belongs to.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime
from decimal import Decimal
from typing import Any

from gateway.platforms.types import (
    CartItem, CartUpdate, Delivery, InvalidSignature, MalformedPayload, OrderPlacedUpdate, OrderUpsert, Parsed,
    ShipmentUpdate, Update, address, an_id, carrier, json_object, language, money, name_of, obj, objects,
    signatures_match, street_of, text, texts, timestamp,
)
from gateway.shop.orders import OrderStatus

# The cart attribute the storefront sets to the widget's session id (a leading "_" hides
# it from the checkout page): `StorechatWidget.sessionId()` posted to /cart/update.js.
SESSION_ATTRIBUTE = "_storechat_session"

ORDER_TOPICS = frozenset({"orders/create", "orders/updated", "orders/cancelled", "orders/paid", "orders/fulfilled"})
FULFILMENT_TOPICS = frozenset({"fulfillments/create", "fulfillments/update"})
CART_TOPICS = frozenset({"carts/create", "carts/update", "checkouts/create", "checkouts/update"})

# A fulfilment's shipment_status (from the carrier's tracking) → storechat's status.
SHIPMENT_STATUSES = {
    None: OrderStatus.SHIPPED,
    "label_printed": OrderStatus.PACKED,
    "label_purchased": OrderStatus.PACKED,
    "confirmed": OrderStatus.SHIPPED,
    "in_transit": OrderStatus.IN_TRANSIT,
    "out_for_delivery": OrderStatus.OUT_FOR_DELIVERY,
    "ready_for_pickup": OrderStatus.OUT_FOR_DELIVERY,
    "attempted_delivery": OrderStatus.DELAYED,
    "failure": OrderStatus.DELAYED,
    "delivered": OrderStatus.DELIVERED,
    "picked_up": OrderStatus.DELIVERED,
}
# The order's financial_status that confirm it (the money is there, or reserved).
CONFIRMED_FINANCIAL = frozenset({"paid", "partially_paid", "authorized", "partially_refunded", "refunded"})
# Fulfilments that shipped something (not cancelled, failed or still pending).
_LIVE_FULFILMENT = "success"
# A cart's currency when its payload names none (carts/* carry only prices).
DEFAULT_CURRENCY = "EUR"


class Shopify:
    name = "shopify"

    def shop(self, delivery: Delivery) -> str | None:
        return delivery.headers.get("x-shopify-shop-domain")

    def verify(self, delivery: Delivery, secret: str) -> None:
        digest = hmac.new(secret.encode(), delivery.body, hashlib.sha256).digest()
        if not signatures_match(base64.b64encode(digest).decode(), delivery.headers.get("x-shopify-hmac-sha256")):
            raise InvalidSignature("X-Shopify-Hmac-Sha256 does not match the body")

    def parse(self, delivery: Delivery) -> Parsed:
        topic = delivery.headers.get("x-shopify-topic", "")
        data = json_object(delivery.body)
        triggered = delivery.headers.get("x-shopify-triggered-at")
        updates: tuple[Update, ...]
        if topic in ORDER_TOPICS:
            updates = _order_updates(data, _when(triggered, data), placed=topic == "orders/create")
        elif topic in FULFILMENT_TOPICS:
            shipment = fulfilment(data, _when(triggered, data))
            updates = () if shipment is None else (shipment,)
        elif topic in CART_TOPICS:
            updates = (cart(data, checkout=topic.startswith("checkouts/")),)
        else:
            updates = ()  # a topic storechat does not use: acknowledged, nothing applied
        return Parsed(delivery.headers.get("x-shopify-webhook-id"), topic, updates)


def _when(triggered: str | None, data: dict[str, Any]) -> datetime:
    """When the body's order or fulfilment changed: its signed `updated_at`, never the unsigned header's
    time while the body has one."""
    if data.get("updated_at"):
        return timestamp(data.get("updated_at"), "updated_at")
    if triggered:
        return timestamp(triggered, "X-Shopify-Triggered-At")
    return timestamp(data.get("created_at"), "created_at")


def _session(data: dict[str, Any]) -> str | None:
    """The widget's session id the storefront put into the cart's attributes."""
    for attribute in objects(data.get("note_attributes")):
        if attribute.get("name") == SESSION_ATTRIBUTE:
            return text(attribute.get("value"))
    return None


# --- orders ---------------------------------------------------------------------------


def order_status(data: dict[str, Any]) -> OrderStatus:
    if data.get("cancelled_at"):
        return OrderStatus.CANCELLED
    shipped = [item for item in objects(data.get("fulfillments")) if item.get("status") == _LIVE_FULFILMENT]
    if shipped:
        return SHIPMENT_STATUSES.get(text(shipped[-1].get("shipment_status")), OrderStatus.SHIPPED)
    if data.get("fulfillment_status") in ("fulfilled", "partial"):
        return OrderStatus.SHIPPED
    if data.get("financial_status") in CONFIRMED_FINANCIAL:
        return OrderStatus.CONFIRMED
    return OrderStatus.PLACED


def _item(line: dict[str, Any]) -> dict[str, Any]:
    return {
        # A product without a SKU is still one thing: its variant's id stands in.
        "sku": text(line.get("sku")) or text(line.get("variant_id")) or text(line.get("product_id")) or "-",
        "name": text(line.get("name")) or text(line.get("title")) or "-",
        "quantity": line.get("quantity"),
        "price": money(line.get("price")),
    }


def _tracking(data: dict[str, Any]) -> dict[str, Any]:
    shipped = [item for item in objects(data.get("fulfillments")) if item.get("status") == _LIVE_FULFILMENT]
    if not shipped:
        return {}
    last = shipped[-1]
    return {"carrier": carrier(text(last.get("tracking_company"))),
            "tracking_number": text(last.get("tracking_number")),
            "tracking_url": text(last.get("tracking_url"))}


def order_body(data: dict[str, Any]) -> dict[str, Any]:
    """The shop API's order body of a Shopify order (its number, not its internal id)."""
    customer = obj(data.get("customer"))
    shipping, billing = obj(data.get("shipping_address")), obj(data.get("billing_address"))
    where = shipping or billing
    return {
        "email": text(data.get("email")) or text(data.get("contact_email")) or text(customer.get("email")),
        "phone": text(data.get("phone")) or text(customer.get("phone")) or text(shipping.get("phone"))
        or text(billing.get("phone")),
        "postal_code": text(where.get("zip")),
        "customer_name": name_of(customer.get("first_name"), customer.get("last_name")) or text(where.get("name")),
        "items": [_item(line) for line in objects(data.get("line_items"))],
        "total": money(data.get("total_price")),
        "currency": text(data.get("currency")),
        "placed_at": text(data.get("processed_at")) or text(data.get("created_at")),
        "shipping_address": None if not shipping else address(
            text(shipping.get("name")) or name_of(shipping.get("first_name"), shipping.get("last_name")),
            street_of(shipping.get("address1"), shipping.get("address2")), shipping.get("zip"),
            shipping.get("city"), shipping.get("country_code")),
        **_tracking(data),
    }


def _order_updates(data: dict[str, Any], when: datetime, *, placed: bool) -> tuple[Update, ...]:
    """The order; and, when it was just placed by a visitor the storefront tied, that visitor's purchase
    (only then: a later update is no second purchase, nor a visit of the storefront)."""
    number = an_id(data.get("order_number"), "order_number")
    upsert = OrderUpsert(an_id(data.get("id"), "id"), {"order_id": number, **order_body(data)},
                         order_status(data), when, language(data.get("customer_locale")))
    session = _session(data) if placed else None
    if session is None:
        return (upsert,)
    return upsert, OrderPlacedUpdate(session, number, money(data.get("total_price")))


# --- fulfilments ---------------------------------------------------------------------------


def fulfilment(data: dict[str, Any], when: datetime) -> ShipmentUpdate | None:
    """The shipment event of a fulfilment; None for one cancelled, failed or still pending."""
    if data.get("status") != _LIVE_FULFILMENT:
        return None
    status = SHIPMENT_STATUSES.get(text(data.get("shipment_status")))
    if status is None:
        raise MalformedPayload(f"unknown shipment_status {data.get('shipment_status')!r}")
    numbers, urls = texts(data.get("tracking_numbers")), texts(data.get("tracking_urls"))
    destination = obj(data.get("destination"))
    return ShipmentUpdate(
        platform_order_id=an_id(data.get("order_id"), "order_id"), status=status, updated_at=when,
        carrier=carrier(text(data.get("tracking_company"))),
        tracking_number=text(data.get("tracking_number")) or next(iter(numbers), None),
        tracking_url=text(data.get("tracking_url")) or next(iter(urls), None),
        location=text(destination.get("city")) if status is OrderStatus.OUT_FOR_DELIVERY else None,
    )


# --- carts and checkouts ---------------------------------------------------------------------


def cart(data: dict[str, Any], *, checkout: bool) -> CartUpdate:
    """A cart (carts/*: `token`) or a checkout (checkouts/*: its `cart_token`)."""
    token = an_id(data.get("cart_token") if checkout else data.get("token"), "cart_token" if checkout else "token")
    lines = objects(data.get("line_items"))
    items = tuple(CartItem(
        sku=text(line.get("sku")) or text(line.get("variant_id")) or "-",
        name=text(line.get("title")) or text(line.get("name")) or "-",
        quantity=quantity if isinstance(quantity := line.get("quantity"), int) else 0,
        price=money(line.get("price")),
    ) for line in lines)
    if checkout:
        value = money(data.get("total_price"))
    else:
        value = money(sum((Decimal(money(line.get("line_price") or 0)) for line in lines), Decimal(0)))
    currency = text(data.get("currency")) or text(data.get("presentment_currency")) or DEFAULT_CURRENCY
    return CartUpdate(token, items, value, currency, _session(data))
