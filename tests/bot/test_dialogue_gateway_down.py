"""The real action server when the gateway is down or slow: a polite "can't look it up
right now" and the offer of a human, never an error; and nobody but Rasa gets it to run
anything. Rasa is not needed: the tests call the action server's webhook the way Rasa does."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.actions.texts import texts
from gateway.run import processes
from gateway.settings import Settings
from tests.gateway.shop_support import BOT_TOKEN
from tests.support import free_port, running

# The real action server, started here (no fixture of tests/conftest.py marks it).
pytestmark = pytest.mark.rasa


ACTIONS_TOKEN = "actions-token-for-tests"


@dataclasses.dataclass(frozen=True)
class ActionServer:
    url: str
    gateway_port: int  # nothing listens here unless a test starts something


@pytest.fixture(scope="module")
def action_server(base_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ActionServer]:
    settings = base_settings.replace(
        port=free_port(), action_server_port=free_port(), bot_token=BOT_TOKEN, actions_token=ACTIONS_TOKEN,
    )
    service = processes.action_server(settings)
    service = dataclasses.replace(service, env={**service.env, "STORECHAT_API_TIMEOUT": "1"})
    url = f"http://127.0.0.1:{settings.action_server_port}"
    with running(service, tmp_path_factory.mktemp("actions-logs") / "actions.log",
                 processes.http_ok(f"{url}/health"), timeout=120):
        yield ActionServer(url, settings.port)


@pytest.fixture
async def slow_gateway(action_server: ActionServer) -> AsyncIterator[None]:
    async def stall(request: web.Request) -> web.Response:
        await asyncio.sleep(10)
        return web.json_response({})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", stall)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", action_server.gateway_port).start()
    yield
    await runner.cleanup()


def _call(action: str, text: str = "", metadata: dict[str, Any] | None = None, **slots: Any) -> dict[str, Any]:
    """The body Rasa posts to run `action`."""
    latest = {"text": text, "intent": {"name": "order_status"}, "entities": [], "metadata": metadata or {}}
    tracker = {
        "sender_id": "conv-down", "slots": {"language": "en", **slots}, "paused": False, "latest_message": latest,
        "events": [{"event": "user", "text": text}], "active_loop": {}, "latest_action_name": "action_listen",
    }  # fmt: skip
    return {"next_action": action, "sender_id": "conv-down", "tracker": tracker, "domain": {}}


async def _post(server: ActionServer, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, Any]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        async with session.post(f"{server.url}/webhook", json=body, headers=headers) as response:
            return response.status, await response.json(content_type=None)


async def _run(server: ActionServer, action: str, text: str = "", **slots: Any) -> dict[str, Any]:
    status, result = await _post(server, _call(action, text, **slots), {"Authorization": f"Bearer {ACTIONS_TOKEN}"})
    assert status == 200, result
    return dict(result)


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", f"Basic {ACTIONS_TOKEN}", f"Bearer {ACTIONS_TOKEN}x"])
async def test_a_forged_tracker_without_the_secret_runs_nothing(action_server: ActionServer, authorization: str | None) -> None:
    """The action-server hole: a tracker claiming the SMS number of someone's order."""
    forged = _call("validate_order_lookup_form", "where is my order 104233?",
                   {"channel": "sms", "phone": "+4915112345678"})
    headers = {} if authorization is None else {"Authorization": authorization}

    status, body = await _post(action_server, forged, headers)

    assert (status, body) == (401, {"error": "unauthorized"})


def _slots(result: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in result["events"] if e.get("event") == "slot"}


async def test_the_lookup_ends_as_unavailable_when_the_gateway_is_down(action_server: ActionServer) -> None:
    result = await _run(action_server, "validate_order_lookup_form", "where is my order 104233?")
    assert _slots(result)["proof"] == "unavailable"
    assert _slots(result)["requested_slot"] is None


async def test_the_task_apologises_and_offers_a_human(action_server: ActionServer) -> None:
    result = await _run(action_server, "action_order_task", proof="unavailable", order_number="104233",
                        order_task="start_return")
    en = texts("en")
    assert [r.get("text") for r in result["responses"]] == [en("lookup_unavailable"), en("offer_human")]
    assert [b["payload"] for b in result["responses"][1]["buttons"]] == ["/request_human", "/deny"]
    assert _slots(result)["handoff_offer"] == {"team": "logistics", "reason": "lookup_unavailable"}


async def test_a_slow_gateway_is_given_up_on_within_the_timeout(
    action_server: ActionServer, slow_gateway: None
) -> None:
    started = time.monotonic()
    result = await _run(action_server, "action_return_status")
    assert time.monotonic() - started < 5
    assert result["responses"][0]["text"] == texts("en")("lookup_unavailable")
