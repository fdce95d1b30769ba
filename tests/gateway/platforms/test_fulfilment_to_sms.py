"""End to end: Shopify says the parcel left; the customer reads it in an SMS, in their
language, once — through the same notifications room as an event posted to the shop API."""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestClient

from tests.channels.drivers import DRIVERS
from tests.channels.provider_standin import ProviderStandIn
from tests.gateway.platforms.conftest import TICK, delivered
from tests.gateway.platforms.signing import body_of, fixture, shopify

SMS = DRIVERS["sms"]
TRACKING_URL = "https://www.dhl.de/de/privatkunden/pakete-empfangen/verfolgen.html?piececode=00340434161234567890"


async def test_a_fulfilment_webhook_tells_the_customer_by_sms_once(
    gateway: TestClient, standin: ProviderStandIn,  # type: ignore[type-arg]
) -> None:
    placed = body_of(fixture("shopify", "orders_create"))
    await delivered(gateway, "shopify", placed, shopify("orders/create", placed, webhook_id="o-1",
                                                        triggered_at="2026-11-20T09:15:03.112Z"))
    await asyncio.to_thread(standin.none_within, 5 * TICK)  # "placed" is no news anyone is sent

    shipped = body_of(fixture("shopify", "fulfillments_create"))
    headers = shopify("fulfillments/create", shipped, webhook_id="f-1", triggered_at="2026-11-23T08:41:12.504131522Z")
    await delivered(gateway, "shopify", shipped, headers)

    sms = await asyncio.to_thread(standin.next, 10)
    assert SMS.recipient(sms) == "+4915112345678"  # the order's phone; the order's language: de-DE
    assert SMS.text_of(sms).split("\n") == [
        "Ihre Bestellung 1042 wurde verschickt.",
        "Versand mit DHL, Sendungsnummer 00340434161234567890.",
        f"Sendungsverfolgung: {TRACKING_URL}",
        "Fragen dazu? Antworten Sie einfach auf diese Nachricht.",
    ]
    await delivered(gateway, "shopify", shipped, headers)  # Shopify's retry
    await asyncio.to_thread(standin.none_within, 5 * TICK)
