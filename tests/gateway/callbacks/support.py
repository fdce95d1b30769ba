"""A real gateway for the call-back tests: the test's clock (a Wednesday afternoon in Berlin),
the policy sheet's hours (or a test's), two agents, and the shoppers and consoles it opens."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from core.types import Team, EventKind
from gateway.app import create_app
from gateway.conversations.store import ConversationStore
from gateway.desk.agents import AgentRole
from gateway.settings import Settings
from tests.gateway.agent_support import Console, add_agent
from tests.gateway.limits.support import limits_file
from tests.gateway.rasa_standin import ScriptedRasa
from tests.support import Shopper, free_port

AiohttpClient = Callable[[web.Application], Awaitable[TestClient]]  # type: ignore[type-arg]
BERLIN = ZoneInfo("Europe/Berlin")
REPO = Path(__file__).parents[3]
AGENT = "anna@nordlicht-home.example"
BOSS = "sue@nordlicht-home.example"


class Clock:
    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def berlin(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN).timestamp()


def ms(text: str) -> int:
    return round(berlin(text) * 1000)


class World:
    def __init__(self, client: TestClient, redis: Redis, clock: Clock) -> None:  # type: ignore[type-arg]
        self.client = client
        self.redis = redis
        self.clock = clock
        self.url = str(client.make_url("/"))
        self.consoles: list[Console] = []
        self.shoppers: list[Shopper] = []

    async def shopper(self, locale: str = "de") -> Shopper:
        shopper = Shopper(self.url, locale=locale)
        await shopper.connect()
        self.shoppers.append(shopper)
        return shopper

    async def console(self, email: str) -> Console:
        console = await Console(self.url.rstrip("/"), email).login()
        self.consoles.append(console)
        return console

    async def events(self, cid: str, kind: EventKind) -> list[dict[str, Any]]:
        return [event.data for event in await ConversationStore(self.redis).history(cid) if event.kind is kind]

    async def close(self) -> None:
        for shopper in self.shoppers:
            await shopper.close()
        for console in self.consoles:
            await console.close()


async def start_world(aiohttp_client: AiohttpClient, base_settings: Settings, redis: Redis, tmp_path: Path,
                      hours_file: Path | None = None) -> World:
    rasa = ScriptedRasa({"messages": [{"text": "?"}], "intent": None, "retrieval": None, "handoff": None})
    # A page's call-back budget as shipped (config/limits.yml) would do; six is what the last test spends.
    limits = limits_file(tmp_path, web_callback_per_socket="6/hour burst 6")
    settings = base_settings.replace(port=free_port(), rasa_url=await rasa.start(aiohttp_client),
                                     business_hours_file=hours_file or REPO / "config" / "business_hours.yml",
                                     limits_file=limits)
    clock = Clock(berlin("2026-12-09T14:10"))  # a Wednesday
    await add_agent(redis, AGENT, Team.GENERAL, name="Anna")
    await add_agent(redis, BOSS, Team.LOGISTICS, name="Sue", role=AgentRole.SUPERVISOR)
    return World(await aiohttp_client(create_app(settings, clock=clock)), redis, clock)
