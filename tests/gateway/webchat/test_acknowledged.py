"""Acknowledged shopper messages, exactly once (issue 13): the Socket.IO acknowledgement of a
`user_uttered` says the message is stored, before the bot has answered; a resend with the
same `message_id` is acknowledged again and not stored twice; a refusal says why."""

from __future__ import annotations

import asyncio
from typing import Any

import socketio
from redis.asyncio import Redis

from gateway import keys
from tests.gateway.webchat.support import Chat
from tests.support import Shopper


async def send(shopper: Shopper, payload: dict[str, Any]) -> Any:
    """`user_uttered` with an acknowledgement asked for: what the widget does."""
    return await shopper.client.call("user_uttered", {"session_id": shopper.session_id, **payload}, timeout=10)


async def test_the_acknowledgement_comes_once_the_message_is_stored_before_the_bot_answers(chat: Chat) -> None:
    bot_may_answer = asyncio.Event()

    async def slow_bot() -> None:
        await bot_may_answer.wait()

    chat.rasa.during_turn = slow_bot
    shopper = await chat.shopper()

    ack = await send(shopper, {"message": "Wo ist mein Paket?", "message_id": "m-0001-abcdef"})

    assert ack["status"] == "stored"
    assert ack["message_id"] == "m-0001-abcdef"
    assert "duplicate" not in ack
    assert await chat.shopper_lines(shopper.session_id) == ["Wo ist mein Paket?"]
    assert shopper.inbox.empty()  # the bot is still thinking
    bot_may_answer.set()
    assert (await shopper.expect("bot_uttered"))["text"] == "Hallo! Wie kann ich helfen?"
    conversation = await chat.conversation(shopper.session_id)
    assert conversation is not None
    events = await chat.redis.xrange(keys.conversation_events(conversation.id))
    assert ack["id"] in [entry_id for entry_id, _ in events]


async def test_a_resend_after_a_reconnect_is_acknowledged_and_not_stored_twice(chat: Chat) -> None:
    shopper = await chat.shopper()
    first = await send(shopper, {"message": "Hallo", "message_id": "m-0002-abcdef"})
    await shopper.expect("bot_uttered")
    await shopper.close()

    again = Shopper(chat.url, session_id=shopper.session_id)
    await again.connect()
    chat.shoppers.append(again)
    second = await send(again, {"message": "Hallo", "message_id": "m-0002-abcdef"})

    assert second == {**first, "duplicate": True}
    assert await chat.shopper_lines(shopper.session_id) == ["Hallo"]
    assert len(chat.rasa.received) == 1  # the bot answered it once
    await again.no_event("bot_uttered", within=0.5)
    history = await again.history()
    assert [item["text"] for item in history if item["author"] == "shopper"] == ["Hallo"]


async def test_messages_sent_without_waiting_are_stored_and_answered_in_order(chat: Chat, redis: Redis) -> None:
    shopper = await chat.shopper()
    acks = await asyncio.gather(*(send(shopper, {"message": f"Nachricht {n}", "message_id": f"m-order-{n:04d}"})
                                  for n in range(6)))

    assert [ack["status"] for ack in acks] == ["stored"] * 6
    assert await chat.shopper_lines(shopper.session_id) == [f"Nachricht {n}" for n in range(6)]
    for _ in range(6):
        await shopper.expect("bot_uttered")
    assert [turn["message"] for turn in chat.rasa.received] == [f"Nachricht {n}" for n in range(6)]


async def test_a_refused_message_is_acknowledged_with_the_reason(chat: Chat) -> None:
    shopper = await chat.shopper()

    empty = await send(shopper, {"message": "   ", "message_id": "m-0003-abcdef"})
    bad_id = await send(shopper, {"message": "Hallo", "message_id": "x"})
    init = await send(shopper, {"customData": {"language": "de"}})

    assert empty["status"] == "refused" and empty["code"] == "empty_message" and empty["message"]
    assert bad_id["status"] == "refused" and bad_id["code"] == "invalid_payload"
    assert init == {"status": "ignored"}  # rasa-webchat's init payload
    assert await chat.shopper_lines(shopper.session_id) == []


async def test_a_message_before_the_session_is_refused_in_the_acknowledgement(chat: Chat) -> None:
    shopper = await chat.shopper()
    await shopper.close()

    client = socketio.AsyncClient(reconnection=False)
    await client.connect(chat.url, socketio_path="socket.io", transports=["websocket"])
    try:
        ack = await client.call("user_uttered", {"message": "Hallo", "message_id": "m-0004-abcdef"}, timeout=10)
    finally:
        await client.disconnect()
    assert ack["status"] == "refused" and ack["code"] == "no_session"
