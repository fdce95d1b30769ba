"""Order-status notifications in the real gateway app on a real Redis: the shop posts a
shipment event, the customer is told on the channel their order names (SMS, WhatsApp and
Messenger at a local provider stand-in, the web chat over Socket.IO), in their language,
once, never at night, never after STOP; the message is on the case and a reply goes on
with the order proven. The clock is the test's, so quiet hours need no waiting for night.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from core.types import Author, Channel, EventKind
from gateway import keys
from gateway.app import create_app
from gateway.conversations.store import ConversationStore
from gateway.messaging.channel_settings import ChannelSettings
from gateway.notifications import NotificationConfig
from gateway.notifications.notifier import INFLIGHT_SECONDS, TAKE_UPS
from gateway.settings import REPO_ROOT, Settings
from gateway.shop.orders import OrderStatus
from gateway.texts import languages_in
from tests.channels.drivers import DRIVERS, PHONE_NUMBER_ID, WHATSAPP_TOKEN, Webhook, channel_env
from tests.channels.provider_standin import ProviderStandIn, Recorded, provider_standin
from tests.gateway.rasa_standin import ScriptedRasa
from tests.gateway.shop_support import BOT, BOT_TOKEN, SHOP, SHOP_TOKEN, order_body, put_order
from tests.support import Shopper

AiohttpClient = Callable[[web.Application], Awaitable[TestClient]]  # type: ignore[type-arg]
PUBLIC_URL = "http://chat.nordlicht-home.example:8443"
SMS, WHATSAPP = DRIVERS["sms"], DRIVERS["whatsapp"]
BERLIN = ZoneInfo("Europe/Berlin")
ANNA = "+4917012300001"
LANGUAGES = languages_in()  # the gateway's texts: de, en
TRACKING_URL = "https://www.dhl.de/de/privatkunden/pakete-empfangen/verfolgen.html?piececode=00340434161234567890"
# A Wednesday morning in the shop, the order due the day after. Years ahead of the real clock:
# a gateway process another test module left running on this Redis must never find these due.
MORNING = datetime(2037, 11, 25, 10, 0, tzinfo=BERLIN)
# The gateway's tickers here: "nothing was sent" is a few of them.
TICK = 0.1
ORDER = {"placed_at": "2037-11-20T10:15:00+01:00", "estimated_delivery": "2037-11-26"}


class SteppedClock:
    """The gateway's clock, moved by the test."""

    def __init__(self, at: datetime) -> None:
        self.now = at.timestamp()

    def __call__(self) -> float:
        return self.now

    def set(self, at: datetime) -> None:
        self.now = at.timestamp()


@pytest.fixture
def clock() -> SteppedClock:
    return SteppedClock(MORNING)


@pytest.fixture
def standin() -> Iterator[ProviderStandIn]:
    with provider_standin() as running:
        yield running


@pytest.fixture
def rasa() -> ScriptedRasa:
    return ScriptedRasa({"messages": [{"text": "Gern, ich sehe nach.", "buttons": []}],
                         "intent": {"name": "order_status", "confidence": 0.9}, "retrieval": None, "handoff": None})


@pytest.fixture
def make_gateway(aiohttp_client: AiohttpClient, base_settings: Settings, redis: Redis, rasa: ScriptedRasa,
                 standin: ProviderStandIn, clock: SteppedClock) -> Callable[[], Awaitable[TestClient]]:  # type: ignore[type-arg]
    async def make() -> TestClient:  # type: ignore[type-arg]
        settings = base_settings.replace(
            rasa_url=await rasa.start(aiohttp_client), public_url=PUBLIC_URL,
            channels=ChannelSettings.from_env(channel_env(PUBLIC_URL, standin.url), PUBLIC_URL),
            shop_token=SHOP_TOKEN, bot_token=BOT_TOKEN,
        )
        return await aiohttp_client(create_app(settings, clock=clock, tick=TICK))
    return make


@pytest.fixture
async def gateway(make_gateway: Callable[[], Awaitable[TestClient]]) -> TestClient:  # type: ignore[type-arg]
    return await make_gateway()


