"""Helpers for the shop API tests: a valid order body and the two tokens."""

from __future__ import annotations

from typing import Any

SHOP_TOKEN = "shop-token-for-tests"
BOT_TOKEN = "bot-token-for-tests"
CUSTOMER_TOKEN_SECRET = "customer-token-secret-for-tests"
PUBLIC_URL = "https://chat.nordlicht-home.example"
SHOP = {"Authorization": f"Bearer {SHOP_TOKEN}"}
BOT = {"Authorization": f"Bearer {BOT_TOKEN}"}


def order_body(**changes: Any) -> dict[str, Any]:
    """The contract's example order; `changes` override fields (None removes one)."""
    body: dict[str, Any] = {
        "order_id": "104233",
        "email": "anna@example.com",
        "phone": "+4915112345678",
        "postal_code": "10115",
        "customer_name": "Anna Berg",
        "items": [
            {"sku": "NL-1001", "name": "Leinen-Kissenhülle", "quantity": 2, "price": "29.90"},
            {"sku": "NL-2040", "name": "Eichen-Kerzenhalter", "quantity": 1, "price": "34.50"},
        ],
        "total": "94.30",
        "currency": "EUR",
        "status": "placed",
        "carrier": "DHL",
        "tracking_number": "00340434161234567890",
        "tracking_url": "https://www.dhl.de/de/privatkunden/pakete-empfangen/verfolgen.html?piececode=00340434161234567890",
        "estimated_delivery": "2026-11-26",
        "placed_at": "2026-11-20T10:15:00+01:00",
        "invoice_url": None,
        "shipping_address": {"name": "Anna Berg", "street": "Invalidenstraße 12", "postal_code": "10115",
                             "city": "Berlin", "country": "DE"},
    }
    body.update(changes)
    return {key: value for key, value in body.items() if value is not None}
