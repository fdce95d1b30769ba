"""benchmarks/flood.py, small and untimed, against the gateway app: the shipped limits hold."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from benchmarks import flood
from gateway.app import create_app
from gateway.limits.clients import parse_networks
from gateway.settings import Settings
from tests.support import free_port

AiohttpClient = Callable[[web.Application], Awaitable[TestClient]]  # type: ignore[type-arg]


async def test_the_floods_of_issue_14_are_held_by_the_shipped_limits(
    aiohttp_client: AiohttpClient, base_settings: Settings, redis: Redis, redis_url: str, tmp_path: Path,
) -> None:
    # No Rasa (a closed port): a conversation's first message is queued for a person, as in the benchmark.
    settings = base_settings.replace(port=free_port(), rasa_url=f"http://127.0.0.1:{free_port()}",
                                     trusted_proxies=parse_networks("127.0.0.1"))
    url = str((await aiohttp_client(create_app(settings))).make_url("/"))

    one = await flood.flood(url, redis, "203.0.113.1", sockets=1, messages=100)
    assert 20 <= one.stored < 30  # web_message_per_socket: a burst of 20, then one every 2 s
    many = await flood.flood(url, redis, "203.0.113.2", sockets=20, messages=10)
    assert 100 <= many.stored < 150  # web_message_per_address: a burst of 100 for all 20 sockets
    assert await flood.session_requests(url, redis, "203.0.113.3", 200, with_message=False) == 0
    assert await flood.session_requests(url, redis, "203.0.113.4", 200, with_message=True) == 3
    silent = await flood.silent_visitors(url, redis, 5)
    assert silent.permanent_keys == 0 and silent.keys <= 2  # the visitor and their trail, both expiring
    assert 1 <= await flood.typing_forwarded(url, redis_url, "203.0.113.5", 500) < 20
    assert 100 <= await flood.connections(url, "203.0.113.6", 120) < 110  # web_connect_per_address: burst 100
