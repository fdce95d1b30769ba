"""What a mail may not do by naming a sender: a forged From continues no conversation and
joins no proven contact; a reused Message-ID overwrites no other mail; an automatic mail,
and mail beyond the day's budget, leaves no attachment in Redis; the bot's answers to mails
that continue no conversation are capped for all senders together."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from channels.email import Mail, MailSettings, parse
from core.types import Author, Channel, EventKind
from gateway import keys
from gateway.app import create_app
from gateway.conversations.contacts import Contacts
from gateway.conversations.store import ConversationStore
from gateway.email import keys as email_keys
from gateway.email.listener import MailIntake
from gateway.settings import Settings
from tests.gateway.email.support import JAMIE, SHOP_ADDRESS, answering, deliver, fixture, running_relay, text_of
from tests.gateway.limits.support import limits_file
from tests.gateway.messaging.support import eventually, scripted_reply
from tests.gateway.rasa_standin import ScriptedRasa
from tests.gateway.shop_support import BOT_TOKEN, SHOP_TOKEN, put_order, verify
from tests.support import free_port

AiohttpClient = Callable[[web.Application], Awaitable[TestClient]]  # type: ignore[type-arg]
FIRST = fixture("first_mail_gmail.eml")
FIRST_ID = "CAF7kPq3xZ0y9u2m1vJ0hN6qk8wq3Yf1n4t5_vL8tQ2RZs9kYw@mail.gmail.com"
MAIL = MailSettings(address=SHOP_ADDRESS, name="Nordlicht Home", reply_domain="nordlicht-home.example")


async def _conversation_of_token(redis: Redis, reply_to: str) -> str:  # type: ignore[type-arg]
    token = MAIL.token_of(reply_to)
    assert token is not None
    found = await redis.get(email_keys.reply_token(token))
    assert found is not None
    return str(found)


async def test_a_forged_mail_from_a_proven_shoppers_address_opens_its_own_case_and_a_real_reply_still_threads(
        aiohttp_client: AiohttpClient, base_settings: Settings, redis: Redis) -> None:  # type: ignore[type-arg]
    rasa = ScriptedRasa(scripted_reply("Happy to help."))
    listen_port = free_port()
    with running_relay() as relay:
        settings = base_settings.replace(
            rasa_url=await rasa.start(aiohttp_client), email_address=SHOP_ADDRESS, smtp_host="127.0.0.1",
            smtp_port=relay.port, smtp_starttls=False, smtp_listen_port=listen_port, shop_token=SHOP_TOKEN,
            bot_token=BOT_TOKEN)
        client = await aiohttp_client(create_app(settings))
        await deliver(listen_port, FIRST, sender=JAMIE, to=SHOP_ADDRESS)
        answer = await relay.next()
        jamies = await _conversation_of_token(redis, str(answer["Reply-To"]))
        await put_order(client, email=JAMIE)
        status, _ = await verify(client, "104233", "email", JAMIE, cid=jamies)
        assert status == 200
        store = ConversationStore(redis)
        jamie = await store.get(jamies)

        # Someone else writes "from" Jamie, naming no mail of ours: a case of its own.
        forged = FIRST.replace(FIRST_ID.encode(), b"forged-1@attacker.example").replace(
            b"Subject: Where is my order?", b"Subject: Please change my delivery address")
        await deliver(listen_port, forged, sender=JAMIE, to=SHOP_ADDRESS)
        theirs = await relay.next()
        forged_id = await _conversation_of_token(redis, str(theirs["Reply-To"]))
        assert forged_id != jamies
        assert await redis.smembers(keys.verified_orders(forged_id)) == set()
        contacts = Contacts(redis)
        assert await contacts.live((await store.get(forged_id)).contact_id) != await contacts.live(jamie.contact_id)
        assert await redis.smembers(keys.verified_orders(jamies)) == {"104233"}

        # Jamie's own reply to the shop's mail (its reply+ address) still continues Jamie's case.
        await deliver(listen_port, answering(fixture("gmail_reply.eml"), answer), sender=JAMIE,
                      to=str(answer["Reply-To"]))
        await relay.next()
        assert await _conversation_of_token(redis, str(answer["Reply-To"])) == jamies
        await eventually(lambda: _shopper_messages(store, jamies, 2))


async def _shopper_messages(store: ConversationStore, conversation_id: str, count: int) -> bool:
    events = await store.history(conversation_id)
    return sum(1 for event in events if event.author is Author.SHOPPER and event.kind is EventKind.MESSAGE) == count


def _intake(redis: Redis, per_day: int = 200_000_000) -> MailIntake:  # type: ignore[type-arg]
    return MailIntake(redis, MAIL, limiter=None, clock=time.time, attachment_bytes_per_day=per_day)


async def _details(redis: Redis, mail: Mail) -> dict[str, Any]:  # type: ignore[type-arg]
    raw = await redis.get(email_keys.received(email_keys.stored_as(mail.sender, mail.message_id)))
    assert raw is not None
    return dict(json.loads(raw))


async def test_a_reused_message_id_from_another_sender_is_its_own_mail_and_a_redelivery_overwrites_nothing(
        redis: Redis) -> None:  # type: ignore[type-arg]
    intake = _intake(redis)
    first = parse(FIRST, envelope_from=JAMIE)
    assert await intake.store(first, [SHOP_ADDRESS])
    other = parse(FIRST.replace(b"From: Jamie Doe <jamie.doe@gmail.com>", b"From: Mallory <mallory@example.org>")
                  .replace(b"linen duvet cover", b"SOMETHING ELSE"), envelope_from="mallory@example.org")
    assert other.message_id == first.message_id and other.sender == "mallory@example.org"
    assert await intake.store(other, [SHOP_ADDRESS])  # not taken for a redelivery
    assert "linen duvet cover" in (await _details(redis, first))["body"]
    assert "SOMETHING ELSE" in (await _details(redis, other))["body"]

    again = parse(FIRST.replace(b"linen duvet cover", b"CHANGED"), envelope_from=JAMIE)
    assert not await intake.store(again, [SHOP_ADDRESS])  # Jamie's MX handing it over twice
    assert "linen duvet cover" in (await _details(redis, first))["body"]
    assert await redis.xlen(keys.inbox("email")) == 2


OUTLOOK = fixture("outlook_reply_de.eml")
SABINE = "sabine.mueller@outlook.de"


async def test_an_auto_replys_attachment_is_not_kept(redis: Redis) -> None:  # type: ignore[type-arg]
    away = parse(OUTLOOK.replace(b"Message-ID:", b"Auto-Submitted: auto-replied\nMessage-ID:", 1),
                 envelope_from=SABINE)
    assert away.automatic is not None and away.attachments
    assert await _intake(redis).store(away, [SHOP_ADDRESS])
    [photo] = (await _details(redis, away))["attachments"]
    assert photo["stored"] is False and photo["name"] == "IMG_2041.jpg"
    assert not await redis.exists(email_keys.attachment(email_keys.stored_as(SABINE, away.message_id), 0))


async def test_an_attachment_beyond_the_days_budget_is_named_with_its_size_but_not_kept(
        redis: Redis) -> None:  # type: ignore[type-arg]
    intake = _intake(redis, per_day=3000)  # room for one 2075-byte photo
    first = parse(OUTLOOK, envelope_from=SABINE)
    assert await intake.store(first, [SHOP_ADDRESS])
    second = parse(OUTLOOK.replace(b"Message-ID:", b"Message-ID: <second-photo@outlook.de>\nX-Old-Message-ID:", 1),
                   envelope_from=SABINE)
    assert second.message_id != first.message_id
    assert await intake.store(second, [SHOP_ADDRESS])
    [kept] = (await _details(redis, first))["attachments"]
    [named] = (await _details(redis, second))["attachments"]
    assert kept["stored"] is True
    assert await redis.exists(email_keys.attachment(email_keys.stored_as(SABINE, first.message_id), 0))
    assert named == {"kind": "image", "name": "IMG_2041.jpg", "content_type": "image/jpeg", "size": 2075,
                     "stored": False, "index": 0, "withheld": "daily_limit"}
    assert not await redis.exists(email_keys.attachment(email_keys.stored_as(SABINE, second.message_id), 0))


async def test_answers_to_mails_that_continue_no_conversation_are_capped_for_all_senders_together(
        aiohttp_client: AiohttpClient, base_settings: Settings, redis: Redis,  # type: ignore[type-arg]
        tmp_path: Path) -> None:
    rasa = ScriptedRasa(scripted_reply("Happy to help."))
    listen_port = free_port()
    with running_relay() as relay:
        settings = base_settings.replace(
            rasa_url=await rasa.start(aiohttp_client), email_address=SHOP_ADDRESS, smtp_host="127.0.0.1",
            smtp_port=relay.port, smtp_starttls=False, smtp_listen_port=listen_port,
            limits_file=limits_file(tmp_path, email_first_answer="1/hour burst 1"))
        await aiohttp_client(create_app(settings))
        await deliver(listen_port, FIRST, sender=JAMIE, to=SHOP_ADDRESS)
        answer = await relay.next()

        # Another new mail, from anyone: kept on its case for an agent, no mail to its From.
        chris = "chris.doe@example.org"
        theirs = FIRST.replace(FIRST_ID.encode(), b"chris-1@example.org").replace(
            b"From: Jamie Doe <jamie.doe@gmail.com>", f"From: {chris}".encode())
        await deliver(listen_port, theirs, sender=chris, to=SHOP_ADDRESS)
        await relay.none_within(1.0)
        store = ConversationStore(redis)
        kept = await store.find_latest(Channel.EMAIL, chris)
        assert kept is not None
        [mail] = [event for event in await store.history(kept.id) if event.author is Author.SHOPPER]
        assert mail.data["throttled"] is True

        # A reply on Jamie's thread is no first contact: answered.
        await deliver(listen_port, answering(fixture("gmail_reply.eml"), answer), sender=JAMIE,
                      to=str(answer["Reply-To"]))
        assert "Happy to help." in text_of(await relay.next())
