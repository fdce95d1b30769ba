"""Agent accounts and console sessions: passwords, login, cookie, CSRF, expiry, the CLI."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import time
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient
from redis.asyncio import Redis

from core.types import Team
from gateway import keys
from gateway.api.agent import COOKIE, CSRF_HEADER, ROUTES
from gateway.api.openapi import document
from gateway.app import create_app
from gateway.desk.agents import AgentRole, AgentStore, InvalidAgent, hash_password, verify_password
from gateway.settings import REPO_ROOT, ConfigError, Settings

EMAIL = "mara@nordlicht-home.example"
PASSWORD = "korrekt-pferd-batterie"
CREDENTIALS = {"email": EMAIL, "password": PASSWORD}


@pytest.fixture
def agent_settings(api_settings: Settings) -> Settings:
    # Plain http, so the test client sends the (then not Secure) cookie back.
    return api_settings.replace(public_url=None)


@pytest.fixture
async def agent(redis: Redis) -> None:
    await AgentStore(redis).put(EMAIL, PASSWORD, team=Team.LOGISTICS, name="Mara Lind")


async def _client(aiohttp_client: AiohttpClient, settings: Settings) -> TestClient:
    return await aiohttp_client(create_app(settings))


@pytest.fixture
async def console(aiohttp_client: AiohttpClient, agent: None, agent_settings: Settings) -> TestClient:
    return await _client(aiohttp_client, agent_settings)


async def _login(client: TestClient, **body: str) -> tuple[int, Any]:
    response = await client.post("/api/v1/agent/login", json={**CREDENTIALS, **body})
    return response.status, await response.json()


# --- passwords and accounts ----------------------------------------------------------


def test_a_password_hash_verifies_that_password_only_and_is_salted() -> None:
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)

    assert first != second and first.startswith("scrypt$16384$8$1$")
    assert verify_password(PASSWORD, first) and verify_password(PASSWORD, second)
    assert not verify_password(PASSWORD + "x", first)
    assert not verify_password(PASSWORD, "not-a-hash")


async def test_accounts_are_stored_by_normalised_email_without_the_password(redis: Redis) -> None:
    agents = AgentStore(redis)
    stored, created = await agents.put("  Mara@Nordlicht-Home.EXAMPLE ", PASSWORD, team=Team.BILLING,
                                       role=AgentRole.SUPERVISOR)
    updated, created_again = await agents.put(EMAIL, "ein-anderes-passwort", team=Team.PRODUCT)

    assert (created, created_again) == (True, False)
    assert stored.email == EMAIL and stored.name == "mara"
    # Name and role are kept when not given: a password change demotes no supervisor.
    assert (updated.team, updated.role, updated.name) == (Team.PRODUCT, AgentRole.SUPERVISOR, "mara")
    assert await agents.authenticate(EMAIL, PASSWORD) is None
    assert await agents.authenticate(" MARA@nordlicht-home.example", "ein-anderes-passwort") == updated
    raw = await redis.hgetall(keys.agent(EMAIL))
    assert PASSWORD not in str(raw) and raw["password"].startswith("scrypt$")
    with pytest.raises(InvalidAgent, match="at least 10"):
        await agents.put(EMAIL, "short", team=Team.GENERAL)
    with pytest.raises(InvalidAgent, match="email"):
        await agents.put("no-at-sign", PASSWORD, team=Team.GENERAL)


@pytest.mark.parametrize("name", ["Anna\u202eanidA", "Anna\u2066", "Anna\x00", "Anna\nLind"])
async def test_a_name_with_control_or_bidi_characters_is_refused(redis: Redis, name: str) -> None:
    with pytest.raises(InvalidAgent, match="one line"):
        await AgentStore(redis).put(EMAIL, PASSWORD, team=Team.GENERAL, name=name)
    assert await AgentStore(redis).get(EMAIL) is None


async def test_unknown_email_and_wrong_password_cost_the_same(redis: Redis) -> None:
    agents = AgentStore(redis)
    await agents.put(EMAIL, PASSWORD, team=Team.GENERAL)

    async def fastest(email: str) -> float:
        times = []
        for _ in range(3):
            started = time.perf_counter()
            assert await agents.authenticate(email, "wrong-password") is None
            times.append(time.perf_counter() - started)
        return min(times)

    wrong_password, unknown_email = await fastest(EMAIL), await fastest("nobody@example.com")
    # Both run one scrypt; without the dummy hash the unknown email would answer in a Redis round trip.
    assert unknown_email > wrong_password / 3


def test_the_session_length_comes_from_the_environment() -> None:
    assert Settings.from_env({}).agent_session_hours == 8
    assert Settings.from_env({"STORECHAT_AGENT_SESSION_HOURS": "0.5"}).agent_session_ms == 1_800_000
    with pytest.raises(ConfigError):
        Settings.from_env({"STORECHAT_AGENT_SESSION_HOURS": "0"})


# --- logging in ------------------------------------------------------------------------


async def test_login_answers_the_agent_and_sets_a_strict_http_only_cookie(console: TestClient, redis: Redis) -> None:
    response = await console.post("/api/v1/agent/login", json={"email": " MARA@nordlicht-home.example",
                                                               "password": PASSWORD})
    body = await response.json()

    assert response.status == 200
    assert body["agent"] == {"email": EMAIL, "name": "Mara Lind", "team": "logistics", "role": "agent"}
    assert len(body["csrf_token"]) >= 32
    cookie = SimpleCookie(response.headers["Set-Cookie"])[COOKIE]
    assert len(cookie.value) >= 32 and cookie.value != body["csrf_token"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/"
    assert not cookie["secure"]
    # Redis holds a digest of the session id, never the id itself.
    digest = hashlib.sha256(cookie.value.encode()).hexdigest()
    assert await redis.exists(keys.agent_session(cookie.value)) == 0
    assert await redis.exists(keys.agent_session(digest)) == 1


async def test_the_cookie_is_secure_when_the_public_url_is_https(
        aiohttp_client: AiohttpClient, agent: None, api_settings: Settings) -> None:
    assert api_settings.public_url and api_settings.public_url.startswith("https://")
    client = await _client(aiohttp_client, api_settings)

    response = await client.post("/api/v1/agent/login", json=CREDENTIALS)

    assert response.status == 200
    assert SimpleCookie(response.headers["Set-Cookie"])[COOKIE]["secure"]


async def test_wrong_password_and_unknown_email_get_the_same_answer(console: TestClient) -> None:
    wrong = await _login(console, password="not-the-password")
    unknown = await _login(console, email="nobody@nordlicht-home.example")

    assert wrong == unknown == (401, {"error": "invalid_credentials", "message": "wrong email or password"})
    assert (await console.get("/api/v1/agent/me")).status == 401


async def _login_from(client: TestClient, address: str, **body: str) -> tuple[int, Any, str | None]:
    response = await client.post("/api/v1/agent/login", json={**CREDENTIALS, **body},
                                 headers={"X-Forwarded-For": address})
    return response.status, await response.json(), response.headers.get("Retry-After")


async def test_wrong_passwords_from_one_address_cannot_lock_the_agent_out_elsewhere(
        aiohttp_client: AiohttpClient, agent: None, agent_settings: Settings) -> None:
    # Behind the test's "load balancer" (127.0.0.1), X-Forwarded-For names the client.
    console = await _client(aiohttp_client, agent_settings.replace(trusted_proxies="127.0.0.1"))
    guesser, mara = "203.0.113.9", "198.51.100.7"
    answers = [await _login_from(console, guesser, password="not-the-password") for _ in range(6)]

    assert [status for status, _, _ in answers] == [401] * 5 + [429]
    status, body, retry_after = answers[-1]
    assert body["error"] == "too_many_attempts" and retry_after is not None and 0 < int(retry_after) <= 360
    # The right password from the guesser's address waits too; Mara's own login does not.
    assert (await _login_from(console, guesser))[0] == 429
    assert (await _login_from(console, mara, email=" Mara@NORDLICHT-home.example"))[0] == 200


async def test_one_address_trying_many_emails_is_slowed_down(
        aiohttp_client: AiohttpClient, agent: None, agent_settings: Settings) -> None:
    console = await _client(aiohttp_client, agent_settings.replace(trusted_proxies="127.0.0.1"))
    tries = [(await _login_from(console, "203.0.113.10", email=f"guess{n}@nordlicht-home.example"))[0]
             for n in range(21)]

    assert tries == [401] * 20 + [429]
    assert (await _login_from(console, "203.0.113.11"))[0] == 200


async def test_successful_logins_give_their_attempt_back_so_a_whole_office_logs_in_from_one_address(
        aiohttp_client: AiohttpClient, agent: None, agent_settings: Settings) -> None:
    # The shipped rules: 20 at once per address, 5 per address and email.
    console = await _client(aiohttp_client, agent_settings.replace(trusted_proxies="127.0.0.1"))
    office = [(await _login_from(console, "198.51.100.20"))[0] for _ in range(40)]
    guesses = [(await _login_from(console, "198.51.100.20", password="not-the-password"))[0] for _ in range(6)]

    assert office == [200] * 40
    assert guesses == [401] * 5 + [429]


async def test_a_login_needs_a_json_body_with_both_fields(console: TestClient) -> None:
    form = await console.post("/api/v1/agent/login", data=CREDENTIALS)
    missing = await console.post("/api/v1/agent/login", json={"email": EMAIL})

    assert form.status == 415
    assert missing.status == 422 and "password" in (await missing.json())["message"]


# --- the session -------------------------------------------------------------------------


async def test_me_answers_the_agent_of_the_session_or_401(console: TestClient) -> None:
    assert (await console.get("/api/v1/agent/me")).status == 401
    _, login = await _login(console)

    response = await console.get("/api/v1/agent/me")

    assert response.status == 200 and await response.json() == login


async def test_logout_needs_the_csrf_token(console: TestClient) -> None:
    _, login = await _login(console)

    missing = await console.post("/api/v1/agent/logout")
    wrong = await console.post("/api/v1/agent/logout", headers={CSRF_HEADER: "x" + login["csrf_token"]})

    assert (missing.status, wrong.status) == (403, 403)
    assert (await missing.json())["error"] == "csrf_failed"
    assert (await console.get("/api/v1/agent/me")).status == 200


async def test_logout_ends_the_session_for_good(console: TestClient) -> None:
    _, login = await _login(console)
    session_id = console.session.cookie_jar.filter_cookies(console.make_url("/"))[COOKIE].value

    response = await console.post("/api/v1/agent/logout", headers={CSRF_HEADER: login["csrf_token"]})

    assert response.status == 204
    assert (await console.get("/api/v1/agent/me")).status == 401
    # Replaying the old cookie does not bring the session back.
    replayed = await console.get("/api/v1/agent/me", headers={"Cookie": f"{COOKIE}={session_id}"})
    assert replayed.status == 401


async def test_a_session_expires_after_its_idle_time_and_each_request_extends_it(
        aiohttp_client: AiohttpClient, agent: None, agent_settings: Settings) -> None:
    client = await _client(aiohttp_client, agent_settings.replace(agent_session_hours=0.6 / 3600))
    assert (await _login(client))[0] == 200

    for _ in range(3):  # 0.9 s in all, longer than the idle time
        await asyncio.sleep(0.3)
        assert (await client.get("/api/v1/agent/me")).status == 200
    await asyncio.sleep(0.9)

    assert (await client.get("/api/v1/agent/me")).status == 401


async def test_a_removed_account_ends_its_sessions(console: TestClient, redis: Redis) -> None:
    await _login(console)
    await redis.delete(keys.agent(EMAIL))

    assert (await console.get("/api/v1/agent/me")).status == 401


# --- the OpenAPI document ------------------------------------------------------------------


def test_openapi_describes_the_agent_routes_with_session_and_csrf() -> None:
    doc = document("http://x")

    assert doc["components"]["securitySchemes"]["agentSession"] == {
        "type": "apiKey", "in": "cookie", "name": COOKIE, "description": "set by POST /agent/login"}
    for route in ROUTES:
        operation = doc["paths"][route.path][route.method.lower()]
        headers = [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]
        if route.csrf is None:
            assert operation["security"] == [], route.path
        else:
            assert operation["security"] == [{"agentSession": []}], route.path
            assert "401" in operation["responses"], route.path
            assert (headers == [CSRF_HEADER]) is route.csrf, route.path


# --- the CLI -----------------------------------------------------------------------------------


def _storechat(redis_url: str, data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REDIS_URL": redis_url, "STORECHAT_DATA_DIR": str(data_dir)}
    return subprocess.run([str(REPO_ROOT / ".venv/bin/storechat"), *args], input=stdin, env=env,
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.slow  # five runs of the real `storechat` command, each starting Python afresh
async def test_storechat_agents_add_and_list(redis: Redis, redis_url: str, tmp_path: Path) -> None:
    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return _storechat(redis_url, tmp_path, "agents", *args, stdin=stdin)

    added = await asyncio.to_thread(run, "add", "--email", "Jonas@Example.com", "--password", PASSWORD,
                                    "--team", "billing", "--name", "Jonas Ek", "--role", "supervisor")
    updated = await asyncio.to_thread(run, "add", "--email", "jonas@example.com", "--password", "-",
                                      "--team", "product", stdin="aus-der-standardeingabe\n")
    too_short = await asyncio.to_thread(run, "add", "--email", "kim@example.com", "--password", "-",
                                        "--team", "general", stdin="kurz\n")
    bad_team = await asyncio.to_thread(run, "add", "--email", "kim@example.com", "--password", PASSWORD,
                                       "--team", "sales")
    listed = await asyncio.to_thread(run, "list")

    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "added jonas@example.com (Jonas Ek, billing, supervisor)"
    assert updated.returncode == 0 and updated.stdout.startswith("updated jonas@example.com"), updated.stderr
    assert too_short.returncode == 2 and "at least 10" in too_short.stderr
    assert bad_team.returncode == 2 and "invalid choice" in bad_team.stderr
    assert listed.returncode == 0
    assert listed.stdout.split() == ["jonas@example.com", "product", "supervisor", "Jonas", "Ek"]
    assert PASSWORD not in added.stdout + listed.stdout
    agents = AgentStore(redis)
    assert await agents.authenticate("jonas@example.com", "aus-der-standardeingabe") is not None
    assert await agents.authenticate("jonas@example.com", PASSWORD) is None
    assert await agents.get("kim@example.com") is None
