"""The `notifications` report: order-status messages sent, and "where is my order?" per 100
shipped orders, for orders that were told they shipped and for those that were not.

Three facts meet here, each kept where it happens:
- the order store records when an order shipped (gateway/shop/shipping_record.py: the
  shipment event's time, per order and in an index scored by that time);
- this projection (the feed's "orders" group) sees every notification sent — a bot message
  whose data has `notification: {order_id, status}` — counts it on its shop-local day by
  status and the conversation's channel, and, for a SHIPPED_STATUSES status (shipped, in
  transit, out for delivery, delivered: each says the parcel is on its way or there; the
  quiet hours can replace a waiting "shipped" with a later one), notes on the order when it
  was first told so (`notified_at`);
- in a conversation where the bot recognised `order_status`, every order the shopper proved
  there (keys.verified_orders) is one contact for that order, once per conversation, at the
  first such message after the order shipped (`contact:<conversation id>` on the order).

The report joins them per order, for the orders shipped in the range, and only then decides
what was notified: a contact counts as notified when the order had been told it shipped at
that moment, so the figures do not depend on which conversation the follower folded first.
An order counts among the notified ones when it was told at all; a contact in the hours
before a notification the quiet hours held back so counts as not notified while its order
counts as notified.

Limits: the proofs are read when the conversation is folded (a live follower folds within
moments; a rebuild finds only proofs still held, PROOF_SECONDS); an order proven only because
a notification went to this conversation (the notifier vouches for it) counts only for a
question after that notification. Everything here expires with the shipping record
(RECORD_SECONDS, about 400 days); a conversation keeps at most MAX_ASKS question times and
MAX_ORDERS orders, an order at most MAX_CONTACTS contacts.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from core.types import Author, Conversation, Event, EventKind
from gateway import keys
from gateway.conversations.feed import Projected
from gateway.reports.query import ReportQuery
from gateway.shop.orders import SHIPPED_STATUSES, STATUSES, OrderStatus
from gateway.shop.shipping_record import RECORD_SECONDS

ORDER_STATUS_INTENT = "order_status"
CONTACT = "contact:"
MAX_ASKS = 20
MAX_ORDERS = 50
MAX_CONTACTS = 500
# Shipped orders read per round trip when a report is answered.
_READ_CHUNK = 1000


@dataclass(frozen=True, slots=True)
class _Folded:
    sent: Counter[tuple[str, str]]  # (day, "<status>:<channel>") → notifications
    notified: dict[str, float]  # order id → first shipping notification folded now
    contacts: dict[str, float]  # order id → when this conversation's contact counts


@dataclass(frozen=True, slots=True)
class OrdersProjection:
    # The shop's (config/business_hours.yml): notifications are counted on the shop's days.
    timezone: ZoneInfo
    name: str = "orders"

    async def project(self, redis: Redis, conversation: Conversation, state: Mapping[str, str],
                      events: Sequence[Event]) -> Projected:
        asked: list[float] = json.loads(state.get("asked") or "[]")
        counted: list[str] = json.loads(state.get("counted") or "[]")
        # Orders notified in this conversation, and when: the notifier's vouch proves them here.
        told: dict[str, float] = json.loads(state.get("told") or "{}")
        sent: Counter[tuple[str, str]] = Counter()
        notified: dict[str, float] = {}
        for event in events:
            if event.kind is not EventKind.MESSAGE or event.author is not Author.BOT:
                continue
            if (notification := _notification(event.data)) is not None:
                order_id, status = notification
                day = datetime.fromtimestamp(event.at, self.timezone).date().isoformat()
                sent[(day, f"{status.value}:{conversation.channel.value}")] += 1
                told.setdefault(order_id, event.at)
                if status in SHIPPED_STATUSES:
                    notified[order_id] = min(notified.get(order_id, event.at), event.at)
            if event.data.get("intent") == ORDER_STATUS_INTENT:
                asked.append(event.at)
        asked = sorted(set(asked))[-MAX_ASKS:]
        told = dict(sorted(told.items(), key=lambda item: item[1])[-MAX_ORDERS:])
        contacts = await self._contacts(redis, conversation.id, asked, set(counted), told) if asked else {}
        notified = await _earlier_than_known(redis, notified)
        counted = [*counted, *sorted(contacts)][-MAX_ORDERS:]
        new_state = {name: json.dumps(value, separators=(",", ":"))
                     for name, value in (("asked", asked), ("counted", counted), ("told", told)) if value}
        folded = _Folded(sent, notified, contacts)
        if not (sent or notified or contacts):
            return Projected(new_state)
        return Projected(new_state, lambda pipe: _write(pipe, conversation.id, folded))

    async def _contacts(self, redis: Redis, conversation_id: str, asked: list[float], counted: set[str],
                        told: Mapping[str, float]) -> dict[str, float]:
        """The orders proven here that shipped before one of the questions, not counted yet: when."""
        proven = {str(order_id) for order_id in await redis.smembers(keys.verified_orders(conversation_id))}
        candidates = sorted(proven - counted)[:MAX_ORDERS]
        if not candidates:
            return {}
        async with redis.pipeline(transaction=False) as pipe:
            for order_id in candidates:
                pipe.hget(keys.order_shipping(order_id), "shipped_at")
                pipe.hlen(keys.order_shipping(order_id))
            read: list[Any] = await pipe.execute()
        found = {}
        for order_id, shipped_at, fields in zip(candidates, read[::2], read[1::2], strict=True):
            if shipped_at is None or int(fields) >= MAX_CONTACTS:
                continue  # not shipped (yet): a later question in this conversation may count it
            since = max(float(shipped_at), told.get(order_id, 0.0))
            at = next((at for at in asked if at >= since), None)
            if at is not None:
                found[order_id] = at
        return found

    async def reset(self, redis: Redis) -> None:
        """Forget what this projection wrote; the order store's `shipped_at` stays (no event holds it)."""
        async for key in redis.scan_iter(match=keys.notifications_sent_on("*"), count=1000):
            await redis.delete(key)
        async for key in redis.scan_iter(match=keys.order_shipping("*"), count=1000):
            fields = [str(field) for field in await redis.hkeys(key)]
            mine = [field for field in fields if field == "notified_at" or field.startswith(CONTACT)]
            if mine:
                await redis.hdel(key, *mine)


