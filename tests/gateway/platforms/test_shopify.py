"""Shopify's recorded webhooks through the real route: the order the bot then finds, the
forged delivery refused, a redelivery applied once, a late one never applied over newer
news, and carts and checkouts fed to the proactive offers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from gateway.app import create_app
from gateway.settings import Settings

from gateway.proactive.visitors import VisitorStore
from tests.gateway.platforms.conftest import delivered
from tests.gateway.platforms.signing import body_of, fixture, shopify
from tests.gateway.platforms.wismo import bot_finds, carrier_says

Client = TestClient[Any, Any]
SESSION = "sess_4kQ2vN8xR1tY7uW3zA9bC5"  # what the storefront put in the cart's attributes
EMAIL = "anna.berg@example.com"


async def _send(gateway: Client, topic: str, name: str, *, webhook_id: str, triggered_at: str,
                change: dict[str, Any] | None = None) -> Any:
    body = body_of({**fixture("shopify", name), **(change or {})})
    return await delivered(gateway, "shopify", body, shopify(topic, body, webhook_id=webhook_id,
                                                             triggered_at=triggered_at))


async def _placed(gateway: Client) -> None:
    answer = await _send(gateway, "orders/create", "orders_create", webhook_id="b54557e4-2c2e-4d1a-9b0e-0c1f2a3b4c5d",
                         triggered_at="2026-11-20T09:15:03.112Z")
    assert answer == {"outcome": "applied"}


async def test_an_order_is_found_by_the_bot_under_the_number_the_customer_sees(gateway: Client) -> None:
    await _placed(gateway)

    order = await bot_finds(gateway, "1042", "email", EMAIL)
    assert order is not None
    assert (order["status"], order["total"], order["currency"]) == ("placed", "94.30", "EUR")
    assert [(i["sku"], i["name"], i["quantity"], i["price"]) for i in order["items"]] == [
        ("NL-1001", "Leinen-Kissenhülle - Salbei", 2, "29.90"), ("NL-2040", "Eichen-Kerzenhalter", 1, "34.50")]
    assert (order["phone"], order["postal_code"], order["customer_name"]) == ("+4915112345678", "10115", "Anna Berg")
    assert order["shipping_address"] == {"name": "Anna Berg", "street": "Invalidenstraße 12, Hinterhaus",
                                         "postal_code": "10115", "city": "Berlin", "country": "DE"}
    assert await bot_finds(gateway, "1042", "postal_code", "10115", cid="conv-other") is not None

    await _send(gateway, "orders/updated", "orders_updated", webhook_id="6c1d5e1a-7f3b-4a20-8c55-2d9e0f1a2b3c",
                triggered_at="2026-11-20T09:17:41.870Z")
    order = await bot_finds(gateway, "1042", "email", EMAIL)
    assert order is not None and order["status"] == "confirmed"  # paid


async def test_a_forged_delivery_is_refused_and_changes_nothing(gateway: Client) -> None:
    body = body_of(fixture("shopify", "orders_create"))
    forged = shopify("orders/create", body, webhook_id="f-1", triggered_at="2026-11-20T09:15:03Z", secret="guessed")
    assert await delivered(gateway, "shopify", body, forged, 403) == "invalid signature"
    signed = shopify("orders/create", body, webhook_id="f-2", triggered_at="2026-11-20T09:15:03Z")
    tampered = body.replace(b"anna.berg@example.com", b"mallory@example.com")
    await delivered(gateway, "shopify", tampered, signed, 403)
    unsigned = {name: value for name, value in signed.items() if name != "X-Shopify-Hmac-Sha256"}
    await delivered(gateway, "shopify", body, unsigned, 403)

    assert await bot_finds(gateway, "1042", "email", EMAIL) is None
    assert await bot_finds(gateway, "1042", "email", "mallory@example.com") is None


async def test_a_redelivered_fulfilment_is_applied_once(gateway: Client) -> None:
    await _placed(gateway)
    first = await _send(gateway, "fulfillments/create", "fulfillments_create",
                        webhook_id="2f7d8c3e-51a4-4b9e-a1c0-6e5f4d3c2b1a", triggered_at="2026-11-23T08:41:12.504Z")
    assert first == {"outcome": "applied"}
    await carrier_says(gateway, "1042", "delayed", "2026-11-24T07:30:00+01:00")

    # Shopify did not hear our 200 in time and delivers the same webhook again.
    again = await _send(gateway, "fulfillments/create", "fulfillments_create",
                        webhook_id="2f7d8c3e-51a4-4b9e-a1c0-6e5f4d3c2b1a", triggered_at="2026-11-23T08:41:12.504Z")
    assert again == {"outcome": "duplicate"}
    order = await bot_finds(gateway, "1042", "email", EMAIL)
    assert order is not None
    assert order["status"] == "delayed"  # the carrier's later news stands
    assert [event["status"] for event in order["events"]] == ["placed", "shipped", "delayed"]


async def test_a_late_delivery_never_overwrites_newer_news(gateway: Client) -> None:
    await _placed(gateway)
    await _send(gateway, "orders/cancelled", "orders_cancelled", webhook_id="9a0b1c2d-cancel",
                triggered_at="2026-11-20T10:02:10.330Z")
    # The "paid" update fired before the cancellation arrives after it (a retry of a failed delivery).
    late = await _send(gateway, "orders/updated", "orders_updated", webhook_id="6c1d5e1a-paid",
                       triggered_at="2026-11-20T09:17:41.870Z")
    assert late == {"outcome": "stale"}

    order = await bot_finds(gateway, "1042", "email", EMAIL)
    assert order is not None and order["status"] == "cancelled"


async def test_fulfilments_bring_the_carrier_the_tracking_and_the_parcels_progress(gateway: Client) -> None:
    await _placed(gateway)
    await _send(gateway, "fulfillments/create", "fulfillments_create", webhook_id="ff-1",
                triggered_at="2026-11-23T08:41:12.504Z")
    order = await bot_finds(gateway, "1042", "email", EMAIL)
    assert order is not None
    assert (order["status"], order["carrier"], order["tracking_number"]) == ("shipped", "DHL", "00340434161234567890")
    assert order["tracking_url"].endswith("piececode=00340434161234567890")

    await _send(gateway, "fulfillments/update", "fulfillments_update", webhook_id="ff-2",
                triggered_at="2026-11-24T06:58:30.020Z")
    order = await bot_finds(gateway, "1042", "email", EMAIL)
    assert order is not None and order["status"] == "out_for_delivery"
    # When the fulfilment changed (its signed updated_at), not when the unsigned header says.
    assert order["events"][-1] == {"status": "out_for_delivery", "at": "2026-11-24T07:58:30+01:00",
                                   "location": "Berlin"}


async def test_a_fulfilment_of_an_order_not_yet_known_waits_for_the_order_itself(gateway: Client) -> None:
    answer = await _send(gateway, "fulfillments/create", "fulfillments_create", webhook_id="ff-early",
                         triggered_at="2026-11-23T08:41:12.504Z")
    assert answer == {"outcome": "ignored"}
    # orders/updated, fired with the fulfilment, carries it in its `fulfillments`.
    fulfilment = fixture("shopify", "fulfillments_create")
    await _send(gateway, "orders/updated", "orders_updated", webhook_id="ou-with-fulfilment",
                triggered_at="2026-11-23T08:41:13.001Z",
                change={"fulfillment_status": "fulfilled", "fulfillments": [fulfilment]})
    order = await bot_finds(gateway, "1042", "email", EMAIL)
    assert order is not None
    assert (order["status"], order["tracking_number"]) == ("shipped", "00340434161234567890")


async def test_carts_and_checkouts_reach_the_visitor_the_storefront_tied_them_to(gateway: Client, redis: Redis) -> None:
    visitors = VisitorStore(redis)
    untied = await _send(gateway, "carts/create", "carts_create", webhook_id="c-1",
                         triggered_at="2026-11-20T09:58:11.400Z")
    assert untied == {"outcome": "ignored"}  # no visitor known for this cart yet
    assert await visitors.get(SESSION) is None

    await _send(gateway, "checkouts/create", "checkouts_create", webhook_id="co-1",
                triggered_at="2026-11-20T09:01:05.210Z")
    visitor = await visitors.get(SESSION)
    assert visitor is not None and visitor.cart is not None
    assert (visitor.cart.value, [item.sku for item in visitor.cart.items]) == ("29.90", ["NL-1001"])

    await _send(gateway, "checkouts/update", "checkouts_update", webhook_id="co-2",
                triggered_at="2026-11-20T09:06:19.020Z")
    visitor = await visitors.get(SESSION)
    assert visitor is not None and visitor.cart is not None
    assert (visitor.cart.value, [item.sku for item in visitor.cart.items]) == ("64.40", ["NL-1001", "NL-2040"])

    # The cart's token is now tied to the visitor: the cart's own webhooks update it.
    await _send(gateway, "carts/update", "carts_update", webhook_id="c-2", triggered_at="2026-11-20T10:03:47.500Z")
    visitor = await visitors.get(SESSION)
    assert visitor is not None and visitor.cart is not None
    assert (visitor.cart.value, [(i.sku, i.quantity) for i in visitor.cart.items]) == (
        "94.30", [("NL-1001", 2), ("NL-2040", 1)])
    assert not visitor.checkout

    await _placed(gateway)  # its note attributes name the visitor: no cart offers after the purchase
    visitor = await visitors.get(SESSION)
    assert visitor is not None and visitor.checkout


async def test_a_signed_body_that_is_no_order_is_a_400_and_other_topics_are_acknowledged(gateway: Client) -> None:
    garbled = b'{"id": 5678901234567, "order_number": 1042, "line_items": [{"price": "zwei Euro"'
    answer = await delivered(gateway, "shopify", garbled, shopify("orders/create", garbled, webhook_id="g-1",
                                                                  triggered_at="2026-11-20T09:15:03Z"), 400)
    assert answer.startswith("malformed payload")
    product = b'{"id": 8123456789012, "title": "Leinen-Kissenh\xc3\xbclle"}'
    answer = await delivered(gateway, "shopify", product, shopify("products/update", product, webhook_id="p-1",
                                                                  triggered_at="2026-11-20T09:15:03Z"))
    assert answer == {"outcome": "ignored"}


async def test_a_platform_whose_secret_is_not_set_has_no_webhook(
    aiohttp_client: Callable[[web.Application], Awaitable[Client]], platform_settings: Settings, redis: Redis,
) -> None:
    gateway = await aiohttp_client(create_app(platform_settings.replace(shopify_webhook_secret=None)))
    body = body_of(fixture("shopify", "orders_create"))
    headers = shopify("orders/create", body, webhook_id="n-1", triggered_at="2026-11-20T09:15:03Z")
    await delivered(gateway, "shopify", body, headers, 404)
    await delivered(gateway, "magento", body, headers, 404)


async def test_two_deliveries_of_one_order_at_once_end_with_the_newer(gateway: Client) -> None:
    await _placed(gateway)
    older = _send(gateway, "orders/updated", "orders_updated", webhook_id="at-once-1",
                  triggered_at="2026-11-20T09:17:41.870Z")
    newer = _send(gateway, "orders/cancelled", "orders_cancelled", webhook_id="at-once-2",
                  triggered_at="2026-11-20T10:02:10.330Z")
    answers = await asyncio.gather(older, newer)
    assert answers[1] == {"outcome": "applied"} and answers[0]["outcome"] in ("applied", "stale")
    order = await bot_finds(gateway, "1042", "email", EMAIL)
    assert order is not None and order["status"] == "cancelled"


async def test_a_delivery_from_another_shop_with_the_apps_secret_is_refused(gateway: Client) -> None:
    # A public app's secret signs every shop's webhooks: only STORECHAT_SHOPIFY_SHOP_DOMAIN's are taken.
    body = body_of(fixture("shopify", "orders_create"))
    for other in ("mallory-outlet.myshopify.com", ""):
        headers = shopify("orders/create", body, webhook_id=f"other-{other}", triggered_at="2026-11-20T09:15:03Z",
                          shop=other)
        assert await delivered(gateway, "shopify", body, headers, 403) == "invalid signature"
    no_domain = {name: value for name, value in shopify("orders/create", body, webhook_id="nd",
                                                         triggered_at="2026-11-20T09:15:03Z").items()
                 if name != "X-Shopify-Shop-Domain"}
    await delivered(gateway, "shopify", body, no_domain, 403)
    assert await bot_finds(gateway, "1042", "email", EMAIL) is None

    # The shop's own, however Shopify cases it, is taken.
    headers = shopify("orders/create", body, webhook_id="own", triggered_at="2026-11-20T09:15:03Z",
                      shop="Nordlicht-Home.myshopify.com")
    assert await delivered(gateway, "shopify", body, headers) == {"outcome": "applied"}


async def test_an_order_without_an_email_is_ignored_with_a_200_so_shopify_keeps_the_subscription(
    gateway: Client, caplog: pytest.LogCaptureFixture,
) -> None:
    # A POS or phone order: no e-mail anywhere in it.
    change = {"email": None, "contact_email": None, "customer": {**fixture("shopify", "orders_create")["customer"],
                                                                 "email": None}}
    with caplog.at_level(logging.INFO, logger="gateway.platforms"):
        answer = await _send(gateway, "orders/create", "orders_create", webhook_id="pos-1",
                             triggered_at="2026-11-20T09:15:03Z", change=change)
    assert answer == {"outcome": "ignored"}
    assert any("no customer e-mail" in record.getMessage() and "1042" in record.getMessage()
               for record in caplog.records)
    assert await bot_finds(gateway, "1042", "postal_code", "10115") is None

    # The customer's e-mail added in the admin: the next update stores the order.
    assert await _send(gateway, "orders/updated", "orders_updated", webhook_id="pos-2",
                       triggered_at="2026-11-20T09:17:41Z") == {"outcome": "applied"}
    assert await bot_finds(gateway, "1042", "email", EMAIL) is not None


async def test_an_old_body_replayed_with_a_fresh_triggered_at_is_stale(gateway: Client) -> None:
    await _placed(gateway)
    await _send(gateway, "orders/cancelled", "orders_cancelled", webhook_id="cancel-1",
                triggered_at="2026-11-20T10:02:10.330Z")
    # The signed "paid" body of 09:17, captured and sent again: a new webhook id and a
    # Triggered-At of now are not signed, so they make it no newer.
    replayed = await _send(gateway, "orders/updated", "orders_updated", webhook_id="replay-of-paid",
                           triggered_at="2026-11-27T12:00:00.000Z")
    assert replayed == {"outcome": "stale"}
    order = await bot_finds(gateway, "1042", "email", EMAIL)
    assert order is not None and order["status"] == "cancelled"
    # The same for a fulfilment: the out-for-delivery news stands against an older one replayed.
    await _send(gateway, "fulfillments/update", "fulfillments_update", webhook_id="fu-1",
                triggered_at="2026-11-24T06:58:30Z")
    old = await _send(gateway, "fulfillments/create", "fulfillments_create", webhook_id="replay-of-fc",
                      triggered_at="2026-11-27T12:00:00Z")
    assert old == {"outcome": "stale"}
