"""Escalation to a person, end to end through the gateway: the shopper's web chat, the Agent
API and the /agent namespace, with real Redis and real Socket.IO clients.

Rasa is the HTTP stand-in (tests/gateway/rasa_standin.py) so each test decides when the bot
hands over; tests/browser/test_console.py drives the same story with the real bot.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from core.types import Author, Channel, Conversation, ConversationState, EventKind, Team
from gateway import keys
from gateway.app import create_app
from gateway.conversations.store import ConversationStore
from gateway.desk.agents import AgentRole
from gateway.settings import Settings
from tests.gateway.agent_support import Console, add_agent
from tests.gateway.rasa_standin import AiohttpClient, ScriptedRasa
from tests.gateway.shop_support import BOT, BOT_TOKEN, SHOP, SHOP_TOKEN, order_body
from tests.hours_support import NEXT_OPEN_DAY_DE, hours_file
from tests.support import Shopper, free_port

S = ConversationState
PASSING_ON = "Ich gebe Sie an unser Logistik-Team weiter."
def _handoff_turn(team: str = "logistics") -> dict[str, Any]:
    return {"messages": [{"text": PASSING_ON}], "intent": {"name": "request_human", "confidence": 0.99},
            "retrieval": None, "handoff": {"team": team, "reason": "shopper_asked"}}


GREETING = {"messages": [{"text": "Hallo! Wie kann ich helfen?"}],
            "intent": {"name": "greet", "confidence": 0.98}, "retrieval": None, "handoff": None}


@dataclasses.dataclass
class World:
    gateway: TestClient  # type: ignore[type-arg]
    rasa: ScriptedRasa
    redis: Redis
    consoles: list[Console]
    shoppers: list[Shopper]

    @property
    def url(self) -> str:
        return str(self.gateway.make_url("")).rstrip("/")

    async def console(self, email: str, team: Team = Team.LOGISTICS, *, role: AgentRole = AgentRole.AGENT,
                      name: str | None = None, online: bool = True) -> Console:
        await add_agent(self.redis, email, team, name=name, role=role)
        console = await Console(self.url, email).login()
        self.consoles.append(console)
        if not online:
            await console.call("PUT", "/presence", {"status": "away"})
        await console.connect()
        return console

    async def shopper(self, locale: str = "de") -> Shopper:
        shopper = Shopper(self.url + "/", locale=locale)
        await shopper.connect()
        self.shoppers.append(shopper)
        return shopper

    async def conversation(self, shopper: Shopper) -> Conversation:
        assert shopper.session_id is not None
        found = await ConversationStore(self.redis).find_latest(Channel.WEB, shopper.session_id)
        assert found is not None
        return found

    async def hand_over(self, shopper: Shopper) -> Conversation:
        """The shopper asks for a person; their conversation, once the bot's words arrived."""
        await shopper.say("Ich möchte mit einem Menschen sprechen")
        assert (await shopper.expect("bot_uttered"))["text"] == PASSING_ON
        return await self.conversation(shopper)

    async def close(self) -> None:
        for shopper in self.shoppers:
            await shopper.close()
        for console in self.consoles:
            await console.close()

    async def messages(self, conversation_id: str) -> list[tuple[Author | None, str | None]]:
        history = await ConversationStore(self.redis).history(conversation_id)
        return [(event.author, event.text) for event in history if event.kind is EventKind.MESSAGE]


async def _world(aiohttp_client: AiohttpClient, base_settings: Settings, redis: Redis, hours: Path) -> World:
    rasa = ScriptedRasa(_handoff_turn())
    settings = base_settings.replace(
        port=free_port(), rasa_url=await rasa.start(aiohttp_client), agent_max_chats=2,
        business_hours_file=hours, shop_token=SHOP_TOKEN, bot_token=BOT_TOKEN,
    )
    return World(await aiohttp_client(create_app(settings)), rasa, redis, [], [])


@pytest.fixture
async def world(aiohttp_client: AiohttpClient, base_settings: Settings, redis: Redis,
                tmp_path: Path) -> AsyncIterator[World]:
    world = await _world(aiohttp_client, base_settings, redis, hours_file(tmp_path, open_now=True))
    yield world
    await world.close()