def _notify(channel: str = "sms", address: str = ANNA, locale: str = "de") -> dict[str, str]:
    return {"channel": channel, "address": address, "locale": locale}


async def _event(gateway: TestClient, status: str, at: datetime, **extra: Any) -> None:  # type: ignore[type-arg]
    response = await gateway.post("/api/v1/orders/104233/events", headers=SHOP,
                                  json={"status": status, "at": at.isoformat(), **extra})
    assert response.status == 201, await response.text()


async def _next(standin: ProviderStandIn, timeout: float = 10) -> Recorded:
    return await asyncio.to_thread(standin.next, timeout)


async def _nothing_sent(standin: ProviderStandIn, within: float = 5 * TICK) -> None:
    await asyncio.to_thread(standin.none_within, within)


async def _post(gateway: TestClient, channel: str, webhook: Webhook) -> None:  # type: ignore[type-arg]
    response = await gateway.post(f"/webhooks/{channel}", data=webhook.body, headers=webhook.headers)
    assert response.status == 200


async def _eventually(check: Callable[[], Awaitable[object]], timeout: float = 5) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.05)


async def _notifications(redis: Redis, channel: Channel, address: str) -> list[Any]:
    store = ConversationStore(redis)
    conversation = await store.find_latest(channel, address)
    assert conversation is not None
    return [event for event in await store.history(conversation.id)
            if event.kind is EventKind.MESSAGE and "notification" in event.data]


# --- SMS: told once, in the shopper's language, by day -------------------------------


@pytest.mark.parametrize(("locale", "expected"), [
    ("de", ["Ihre Bestellung 104233 wurde verschickt.",
            "Versand mit DHL, Sendungsnummer 00340434161234567890.",
            f"Sendungsverfolgung: {TRACKING_URL}",
            "Voraussichtliche Zustellung: Donnerstag, 26. November.",
            "Fragen dazu? Antworten Sie einfach auf diese Nachricht."]),
    ("en", ["Your order 104233 has been shipped.",
            "Carrier: DHL, tracking number 00340434161234567890.",
            f"Track your parcel: {TRACKING_URL}",
            "Estimated delivery: Thursday 26 November.",
            "Questions? Just reply to this message."]),
])
async def test_a_shipment_event_sends_one_sms_in_the_shoppers_language(
    gateway: TestClient, standin: ProviderStandIn, locale: str, expected: list[str],  # type: ignore[type-arg]
) -> None:
    await put_order(gateway, **ORDER, notify=_notify(locale=locale))
    await _nothing_sent(standin, 0.5)  # an order alone tells nobody anything
    await _event(gateway, "shipped", MORNING)

    sms = await _next(standin)
    assert SMS.recipient(sms) == ANNA
    assert SMS.text_of(sms).split("\n") == expected
    await _nothing_sent(standin)


async def test_a_delay_apologises_and_names_the_new_date(
    gateway: TestClient, standin: ProviderStandIn,  # type: ignore[type-arg]
) -> None:
    await put_order(gateway, **ORDER, notify=_notify(), status="shipped")
    await _event(gateway, "delayed", MORNING, estimated_delivery="2037-11-30")

    text = SMS.text_of(await _next(standin))
    assert text.startswith("Ihre Bestellung 104233 verspätet sich – das tut uns leid.\n"
                           "Der neue voraussichtliche Liefertermin ist Montag, 30. November.\n")
    assert TRACKING_URL in text and "Voraussichtliche Zustellung" not in text


async def test_the_same_event_posted_twice_is_told_once(
    gateway: TestClient, standin: ProviderStandIn,  # type: ignore[type-arg]
) -> None:
    await put_order(gateway, **ORDER, notify=_notify())
    await _event(gateway, "out_for_delivery", MORNING)
    assert "in der Zustellung" in SMS.text_of(await _next(standin))

    await _event(gateway, "out_for_delivery", MORNING)  # the shop's retry
    await _nothing_sent(standin)
    await _event(gateway, "in_transit", MORNING)  # not a status customers are told of
    await _nothing_sent(standin)


