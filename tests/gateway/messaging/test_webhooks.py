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
from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from channels.base import Inbound
from core.types import Channel, ConversationState, EventKind, Team
from gateway import keys
from gateway.conversations.store import ConversationStore
from gateway.messaging import inbox
from tests.channels.drivers import PHONE_NUMBER_ID, VERIFY_TOKEN, Webhook
from tests.channels.provider_standin import ProviderStandIn
from tests.gateway.agent_support import Console, add_agent
from tests.gateway.messaging.support import (
    MESSENGER,
    PUBLIC_URL,
    SHOPPER_PHONE,
    SMS,
    WHATSAPP,
    eventually,
    events_of,
    meta_sign,
    next_request,
    nothing_sent,
    post,
    scripted_reply,
    states_are,
)
from tests.gateway.rasa_standin import ScriptedRasa

async def test_a_redelivered_message_is_acknowledged_and_answered_once(
    gateway: TestClient, standin: ProviderStandIn, rasa: ScriptedRasa, redis: Redis,  # type: ignore[type-arg]
) -> None:
    webhook = SMS.inbound(PUBLIC_URL, SHOPPER_PHONE, "Wie lange kann ich zurückgeben?")
    first = await gateway.post("/webhooks/sms", data=webhook.body, headers=webhook.headers)
    assert first.status == 200 and first.content_type == "text/xml" and b"<Response>" in await first.read()
    assert SMS.text_of(await next_request(standin)) == "Sie haben 30 Tage Zeit."
    assert await post(gateway, "sms", webhook) == 200
    await nothing_sent(standin)
    assert len(rasa.received) == 1
    assert await redis.xlen(keys.inbox("sms")) == 1


async def test_forged_malformed_unknown_and_oversized_webhooks_are_refused(
    gateway: TestClient, standin: ProviderStandIn, redis: Redis,  # type: ignore[type-arg]
) -> None:
    webhook = SMS.inbound(PUBLIC_URL, SHOPPER_PHONE, "hallo")
    forged = Webhook(webhook.body, {**webhook.headers, "X-Twilio-Signature": "AAAAAAAAAAAAAAAAAAAAAAAAAAA="}, "")
    assert await post(gateway, "sms", forged) == 403
    # Signed for another URL (a replay against another shop's endpoint) is forged too.
    elsewhere = SMS.inbound("https://other.example", SHOPPER_PHONE, "hallo")
    assert await post(gateway, "sms", elsewhere) == 403
    signed_garbage = MESSENGER.inbound(PUBLIC_URL, "6900000000000001", "x")
    body = b'{"object": "instagram"}'
    garbage = Webhook(body, {**signed_garbage.headers, "X-Hub-Signature-256": "sha256=" + meta_sign(body)}, "")
    assert await post(gateway, "messenger", garbage) == 400
    assert await post(gateway, "telegram", webhook) == 404
    huge = await gateway.post("/webhooks/whatsapp", data=io.BytesIO(b"x" * (1024 * 1024 + 1)),
                              headers={"Content-Type": "application/json"})
    assert huge.status == 413
    await nothing_sent(standin)
    for channel in ("sms", "messenger", "whatsapp"):
        assert await redis.xlen(keys.inbox(channel)) == 0


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
    assert await post(gateway, "sms", SMS.inbound(PUBLIC_URL, SHOPPER_PHONE, "Stopp")) == 200
    confirmation = SMS.text_of(await next_request(standin))
    assert "abgemeldet" in confirmation and "START" in confirmation  # German: the shopper wrote "Stopp"
    await eventually(lambda: redis.exists(keys.opt_out("sms", SHOPPER_PHONE)))
    assert rasa.received == []  # keywords never reach the bot

    assert await post(gateway, "sms", SMS.inbound(PUBLIC_URL, SHOPPER_PHONE, "Wie lange kann ich zurückgeben?")) == 200
    await nothing_sent(standin, 1.5)
    states = [e.data["status"] for e in await events_of(redis, Channel.SMS, SHOPPER_PHONE, EventKind.DELIVERY)]
    # The confirmation went out (sent); the bot's answer after STOP did not.
    assert [state for state in states if state != "sent"] == ["opted_out", "not_sent"]

    assert await post(gateway, "sms", SMS.inbound(PUBLIC_URL, SHOPPER_PHONE, "START")) == 200
    assert "STOP" in SMS.text_of(await next_request(standin))
    assert not await redis.exists(keys.opt_out("sms", SHOPPER_PHONE))  # lifted before the confirmation
    assert await post(gateway, "sms", SMS.inbound(PUBLIC_URL, SHOPPER_PHONE, "HELP")) == 200
    assert "+49 30 1234 5670" in SMS.text_of(await next_request(standin))


