"""The action server's gateway client against the real gateway app and a real Redis.

Also what the bot sees when the gateway is down or slow: one GatewayUnavailable within
the client's timeout, never a hang and never another exception.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pytest_aiohttp import AiohttpClient
from redis.asyncio import Redis

from bot.actions.gateway_api import ApiSettings, GatewayApi, GatewayUnavailable
from core.types import Channel
from gateway.app import create_app
from gateway.conversations.store import ConversationStore
from gateway.settings import REPO_ROOT, Settings
from tests.gateway.shop_support import BOT_TOKEN, CUSTOMER_TOKEN_SECRET, PUBLIC_URL, SHOP, SHOP_TOKEN, order_body
from tests.support import free_port


@pytest.fixture
async def gateway(aiohttp_client: AiohttpClient, redis: Redis, redis_url: str, tmp_path: Path) -> TestClient:
    settings = Settings(
        redis_url=redis_url, data_dir=tmp_path / "var", root=REPO_ROOT, shop_token=SHOP_TOKEN,
        bot_token=BOT_TOKEN, customer_token_secret=CUSTOMER_TOKEN_SECRET, public_url=PUBLIC_URL,
    )  # fmt: skip
    return await aiohttp_client(create_app(settings))


@pytest.fixture
async def bot_api(gateway: TestClient) -> AsyncIterator[GatewayApi]:
    settings = ApiSettings(base_url=str(gateway.make_url("")).rstrip("/"), token=BOT_TOKEN)
    async with GatewayApi.open(settings) as api:
        yield api


async def _put(gateway: TestClient, **changes: object) -> None:
    body = order_body(**changes)
    response = await gateway.put(f"/api/v1/orders/{body['order_id']}", json=body, headers=SHOP)
    assert response.status in (200, 201), await response.text()


async def test_a_wrong_proof_and_an_unknown_order_look_the_same_then_wait(gateway: TestClient, bot_api: GatewayApi) -> None:
    await _put(gateway)
    wrong = await bot_api.verify("c1", "104233", "email", "eve@example.com")
    unknown = await bot_api.verify("c1", "999999", "email", "anna@example.com")
    assert (wrong.order, wrong.attempts_left, unknown.order, unknown.attempts_left) == (None, 2, None, 1)
    third = await bot_api.verify("c1", "104233", "postal_code", "99999")
    assert third.locked and third.retry_after == 60
    waiting = await bot_api.verify("c1", "104233", "email", "anna@example.com")
    assert waiting.locked and waiting.retry_after is not None and 0 < waiting.retry_after <= 60


async def test_the_bot_proves_an_sms_conversations_number_without_sending_one(
    gateway: TestClient, bot_api: GatewayApi, redis: Redis,
) -> None:
    await _put(gateway)
    texting_anna = await ConversationStore(redis).open(Channel.SMS, "+4915112345678", "de")
    texting_eve = await ConversationStore(redis).open(Channel.SMS, "+4915100000000", "de")

    proven = await bot_api.verify(texting_anna.id, "104233", "phone", "")
    refused = await bot_api.verify(texting_eve.id, "104233", "phone", "")

    assert proven.order is not None and proven.order["order_id"] == "104233"
    assert (refused.order, refused.attempts_left) == (None, 3)


async def test_a_proven_order_is_remembered_for_the_conversation_only(gateway: TestClient, bot_api: GatewayApi) -> None:
    await _put(gateway)
    assert await bot_api.proven_order("c1", "104233") is None
    proven = await bot_api.verify("c1", "104233", "postal_code", "10115")
    assert proven.order is not None and proven.order["order_id"] == "104233"
    assert (await bot_api.proven_order("c1", "104233") or {})["status"] == "placed"
    assert [o["order_id"] for o in await bot_api.proven_orders("c1")] == ["104233"]
    assert await bot_api.proven_order("c2", "104233") is None


async def test_requests_are_recorded_or_refused_with_the_gateways_reason(gateway: TestClient, bot_api: GatewayApi) -> None:
    await _put(gateway, status="packed")
    await bot_api.verify("c1", "104233", "email", "anna@example.com")
    refused = await bot_api.create_request("c1", "cancellation", "104233")
    assert (refused.request, refused.error) == (None, "too_late")
    recorded = await bot_api.create_request("c1", "invoice_copy", "104233")
    assert recorded.request is not None and recorded.request["team"] == "billing"
    assert [r["kind"] for r in await bot_api.requests("c1")] == ["invoice_copy"]


async def test_without_the_right_token_the_gateway_is_unavailable_to_the_bot(gateway: TestClient) -> None:
    settings = ApiSettings(base_url=str(gateway.make_url("")).rstrip("/"), token="wrong")
    async with GatewayApi.open(settings) as api:
        with pytest.raises(GatewayUnavailable):
            await api.proven_orders("c1")


async def test_a_gateway_that_is_down_is_unavailable() -> None:
    async with GatewayApi.open(ApiSettings(base_url=f"http://127.0.0.1:{free_port()}", token=BOT_TOKEN)) as api:
        with pytest.raises(GatewayUnavailable):
            await api.verify("c1", "104233", "email", "anna@example.com")


async def test_a_slow_gateway_is_given_up_on_after_the_timeout() -> None:
    async def stall(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.json_response({})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", stall)
    async with TestServer(app) as server:
        settings = ApiSettings(base_url=str(server.make_url("")).rstrip("/"), token=BOT_TOKEN, timeout=0.5)
        started = time.monotonic()
        async with GatewayApi.open(settings) as api:
            with pytest.raises(GatewayUnavailable):
                await api.requests("c1")
        assert time.monotonic() - started < 2
