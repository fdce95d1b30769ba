"""WooCommerce's webhooks: `order.created` and `order.updated` (and the ping on creation).

Every delivery is signed `X-WC-Webhook-Signature` = base64(HMAC-SHA256(raw body, the
webhook's secret)) and carries `X-WC-Webhook-Delivery-ID`. When a webhook is saved,
WooCommerce first posts the form-encoded, unsigned `webhook_id=<n>` to check the URL: it
is answered 200 and nothing is applied (routes.py). The order's number is its `number`.

Tracking comes from the WooCommerce Shipment Tracking extension (the order's
`_wc_shipment_tracking_items` meta), the usual place; without it an order is never
shipped before it is "completed".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Any

from gateway.platforms.types import (
    Delivery, InvalidSignature, OrderUpsert, Parsed, address, an_id, carrier, json_object, money, name_of, obj,
    objects, signatures_match, street_of, text, timestamp,
)
from gateway.shop.orders import OrderStatus

ORDER_TOPICS = frozenset({"order.created", "order.updated"})
# WooCommerce's order statuses (and two that shipping plugins add) → storechat's.
STATUSES = {
    "pending": OrderStatus.PLACED,  # awaiting payment
    "on-hold": OrderStatus.PLACED,  # awaiting a bank transfer, say
    "processing": OrderStatus.CONFIRMED,  # paid, to be sent
    "completed": OrderStatus.SHIPPED,  # fulfilled: WooCommerce's last step is handing it over
    "shipped": OrderStatus.SHIPPED,
    "delivered": OrderStatus.DELIVERED,
    "cancelled": OrderStatus.CANCELLED,
    "refunded": OrderStatus.CANCELLED,
    "failed": OrderStatus.CANCELLED,  # the payment failed: nothing will be sent
}
# The block checkout's unfinished order: no order yet.
DRAFT = "checkout-draft"
TRACKING_META = "_wc_shipment_tracking_items"
# What WooCommerce posts when a webhook is saved.
PING = re.compile(rb"webhook_id=[0-9]{1,20}")


def is_ping(delivery: Delivery) -> bool:
    """Only `webhook_id=<n>` (unsigned, whatever its content type): it carries nothing to apply."""
    return PING.fullmatch(delivery.body.strip()) is not None


class WooCommerce:
    name = "woocommerce"

    def shop(self, delivery: Delivery) -> str | None:
        return delivery.headers.get("x-wc-webhook-source")

    def verify(self, delivery: Delivery, secret: str) -> None:
        digest = hmac.new(secret.encode(), delivery.body, hashlib.sha256).digest()
        if not signatures_match(base64.b64encode(digest).decode(), delivery.headers.get("x-wc-webhook-signature")):
            raise InvalidSignature("X-WC-Webhook-Signature does not match the body")

    def parse(self, delivery: Delivery) -> Parsed:
        topic = delivery.headers.get("x-wc-webhook-topic", "")
        delivery_id = delivery.headers.get("x-wc-webhook-delivery-id")
        if topic not in ORDER_TOPICS:
            return Parsed(delivery_id, topic)
        data = json_object(delivery.body)
        if data.get("status") == DRAFT:
            return Parsed(delivery_id, topic)
        updated = timestamp(data.get("date_modified_gmt") or data.get("date_created_gmt"), "date_modified_gmt")
        upsert = OrderUpsert(an_id(data.get("id"), "id"), order_body(data), STATUSES.get(str(data.get("status"))),
                             updated)
        return Parsed(delivery_id, topic, (upsert,))


def _tracking(data: dict[str, Any]) -> dict[str, Any]:
    for meta in objects(data.get("meta_data")):
        if meta.get("key") == TRACKING_META and (items := objects(meta.get("value"))):
            last = items[-1]
            company = text(last.get("custom_tracking_provider")) or text(last.get("tracking_provider"))
            return {"carrier": carrier(company), "tracking_number": text(last.get("tracking_number")),
                    "tracking_url": text(last.get("custom_tracking_link"))}
    return {}


def order_body(data: dict[str, Any]) -> dict[str, Any]:
    """The shop API's order body of a WooCommerce order."""
    billing, shipping = obj(data.get("billing")), obj(data.get("shipping"))
    placed = timestamp(data.get("date_created_gmt"), "date_created_gmt")
    has_shipping = bool(text(shipping.get("address_1")))
    where = shipping if has_shipping else billing
    return {
        "order_id": an_id(data.get("number") or data.get("id"), "number"),
        "email": text(billing.get("email")),
        "phone": text(billing.get("phone")) or text(shipping.get("phone")),
        "postal_code": text(where.get("postcode")),
        "customer_name": name_of(billing.get("first_name"), billing.get("last_name")),
        "items": [{
            "sku": (text(line.get("sku")) or text(line.get("variation_id") or None) or text(line.get("product_id"))
                    or "-"),
            "name": text(line.get("name")) or "-",
            "quantity": line.get("quantity"),
            "price": money(line.get("price") if line.get("price") is not None else line.get("total")),
        } for line in objects(data.get("line_items"))],
        "total": money(data.get("total")),
        "currency": text(data.get("currency")),
        "placed_at": placed.isoformat(),
        "shipping_address": address(name_of(where.get("first_name"), where.get("last_name")),
                                    street_of(where.get("address_1"), where.get("address_2")),
                                    where.get("postcode"), where.get("city"), where.get("country")),
        **_tracking(data),
    }
