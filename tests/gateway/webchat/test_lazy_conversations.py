"""Retention (issue 14): a page view creates no permanent record. The web conversation and its
contact come with the shopper's first message; an offer made before that waits for the answer."""

from __future__ import annotations

from pathlib import Path

from redis.asyncio import Redis

from core.types import Author, EventKind
from gateway import keys
from gateway.conversations.store import ConversationStore
from gateway.proactive.visitors import VISITOR_TTL_SECONDS
from gateway.settings import Settings
from tests.gateway.proactive_support import write_rules
from tests.gateway.webchat.support import AiohttpClient, Chat, start_chat

HELP_PAGE = {"type": "page_view", "page_type": "help", "url": "https://nordlicht-home.example/help/returns",
             "title": "Rücksendung"}


async def test_a_visitor_who_never_writes_leaves_no_permanent_record(chat: Chat, redis: Redis) -> None:
    shopper = await chat.shopper()
    assert await shopper.history() == []
    await shopper.client.emit("storefront_event", {**HELP_PAGE, "page_type": "product"})
    await shopper.history()  # the event before it is handled by now (one event at a time per socket)

    assert await chat.conversation(shopper.session_id) is None
    # Not the visitor's: the gateway's signing key, and the due set (its entry goes when evaluated).
    assert set(await chat.permanent_keys()) <= {keys.WEB_SESSION_KEY, keys.PROACTIVE_DUE}
    assert shopper.session_id is not None
    for key in (keys.visitor(shopper.session_id), keys.visitor_trail(shopper.session_id)):
        assert 0 < await redis.ttl(key) <= VISITOR_TTL_SECONDS


async def test_the_first_message_creates_the_conversation_and_notes_the_shoppers_address(
    chat: Chat, redis: Redis,
) -> None:
    shopper = await chat.shopper()
    await shopper.say("Hallo")
    await shopper.expect("bot_uttered")

    conversation = await chat.conversation(shopper.session_id)
    assert conversation is not None
    assert await chat.shopper_lines(shopper.session_id) == ["Hallo"]
    assert await redis.get(keys.conversation_client(conversation.id)) == "127.0.0.1"
    assert 0 < await redis.ttl(keys.conversation_client(conversation.id)) <= 86400


async def test_an_offer_to_a_visitor_without_a_conversation_waits_for_their_answer(
    aiohttp_client: AiohttpClient, base_settings: Settings, redis: Redis, tmp_path: Path,
) -> None:
    rules = {"help_reading": {"when": {"page_types": ["help"], "help_pages": 1}, "target": "bot"}}
    chat = await start_chat(aiohttp_client, base_settings, redis, tmp_path,
                            proactive_rules_file=write_rules(tmp_path, rules))
    try:
        shopper = await chat.shopper(locale="en")
        shopper.client.on("proactive_offer", shopper._collector("proactive_offer"))
        await shopper.client.emit("storefront_event", HELP_PAGE)
        offer = await shopper.expect("proactive_offer")
        assert offer["text"] == "help_reading: bot en"  # in the widget's language
        assert await chat.conversation(shopper.session_id) is None

        # A reload shows the offer again, with its answers, still without a conversation.
        await shopper.close()
        again = await chat.shopper(locale="en", session_id=shopper.session_id)
        [shown] = await again.history()
        assert (shown["author"], shown["text"]) == ("bot", offer["text"])
        assert [r["title"] for r in shown["quick_replies"]] == ["Yes, please", "No, thanks", "Arrange a call-back"]
        assert await chat.conversation(shopper.session_id) is None

        # The tap creates the conversation: the offer first, then the answer as the title shown.
        await again.say(offer["quick_replies"][0]["payload"])
        accepted = await again.expect("bot_uttered")
        conversation = await chat.conversation(shopper.session_id)
        assert conversation is not None
        events = await ConversationStore(redis).history(conversation.id)
        messages = [(e.author, e.text, e.data.get("quick_reply_title")) for e in events if e.kind is EventKind.MESSAGE]
        assert messages == [(Author.BOT, offer["text"], None),
                            (Author.SHOPPER, offer["quick_replies"][0]["payload"], "Yes, please"),
                            (Author.BOT, accepted["text"], None)]
        assert accepted["text"] == "help_reading: accepted en"
        assert any(e.kind is EventKind.CONTEXT and e.data["rule"] == "help_reading" for e in events)
        assert chat.rasa.received == []  # the gateway answered the tap itself
        assert [m["text"] for m in await again.history()][0] == offer["text"]  # shown once
    finally:
        await chat.close()
