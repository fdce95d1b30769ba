"""WooCommerce's recorded webhooks through the real route: the saving ping, the order the
bot then finds, the forged delivery refused, a redelivery applied once, a late one never
applied over newer news."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from tests.gateway.platforms.conftest import delivered
from tests.gateway.platforms.signing import body_of, fixture, woocommerce
from tests.gateway.platforms.wismo import bot_finds, carrier_says

Client = TestClient[Any, Any]
EMAIL = "anna.berg@example.com"


async def _send(gateway: Client, topic: str, name: str, delivery_id: str, status: int = 200,
                change: dict[str, Any] | None = None) -> Any:
    body = body_of({**fixture("woocommerce", name), **(change or {})})
    return await delivered(gateway, "woocommerce", body, woocommerce(topic, body, delivery_id=delivery_id), status)


async def test_the_ping_of_a_webhook_being_saved_is_answered_and_stores_nothing(gateway: Client) -> None:
    # WooCommerce's check of the delivery URL: form-encoded, unsigned.
    response = await gateway.post("/webhooks/shop/woocommerce", data=b"webhook_id=12",
                                  headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status == 200
    # Anything else unsigned is no ping.
    response = await gateway.post("/webhooks/shop/woocommerce", data=b"webhook_id=12&status=completed",
                                  headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status == 403


async def test_an_order_is_found_by_the_bot_and_completed_means_shipped(gateway: Client) -> None:
    assert await _send(gateway, "order.created", "order_created", "8c7e5a1f0d2b") == {"outcome": "applied"}
    order = await bot_finds(gateway, "727", "email", EMAIL)
    assert order is not None
    assert (order["status"], order["total"], order["phone"], order["postal_code"]) == (
        "confirmed", "94.30", "0151 12345678", "10115")  # processing: paid, to be sent
    assert [(i["sku"], i["quantity"], i["price"]) for i in order["items"]] == [("NL-1001", 2, "25.13"),
                                                                           ("NL-2040", 1, "28.99")]

    await _send(gateway, "order.updated", "order_updated", "1b9d3f7e2a4c")
    order = await bot_finds(gateway, "727", "postal_code", "10115", cid="conv-other")
    assert order is not None
    assert (order["status"], order["carrier"], order["tracking_number"]) == ("shipped", "DHL", "00340434161234567890")


async def test_a_forged_delivery_is_refused_and_changes_nothing(gateway: Client) -> None:
    body = body_of(fixture("woocommerce", "order_created"))
    forged = woocommerce("order.created", body, delivery_id="x", secret="nope")
    await delivered(gateway, "woocommerce", body, forged, 403)
    assert await bot_finds(gateway, "727", "email", EMAIL) is None


async def test_a_redelivery_is_applied_once(gateway: Client) -> None:
    await _send(gateway, "order.created", "order_created", "8c7e5a1f0d2b")
    await carrier_says(gateway, "727", "delayed", "2026-11-20T18:00:00+01:00")
    assert await _send(gateway, "order.created", "order_created", "8c7e5a1f0d2b") == {"outcome": "duplicate"}
    order = await bot_finds(gateway, "727", "email", EMAIL)
    assert order is not None and order["status"] == "delayed"
    assert [event["status"] for event in order["events"]] == ["confirmed", "delayed"]


async def test_a_late_delivery_never_overwrites_newer_news(gateway: Client) -> None:
    await _send(gateway, "order.updated", "order_updated", "1b9d3f7e2a4c")  # completed on the 23rd
    # A queued delivery of the order as it was on the 20th, sent after.
    assert await _send(gateway, "order.updated", "order_created", "5e2c0a8b6d4f") == {"outcome": "stale"}
    order = await bot_finds(gateway, "727", "email", EMAIL)
    assert order is not None and order["status"] == "shipped"


async def test_an_order_without_an_email_is_ignored_not_refused(gateway: Client) -> None:
    no_email = {**fixture("woocommerce", "order_created")["billing"], "email": ""}
    # A 200: no redelivery would bring an e-mail (a 4xx only makes the platform retry, then give up).
    answer = await _send(gateway, "order.created", "order_created", "a1", change={"billing": no_email})
    assert answer == {"outcome": "ignored"}
    assert await bot_finds(gateway, "727", "postal_code", "10115") is None
    # The order, given its e-mail in the shop, is stored with its next update.
    assert await _send(gateway, "order.updated", "order_created", "a2") == {"outcome": "applied"}
    assert await bot_finds(gateway, "727", "email", EMAIL) is not None
