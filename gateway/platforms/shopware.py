"""Shopware 6's app system: the registration handshake and the app's webhooks.

Registration (a shop installs the app whose manifest names our registration URL):
1. Shopware GETs the registration URL with `shop-id`, `shop-url` and `timestamp` in the
   query, signed `shopware-app-signature` = hex(HMAC-SHA256(the query string, app secret)).
2. We answer `proof` = hex(HMAC-SHA256(shop id + shop url + app name, app secret)), a new
   `secret` for this shop, and the `confirmation_url`.
3. Shopware POSTs the shop's API credentials there, signed `shopware-shop-signature` =
   hex(HMAC-SHA256(raw body, the shop secret we issued)); from then on that secret is the
   shop's, and every webhook is signed with it the same way.

A webhook's body is `{"data": {"payload": {"order": {...}}, "event": ...}, "source":
{"url", "shopId", "appVersion", "eventId"}, "timestamp"}`: the whole order after the event,
with `source.eventId` to dedupe by and `timestamp` (seconds) to order them by.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from gateway.platforms.types import (
    Delivery, InvalidSignature, MalformedPayload, OrderUpsert, Parsed, address, an_id, carrier, json_object,
    language, money, name_of, obj, objects, signatures_match, street_of, text, texts, timestamp,
)
from gateway.shop.orders import OrderStatus

# The events whose payload is the whole order (subscribe to these in the app's manifest).
ORDER_EVENT_PREFIXES = ("checkout.order.placed", "state_enter.order.state.", "state_enter.order_delivery.state.",
                        "state_enter.order_transaction.state.")
# The delivery's state (state machine `order_delivery.state`) → storechat's, before the order's own.
DELIVERY_STATES = {
    "shipped": OrderStatus.SHIPPED,
    "shipped_partially": OrderStatus.SHIPPED,
    "cancelled": OrderStatus.CANCELLED,
}
# The order's state (`order.state`).
ORDER_STATES = {"cancelled": OrderStatus.CANCELLED, "completed": OrderStatus.DELIVERED}
# The payment's state (`order_transaction.state`) that confirm an order.
CONFIRMED_PAYMENTS = frozenset({"paid", "paid_partially", "authorized"})
# An order without a currency association loaded is in the shop's default, here this one.
DEFAULT_CURRENCY = "EUR"
# The app's lifecycle event when a shop uninstalls it (its secret is forgotten).
APP_DELETED = "app.deleted"
# A registration request older than this is refused (a replayed one).
REGISTRATION_MAX_AGE_SECONDS = 600


def hex_hmac(secret: str, data: bytes) -> str:
    return hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


# --- the registration handshake ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Registration:
    shop_id: str
    shop_url: str
    timestamp: int
    signature: str  # the request's own (lower-case hex): it is used once


def same_shop(url: str) -> str:
    """A shop URL as compared with STORECHAT_SHOPWARE_SHOP_URLS (case and a trailing "/" aside)."""
    return url.strip().rstrip("/").lower()


def registration(query: str, signature: str | None, app_secret: str, now: float) -> Registration:
    """The shop asking to register, if Shopware signed the query with the app secret."""
    pairs = parse_qsl(query, keep_blank_values=True)
    # As sent (Shopware signs its own percent-encoding), or as PHP's rawurlencode spells it,
    # should a proxy on the way have decoded the ":" and "/" of the shop's URL.
    spelt = {query, urlencode(pairs, quote_via=quote, safe="-_.~")}
    if signature is None or not any(signatures_match(hex_hmac(app_secret, form.encode()), signature)
                                    for form in spelt):
        raise InvalidSignature("shopware-app-signature does not match the query")
    fields = dict(pairs)
    try:
        found = Registration(an_id(fields.get("shop-id"), "shop-id"), an_id(fields.get("shop-url"), "shop-url"),
                             int(fields.get("timestamp", "")), signature.strip().lower())
    except ValueError:
        raise MalformedPayload("shop-id, shop-url and timestamp are required") from None
    if abs(now - found.timestamp) > REGISTRATION_MAX_AGE_SECONDS:
        raise InvalidSignature("the registration's timestamp is too old")
    return found


def proof(shop: Registration, app_name: str, app_secret: str) -> str:
    return hex_hmac(app_secret, (shop.shop_id + shop.shop_url + app_name).encode())


def confirmation(body: bytes) -> tuple[str, str]:
    """(shop id, shop url) of the confirmation POST; its signature is checked with the shop's new secret."""
    data = json_object(body)
    return an_id(data.get("shopId"), "shopId"), an_id(data.get("shopUrl"), "shopUrl")


# --- webhooks ------------------------------------------------------------------------------


