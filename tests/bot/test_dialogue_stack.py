"""Whole conversations through the real stack: Rasa (the trained model) → the action
server → the gateway's shop API → Redis. Orders are pushed with the shop's token, the
shopper talks to Rasa's storechat connector, and the tests read what the shopper reads.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import aiohttp
import pytest
from redis.asyncio import Redis

from bot.actions.order_answers import shop_today
from bot.actions.texts import texts
from core.types import Channel
from gateway.conversations.store import ConversationStore
from gateway.settings import Settings
from gateway.shop import customer_token
from tests.gateway.shop_support import CUSTOMER_TOKEN_SECRET, PUBLIC_URL, SHOP, order_body

TIMEOUT = aiohttp.ClientTimeout(total=60)


@dataclasses.dataclass
class Chat:
    """One shopper's conversation with the bot, plus the shop pushing orders."""

    session: aiohttp.ClientSession
    settings: Settings
    locale: str = "de"
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)
    sender: str = dataclasses.field(default_factory=lambda: uuid4().hex)

    async def put_order(self, **changes: Any) -> None:
        body = order_body(**changes)
        url = f"http://{self.settings.host}:{self.settings.port}/api/v1/orders/{body['order_id']}"
        async with self.session.put(url, json=body, headers=SHOP) as response:
            assert response.status in (200, 201), await response.text()

    async def post_event(self, order_id: str, **event: Any) -> None:
        url = f"http://{self.settings.host}:{self.settings.port}/api/v1/orders/{order_id}/events"
        async with self.session.post(url, json=event, headers=SHOP) as response:
            assert response.status == 201, await response.text()

    async def say(self, text: str) -> dict[str, Any]:
        body = {"sender": self.sender, "message": text,
                "metadata": {"locale": self.locale, "channel": "web", **self.metadata}}
        async with self.session.post(f"{self.settings.rasa_url}/webhooks/storechat/webhook", json=body,
                                     headers={"Authorization": f"Bearer {self.settings.rasa_token}"}) as resp:
            assert resp.status == 200, await resp.text()
            reply: dict[str, Any] = await resp.json()
            return reply

    async def texts_of(self, text: str) -> list[str]:
        return [m.get("text", "") for m in (await self.say(text))["messages"]]


@pytest.fixture
async def chat(bot_stack: Settings) -> AsyncIterator[Chat]:
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        yield Chat(session, bot_stack)


def _buttons(reply: dict[str, Any]) -> list[tuple[str, str]]:
    return [(b["title"], b["payload"]) for m in reply["messages"] for b in m.get("buttons", [])]


# --- where is my order? ----------------------------------------------------------------


async def test_wismo_verifies_then_answers_and_does_not_ask_again(chat: Chat) -> None:
    eta = shop_today() + timedelta(days=2)
    await chat.put_order(status="in_transit", estimated_delivery=eta.isoformat())

    asked = await chat.texts_of("Wo ist meine Bestellung 104233?")
    assert asked == [texts("de")("ask_proof", order_id="104233")]

    answer = await chat.texts_of("anna@example.com")
    assert answer[0] == "Ihre Bestellung 104233 ist unterwegs."
    assert "DHL" in answer[1] and "00340434161234567890" in answer[1]
    assert answer[2].startswith("Sendungsverfolgung: https://www.dhl.de/")
    assert answer[3] == f"Voraussichtliche Zustellung: {texts('de').long_date(eta)}."

    again = await chat.texts_of("Wann kommt meine Bestellung?")
    assert again[0] == "Ihre Bestellung 104233 ist unterwegs."


async def test_no_number_asks_for_it_and_a_malformed_one_is_never_guessed(chat: Chat) -> None:
    await chat.put_order(status="delivered")
    assert await chat.texts_of("/order_status") == [texts("de")("ask_order_number")]
    malformed = await chat.texts_of("die Nummer ist 10423")
    assert malformed[0].startswith("„die Nummer ist 10423“ sieht nicht nach einer unserer Bestellnummern aus")
    assert malformed[1] == texts("de")("ask_order_number")
    assert await chat.texts_of("Bestellung 104233") == [texts("de")("ask_proof", order_id="104233")]
    assert (await chat.texts_of("10115"))[0] == "Ihre Bestellung 104233 wurde zugestellt."


