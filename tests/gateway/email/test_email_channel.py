"""The e-mail channel in the real gateway app on a real Redis: recorded mails handed to the
gateway's own SMTP listener over SMTP, the shop's relay a real SMTP server on loopback
that keeps what storechat sends, Rasa a scripted stand-in.

A shopper's mail gets the bot's answer as one threaded mail; their reply (a Gmail reply
with its quoted history) continues the same conversation and reaches the bot without the
quote; the handoff is answered by an agent through the Agent API the console uses, and
that mail answers the shopper's latest in the same thread; an out-of-office reply and a
bounce are recorded and never answered.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiosmtplib
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from core.types import Author, Channel, ConversationState, EventKind, Team
from gateway.app import create_app
from gateway.conversations.store import ConversationStore
from gateway.desk.agents import AgentRole
from gateway.email import keys as email_keys
from gateway.settings import Settings
from tests.gateway.agent_support import Console, add_agent
from tests.gateway.email.support import (
    JAMIE,
    SHOP_ADDRESS,
    Relay,
    answering,
    deliver,
    fixture,
    running_relay,
    self_signed,
    text_of,
)
from tests.gateway.messaging.support import eventually, scripted_reply
from tests.gateway.rasa_standin import ScriptedRasa
from tests.gateway.shop_support import BOT_TOKEN, SHOP, SHOP_TOKEN, put_order
from tests.support import free_port

AiohttpClient = Callable[[web.Application], Awaitable[TestClient]]  # type: ignore[type-arg]
FIRST = fixture("first_mail_gmail.eml")
FIRST_ID = "<CAF7kPq3xZ0y9u2m1vJ0hN6qk8wq3Yf1n4t5_vL8tQ2RZs9kYw@mail.gmail.com>"
REPLY_ID = "<CAF7kPq1Hn6mB0sK2rYq8xW3vTj9dL4cE5uZ7oN1pR6gA_Xy2Qw@mail.gmail.com>"
# One bot turn of two messages (and a button): one mail.
ANSWER = {"messages": [{"text": "Your order 104215 was shipped with DHL on Monday.", "buttons": []},
                       {"text": "Is there anything else I can do for you?",
                        "buttons": [{"title": "Talk to a person", "payload": "/human"}]}],
          "intent": {"name": "order_status", "confidence": 0.93}, "retrieval": None, "handoff": None,
          "language": "en"}
MAX_BYTES = 100_000
HANDOFF = scripted_reply("I'm passing you on to a colleague.", handoff={"team": "logistics", "reason": "shopper_asked"})


@pytest.fixture
def relay() -> Iterator[Relay]:
    with running_relay() as running:
        yield running


@pytest.fixture
def rasa() -> ScriptedRasa:
    return ScriptedRasa(ANSWER)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed(tmp_path_factory.mktemp("smtp-tls"))


@pytest.fixture
async def gateway(aiohttp_client: AiohttpClient, base_settings: Settings, rasa: ScriptedRasa, relay: Relay,
                  certificate: tuple[Path, Path]) -> AsyncIterator[tuple[TestClient, int]]:  # type: ignore[type-arg]
    listen_port = free_port()
    settings = base_settings.replace(
        rasa_url=await rasa.start(aiohttp_client), email_address=SHOP_ADDRESS, email_name="Nordlicht Home",
        smtp_host="127.0.0.1", smtp_port=relay.port, smtp_starttls=False, smtp_listen_port=listen_port,
        smtp_max_bytes=MAX_BYTES, smtp_tls_cert=certificate[0], smtp_tls_key=certificate[1])
    yield await aiohttp_client(create_app(settings)), listen_port


async def _conversation_of(redis: Redis, address: str) -> Any:  # type: ignore[type-arg]
    conversation = await ConversationStore(redis).find_latest(Channel.EMAIL, address)
    assert conversation is not None
    return conversation


async def _shopper_mails(redis: Redis, conversation_id: str) -> list[Any]:  # type: ignore[type-arg]
    return [event for event in await ConversationStore(redis).history(conversation_id)
            if event.kind is EventKind.MESSAGE and event.author is Author.SHOPPER]


async def test_a_mail_is_answered_threaded_handed_over_and_answered_by_an_agent_and_an_auto_reply_is_not(
        gateway: tuple[TestClient, int], relay: Relay, rasa: ScriptedRasa, redis: Redis) -> None:  # type: ignore[type-arg]
    client, port = gateway
    await deliver(port, FIRST, sender=JAMIE, to=SHOP_ADDRESS, tls=True)  # as Gmail hands it to an MX

    # The bot's answer: one mail for the turn's two messages, in the shopper's thread.
    answer = await relay.next()
    await relay.none_within(1.0)
    assert answer["To"] == JAMIE and answer["From"] == f"Nordlicht Home <{SHOP_ADDRESS}>"
    assert answer["Subject"] == "Re: Where is my order?"
    assert answer["In-Reply-To"] == FIRST_ID and answer["References"] == FIRST_ID
    assert answer["Auto-Submitted"] == "auto-replied"
    assert str(answer["Reply-To"]).startswith("reply+") and str(answer["Reply-To"]).endswith("@nordlicht-home.example")
    assert answer.get_content_type() == "multipart/alternative"
    words = text_of(answer)
    assert words.startswith("Your order 104215 was shipped with DHL on Monday.\n\nIs there anything else I can do")
    assert "1) Talk to a person" in words and "\n-- \nYour Nordlicht Home customer service" in words
    html = answer.get_body(preferencelist=("html",))
    assert html is not None and "Your order 104215 was shipped" in html.get_content()
    assert rasa.received[0]["message"].startswith("Hello,\n\nI ordered a linen duvet cover last week (order 104215)")
    conversation = await _conversation_of(redis, JAMIE)
    assert conversation.locale == "en"

    # Their Gmail reply, to the reply+ address: the same conversation; the bot reads no quote.
    rasa.reply = HANDOFF
    await deliver(port, answering(fixture("gmail_reply.eml"), answer), sender=JAMIE, to=str(answer["Reply-To"]))
    passing_on = await relay.next()
    assert "I'm passing you on to a colleague." in text_of(passing_on)
    assert passing_on["In-Reply-To"] == REPLY_ID
    assert rasa.received[-1]["message"] == ("Thanks! The tracking says delivered, but there is nothing here. "
                                            "Can I talk\nto a person please?\n\nJamie")
    assert (await _conversation_of(redis, JAMIE)).id == conversation.id
    first, reply = await _shopper_mails(redis, conversation.id)
    assert reply.data["email"]["subject"] == "Re: Where is my order?"
    assert "> Your order 104215 was shipped with DHL on Monday." in reply.data["email"]["body"]  # kept on the case
    await eventually(lambda: _in_state(redis, conversation.id, ConversationState.QUEUED))
    await relay.next()  # the queue notice

    # An agent answers from the console: the mail answers the shopper's latest, in the thread.
    await add_agent(redis, "anna@nordlicht-home.example", Team.LOGISTICS, name="Anna")
    console = await Console(str(client.make_url("")).rstrip("/"), "anna@nordlicht-home.example").login()
    try:
        assert (await console.call("POST", f"/conversations/{conversation.id}/claim"))[0] == 200
        joined = await relay.next()
        status, _ = await console.call("POST", f"/conversations/{conversation.id}/messages",
                                       {"text": "Hi Jamie, I've opened a claim with DHL for you."})
        assert status == 201
    finally:
        await console.close()
    agent_mail = await relay.next()
    assert "Hi Jamie, I've opened a claim with DHL for you." in text_of(agent_mail)
    assert "\n-- \nAnna\nYour Nordlicht Home customer service" in text_of(agent_mail)
    assert agent_mail["Subject"] == "Re: Where is my order?" and agent_mail["To"] == JAMIE
    assert agent_mail["In-Reply-To"] == REPLY_ID
    references = str(agent_mail["References"]).split()
    assert references[0] == FIRST_ID
    assert {str(answer["Message-ID"]), REPLY_ID, str(joined["Message-ID"])} <= set(references)
    assert agent_mail["Auto-Submitted"] is None  # a person wrote it
    assert agent_mail["Message-ID"] not in {answer["Message-ID"], passing_on["Message-ID"], joined["Message-ID"]}

    # The shopper's out-of-office reply to it: on the case, never answered.
    away = answering(fixture("out_of_office_exchange_de.eml"), agent_mail, sender=f"Jamie Doe <{JAMIE}>")
    await deliver(port, away, sender="", to=str(agent_mail["Reply-To"]))
    await eventually(lambda: _auto_replies(redis, conversation.id))
    [note] = await _auto_replies(redis, conversation.id)
    # For the shop's agents, in the shop's language (German), whatever the shopper writes in.
    assert note.text.startswith("Eine automatische E-Mail kam an und wurde nicht beantwortet (")
    await relay.none_within(1.5)
    assert len(await _shopper_mails(redis, conversation.id)) == 2


async def _in_state(redis: Redis, conversation_id: str, state: ConversationState) -> bool:  # type: ignore[type-arg]
    return (await ConversationStore(redis).get(conversation_id)).state is state


async def _auto_replies(redis: Redis, conversation_id: str) -> list[Any]:  # type: ignore[type-arg]
    return [event for event in await ConversationStore(redis).history(conversation_id)
            if event.kind is EventKind.DELIVERY and event.data.get("status") == "auto_reply"]


async def _states(redis: Redis, conversation_id: str) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [(str(event.data.get("status")), str(event.data.get("reason") or ""))
            for event in await ConversationStore(redis).history(conversation_id) if event.kind is EventKind.DELIVERY]


async def test_another_sender_on_the_thread_gets_a_conversation_of_their_own_and_a_redelivery_no_answer(
        gateway: tuple[TestClient, int], relay: Relay, rasa: ScriptedRasa, redis: Redis) -> None:  # type: ignore[type-arg]
    _, port = gateway
    await deliver(port, FIRST, sender=JAMIE, to=SHOP_ADDRESS)
    answer = await relay.next()
    await deliver(port, FIRST, sender=JAMIE, to=SHOP_ADDRESS)  # the MX hands it over again
    await relay.none_within(1.0)

    chris = "chris.doe@example.org"
    forwarded = answering(fixture("gmail_reply.eml"), answer, sender=f"Chris Doe <{chris}>")
    await deliver(port, forwarded.replace(REPLY_ID[1:-1].encode(), b"chris-1@example.org"), sender=chris,
                  to=str(answer["Reply-To"]))
    theirs = await relay.next()
    assert theirs["To"] == chris and theirs["In-Reply-To"] == "<chris-1@example.org>"
    jamies, chriss = await _conversation_of(redis, JAMIE), await _conversation_of(redis, chris)
    assert jamies.id != chriss.id and jamies.contact_id != chriss.contact_id
    assert len(await _shopper_mails(redis, jamies.id)) == 1

    # Jamie answers the numbered option by its number: the bot reads the option.
    choice = fixture("gmail_reply.eml").replace(
        b"Thanks! The tracking says delivered, but there is nothing here. Can I talk\nto a person please?\n\nJamie",
        b"1").replace(REPLY_ID[1:-1].encode(), b"jamie-2@mail.gmail.com")
    await deliver(port, answering(choice, answer), sender=JAMIE, to=str(answer["Reply-To"]))
    await relay.next()
    assert rasa.received[-1]["message"] == "/human"


async def test_the_listener_is_no_open_relay_refuses_a_mail_over_its_size_and_never_answers_the_shop(
        gateway: tuple[TestClient, int], relay: Relay) -> None:  # type: ignore[type-arg]
    _, port = gateway
    for recipient in ("someone@elsewhere.example", "sales@nordlicht-home.example",
                      "reply+k3nWq0Zb7Yx2LpVtR9sA1c4E@elsewhere.example"):
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
            await deliver(port, FIRST, sender=JAMIE, to=recipient)
        assert refused.value.recipients[0].code == 550, recipient
    # A forward pointing back at the listener: the shop's own mail is never answered.
    await deliver(port, FIRST.replace(b"From: Jamie Doe <jamie.doe@gmail.com>", f"From: {SHOP_ADDRESS}".encode()),
                  sender=SHOP_ADDRESS, to=SHOP_ADDRESS)
    huge = FIRST.replace(b"Thanks,\nJamie", b"Thanks,\nJamie\n" + (b"y" * 76 + b"\n") * (MAX_BYTES // 70))
    with pytest.raises(aiosmtplib.SMTPResponseException) as too_big:
        await deliver(port, huge, sender=JAMIE, to=SHOP_ADDRESS)
    assert too_big.value.code == 552
    await relay.none_within(1.0)


async def test_a_relay_that_says_later_gets_the_mail_again_a_refusal_and_a_bounce_are_on_the_case(
        gateway: tuple[TestClient, int], relay: Relay, redis: Redis) -> None:  # type: ignore[type-arg]
    _, port = gateway
    relay.answer_next("451 4.3.0 Mailbox temporarily unavailable")
    await deliver(port, FIRST, sender=JAMIE, to=SHOP_ADDRESS)
    answer = await relay.next()  # tried again after the 451
    conversation = await _conversation_of(redis, JAMIE)
    await eventually(lambda: _has(redis, conversation.id, ("sent", "")))

    # The relay refuses the next one for good: failed, with its reason, not tried again.
    relay.answer_next("554 5.7.1 Message rejected: sender not allowed")
    await deliver(port, answering(fixture("gmail_reply.eml"), answer), sender=JAMIE, to=str(answer["Reply-To"]))
    await eventually(lambda: _has(redis, conversation.id, ("failed", "SMTP 554: 5.7.1 Message rejected: sender "
                                                                     "not allowed")))
    await relay.none_within(1.0)

    # A bounce of the first answer (the MX returns it to the shop's address): that mail failed.
    bounce = fixture("bounce_dsn.eml").replace(b"<176475313100.20311.4410931867162733005@nordlicht-home.example>",
                                               str(answer["Message-ID"]).encode())
    await deliver(port, bounce, sender="", to=SHOP_ADDRESS)
    await eventually(lambda: _bounced(redis, conversation.id))
    await relay.none_within(1.0)


async def _has(redis: Redis, conversation_id: str, state: tuple[str, str]) -> bool:  # type: ignore[type-arg]
    return state in await _states(redis, conversation_id)


async def _bounced(redis: Redis, conversation_id: str) -> bool:  # type: ignore[type-arg]
    return any(status == "failed" and reason.startswith("bounced") for status, reason in
               await _states(redis, conversation_id))


async def test_a_german_outlook_reply_keeps_its_photo_for_the_agent_until_the_shopper_is_erased(
        gateway: tuple[TestClient, int], relay: Relay, rasa: ScriptedRasa, redis: Redis) -> None:  # type: ignore[type-arg]
    client, port = gateway
    rasa.reply = scripted_reply("Gern, ich schicke Ihnen ein Rücksendeetikett.")
    sabine = "sabine.mueller@outlook.de"
    await deliver(port, fixture("outlook_reply_de.eml"), sender=sabine, to=SHOP_ADDRESS)
    answer: EmailMessage = await relay.next()
    assert answer["Subject"] == "Re: Ihre Rücksendung" and answer["To"] == sabine
    assert "Ihr Kundenservice von Nordlicht Home" in text_of(answer)
    assert rasa.received[-1]["message"].endswith("Mit freundlichen Grüßen\nSabine Müller")
    [mail] = await _shopper_mails(redis, (await _conversation_of(redis, sabine)).id)
    [photo] = mail.data["attachments"]
    assert photo == {"kind": "image", "name": "IMG_2041.jpg", "content_type": "image/jpeg", "size": 2075,
                     "stored": True, "index": 0}
    conversation = await _conversation_of(redis, sabine)
    kept = email_keys.case_keys(conversation.id, [mail])
    photo_key = email_keys.attachment(email_keys.stored_as(sabine, mail.data["email"]["message_id"]), 0)
    assert base64.b64decode(await redis.get(photo_key))[:4] == b"\xff\xd8\xff\xe0"
    assert photo_key in kept
    assert await redis.exists(*kept) == 3  # the thread, the mail, its photo

    # Her data erased: the mail's photo and thread go with the case.
    await add_agent(redis, "sue@nordlicht-home.example", Team.GENERAL, name="Sue", role=AgentRole.SUPERVISOR)
    sue = await Console(str(client.make_url("")).rstrip("/"), "sue@nordlicht-home.example").login()
    try:
        status, _ = await sue.call("POST", f"/contacts/{conversation.contact_id}/erase", {"reason": "asked by mail"})
        assert status == 200
    finally:
        await sue.close()
    assert await redis.exists(*kept) == 0


# A Wednesday morning in the shop (outside the notifications' quiet hours), years ahead of the
# real clock, as tests/gateway/notifications/ has it.
MORNING = datetime(2037, 11, 25, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))


async def test_an_order_that_names_email_gets_its_shipping_news_by_mail_and_a_reply_threads_to_it(
        aiohttp_client: AiohttpClient, base_settings: Settings, rasa: ScriptedRasa, relay: Relay,
        redis: Redis) -> None:  # type: ignore[type-arg]
    listen_port = free_port()
    settings = base_settings.replace(
        rasa_url=await rasa.start(aiohttp_client), email_address=SHOP_ADDRESS, smtp_host="127.0.0.1",
        smtp_port=relay.port, smtp_starttls=False, smtp_listen_port=listen_port, shop_token=SHOP_TOKEN,
        bot_token=BOT_TOKEN)
    client = await aiohttp_client(create_app(settings, clock=MORNING.timestamp, tick=0.1))
    await put_order(client, placed_at="2037-11-20T10:15:00+01:00", estimated_delivery="2037-11-26",
                    notify={"channel": "email", "address": JAMIE, "locale": "en"})
    response = await client.post("/api/v1/orders/104233/events", headers=SHOP,
                                 json={"status": "shipped", "at": MORNING.isoformat()})
    assert response.status == 201, await response.text()

    news = await relay.next()
    assert news["To"] == JAMIE and news["Subject"] == "Your order 104233 has been shipped."
    assert news["Auto-Submitted"] == "auto-generated" and news["In-Reply-To"] is None
    assert text_of(news).startswith("Your order 104233 has been shipped.\n")
    await relay.none_within(0.5)

    rasa.reply = scripted_reply("Gladly.")
    reply = answering(FIRST, news).replace(b"Subject: Where is my order?", b"Subject: Re: Your order 104233 has "
                                                                           b"been shipped.")
    await deliver(listen_port, reply, sender=JAMIE, to=str(news["Reply-To"]))
    answer = await relay.next()
    assert answer["Subject"] == "Re: Your order 104233 has been shipped." and answer["In-Reply-To"] == FIRST_ID
    notified = await _conversation_of(redis, JAMIE)
    assert len(await _shopper_mails(redis, notified.id)) == 1