class Shopware:
    name = "shopware"

    def shop(self, delivery: Delivery) -> str | None:
        """The shop the body says it is from (read before the signature: only a key to its secret)."""
        try:
            return an_id(obj(json.loads(delivery.body).get("source")).get("shopId"), "source.shopId")
        except (ValueError, AttributeError):  # MalformedPayload is a ValueError too
            return None

    def verify(self, delivery: Delivery, secret: str) -> None:
        if not signatures_match(hex_hmac(secret, delivery.body), delivery.headers.get("shopware-shop-signature")):
            raise InvalidSignature("shopware-shop-signature does not match the body")

    def parse(self, delivery: Delivery) -> Parsed:
        data = json_object(delivery.body)
        event_data, source = obj(data.get("data")), obj(data.get("source"))
        event = text(event_data.get("event")) or ""
        event_id = text(source.get("eventId"))
        if not event.startswith(ORDER_EVENT_PREFIXES):
            return Parsed(event_id, event)
        order = obj(obj(event_data.get("payload")).get("order"))
        if not order:
            raise MalformedPayload(f"{event}: no order in data.payload")
        at = data.get("timestamp")
        if not isinstance(at, int) or isinstance(at, bool):
            raise MalformedPayload("timestamp: not a number of seconds")
        locale = obj(obj(order.get("language")).get("locale")).get("code")
        upsert = OrderUpsert(an_id(order.get("id"), "order.id"), order_body(order), order_status(order, event),
                             datetime.fromtimestamp(at, UTC), language(locale))
        return Parsed(event_id, event, (upsert,))


def _state(entity: dict[str, Any]) -> str | None:
    return text(obj(entity.get("stateMachineState")).get("technicalName"))


def order_status(order: dict[str, Any], event: str) -> OrderStatus:
    """From the order's, its delivery's and its payment's states; the event's own state wins
    over the payload's (the state it entered)."""
    deliveries, payments = objects(order.get("deliveries")), objects(order.get("transactions"))
    delivery = _state(deliveries[0]) if deliveries else None
    payment = _state(payments[-1]) if payments else None
    state = _state(order)
    entered = event.rsplit(".", 1)[-1]
    if event.startswith("state_enter.order_delivery.state."):
        delivery = entered
    elif event.startswith("state_enter.order_transaction.state."):
        payment = entered
    elif event.startswith("state_enter.order.state."):
        state = entered
    if state in ORDER_STATES:
        return ORDER_STATES[state]
    if delivery in DELIVERY_STATES:
        return DELIVERY_STATES[delivery]
    if payment in CONFIRMED_PAYMENTS or state == "in_progress":
        return OrderStatus.CONFIRMED
    return OrderStatus.PLACED


def order_body(order: dict[str, Any]) -> dict[str, Any]:
    """The shop API's order body of a Shopware order (its `orderNumber`)."""
    customer = obj(order.get("orderCustomer"))
    deliveries = objects(order.get("deliveries"))
    first = deliveries[0] if deliveries else {}
    shipping = obj(first.get("shippingOrderAddress"))
    billing = obj(order.get("billingAddress")) or next(
        (a for a in objects(order.get("addresses")) if a.get("id") == order.get("billingAddressId")), {})
    where = shipping or billing
    codes = texts(first.get("trackingCodes"))
    return {
        "order_id": an_id(order.get("orderNumber"), "orderNumber"),
        "email": text(customer.get("email")),
        "phone": text(where.get("phoneNumber")) or text(billing.get("phoneNumber")),
        "postal_code": text(where.get("zipcode")),
        "customer_name": name_of(customer.get("firstName"), customer.get("lastName")),
        "items": [{
            "sku": text(obj(line.get("payload")).get("productNumber")) or text(line.get("referencedId")) or "-",
            "name": text(line.get("label")) or "-",
            "quantity": line.get("quantity"),
            "price": money(line.get("unitPrice")),
        } for line in objects(order.get("lineItems")) if line.get("type") in ("product", None)],
        "total": money(order.get("amountTotal")),
        "currency": text(obj(order.get("currency")).get("isoCode")) or DEFAULT_CURRENCY,
        "placed_at": timestamp(order.get("orderDateTime"), "orderDateTime").isoformat(),
        "carrier": carrier(text(obj(first.get("shippingMethod")).get("name"))),
        "tracking_number": next(iter(codes), None),
        "shipping_address": None if not shipping else address(
            name_of(shipping.get("firstName"), shipping.get("lastName")),
            street_of(shipping.get("street"), shipping.get("additionalAddressLine1")), shipping.get("zipcode"),
            shipping.get("city"), obj(shipping.get("country")).get("iso")),
    }