async def test_a_wrong_proof_and_an_unknown_order_get_the_same_answer_then_a_human(chat: Chat) -> None:
    await chat.put_order()
    await chat.texts_of("Wo ist meine Bestellung 104233?")
    wrong = await chat.texts_of("eve@example.com")
    assert wrong[0] == "Ich finde die Bestellung 104233 mit diesen Angaben nicht. Sie haben noch 2 Versuche."

    await chat.texts_of("Wo ist meine Bestellung 999999?")
    unknown = await chat.texts_of("anna@example.com")
    assert unknown[0] == "Ich finde die Bestellung 999999 mit diesen Angaben nicht. Sie haben noch einen Versuch."

    locked = await chat.say("12345")
    assert locked["messages"][0]["text"] == texts("de")("verification_wait_a_minute", order_id="999999")
    assert [payload for _, payload in _buttons(locked)] == ["/request_human", "/deny"]
    assert locked["handoff"] is None

    taken = await chat.say("/request_human")
    assert taken["handoff"] == {"team": "general", "reason": "verification_failed"}


async def test_the_customer_token_proves_the_order_without_asking(chat: Chat) -> None:
    await chat.put_order(status="shipped", estimated_delivery=None)
    chat.metadata["customer_token"] = customer_token.sign("anna@example.com", CUSTOMER_TOKEN_SECRET)
    assert (await chat.texts_of("Wo ist meine Bestellung 104233?"))[0] == "Ihre Bestellung 104233 wurde verschickt."


async def test_a_whatsapp_number_proves_the_order_without_asking(chat: Chat) -> None:
    """The conversation's own number, as the gateway has it: a `phone` in the metadata counts for nothing."""
    await chat.put_order(status="out_for_delivery", estimated_delivery=None)
    chat.locale = "en"
    redis = Redis.from_url(chat.settings.effective_redis_url, decode_responses=True)
    try:
        texting = await ConversationStore(redis).open(Channel.WHATSAPP, "+4915112345678", "en")
        forging = await ConversationStore(redis).open(Channel.WHATSAPP, "+4915100000000", "en")
    finally:
        await redis.aclose()
    chat.metadata.update(channel="whatsapp", phone="+4915112345678")

    chat.sender = forging.id
    assert await chat.texts_of("Where is my order 104233?") == [texts("en")("ask_proof", order_id="104233")]
    chat.sender = texting.id
    answer = await chat.texts_of("Where is my order 104233?")
    assert answer[0] == "Your order 104233 is out for delivery and should arrive today."


async def test_a_late_order_gets_an_apology(chat: Chat) -> None:
    new_date = shop_today() + timedelta(days=3)
    await chat.put_order(status="delayed", estimated_delivery=new_date.isoformat())
    await chat.texts_of("Wo ist meine Bestellung 104233?")
    answer = await chat.texts_of("10115")
    assert "Es tut uns leid, dass Ihre Bestellung sich verspätet." in answer
    assert f"Der neue voraussichtliche Liefertermin ist {texts('de').long_date(new_date)}." in answer


async def test_an_faq_during_the_lookup_is_answered_and_the_question_asked_again(chat: Chat) -> None:
    await chat.put_order(status="packed", estimated_delivery=None)
    await chat.say("/order_status")
    await chat.say("104233")
    interrupted = await chat.texts_of("wie lange habe ich Zeit für eine Rücksendung?")
    assert "30 Tagen" in interrupted[0]
    assert interrupted[-1] == texts("de")("ask_proof", order_id="104233")
    assert (await chat.texts_of("10115"))[0].startswith("Ihre Bestellung 104233 ist verpackt")


