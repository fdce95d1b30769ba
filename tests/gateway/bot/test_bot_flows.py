"""The bot's flows as a shopper meets them: Socket.IO to the gateway, the real Rasa and
action server behind it, orders from the shop API, the case record in Redis.

tests/bot/test_dialogue_stack.py covers every branch at the connector; here each flow
is driven end to end through the widget's protocol, including what the gateway does
with the bot's handoff signal.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis

from core.types import Author, Channel, Conversation, ConversationState, EventKind
from gateway.conversations.store import ConversationStore
from gateway.settings import Settings
from gateway.shop import customer_token
from tests.gateway.shop_support import CUSTOMER_TOKEN_SECRET, PUBLIC_URL, SHOP, order_body
from tests.support import Shopper


@pytest.fixture
async def shop(bot_stack: Settings, redis: Redis) -> AsyncIterator[Any]:
    """PUTs orders into the gateway with the shop's token (after `redis` emptied the db)."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:

        async def put(**changes: Any) -> None:
            body = order_body(**changes)
            url = f"http://127.0.0.1:{bot_stack.port}/api/v1/orders/{body['order_id']}"
            async with session.put(url, json=body, headers=SHOP) as response:
                assert response.status in (200, 201), await response.text()

        yield put


async def _shopper(settings: Settings, locale: str) -> Shopper:
    shopper = Shopper(f"http://127.0.0.1:{settings.port}/", locale=locale)
    await shopper.connect()
    return shopper


async def _conversation(redis: Redis, shopper: Shopper) -> Conversation:
    assert shopper.session_id is not None
    conversation = await ConversationStore(redis).find_latest(Channel.WEB, shopper.session_id)
    assert conversation is not None
    return conversation


def _texts(messages: list[dict[str, Any]]) -> list[str]:
    return [m["text"] for m in messages]


def _payloads(messages: list[dict[str, Any]]) -> list[str]:
    return [reply["payload"] for m in messages for reply in m.get("quick_replies", [])]


async def test_where_is_my_order_verifies_first_then_answers(
    bot_stack: Settings, shop: Any, redis: Redis
) -> None:
    await shop(status="in_transit")
    shopper = await _shopper(bot_stack, "de")
    asked = await shopper.turn("Wo bleibt meine Bestellung 104233?")
    answer = await shopper.turn("anna@example.com")
    await shopper.close()

    assert "104233" in asked[0]["text"] and "unterwegs" not in asked[0]["text"]
    assert answer[0]["text"] == "Ihre Bestellung 104233 ist unterwegs."
    assert any("00340434161234567890" in text for text in _texts(answer))
    conversation = await _conversation(redis, shopper)
    assert conversation.state is ConversationState.BOT
    history = await ConversationStore(redis).history(conversation.id)
    bot_intents = [e.data.get("intent") for e in history if e.author is Author.BOT]
    assert bot_intents[0] == "order_status"


async def test_a_wrong_proof_and_an_unknown_order_read_the_same(bot_stack: Settings, shop: Any) -> None:
    await shop()
    shopper = await _shopper(bot_stack, "en")
    await shopper.turn("where is my order 104233")
    wrong = await shopper.turn("eve@example.com")
    await shopper.close()

    stranger = await _shopper(bot_stack, "en")
    await stranger.turn("where is my order 999999")
    unknown = await stranger.turn("anna@example.com")
    await stranger.close()

    assert wrong[0]["text"].replace("104233", "N") == unknown[0]["text"].replace("999999", "N")
    assert "can't find" in wrong[0]["text"]


async def test_three_failed_proofs_end_the_lookup_and_a_person_takes_the_case(
    bot_stack: Settings, shop: Any, redis: Redis
) -> None:
    await shop()
    shopper = await _shopper(bot_stack, "de")
    await shopper.turn("Wo ist meine Bestellung 104233?")
    await shopper.turn("eve@example.com")
    await shopper.turn("99999")
    locked = await shopper.turn("mallory@example.com")
    assert _payloads(locked) == ["/request_human", "/deny"]

    handed_over = await shopper.turn("/request_human")
    await shopper.say("Hallo?")
    await shopper.no_event("bot_uttered", within=1.0)
    await shopper.close()

    # The bot's words, then the gateway's: the shopper is next in line (no agent is online).
    assert [message["author"] for message in handed_over][-2:] == ["bot", "system"]
    assert "als Nächstes dran" in handed_over[-1]["text"]
    conversation = await _conversation(redis, shopper)
    assert (conversation.state, conversation.team) == (ConversationState.QUEUED, "general")
    history = await ConversationStore(redis).history(conversation.id)
    queued = [e.data for e in history if e.kind is EventKind.STATE][-1]
    assert queued["reason"] == "verification_failed"
    # The tapped quick reply is on the case with the title the shopper saw.
    tapped = [e.data for e in history if e.author is Author.SHOPPER and e.text == "/request_human"]
    assert tapped and tapped[0].get("quick_reply_title")


async def test_a_logged_in_shopper_needs_no_other_proof(bot_stack: Settings, shop: Any) -> None:
    await shop(status="shipped", estimated_delivery=None)
    shopper = await _shopper(bot_stack, "en")
    token = customer_token.sign("anna@example.com", CUSTOMER_TOKEN_SECRET)
    answer = await shopper.turn(
        "where is my order 104233?", metadata={"locale": "en", "customer_token": token}
    )
    await shopper.close()
    assert answer[0]["text"] == "Your order 104233 has been shipped."


async def test_delivered_but_not_here_is_queued_for_logistics(
    bot_stack: Settings, shop: Any, redis: Redis
) -> None:
    await shop(status="delivered")
    shopper = await _shopper(bot_stack, "en")
    await shopper.turn("tracking says my parcel 104233 was delivered but there is nothing here")
    reply = await shopper.turn("10115")
    await shopper.close()

    assert "104233" in reply[0]["text"]
    conversation = await _conversation(redis, shopper)
    assert (conversation.state, conversation.team) == (ConversationState.QUEUED, "logistics")


async def test_a_return_is_recorded_with_a_label_link(bot_stack: Settings, shop: Any, redis: Redis) -> None:
    await shop(status="delivered")
    shopper = await _shopper(bot_stack, "de")
    await shopper.turn("Ich möchte die Bestellung 104233 zurückschicken")
    items = await shopper.turn("anna@example.com")
    assert "NL-2040" in _payloads(items)
    reasons = await shopper.turn("NL-2040")
    done = await shopper.turn(_payloads(reasons)[0])
    await shopper.close()

    assert done[0]["text"].startswith("Ihre Rücksendung zur Bestellung 104233 ist angemeldet.")
    assert f"{PUBLIC_URL}/returns/" in done[0]["text"]
    assert (await _conversation(redis, shopper)).state is ConversationState.BOT


async def test_not_understood_twice_offers_a_person(bot_stack: Settings) -> None:
    shopper = await _shopper(bot_stack, "en")
    first = await shopper.turn("asdkjh qwe")
    second = await shopper.turn("qwe zxc")
    await shopper.close()

    assert 0 < len(_payloads(first)) <= 3
    assert _payloads(second) == ["/request_human", "/deny"]
