"""The messaging tests' gateway: the real app on a real Redis, the providers a local
stand-in (tests/channels/provider_standin.py), Rasa a scripted one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from gateway.app import create_app
from gateway.messaging.channel_settings import ChannelSettings
from gateway.settings import Settings
from tests.channels.drivers import channel_env
from tests.channels.provider_standin import ProviderStandIn, provider_standin
from tests.gateway.messaging.support import PUBLIC_URL, scripted_reply
from tests.gateway.rasa_standin import ScriptedRasa

AiohttpClient = Callable[[web.Application], Awaitable[TestClient]]  # type: ignore[type-arg]


@pytest.fixture
def standin() -> Iterator[ProviderStandIn]:
    with provider_standin() as running:
        yield running


@pytest.fixture
def rasa() -> ScriptedRasa:
    return ScriptedRasa(scripted_reply("Sie haben 30 Tage Zeit."))


@pytest.fixture
def make_gateway(aiohttp_client: AiohttpClient, base_settings: Settings, redis: Redis, rasa: ScriptedRasa,
                 standin: ProviderStandIn) -> Callable[..., Awaitable[TestClient]]:  # type: ignore[type-arg]
    async def make(**changes: Any) -> TestClient:  # type: ignore[type-arg]
        rasa_url = await rasa.start(aiohttp_client)
        channels = ChannelSettings.from_env(channel_env(PUBLIC_URL, standin.url), PUBLIC_URL)
        settings = base_settings.replace(rasa_url=rasa_url, public_url=PUBLIC_URL, channels=channels,
                                       **changes)
        return await aiohttp_client(create_app(settings))
    return make


@pytest.fixture
async def gateway(make_gateway: Callable[..., Awaitable[TestClient]]) -> TestClient:  # type: ignore[type-arg]
    return await make_gateway()
