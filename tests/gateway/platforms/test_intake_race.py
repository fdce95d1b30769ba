"""A platform's delivery and the shop API writing the same order at the same moment."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from redis.asyncio import Redis

from gateway.platforms import keys
from gateway.platforms.intake import Intake, Outcome
from gateway.platforms.types import Parsed, ShipmentUpdate
from gateway.shop.orders import Order, OrderEvent, OrderStatus, OrderStore, parse_order
from tests.gateway.shop_support import order_body

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class ShopApiInBetween(OrderStore):
    """The order store, where the shop API posts a carrier's event right after the
    platform's delivery read the order (and before it writes)."""

    interrupt = True

    async def get(self, order_id: str) -> Order | None:
        read = await super().get(order_id)
        if self.interrupt:
            self.interrupt = False
            await self.add_event(order_id, OrderEvent(OrderStatus.IN_TRANSIT, NOW, location="Hub Leipzig"))
        return read


async def test_a_carrier_event_posted_while_a_fulfilment_is_applied_is_kept(redis: Redis) -> None:
    orders = ShopApiInBetween(redis, clock=NOW.timestamp)
    intake = Intake(redis, orders, re.compile(r"[0-9]{3,12}"), "de")
    orders.interrupt = False
    await orders.put(parse_order(order_body(status="confirmed"), "104233"))
    await redis.hset(keys.platform_order("shopify", "7001"), mapping={"order_id": "104233", "updated_ms": "0"})
    orders.interrupt = True

    fulfilment = ShipmentUpdate("7001", OrderStatus.SHIPPED, NOW, tracking_number="00340434161234567890")
    outcome = await intake.apply("shopify", Parsed("wh-1", "fulfillments/create", (fulfilment,)))

    assert outcome is Outcome.APPLIED
    order = await orders.get("104233")
    assert order is not None
    # Read again after the carrier's event: it stays, and "shipped" never moves the parcel back.
    assert [event.status for event in order.events] == [OrderStatus.CONFIRMED, OrderStatus.IN_TRANSIT]
    assert order.status is OrderStatus.IN_TRANSIT and order.events[-1].location == "Hub Leipzig"
    assert order.tracking_number == "00340434161234567890"
