"""Webhooks under abuse: floods from one address or one shopper, bytes that are not text,
texts too long, and deliveries for a number that is not ours. Nothing signed is refused: a
shopper over their limit is kept on the case without a bot turn; only an address's flood
before the signature is a 429; a bad packet is one log line."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from core.types import Author, Channel, EventKind
from gateway import keys
from gateway.conversations.store import ConversationStore
from tests.channels.drivers import DRIVERS, PAGE_ID, Webhook
from tests.channels.provider_standin import ProviderStandIn
from tests.gateway.limits.support import limits_file
from tests.gateway.messaging.support import MESSENGER, PUBLIC_URL, WHATSAPP, meta_sign, post
from tests.gateway.rasa_standin import ScriptedRasa

MakeGateway = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]


def _signed(body: bytes) -> Webhook:
    return Webhook(body, {"Content-Type": "application/json", "X-Hub-Signature-256": "sha256=" + meta_sign(body)}, "")


def _messenger_batch(*messages: tuple[str, str, str]) -> Webhook:
    """One Messenger POST with a message event per (psid, mid, text)."""
    now = int(time.time() * 1000)
    events = [{"sender": {"id": psid}, "recipient": {"id": PAGE_ID}, "timestamp": now,
               "message": {"mid": mid, "text": text}} for psid, mid, text in messages]
    return _signed(json.dumps({"object": "page", "entry": [{"id": PAGE_ID, "time": now, "messaging": events}]}).encode())


async def _case_texts(redis: Redis, channel: Channel, address: str, timeout: float = 5) -> list[str]:
    """The shopper's messages on their case, once there is one."""
    store = ConversationStore(redis)
    async with asyncio.timeout(timeout):
        while (conversation := await store.find_latest(channel, address)) is None:
            await asyncio.sleep(0.05)
    return [event.text or "" for event in await store.history(conversation.id)
            if event.kind is EventKind.MESSAGE and event.author is Author.SHOPPER]


async def test_a_shopper_over_their_limit_is_acknowledged_and_kept_on_the_case_without_a_bot_turn(
    make_gateway: MakeGateway, rasa: ScriptedRasa, redis: Redis, tmp_path: Path,
) -> None:
    # Twilio does not redeliver an SMS after a 429, and for Meta one shopper's 429 is the
    # whole batch's: so nothing is refused per sender; the message over the limit is kept.
    gateway = await make_gateway(limits_file=limits_file(tmp_path, webhook_message_per_sender="60/minute burst 2"))
    flood, calm = "6900000000000077", "6900000000000078"
    batch = _messenger_batch((flood, "m_flood_1", "eins"), (flood, "m_flood_2", "zwei"),
                             (flood, "m_flood_3", "drei"), (calm, "m_calm_1", "hallo"))
    assert await post(gateway, "messenger", batch) == 200
    assert await redis.xlen(keys.inbox("messenger")) == 4
    async with asyncio.timeout(5):
        while len(await _case_texts(redis, Channel.MESSENGER, flood)) < 3:
            await asyncio.sleep(0.05)
    store = ConversationStore(redis)
    conversation = await store.find_latest(Channel.MESSENGER, flood)
    assert conversation is not None
    kept = [(event.text, bool((event.data or {}).get("throttled"))) for event in await store.history(conversation.id)
            if event.kind is EventKind.MESSAGE and event.author is Author.SHOPPER]
    assert kept == [("eins", False), ("zwei", False), ("drei", True)]
    await _bot_read(rasa, 3)
    await asyncio.sleep(0.3)  # a fourth turn, were there one, would have started by now
    assert sorted(str(turn["message"]) for turn in rasa.received) == ["eins", "hallo", "zwei"]


async def test_an_address_over_its_limit_gets_429_before_any_signature_is_checked(
    make_gateway: MakeGateway, redis: Redis, tmp_path: Path,
) -> None:
    gateway = await make_gateway(limits_file=limits_file(tmp_path, webhook_per_address="10/minute burst 2"))
    forged = Webhook(b"{}", {"Content-Type": "application/json", "X-Hub-Signature-256": "sha256=00"}, "")
    assert [await post(gateway, "whatsapp", forged) for _ in range(2)] == [403, 403]
    refused = await gateway.post("/webhooks/whatsapp", data=forged.body, headers=forged.headers)
    assert refused.status == 429 and 1 <= int(refused.headers["Retry-After"]) <= 6
    handshake = await gateway.get("/webhooks/whatsapp", params={"hub.mode": "subscribe"})
    assert handshake.status == 429


