"""Orders in Redis: validation, upserts that keep the history, the email index, demo data."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
from redis.asyncio import Redis

from gateway import keys
from gateway.json_input import InvalidInput
from gateway.run import demo_data
from gateway.shop.orders import OrderChanged, OrderEvent, OrderStatus, OrderStore, normalise_email, parse_order
from tests.gateway.shop_support import order_body

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(redis: Redis) -> OrderStore:
    return OrderStore(redis, clock=NOW.timestamp)


@pytest.mark.parametrize(("change", "path"), [
    ({"items": [{"sku": "A", "name": "x", "quantity": 0, "price": "1.00"}]}, "items[0].quantity"),
    ({"items": [{"sku": "A", "name": "x", "quantity": 1, "price": 1.5}]}, "items[0].price"),
    ({"items": []}, "items"),
    ({"email": "not-an-email"}, "email"),
    ({"status": "lost"}, "status"),
    ({"carrier": "Pigeon"}, "carrier"),
    ({"placed_at": "2026-11-20T10:15:00"}, "placed_at"),
    ({"estimated_delivery": "26.11.2026"}, "estimated_delivery"),
    ({"tracking_url": "javascript:alert(1)"}, "tracking_url"),
    ({"shipping_address": {"name": "A", "street": "B", "postal_code": "1", "city": "C", "country": "Germany"}},
     "shipping_address.country"),
    ({"order_id": "999999"}, "order_id"),
    ({"email": None}, "email"),
])
def test_invalid_orders_name_the_field(change: dict[str, object], path: str) -> None:
    with pytest.raises(InvalidInput) as error:
        parse_order(order_body(**change), "104233")

    assert error.value.path == path
    assert str(error.value).startswith(path + ": ")


async def test_a_new_order_starts_its_history_and_reads_back_equal(store: OrderStore) -> None:
    order = parse_order(order_body(), "104233")

    stored, created = await store.put(order)

    assert created
    assert stored.events == (OrderEvent(OrderStatus.PLACED, NOW),)
    assert await store.get("104233") == stored


async def test_an_upsert_keeps_the_events_and_a_status_change_adds_one(store: OrderStore) -> None:
    await store.put(parse_order(order_body(), "104233"))
    await store.add_event("104233", OrderEvent(OrderStatus.CONFIRMED, NOW, location="Berlin"))

    same_status, created = await store.put(parse_order(order_body(status="confirmed", customer_name="A. Berg"), "104233"))
    shipped, _ = await store.put(parse_order(order_body(status="shipped"), "104233"))

    assert not created
    assert [e.status for e in same_status.events] == [OrderStatus.PLACED, OrderStatus.CONFIRMED]
    assert same_status.customer_name == "A. Berg"
    assert [e.status for e in shipped.events] == [OrderStatus.PLACED, OrderStatus.CONFIRMED, OrderStatus.SHIPPED]


async def test_an_event_sets_the_status_and_may_move_the_delivery_date(store: OrderStore) -> None:
    await store.put(parse_order(order_body(), "104233"))

    updated = await store.add_event("104233", OrderEvent(OrderStatus.DELAYED, NOW, note="Sturm"),
                                    estimated_delivery=date(2026, 11, 29))

    assert updated is not None and updated.status is OrderStatus.DELAYED
    assert updated.estimated_delivery == date(2026, 11, 29)
    assert await store.add_event("999999", OrderEvent(OrderStatus.DELAYED, NOW)) is None


async def test_a_put_built_on_a_stale_read_is_refused_and_overwrites_nothing(store: OrderStore) -> None:
    read, _ = await store.put(parse_order(order_body(), "104233"))
    await store.add_event("104233", OrderEvent(OrderStatus.DELAYED, NOW, note="Sturm"))  # another writer

    with pytest.raises(OrderChanged):
        await store.put(parse_order(order_body(status="confirmed"), "104233"), expected=read)
    with pytest.raises(OrderChanged):
        await store.put(parse_order(order_body(order_id="104299"), "104299"), expected=read)  # read as there, now missing

    kept = await store.get("104233")
    assert kept is not None and kept.status is OrderStatus.DELAYED
    confirmed, _ = await store.put(parse_order(order_body(status="confirmed"), "104233"), expected=kept)
    assert [e.status for e in confirmed.events] == [OrderStatus.PLACED, OrderStatus.DELAYED, OrderStatus.CONFIRMED]
    assert (await store.put(parse_order(order_body(order_id="104300"), "104300"), expected=None))[1]


async def test_the_email_index_follows_an_email_change(store: OrderStore) -> None:
    await store.put(parse_order(order_body(), "104233"))
    await store.put(parse_order(order_body(order_id="104234", placed_at="2026-11-21T08:00:00+01:00"), "104234"))

    await store.put(parse_order(order_body(email="Anna.Berg@Example.com"), "104233"))

    assert [o.order_id for o in await store.for_email(" ANNA@example.com ")] == ["104234"]
    assert [o.order_id for o in await store.for_email("anna.berg@example.com")] == ["104233"]


async def test_concurrent_email_changes_leave_the_order_in_exactly_one_index(store: OrderStore, redis: Redis) -> None:
    emails = [f"shopper{n}@example.com" for n in range(8)]

    await asyncio.gather(*(store.put(parse_order(order_body(email=email), "104233")) for email in emails * 3))

    holders = [email for email in emails if await redis.zscore(keys.orders_by_email(email), "104233") is not None]
    final = await store.get("104233")
    assert final is not None and holders == [final.email]


async def test_orders_of_an_email_are_newest_first(store: OrderStore) -> None:
    for order_id, placed in [("100001", "2026-10-01"), ("100003", "2026-11-01"), ("100002", "2026-10-15")]:
        await store.put(parse_order(order_body(order_id=order_id, placed_at=placed + "T12:00:00+00:00"), order_id))

    assert [o.order_id for o in await store.for_email("anna@example.com")] == ["100003", "100002", "100001"]


# --- demo data -------------------------------------------------------------------


async def test_demo_orders_cover_every_status_and_a_late_parcel(store: OrderStore) -> None:
    loaded = await demo_data.load(store)

    assert {order.status for order in loaded} == set(OrderStatus)
    today = NOW.date()
    late = [o for o in loaded if o.estimated_delivery and o.estimated_delivery < today
            and o.status not in (OrderStatus.DELIVERED, OrderStatus.CANCELLED)]
    assert late, "the demo needs a parcel that is overdue"
    delivered = [o.delivered_at() for o in loaded if o.status is OrderStatus.DELIVERED]
    assert any(at and NOW - at < timedelta(days=30) for at in delivered), "a delivery still returnable"
    assert any(at and NOW - at > timedelta(days=30) for at in delivered), "a delivery past the return window"
    assert all(o.events[-1].status is o.status and o.events[0].at == o.placed_at for o in loaded)
    assert [o.order_id for o in await store.for_email("anna@example.com")][0] == "104233"


async def test_loading_the_demo_twice_changes_nothing(store: OrderStore, redis: Redis) -> None:
    first = await demo_data.load(store)
    keys_before = sorted(await redis.keys("*"))

    second = await demo_data.load(store)

    assert second == first
    assert sorted(await redis.keys("*")) == keys_before


# --- email normalisation -----------------------------------------------------------


def test_emails_compare_without_case_or_blanks_but_look_alikes_stay_apart() -> None:
    assert normalise_email("  Anna@Example.COM ") == "anna@example.com"
    # str.lower() and casefold() turn the Kelvin sign into k, the Ohm sign into ω, İ into i̇:
    # only A–Z are lowered, every other character must match as typed.
    assert normalise_email("\u212Aarl@example.com") != "karl@example.com"
    assert normalise_email("\u0130rem@example.com") != normalise_email("irem@example.com")
    assert normalise_email("\u2126mega@example.com") != normalise_email("\u03a9mega@example.com")
    assert normalise_email("stra\u00dfe@example.com") != normalise_email("strasse@example.com")
    assert normalise_email(" \u00c4nne@Example.COM") == "\u00c4nne@example.com"


async def test_an_order_with_a_look_alike_email_is_not_indexed_under_the_ascii_one(store: OrderStore) -> None:
    await store.put(parse_order(order_body(email="\u212Aarl@example.com"), "104233"))

    assert await store.for_email("karl@example.com") == []
    assert [o.order_id for o in await store.for_email("\u212Aarl@example.com")] == ["104233"]
