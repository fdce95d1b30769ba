from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from redis.asyncio import Redis

from gateway.settings import Settings
from tests.gateway.callbacks.support import AiohttpClient, World, start_world


@pytest_asyncio.fixture
async def world(aiohttp_client: AiohttpClient, base_settings: Settings, redis: Redis,
                tmp_path: Path) -> AsyncIterator[World]:
    world = await start_world(aiohttp_client, base_settings, redis, tmp_path)
    yield world
    await world.close()
