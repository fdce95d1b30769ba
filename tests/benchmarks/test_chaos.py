"""benchmarks/chaos.py's scenarios, small: two real `storechat serve` processes on their own
Redis (append-only file on), real Socket.IO shoppers speaking the acknowledged-message
contract, a fault injected mid-burst. Nothing acknowledged is lost, nothing is stored twice,
and no shopper is left believing something that is not so (issue 13).

Rasa is tests/gateway/rasa_standin.py's scripted stand-in, served on a real port the gateway
processes call: what is measured is the gateway's handling of a Rasa that is down or slow,
not the model's answers (benchmarks/chaos.py runs the same against the real Rasa).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis

from benchmarks.chaos_messaging import Agent, Faults, Messaging, run_provider_scenario
from benchmarks.chaos_provider import Fault, FaultyProvider
from benchmarks.chaos_system import Cluster, add_gateway, add_redis, cluster
from benchmarks.chaos_tally import ProviderFigures, WebFigures
from benchmarks.chaos_web import Burst, run_burst
from core.types import Team
from gateway.limits.rules import RULES
from gateway.settings import Settings
from tests.channels.drivers import channel_env
from tests.gateway.agent_support import PASSWORD, add_agent
from tests.gateway.rasa_standin import ScriptedRasa
from tests.gateway.webchat.support import GREETING, limits_file
from tests.support import free_port

pytestmark = pytest.mark.slow

AiohttpServer = Callable[[web.Application], Awaitable[TestServer]]
# The gateways give Rasa (RASA_TIMEOUT) and a provider two seconds to answer: short for a test,
# with room for a busy machine (the stand-ins answer at once unless told otherwise).
RASA_TIMEOUT_S = 2.0
PROVIDER_TIMEOUT_S = 2.0
HANDOFF = {"messages": [{"text": "Ich verbinde Sie mit einem Kollegen."}],
           "intent": {"name": "human_handoff", "confidence": 0.97}, "retrieval": None,
           "handoff": {"team": "general", "reason": "shopper_asked"}}
SMALL = Burst(shoppers=2, messages=10, interval_s=0.1, fault_at=0.4, deadline_s=20.0, answers_s=20.0)


@dataclass
class Chaos:
    system: Cluster
    urls: list[str]
    redis: Redis
    rasa: ScriptedRasa
    rasa_server: TestServer
    provider: FaultyProvider


@pytest.fixture
async def chaos(base_settings: Settings, tmp_path: Path, aiohttp_server: AiohttpServer,
                request: pytest.FixtureRequest) -> AsyncIterator[Chaos]:
    reply: dict[str, Any] = getattr(request, "param", GREETING)
    rasa = ScriptedRasa(reply)
    app = web.Application()
    app.router.add_post("/webhooks/storechat/webhook", rasa.webhook)
    rasa_server = await aiohttp_server(app)
    provider = FaultyProvider()
    await provider.start()
    redis_port = free_port()
    settings = base_settings.replace(redis_url=f"redis://127.0.0.1:{redis_port}/0", port=free_port(),
                                     rasa_url=str(rasa_server.make_url("")).rstrip("/"))
    second = settings.replace(port=free_port())
    public_url = f"http://127.0.0.1:{settings.port}"
    env = {
        "STORECHAT_LIMITS": str(limits_file(tmp_path, **{rule: "unlimited" for rule in RULES})),
        "RASA_TIMEOUT": str(RASA_TIMEOUT_S), "STORECHAT_PROVIDER_READ_TIMEOUT": str(PROVIDER_TIMEOUT_S),
        **channel_env(public_url, provider.url),
    }
    with cluster(tmp_path / "logs") as system:
        add_redis(system, settings, tmp_path / "redis")
        urls = [add_gateway(system, "gateway-1", settings, env), add_gateway(system, "gateway-2", second, env)]
        # Blocking waits: the stand-ins in this loop need not answer until the first turn.
        await asyncio.to_thread(system.start, "redis")
        await asyncio.to_thread(system.start, "gateway-1", "gateway-2")
        redis = Redis.from_url(settings.effective_redis_url, decode_responses=True)
        try:
            yield Chaos(system, urls, redis, rasa, rasa_server, provider)
        finally:
            await redis.aclose()
            await provider.close()


def assert_nothing_lost(figures: WebFigures) -> None:
    assert figures.sent == SMALL.shoppers * SMALL.messages
    assert (figures.lost, figures.duplicated, figures.silent) == (0, 0, 0), figures
    # Every message is accounted for: on the case and acknowledged, or the shopper was told.
    assert figures.acknowledged + figures.told_not_sent >= figures.sent, figures
    assert figures.turns_waiting == 0, figures  # every stored message has had its turn


async def test_kill_9_of_one_of_two_gateways_mid_burst_loses_no_acknowledged_message(chaos: Chaos) -> None:
    figures = await run_burst("kill -9 gateway", chaos.urls, chaos.redis, SMALL,
                              lambda: chaos.system.kill("gateway-1"))

    assert_nothing_lost(figures)
    assert figures.reconnects >= 1  # the shopper on the killed gateway went over to the other
    assert figures.told_not_sent == 0  # the other gateway was there all along
    # The scripted bot answers every turn: the turns the killed gateway held were taken over.
    assert figures.answers >= figures.sent, figures


async def test_a_redis_restart_mid_burst_loses_no_acknowledged_message(chaos: Chaos) -> None:
    figures = await run_burst("redis restart", chaos.urls, chaos.redis, SMALL,
                              lambda: chaos.system.restart("redis", down_s=1.5))

    assert_nothing_lost(figures)
    assert figures.answers >= figures.sent, figures  # no turn was dropped while Redis was away


async def test_a_rasa_slower_than_its_timeout_still_gets_every_message_stored_and_the_shopper_told(
        chaos: Chaos) -> None:
    async def stall() -> None:
        await asyncio.sleep(RASA_TIMEOUT_S * 2)

    async def slow_rasa() -> None:
        chaos.rasa.during_turn = stall
        await asyncio.sleep(RASA_TIMEOUT_S * 2)
        chaos.rasa.during_turn = None

    figures = await run_burst("rasa slow", chaos.urls, chaos.redis, SMALL, slow_rasa)

    assert_nothing_lost(figures)
    assert figures.told_not_sent == 0  # acknowledged before the bot's turn, whatever the bot does
    assert figures.notices >= SMALL.shoppers  # "bot unavailable" and the queue place, not silence


async def test_a_rasa_that_died_still_gets_every_message_stored_and_the_shopper_told(chaos: Chaos) -> None:
    async def kill_rasa() -> None:
        await chaos.rasa_server.close()  # its port refuses connections from now on

    figures = await run_burst("rasa killed", chaos.urls, chaos.redis, SMALL, kill_rasa)

    assert_nothing_lost(figures)
    assert figures.told_not_sent == 0
    assert figures.notices >= SMALL.shoppers


@pytest.mark.parametrize("chaos", [HANDOFF], indirect=True)
@pytest.mark.parametrize(("name", "fault", "count"), [
    ("provider 500", Fault(500), 3),
    ("provider 429", Fault(429, retry_after="1"), 3),
    ("provider timeout", Fault(hang=PROVIDER_TIMEOUT_S * 2), 2),
])
async def test_a_failing_provider_never_sends_an_sms_twice_and_every_message_gets_a_state(
        chaos: Chaos, name: str, fault: Fault, count: int) -> None:
    await add_agent(chaos.redis, "agent@chaos.example", Team.GENERAL, name="Anna")
    agent = Agent(chaos.urls[0], "agent@chaos.example", PASSWORD)
    await agent.login()
    try:
        messaging = Messaging(chaos.urls, chaos.urls[0], chaos.redis, chaos.provider, agent, wait_s=20.0)
        figures: ProviderFigures = await run_provider_scenario(name, messaging, Faults(name, fault, count),
                                                               agent_replies=4, bot_shoppers=2)
    finally:
        await agent.close()

    assert figures.duplicates == 0, figures
    assert figures.no_state == 0, figures  # each message: sent, failed or unknown, never nothing
    assert figures.agent_request_max_ms < PROVIDER_TIMEOUT_S * 1000  # nobody waits for the provider
    assert figures.provider_calls >= figures.messages
    if fault.status == 429:
        assert figures.sent == figures.messages  # Retry-After honoured: every message went out
    if fault.hang:
        assert figures.unknown == count  # the provider may have it: recorded, not sent again
