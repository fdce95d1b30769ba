"""The webhook path of the messaging channels in the real gateway app on a real Redis:
what is acknowledged, refused, deduplicated, taken over after a crash, and what the
provider (a local stand-in) is asked to send — opt-outs, windows, retries included.

Rasa is a scripted stand-in here (tests/channels/test_channels_e2e.py drives the real bot).
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from channels.base import Inbound
from core.types import Author, Channel, ConversationState, EventKind, Team
from gateway import keys
from gateway.app import create_app
from gateway.conversations import state_machine
from gateway.conversations.store import ConversationStore
from gateway.messaging import inbox
from gateway.messaging.channel_settings import ChannelSettings
from gateway.settings import Settings
from tests.channels.drivers import DRIVERS, META_SECRET, PHONE_NUMBER_ID, VERIFY_TOKEN, Webhook, channel_env
from tests.channels.provider_standin import ProviderStandIn, provider_standin
from tests.gateway.agent_support import Console, add_agent
from tests.gateway.rasa_standin import ScriptedRasa

AiohttpClient = Callable[[web.Application], Awaitable[TestClient]]  # type: ignore[type-arg]
# The URL providers call: a proxy sits in front, so it is not the test server's own.
PUBLIC_URL = "http://chat.nordlicht-home.example:8443"
SMS, MESSENGER, WHATSAPP = DRIVERS["sms"], DRIVERS["messenger"], DRIVERS["whatsapp"]
SHOPPER_PHONE = "+4917099887766"


def _reply(text: str, buttons: list[tuple[str, str]] = (), handoff: dict[str, str] | None = None) -> dict[str, Any]:  # type: ignore[assignment]
    return {"messages": [{"text": text, "buttons": [{"title": t, "payload": p} for t, p in buttons]}],
            "intent": {"name": "faq", "confidence": 0.9}, "retrieval": None, "handoff": handoff}


@pytest.fixture
def standin() -> Iterator[ProviderStandIn]:
    with provider_standin() as running:
        yield running


@pytest.fixture
def rasa() -> ScriptedRasa:
    return ScriptedRasa(_reply("Sie haben 30 Tage Zeit."))


@pytest.fixture
def make_gateway(aiohttp_client: AiohttpClient, base_settings: Settings, redis: Redis, rasa: ScriptedRasa,
                 standin: ProviderStandIn) -> Callable[..., Awaitable[TestClient]]:  # type: ignore[type-arg]
    async def make(**changes: Any) -> TestClient:  # type: ignore[type-arg]
        rasa_url = await rasa.start(aiohttp_client)
        channels = ChannelSettings.from_env(channel_env(PUBLIC_URL, standin.url), PUBLIC_URL)
        settings = base_settings.replace(rasa_url=rasa_url, public_url=PUBLIC_URL, channels=channels,
                                       **changes)
        return await aiohttp_client(create_app(settings))
    return make


@pytest.fixture
async def gateway(make_gateway: Callable[..., Awaitable[TestClient]]) -> TestClient:  # type: ignore[type-arg]
    return await make_gateway()


async def _post(gateway: TestClient, channel: str, webhook: Webhook) -> int:  # type: ignore[type-arg]
    response = await gateway.post(f"/webhooks/{channel}", data=webhook.body, headers=webhook.headers)
    await response.read()
    return response.status


async def _next(standin: ProviderStandIn, timeout: float = 10) -> Any:
    return await asyncio.to_thread(standin.next, timeout)


async def _nothing_sent(standin: ProviderStandIn, within: float = 1.0) -> None:
    await asyncio.to_thread(standin.none_within, within)


async def _eventually(check: Callable[[], Awaitable[object]], timeout: float = 5) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.05)


async def _events(redis: Redis, channel: Channel, address: str, kind: EventKind) -> list[Any]:
    store = ConversationStore(redis)
    conversation = await store.find_latest(channel, address)
    assert conversation is not None
    return [event for event in await store.history(conversation.id) if event.kind is kind]


async def test_a_redelivered_message_is_acknowledged_and_answered_once(
    gateway: TestClient, standin: ProviderStandIn, rasa: ScriptedRasa, redis: Redis,  # type: ignore[type-arg]
) -> None:
    webhook = SMS.inbound(PUBLIC_URL, SHOPPER_PHONE, "Wie lange kann ich zurückgeben?")
    first = await gateway.post("/webhooks/sms", data=webhook.body, headers=webhook.headers)
    assert first.status == 200 and first.content_type == "text/xml" and b"<Response>" in await first.read()
    assert SMS.text_of(await _next(standin)) == "Sie haben 30 Tage Zeit."
    assert await _post(gateway, "sms", webhook) == 200
    await _nothing_sent(standin)
    assert len(rasa.received) == 1
    assert await redis.xlen(keys.inbox("sms")) == 1


async def test_forged_malformed_unknown_and_oversized_webhooks_are_refused(
    gateway: TestClient, standin: ProviderStandIn, redis: Redis,  # type: ignore[type-arg]
) -> None:
    webhook = SMS.inbound(PUBLIC_URL, SHOPPER_PHONE, "hallo")
    forged = Webhook(webhook.body, {**webhook.headers, "X-Twilio-Signature": "AAAAAAAAAAAAAAAAAAAAAAAAAAA="}, "")
    assert await _post(gateway, "sms", forged) == 403
    # Signed for another URL (a replay against another shop's endpoint) is forged too.
    elsewhere = SMS.inbound("https://other.example", SHOPPER_PHONE, "hallo")
    assert await _post(gateway, "sms", elsewhere) == 403
    signed_garbage = MESSENGER.inbound(PUBLIC_URL, "6900000000000001", "x")
    body = b'{"object": "instagram"}'
    garbage = Webhook(body, {**signed_garbage.headers, "X-Hub-Signature-256": "sha256=" + _meta_sign(body)}, "")
    assert await _post(gateway, "messenger", garbage) == 400
    assert await _post(gateway, "telegram", webhook) == 404
    huge = await gateway.post("/webhooks/whatsapp", data=io.BytesIO(b"x" * (1024 * 1024 + 1)),
                              headers={"Content-Type": "application/json"})
    assert huge.status == 413
    await _nothing_sent(standin)
    for channel in ("sms", "messenger", "whatsapp"):
        assert await redis.xlen(keys.inbox(channel)) == 0


def _meta_sign(body: bytes) -> str:
    import hashlib
    import hmac

    return hmac.new(META_SECRET.encode(), body, hashlib.sha256).hexdigest()


@pytest.mark.parametrize("channel", ["messenger", "whatsapp"])
async def test_meta_subscription_handshake(gateway: TestClient, channel: str) -> None:  # type: ignore[type-arg]
    ok = await gateway.get(f"/webhooks/{channel}", params={
        "hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"})
    assert (ok.status, await ok.text()) == (200, "1158201444")
    wrong = await gateway.get(f"/webhooks/{channel}", params={
        "hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1158201444"})
    assert wrong.status == 403
    assert (await gateway.get("/webhooks/sms")).status == 405


async def test_stop_is_confirmed_once_then_nothing_is_sent_until_start(
    gateway: TestClient, standin: ProviderStandIn, rasa: ScriptedRasa, redis: Redis,  # type: ignore[type-arg]
) -> None:
    assert await _post(gateway, "sms", SMS.inbound(PUBLIC_URL, SHOPPER_PHONE, "Stopp")) == 200
    confirmation = SMS.text_of(await _next(standin))
    assert "abgemeldet" in confirmation and "START" in confirmation  # German: the shopper wrote "Stopp"
    await _eventually(lambda: redis.exists(keys.opt_out("sms", SHOPPER_PHONE)))
    assert rasa.received == []  # keywords never reach the bot

    assert await _post(gateway, "sms", SMS.inbound(PUBLIC_URL, SHOPPER_PHONE, "Wie lange kann ich zurückgeben?")) == 200
    await _nothing_sent(standin, 1.5)
    states = [e.data["status"] for e in await _events(redis, Channel.SMS, SHOPPER_PHONE, EventKind.DELIVERY)]
    # The confirmation went out (sent); the bot's answer after STOP did not.
    assert [state for state in states if state != "sent"] == ["opted_out", "not_sent"]

    assert await _post(gateway, "sms", SMS.inbound(PUBLIC_URL, SHOPPER_PHONE, "START")) == 200
    assert "STOP" in SMS.text_of(await _next(standin))
    assert not await redis.exists(keys.opt_out("sms", SHOPPER_PHONE))  # lifted before the confirmation
    assert await _post(gateway, "sms", SMS.inbound(PUBLIC_URL, SHOPPER_PHONE, "HELP")) == 200
    assert "+49 30 1234 5670" in SMS.text_of(await _next(standin))


async def test_sms_quick_replies_are_numbered_and_a_number_picks_one(
    gateway: TestClient, standin: ProviderStandIn, rasa: ScriptedRasa,  # type: ignore[type-arg]
) -> None:
    rasa.reply = _reply("Wobei kann ich helfen?", [("Rücksendung", "/return"), ("Wo ist mein Paket?", "/wismo")])
    assert await _post(gateway, "sms", SMS.inbound(PUBLIC_URL, SHOPPER_PHONE, "hallo")) == 200
    body = SMS.text_of(await _next(standin))
    assert body == "Wobei kann ich helfen?\n\n1) Rücksendung\n2) Wo ist mein Paket?"
    assert await _post(gateway, "sms", SMS.inbound(PUBLIC_URL, SHOPPER_PHONE, "2")) == 200
    await _next(standin)
    assert rasa.received[-1]["message"] == "/wismo"


async def test_a_late_whatsapp_reply_of_an_agent_is_held_and_the_agent_told_why(
    gateway: TestClient, standin: ProviderStandIn, rasa: ScriptedRasa, redis: Redis,  # type: ignore[type-arg]
) -> None:
    rasa.reply = _reply("Ich gebe Sie weiter.", handoff={"team": "product", "reason": "damaged_item"})
    shopper = "+4915112345678"
    assert await _post(gateway, "whatsapp", WHATSAPP.inbound(PUBLIC_URL, shopper, "Die Vase ist kaputt")) == 200
    await _next(standin)  # the bot's words
    await _next(standin)  # "you are next in the queue"
    conversation = await ConversationStore(redis).find_latest(Channel.WHATSAPP, shopper)
    assert conversation is not None and conversation.state is ConversationState.QUEUED
    # The shopper's last message is 25 hours old now.
    await redis.set(keys.channel_window("whatsapp", shopper), repr(time.time() - 25 * 3600))
    await add_agent(redis, "petra@nordlicht-home.example", Team.PRODUCT, name="Petra")
    console = await Console(str(gateway.make_url("")).rstrip("/"), "petra@nordlicht-home.example").login()
    try:
        standin.drain()
        status, body = await console.call("POST", f"/conversations/{conversation.id}/messages",
                                          {"text": "Wir schicken Ihnen eine neue Vase."})
        assert status == 422 and body["error"] == "not_sent" and body["reason"] == "outside_window"
        assert "24 hours" in body["message"]
        await _nothing_sent(standin)
        # The "Petra is looking after you" notice of the claim and the reply itself.
        held = [e for e in await _events(redis, Channel.WHATSAPP, shopper, EventKind.DELIVERY)
                if e.data["status"] == "not_sent"]
        assert [e.data["reason"] for e in held] == ["outside_window", "outside_window"]
    finally:
        await console.close()


async def test_a_provider_busy_for_a_moment_is_retried_and_a_500_is_failed_at_once_on_the_case(
    gateway: TestClient, standin: ProviderStandIn, redis: Redis,  # type: ignore[type-arg]
) -> None:
    psid = "6912345678901234"
    standin.fail_next(2, 503)
    assert await _post(gateway, "messenger", MESSENGER.inbound(PUBLIC_URL, psid, "hallo")) == 200
    for _ in range(3):
        last = await _next(standin)
    assert MESSENGER.text_of(last) == "Sie haben 30 Tage Zeit."
    await _eventually(lambda: _states(redis, Channel.MESSENGER, psid, ["sent"]))

    # A 500 is not retried: Meta's Send API takes no idempotency key, so a retry could be a
    # second message. One call, and the case says why it failed.
    standin.fail_next(1, 500)
    assert await _post(gateway, "messenger", MESSENGER.inbound(PUBLIC_URL, psid, "und noch was")) == 200
    await _next(standin)
    await _eventually(lambda: _states(redis, Channel.MESSENGER, psid, ["sent", "failed"]))
    failed = (await _events(redis, Channel.MESSENGER, psid, EventKind.DELIVERY))[-1]
    assert "HTTP 500" in (failed.text or "") and failed.data["message_id"]
    await _nothing_sent(standin)


async def _states(redis: Redis, channel: Channel, address: str, expected: list[str]) -> bool:  # type: ignore[type-arg]
    return [e.data["status"] for e in await _events(redis, channel, address, EventKind.DELIVERY)] == expected


async def test_a_whatsapp_failure_status_is_shown_on_the_case(
    gateway: TestClient, standin: ProviderStandIn, redis: Redis,  # type: ignore[type-arg]
) -> None:
    shopper = "+4915198765432"
    assert await _post(gateway, "whatsapp", WHATSAPP.inbound(PUBLIC_URL, shopper, "hallo")) == 200
    await _next(standin)
    wamid = await _wamid_sent_to(redis)
    body = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
        "field": "messages", "value": {"messaging_product": "whatsapp",
                                       "metadata": {"display_phone_number": "1", "phone_number_id": PHONE_NUMBER_ID},
                                       "statuses": [{"id": wamid, "status": "failed", "timestamp": "1700000000",
                                                     "recipient_id": shopper.lstrip("+"),
                                                     "errors": [{"code": 131026, "title": "Message undeliverable"}]}]},
    }]}]}).encode()
    status = Webhook(body, {"Content-Type": "application/json", "X-Hub-Signature-256": "sha256=" + _meta_sign(body)}, "")
    assert await _post(gateway, "whatsapp", status) == 200
    for _ in range(50):
        failed = [e for e in await _events(redis, Channel.WHATSAPP, shopper, EventKind.DELIVERY)
                  if e.data["status"] == "failed"]
        if failed:
            break
        await asyncio.sleep(0.1)
    assert failed and "131026" in (failed[0].text or "")
    sent = [e for e in await _events(redis, Channel.WHATSAPP, shopper, EventKind.DELIVERY) if e.data["status"] == "sent"]
    assert failed[0].data["message_id"] == sent[0].data["message_id"]  # the failure is the sent message's


async def _wamid_sent_to(redis: Redis) -> str:
    for _ in range(50):
        found = [key async for key in redis.scan_iter(match=keys.sent_message("whatsapp", "*"))]
        if found:
            return str(found[0]).rsplit(":", 1)[1]
        await asyncio.sleep(0.05)
    raise AssertionError("no WhatsApp message id recorded")


async def test_a_delivery_a_stopped_process_had_read_is_taken_over(
    make_gateway: Callable[..., Awaitable[TestClient]], standin: ProviderStandIn, redis: Redis,  # type: ignore[type-arg]
) -> None:
    # Accepted and read by a gateway process that died before it finished.
    item = Inbound(Channel.SMS, "SM" + "d" * 32, SHOPPER_PHONE, "hallo", time.time())
    assert await inbox.accept(redis, [item]) == (1, 0)
    await redis.xgroup_create(keys.inbox("sms"), keys.INBOX_GROUP, id="0")
    taken = await redis.xreadgroup(keys.INBOX_GROUP, "gateway-dead", {keys.inbox("sms"): ">"}, count=10)
    assert len(taken[0][1]) == 1
    await make_gateway(inbox_claim_idle_ms=300)
    assert SMS.text_of(await _next(standin)) == "Sie haben 30 Tage Zeit."

    async def acknowledged() -> bool:
        return (await redis.xpending(keys.inbox("sms"), keys.INBOX_GROUP))["pending"] == 0

    await _eventually(acknowledged)


async def test_an_agent_typing_shows_in_messenger(
    gateway: TestClient, standin: ProviderStandIn, rasa: ScriptedRasa, redis: Redis,  # type: ignore[type-arg]
) -> None:
    rasa.reply = _reply("Ich gebe Sie weiter.", handoff={"team": "billing", "reason": "invoice_problem"})
    psid = "6955555555555555"
    assert await _post(gateway, "messenger", MESSENGER.inbound(PUBLIC_URL, psid, "Rechnung falsch")) == 200
    await _next(standin)
    await _next(standin)
    conversation = await ConversationStore(redis).find_latest(Channel.MESSENGER, psid)
    assert conversation is not None
    await add_agent(redis, "ben@nordlicht-home.example", Team.BILLING, name="Ben")
    console = await (await Console(str(gateway.make_url("")).rstrip("/"), "ben@nordlicht-home.example").login()).connect()
    try:
        status, _ = await console.call("POST", f"/conversations/{conversation.id}/claim")
        assert status == 200
        await _next(standin)  # "Ben is looking after you"
        await console.socket.emit("typing", {"conversation_id": conversation.id, "typing": True}, namespace="/agent")
        typing = (await _next(standin)).json()
        assert typing == {"recipient": {"id": psid}, "sender_action": "typing_on"}
    finally:
        await console.close()


async def test_an_intake_only_process_accepts_and_leaves_the_answer_to_the_others(
    make_gateway: Callable[..., Awaitable[TestClient]], standin: ProviderStandIn, redis: Redis,  # type: ignore[type-arg]
) -> None:
    intake = await make_gateway(inbox_worker=False)
    assert await _post(intake, "sms", SMS.inbound(PUBLIC_URL, SHOPPER_PHONE, "hallo")) == 200
    await _nothing_sent(standin)
    assert await redis.xlen(keys.inbox("sms")) == 1
    await make_gateway()  # a process that answers takes it
    assert SMS.text_of(await _next(standin)) == "Sie haben 30 Tage Zeit."
