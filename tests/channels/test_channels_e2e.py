"""Each messaging channel end to end, against real parts: a `storechat serve` process
with the trained Rasa and the action server, a real Redis, signed webhooks in the
provider's wire format, and a local server standing in for the provider's API that
checks the exact request the provider would receive.

A shopper asks the bot on the channel and gets its answer there; asks for a person,
and the agent's reply from the Agent API goes out on the same channel.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
from redis.asyncio import Redis

from core.types import ConversationState, Team
from gateway.conversations.store import ConversationStore
from gateway.settings import Settings
from tests.channels.drivers import DRIVERS, Driver, channel_env
from tests.channels.provider_standin import ProviderStandIn, Recorded, provider_standin
from tests.gateway.agent_support import Console, add_agent
from tests.support import free_port, gateway_process

_shoppers = itertools.count(1)


@dataclasses.dataclass(frozen=True)
class ChannelGateway:
    url: str
    standin: ProviderStandIn


@pytest.fixture(scope="module")
def channel_gateway(bot_stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChannelGateway]:
    """A gateway with SMS, Messenger and WhatsApp on, sharing the bot stack's Rasa and Redis.

    Only for this module: its inbox worker would take other tests' webhook deliveries
    (it is in the same consumer group, as a second gateway process should be)."""
    settings = bot_stack.replace(port=free_port())
    url = f"http://127.0.0.1:{settings.port}"
    with provider_standin() as standin:
        log = tmp_path_factory.mktemp("channel-gateway") / "gateway.log"
        with gateway_process(settings, log, env=channel_env(url, standin.url)):
            yield ChannelGateway(url, standin)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def _post(http: aiohttp.ClientSession, gateway: ChannelGateway, driver: Driver, body: bytes,
                headers: dict[str, str]) -> int:
    async with http.post(f"{gateway.url}/webhooks/{driver.channel.value}", data=body, headers=headers) as response:
        await response.read()
        return response.status


async def _sent(gateway: ChannelGateway, quiet: float = 1.5) -> list[Recorded]:
    """What the provider was asked to send for one turn: the first request, then all until quiet."""
    requests = [await asyncio.to_thread(gateway.standin.next, 30)]
    while True:
        try:
            requests.append(await asyncio.to_thread(gateway.standin.next, quiet))
        except Exception:  # queue.Empty: the turn is over
            return requests


@pytest.mark.parametrize("name", sorted(DRIVERS))
async def test_the_bot_answers_and_an_agent_replies_on_the_same_channel(
    name: str, channel_gateway: ChannelGateway, http: aiohttp.ClientSession, redis_url: str,
) -> None:
    driver = DRIVERS[name]
    gateway = channel_gateway
    gateway.standin.drain()
    shopper = driver.address(next(_shoppers))

    question = driver.inbound(gateway.url, shopper, "Wie lange habe ich Zeit für eine Rücksendung?")
    assert await _post(http, gateway, driver, question.body, question.headers) == 200
    answer = await _sent(gateway)
    assert all(driver.recipient(request) == shopper for request in answer)
    assert "30 Tage" in " ".join(driver.text_of(request) for request in answer)

    # The provider retries a delivery it thinks failed: acknowledged, never answered twice.
    assert await _post(http, gateway, driver, question.body, question.headers) == 200
    await asyncio.to_thread(gateway.standin.none_within, 1.5)

    handoff = driver.inbound(gateway.url, shopper, "Ich möchte mit einem Mitarbeiter sprechen")
    assert await _post(http, gateway, driver, handoff.body, handoff.headers) == 200
    await _sent(gateway)
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        conversation = await ConversationStore(redis).find_latest(driver.channel, shopper)
        assert conversation is not None and conversation.state is ConversationState.QUEUED
        email = f"anna.{name}@nordlicht-home.example"
        await add_agent(redis, email, Team(conversation.team or "general"), name="Anna")
    finally:
        await redis.aclose()

    console = await Console(gateway.url, email).login()
    try:
        status, _ = await console.call("POST", f"/conversations/{conversation.id}/messages",
                                       {"text": "Hallo, hier ist Anna. Ich kümmere mich darum."})
        assert status == 201
        sent = await _sent(gateway)
        texts = [driver.text_of(request) for request in sent]
        assert "Hallo, hier ist Anna. Ich kümmere mich darum." in texts
        assert all(driver.recipient(request) == shopper for request in sent)
    finally:
        await console.close()


@pytest.mark.parametrize("name", sorted(DRIVERS))
async def test_a_forged_webhook_is_refused_and_nothing_is_sent(
    name: str, channel_gateway: ChannelGateway, http: aiohttp.ClientSession,
) -> None:
    driver = DRIVERS[name]
    channel_gateway.standin.drain()
    webhook = driver.inbound(channel_gateway.url, driver.address(next(_shoppers)), "hallo")
    tampered = webhook.body.replace(b"hallo", b"hallx")
    assert await _post(http, channel_gateway, driver, tampered, webhook.headers) == 403
    await asyncio.to_thread(channel_gateway.standin.none_within, 1.5)


async def test_a_shopper_texting_in_english_is_answered_and_kept_waiting_in_english(
    channel_gateway: ChannelGateway, http: aiohttp.ClientSession,
) -> None:
    driver = DRIVERS["sms"]
    channel_gateway.standin.drain()
    shopper = driver.address(next(_shoppers))
    question = driver.inbound(channel_gateway.url, shopper, "How many days do I have to return an item?")
    assert await _post(http, channel_gateway, driver, question.body, question.headers) == 200
    answer = " ".join(driver.text_of(request) for request in await _sent(channel_gateway))
    assert "30 days" in answer
    handoff = driver.inbound(channel_gateway.url, shopper, "I want to talk to a real person please")
    assert await _post(http, channel_gateway, driver, handoff.body, handoff.headers) == 200
    notices = " ".join(driver.text_of(request) for request in await _sent(channel_gateway))
    # The gateway's own waiting notice, not only the bot's words, is in English.
    assert "queue" in notices or "colleague" in notices, notices
    assert "Kolleg" not in notices and "Warteschlange" not in notices, notices
