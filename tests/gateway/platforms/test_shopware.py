"""Shopware 6's app system through the real routes: the registration handshake, then the
shop's recorded webhooks signed with the secret it was given — the order the bot finds,
the forged delivery refused, a redelivery applied once, a late one never applied over newer news."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis
from yarl import URL

from gateway.app import create_app
from gateway.platforms import keys
from gateway.settings import Settings
from tests.gateway.platforms.conftest import PUBLIC_URL, TICK, SteppedClock, delivered
from tests.gateway.platforms.signing import (
    SHOPWARE_APP_NAME, SHOPWARE_APP_SECRET, body_of, fixture, shopware, shopware_hex,
)
from tests.gateway.platforms.wismo import bot_finds, carrier_says

Client = TestClient[Any, Any]
SHOP_ID, SHOP_URL = "sW7kQ2vN8xR1tY7u", "https://www.nordlicht-home.example"
EMAIL = "anna.berg@example.com"


async def _register(gateway: Client, clock: SteppedClock, app_secret: str = SHOPWARE_APP_SECRET,
                    shop_url: str = SHOP_URL, shop_id: str = SHOP_ID) -> Any:
    """What Shopware does when the app is installed: GET the registration URL, signed."""
    query = urlencode({"shop-id": shop_id, "shop-url": shop_url, "timestamp": str(int(clock.now))})
    # Sent as Shopware spells it (yarl would decode the URL's "%3A%2F%2F" otherwise).
    response = await gateway.get(URL(f"/webhooks/shop/shopware/register?{query}", encoded=True),
                                 headers={"shopware-app-signature": shopware_hex(app_secret, query.encode())})
    return response.status, await response.json() if response.status == 200 else None


async def _confirm(gateway: Client, shop_secret: str) -> int:
    body = json.dumps({"apiKey": "SWIAWKNQZ3LHEJFVOFVZRWE2WQ", "secretKey": "c2VjcmV0LWtleS1vZi10aGUtc2hvcA",
                       "timestamp": "1795166000", "shopUrl": SHOP_URL, "shopId": SHOP_ID}).encode()
    response = await gateway.post("/webhooks/shop/shopware/confirm", data=body, headers=shopware(body, shop_secret))
    return response.status


async def _registered(gateway: Client, clock: SteppedClock) -> str:
    status, answer = await _register(gateway, clock)
    assert status == 200
    assert await _confirm(gateway, answer["secret"]) == 200
    return str(answer["secret"])


async def _send(gateway: Client, name: str, secret: str, status: int = 200) -> Any:
    body = body_of(fixture("shopware", name))
    return await delivered(gateway, "shopware", body, shopware(body, secret), status)


async def test_the_registration_handshake_proves_the_app_and_gives_the_shop_its_secret(
    gateway: Client, clock: SteppedClock,
) -> None:
    status, answer = await _register(gateway, clock)
    assert status == 200
    # The proof Shopware checks: hex HMAC-SHA256 of shop id + shop url + app name, with the app secret.
    assert answer["proof"] == shopware_hex(SHOPWARE_APP_SECRET, (SHOP_ID + SHOP_URL + SHOPWARE_APP_NAME).encode())
    assert answer["confirmation_url"] == f"{PUBLIC_URL}/webhooks/shop/shopware/confirm"
    assert len(answer["secret"]) >= 32

    assert await _confirm(gateway, "a-secret-we-never-issued") == 403
    assert await _send(gateway, "checkout_order_placed", answer["secret"], 403)  # not confirmed yet
    assert await _confirm(gateway, answer["secret"]) == 200
    assert await _send(gateway, "checkout_order_placed", answer["secret"]) == {"outcome": "applied"}


async def test_a_registration_not_signed_with_the_app_secret_is_refused(gateway: Client, clock: SteppedClock) -> None:
    assert (await _register(gateway, clock, app_secret="someone-elses-app"))[0] == 403
    clock.now += 3600  # a replayed, signed request of an hour ago
    query = urlencode({"shop-id": SHOP_ID, "shop-url": SHOP_URL, "timestamp": str(int(clock.now - 3600))})
    response = await gateway.get(URL(f"/webhooks/shop/shopware/register?{query}", encoded=True),
                                 headers={"shopware-app-signature": shopware_hex(SHOPWARE_APP_SECRET, query.encode())})
    assert response.status == 403


async def test_a_placed_order_is_found_by_the_bot_and_follows_payment_and_delivery(
    gateway: Client, clock: SteppedClock,
) -> None:
    secret = await _registered(gateway, clock)
    await _send(gateway, "checkout_order_placed", secret)
    order = await bot_finds(gateway, "10042", "email", EMAIL)
    assert order is not None
    assert (order["status"], order["total"], order["phone"], order["postal_code"]) == (
        "placed", "94.30", "+4915112345678", "10115")
    assert [(i["sku"], i["name"], i["quantity"], i["price"]) for i in order["items"]] == [
        ("NL-1001", "Leinen-Kissenhülle Salbei", 2, "29.90"), ("NL-2040", "Eichen-Kerzenhalter", 1, "34.50")]

    await _send(gateway, "state_enter_order_transaction_state_paid", secret)
    await _send(gateway, "state_enter_order_delivery_state_shipped", secret)
    order = await bot_finds(gateway, "10042", "postal_code", "10115", cid="conv-other")
    assert order is not None
    assert (order["status"], order["carrier"], order["tracking_number"]) == ("shipped", "DHL", "00340434161234567890")
    assert [event["status"] for event in order["events"]] == ["placed", "confirmed", "shipped"]


async def test_a_forged_or_unregistered_delivery_is_refused(gateway: Client, clock: SteppedClock) -> None:
    await _send(gateway, "checkout_order_placed", "no-shop-registered", 403)
    await _registered(gateway, clock)
    await _send(gateway, "checkout_order_placed", "a-guessed-secret", 403)
    assert await bot_finds(gateway, "10042", "email", EMAIL) is None


async def test_a_redelivery_is_applied_once_and_a_late_one_not_over_newer_news(
    gateway: Client, clock: SteppedClock,
) -> None:
    secret = await _registered(gateway, clock)
    await _send(gateway, "checkout_order_placed", secret)
    await carrier_says(gateway, "10042", "delayed", "2026-11-20T11:00:00+01:00")
    assert await _send(gateway, "checkout_order_placed", secret) == {"outcome": "duplicate"}
    order = await bot_finds(gateway, "10042", "email", EMAIL)
    assert order is not None and order["status"] == "delayed"

    await _send(gateway, "state_enter_order_state_cancelled", secret)  # 10:02
    assert await _send(gateway, "state_enter_order_transaction_state_paid", secret) == {"outcome": "stale"}  # 09:17
    order = await bot_finds(gateway, "10042", "email", EMAIL)
    assert order is not None and order["status"] == "cancelled"


async def test_a_shop_that_uninstalled_the_app_is_heard_no_more(gateway: Client, clock: SteppedClock) -> None:
    secret = await _registered(gateway, clock)
    deleted = body_of({"data": {"payload": [], "event": "app.deleted"},
                       "source": {"url": SHOP_URL, "appVersion": "1.0.0", "shopId": SHOP_ID,
                                  "eventId": "0193c1d2e3f47a5b6c7d8e9f0a1b2c3d"}, "timestamp": 1795600000})
    assert await delivered(gateway, "shopware", deleted, shopware(deleted, secret)) == {"outcome": "ignored"}
    await _send(gateway, "checkout_order_placed", secret, 403)
    assert await bot_finds(gateway, "10042", "email", EMAIL) is None


async def test_a_shop_not_on_the_list_may_not_register(gateway: Client, clock: SteppedClock, redis: Redis) -> None:
    # Any shop may install an app from the store, and it signs its registration with the app's secret.
    status, answer = await _register(gateway, clock, shop_url="https://mallory-outlet.example", shop_id="mAl0ry")
    assert (status, answer) == (403, None)
    assert await redis.exists(keys.shopware_shop("mAl0ry")) == 0  # no pending secret handed out
    # The listed one, however it spells its URL's case, may.
    assert (await _register(gateway, clock, shop_url="https://WWW.nordlicht-home.example"))[0] == 200


async def test_a_replayed_registration_hands_out_no_secret(gateway: Client, clock: SteppedClock) -> None:
    secret = await _registered(gateway, clock)
    await _send(gateway, "checkout_order_placed", secret)
    # The same signed GET, sent again within its ten minutes (captured on the way, say).
    clock.now += 60
    query = urlencode({"shop-id": SHOP_ID, "shop-url": SHOP_URL, "timestamp": str(int(clock.now - 60))})
    response = await gateway.get(URL(f"/webhooks/shop/shopware/register?{query}", encoded=True),
                                 headers={"shopware-app-signature": shopware_hex(SHOPWARE_APP_SECRET, query.encode())})
    assert response.status == 403
    assert "secret" not in await response.text()
    # The shop's own secret still signs its webhooks.
    assert await _send(gateway, "state_enter_order_transaction_state_paid", secret) == {"outcome": "applied"}


async def test_a_shop_taken_off_the_list_is_heard_no_more(
    aiohttp_client: Callable[[web.Application], Awaitable[Client]], redis: Redis, platform_settings: Settings,
    clock: SteppedClock,
) -> None:
    first = await aiohttp_client(create_app(platform_settings, clock=clock, tick=TICK))
    secret = await _registered(first, clock)
    later = await aiohttp_client(create_app(platform_settings.replace(
        shopware_shop_urls=("https://www.other-shop.example",)), clock=clock, tick=TICK))
    await _send(later, "checkout_order_placed", secret, 403)
    assert await bot_finds(later, "10042", "email", EMAIL) is None
