"""The demo history's orders: the demo shop's products sold day by day, shipped, delivered,
some of them with order-status notifications, all stored through the real OrderStore (so the
shipping record and the catalogue of product names are written as for a shop's own orders).

Products and their SKUs come from the demo shop's files: the catalogue (demo_shop/shop.yml)
names each product in every language, the demo orders (demo_shop/orders.yml) give the SKU
the shop sells it under.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import yaml

from core.types import Channel
from demo_shop import ORDERS_FILE
from demo_shop.storefront import SHOP_FILE
from gateway.shop.orders import Order, OrderEvent, OrderStatus, OrderStore, parse_order

HOUR = 3600
FIRST_ORDER_ID = 300_001
FIRST_NAMES = ("Lena", "Jonas", "Mia", "Paul", "Sophie", "Lukas", "Marie", "Felix", "Emma", "Noah", "Clara",
               "Jan", "Lea", "Tim", "Julia", "Max", "Nina", "David", "Sarah", "Tom", "Eva", "Finn", "Laura", "Ole")
LAST_NAMES = ("Meyer", "Schmidt", "Weber", "Fischer", "Wagner", "Becker", "Hoffmann", "Koch", "Richter", "Klein",
              "Wolf", "Neumann", "Schwarz", "Braun", "Zimmermann", "Hartmann", "Krause", "Lange", "Jansen", "Dubois")
# Where the customers live: (country, postal code, city).
PLACES = (("DE", "10115", "Berlin"), ("DE", "20095", "Hamburg"), ("DE", "80331", "München"),
          ("DE", "50667", "Köln"), ("DE", "04109", "Leipzig"), ("DE", "70173", "Stuttgart"),
          ("AT", "1010", "Wien"), ("CH", "8001", "Zürich"), ("NL", "1015", "Amsterdam"),
          ("FR", "75011", "Paris"), ("DK", "1050", "København"), ("BE", "1000", "Bruxelles"))


@dataclass(frozen=True, slots=True)
class Product:
    sku: str
    names: dict[str, str]  # language → the name it is sold under
    price: str

    def spoken(self, locale: str) -> str:
        """How a shopper calls it: "Skagen Becher" for "Skagen Becher, 2er-Set"."""
        return self.names[locale].split(",")[0]


def products() -> list[Product]:
    """The demo catalogue with its SKUs (a product the demo orders never sold is left out)."""
    shop = yaml.safe_load(SHOP_FILE.read_text(encoding="utf-8"))
    orders = yaml.safe_load(ORDERS_FILE.read_text(encoding="utf-8"))
    sku_of = {item["name"]: item["sku"] for order in orders["orders"] for item in order["items"]}
    found = []
    for product in shop["products"]:
        sku = next((sku_of[name] for name in product["name"].values() if name in sku_of), None)
        if sku is not None:
            found.append(Product(sku, dict(product["name"]), str(product["price"])))
    return found


@dataclass(frozen=True, slots=True)
class HistoryOrder:
    order_id: str
    locale: str
    # Where the customer chats, and whether the shop tells them of the shipment there.
    channel: Channel
    address: str
    notified: bool
    placed_at: float
    shipped_at: float
    delivered_at: float
    postal_code: str
    carrier: str
    skus: tuple[str, ...]


def address_for(channel: Channel, rng: random.Random) -> str:
    """A new shopper's address on the channel, in the form the channel uses."""
    if channel in (Channel.SMS, Channel.WHATSAPP):
        return f"+49{rng.choice(('151', '152', '160', '170', '176'))}{rng.randrange(10**7, 10**8)}"
    if channel is Channel.MESSENGER:
        return str(rng.randrange(10**15, 10**16))
    if channel is Channel.EMAIL:
        return f"kunde.{rng.getrandbits(40):010x}@example.org"
    return f"{rng.getrandbits(96):024x}"


def ship_time(placed: datetime, rng: random.Random) -> datetime:
    """Packed and shipped the next working day (Monday to Saturday) in the afternoon."""
    day = placed + timedelta(days=1)
    while day.weekday() == 6:
        day += timedelta(days=1)
    return day.replace(hour=rng.randint(13, 17), minute=rng.randrange(60))


def plan_orders(rng: random.Random, catalogue: list[Product], placed: list[datetime]) -> list[HistoryOrder]:
    """One order for each moment in `placed` (Berlin times), about 45 % notified."""
    plan = []
    for n, at in enumerate(placed):
        channel = rng.choices(list(Channel), weights=(4, 2, 2, 3, 2))[0]
        shipped = ship_time(at, rng)
        delivered = shipped + timedelta(days=rng.choice((1, 2, 2, 3, 4)), hours=rng.uniform(-4, 2))
        place = rng.choice(PLACES)
        count = rng.choices((1, 2, 3), weights=(6, 3, 1))[0]
        skus = tuple(product.sku for product in rng.sample(catalogue, k=count))
        plan.append(HistoryOrder(
            order_id=str(FIRST_ORDER_ID + n), locale="de" if place[0] in ("DE", "AT", "CH") or rng.random() < 0.2 else "en",
            channel=channel, address=address_for(channel, rng), notified=rng.random() < 0.45,
            placed_at=at.timestamp(), shipped_at=shipped.timestamp(), delivered_at=delivered.timestamp(),
            postal_code=place[1], carrier=rng.choice(("DHL", "DHL", "DPD")), skus=skus,
        ))
    return plan


def _events(plan: HistoryOrder, now: float) -> tuple[OrderEvent, ...]:
    moments = ((OrderStatus.PLACED, plan.placed_at), (OrderStatus.CONFIRMED, plan.placed_at + 60),
               (OrderStatus.PACKED, plan.shipped_at - 2 * HOUR), (OrderStatus.SHIPPED, plan.shipped_at),
               (OrderStatus.DELIVERED, plan.delivered_at))
    return tuple(OrderEvent(status, datetime.fromtimestamp(at, UTC)) for status, at in moments if at <= now)


def order_body(plan: HistoryOrder, catalogue: dict[str, Product], rng: random.Random) -> dict[str, Any]:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    quantities = {sku: rng.choice((1, 1, 2)) for sku in plan.skus}
    items = [{"sku": sku, "name": catalogue[sku].names[plan.locale], "quantity": quantity,
              "price": catalogue[sku].price} for sku, quantity in quantities.items()]
    total = sum((Decimal(catalogue[sku].price) * quantity for sku, quantity in quantities.items()), Decimal())
    if total < 50:
        total += Decimal("4.95")
    body: dict[str, Any] = {
        "order_id": plan.order_id, "email": f"{first}.{last}.{plan.order_id[-3:]}@example.com".lower(),
        "customer_name": f"{first} {last}", "postal_code": plan.postal_code, "currency": "EUR",
        "placed_at": datetime.fromtimestamp(plan.placed_at, UTC).isoformat(), "total": str(total),
        "items": items, "carrier": plan.carrier, "status": "placed",
    }
    if plan.notified:
        body["notify"] = {"channel": plan.channel.value, "address": plan.address, "locale": plan.locale}
    return body


async def store_orders(store: OrderStore, plans: list[HistoryOrder], catalogue: list[Product],
                       rng: random.Random, now: float) -> dict[str, Order]:
    """Write the orders as they stand at `now`; the stored orders by id."""
    by_sku = {product.sku: product for product in catalogue}
    stored = {}
    for plan in plans:
        events = _events(plan, now)
        if not events:
            continue
        body = order_body(plan, by_sku, rng)
        body["status"] = events[-1].status.value
        order, _ = await store.put(parse_order(body, plan.order_id), events=events)
        stored[plan.order_id] = order
    return stored
