"""The platforms' tests: the real gateway app on a real Redis, SMS at a local provider
stand-in, the clock the test's (a morning years ahead, so no quiet hours and no other
test's gateway ever finds these notifications due)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from gateway.app import create_app
from gateway.messaging.channel_settings import ChannelSettings
from gateway.settings import Settings
from tests.channels.drivers import channel_env
from tests.channels.provider_standin import ProviderStandIn, provider_standin
from tests.gateway.platforms.signing import (
    SHOP_DOMAIN, SHOPIFY_SECRET, SHOPWARE_APP_NAME, SHOPWARE_APP_SECRET, SHOPWARE_SHOP_URL, WOOCOMMERCE_SECRET,
)
from tests.gateway.shop_support import BOT_TOKEN, SHOP_TOKEN

AiohttpClient = Callable[[web.Application], Awaitable[TestClient]]  # type: ignore[type-arg]
PUBLIC_URL = "https://chat.nordlicht-home.example"
MORNING = datetime(2037, 11, 25, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))
TICK = 0.1


class SteppedClock:
    def __init__(self, at: datetime) -> None:
        self.now = at.timestamp()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> SteppedClock:
    return SteppedClock(MORNING)


@pytest.fixture
def standin() -> Iterator[ProviderStandIn]:
    with provider_standin() as running:
        yield running


@pytest.fixture
def platform_settings(base_settings: Settings, standin: ProviderStandIn) -> Settings:
    return base_settings.replace(
        public_url=PUBLIC_URL, shop_token=SHOP_TOKEN, bot_token=BOT_TOKEN,
        channels=ChannelSettings.from_env(channel_env(PUBLIC_URL, standin.url), PUBLIC_URL),
        # The platforms number their orders their own way: 1042, 10042, 727.
        order_number_pattern=re.compile(r"[0-9]{3,12}"),
        shopify_webhook_secret=SHOPIFY_SECRET, woocommerce_webhook_secret=WOOCOMMERCE_SECRET,
        shopware_app_name=SHOPWARE_APP_NAME, shopware_app_secret=SHOPWARE_APP_SECRET,
        shopify_shop_domain=SHOP_DOMAIN, shopware_shop_urls=(SHOPWARE_SHOP_URL + "/",),
        platform_notify="sms",
    )


@pytest.fixture
async def gateway(aiohttp_client: AiohttpClient, redis: Redis, platform_settings: Settings,
                  clock: SteppedClock) -> TestClient:  # type: ignore[type-arg]
    return await aiohttp_client(create_app(platform_settings, clock=clock, tick=TICK))


async def delivered(gateway: TestClient, platform: str, body: bytes, headers: dict[str, str],  # type: ignore[type-arg]
                    status: int = 200) -> Any:
    response = await gateway.post(f"/webhooks/shop/{platform}", data=body, headers=headers)
    assert response.status == status, await response.text()
    return await response.json() if status == 200 else await response.text()
