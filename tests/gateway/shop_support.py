"""Helpers for the shop API tests: a valid order body, the two tokens, putting and proving orders."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

SHOP_TOKEN = "shop-token-for-tests"
BOT_TOKEN = "bot-token-for-tests"
CUSTOMER_TOKEN_SECRET = "customer-token-secret-for-tests"
PUBLIC_URL = "https://chat.nordlicht-home.example"
SHOP = {"Authorization": f"Bearer {SHOP_TOKEN}"}
BOT = {"Authorization": f"Bearer {BOT_TOKEN}"}
CID = "conv-1"


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


async def put_order(api: TestClient, **changes: Any) -> dict[str, Any]:
    body = order_body(**changes)
    response = await api.put(f"/api/v1/orders/{body['order_id']}", json=body, headers=SHOP)
    assert response.status in (200, 201), await response.text()
    return dict(await response.json())


async def verify(api: TestClient, order_id: str, kind: str, value: str, cid: str = CID) -> tuple[int, Any]:
    response = await api.post(f"/api/v1/conversations/{cid}/verifications",
                              json={"order_id": order_id, "proof": {"kind": kind, "value": value}}, headers=BOT)
    return response.status, await response.json()
