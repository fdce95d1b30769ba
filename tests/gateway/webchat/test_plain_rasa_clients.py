"""Rasa protocol fidelity (issue 13): a client that declares no storechat extension (an
unchanged Rasa widget such as rasa-webchat) gets `bot_uttered` with exactly Rasa's keys,
agent messages and the satisfaction question included; storechat's own widget, which
declares `author` and `typing`, gets who wrote each message and the case event's id.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from core.types import Author, Channel, Conversation, Team
from gateway.app import create_app
from gateway.conversations.store import ConversationStore
from gateway.settings import Settings
from tests.gateway.agent_support import Console, add_agent
from tests.gateway.rasa_standin import AiohttpClient, ScriptedRasa
from tests.hours_support import hours_file
from tests.support import Shopper, free_port

# Rasa's socketio output channel sends exactly these (rasa/core/channels/socketio.py).
RASA_KEYS = ({"text"}, {"text", "quick_replies"}, {"attachment"})
PASSING_ON = "Ich gebe Sie an unser Logistik-Team weiter."
HANDOFF = {"messages": [{"text": PASSING_ON}], "intent": {"name": "request_human", "confidence": 0.99},
           "retrieval": None, "handoff": {"team": "logistics", "reason": "shopper_asked"}}
CHOICES = {"messages": [{"text": "Wobei kann ich helfen?",
                         "buttons": [{"title": "Versand", "payload": "/faq_shipping"},
                                     {"title": "Retoure", "payload": "/faq_returns"}]}],
           "intent": {"name": "greet", "confidence": 0.98}, "retrieval": None, "handoff": None}


@dataclasses.dataclass
class Desk:
    url: str
    rasa: ScriptedRasa
    redis: Redis
    opened: list[Any] = dataclasses.field(default_factory=list)

    async def shopper(self, extensions: tuple[str, ...], session_id: str | None = None) -> Shopper:
        shopper = Shopper(self.url + "/", extensions=extensions, session_id=session_id)
        await shopper.connect()
        self.opened.append(shopper)
        return shopper

    async def anna(self) -> Console:
        await add_agent(self.redis, "anna@shop.example", Team.LOGISTICS, name="Anna")
        console = await (await Console(self.url, "anna@shop.example").login()).connect()
        self.opened.append(console)
        return console

    async def conversation(self, shopper: Shopper) -> Conversation:
        assert shopper.session_id is not None
        found = await ConversationStore(self.redis).find_latest(Channel.WEB, shopper.session_id)
        assert found is not None
        return found


@pytest.fixture
async def desk(aiohttp_client: AiohttpClient, base_settings: Settings, redis: Redis,
               tmp_path: Path) -> AsyncIterator[Desk]:
    rasa = ScriptedRasa(CHOICES)
    settings = base_settings.replace(port=free_port(), rasa_url=await rasa.start(aiohttp_client),
                                     business_hours_file=hours_file(tmp_path, open_now=True))
    gateway = await aiohttp_client(create_app(settings))
    world = Desk(str(gateway.make_url("")).rstrip("/"), rasa, redis)
    yield world
    for client in world.opened:
        await client.close()


async def until_quiet(shopper: Shopper, quiet: float = 0.5) -> list[dict[str, Any]]:
    seen = []
    while True:
        try:
            seen.append(await shopper.expect("bot_uttered", timeout=quiet))
        except TimeoutError:
            return seen


async def test_a_plain_client_gets_only_rasas_keys_from_bot_answer_to_satisfaction_question(desk: Desk) -> None:
    anna = await desk.anna()
    plain = await desk.shopper(extensions=())
    seen: list[dict[str, Any]] = []

    await plain.say("Hallo")
    seen += await until_quiet(plain)
    desk.rasa.reply = HANDOFF
    await plain.say("Ich möchte mit einem Menschen sprechen")
    seen += await until_quiet(plain)
    conversation = await desk.conversation(plain)
    status, _ = await anna.call("POST", f"/conversations/{conversation.id}/messages", {"text": "Ich schaue nach."})
    seen += await until_quiet(plain)
    assert (await anna.call("POST", f"/conversations/{conversation.id}/resolve"))[0] == 200
    seen += await until_quiet(plain)

    assert status == 201
    assert [set(message) for message in seen if set(message) not in RASA_KEYS] == []
    texts = [message["text"] for message in seen]
    assert seen[0] == {"text": "Wobei kann ich helfen?", "quick_replies": [
        {"content_type": "text", "title": "Versand", "payload": "/faq_shipping"},
        {"content_type": "text", "title": "Retoure", "payload": "/faq_returns"},
    ]}
    assert PASSING_ON in texts and "Anna kümmert sich jetzt um Ihr Anliegen." in texts
    # Who wrote it, in the text: the widget shows no author.
    assert "Anna: Ich schaue nach." in texts
    question = seen[-1]
    assert "Wie zufrieden" in question["text"]
    assert [reply["payload"] for reply in question["quick_replies"]] == ["1", "2", "3", "4", "5"]


async def test_storechats_own_widget_gets_author_agent_name_and_the_case_event_id(desk: Desk) -> None:
    anna = await desk.anna()
    rich = await desk.shopper(extensions=("author", "typing"))
    # The same session in a plain Rasa widget (another tab): each gets its own form of each message.
    plain = await desk.shopper(extensions=(), session_id=rich.session_id)
    desk.rasa.reply = HANDOFF
    await rich.say("Ich möchte mit einem Menschen sprechen")
    await until_quiet(rich)
    await until_quiet(plain)
    conversation = await desk.conversation(rich)

    status, sent = await anna.call("POST", f"/conversations/{conversation.id}/messages", {"text": "Ich schaue nach."})
    reply = await rich.expect("bot_uttered")
    plainly = await plain.expect("bot_uttered")
    await anna.socket.emit("typing", {"conversation_id": conversation.id, "typing": True}, namespace="/agent")
    typing = await rich.expect("agent_typing")

    assert status == 201
    assert (reply["text"], reply["author"], reply["agent_name"], reply["id"]) == (
        "Ich schaue nach.", "agent", "Anna", sent["id"])
    assert isinstance(reply["at"], int) and reply["at"] > 0
    assert plainly == {"text": "Anna: Ich schaue nach."}
    assert typing == {"typing": True, "agent_name": "Anna"}
    await plain.no_event("agent_typing", within=0.3)  # it did not declare "typing"


async def test_agent_names_stay_out_of_plain_texts_where_the_shop_says_so(
    aiohttp_client: AiohttpClient, base_settings: Settings, redis: Redis, tmp_path: Path
) -> None:
    rasa = ScriptedRasa(HANDOFF)
    settings = base_settings.replace(port=free_port(), rasa_url=await rasa.start(aiohttp_client),
                                     business_hours_file=hours_file(tmp_path, open_now=True),
                                     plain_agent_names=False)
    gateway = await aiohttp_client(create_app(settings))
    desk = Desk(str(gateway.make_url("")).rstrip("/"), rasa, redis)
    try:
        anna = await desk.anna()
        plain = await desk.shopper(extensions=())
        await plain.say("Ich möchte mit einem Menschen sprechen")
        await until_quiet(plain)
        conversation = await desk.conversation(plain)
        await anna.call("POST", f"/conversations/{conversation.id}/messages", {"text": "Ich schaue nach."})
        reply = await plain.expect("bot_uttered")
    finally:
        for client in desk.opened:
            await client.close()

    assert reply == {"text": "Ich schaue nach."}


async def test_rasa_webchats_init_payload_is_acknowledged_as_ignored_and_nothing_else(desk: Desk) -> None:
    plain = await desk.shopper(extensions=())

    ack = await plain.client.call("user_uttered", {"session_id": plain.session_id,
                                                   "customData": {"language": "de"}}, timeout=5)

    assert ack == {"status": "ignored"}
    await plain.no_event("storechat_error", within=0.3)
    await plain.no_event("bot_uttered", within=0.2)


async def test_a_bot_answer_to_the_rich_client_carries_its_case_event(desk: Desk) -> None:
    rich = await desk.shopper(extensions=("author", "typing"))

    await rich.say("Hallo")
    reply = await rich.expect("bot_uttered")

    history = await ConversationStore(desk.redis).history((await desk.conversation(rich)).id)
    [bot] = [event for event in history if event.author is Author.BOT]
    assert (reply["author"], reply["id"], reply["at"]) == ("bot", bot.id, int(bot.at * 1000))
    assert set(reply) == {"text", "quick_replies", "author", "id", "at"}
