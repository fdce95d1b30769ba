"""The web chat's app under test: a real gateway app, a scripted Rasa, the tests' Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from gateway.settings import Settings
from tests.gateway.webchat.support import AiohttpClient, Chat, start_chat


@pytest.fixture
async def chat(aiohttp_client: AiohttpClient, base_settings: Settings, redis: Redis,
               tmp_path: Path) -> AsyncIterator[Chat]:
    """The gateway with the shipped limits (config/limits.yml)."""
    world = await start_chat(aiohttp_client, base_settings, redis, tmp_path)
    yield world
    await world.close()