async def test_nothing_goes_in_the_quiet_hours_and_the_latest_news_goes_once_when_they_end(
    gateway: TestClient, standin: ProviderStandIn, clock: SteppedClock, redis: Redis,  # type: ignore[type-arg]
) -> None:
    await put_order(gateway, **ORDER, notify=_notify())
    clock.set(datetime(2037, 11, 24, 22, 30, tzinfo=BERLIN))
    await _event(gateway, "shipped", datetime(2037, 11, 24, 22, 29, tzinfo=BERLIN))
    await _nothing_sent(standin)
    clock.set(datetime(2037, 11, 25, 6, 10, tzinfo=BERLIN))
    await _event(gateway, "out_for_delivery", datetime(2037, 11, 25, 6, 5, tzinfo=BERLIN))
    clock.set(datetime(2037, 11, 25, 7, 59, 59, tzinfo=BERLIN))
    await _nothing_sent(standin)
    assert await redis.zcard(keys.NOTIFICATIONS_DUE) == 1

    clock.set(datetime(2037, 11, 25, 8, 0, 1, tzinfo=BERLIN))
    text = SMS.text_of(await _next(standin))
    assert text.startswith("Ihre Bestellung 104233 ist in der Zustellung")  # the night's latest news
    await _nothing_sent(standin)
    assert await redis.zcard(keys.NOTIFICATIONS_DUE) == 0


async def test_of_two_gateway_processes_one_sends_what_waited_for_the_morning(
    make_gateway: Callable[[], Awaitable[TestClient]], standin: ProviderStandIn, clock: SteppedClock,  # type: ignore[type-arg]
) -> None:
    first, _second = await make_gateway(), await make_gateway()  # both tickers watch the same Redis
    await put_order(first, **ORDER, notify=_notify())
    clock.set(datetime(2037, 11, 25, 5, 0, tzinfo=BERLIN))
    await _event(first, "shipped", datetime(2037, 11, 25, 4, 59, tzinfo=BERLIN))
    await _nothing_sent(standin)

    clock.set(datetime(2037, 11, 25, 8, 0, tzinfo=BERLIN))
    assert SMS.text_of(await _next(standin)).startswith("Ihre Bestellung 104233 wurde verschickt.")
    await _nothing_sent(standin, 10 * TICK)  # the other process's ticker had its turns too


async def _claimed_by_a_process_that_dies(redis: Redis, clock: SteppedClock) -> str:  # type: ignore[type-arg]
    """Do what a ticker's claim does (gateway/notifications/notifier.py `_CLAIM`) and then
    nothing: its process died before the message went on the case. The in-flight member."""
    item = await redis.hget(keys.NOTIFICATIONS_PENDING, "104233")
    assert item is not None
    member = f"104233\n{item}"
    async with redis.pipeline(transaction=True) as pipe:
        pipe.zrem(keys.NOTIFICATIONS_DUE, "104233")
        pipe.hdel(keys.NOTIFICATIONS_PENDING, "104233")
        pipe.zadd(keys.NOTIFICATIONS_INFLIGHT, {member: clock.now + INFLIGHT_SECONDS})
        await pipe.execute()
    return member


async def test_a_notification_whose_claimer_died_is_sent_later_once_and_a_second_take_up_sends_nothing(
    gateway: TestClient, standin: ProviderStandIn, clock: SteppedClock, redis: Redis,  # type: ignore[type-arg]
) -> None:
    await put_order(gateway, **ORDER, notify=_notify())
    clock.set(datetime(2037, 11, 25, 5, 0, tzinfo=BERLIN))  # the quiet hours: it waits for the morning
    await _event(gateway, "shipped", datetime(2037, 11, 25, 4, 59, tzinfo=BERLIN))
    clock.set(datetime(2037, 11, 25, 8, 0, tzinfo=BERLIN))
    member = await _claimed_by_a_process_that_dies(redis, clock)
    clock.now += INFLIGHT_SECONDS / 2
    await _nothing_sent(standin)  # it may still be on its way

    clock.now += INFLIGHT_SECONDS  # past its deadline: due again, and a live ticker sends it
    assert SMS.text_of(await _next(standin)).startswith("Ihre Bestellung 104233 wurde verschickt.")
    await _eventually(lambda: _no_inflight(redis))

    # A claimer that put it on the case and died before taking it out of flight: taken up
    # again, the same order event is not sent twice.
    await redis.zadd(keys.NOTIFICATIONS_INFLIGHT, {member: clock.now})
    clock.now += 1
    await _eventually(lambda: _no_inflight(redis))
    await _nothing_sent(standin)
    assert len(await _notifications(redis, Channel.SMS, ANNA)) == 1


