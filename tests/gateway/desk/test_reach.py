"""Agents' reach (gateway/desk/reach.py): an agent reads and works their team's queue and their
own chats, a supervisor everything, through the Agent API and the /agent socket alike; and
every /agent event refuses a payload it cannot use with one clear answer.

Real gateway, real Redis, real Socket.IO clients; Rasa is the HTTP stand-in that hands
every conversation to the team a test names (tests/gateway/desk/test_escalation.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from core.types import ConversationState, Team
from gateway.conversations.contacts import EMAIL_IDENTITY, Contacts
from gateway.desk.agents import AgentRole
from gateway.settings import Settings
from tests.gateway.agent_support import Console
from tests.gateway.desk.test_escalation import World, _handoff_turn, _is, _world
from tests.gateway.rasa_standin import AiohttpClient
from tests.hours_support import hours_file

S = ConversationState
NAMESPACE = "/agent"
UNKNOWN = {"error": "unknown_conversation", "message": "no such conversation"}


@pytest.fixture
async def world(aiohttp_client: AiohttpClient, base_settings: Settings, redis: Redis,
                tmp_path: Path) -> AsyncIterator[World]:
    world = await _world(aiohttp_client, base_settings, redis, hours_file(tmp_path, open_now=True))
    yield world
    await world.close()


async def _until(console: Console, event: str, where: Callable[[Any], bool]) -> list[tuple[str, Any]]:
    """Everything the console received up to the first `event` satisfying `where` (the last one)."""
    seen = []
    async with asyncio.timeout(10):
        while True:
            name, data = await console.events.get()
            seen.append((name, data))
            if name == event and where(data):
                return seen


async def _watch(console: Console, conversation_id: str) -> Any:
    """Watch a conversation; the answer (an ack) says it is done or why not."""
    return await console.socket.call("watch", {"conversation_id": conversation_id}, namespace=NAMESPACE)


def _drain(console: Console) -> None:
    while not console.events.empty():
        console.events.get_nowait()


def _mentions(seen: list[tuple[str, Any]], conversation_id: str) -> list[tuple[str, Any]]:
    return [(name, data) for name, data in seen if isinstance(data, dict)
            and conversation_id in (data.get("id"), data.get("conversation_id"))]


async def _every_route(console: Console, conversation_id: str) -> dict[str, tuple[int, Any]]:
    path = f"/conversations/{conversation_id}"
    return {
        "read": await console.call("GET", path),
        "suggestion": await console.call("GET", f"{path}/suggestion"),
        "claim": await console.call("POST", f"{path}/claim"),
        "reply": await console.call("POST", f"{path}/messages", {"text": "Ich übernehme."}),
        "note": await console.call("POST", f"{path}/notes", {"text": "notiert"}),
        "transfer": await console.call("POST", f"{path}/transfer", {"team": "billing"}),
        "resolve": await console.call("POST", f"{path}/resolve"),
        "handback": await console.call("POST", f"{path}/handback"),
    }


# --- another team's conversation ------------------------------------------------------------


async def test_an_agent_cannot_read_work_or_hear_another_teams_conversation_and_a_supervisor_can(
    world: World,
) -> None:
    ben = await world.console("ben@shop.example", Team.BILLING, online=False)
    lea = await world.console("lea@shop.example", Team.LOGISTICS, online=False)
    sue = await world.console("sue@shop.example", Team.GENERAL, role=AgentRole.SUPERVISOR, online=False)
    shopper = await world.shopper()
    logistics = await world.hand_over(shopper)
    await lea.expect("conversation", _is(logistics.id, S.QUEUED))
    await sue.expect("conversation", _is(logistics.id, S.QUEUED))

    refused = await _every_route(ben, logistics.id)
    watch_refused = await _watch(ben, logistics.id)
    queues = await ben.get("/queues")

    # Out of reach is answered exactly as an id that does not exist: nothing is confirmed.
    assert refused == {route: (404, UNKNOWN) for route in refused}
    assert await ben.call("GET", "/conversations/no-such-id") == (404, UNKNOWN)
    assert watch_refused["code"] == "unknown_conversation" and watch_refused["event"] == "watch"
    assert list(queues["queues"]) == ["billing"]
    assert logistics.id not in [entry["id"] for entry in queues["queues"]["billing"]]
    # Nothing was done to the case by the refused calls.
    assert (await lea.get(f"/conversations/{logistics.id}"))["conversation"]["state"] == "queued"

    # The shopper writes on: the team's watching colleague and the supervisor hear it, Ben
    # hears nothing of it before his own team's next conversation reaches him.
    for console in (lea, sue):
        assert await _watch(console, logistics.id) == {"conversation_id": logistics.id}
    await shopper.say("Noch da?")
    await lea.expect("event", lambda e: e["conversation_id"] == logistics.id and e["event"].get("text") == "Noch da?")
    await sue.expect("event", lambda e: e["conversation_id"] == logistics.id and e["event"].get("text") == "Noch da?")
    world.rasa.reply = _handoff_turn("billing")
    billing = await world.hand_over(await world.shopper())
    seen_by_ben = await _until(ben, "conversation", _is(billing.id, S.QUEUED))

    assert _mentions(seen_by_ben, logistics.id) == []
    supervisor_queues = await sue.get("/queues")
    assert list(supervisor_queues["queues"])[0] == "general" and set(supervisor_queues["queues"]) == set(Team)
    assert [entry["id"] for entry in supervisor_queues["queues"]["logistics"]] == [logistics.id]
    assert (await sue.call("POST", f"/conversations/{logistics.id}/transfer", {"team": "billing"}))[0] == 200
    moved = await ben.expect("conversation", _is(logistics.id, S.QUEUED))
    assert moved["team"] == "billing"
    assert (await ben.call("POST", f"/conversations/{logistics.id}/claim"))[0] == 200


async def test_a_chat_transferred_to_another_team_leaves_the_agents_reach_and_live_feed(world: World) -> None:
    anna = await world.console("anna@shop.example", Team.LOGISTICS, name="Anna")
    ben = await world.console("ben@shop.example", Team.BILLING, online=False)
    shopper = await world.shopper()
    conversation = await world.hand_over(shopper)
    await anna.expect("conversation", _is(conversation.id, S.ASSIGNED))
    await _watch(anna, conversation.id)

    status, summary = await anna.call("POST", f"/conversations/{conversation.id}/transfer", {"team": "billing"})
    # Anna's console learns where it went (her list drops it), Ben's that it waits for billing.
    told_anna = await anna.expect("conversation", _is(conversation.id, S.QUEUED))
    told_ben = await ben.expect("conversation", _is(conversation.id, S.QUEUED))

    assert status == 200 and (summary["team"], told_anna["team"], told_ben["team"]) == ("billing",) * 3
    assert await anna.call("GET", f"/conversations/{conversation.id}") == (404, UNKNOWN)
    assert await anna.call("POST", f"/conversations/{conversation.id}/claim") == (404, UNKNOWN)
    assert (await anna.get("/queues"))["mine"] == []

    assert await _watch(ben, conversation.id) == {"conversation_id": conversation.id}
    _drain(anna)
    await shopper.say("Hallo? Wer ist jetzt da?")
    await ben.expect("event", lambda e: e["event"].get("text") == "Hallo? Wer ist jetzt da?")
    next_one = await world.hand_over(await world.shopper())
    seen_by_anna = await _until(anna, "conversation", _is(next_one.id, S.ASSIGNED))

    assert _mentions(seen_by_anna, conversation.id) == [], "her socket left the conversation's room"


async def test_a_resolved_chat_stays_with_its_agent_and_team(world: World) -> None:
    anna = await world.console("anna@shop.example", Team.LOGISTICS)
    lea = await world.console("lea@shop.example", Team.LOGISTICS, online=False)
    ben = await world.console("ben@shop.example", Team.BILLING, online=False)
    conversation = await world.hand_over(await world.shopper())
    await anna.expect("conversation", _is(conversation.id, S.ASSIGNED))

    assert (await anna.call("POST", f"/conversations/{conversation.id}/resolve"))[0] == 200

    assert (await anna.get(f"/conversations/{conversation.id}"))["conversation"]["state"] == "resolved"
    assert (await lea.get(f"/conversations/{conversation.id}"))["conversation"]["state"] == "resolved"
    assert await ben.call("GET", f"/conversations/{conversation.id}") == (404, UNKNOWN)


async def test_a_shop_may_let_every_agent_reach_every_conversation(
    aiohttp_client: AiohttpClient, base_settings: Settings, redis: Redis, tmp_path: Path
) -> None:
    world = await _world(aiohttp_client, base_settings.replace(agent_reach="all"), redis,
                         hours_file(tmp_path, open_now=True))
    try:
        ben = await world.console("ben@shop.example", Team.BILLING, online=False)
        conversation = await world.hand_over(await world.shopper())
        live = await ben.expect("conversation", _is(conversation.id, S.QUEUED))
        queues = await ben.get("/queues")
        claimed = await ben.call("POST", f"/conversations/{conversation.id}/claim")
    finally:
        await world.close()

    assert live["team"] == "logistics" and list(queues["queues"])[0] == "billing"
    assert [entry["id"] for entry in queues["queues"]["logistics"]] == [conversation.id]
    assert claimed[0] == 200 and claimed[1]["agent"] == "ben@shop.example"


# --- payloads the /agent events cannot use --------------------------------------------------

# What a client may send instead of an object: nothing at all, null, a list, a number, text.
NO_PAYLOAD: tuple[Any, ...] = ()
BAD_PAYLOADS: list[tuple[Any, ...]] = [NO_PAYLOAD, (None,), ([1, 2],), (7,), ("conv-1",), ({"conversation_id": 7},)]


@pytest.mark.parametrize("event", ["watch", "unwatch", "typing"])
async def test_an_agent_event_without_a_usable_payload_gets_a_clear_error_and_one_log_line(
    world: World, event: str, caplog: pytest.LogCaptureFixture
) -> None:
    anna = await world.console("anna@shop.example", Team.LOGISTICS, online=False)

    answers = []
    with caplog.at_level(logging.INFO):
        for payload in BAD_PAYLOADS:
            caplog.clear()
            # A tuple is sent as the packet's arguments: () sends the event alone.
            await anna.socket.emit(event, payload, namespace=NAMESPACE)
            answers.append(await anna.expect("storechat_error"))
            lines = [record for record in caplog.records if "invalid_payload" in record.getMessage()]
            assert len(lines) == 1, [record.getMessage() for record in caplog.records]
            assert not any(record.exc_info for record in caplog.records), "no traceback"

    assert answers == [{"code": "invalid_payload", "event": event,
                        "message": 'send {"conversation_id": "<id>"}'}] * len(BAD_PAYLOADS)
    assert anna.socket.connected
    # The socket still works: a good payload is answered as before.
    assert (await anna.get("/me"))["agent"]["email"] == "anna@shop.example"


# --- one shopper, one record ------------------------------------------------------------------


async def test_an_agent_with_a_shoppers_chat_at_the_desk_reads_that_shoppers_other_conversations(
    world: World,
) -> None:
    ben = await world.console("ben@shop.example", Team.BILLING, online=False)
    gus = await world.console("gus@shop.example", Team.GENERAL, online=False)
    earlier = await world.hand_over(await world.shopper())  # with logistics
    world.rasa.reply = _handoff_turn("billing")
    now = await world.hand_over(await world.shopper())  # with Ben's team
    assert (await ben.call("GET", f"/conversations/{earlier.id}"))[0] == 404

    # An e-mail proven in both chats says they are one person's (gateway/conversations/contacts.py).
    contacts = Contacts(world.redis)
    for conversation in (earlier, now):
        await contacts.link_conversation(conversation.id, EMAIL_IDENTITY, "anna@example.com")

    status, case = await ben.call("GET", f"/conversations/{now.id}")
    assert status == 200 and earlier.id in [entry["id"] for entry in case["earlier"]]
    assert (await ben.call("GET", f"/conversations/{earlier.id}"))[0] == 200
    # A third team, with none of her chats at the desk, still reaches neither.
    assert (await gus.call("GET", f"/conversations/{earlier.id}"))[0] == 404
    assert (await gus.call("GET", f"/conversations/{now.id}"))[0] == 404


async def test_a_conversation_read_through_its_shopper_is_not_worked_and_its_watcher_stays(
    world: World,
) -> None:
    ben = await world.console("ben@shop.example", Team.BILLING, online=False)
    lea = await world.console("lea@shop.example", Team.LOGISTICS, online=False)
    earlier = await world.hand_over(await world.shopper())  # waiting for logistics
    world.rasa.reply = _handoff_turn("billing")
    now = await world.hand_over(await world.shopper())  # with Ben's team
    contacts = Contacts(world.redis)
    for conversation in (earlier, now):
        await contacts.link_conversation(conversation.id, EMAIL_IDENTITY, "anna@example.com")
    assert await _watch(ben, earlier.id) == {"conversation_id": earlier.id}

    answers = await _every_route(ben, earlier.id)

    # Ben reads the logistics chat (the shopper's record is whole) but does not work it.
    assert {route: status for route, (status, _) in answers.items()} == {
        "read": 200, "suggestion": 200, "claim": 403, "reply": 403, "note": 403,
        "transfer": 403, "resolve": 403, "handback": 403}
    assert answers["claim"][1]["error"] == "not_your_team"
    assert (await lea.get(f"/conversations/{earlier.id}"))["conversation"]["state"] == "queued"
    assert [e["kind"] for e in (await lea.get(f"/conversations/{earlier.id}"))["events"]].count("note") == 0
    # Lea claims and answers it: Ben, who reads it through the shopper, still hears it.
    assert (await lea.call("POST", f"/conversations/{earlier.id}/claim"))[0] == 200
    assert (await lea.call("POST", f"/conversations/{earlier.id}/messages", {"text": "Bin dran."}))[0] == 201
    await ben.expect("event", lambda e: e["conversation_id"] == earlier.id and e["event"].get("text") == "Bin dran.")


async def _zrevranges(redis: Redis) -> int:
    """How many ZREVRANGE calls the Redis server has answered (the contact index is read with it)."""
    stats = await redis.info("commandstats")
    return int(stats.get("cmdstat_zrevrange", {}).get("calls", 0))


async def test_opening_a_case_looks_the_shoppers_record_up_once(world: World) -> None:
    ben = await world.console("ben@shop.example", Team.BILLING, online=False)
    others = [await world.hand_over(await world.shopper()) for _ in range(4)]  # waiting for logistics
    world.rasa.reply = _handoff_turn("billing")
    now = await world.hand_over(await world.shopper())  # with Ben's team
    contacts = Contacts(world.redis)
    for conversation in (*others, now):
        await contacts.link_conversation(conversation.id, EMAIL_IDENTITY, "anna@example.com")

    before = await _zrevranges(world.redis)
    status, case = await ben.call("GET", f"/conversations/{now.id}")
    looked_up = await _zrevranges(world.redis) - before

    assert status == 200 and {entry["id"] for entry in case["earlier"]} == {other.id for other in others}
    # The contact's conversations are listed once for the case, not again for each of them.
    assert looked_up == 1
