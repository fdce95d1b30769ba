"""The case record in a real Redis."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from core.types import Author, Channel, ConversationState, EventKind
from gateway import keys
from gateway.conversations.store import ConversationStore


async def test_a_new_web_session_opens_a_conversation_in_the_bot_state(redis: Redis) -> None:
    store = ConversationStore(redis)
    conversation = await store.open(Channel.WEB, "s" * 32, "en")

    assert conversation.state is ConversationState.BOT
    assert conversation.channel is Channel.WEB and conversation.locale == "en"
    assert await store.get(conversation.id) == conversation
    [created] = await store.history(conversation.id)
    assert created.kind is EventKind.STATE and created.data["to"] == "bot"


async def test_the_same_session_continues_the_same_conversation(redis: Redis) -> None:
    store = ConversationStore(redis)
    first = await store.open(Channel.WEB, "a" * 32, "de")
    again = await store.open(Channel.WEB, "a" * 32, "de")
    other = await store.open(Channel.WEB, "b" * 32, "de")

    assert again.id == first.id
    assert other.id != first.id and other.contact_id != first.contact_id


async def test_two_processes_seeing_a_new_session_at_once_agree_on_one_contact(redis_url: str, redis: Redis) -> None:
    clients = [Redis.from_url(redis_url, decode_responses=True) for _ in range(8)]
    try:
        contacts = await asyncio.gather(
            *(ConversationStore(client).contact_for_identity("web", "c" * 32) for client in clients)
        )
    finally:
        for client in clients:
            await client.aclose()
    assert len(set(contacts)) == 1


async def test_messages_are_kept_in_order_with_what_the_bot_understood(redis: Redis) -> None:
    store = ConversationStore(redis)
    conversation = await store.open(Channel.WEB, "d" * 32, "de")
    await store.append_message(conversation.id, Author.SHOPPER, "hallo <b>")
    await store.append_message(conversation.id, Author.BOT, "Hallo!", {"intent": "greet", "confidence": 0.98})

    events = [e for e in await store.history(conversation.id) if e.kind is EventKind.MESSAGE]
    assert [(e.author, e.text) for e in events] == [(Author.SHOPPER, "hallo <b>"), (Author.BOT, "Hallo!")]
    assert events[1].data == {"intent": "greet", "confidence": 0.98}
    assert await redis.zscore(keys.contact_conversations(conversation.contact_id), conversation.id) is not None


async def test_the_quick_replies_on_offer_are_those_of_the_last_message_to_the_shopper(redis: Redis) -> None:
    store = ConversationStore(redis)
    conversation = await store.open(Channel.WEB, "q" * 32, "en")
    assert await store.offered_quick_replies(conversation.id) == []
    offered = [{"title": "Shipping", "payload": "/faq_shipping"}]
    await store.append_message(conversation.id, Author.BOT, "Which topic?", {"quick_replies": offered})
    assert await store.offered_quick_replies(conversation.id) == offered
    await store.append_message(conversation.id, Author.SHOPPER, "/faq_shipping")
    await store.append_message(conversation.id, Author.BOT, "Shipping is free from 50 EUR.")
    assert await store.offered_quick_replies(conversation.id) == []
