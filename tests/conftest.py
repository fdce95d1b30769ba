"""Test fixtures: a real Redis, a real Rasa server with the trained model, real gateways.

The tiers: a test whose fixtures reach `rasa_model` (the session's Rasa server does) is
marked `rasa`, one whose fixtures reach `browser` is marked `browser`, here, from its
fixture closure; `make test-fast` runs the others.
"""

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

# A test whose fixtures include one of these gets the marker (see pytest_collection_modifyitems).
TIER_FIXTURES = {"rasa_model": "rasa", "browser": "browser"}
# Whichever test first needs the session's Rasa server also waits for it to load the model.
RASA_TIMEOUT = 600


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        for fixture, marker in TIER_FIXTURES.items():
            if fixture in fixtures:
                item.add_marker(marker)
        if "rasa_settings" in fixtures and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(RASA_TIMEOUT))


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
        # The session's gateways share the tests' Redis: a follower of the feed in one of them
        # would fold what every later test writes, racing the test's own `drain()`.
        report_worker=False,
    )


@pytest.fixture(scope="session")
def rasa_model() -> Path:
    """The trained model (`storechat train`); every test that reaches this fixture is marked `rasa`."""
    model = REPO_ROOT / "bot" / processes.MODEL_FILE
    if not model.is_file():
        pytest.fail(f"no trained model at {model}: run `storechat train`")
    return model


@pytest.fixture(scope="session")
def rasa_settings(base_settings: Settings, rasa_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """The session's one Rasa server and action server, with the trained model.

    Every test that talks to the real bot shares them: loading the model takes most of a
    minute. The actions look orders up through the gateway at `port` with the bot's token;
    `bot_stack` runs that gateway. Rasa keeps nothing of the gateway that calls it, so any
    test's gateway can use the same server.
    """
    settings = base_settings.replace(
        port=free_port(), rasa_url=f"http://127.0.0.1:{base_settings.rasa_port}",
        shop_token=SHOP_TOKEN, bot_token=BOT_TOKEN, customer_token_secret=CUSTOMER_TOKEN_SECRET,
        public_url=PUBLIC_URL, rasa_token="rasa-token-for-tests", actions_token="actions-token-for-tests",
    )  # fmt: skip
    logs = tmp_path_factory.mktemp("rasa-logs")
    actions_url = f"{settings.action_server_url}/health"
    with running(processes.action_server(settings), logs / "actions.log", processes.http_ok(actions_url), timeout=120):
        with running(processes.rasa_server(settings), logs / "rasa.log",
                     processes.http_ok(settings.rasa_url + "/"), timeout=240):
            yield settings


@pytest.fixture
def settings(rasa_settings: Settings) -> Settings:
    return rasa_settings.replace(port=free_port())


@pytest.fixture(scope="session")
def live_gateway(rasa_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveGateway]:
    """One `storechat serve` process for the whole session (browser tests)."""
    settings = rasa_settings.replace(port=free_port())
    with gateway_process(settings, tmp_path_factory.mktemp("gateway-logs") / "gateway.log"):
        yield LiveGateway(url=f"http://127.0.0.1:{settings.port}", settings=settings)


@pytest.fixture(scope="session")
def bot_stack(rasa_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """The whole bot: the session's Rasa and actions, and the gateway (shop API on) the actions use."""
    with gateway_process(rasa_settings, tmp_path_factory.mktemp("bot-stack-logs") / "gateway.log"):
        yield rasa_settings


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    return tmp_path / "logs"