def _notification(data: Mapping[str, Any]) -> tuple[str, OrderStatus] | None:
    notification = data.get("notification")
    if not isinstance(notification, dict):
        return None
    order_id, status = notification.get("order_id"), notification.get("status")
    if not isinstance(order_id, str) or status not in STATUSES:
        return None
    return order_id, OrderStatus(status)


async def _earlier_than_known(redis: Redis, notified: dict[str, float]) -> dict[str, float]:
    """The notification times that are the order's first (another conversation may have told it earlier)."""
    if not notified:
        return {}
    async with redis.pipeline(transaction=False) as pipe:
        for order_id in notified:
            pipe.hget(keys.order_shipping(order_id), "notified_at")
        earlier: list[str | None] = await pipe.execute()
    return {order_id: at for (order_id, at), before in zip(notified.items(), earlier, strict=True)
            if before is None or at < float(before)}


def _write(pipe: Pipeline, conversation_id: str, folded: _Folded) -> None:
    for (day, field), count in folded.sent.items():
        pipe.hincrby(keys.notifications_sent_on(day), field, count)
        pipe.expire(keys.notifications_sent_on(day), RECORD_SECONDS)
    for order_id, at in folded.notified.items():
        pipe.hset(keys.order_shipping(order_id), "notified_at", repr(at))
        pipe.expire(keys.order_shipping(order_id), RECORD_SECONDS)
    for order_id, at in folded.contacts.items():
        pipe.hset(keys.order_shipping(order_id), CONTACT + conversation_id, repr(at))
        pipe.expire(keys.order_shipping(order_id), RECORD_SECONDS)


# --- the report ------------------------------------------------------------------------------


async def notifications_report(redis: Redis, query: ReportQuery) -> dict[str, Any]:
    """`{"range", "unfiltered", "sent": [{"status", "channel", "count"}], "wismo": {"notified": {"orders",
    "contacts", "per_100"}, "not_notified": {...}}}`.

    `sent` is counted on the day of the sending and follows the channel filter; `wismo` is about
    the orders shipped in the range (on the shipping day) and has no channel, team or agent.
    """
    unfiltered = ["sent"] if query.team or query.agent or query.business_hours else []
    if query.channel or query.team or query.agent or query.business_hours:
        unfiltered.append("wismo")
    return {"range": query.range_json(), "unfiltered": unfiltered, "sent": await _sent(redis, query),
            "wismo": await _wismo(redis, query)}


async def _sent(redis: Redis, query: ReportQuery) -> list[dict[str, Any]]:
    async with redis.pipeline(transaction=False) as pipe:
        for day in query.days():
            pipe.hgetall(keys.notifications_sent_on(day.isoformat()))
        days: list[dict[str, str]] = await pipe.execute()
    total: Counter[tuple[str, str]] = Counter()
    for counters in days:
        for field, count in counters.items():
            status, _, channel = field.partition(":")
            if query.channel is None or channel == query.channel.value:
                total[(status, channel)] += int(count)
    order = {status: index for index, status in enumerate(STATUSES)}
    return [{"status": status, "channel": channel, "count": count}
            for (status, channel), count in sorted(total.items(), key=lambda item: (order.get(item[0][0], 99), item[0]))
            if count]


async def _wismo(redis: Redis, query: ReportQuery) -> dict[str, dict[str, Any]]:
    start = datetime.combine(query.first, time(0), query.timezone).timestamp()
    end = datetime.combine(query.last + timedelta(days=1), time(0), query.timezone).timestamp()
    order_ids = [str(order_id) for order_id in await redis.zrangebyscore(keys.ORDERS_SHIPPED, start, f"({end}")]
    orders: Counter[str] = Counter()
    contacts: Counter[str] = Counter()
    for first in range(0, len(order_ids), _READ_CHUNK):
        async with redis.pipeline(transaction=False) as pipe:
            for order_id in order_ids[first:first + _READ_CHUNK]:
                pipe.hgetall(keys.order_shipping(order_id))
            records: list[dict[str, str]] = await pipe.execute()
        for record in records:
            if "shipped_at" not in record:
                continue  # expired between the two reads
            shipped_at = float(record["shipped_at"])
            notified_at = float(record["notified_at"]) if "notified_at" in record else None
            orders[_side(notified_at, None)] += 1
            for field, value in record.items():
                at = float(value)
                if field.startswith(CONTACT) and at >= shipped_at:  # the order may have been re-dated since
                    contacts[_side(notified_at, at)] += 1
    return {side: {"orders": orders[side], "contacts": contacts[side],
                   "per_100": round(100 * contacts[side] / orders[side], 1) if orders[side] else None}
            for side in ("notified", "not_notified")}


def _side(notified_at: float | None, at: float | None) -> str:
    """Notified at all (`at` None), or by `at`."""
    if notified_at is None or (at is not None and at < notified_at):
        return "not_notified"
    return "notified"
