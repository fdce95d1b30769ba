"""When each order shipped, for the reports ("where is my order?" per 100 shipped orders).

Written by the order store in the transaction that stores the order (gateway/shop/orders.py
`_write`), so the record can never disagree with the order's history; read by
gateway/reports/orders.py, which also adds, per order, when the customer was told it shipped
and when they asked where it is. The time is the shipment event's, not the clock's: a shop
may post an event late, and demo data dates its history in the past.
"""

from __future__ import annotations

from datetime import datetime

from redis.asyncio.client import Pipeline

from gateway import keys

# How long an order's record and its place in the index are kept: a report covers at most 366 days.
RECORD_SECONDS = 400 * 24 * 3600


def queue(pipe: Pipeline, order_id: str, before: datetime | None, after: datetime | None) -> None:
    """Queue on `pipe` (in MULTI) the record of an order whose shipping time went from `before` to `after`."""
    if after == before:
        return
    record = keys.order_shipping(order_id)
    if after is None:  # the history was replaced by one in which it has not shipped
        pipe.hdel(record, "shipped_at")
        pipe.zrem(keys.ORDERS_SHIPPED, order_id)
        return
    at = after.timestamp()
    pipe.hset(record, "shipped_at", repr(at))
    pipe.expire(record, RECORD_SECONDS)
    pipe.zadd(keys.ORDERS_SHIPPED, {order_id: at})
    # Trimmed against the event's own time, so an old event posted late cannot drop recent orders.
    pipe.zremrangebyscore(keys.ORDERS_SHIPPED, "-inf", at - RECORD_SECONDS)
