"""Fixtures for the shop API: the real gateway app on a real Redis, no Rasa needed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import BaseTestServer, TestClient
from pytest_aiohttp import AiohttpClient
from redis.asyncio import Redis

from gateway.app import create_app
from gateway.settings import REPO_ROOT, Settings
from tests.gateway.contract_support import conforms_to_the_document
from tests.gateway.shop_support import BOT_TOKEN, CUSTOMER_TOKEN_SECRET, PUBLIC_URL, SHOP_TOKEN


@pytest.fixture
def aiohttp_client(aiohttp_client: AiohttpClient) -> Callable[..., Awaitable[TestClient]]:
    """pytest-aiohttp's test clients, every /api/v1 answer checked against the OpenAPI document."""

    async def client(app: web.Application | BaseTestServer, **kwargs: Any) -> TestClient:
        return await aiohttp_client(app, middlewares=(conforms_to_the_document,), **kwargs)

    return client


@pytest.fixture
def api_settings(redis_url: str, tmp_path: Path) -> Settings:
    return Settings(
        redis_url=redis_url,
        data_dir=tmp_path / "var",
        root=REPO_ROOT,
        shop_token=SHOP_TOKEN,
        bot_token=BOT_TOKEN,
        customer_token_secret=CUSTOMER_TOKEN_SECRET,
        public_url=PUBLIC_URL,
    )


@pytest.fixture
async def api(aiohttp_client: AiohttpClient, redis: Redis, api_settings: Settings) -> TestClient:
    """A client of the whole gateway app; `redis` has flushed the database first."""
    return await aiohttp_client(create_app(api_settings))


@pytest.fixture
async def api_without_tokens(aiohttp_client: AiohttpClient, redis: Redis, api_settings: Settings) -> TestClient:
    return await aiohttp_client(create_app(api_settings.replace(shop_token=None, bot_token=None)))