async def test_the_shopper_can_leave_the_lookup(chat: Chat) -> None:
    await chat.say("/start_return")
    assert await chat.texts_of("/deny") == [texts("de")("declined")]
    await chat.say("/start_return")
    assert (await chat.say("/request_human"))["handoff"] == {"team": "general", "reason": "shopper_asked"}


# --- problems that go to a team --------------------------------------------------------


async def test_delivered_but_not_received_goes_to_logistics_after_verification(chat: Chat) -> None:
    await chat.put_order(status="delivered")
    await chat.say("/delivered_not_received")
    await chat.say("104233")
    reply = await chat.say("anna@example.com")
    texts_ = [m["text"] for m in reply["messages"]]
    assert texts_[0].startswith("Es tut mir leid, dass die Bestellung 104233 Sie nicht erreicht hat")
    assert texts_[-1] == texts("de")("handoff_logistics")
    assert reply["handoff"] == {"team": "logistics", "reason": "delivered_not_received"}


@pytest.mark.parametrize(
    ("payload", "team", "reason", "says"),
    [
        ("/report_damage", "product", "damaged_item", "14 Tagen"),
        ("/billing_problem", "billing", "billing_problem", "Zahlung"),
        ("/complain", "general", "complaint", "Rückmeldung"),
        ("/request_human", "general", "shopper_asked", "Kollegen"),
    ],
)
async def test_problems_are_handed_to_the_right_team(chat: Chat, payload: str, team: str, reason: str, says: str) -> None:
    reply = await chat.say(payload)
    assert says in " ".join(m["text"] for m in reply["messages"])
    assert reply["handoff"] == {"team": team, "reason": reason}


async def test_a_quick_reply_that_opens_the_chat_is_answered_in_the_shoppers_language(chat: Chat) -> None:
    chat.locale = "en-GB"
    reply = await chat.say("/request_human")
    assert reply["messages"][0]["text"] == texts("en")("handoff_general")


# --- self-service ----------------------------------------------------------------------


async def test_a_return_with_items_and_reason_gets_a_label_and_the_refund_policy(chat: Chat) -> None:
    await chat.put_order(status="delivered")
    await chat.say("/start_return")
    await chat.say("104233")
    items = await chat.say("anna@example.com")
    assert _buttons(items) == [
        ("Leinen-Kissenhülle", "NL-1001"), ("Eichen-Kerzenhalter", "NL-2040"), ("Alle Artikel", "Alle Artikel"),
    ]
    reasons = await chat.say("NL-2040")
    assert ("Passt nicht", "Passt nicht") in _buttons(reasons)
    done = await chat.texts_of("Passt nicht")
    assert done[0].startswith("Ihre Rücksendung zur Bestellung 104233 ist angemeldet.")
    assert PUBLIC_URL in done[0]
    assert done[1] == texts("de")("refund_policy")

    status = await chat.texts_of("/return_status")
    assert status == ["Ihre Anfragen:\n• Rücksendung zur Bestellung 104233: in Bearbeitung"]


async def test_an_undelivered_order_cannot_be_returned_yet(chat: Chat) -> None:
    await chat.put_order(status="in_transit")
    await chat.say("/start_return")
    await chat.say("104233")
    assert (await chat.texts_of("10115")) == [texts("de")("return_not_delivered", order_id="104233")]


async def test_a_return_after_the_30_days_is_explained_in_english(chat: Chat) -> None:
    chat.locale = "en"
    await chat.put_order(status="shipped", items=[{"sku": "NL-1001", "name": "Linen cushion cover",
                                                   "quantity": 1, "price": "29.90"}], total="29.90")
    await chat.post_event("104233", status="delivered", at=(datetime.now(UTC) - timedelta(days=40)).isoformat())
    await chat.say("hello")
    await chat.say("/start_return")
    await chat.say("104233")
    reasons = await chat.say("anna@example.com")  # one item: no question which
    assert reasons["messages"][0]["text"] == texts("en")("ask_return_reason")
    assert await chat.texts_of("Doesn't fit") == [texts("en")("return_window_over", order_id="104233")]


