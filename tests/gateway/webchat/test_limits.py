"""Finding 3 (issue 14): web chat's rate limits and conversation caps, per socket and per
address. Tightened rules make the counts exact; the shipped ones must let real shoppers through."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import socketio
from redis.asyncio import Redis

from gateway.settings import Settings
from gateway.limits.clients import parse_networks
from gateway import keys
from tests.gateway.agent_support import Console, add_agent
from core.types import Team
from tests.gateway.webchat.support import (
    AiohttpClient,
    Chat,
    limits_file,
    raw_socket,
    replies_until_quiet,
    start_chat,
)
from tests.support import Shopper


async def tight(aiohttp_client: AiohttpClient, base_settings: Settings, redis: Redis, tmp_path: Path,
                **rules: str) -> Chat:
    return await start_chat(aiohttp_client, base_settings, redis, tmp_path,
                            limits_file=limits_file(tmp_path, **rules))


async def test_a_flooding_socket_is_slowed_down_politely_and_nothing_refused_is_stored(
    aiohttp_client: AiohttpClient, base_settings: Settings, redis: Redis, tmp_path: Path,
) -> None:
    chat = await tight(aiohttp_client, base_settings, redis, tmp_path, web_message_per_socket="1/hour burst 3")
    try:
        shopper = await chat.shopper()
        for index in range(50):
            await shopper.say(f"Nachricht {index}")
        refusals = await replies_until_quiet(shopper, "storechat_error")

        assert await chat.shopper_lines(shopper.session_id) == ["Nachricht 0", "Nachricht 1", "Nachricht 2"]
        assert len(refusals) == 47
        first = refusals[0]
        assert (first["code"], first["event"]) == ("rate_limited", "user_uttered")
        assert first["retry_after"] >= 1 and "zu schnell" in first["message"]
    finally:
        await chat.close()


async def test_sockets_of_one_address_share_its_budget(
    aiohttp_client: AiohttpClient, base_settings: Settings, redis: Redis, tmp_path: Path,
) -> None:
    chat = await tight(aiohttp_client, base_settings, redis, tmp_path, web_message_per_address="1/hour burst 5")
    try:
        shoppers = [await chat.shopper(locale="en") for _ in range(3)]
        for shopper in shoppers:
            for index in range(3):
                await shopper.say(f"line {index}")
            await replies_until_quiet(shopper, "bot_uttered", quiet=0.3)
        stored = [len(await chat.shopper_lines(shopper.session_id)) for shopper in shoppers]
        assert stored == [3, 2, 0]
    finally:
        await chat.close()


async def test_many_session_requests_on_one_socket_create_nothing_and_are_slowed_down(chat: Chat) -> None:
    client, events = await raw_socket(chat.url)
    try:
        for _ in range(200):
            await client.emit("session_request", {"session_id": None, "locale": "de"})
        await client.emit("history_request", {})
        seen = []
        while (item := await asyncio.wait_for(events.get(), 10))[0] != "history":
            seen.append(item)
        confirmed = [data for name, data in seen if name == "session_confirm"]
        refused = [data for name, data in seen if name == "storechat_error"]
        assert len(confirmed) == 5  # web_session_per_socket's burst
        assert {(r["code"], r["event"]) for r in refused} == {("rate_limited", "session_request")}
        assert [key async for key in chat.redis.scan_iter(keys.conversation("*"))] == []
    finally:
        await client.disconnect()


async def test_conversations_per_socket_are_capped(
    aiohttp_client: AiohttpClient, base_settings: Settings, redis: Redis, tmp_path: Path,
) -> None:
    chat = await tight(aiohttp_client, base_settings, redis, tmp_path, web_conversation_per_socket="1/hour burst 2")
    client, events = await raw_socket(chat.url)
    try:
        answers = []
        for index in range(4):
            await client.emit("session_request", {"session_id": None})
            assert (await events.get())[0] == "session_confirm"
            await client.emit("user_uttered", {"message": f"neu {index}"})
            answers.append(await asyncio.wait_for(events.get(), 10))
        assert [name for name, _ in answers] == ["bot_uttered", "bot_uttered", "storechat_error", "storechat_error"]
        assert answers[2][1]["code"] == "rate_limited"
        assert len([key async for key in redis.scan_iter(keys.conversation("*")) if key.count(":") == 2]) == 2
    finally:
        await client.disconnect()


async def test_connections_over_the_addresss_rate_are_refused_with_the_reason(
    aiohttp_client: AiohttpClient, base_settings: Settings, redis: Redis, tmp_path: Path,
) -> None:
    chat = await tight(aiohttp_client, base_settings, redis, tmp_path, web_connect_per_address="1/hour burst 3")
    clients = []
    try:
        for _ in range(3):
            clients.append((await raw_socket(chat.url))[0])
        refused = socketio.AsyncClient(reconnection=False)
        reasons: list[object] = []
        refused.on("connect_error", reasons.append)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await refused.connect(chat.url, socketio_path="socket.io", transports=["websocket"])
        [reason] = reasons
        assert isinstance(reason, dict) and reason["message"] == "rate_limited"
        assert reason["data"]["code"] == "rate_limited" and reason["data"]["retry_after"] >= 1
        assert "zu schnell" in reason["data"]["message"]
    finally:
        for client in clients:
            await client.disconnect()


async def test_behind_a_trusted_proxy_each_forwarded_client_counts_alone(
    aiohttp_client: AiohttpClient, base_settings: Settings, redis: Redis, tmp_path: Path,
) -> None:
    chat = await start_chat(aiohttp_client, base_settings, redis, tmp_path,
                            limits_file=limits_file(tmp_path, web_connect_per_address="1/hour burst 1"),
                            trusted_proxies=parse_networks("127.0.0.1"))
    clients = []
    try:
        for address in ("203.0.113.7", "203.0.113.8"):
            clients.append((await raw_socket(chat.url, **{"X-Forwarded-For": address}))[0])
        with pytest.raises(socketio.exceptions.ConnectionError):
            await raw_socket(chat.url, **{"X-Forwarded-For": "203.0.113.7"})
        # The address a conversation's shopper wrote from, for the verification throttle.
        client, events = await raw_socket(chat.url, **{"X-Forwarded-For": "198.51.100.4"})
        clients.append(client)
        await client.emit("session_request", {})
        session_id = (await events.get())[1]
        await client.emit("user_uttered", {"message": "Hallo"})
        await events.get()
        conversation = await chat.conversation(session_id)
        assert conversation is not None
        assert await redis.get(keys.conversation_client(conversation.id)) == "198.51.100.4"
    finally:
        for client in clients:
            await client.disconnect()


async def test_a_typing_flood_reaches_the_console_only_up_to_the_rate(
    aiohttp_client: AiohttpClient, base_settings: Settings, redis: Redis, tmp_path: Path,
) -> None:
    handoff = {"messages": [{"text": "Ich verbinde Sie."}], "intent": {"name": "request_human", "confidence": 0.99},
               "retrieval": None, "handoff": {"team": "logistics", "reason": "shopper_asked"}}
    chat = await start_chat(aiohttp_client, base_settings, redis, tmp_path, reply=handoff,
                            limits_file=limits_file(tmp_path, web_typing_per_socket="1/hour burst 5"))
    await add_agent(redis, "anna@shop.example", Team.LOGISTICS, name="Anna")
    anna = await (await Console(chat.url.rstrip("/"), "anna@shop.example").login()).connect()
    try:
        shopper = await chat.shopper()
        await shopper.say("Mitarbeiter bitte")
        await shopper.expect("bot_uttered")
        await anna.expect("conversation", lambda summary: summary["state"] == "assigned")
        for index in range(500):
            await shopper.client.emit("typing", {"typing": index % 2 == 0})
        seen = 0
        while True:
            try:
                await anna.expect("typing", timeout=1.0)
            except TimeoutError:
                break
            seen += 1
        assert seen == 5
    finally:
        await anna.close()
        await chat.close()


async def test_the_shipped_limits_let_real_shoppers_through(chat: Chat) -> None:
    """A fast typist, three tabs of one shopper, and an office of 50 shoppers behind one address."""
    typist = await chat.shopper()
    for index in range(15):  # a pasted list, line by line
        await typist.say(f"Zeile {index}")
    await replies_until_quiet(typist, "bot_uttered", quiet=0.3)
    assert len(await chat.shopper_lines(typist.session_id)) == 15

    tabs = [typist] + [await chat.shopper(session_id=typist.session_id) for _ in range(2)]
    assert {tab.session_id for tab in tabs} == {typist.session_id}

    office = [Shopper(chat.url) for _ in range(50)]
    chat.shoppers.extend(office)
    await asyncio.gather(*(shopper.connect() for shopper in office))
    await asyncio.gather(*(shopper.say("Hallo") for shopper in office))
    for shopper in office:
        assert (await shopper.expect("bot_uttered", timeout=20))["text"]
    assert all(event != "storechat_error" for shopper in office for event, _ in shopper.inbox._queue)  # type: ignore[attr-defined]


async def test_history_requests_are_limited_too(
    aiohttp_client: AiohttpClient, base_settings: Settings, redis: Redis, tmp_path: Path,
) -> None:
    chat = await tight(aiohttp_client, base_settings, redis, tmp_path, web_history_per_socket="1/hour burst 2")
    try:
        shopper = await chat.shopper()
        for _ in range(5):
            await shopper.client.emit("history_request", {"session_id": shopper.session_id})
        seen = []
        while len(seen) < 5:
            async with asyncio.timeout(10):
                seen.append(await shopper.inbox.get())

        assert [name for name, _ in seen].count("history") == 2
        refusals = [data for name, data in seen if name == "storechat_error"]
        assert [(r["code"], r["event"]) for r in refusals] == [("rate_limited", "history_request")] * 3
    finally:
        await chat.close()
