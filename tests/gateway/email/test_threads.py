"""A mail thread read and written as one step: mails heard and sent at once all stay on it."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from channels.email import MailSettings
from core.types import Channel, OutgoingMessage
from gateway.conversations.store import ConversationStore
from gateway.email import keys as email_keys
from gateway.email.threads import Threads
from gateway.texts import Texts
from tests.gateway.email.support import SHOP_ADDRESS

MAIL = MailSettings(address=SHOP_ADDRESS, name="Nordlicht Home", reply_domain="nordlicht-home.example")


async def test_mails_heard_and_sent_at_the_same_moment_all_stay_on_the_thread(
        redis: Redis) -> None:  # type: ignore[type-arg]
    threads = Threads(redis, MAIL, Texts.load("de"))
    conversation = await ConversationStore(redis).open(Channel.EMAIL, "jamie.doe@gmail.com", "de")
    ours, _, _, also_ours = await asyncio.gather(
        threads.next(conversation, OutgoingMessage(text="Ihre Bestellung ist unterwegs.")),
        threads.heard(conversation.id, message_id="<one@mail.gmail.com>", subject="Wo ist meine Bestellung?",
                      references=[]),
        threads.heard(conversation.id, message_id="<two@mail.gmail.com>", subject="", references=[]),
        threads.next(conversation, OutgoingMessage(text="Noch etwas?")))
    chain = str(await redis.hget(email_keys.thread(conversation.id), "chain")).split()
    assert set(chain) == {ours.message_id, also_ours.message_id, "<one@mail.gmail.com>", "<two@mail.gmail.com>"}
    # Both of ours can be answered: the thread's one token names the conversation.
    assert ours.reply_token == also_ours.reply_token
