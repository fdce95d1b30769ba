"""Rate limits of /api/v1: per client address, per bearer token and per agent, each a JSON
429 in the API's error shape with Retry-After (and documented: conftest checks every answer)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from core.types import Team
from gateway.api.agent import CSRF_HEADER
from gateway.app import create_app
from gateway.desk.agents import AgentStore
from gateway.limits import clients
from gateway.limits.clients import parse_networks
from gateway.settings import Settings
from tests.gateway.limits.support import limits_file
from tests.gateway.shop_support import BOT, SHOP

Client = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
PASSWORD = "korrekt-pferd-batterie"


async def _gateway(aiohttp_client: Client, settings: Settings, tmp_path: Path, **rates: str) -> TestClient:  # type: ignore[type-arg]
    # Behind the test's "load balancer" (127.0.0.1), X-Forwarded-For names the client.
    return await aiohttp_client(create_app(settings.replace(limits_file=limits_file(tmp_path, **rates),
                                                            trusted_proxies="127.0.0.1")))


async def _status(client: TestClient, method: str, path: str, headers: dict[str, str],  # type: ignore[type-arg]
                  **kwargs: Any) -> tuple[int, Any, str | None]:
    response = await client.request(method, f"/api/v1{path}", headers=headers, **kwargs)
    return response.status, await response.json(), response.headers.get("Retry-After")


async def test_a_token_over_its_rate_gets_429_wherever_it_calls_from_and_the_other_token_goes_on(
        aiohttp_client: Client, redis: Redis, api_settings: Settings, tmp_path: Path) -> None:
    api = await _gateway(aiohttp_client, api_settings, tmp_path, api_per_token="60/minute burst 3")
    answers = [await _status(api, "GET", "/orders/104233", {**SHOP, "X-Forwarded-For": f"198.51.100.{n}"})
               for n in range(4)]

    assert [status for status, _, _ in answers] == [404, 404, 404, 429]
    status, body, retry_after = answers[-1]
    assert body["error"] == "rate_limited" and body["retry_after"] == int(retry_after or 0) >= 1
    assert (await _status(api, "GET", "/conversations/conv-1/orders", BOT))[0] == 200


async def test_an_address_over_its_rate_gets_429_for_every_api_and_another_address_does_not(
        aiohttp_client: Client, redis: Redis, api_settings: Settings, tmp_path: Path) -> None:
    api = await _gateway(aiohttp_client, api_settings, tmp_path, api_per_address="60/minute burst 3")
    flood = {"X-Forwarded-For": "203.0.113.20"}
    statuses = [(await _status(api, "GET", "/orders/104233", {**flood, "Authorization": "Bearer guess"}))[0],
                (await _status(api, "GET", "/agent/me", flood))[0],
                (await _status(api, "GET", "/openapi.json", flood))[0],
                (await _status(api, "POST", "/agent/login", flood, json={"email": "a@b.c", "password": "x" * 10}))[0]]

    assert statuses == [401, 401, 200, 429]
    assert (await _status(api, "GET", "/orders/104233", {**SHOP, "X-Forwarded-For": "203.0.113.21"}))[0] == 404


async def test_an_agent_over_their_rate_gets_429_and_a_colleague_does_not(
        aiohttp_client: Client, redis: Redis, api_settings: Settings, tmp_path: Path) -> None:
    for email in ("mara@nordlicht-home.example", "ben@nordlicht-home.example"):
        await AgentStore(redis).put(email, PASSWORD, team=Team.LOGISTICS)
    mara = await _gateway(aiohttp_client, api_settings.replace(public_url=None), tmp_path,
                          agent_api_per_agent="60/minute burst 3")
    ben = await aiohttp_client(mara.server)
    for client, email in ((mara, "mara@nordlicht-home.example"), (ben, "ben@nordlicht-home.example")):
        login = await client.post("/api/v1/agent/login", json={"email": email, "password": PASSWORD})
        assert login.status == 200
    csrf = {CSRF_HEADER: (await (await mara.get("/api/v1/agent/me")).json())["csrf_token"]}
    statuses = [(await _status(mara, "GET", "/agent/queues", {}))[0],
                (await _status(mara, "PUT", "/agent/presence", csrf, json={"status": "away"}))[0],
                (await _status(mara, "GET", "/agent/me", {}))[0]]

    assert statuses == [200, 200, 429]
    assert (await _status(ben, "GET", "/agent/me", {}))[0] == 200


async def test_the_bots_calls_are_not_capped_by_an_address_or_token_budget(
        aiohttp_client: Client, redis: Redis, api_settings: Settings, tmp_path: Path) -> None:
    # Each bot call is one shopper's turn, bounded by that shopper's own limits: one shared
    # budget for the action server would cap every shopper's order questions at once.
    api = await _gateway(aiohttp_client, api_settings, tmp_path,
                         api_per_address="60/minute burst 3", api_per_token="60/minute burst 3")
    statuses = [(await _status(api, "GET", f"/conversations/conv-{n}/orders", BOT))[0] for n in range(10)]

    assert statuses == [200] * 10
    # A wrong token from the same address is still counted and slowed down.
    guesses = [(await _status(api, "GET", "/conversations/conv-1/orders", {"Authorization": "Bearer guess"}))[0]
               for _ in range(4)]
    assert guesses == [401, 401, 401, 429]


async def test_every_forwarded_for_line_is_read_so_a_forged_first_line_does_not_hide_the_client(
        aiohttp_client: Client, redis: Redis, api_settings: Settings, tmp_path: Path) -> None:
    # HAProxy's `option forwardfor` adds its own line after the one the client wrote.
    api = await _gateway(aiohttp_client, api_settings, tmp_path, api_per_address="60/minute burst 3")
    statuses = []
    for n in range(4):
        headers = [("X-Forwarded-For", f"198.51.100.{n}"), ("X-Forwarded-For", "203.0.113.30")]
        statuses.append((await api.get("/api/v1/openapi.json", headers=headers)).status)

    assert statuses == [200, 200, 200, 429]


async def test_by_default_a_reverse_proxy_on_loopback_is_trusted_and_an_untrusted_one_is_warned_of_once(
        aiohttp_client: Client, redis: Redis, api_settings: Settings, tmp_path: Path,
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings.from_env({}).proxies == parse_networks("127.0.0.0/8, ::1")
    rates = limits_file(tmp_path, api_per_address="60/minute burst 3")
    api = await aiohttp_client(create_app(api_settings.replace(limits_file=rates)))
    # Each client behind the proxy has its own budget, not the proxy's address one for all.
    statuses = [(await api.get("/api/v1/openapi.json", headers={"X-Forwarded-For": f"198.51.100.{n}"})).status
                for n in range(6)]
    assert statuses == [200] * 6

    monkeypatch.setattr(clients, "_untrusted_warned", False)
    elsewhere = await aiohttp_client(create_app(api_settings.replace(limits_file=rates, trusted_proxies="10.0.0.0/8")))
    for n in range(2):
        await elsewhere.get("/api/v1/openapi.json", headers={"X-Forwarded-For": f"198.51.100.{n}"})
    warnings = [r for r in caplog.records if "X-Forwarded-For from 127.0.0.1 ignored" in r.getMessage()]
    assert len(warnings) == 1