async def test_a_notification_that_failed_every_time_is_given_up_on_not_tried_for_ever(
    gateway: TestClient, standin: ProviderStandIn, clock: SteppedClock, redis: Redis,  # type: ignore[type-arg]
) -> None:
    await put_order(gateway, **ORDER, notify=_notify())
    clock.set(datetime(2037, 11, 25, 5, 0, tzinfo=BERLIN))  # waits for the morning
    await _event(gateway, "shipped", datetime(2037, 11, 25, 4, 59, tzinfo=BERLIN))
    clock.set(datetime(2037, 11, 25, 8, 0, tzinfo=BERLIN))
    member = await _claimed_by_a_process_that_dies(redis, clock)
    # Its claimers failed TAKE_UPS times already: the last one's deadline passes.
    await redis.zrem(keys.NOTIFICATIONS_INFLIGHT, member)
    await redis.zadd(keys.NOTIFICATIONS_INFLIGHT, {f"{member}:{TAKE_UPS}": clock.now})
    clock.now += 1
    await _eventually(lambda: _no_inflight(redis))
    await _nothing_sent(standin)
    assert await redis.zcard(keys.NOTIFICATIONS_DUE) == 0


async def _no_inflight(redis: Redis) -> bool:  # type: ignore[type-arg]
    return await redis.zcard(keys.NOTIFICATIONS_INFLIGHT) == 0


async def test_a_number_that_sent_stop_gets_nothing(
    gateway: TestClient, standin: ProviderStandIn, redis: Redis,  # type: ignore[type-arg]
) -> None:
    await _post(gateway, "sms", SMS.inbound(PUBLIC_URL, ANNA, "STOP"))
    await _next(standin)  # the confirmation
    await _eventually(lambda: redis.exists(keys.opt_out("sms", ANNA)))
    await put_order(gateway, **ORDER, notify=_notify())
    await _event(gateway, "shipped", MORNING)

    await _nothing_sent(standin)
    # The case shows what was not sent, and why.
    store = ConversationStore(redis)
    conversation = await store.find_latest(Channel.SMS, ANNA)
    assert conversation is not None
    history = await store.history(conversation.id)
    held = [e.data for e in history if e.kind is EventKind.DELIVERY]
    assert held[-1]["reason"] == "opted_out"


# --- on the case, and a reply goes on with the order -----------------------------------


async def test_the_notification_is_on_the_case_and_a_reply_has_the_order_proven(
    gateway: TestClient, standin: ProviderStandIn, rasa: ScriptedRasa, redis: Redis,  # type: ignore[type-arg]
) -> None:
    await put_order(gateway, **ORDER, notify=_notify())
    await _event(gateway, "shipped", MORNING)
    await _next(standin)

    [recorded] = await _notifications(redis, Channel.SMS, ANNA)
    assert recorded.author is Author.BOT and recorded.text.startswith("Ihre Bestellung 104233 wurde verschickt.")
    assert recorded.data["notification"] == {"order_id": "104233", "status": "shipped"}

    await _post(gateway, "sms", SMS.inbound(PUBLIC_URL, ANNA, "Kann ich es auch abholen?"))
    assert SMS.text_of(await _next(standin)) == "Gern, ich sehe nach."
    conversation = await ConversationStore(redis).find_latest(Channel.SMS, ANNA)
    assert conversation is not None
    assert rasa.received[-1]["sender"] == conversation.id  # the same conversation as the news
    listed = await gateway.get(f"/api/v1/conversations/{conversation.id}/orders", headers=BOT)
    [order] = (await listed.json())["orders"]
    assert order["order_id"] == "104233" and "notify" not in order  # the bot never sees the address
    assert (await gateway.get(f"/api/v1/conversations/{conversation.id}/orders/104233", headers=BOT)).status == 200


# --- WhatsApp: the approved template outside the 24-hour window -----------------------


