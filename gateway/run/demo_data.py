"""The demo shop's orders (demo_shop/orders.yml), so `make run` answers "where is my order?".

They go through the same validation and the same OrderStore as orders the shop
PUTs. Loading replaces them whole, so it can run at every start: the dates move
with the clock and the late parcel stays late.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from redis.asyncio import Redis

from demo_shop import ORDERS_FILE
from gateway.shop.orders import Order, OrderEvent, OrderStatus, OrderStore, parse_order

# The demo shop's "today" for estimated delivery dates.
SHOP_TIMEZONE = ZoneInfo("Europe/Berlin")


@dataclass(frozen=True, slots=True)
class DemoOrder:
    order: Order
    events: tuple[OrderEvent, ...]


def _event(raw: dict[str, Any], now: datetime) -> OrderEvent:
    return OrderEvent(
        status=OrderStatus(raw["status"]),
        at=now - timedelta(hours=raw["hours_ago"]),
        location=raw.get("location"),
        note=raw.get("note"),
    )


def _demo_order(raw: dict[str, Any], now: datetime) -> DemoOrder:
    events = tuple(_event(event, now) for event in raw["events"])
    items_total = sum((Decimal(item["price"]) * item["quantity"] for item in raw["items"]), Decimal())
    body = {key: value for key, value in raw.items() if key not in ("events", "shipping", "estimated_delivery")}
    body.update(
        status=events[-1].status.value,
        placed_at=events[0].at.isoformat(),
        total=str(items_total + Decimal(raw.get("shipping", "0"))),
    )
    if "estimated_delivery" in raw:
        today = now.astimezone(SHOP_TIMEZONE).date()
        body["estimated_delivery"] = (today + timedelta(days=raw["estimated_delivery"]["days_from_now"])).isoformat()
    return DemoOrder(parse_order(body, str(raw["order_id"])), events)


def demo_orders(now: datetime, path: Path = ORDERS_FILE) -> list[DemoOrder]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [_demo_order(entry, now) for entry in raw["orders"]]


async def load(store: OrderStore, path: Path = ORDERS_FILE) -> list[Order]:
    """Write the demo orders (replacing earlier copies); the orders as stored."""
    loaded = []
    for demo in demo_orders(store.now(), path):
        stored, _ = await store.put(demo.order, events=demo.events)
        loaded.append(stored)
    return loaded


async def load_into(redis_url: str) -> list[Order]:
    """`load` with a connection of its own (the CLI and `storechat run`)."""
    redis = Redis.from_url(redis_url, decode_responses=True, socket_connect_timeout=2)
    try:
        return await load(OrderStore(redis))
    finally:
        await redis.aclose()
