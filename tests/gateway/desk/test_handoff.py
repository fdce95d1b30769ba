"""The gateway's side of the bot contract: the handoff signal and what the bot is told.

Rasa is replaced here by an HTTP stand-in speaking the connector's wire format
(bot/storechat_connector.py), so each test can script exactly the turn it needs;
tests/bot/ drives the real bot to the same signal.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from core.types import Author, Channel, Conversation, ConversationState, EventKind, Handoff, Team
from gateway.conversations.loop import bot_metadata
from gateway.app import create_app
from gateway.bot.rasa_client import parse_turn
from gateway.conversations import state_machine
from gateway.conversations.store import ConversationStore
from gateway.settings import Settings
from tests.gateway.rasa_standin import ScriptedRasa
from tests.support import Shopper, free_port

AiohttpClient = Callable[[web.Application], Awaitable[TestClient]]  # type: ignore[type-arg]

PASSING_ON = "Ich gebe Sie an unser Logistik-Team weiter."
WAITING = "Gleich ist eine Kollegin oder ein Kollege für Sie da – Sie sind als Nächstes dran."


@pytest.fixture
def settings(base_settings: Settings) -> Settings:
    """No real Rasa here: each test points the gateway at its ScriptedRasa."""
    return base_settings.replace(port=free_port())


def _turn(handoff: dict[str, str] | None) -> dict[str, Any]:
    return {
        "messages": [{"text": PASSING_ON}],
        "intent": {"name": "delivered_not_received", "confidence": 0.97},
        "retrieval": None,
        "handoff": handoff,
    }


async def _gateway(aiohttp_client: AiohttpClient, settings: Settings, rasa: ScriptedRasa) -> TestClient:  # type: ignore[type-arg]
    rasa_url = await rasa.start(aiohttp_client)
    return await aiohttp_client(create_app(settings.replace(rasa_url=rasa_url)))


def test_the_signal_is_parsed_and_an_unknown_team_goes_to_general() -> None:
    assert parse_turn(_turn({"team": "logistics", "reason": "delivered_not_received"})).handoff == Handoff(
        Team.LOGISTICS, "delivered_not_received"
    )
    assert parse_turn(_turn({"team": "marketing", "reason": "x"})).handoff == Handoff(Team.GENERAL, "x")
    assert parse_turn(_turn(None)).handoff is None
    assert parse_turn(_turn("logistics")).handoff is None  # type: ignore[arg-type]


async def test_a_handoff_queues_the_conversation_for_the_team_and_silences_the_bot(
    aiohttp_client: AiohttpClient, settings: Settings, redis: Redis
) -> None:
    rasa = ScriptedRasa(_turn({"team": "logistics", "reason": "delivered_not_received"}))
    gateway = await _gateway(aiohttp_client, settings, rasa)
    shopper = Shopper(str(gateway.make_url("/")))
    await shopper.connect()

    await shopper.say("Laut Sendungsverfolgung zugestellt, aber hier ist nichts")
    reply = await shopper.expect("bot_uttered")
    waiting = await shopper.expect("bot_uttered")
    await shopper.say("Hallo? Ist da jemand?")
    await shopper.no_event("bot_uttered", within=0.5)
    await shopper.close()

    assert reply["text"] == PASSING_ON
    assert waiting["author"] == "system" and waiting["text"] == WAITING
    assert shopper.session_id is not None
    store = ConversationStore(redis)
    conversation = await store.find_latest(Channel.WEB, shopper.session_id)
    assert conversation is not None
    assert (conversation.state, conversation.team) == (ConversationState.QUEUED, "logistics")
    assert len(rasa.received) == 1, "the bot must stay silent once the case is queued"
    history = await store.history(conversation.id)
    state = [e for e in history if e.kind is EventKind.STATE][-1]
    assert state.data == {"from": "bot", "to": "queued", "reason": "delivered_not_received", "team": "logistics"}
    # The signal itself is not a message on the case; both shopper messages are.
    assert [(e.author, e.text) for e in history if e.kind is EventKind.MESSAGE] == [
        (Author.SHOPPER, "Laut Sendungsverfolgung zugestellt, aber hier ist nichts"),
        (Author.BOT, PASSING_ON),
        (Author.SYSTEM, WAITING),
        (Author.SHOPPER, "Hallo? Ist da jemand?"),
    ]


async def test_the_bot_is_told_only_what_the_gateway_knows_or_can_check(
    aiohttp_client: AiohttpClient, settings: Settings, redis: Redis
) -> None:
    rasa = ScriptedRasa(_turn(None))
    gateway = await _gateway(aiohttp_client, settings, rasa)
    shopper = Shopper(str(gateway.make_url("/")), locale="en")
    await shopper.connect()
    assert shopper.session_id is not None
    await shopper.say(
        "where is my order?",
        metadata={"locale": "en", "customer_token": "abc.def", "phone": "+4915100000000", "verified": True},
    )
    await shopper.expect("bot_uttered")
    await shopper.say("and now?", metadata={"customer_token": "x" * 5000})
    await shopper.expect("bot_uttered")
    await shopper.close()

    first, second = (received["metadata"] for received in rasa.received)
    # A phone number on web chat is just a claim; only SMS/WhatsApp prove one.
    assert first == {"locale": "en", "channel": "web", "customer_token": "abc.def"}
    assert second == {"locale": "en", "channel": "web"}
    store = ConversationStore(redis)
    conversation = await store.find_latest(Channel.WEB, shopper.session_id)
    assert conversation is not None
    recorded = [e.data for e in await store.history(conversation.id) if e.author is Author.SHOPPER]
    # Only the locale goes on the case: no credential, no unproven "phone".
    assert [data.get("metadata") for data in recorded] == [{"locale": "en"}, None]


async def test_a_bot_that_is_down_leaves_the_case_queued_for_a_person(
    aiohttp_client: AiohttpClient, settings: Settings, redis: Redis
) -> None:
    """The shopper is told someone will get back to them: the queue is where that happens."""
    gateway = await aiohttp_client(create_app(settings.replace(rasa_url=f"http://127.0.0.1:{free_port()}")))
    shopper = Shopper(str(gateway.make_url("/")))
    await shopper.connect()
    await shopper.say("Wo ist meine Bestellung?")
    notice = await shopper.expect("bot_uttered")
    await shopper.close()

    assert notice["author"] == "system"
    assert shopper.session_id is not None
    conversation = await ConversationStore(redis).find_latest(Channel.WEB, shopper.session_id)
    assert conversation is not None
    assert (conversation.state, conversation.team) == (ConversationState.QUEUED, "general")


async def test_a_bot_answer_that_arrives_after_an_agent_took_over_is_dropped(
    aiohttp_client: AiohttpClient, settings: Settings, redis: Redis
) -> None:
    """A person took the case during the bot's turn: its answer and its handoff are dropped."""
    rasa = ScriptedRasa(_turn({"team": "billing", "reason": "billing_problem"}))
    gateway = await _gateway(aiohttp_client, settings, rasa)
    store = ConversationStore(redis)
    shopper = Shopper(str(gateway.make_url("/")))
    await shopper.connect()
    assert shopper.session_id is not None
    session_id = shopper.session_id

    async def claimed_meanwhile() -> object:
        # The shopper's message made the conversation; the bot is thinking about it now.
        conversation = await store.find_latest(Channel.WEB, session_id)
        assert conversation is not None
        return await state_machine.transition(
            redis, conversation.id, ConversationState.QUEUED, clock=store.clock, reason="shopper_asked", team="general",
        )

    rasa.during_turn = claimed_meanwhile
    await shopper.say("hallo")
    await shopper.no_event("bot_uttered", within=1.0)
    await shopper.close()
    conversation = await store.find_latest(Channel.WEB, session_id)
    assert conversation is not None
    history = await store.history(conversation.id)
    assert [e.author for e in history if e.kind is EventKind.MESSAGE] == [Author.SHOPPER]
    after = await store.get(conversation.id)
    assert (after.state, after.team) == (ConversationState.QUEUED, "general")



def test_a_texters_phone_number_is_not_sent_to_the_bot() -> None:
    # The gateway proves a phone from the conversation itself; Rasa's tracker need not keep it.
    texter = Conversation(id="c1", contact_id="k1", channel=Channel.SMS, address="+4915112345678",
                          state=ConversationState.BOT, locale="de", created_at=0.0, updated_at=0.0)
    assert bot_metadata(texter, {"phone": "+4915100000000"}) == {"channel": "sms"}
