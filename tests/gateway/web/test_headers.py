"""Every answer says nosniff; every page brings a Content-Security-Policy (its own, or the
gateway's strict one); the access log never holds a return label's id or a token."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from aiohttp.test_utils import TestClient

from gateway.settings import Settings
from gateway.web.access_log import redacted_target
from gateway.web.headers import PAGE_POLICY
from tests.support import free_port, gateway_process


@pytest.mark.parametrize("path", ["/", "/help", "/cart", "/p/fjord-throw?lang=en"])
async def test_the_storefront_pages_have_the_strict_policy(api: TestClient, path: str) -> None:  # type: ignore[type-arg]
    page = await api.get(path)
    assert page.content_type == "text/html"
    assert page.headers["Content-Security-Policy"] == PAGE_POLICY
    assert page.headers["X-Content-Type-Options"] == "nosniff"


async def test_every_answer_says_nosniff_and_the_console_keeps_its_own_policy(api: TestClient) -> None:  # type: ignore[type-arg]
    console = await api.get("/console")
    assert "script-src 'self'" in console.headers["Content-Security-Policy"]
    for path in ("/healthz", "/api/v1/openapi.json", "/widget.js", "/static/widget.css", "/no/such/page",
                 "/api/v1/orders/104233"):
        answer = await api.get(path)
        assert answer.headers.get("X-Content-Type-Options") == "nosniff", path


def test_return_ids_and_tokens_are_redacted() -> None:
    assert redacted_target("/returns/Zt9pQmW1xk3vB7nR2sLc/label", "lang=en") == "/returns/…/label?lang=en"
    assert (redacted_target("/webhooks/messenger", "hub.mode=subscribe&hub.verify_token=s3cret&hub.challenge=42")
            == "/webhooks/messenger?hub.mode=subscribe&hub.verify_token=…&hub.challenge=42")
    assert redacted_target("/socket.io/", "EIO=4&transport=polling&sid=abc") == "/socket.io/?EIO=4&transport=polling&sid=…"


def test_return_ids_anywhere_and_personal_data_in_queries_are_redacted() -> None:
    assert redacted_target("/api/v1/returns/Zt9pQmW1xk3vB7nR2sLc/events", "") == "/api/v1/returns/…/events"
    assert redacted_target("/api/v1/returns/Zt9pQmW1xk3vB7nR2sLc", "") == "/api/v1/returns/…"
    assert (redacted_target("/api/v1/agent/contacts", "email=jana%40example.org&phone=%2B4917012345&limit=5")
            == "/api/v1/agent/contacts?email=…&phone=…&limit=5")


def test_the_served_access_log_holds_no_label_id_and_no_verify_token(base_settings: Settings, tmp_path: Path) -> None:
    settings = base_settings.replace(port=free_port())
    log = tmp_path / "gateway.log"
    label_id, token = "Zt9pQmW1xk3vB7nR2sLcQ4", "verify-token-in-the-log"
    with gateway_process(settings, log, env={"MESSENGER_APP_SECRET": "s", "MESSENGER_VERIFY_TOKEN": token,
                                             "MESSENGER_PAGE_ACCESS_TOKEN": "p"}):
        base = f"http://{settings.host}:{settings.port}"
        requests.get(f"{base}/returns/{label_id}/label", timeout=10)
        handshake = requests.get(f"{base}/webhooks/messenger", timeout=10, params={
            "hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "1158201444"})
        assert handshake.text == "1158201444"
    written = log.read_text(encoding="utf-8")
    assert '"GET /returns/…/label" 404' in written and "hub.verify_token=…" in written
    assert label_id not in written and token not in written
