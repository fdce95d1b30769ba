"""Finding 4 (issue 14), web chat: events without a payload or of the wrong type, lone
surrogates and deeply nested metadata get a clear answer, lose nothing and log one line."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from redis.asyncio import Redis

from core.types import ConversationState
from tests.gateway.webchat.support import Chat, replies_until_quiet

EVENTS = ("session_request", "user_uttered", "history_request", "typing", "storefront_event")
# python-socketio sends a tuple as that many arguments: none, a null, a list, a number, two.
PAYLOADS: list[tuple[Any, ...]] = [(), (None,), ([1, 2],), (42,), ({"message": "a"}, {"message": "b"})]


@pytest.mark.parametrize("event", EVENTS)
async def test_an_event_without_a_payload_or_of_the_wrong_type_gets_a_clear_answer(
    chat: Chat, event: str, caplog: pytest.LogCaptureFixture,
) -> None:
    shopper = await chat.shopper()
    for payload in PAYLOADS:
        await shopper.client.emit(event, payload)
    answers = await replies_until_quiet(shopper, "storechat_error")
    history = await shopper.history()  # the socket still answers

    assert history == []
    if event == "user_uttered":
        assert [answer["code"] for answer in answers] == ["invalid_payload"] * len(PAYLOADS)
        assert "nicht gelesen" in answers[0]["message"]
    assert not [record for record in caplog.records if record.exc_info], "a traceback was logged"
    # (Without its session id: the session_requests may have started a new session.)
    await shopper.client.emit("user_uttered", {"message": "Hallo"})
    assert (await shopper.expect("bot_uttered"))["text"]


async def test_a_lone_surrogate_is_stored_as_a_replacement_character_not_dropped(chat: Chat) -> None:
    shopper = await chat.shopper()
    await shopper.say("Hallo \ud800!")
    assert (await shopper.expect("bot_uttered"))["text"]
    assert await chat.shopper_lines(shopper.session_id) == ["Hallo \ufffd!"]
    assert [m["text"] for m in await shopper.history()][0] == "Hallo \ufffd!"


async def test_metadata_nested_500_deep_is_refused_clearly_and_queues_nothing(
    chat: Chat, caplog: pytest.LogCaptureFixture,
) -> None:
    deep: dict[str, Any] = {}
    level = deep
    for _ in range(500):
        level["a"] = {}
        level = level["a"]
    shopper = await chat.shopper()
    # Written by hand: python-socketio's own encoder recurses too deep on it (a browser's does not).
    packet = ["user_uttered", {"message": "/greet", "metadata": {"locale": "de", "quick_reply": deep}}]
    await shopper.client.eio.send("2" + json.dumps(packet))

    error = await shopper.expect("storechat_error")
    assert error["code"] == "invalid_payload"
    assert chat.rasa.received == []
    assert await chat.conversation(shopper.session_id) is None  # nothing queued as "bot unavailable"
    assert not [record for record in caplog.records if record.exc_info]

    await shopper.say("Hallo")
    await shopper.expect("bot_uttered")
    conversation = await chat.conversation(shopper.session_id)
    assert conversation is not None and conversation.state is ConversationState.BOT


async def test_rasa_webchats_init_payload_is_answered_quietly(chat: Chat, redis: Redis,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    shopper = await chat.shopper()
    await shopper.client.emit("user_uttered", {"session_id": shopper.session_id, "customData": {"language": "de"}})
    await shopper.history()
    assert shopper.inbox.empty()  # no storechat_error
    assert await chat.conversation(shopper.session_id) is None
    assert not [record for record in caplog.records if "refused" in record.getMessage()]
