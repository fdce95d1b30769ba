"""Review of issue 14: storefront events cannot fill Redis from one address. They are counted
by the shared limiter per socket and per address, and a visitor who never wrote is kept for
a day only; the configured visitor retention starts with their conversation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from gateway import keys
from gateway.proactive.visitors import UNWRITTEN_VISITOR_TTL_SECONDS, VISITOR_TTL_SECONDS, VisitorStore
from gateway.settings import Settings
from tests.gateway.webchat.support import AiohttpClient, Chat, limits_file, start_chat

PAGE = {"type": "page_view", "page_type": "category", "url": "https://nordlicht-home.example/c/kissen",
        "title": "Kissen"}


@pytest.fixture
async def chat(aiohttp_client: AiohttpClient, base_settings: Settings, redis: Redis,
               tmp_path: Path) -> AsyncIterator[Chat]:
    world = await start_chat(aiohttp_client, base_settings, redis, tmp_path)
    yield world
    await world.close()


async def _tight(aiohttp_client: AiohttpClient, base_settings: Settings, redis: Redis, tmp_path: Path,
                 **rules: str) -> Chat:
    return await start_chat(aiohttp_client, base_settings, redis, tmp_path,
                            limits_file=limits_file(tmp_path, **rules))


async def test_the_sockets_of_one_address_share_a_storefront_event_budget(
    aiohttp_client: AiohttpClient, base_settings: Settings, redis: Redis, tmp_path: Path,
) -> None:
    chat = await _tight(aiohttp_client, base_settings, redis, tmp_path,
                        web_storefront_per_address="1/hour burst 5")
    try:
        shoppers = [await chat.shopper() for _ in range(3)]
        for shopper in shoppers:
            for _ in range(3):
                await shopper.client.emit("storefront_event", PAGE)
            await shopper.history()  # its events before it are handled by now
        visitors = VisitorStore(redis)
        trails = [len(await visitors.trail(str(shopper.session_id))) for shopper in shoppers]
        assert trails == [3, 2, 0]
        assert await redis.exists(keys.visitor(str(shoppers[2].session_id))) == 0
        # Dropped silently, like typing: nothing the shopper would see.
        assert all(shopper.inbox.empty() for shopper in shoppers)
    finally:
        await chat.close()


async def test_one_socket_has_a_storefront_event_budget_of_its_own(
    aiohttp_client: AiohttpClient, base_settings: Settings, redis: Redis, tmp_path: Path,
) -> None:
    chat = await _tight(aiohttp_client, base_settings, redis, tmp_path,
                        web_storefront_per_socket="1/hour burst 2")
    try:
        first, second = await chat.shopper(), await chat.shopper()
        for shopper in (first, second):
            for _ in range(4):
                await shopper.client.emit("storefront_event", PAGE)
            await shopper.history()
        visitors = VisitorStore(redis)
        assert [len(await visitors.trail(str(s.session_id))) for s in (first, second)] == [2, 2]
    finally:
        await chat.close()


async def test_a_visitor_who_never_wrote_is_kept_a_day_and_one_who_wrote_as_configured(
    chat: Chat, redis: Redis,
) -> None:
    shopper = await chat.shopper()
    await shopper.client.emit("storefront_event", PAGE)
    await shopper.history()
    session_id = str(shopper.session_id)
    visitor_keys = (keys.visitor(session_id), keys.visitor_trail(session_id))
    for key in visitor_keys:
        assert 0 < await redis.ttl(key) <= UNWRITTEN_VISITOR_TTL_SECONDS

    await shopper.say("Hallo")
    await shopper.expect("bot_uttered")
    for key in visitor_keys:
        assert UNWRITTEN_VISITOR_TTL_SECONDS < await redis.ttl(key) <= VISITOR_TTL_SECONDS
    # Later events keep the visitor for the configured time too.
    await shopper.client.emit("storefront_event", {**PAGE, "title": "Decken"})
    await shopper.history()
    for key in visitor_keys:
        assert UNWRITTEN_VISITOR_TTL_SECONDS < await redis.ttl(key) <= VISITOR_TTL_SECONDS
    assert [page["title"] for page in await VisitorStore(redis).trail(session_id)] == ["Kissen", "Decken"]


async def test_a_shopper_who_wrote_before_browsing_keeps_the_configured_retention(chat: Chat, redis: Redis) -> None:
    shopper = await chat.shopper()
    await shopper.say("Hallo")
    await shopper.expect("bot_uttered")
    await shopper.client.emit("storefront_event", PAGE)
    await shopper.history()
    session_id = str(shopper.session_id)
    for key in (keys.visitor(session_id), keys.visitor_trail(session_id)):
        assert UNWRITTEN_VISITOR_TTL_SECONDS < await redis.ttl(key) <= VISITOR_TTL_SECONDS