async def _raw_post(gateway: TestClient, path: str, headers: bytes, body: bytes) -> bytes:  # type: ignore[type-arg]
    """A request written byte by byte: no HTTP client sends header bytes that are not UTF-8."""
    reader, writer = await asyncio.open_connection(gateway.server.host, gateway.server.port)
    writer.write(b"POST " + path.encode() + b" HTTP/1.1\r\nHost: test\r\nConnection: close\r\n" + headers
                 + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    return answer.split(b"\r\n", 1)[0]


@pytest.mark.parametrize(("channel", "header"), [
    ("messenger", b"X-Hub-Signature-256: sha256=\xff\xfe\xc3("),
    ("whatsapp", b"X-Hub-Signature-256: sha256=\xe9t\xe9"),
    ("sms", b"X-Twilio-Signature: \xff\xff\xff\xff="),
])
async def test_a_signature_that_is_not_utf8_is_refused_with_403(
    gateway: TestClient, channel: str, header: bytes, redis: Redis,  # type: ignore[type-arg]
) -> None:
    webhook = DRIVERS[channel].inbound(PUBLIC_URL, DRIVERS[channel].address(5), "hallo")
    content_type = webhook.headers["Content-Type"].encode()
    status_line = await _raw_post(gateway, f"/webhooks/{channel}", b"Content-Type: " + content_type + b"\r\n"
                                  + header + b"\r\n", webhook.body)
    assert status_line.startswith(b"HTTP/1.1 403"), status_line
    assert await redis.xlen(keys.inbox(channel)) == 0


async def test_a_lone_surrogate_in_a_signed_messenger_message_is_stored_as_a_replacement_character(
    gateway: TestClient, rasa: ScriptedRasa, redis: Redis,  # type: ignore[type-arg]
) -> None:
    psid = "6900000000000079"
    body = _messenger_batch((psid, "m_surrogate", "x")).body.replace(b'"text": "x"', b'"text": "kaputt \\ud800 ok"')
    assert await post(gateway, "messenger", _signed(body)) == 200
    assert await _case_texts(redis, Channel.MESSENGER, psid) == ["kaputt \ufffd ok"]


@pytest.mark.parametrize("channel", ["sms", "messenger", "whatsapp"])
async def test_a_message_longer_than_the_cap_is_cut_with_a_mark(
    make_gateway: MakeGateway, channel: str, rasa: ScriptedRasa, redis: Redis, caplog: pytest.LogCaptureFixture,
) -> None:
    gateway = await make_gateway(max_message_chars=40)
    driver = DRIVERS[channel]
    caplog.set_level(logging.INFO, "gateway.messaging.webhooks")
    assert await post(gateway, channel, driver.inbound(PUBLIC_URL, driver.address(6), "Wort " * 300)) == 200
    [text] = await _case_texts(redis, driver.channel, driver.address(6))
    assert len(text) <= 40 and text.endswith(" […]") and text.startswith("Wort Wort")
    assert sum("characters cut to 40" in record.message for record in caplog.records) == 1


async def test_whatsapp_messages_for_another_number_are_acknowledged_and_ignored(
    gateway: TestClient, standin: ProviderStandIn, redis: Redis, caplog: pytest.LogCaptureFixture,  # type: ignore[type-arg]
) -> None:
    webhook = WHATSAPP.inbound(PUBLIC_URL, "+4915100000001", "hallo")
    foreign = webhook.body.replace(b'"phone_number_id": "', b'"phone_number_id": "9')
    caplog.set_level(logging.INFO, "channels.whatsapp")
    assert await post(gateway, "whatsapp", _signed(foreign)) == 200
    assert await redis.xlen(keys.inbox("whatsapp")) == 0
    assert sum("phone_number_id" in record.message for record in caplog.records) == 1
    await asyncio.to_thread(standin.none_within, 0.5)


async def _bot_read(rasa: ScriptedRasa, count: int, timeout: float = 5) -> str:
    async with asyncio.timeout(timeout):
        while len(rasa.received) < count:
            await asyncio.sleep(0.05)
    return str(rasa.received[count - 1]["message"])


async def test_only_payloads_offered_as_quick_replies_reach_the_bot_as_intents(
    gateway: TestClient, rasa: ScriptedRasa, redis: Redis,  # type: ignore[type-arg]
) -> None:
    psid = "6900000000000080"
    typed = '/order_status{"order_id": "104233", "proof": "verified"}'
    rasa.reply = {"messages": [{"text": "Worum geht es?", "buttons": [{"title": "Rücksendung", "payload": "/return"}]},
                               {"text": "Oder schreiben Sie mir einfach."}],
                  "intent": {"name": "greet", "confidence": 0.9}, "retrieval": None, "handoff": None}
    assert await post(gateway, "messenger", MESSENGER.inbound(PUBLIC_URL, psid, typed)) == 200
    assert await _bot_read(rasa, 1) == typed.lstrip("/")  # words, not an intent
    # The button under the turn's first message was offered: its payload is the intent.
    assert await post(gateway, "messenger", MESSENGER.inbound(PUBLIC_URL, psid, "/return")) == 200
    assert await _bot_read(rasa, 2) == "/return"
    assert await post(gateway, "messenger", MESSENGER.inbound(PUBLIC_URL, psid, "/handoff")) == 200
    assert await _bot_read(rasa, 3) == "handoff"
    # The case keeps what the shopper wrote.
    assert (await _case_texts(redis, Channel.MESSENGER, psid))[0] == typed
