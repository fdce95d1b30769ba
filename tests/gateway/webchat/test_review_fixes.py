"""Review of issue 14: a web session outlives its erased case, sessions from before the
signed ids are kept, and two tabs' first messages make one conversation."""

from __future__ import annotations

import asyncio
import secrets

from redis.asyncio import Redis

from core.types import Channel
from gateway import keys
from gateway.conversations.store import ConversationStore
from tests.gateway.webchat.support import Chat


async def test_a_message_after_the_case_was_erased_starts_a_new_conversation(chat: Chat, redis: Redis) -> None:
    shopper = await chat.shopper()
    await shopper.say("Hallo")
    await shopper.expect("bot_uttered")
    erased = await chat.conversation(shopper.session_id)
    assert erased is not None
    # What an erasure (gateway/privacy/) or the retention sweep leaves: no case record.
    await redis.delete(keys.conversation(erased.id), keys.conversation_events(erased.id))

    await shopper.say("Noch da?")  # from the same open tab
    await shopper.expect("bot_uttered")
    continued = await chat.conversation(shopper.session_id)
    assert continued is not None and continued.id != erased.id
    assert await chat.shopper_lines(shopper.session_id) == ["Noch da?"]
    # The tab's history and typing are the new case's, not an error.
    assert [m["text"] for m in await shopper.history()][0] == "Noch da?"


async def test_history_and_typing_after_the_case_was_erased_do_not_fail(chat: Chat, redis: Redis) -> None:
    shopper = await chat.shopper()
    await shopper.say("Hallo")
    await shopper.expect("bot_uttered")
    erased = await chat.conversation(shopper.session_id)
    assert erased is not None
    await redis.delete(keys.conversation(erased.id), keys.conversation_events(erased.id))

    await shopper.client.emit("typing", {"typing": True})
    assert await shopper.history() == []
    await shopper.say("Noch da?")
    await shopper.expect("bot_uttered")
    assert await chat.shopper_lines(shopper.session_id) == ["Noch da?"]


async def test_a_legacy_session_id_with_a_conversation_is_continued(chat: Chat, redis: Redis) -> None:
    legacy = secrets.token_hex(16)  # what the gateway issued before ids were signed
    store = ConversationStore(redis)
    conversation = await store.open(Channel.WEB, legacy, "de")

    shopper = await chat.shopper(session_id=legacy)
    assert shopper.session_id == legacy
    await shopper.say("Hallo")
    await shopper.expect("bot_uttered")
    assert (await chat.conversation(legacy)) == await store.get(conversation.id)
    assert await chat.shopper_lines(legacy) == ["Hallo"]


async def test_a_legacy_shaped_id_without_a_conversation_is_replaced(chat: Chat, redis: Redis) -> None:
    unknown = secrets.token_hex(16)
    shopper = await chat.shopper(session_id=unknown)
    assert shopper.session_id not in (None, unknown)
    # A legacy conversation does not make any other shape of id acceptable.
    legacy = secrets.token_hex(16)
    await ConversationStore(redis).open(Channel.WEB, legacy, "de")
    for variant in (legacy.upper(), legacy + "0", legacy[:-1]):
        other = await chat.shopper(session_id=variant)
        assert other.session_id != variant


async def test_two_tabs_first_messages_at_once_make_one_conversation(chat: Chat, redis: Redis) -> None:
    first = await chat.shopper()
    second = await chat.shopper(session_id=first.session_id)
    assert second.session_id == first.session_id
    await asyncio.gather(first.say("Hallo aus Tab 1"), second.say("Hallo aus Tab 2"))
    await first.expect("bot_uttered")
    await first.expect("bot_uttered")
    conversation = await chat.conversation(first.session_id)
    assert conversation is not None
    assert await redis.zcard(keys.contact_conversations(conversation.contact_id)) == 1
    assert sorted(await chat.shopper_lines(first.session_id)) == ["Hallo aus Tab 1", "Hallo aus Tab 2"]

