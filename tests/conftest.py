"""Test fixtures: a real Redis, a real Rasa server with the trained model, real gateways."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from gateway.run import processes
from gateway.settings import REPO_ROOT, Settings
from tests.gateway.shop_support import BOT_TOKEN, CUSTOMER_TOKEN_SECRET, PUBLIC_URL, SHOP_TOKEN
from tests.hours_support import hours_file
from tests.support import free_port, gateway_process, running


@dataclasses.dataclass(frozen=True)
class LiveGateway:
    url: str
    settings: Settings


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    service = processes.embedded_redis(port, tmp_path_factory.mktemp("redis"), persist=False)
    with running(service, tmp_path_factory.mktemp("logs") / "redis.log", processes.redis_ok(url), timeout=20):
        yield url


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url, decode_responses=True)
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
def base_settings(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        redis_url=redis_url,
        rasa_port=free_port(),
        action_server_port=free_port(),
        data_dir=tmp_path_factory.mktemp("var"),
        root=REPO_ROOT,
        # Open around the clock: a handoff's waiting notice must not depend on the test's hour.
        business_hours_file=hours_file(tmp_path_factory.mktemp("hours"), open_now=True),
    )


@pytest.fixture(scope="session")
def rasa_settings(base_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A real Rasa server and action server with the trained model, for the whole session."""
    settings = dataclasses.replace(base_settings, rasa_url=f"http://127.0.0.1:{base_settings.rasa_port}")
    logs = tmp_path_factory.mktemp("rasa-logs")
    actions_url = f"http://127.0.0.1:{settings.action_server_port}/health"
    with running(processes.action_server(settings), logs / "actions.log", processes.http_ok(actions_url), timeout=120):
        with running(processes.rasa_server(settings), logs / "rasa.log",
                     processes.http_ok(settings.rasa_url + "/"), timeout=240):
            yield settings


@pytest.fixture
def settings(rasa_settings: Settings) -> Settings:
    return dataclasses.replace(rasa_settings, port=free_port())


@pytest.fixture(scope="session")
def live_gateway(rasa_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveGateway]:
    """One `storechat serve` process for the whole session (browser tests)."""
    settings = dataclasses.replace(rasa_settings, port=free_port())
    with gateway_process(settings, tmp_path_factory.mktemp("gateway-logs") / "gateway.log"):
        yield LiveGateway(url=f"http://127.0.0.1:{settings.port}", settings=settings)


@pytest.fixture(scope="session")
def bot_stack(base_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """The whole bot: a gateway with the shop API on, and Rasa + actions that use it."""
    rasa_port = free_port()
    settings = dataclasses.replace(
        base_settings, port=free_port(), rasa_port=rasa_port, action_server_port=free_port(),
        rasa_url=f"http://127.0.0.1:{rasa_port}", shop_token=SHOP_TOKEN, bot_token=BOT_TOKEN,
        customer_token_secret=CUSTOMER_TOKEN_SECRET, public_url=PUBLIC_URL,
    )  # fmt: skip
    logs = tmp_path_factory.mktemp("bot-stack-logs")
    actions_ready = processes.http_ok(f"http://127.0.0.1:{settings.action_server_port}/health")
    with gateway_process(settings, logs / "gateway.log"):
        with running(processes.action_server(settings), logs / "actions.log", actions_ready, timeout=120):
            with running(processes.rasa_server(settings), logs / "rasa.log",
                          processes.http_ok(settings.rasa_url + "/"), timeout=240):
                yield settings


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    return tmp_path / "logs"
