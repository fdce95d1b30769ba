"""The widget when the gateway slows a shopper down: told politely, nothing typed is lost.

Its own gateway (and Redis database) with a tight message rule: one message per socket.
No Rasa behind it: the first message is answered by the gateway's "bot unavailable" notice.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from gateway.settings import Settings
from tests.browser.test_widget import open_chat, open_shop, say
from tests.gateway.webchat.support import limits_file
from tests.support import free_port, gateway_process


@pytest.fixture(scope="module")
def slow_gateway(base_settings: Settings, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    limits = limits_file(tmp_path_factory.mktemp("limits"), web_message_per_socket="1/hour burst 1")
    settings = base_settings.replace(port=free_port(), redis_url=redis_url.rsplit("/", 1)[0] + "/2",
                                     rasa_url=f"http://127.0.0.1:{free_port()}")
    log = tmp_path_factory.mktemp("slow-gateway-logs") / "gateway.log"
    with gateway_process(settings, log, env={"STORECHAT_LIMITS": str(limits)}):
        yield f"http://127.0.0.1:{settings.port}"


def test_a_slowed_down_shopper_is_told_and_keeps_the_unsent_message(page: Page, slow_gateway: Any) -> None:
    open_shop(page, slow_gateway)
    open_chat(page)
    root = page.locator("#storechat-widget")
    say(page, "Erste Frage")
    expect(root.locator(".sc-notice").first).to_be_visible()

    say(page, "Zweite Frage")

    expect(root.locator(".sc-notice").last).to_contain_text("zu schnell")
    expect(page.get_by_role("textbox", name="Ihre Nachricht")).to_have_value("Zweite Frage")
    expect(root.locator(".sc-msg--shopper .sc-bubble")).to_have_text(["Erste Frage"])