async def test_a_stop_taken_over_from_a_process_that_died_before_the_opt_out_still_opts_out(
    gateway: TestClient, standin: ProviderStandIn, redis: Redis,  # type: ignore[type-arg]
) -> None:
    webhook = SMS.inbound(PUBLIC_URL, SHOPPER_PHONE, "STOP")
    # What the dying process got done: the STOP is on the case, the opt-out is not set yet.
    store = ConversationStore(redis)
    conversation = await store.open(Channel.SMS, SHOPPER_PHONE, "de")
    await store.append_shopper_message(conversation.id, "STOP", {"keyword": "opt_out"}, message_id=webhook.message_id)

    assert await post(gateway, "sms", webhook) == 200  # the provider's retry, or the inbox's takeover
    await eventually(lambda: redis.exists(keys.opt_out("sms", SHOPPER_PHONE)))
    await nothing_sent(standin)  # the confirmation is not sent twice (the first process may have)
    assert await post(gateway, "sms", SMS.inbound(PUBLIC_URL, SHOPPER_PHONE, "Hallo?")) == 200
    await nothing_sent(standin, 1.5)  # opted out: the bot's answer is not sent


async def test_sms_quick_replies_are_numbered_and_a_number_picks_one(
    gateway: TestClient, standin: ProviderStandIn, rasa: ScriptedRasa,  # type: ignore[type-arg]
) -> None:
    rasa.reply = scripted_reply("Wobei kann ich helfen?", [("Rücksendung", "/return"), ("Wo ist mein Paket?", "/wismo")])
    assert await post(gateway, "sms", SMS.inbound(PUBLIC_URL, SHOPPER_PHONE, "hallo")) == 200
    body = SMS.text_of(await next_request(standin))
    assert body == "Wobei kann ich helfen?\n\n1) Rücksendung\n2) Wo ist mein Paket?"
    assert await post(gateway, "sms", SMS.inbound(PUBLIC_URL, SHOPPER_PHONE, "2")) == 200
    await next_request(standin)
    assert rasa.received[-1]["message"] == "/wismo"


async def test_a_late_whatsapp_reply_of_an_agent_is_held_and_the_agent_told_why(
    gateway: TestClient, standin: ProviderStandIn, rasa: ScriptedRasa, redis: Redis,  # type: ignore[type-arg]
) -> None:
    rasa.reply = scripted_reply("Ich gebe Sie weiter.", handoff={"team": "product", "reason": "damaged_item"})
    shopper = "+4915112345678"
    assert await post(gateway, "whatsapp", WHATSAPP.inbound(PUBLIC_URL, shopper, "Die Vase ist kaputt")) == 200
    await next_request(standin)  # the bot's words
    await next_request(standin)  # "you are next in the queue"
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
        await nothing_sent(standin)
        # The "Petra is looking after you" notice of the claim and the reply itself.
        held = [e for e in await events_of(redis, Channel.WHATSAPP, shopper, EventKind.DELIVERY)
                if e.data["status"] == "not_sent"]
        assert [e.data["reason"] for e in held] == ["outside_window", "outside_window"]
    finally:
        await console.close()


async def test_a_provider_busy_for_a_moment_is_retried_and_a_500_is_failed_at_once_on_the_case(
    gateway: TestClient, standin: ProviderStandIn, redis: Redis,  # type: ignore[type-arg]
) -> None:
    psid = "6912345678901234"
    standin.fail_next(2, 503)
    assert await post(gateway, "messenger", MESSENGER.inbound(PUBLIC_URL, psid, "hallo")) == 200
    for _ in range(3):
        last = await next_request(standin)
    assert MESSENGER.text_of(last) == "Sie haben 30 Tage Zeit."
    await eventually(lambda: states_are(redis, Channel.MESSENGER, psid, ["sent"]))

    # A 500 is not retried: Meta's Send API takes no idempotency key, so a retry could be a
    # second message. One call, and the case says why it failed.
    standin.fail_next(1, 500)
    assert await post(gateway, "messenger", MESSENGER.inbound(PUBLIC_URL, psid, "und noch was")) == 200
    await next_request(standin)
    await eventually(lambda: states_are(redis, Channel.MESSENGER, psid, ["sent", "failed"]))
    failed = (await events_of(redis, Channel.MESSENGER, psid, EventKind.DELIVERY))[-1]
    assert "HTTP 500" in (failed.text or "") and failed.data["message_id"]
    await nothing_sent(standin)


