"""Finding 5 (issue 14): only session ids the gateway issued are continued, and a socket is
in the room of its current session only."""

from __future__ import annotations

from redis.asyncio import Redis

from gateway import keys
from tests.gateway.webchat.support import Chat, raw_socket


async def test_a_session_id_the_client_made_up_is_replaced_by_one_the_gateway_issued(chat: Chat) -> None:
    made_up = "f" * 64  # the form of a real one
    shopper = await chat.shopper(session_id=made_up)
    assert shopper.session_id not in (None, made_up)

    # What the gateway confirmed is continued: after a reload, the same session and its history.
    await shopper.say("Hallo")
    await shopper.expect("bot_uttered")
    await shopper.close()
    again = await chat.shopper(session_id=shopper.session_id)
    assert again.session_id == shopper.session_id
    assert [m["text"] for m in await again.history()] == ["Hallo", "Hallo! Wie kann ich helfen?"]


async def test_an_id_signed_with_another_key_is_not_continued(chat: Chat, redis: Redis) -> None:
    shopper = await chat.shopper()
    await shopper.close()
    await redis.set(keys.WEB_SESSION_KEY, "another gateway's key")
    again = await chat.shopper(session_id=shopper.session_id)
    assert again.session_id != shopper.session_id


async def test_a_second_session_request_leaves_the_first_sessions_room(chat: Chat) -> None:
    victim = await chat.shopper()
    client, events = await raw_socket(chat.url)
    try:
        await client.emit("session_request", {"session_id": None})
        first = (await events.get())[1]
        await client.emit("session_request", {"session_id": None})
        second = (await events.get())[1]
        assert first != second
        # The first session's replies (another tab of it, say) no longer reach this socket.
        first_tab = await chat.shopper(session_id=first)
        await first_tab.say("Hallo")
        await first_tab.expect("bot_uttered")
        await client.emit("history_request", {})
        name, data = await events.get()
        assert (name, data) == ("history", {"messages": []})  # no bot_uttered of the first session before it
        assert victim.inbox.empty()
    finally:
        await client.disconnect()
