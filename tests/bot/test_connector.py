"""The storechat connector against a real Rasa server with the trained model.

This is the contract the gateway relies on: answers in the shopper's language, the FAQ
topic it recognised, and "did not understand" for nonsense — through the real NLU.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import aiohttp
import pytest
from redis.asyncio import Redis

from gateway.settings import Settings


@pytest.fixture
async def webhook(rasa_settings: Settings) -> AsyncIterator[tuple[aiohttp.ClientSession, str]]:
    """A session that sends the gateway's secret, as the gateway does (gateway/bot/rasa_client.py)."""
    secret = {"Authorization": f"Bearer {rasa_settings.rasa_token}"}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30), headers=secret) as session:
        yield session, f"{rasa_settings.rasa_url}/webhooks/storechat"


async def _say(
    webhook: tuple[aiohttp.ClientSession, str], text: str, locale: str | None, sender: str = ""
) -> dict[str, Any]:
    session, base = webhook
    body: dict[str, Any] = {"sender": sender or uuid4().hex, "message": text}
    if locale is not None:
        body["metadata"] = {"locale": locale}
    async with session.post(f"{base}/webhook", json=body) as resp:
        assert resp.status == 200
        data: dict[str, Any] = await resp.json()
        return data


async def test_health(webhook: tuple[aiohttp.ClientSession, str]) -> None:
    session, base = webhook
    async with session.get(f"{base}/") as resp:
        assert await resp.json() == {"status": "ok"}


@pytest.mark.parametrize(
    ("locale", "greeting"), [("de", "Hallo!"), ("de-DE", "Hallo!"), ("en", "Hello!"), ("en-GB", "Hello!")]
)
async def test_greets_in_the_shoppers_language(
    webhook: tuple[aiohttp.ClientSession, str], locale: str, greeting: str
) -> None:
    reply = await _say(webhook, "hallo", locale)
    assert reply["intent"]["name"] == "greet"
    assert reply["retrieval"] is None
    assert reply["messages"][0]["text"].startswith(greeting)


@pytest.mark.parametrize(
    ("text", "locale", "topic", "fact"),
    [
        ("wie lange habe ich Zeit für eine Rücksendung?", "de", "returns", "30 Tagen"),
        ("wie lange habe ich Zeit für eine Rücksendung?", "en", "returns", "30 days"),
        ("how much is shipping", "en", "shipping_costs", "4.95 EUR"),
        ("how much is shipping", "de", "shipping_costs", "4,95 EUR"),
        ("Welche Zahlungsarten gibt es?", "de", "payment_methods", "Klarna"),
    ],
)
async def test_answers_faq_in_the_shoppers_language(
    webhook: tuple[aiohttp.ClientSession, str], text: str, locale: str, topic: str, fact: str
) -> None:
    reply = await _say(webhook, text, locale)
    assert reply["intent"]["name"] == "faq"
    assert reply["retrieval"]["name"] == f"faq/{topic}"
    assert 0.5 < reply["retrieval"]["confidence"] <= 1.0
    assert fact in reply["messages"][0]["text"]


@pytest.mark.parametrize(("locale", "text"), [("de", "nicht verstanden"), ("en", "did not understand")])
async def test_says_it_did_not_understand_nonsense(
    webhook: tuple[aiohttp.ClientSession, str], locale: str, text: str
) -> None:
    reply = await _say(webhook, "asdkjh qwe", locale)
    assert reply["intent"]["name"] in {"nlu_fallback", "out_of_scope"}
    assert text in reply["messages"][0]["text"]


async def test_without_a_locale_keeps_the_conversations_language_then_defaults_to_german(
    webhook: tuple[aiohttp.ClientSession, str],
) -> None:
    sender = uuid4().hex
    await _say(webhook, "hello", "en", sender)
    assert (await _say(webhook, "thanks", None, sender))["messages"][0]["text"].startswith("You're")
    assert (await _say(webhook, "thanks", "fr", uuid4().hex))["messages"][0]["text"].startswith("Gern")


@pytest.mark.parametrize(
    "body", [{"sender": "x"}, {"sender": "x", "message": 1}, {"message": "hi"}, [], {"sender": "x", "message": "hi", "metadata": 1}]
)
async def test_rejects_malformed_bodies(webhook: tuple[aiohttp.ClientSession, str], body: Any) -> None:
    session, base = webhook
    async with session.post(f"{base}/webhook", json=body) as resp:
        assert resp.status == 400
        assert "error" in await resp.json()


async def test_a_long_chat_keeps_a_bounded_tracker_and_its_language(
    webhook: tuple[aiohttp.ClientSession, str], redis_url: str
) -> None:
    """bot/bounded_tracker_store.py: the last 6 turns, started from the slots they had."""
    sender = uuid4().hex
    await _say(webhook, "hello", "en", sender)
    for _ in range(14):
        reply = await _say(webhook, "thanks", None, sender)
    assert reply["messages"][0]["text"].startswith("You're"), "the language outlived the cut"

    redis = Redis.from_url(redis_url, decode_responses=True)
    stored = json.loads(await redis.get(f"storechat:tracker:{sender}") or "{}")
    await redis.aclose()
    events = stored["events"]
    assert [e["event"] for e in events[:2]] == ["action", "session_started"]
    assert {"event": "slot", "name": "language", "value": "en"}.items() <= next(
        e for e in events if e["event"] == "slot" and e["name"] == "language"
    ).items()
    assert sum(e["event"] == "user" for e in events) == 6