async def test_a_whatsapp_failure_status_is_shown_on_the_case(
    gateway: TestClient, standin: ProviderStandIn, redis: Redis,  # type: ignore[type-arg]
) -> None:
    shopper = "+4915198765432"
    assert await post(gateway, "whatsapp", WHATSAPP.inbound(PUBLIC_URL, shopper, "hallo")) == 200
    await next_request(standin)
    wamid = await _wamid_sent_to(redis)
    body = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
        "field": "messages", "value": {"messaging_product": "whatsapp",
                                       "metadata": {"display_phone_number": "1", "phone_number_id": PHONE_NUMBER_ID},
                                       "statuses": [{"id": wamid, "status": "failed", "timestamp": "1700000000",
                                                     "recipient_id": shopper.lstrip("+"),
                                                     "errors": [{"code": 131026, "title": "Message undeliverable"}]}]},
    }]}]}).encode()
    status = Webhook(body, {"Content-Type": "application/json", "X-Hub-Signature-256": "sha256=" + meta_sign(body)}, "")
    assert await post(gateway, "whatsapp", status) == 200
    for _ in range(50):
        failed = [e for e in await events_of(redis, Channel.WHATSAPP, shopper, EventKind.DELIVERY)
                  if e.data["status"] == "failed"]
        if failed:
            break
        await asyncio.sleep(0.1)
    assert failed and "131026" in (failed[0].text or "")
    sent = [e for e in await events_of(redis, Channel.WHATSAPP, shopper, EventKind.DELIVERY) if e.data["status"] == "sent"]
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
    assert SMS.text_of(await next_request(standin)) == "Sie haben 30 Tage Zeit."

    async def acknowledged() -> bool:
        return (await redis.xpending(keys.inbox("sms"), keys.INBOX_GROUP))["pending"] == 0

    await eventually(acknowledged)


async def test_an_agent_typing_shows_in_messenger(
    gateway: TestClient, standin: ProviderStandIn, rasa: ScriptedRasa, redis: Redis,  # type: ignore[type-arg]
) -> None:
    rasa.reply = scripted_reply("Ich gebe Sie weiter.", handoff={"team": "billing", "reason": "invoice_problem"})
    psid = "6955555555555555"
    assert await post(gateway, "messenger", MESSENGER.inbound(PUBLIC_URL, psid, "Rechnung falsch")) == 200
    await next_request(standin)
    await next_request(standin)
    conversation = await ConversationStore(redis).find_latest(Channel.MESSENGER, psid)
    assert conversation is not None
    await add_agent(redis, "ben@nordlicht-home.example", Team.BILLING, name="Ben")
    console = await (await Console(str(gateway.make_url("")).rstrip("/"), "ben@nordlicht-home.example").login()).connect()
    try:
        status, _ = await console.call("POST", f"/conversations/{conversation.id}/claim")
        assert status == 200
        await next_request(standin)  # "Ben is looking after you"
        await console.socket.emit("typing", {"conversation_id": conversation.id, "typing": True}, namespace="/agent")
        typing = (await next_request(standin)).json()
        assert typing == {"recipient": {"id": psid}, "sender_action": "typing_on"}
    finally:
        await console.close()


async def test_an_intake_only_process_accepts_and_leaves_the_answer_to_the_others(
    make_gateway: Callable[..., Awaitable[TestClient]], standin: ProviderStandIn, redis: Redis,  # type: ignore[type-arg]
) -> None:
    intake = await make_gateway(inbox_worker=False)
    assert await post(intake, "sms", SMS.inbound(PUBLIC_URL, SHOPPER_PHONE, "hallo")) == 200
    await nothing_sent(standin)
    assert await redis.xlen(keys.inbox("sms")) == 1
    await make_gateway()  # a process that answers takes it
    assert SMS.text_of(await next_request(standin)) == "Sie haben 30 Tage Zeit."