def _is(conversation_id: str, state: S) -> Any:
    return lambda summary: summary["id"] == conversation_id and summary["state"] == state.value


# --- waiting ------------------------------------------------------------------------------


async def test_a_queued_shopper_learns_their_place_and_the_console_sees_the_queue_live(world: World) -> None:
    console = await world.console("mara@shop.example", online=False)  # away: nothing is auto-assigned
    first, second = await world.shopper(), await world.shopper(locale="en")

    one = await world.hand_over(first)
    assert (await first.expect("bot_uttered"))["text"].endswith("Sie sind als Nächstes dran.")
    seen = await console.expect("conversation", _is(one.id, S.QUEUED))
    two = await world.hand_over(second)
    assert "number 2 in the queue" in (await second.expect("bot_uttered"))["text"]

    assert (seen["team"], seen["reason"], seen["channel"]) == ("logistics", "shopper_asked", "web")
    assert seen["preview"] == "Ich möchte mit einem Menschen sprechen" and seen["queued_at"] > 0
    queues = await console.get("/queues")
    assert [entry["id"] for entry in queues["queues"]["logistics"]] == [one.id, two.id]
    assert list(queues["queues"])[0] == "logistics"  # the agent's own team first
    assert queues["mine"] == []
    # The bot stays silent while the case waits; a console watching it hears the shopper.
    await console.socket.emit("watch", {"conversation_id": one.id}, namespace="/agent")
    await asyncio.sleep(0.1)
    await first.say("Noch da?")
    live = await console.expect("event", lambda e: e["conversation_id"] == one.id and e["event"]["kind"] == "message")
    assert live["event"]["text"] == "Noch da?" and live["event"]["author"] == "shopper"
    assert len(world.rasa.received) == 2


async def test_out_of_hours_the_shopper_is_told_when_the_team_answers_and_the_reply_waits(
    aiohttp_client: AiohttpClient, base_settings: Settings, redis: Redis, tmp_path: Path
) -> None:
    world = await _world(aiohttp_client, base_settings, redis, hours_file(tmp_path, open_now=False))
    try:
        shopper = await world.shopper()
        conversation = await world.hand_over(shopper)
        notice = await shopper.expect("bot_uttered")
        console = await world.console("anna@shop.example", name="Anna", online=False)
        await shopper.close()  # the shopper leaves; the case waits
        status, _ = await console.call("POST", f"/conversations/{conversation.id}/messages",
                                       {"text": "Guten Morgen! Ich kümmere mich darum."})
        back = Shopper(world.url + "/", session_id=shopper.session_id)
        world.shoppers.append(back)
        await back.connect()
        history = await back.history()
    finally:
        await world.close()

    assert notice["text"].startswith("Unser Team ist gerade nicht im Haus und antwortet am " + NEXT_OPEN_DAY_DE)
    assert (await ConversationStore(redis).get(conversation.id)).state is S.ASSIGNED and status == 201
    assert history[-1]["text"] == "Guten Morgen! Ich kümmere mich darum." and history[-1]["agent_name"] == "Anna"


# --- taking a conversation ------------------------------------------------------------------------


async def test_an_online_agent_gets_the_conversation_and_the_shopper_is_told_who(world: World) -> None:
    console = await world.console("anna@shop.example", name="Anna")
    shopper = await world.shopper()

    conversation = await world.hand_over(shopper)

    assigned = await console.expect("conversation", _is(conversation.id, S.ASSIGNED))
    assert (assigned["agent"], assigned["agent_name"]) == ("anna@shop.example", "Anna")
    joined = await shopper.expect("bot_uttered")
    assert joined["text"] == "Anna kümmert sich jetzt um Ihr Anliegen." and joined["author"] == "system"
    mine = (await console.get("/queues"))["mine"]
    assert [entry["id"] for entry in mine] == [conversation.id]

    status, sent = await console.call("POST", f"/conversations/{conversation.id}/messages",
                                      {"text": "Hallo, ich bin Anna. Worum geht es?"})
    reply = await shopper.expect("bot_uttered")
    assert status == 201 and sent["author"] == "agent"
    assert (reply["text"], reply["author"], reply["agent_name"]) == (
        "Hallo, ich bin Anna. Worum geht es?", "agent", "Anna")
    # Assigned to her, so she hears the shopper without watching.
    await shopper.say("Mein Paket ist nicht da.")
    heard = await console.expect("event", lambda e: e["event"].get("text") == "Mein Paket ist nicht da.")
    assert heard["conversation_id"] == conversation.id
    assert len(world.rasa.received) == 1, "the bot stays silent while a person has the case"