async def test_whatsapp_outside_the_window_goes_as_the_approved_template(
    gateway: TestClient, standin: ProviderStandIn, redis: Redis,  # type: ignore[type-arg]
) -> None:
    shopper = "+4915112300002"
    await put_order(gateway, **ORDER, notify=_notify("whatsapp", shopper, "en"))
    await _event(gateway, "shipped", MORNING)

    request = await _next(standin)
    assert request.path.endswith(f"/{PHONE_NUMBER_ID}/messages")
    assert request.headers["authorization"] == f"Bearer {WHATSAPP_TOKEN}"
    assert request.json() == {
        "messaging_product": "whatsapp", "recipient_type": "individual", "to": shopper.lstrip("+"),
        "type": "template", "template": {
            "name": "order_shipped", "language": {"code": "en"},
            "components": [{"type": "body", "parameters": [
                {"type": "text", "text": "104233"}, {"type": "text", "text": "DHL"},
                {"type": "text", "text": TRACKING_URL}, {"type": "text", "text": "Thursday 26 November"},
            ]}],
        },
    }
    [recorded] = await _notifications(redis, Channel.WHATSAPP, shopper)
    assert recorded.text.startswith("Your order 104233 has been shipped.")


async def test_whatsapp_inside_the_window_goes_as_text(
    gateway: TestClient, standin: ProviderStandIn, redis: Redis, clock: SteppedClock,  # type: ignore[type-arg]
) -> None:
    shopper = "+4915112300003"
    await redis.set(keys.channel_window("whatsapp", shopper), repr(clock.now - 3600))  # wrote an hour ago
    await put_order(gateway, **ORDER, notify=_notify("whatsapp", shopper, "de"))
    await _event(gateway, "delivered", MORNING)

    request = await _next(standin)
    assert WHATSAPP.text_of(request).startswith("Ihre Bestellung 104233 wurde zugestellt.")


async def test_messenger_outside_its_window_holds_the_news_and_the_case_says_why(
    gateway: TestClient, standin: ProviderStandIn, redis: Redis,  # type: ignore[type-arg]
) -> None:
    psid = "6912300000000001"
    await put_order(gateway, **ORDER, notify=_notify("messenger", psid, "de"))
    await _event(gateway, "shipped", MORNING)

    await _nothing_sent(standin)  # Meta allows no bot message after 24 hours, and has no template here
    store = ConversationStore(redis)
    conversation = await store.find_latest(Channel.MESSENGER, psid)
    assert conversation is not None
    history = await store.history(conversation.id)
    news = [e for e in history if e.kind is EventKind.MESSAGE and e.author is Author.BOT]
    held = [e.data for e in history if e.kind is EventKind.DELIVERY]
    assert [e.data["delivery"] for e in news] == ["not_sent"]
    # The state names the message it is about (the console shows it under that message).
    assert held == [{"status": "not_sent", "reason": "outside_window", "channel": "messenger",
                     "message_id": news[0].id}]


# --- the web chat: live in the widget, and in its history on the next visit ------------


async def test_a_web_notification_reaches_the_open_widget_and_its_history(
    gateway: TestClient, redis: Redis,  # type: ignore[type-arg]
) -> None:
    url = str(gateway.make_url("/"))
    shopper = Shopper(url)
    session_id = await shopper.connect()
    try:
        await put_order(gateway, **ORDER, notify=_notify("web", session_id, "de"))
        await _event(gateway, "out_for_delivery", MORNING)
        live = await shopper.expect("bot_uttered", timeout=10)
        assert live["text"].startswith("Ihre Bestellung 104233 ist in der Zustellung")
    finally:
        await shopper.close()

    await _event(gateway, "delivered", MORNING.replace(hour=14))  # nobody on the page now
    await _eventually(lambda: _count(redis, session_id, 2))
    again = Shopper(url, session_id=session_id)
    await again.connect()
    try:
        texts = [message["text"] for message in await again.history() if message["author"] == "bot"]
    finally:
        await again.close()
    assert [text.split("\n")[0] for text in texts] == [
        "Ihre Bestellung 104233 ist in der Zustellung und sollte heute ankommen.",
        "Ihre Bestellung 104233 wurde zugestellt.",
    ]


