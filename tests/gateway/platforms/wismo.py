"""What the bot sees of an order: the action server's own calls to the gateway's API."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from tests.gateway.shop_support import BOT, SHOP


async def bot_finds(gateway: TestClient, order_id: str, kind: str, value: str,  # type: ignore[type-arg]
                    cid: str = "conv-wismo") -> dict[str, Any] | None:
    """The order as the bot reads it once the shopper proved it; None when the proof finds none."""
    response = await gateway.post(f"/api/v1/conversations/{cid}/verifications", headers=BOT,
                                  json={"order_id": order_id, "proof": {"kind": kind, "value": value}})
    if response.status == 404:
        return None
    assert response.status == 200, await response.text()
    return dict((await response.json())["order"])


async def carrier_says(gateway: TestClient, order_id: str, status: str, at: str) -> None:  # type: ignore[type-arg]
    """A shipment event the carrier's integration posts through storechat's own shop API."""
    response = await gateway.post(f"/api/v1/orders/{order_id}/events", headers=SHOP, json={"status": status, "at": at})
    assert response.status == 201, await response.text()