async def test_round_robin_within_capacity_and_a_freed_slot_takes_the_next(world: World) -> None:
    first = await world.console("a@shop.example")
    await world.console("b@shop.example")
    conversations = []
    for _ in range(5):
        conversations.append(await world.hand_over(await world.shopper()))
    await asyncio.sleep(0.3)

    store = ConversationStore(world.redis)
    states = [await store.get(c.id) for c in conversations]
    owners = [c.agent for c in states]
    # Capacity 2 each: four assigned alternately, the fifth waits.
    assert owners[:4] == ["a@shop.example", "b@shop.example", "a@shop.example", "b@shop.example"]
    assert states[4].state is S.QUEUED
    assert await world.redis.zcard(keys.agent_chats("a@shop.example")) == 2

    status, _ = await first.call("POST", f"/conversations/{conversations[0].id}/resolve")
    assert status == 200
    await asyncio.sleep(0.2)
    assert (await store.get(conversations[4].id)).agent == "a@shop.example"


async def test_an_agent_who_is_away_gets_nothing_and_claims_by_hand(world: World) -> None:
    console = await world.console("away@shop.example", online=False)
    conversation = await world.hand_over(await world.shopper())
    await asyncio.sleep(0.2)
    assert (await ConversationStore(world.redis).get(conversation.id)).state is S.QUEUED

    status, claimed = await console.call("POST", f"/conversations/{conversation.id}/claim")
    assert status == 200 and (claimed["state"], claimed["agent"]) == ("assigned", "away@shop.example")
    agents = (await console.get("/agents"))["agents"]
    assert [(a["email"], a["presence"], a["open_chats"]) for a in agents] == [("away@shop.example", "away", 1)]


async def test_two_agents_claiming_at_once_exactly_one_wins(world: World) -> None:
    consoles = [await world.console(f"{name}@shop.example", online=False) for name in ("kim", "lea")]
    shopper = await world.shopper()
    conversation = await world.hand_over(shopper)
    await shopper.expect("bot_uttered")  # the place in the queue

    results = await asyncio.gather(*(c.call("POST", f"/conversations/{conversation.id}/claim") for c in consoles))

    assert sorted(status for status, _ in results) == [200, 409]
    winner = next(body["agent"] for status, body in results if status == 200)
    loser = next(body for status, body in results if status == 409)
    assert loser["error"] == "conflict" and winner in loser["message"]
    await asyncio.sleep(0.2)
    joined = [text for author, text in await world.messages(conversation.id)
              if author is Author.SYSTEM and text and "kümmert sich" in text]
    assert len(joined) == 1, "the shopper is told once who took over"


async def test_a_reply_claims_a_waiting_conversation_but_not_a_colleagues(world: World) -> None:
    kim = await world.console("kim@shop.example", online=False)
    lea = await world.console("lea@shop.example", online=False)
    conversation = await world.hand_over(await world.shopper())

    status, _ = await kim.call("POST", f"/conversations/{conversation.id}/messages", {"text": "Ich übernehme."})
    taken, body = await lea.call("POST", f"/conversations/{conversation.id}/messages", {"text": "Ich auch!"})

    assert status == 201 and (taken, body["error"]) == (409, "conflict")
    assert (await ConversationStore(world.redis).get(conversation.id)).agent == "kim@shop.example"
    assert (Author.AGENT, "Ich auch!") not in await world.messages(conversation.id)


# --- transfer, notes, resolve -------------------------------------------------------------


