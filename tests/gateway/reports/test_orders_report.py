"""The `notifications` report on real Redis: orders stored and shipped through the order store,
notifications sent by the real notifier, shoppers asking "where is my order?" and proving
their order in real conversations, all on a clock the test moves, folded by the feed's
follower (`drain`), then read as a supervisor reads the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from redis.asyncio import Redis

from channels import webchat
from core.types import Author, Channel, Conversation, Event, OutgoingMessage
from gateway import keys
from gateway.conversations.outbox import Outbox
from gateway.conversations.store import ConversationStore
from gateway.notifications import NotificationConfig, Notifier
from gateway.conversations.feed import Follower, rebuild
from gateway.limits.limiter import Limiter
from gateway.limits.rules import Limits
from gateway.reports.orders import OrdersProjection, notifications_report
from gateway.reports.query import ReportQuery
from gateway.settings import REPO_ROOT
from gateway.shop.orders import Order, OrderEvent, OrderStatus, OrderStore, parse_order
from gateway.shop.shipping_record import RECORD_SECONDS
from gateway.shop.verification import Proof, ProofKind, Verifier
from gateway.texts import Texts
from tests.gateway.shop_support import order_body

BERLIN = ZoneInfo("Europe/Berlin")
# Tuesday 1 December 2026 in the shop; the quiet hours (21:00–08:00) are the shipped file's.
DEC_1, DEC_2 = date(2026, 12, 1), date(2026, 12, 2)
EMAIL = "anna@example.com"


def berlin(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN)


class Clock:
    def __init__(self) -> None:
        self.now = berlin(DEC_1, 9).timestamp()

    def __call__(self) -> float:
        return self.now

    def at(self, when: datetime) -> None:
        self.now = when.timestamp()


@dataclass
class Shop:
    redis: Redis
    clock: Clock
    store: ConversationStore
    orders: OrderStore
    verifier: Verifier
    outbox: Outbox
    notifier: Notifier
    follower: Follower

    async def order(self, order_id: str, **notify: str) -> Order:
        body = order_body(order_id=order_id, email=EMAIL, notify=notify or None)
        stored, _ = await self.orders.put(parse_order(body, order_id))
        return stored

    async def ships(self, order_id: str, when: datetime, status: OrderStatus = OrderStatus.SHIPPED) -> None:
        """The shop posts a shipment event (as POST /orders/{id}/events does) and the notifier sends what is due."""
        event = OrderEvent(status, when)
        order = await self.orders.add_event(order_id, event)
        assert order is not None
        await self.notifier.order_event(order, event)
        await self.notifier.send_due()

    async def chat(self, when: datetime) -> Conversation:
        self.clock.at(when)
        return await self.store.open(Channel.WEB, webchat.new_session_id(), "de")

    async def asks_where(self, conversation: Conversation, order_id: str | None, when: datetime) -> None:
        """"Wo ist meine Bestellung?", the bot's answer (recorded as the conversation loop
        records it), and the shopper's proof of `order_id` with the order's email."""
        self.clock.at(when)
        await self.store.append_message(conversation.id, Author.SHOPPER, "Wo ist meine Bestellung?")
        await self.outbox.record(conversation, OutgoingMessage("Gern! Wie lautet Ihre E-Mail-Adresse?"),
                                 intent="order_status", confidence=0.97)
        if order_id is None:
            return
        self.clock.now += 30
        await self.store.append_message(conversation.id, Author.SHOPPER, EMAIL)
        await self.verifier.verify(conversation.id, order_id, Proof(kind=ProofKind.EMAIL, value=EMAIL))
        await self.outbox.record(conversation, OutgoingMessage("Ihre Bestellung ist unterwegs."),
                                 intent="inform", confidence=0.9)

    async def report(self, first: date = DEC_1, last: date = DEC_2, channel: Channel | None = None) -> dict[str, Any]:
        await self.follower.drain()
        return await notifications_report(self.redis, ReportQuery(first, last, BERLIN, channel=channel))


@pytest.fixture
async def shop(redis: Redis) -> Shop:
    clock = Clock()
    store = ConversationStore(redis, clock)
    orders = OrderStore(redis, clock)
    verifier = Verifier(redis, orders, None, Limiter(redis, Limits.load(REPO_ROOT / "config" / "limits.yml")))
    outbox = Outbox(store)

    async def deliver(conversation: Conversation, message: OutgoingMessage, event: Event | None = None) -> None:
        pass  # the channel itself is not what these figures are about

    for channel in (Channel.WEB, Channel.SMS):
        outbox.register_channel(channel, deliver)
    texts = Texts.load("de")
    config = NotificationConfig.load(REPO_ROOT / "config" / "notifications.yml", languages=texts.languages)
    notifier = Notifier(config, orders=orders, store=store, verifier=verifier, outbox=outbox, texts=texts,
                        clock=clock)
    follower = Follower(redis, OrdersProjection(BERLIN))
    await follower.ensure_group()
    return Shop(redis, clock, store, orders, verifier, outbox, notifier, follower)


def _wismo(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(report["wismo"])


async def test_per_100_counts_each_side_against_its_own_orders(shop: Shop) -> None:
    # Two orders told they shipped (SMS, web chat), two that nobody told.
    await shop.order("100001", channel="sms", address="+4917012300001", locale="de")
    web_session = webchat.new_session_id()
    await shop.order("100002", channel="web", address=web_session, locale="de")
    await shop.order("100003")
    await shop.order("100004")
    for index, order_id in enumerate(("100001", "100002", "100003", "100004")):
        shop.clock.at(berlin(DEC_1, 10 + index))
        await shop.ships(order_id, berlin(DEC_1, 10 + index))

    # One contact about a notified order; two conversations about 100003, one asking twice.
    await shop.asks_where(await shop.chat(berlin(DEC_1, 15)), "100001", berlin(DEC_1, 15))
    twice = await shop.chat(berlin(DEC_1, 16))
    await shop.asks_where(twice, "100003", berlin(DEC_1, 16))
    await shop.asks_where(twice, "100003", berlin(DEC_1, 17))
    await shop.asks_where(await shop.chat(berlin(DEC_2, 9)), "100003", berlin(DEC_2, 9))

    report = await shop.report()

    assert _wismo(report) == {"notified": {"orders": 2, "contacts": 1, "per_100": 50.0},
                              "not_notified": {"orders": 2, "contacts": 2, "per_100": 100.0}}
    assert report["sent"] == [{"status": "shipped", "channel": "sms", "count": 1},
                              {"status": "shipped", "channel": "web", "count": 1}]
    assert (await shop.report(channel=Channel.SMS))["sent"] == [{"status": "shipped", "channel": "sms", "count": 1}]
    # Counted on the shipping day: nothing shipped on 2 December, though a contact came then.
    assert _wismo(await shop.report(DEC_2, DEC_2))["not_notified"] == {"orders": 0, "contacts": 0, "per_100": None}


async def test_a_question_before_the_order_shipped_is_no_contact_a_later_one_is(shop: Shop) -> None:
    await shop.order("100005")
    chat = await shop.chat(berlin(DEC_1, 9))
    await shop.asks_where(chat, "100005", berlin(DEC_1, 9))  # proven, but still in the warehouse
    await shop.ships("100005", berlin(DEC_1, 12))

    assert _wismo(await shop.report())["not_notified"] == {"orders": 1, "contacts": 0, "per_100": 0.0}

    await shop.asks_where(chat, None, berlin(DEC_1, 18))  # asks again: the proof still holds
    assert _wismo(await shop.report())["not_notified"] == {"orders": 1, "contacts": 1, "per_100": 100.0}


async def test_a_contact_while_the_notification_waits_for_the_morning_is_not_notified(shop: Shop) -> None:
    await shop.order("100006", channel="sms", address="+4917012300002", locale="de")
    shop.clock.at(berlin(DEC_1, 22))
    await shop.ships("100006", berlin(DEC_1, 22))  # quiet hours: the SMS waits for 08:00
    await shop.asks_where(await shop.chat(berlin(DEC_1, 23)), "100006", berlin(DEC_1, 23))
    shop.clock.at(berlin(DEC_2, 8, 1))
    assert await shop.notifier.send_due() == 1
    await shop.asks_where(await shop.chat(berlin(DEC_2, 10)), "100006", berlin(DEC_2, 10))

    # The order was told it shipped; the night's question came before it was.
    assert _wismo(await shop.report()) == {"notified": {"orders": 1, "contacts": 1, "per_100": 100.0},
                                           "not_notified": {"orders": 0, "contacts": 1, "per_100": None}}
    assert (await shop.report(DEC_2, DEC_2))["sent"] == [{"status": "shipped", "channel": "sms", "count": 1}]
    assert (await shop.report(DEC_1, DEC_1))["sent"] == []


async def test_shipping_is_dated_by_the_event_on_the_shops_day(shop: Shop) -> None:
    await shop.order("100007")
    await shop.order("100008")
    shop.clock.at(berlin(DEC_2, 12))  # the shop posts both events the next day
    await shop.ships("100007", berlin(DEC_1, 23, 30))  # 22:30 UTC: 1 December everywhere
    await shop.ships("100008", berlin(DEC_2, 0, 30))  # 23:30 UTC on 1 December, but 2 December here

    assert _wismo(await shop.report(DEC_1, DEC_1))["not_notified"]["orders"] == 1
    assert _wismo(await shop.report(DEC_2, DEC_2))["not_notified"]["orders"] == 1
    # A later event (delivered) moves nothing; a PUT that ships a new order dates it by the clock.
    await shop.ships("100007", berlin(DEC_2, 12), OrderStatus.DELIVERED)
    shop.clock.at(berlin(DEC_1 + timedelta(days=2), 9))
    await shop.orders.put(parse_order(order_body(order_id="100009", status="shipped"), "100009"))
    assert _wismo(await shop.report(DEC_1, DEC_2))["not_notified"]["orders"] == 2
    assert _wismo(await shop.report(DEC_1 + timedelta(days=2), DEC_1 + timedelta(days=2)))["not_notified"]["orders"] == 1
    assert 0 < await shop.redis.ttl(keys.order_shipping("100007")) <= RECORD_SECONDS


async def test_rebuild_counts_what_following_counted(shop: Shop) -> None:
    await shop.order("100010", channel="sms", address="+4917012300003", locale="de")
    await shop.order("100011")
    shop.clock.at(berlin(DEC_1, 10))
    await shop.ships("100010", berlin(DEC_1, 10))
    await shop.ships("100011", berlin(DEC_1, 10))
    await shop.asks_where(await shop.chat(berlin(DEC_1, 11)), "100010", berlin(DEC_1, 11))
    await shop.asks_where(await shop.chat(berlin(DEC_1, 12)), "100011", berlin(DEC_1, 12))
    followed = await shop.report()
    assert followed["wismo"]["notified"]["contacts"] == 1 and followed["wismo"]["not_notified"]["contacts"] == 1

    await rebuild(shop.redis, shop.follower.projection)

    assert await notifications_report(shop.redis, ReportQuery(DEC_1, DEC_2, BERLIN)) == followed