async def _count(redis: Redis, session_id: str, wanted: int) -> bool:
    return len(await _notifications(redis, Channel.WEB, session_id)) == wanted


# --- what the shop may send ------------------------------------------------------------


@pytest.mark.parametrize(("notify", "problem"), [
    ({"channel": "sms", "address": "0151 2345678", "locale": "de"}, "notify.address: must be a phone number"),
    ({"channel": "web", "address": "short", "locale": "de"}, "notify.address: must be the widget's session id"),
    ({"channel": "email", "address": "anna at example.com", "locale": "de"},
     "notify.address: must be the customer's e-mail address"),
    ({"channel": "fax", "address": "+4930123456", "locale": "de"}, "notify.channel: must be one of"),
    ({"channel": "sms", "address": ANNA, "locale": "fr"}, "notify.locale: must be one of de, en"),
])
async def test_a_bad_notify_is_refused_naming_the_field(
    gateway: TestClient, notify: dict[str, str], problem: str,  # type: ignore[type-arg]
) -> None:
    response = await gateway.put("/api/v1/orders/104233", json=order_body(notify=notify), headers=SHOP)
    body = await response.json()
    assert response.status == 422 and body["error"] == "invalid_order"
    assert body["message"].startswith(problem)


async def test_the_shop_reads_notify_back(gateway: TestClient) -> None:  # type: ignore[type-arg]
    stored = await put_order(gateway, **ORDER, notify=_notify())
    fetched = await (await gateway.get("/api/v1/orders/104233", headers=SHOP)).json()
    assert stored["notify"] == fetched["notify"] == _notify()


# --- the configuration -----------------------------------------------------------------


def test_the_shipped_configuration_notifies_four_statuses_with_night_quiet_hours() -> None:
    config = NotificationConfig.load(REPO_ROOT / "config" / "notifications.yml", languages=LANGUAGES)
    assert set(config.statuses) == {OrderStatus.SHIPPED, OrderStatus.OUT_FOR_DELIVERY, OrderStatus.DELAYED,
                                    OrderStatus.DELIVERED}
    quiet = config.quiet_hours
    assert quiet is not None
    assert quiet.end_after(datetime(2026, 11, 24, 22, 30, tzinfo=BERLIN)) == datetime(2026, 11, 25, 8, 0, tzinfo=BERLIN)
    assert quiet.end_after(datetime(2026, 11, 25, 3, 0, tzinfo=BERLIN)) == datetime(2026, 11, 25, 8, 0, tzinfo=BERLIN)
    assert quiet.end_after(datetime(2026, 11, 25, 8, 0, tzinfo=BERLIN)) is None
    assert quiet.end_after(datetime(2026, 11, 25, 20, 59, tzinfo=BERLIN)) is None
    # The night the clocks go forward: 08:00 is still 8 o'clock on the wall (06:00 UTC, not 07:00).
    spring = quiet.end_after(datetime(2026, 3, 28, 21, 0, tzinfo=UTC))
    assert spring is not None and spring.astimezone(UTC) == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(("yaml_text", "problem"), [
    ("timezone: Europe/Berlin\nstatuses: {lost: {}}\n", "statuses.lost: unknown status"),
    ("timezone: Europe/Berlin\nquiet_hour: '21:00-08:00'\n", "unknown key 'quiet_hour'"),
    ("timezone: Mars/Olympus\n", "unknown timezone"),
    ("timezone: Europe/Berlin\nquiet_hours: '25:00-08:00'\n", "not a time of day"),
    ("timezone: Europe/Berlin\nstatuses: {shipped: {whatsapp: {template: {de: versand}}}}\n",
     "no template for 'en'"),
    ("timezone: Europe/Berlin\nstatuses: {shipped: {whatsapp: {template: {de: a, en: b}, parameters: [price]}}}\n",
     "unknown value 'price'"),
])
def test_a_wrong_configuration_names_the_problem(tmp_path: Path, yaml_text: str, problem: str) -> None:
    path = tmp_path / "notifications.yml"
    path.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(ValueError, match=problem):
        NotificationConfig.load(path, languages=LANGUAGES)