async def test_a_shopper_message_during_a_transfer_is_neither_lost_nor_duplicated(world: World) -> None:
    anna = await world.console("anna@shop.example")
    billing = await world.console("ben@shop.example", Team.BILLING, online=False)
    shopper = await world.shopper()
    conversation = await world.hand_over(shopper)
    await anna.expect("conversation", _is(conversation.id, S.ASSIGNED))
    said = [f"Nachricht {n}" for n in range(12)]

    async def chatter() -> None:
        for text in said:
            await shopper.say(text)
            await asyncio.sleep(0.005)

    transfer, _ = await asyncio.gather(
        anna.call("POST", f"/conversations/{conversation.id}/transfer", {"team": "billing"}), chatter(),
    )
    await asyncio.sleep(0.5)

    assert transfer[0] == 200 and transfer[1]["state"] == "queued" and transfer[1]["team"] == "billing"
    shopper_lines = [text for author, text in await world.messages(conversation.id) if author is Author.SHOPPER]
    assert [line for line in shopper_lines if line in said] == said, "each message once, in order"
    case = await billing.get(f"/conversations/{conversation.id}")
    assert [e["text"] for e in case["events"] if e["author"] == "shopper" and e["text"] in said] == said
    assert await world.redis.zcard(keys.agent_chats("anna@shop.example")) == 0
    assert len(world.rasa.received) == 1


async def test_only_the_owner_or_a_supervisor_transfers_or_resolves(world: World) -> None:
    anna = await world.console("anna@shop.example")
    other = await world.console("otto@shop.example", online=False)
    boss = await world.console("sue@shop.example", Team.GENERAL, role=AgentRole.SUPERVISOR, online=False)
    conversation = await world.hand_over(await world.shopper())
    await anna.expect("conversation", _is(conversation.id, S.ASSIGNED))

    refused, body = await other.call("POST", f"/conversations/{conversation.id}/resolve")
    moved, summary = await boss.call("POST", f"/conversations/{conversation.id}/transfer",
                                     {"agent": "otto@shop.example"})

    assert (refused, body["error"]) == (403, "not_permitted")
    assert moved == 200 and summary["agent"] == "otto@shop.example"
    assert (await other.call("POST", f"/conversations/{conversation.id}/resolve"))[0] == 200


async def test_a_private_note_stays_on_the_case(world: World) -> None:
    anna = await world.console("anna@shop.example", name="Anna")
    shopper = await world.shopper()
    conversation = await world.hand_over(shopper)
    await shopper.expect("bot_uttered")  # Anna joined

    status, note = await anna.call("POST", f"/conversations/{conversation.id}/notes",
                                   {"text": "Kundin wirkt verärgert, Gutschein anbieten?"})

    await shopper.no_event("bot_uttered", within=0.4)
    assert status == 201 and note["kind"] == "note" and note["data"]["agent_name"] == "Anna"
    case = await anna.get(f"/conversations/{conversation.id}")
    assert [e["text"] for e in case["events"] if e["kind"] == "note"] == ["Kundin wirkt verärgert, Gutschein anbieten?"]


async def test_resolving_while_the_shopper_types_loses_nothing_and_asks_once(world: World) -> None:
    anna = await world.console("anna@shop.example")
    shopper = await world.shopper()
    conversation = await world.hand_over(shopper)
    await anna.expect("conversation", _is(conversation.id, S.ASSIGNED))
    said = [f"Noch eine Frage {n}" for n in range(8)]
    world.rasa.reply = GREETING

    async def chatter() -> None:
        for text in said:
            await shopper.say(text)
            await asyncio.sleep(0.005)

    (status, _), _ = await asyncio.gather(anna.call("POST", f"/conversations/{conversation.id}/resolve"), chatter())
    await asyncio.sleep(0.8)

    assert status == 200
    messages = await world.messages(conversation.id)
    assert [text for author, text in messages if author is Author.SHOPPER and text in said] == said
    questions = [text for author, text in messages if author is Author.SYSTEM and text and "Wie zufrieden" in text]
    assert len(questions) == 1
    # Messages after the resolve started a fresh bot turn: none was swallowed as an answer.
    assert (await ConversationStore(world.redis).get(conversation.id)).state is S.BOT