async def test_cancel_with_confirmation_and_too_late_once_packed(chat: Chat) -> None:
    await chat.put_order(status="confirmed")
    await chat.say("/cancel_order")
    await chat.say("104233")
    confirm = await chat.say("10115")
    assert [payload for _, payload in _buttons(confirm)] == ["/affirm", "/deny"]
    assert await chat.texts_of("/affirm") == [texts("de")("cancel_recorded", order_id="104233")]

    await chat.put_order(status="packed")
    too_late = await chat.say("/cancel_order")
    assert too_late["messages"][0]["text"] == texts("de")("cancel_too_late", order_id="104233")
    assert _buttons(too_late) == [("So funktioniert die Rücksendung", '/faq_topic{"topic":"returns"}')]


async def test_change_of_address_until_shipped(chat: Chat) -> None:
    await chat.put_order(status="packed")
    await chat.say("/change_address")
    await chat.say("104233")
    await chat.say("anna@example.com")
    unreadable = await chat.texts_of("zu meiner Arbeit bitte")
    assert unreadable[0] == texts("de")("address_not_recognised")
    recorded = await chat.texts_of("Anna Berg\nFriedrichstraße 100\n10117 Berlin")
    assert recorded == [texts("de")("address_recorded", order_id="104233",
                                    address="Anna Berg, Friedrichstraße 100, 10117 Berlin, DE")]

    await chat.put_order(status="shipped")
    assert await chat.texts_of("/change_address") == [texts("de")("address_too_late", order_id="104233")]


async def test_invoice_link_or_a_copy_requested_from_billing(chat: Chat) -> None:
    await chat.put_order(invoice_url="https://shop.example/invoices/104233.pdf")
    await chat.say("/invoice_request")
    await chat.say("104233")
    assert await chat.texts_of("anna@example.com") == [
        "Hier ist die Rechnung zur Bestellung 104233: https://shop.example/invoices/104233.pdf"
    ]
    await chat.put_order(invoice_url=None)
    assert await chat.texts_of("/invoice_request") == [texts("de")("invoice_requested", order_id="104233")]


async def test_order_history_lists_the_proven_customers_orders(chat: Chat) -> None:
    await chat.put_order(status="delivered")
    await chat.put_order(order_id="118420", status="placed", total="12.50", placed_at="2026-11-21T09:00:00+01:00")
    # Only the shop's login proves all of a customer's orders; a typed e-mail proves just one.
    chat.metadata["customer_token"] = customer_token.sign("anna@example.com", CUSTOMER_TOKEN_SECRET)
    await chat.say("/order_history")
    (listing,) = await chat.texts_of("104233")
    assert listing.splitlines()[0] == "Ihre Bestellungen:"
    assert "• 118420 vom 21. November 2026: eingegangen, 12,50\xa0€" in listing
    assert "• 104233 vom 20. November 2026: zugestellt, 94,30\xa0€" in listing


# --- not understood --------------------------------------------------------------------


async def test_not_understood_twice_offers_a_human(chat: Chat) -> None:
    first = await chat.say("asdkjh qwe")
    assert first["messages"][0]["text"].startswith("Entschuldigung, das habe ich nicht verstanden.")
    assert all(p.startswith("/") for _, p in _buttons(first)) and len(_buttons(first)) <= 3
    second = await chat.say("qwe zxc")
    assert second["messages"][0]["text"] == texts("de")("still_not_understood")
    assert [p for _, p in _buttons(second)] == ["/request_human", "/deny"]
    assert (await chat.say("/request_human"))["handoff"] == {"team": "general", "reason": "not_understood"}


async def test_a_tapped_topic_suggestion_is_answered(chat: Chat) -> None:
    reply = await chat.say('/faq_topic{"topic":"returns"}')
    assert "30 Tagen" in reply["messages"][0]["text"]