@pytest.mark.parametrize(("locale", "greeting"), [("en", "Hello!"), ("de", "Hallo!")])
async def test_a_quick_reply_payload_is_answered_in_the_shoppers_language(
    webhook: tuple[aiohttp.ClientSession, str], locale: str, greeting: str
) -> None:
    """Payloads skip Rasa's NLU; the connector carries the language into them."""
    reply = await _say(webhook, "/greet", locale)
    assert reply["intent"]["name"] == "greet"
    assert reply["messages"][0]["text"].startswith(greeting)


@pytest.mark.parametrize(
    ("text", "words"),
    [("Do you also deliver to Austria?", "Austria"), ("Liefert ihr auch nach Österreich?", "Österreich")],
)
async def test_without_a_locale_the_language_is_detected_from_the_words(
    webhook: tuple[aiohttp.ClientSession, str], text: str, words: str
) -> None:
    """An SMS has no locale: the shopper is answered in the language they wrote in."""
    reply = await _say(webhook, text, None)
    assert reply["retrieval"]["name"] == "faq/shipping_countries"
    assert words in reply["messages"][0]["text"]


# --- nobody but the gateway ------------------------------------------------------------


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", "Bearer "])
async def test_without_the_gateways_secret_the_bot_hears_nothing(rasa_settings: Settings, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    body = {"sender": uuid4().hex, "message": "wo ist meine Bestellung 104233?",
            "metadata": {"channel": "sms", "phone": "+4915112345678"}}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        async with session.post(f"{rasa_settings.rasa_url}/webhooks/storechat/webhook", json=body,
                                headers=headers) as resp:
            assert (resp.status, await resp.json()) == (401, {"error": "unauthorized"})


@pytest.mark.parametrize("path", ["/webhooks/rest/webhook", "/socket.io/?EIO=4&transport=polling",
                                  "/conversations/x/tracker", "/model/parse"])
async def test_rasas_own_channels_and_http_api_are_not_open(rasa_settings: Settings, path: str) -> None:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        method = "GET" if "socket.io" in path or "tracker" in path else "POST"
        async with session.request(method, rasa_settings.rasa_url + path, json={"sender": "x", "message": "hi"}) as resp:
            assert resp.status in (404, 405)


async def test_the_customer_token_is_not_kept_in_the_stored_tracker(
    webhook: tuple[aiohttp.ClientSession, str], redis_url: str
) -> None:
    """Used in its turn (the tracker Rasa hands the actions), never stored for the 30 days."""
    session, base = webhook
    sender, token = uuid4().hex, "customer-token.that-must-not-be-stored"
    for text in ("hallo", "wo ist meine Bestellung 104233?"):
        body = {"sender": sender, "message": text, "metadata": {"locale": "de", "customer_token": token}}
        async with session.post(f"{base}/webhook", json=body) as resp:
            assert resp.status == 200

    redis = Redis.from_url(redis_url, decode_responses=True)
    stored = await redis.get(f"storechat:tracker:{sender}") or ""
    await redis.aclose()
    events = json.loads(stored)["events"]
    kept = [e["metadata"] for e in events if e["event"] == "user"]
    assert [m["locale"] for m in kept] == ["de", "de"] and not any("customer_token" in m for m in kept)
    assert token not in stored, "nor in a slot (Rasa's session_started_metadata)"



@pytest.mark.parametrize(("text", "locale", "button"), [
    ("Kann mich jemand zurückrufen?", "de", "Rückruf vereinbaren"), ("can someone call me back?", "en", "Arrange a call-back")])
async def test_asking_for_a_call_back_offers_the_widgets_call_back_form(
    webhook: tuple[aiohttp.ClientSession, str], text: str, locale: str, button: str
) -> None:
    reply = await _say(webhook, text, locale)
    assert reply["intent"]["name"] == "request_callback" and reply["handoff"] is None
    assert reply["messages"][-1]["buttons"] == [{"title": button, "payload": "/callback_form"}]


async def test_a_texter_asking_for_a_call_back_is_handed_to_a_person(webhook: tuple[aiohttp.ClientSession, str]) -> None:
    session, base = webhook
    body = {"sender": uuid4().hex, "message": "Können Sie mich bitte zurückrufen?", "metadata": {"channel": "sms"}}
    async with session.post(f"{base}/webhook", json=body) as resp:
        reply = await resp.json()
    assert reply["intent"]["name"] == "request_callback"
    assert reply["handoff"] == {"team": "general", "reason": "callback"}