async def test_after_resolve_the_shopper_rates_comments_and_then_talks_to_the_bot_again(world: World) -> None:
    anna = await world.console("anna@shop.example")
    shopper = await world.shopper()
    conversation = await world.hand_over(shopper)
    await shopper.expect("bot_uttered")  # Anna joined

    assert (await anna.call("POST", f"/conversations/{conversation.id}/resolve"))[0] == 200
    question = await shopper.expect("bot_uttered")
    await shopper.say("4")
    ask_comment = await shopper.expect("bot_uttered")
    await shopper.say("Schnell und freundlich <b>danke</b>")
    thanks = await shopper.expect("bot_uttered")
    world.rasa.reply = GREETING
    await shopper.say("Hallo")
    fresh = await shopper.expect("bot_uttered")

    assert [reply["payload"] for reply in question["quick_replies"]] == ["1", "2", "3", "4", "5"]
    assert ask_comment["quick_replies"][0]["payload"] == "/csat_no_comment"
    assert thanks["text"].startswith("Vielen Dank für Ihre Rückmeldung")
    assert fresh["text"] == "Hallo! Wie kann ich helfen?"
    case = await anna.get(f"/conversations/{conversation.id}")
    assert case["csat"] == {"score": 4, "comment": "Schnell und freundlich <b>danke</b>"}
    assert case["conversation"]["state"] == "bot"
    assert [e["data"]["score"] for e in case["events"] if e["kind"] == "csat"] == [4, 4]


# --- the whole case, typing, access ----------------------------------------------------------


async def test_the_whole_case_shows_what_the_bot_understood_and_the_proven_order(world: World) -> None:
    anna = await world.console("anna@shop.example")
    shopper = await world.shopper()
    conversation = await world.hand_over(shopper)
    response = await world.gateway.put("/api/v1/orders/104233", json=order_body(), headers=SHOP)
    assert response.status in (200, 201)
    response = await world.gateway.post(f"/api/v1/conversations/{conversation.id}/verifications", headers=BOT,
                                        json={"order_id": "104233", "proof": {"kind": "postal_code", "value": "10115"}})
    assert response.status == 200, await response.text()

    case = await anna.get(f"/conversations/{conversation.id}")

    bot = next(e for e in case["events"] if e["author"] == "bot")
    assert (bot["data"]["intent"], bot["data"]["confidence"]) == ("request_human", 0.99)
    assert [order["order_id"] for order in case["orders"]] == ["104233"]
    assert case["orders"][0]["tracking_number"] == "00340434161234567890"
    states = [(e["data"]["to"], e["data"].get("team")) for e in case["events"] if e["kind"] == "state"]
    assert states == [("bot", None), ("queued", "logistics"), ("assigned", "logistics")]
    assert case["earlier"] == [] and case["csat"] is None


async def test_typing_shows_both_ways(world: World) -> None:
    anna = await world.console("anna@shop.example", name="Anna")
    shopper = await world.shopper()
    conversation = await world.hand_over(shopper)
    await anna.expect("conversation", _is(conversation.id, S.ASSIGNED))

    await shopper.client.emit("typing", {"typing": True})
    seen = await anna.expect("typing")
    await anna.socket.emit("typing", {"conversation_id": conversation.id, "typing": True}, namespace="/agent")
    shown = await shopper.expect("agent_typing")

    assert seen == {"conversation_id": conversation.id, "typing": True}
    assert shown == {"typing": True, "agent_name": "Anna"}


async def test_the_api_and_the_live_feed_need_a_session_and_writes_need_the_csrf_token(world: World) -> None:
    anna = await world.console("anna@shop.example", online=False)
    conversation = await world.hand_over(await world.shopper())
    stranger = Console(world.url, "nobody@shop.example")
    world.consoles.append(stranger)

    assert (await stranger.call("GET", "/queues"))[0] == 401
    assert (await stranger.call("GET", f"/conversations/{conversation.id}"))[0] == 401
    assert (await anna.call("POST", f"/conversations/{conversation.id}/claim", csrf=False))[0] == 403
    with pytest.raises(Exception):
        await stranger.connect()
    anna.cookie, cookie = "forged", anna.cookie
    second = Console(world.url, anna.email, cookie="forged")
    world.consoles.append(second)
    with pytest.raises(Exception):
        await second.connect()
    anna.cookie = cookie
    assert (await anna.call("GET", "/conversations/nope"))[0] == 404
