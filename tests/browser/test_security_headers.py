"""The pages under their Content-Security-Policy in a real browser: the storefront with the
widget and the return label work, and nothing on them is blocked."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.sync_api import ConsoleMessage, Page, expect
from redis.asyncio import Redis

from gateway.json_input import parse
from gateway.shop.orders import OrderEvent, OrderStatus, OrderStore, parse_order
from gateway.shop.shopper_requests import RequestInput, RequestStore
from tests.browser.test_widget import open_chat, open_shop, say, wait_for_bot_answer
from tests.gateway.shop_support import order_body


def _blocked(page: Page) -> list[str]:
    """What the page's policy blocked, as Chromium reports it on the console."""
    blocked: list[str] = []

    def seen(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            blocked.append(message.text)

    page.on("console", seen)
    return blocked


async def _a_return_label(settings: Any) -> str:
    redis = Redis.from_url(settings.effective_redis_url, decode_responses=True)
    try:
        order = parse_order(order_body(order_id="104901", status="delivered"), "104901")
        delivered = OrderEvent(OrderStatus.DELIVERED, datetime.now(UTC) - timedelta(days=2))
        stored, _ = await OrderStore(redis).put(order, events=(delivered,))
        wanted = parse(RequestInput, {"kind": "return", "order_id": "104901", "reason": "zu klein"},
                       context={"order_pattern": settings.order_number_pattern})
        opened, _ = await RequestStore(redis, settings.effective_public_url).open("csp-test", wanted, stored)
        return opened.id
    finally:
        await redis.aclose()


def test_the_storefront_and_its_widget_run_under_the_policy(page: Page, live_gateway: Any) -> None:
    blocked = _blocked(page)
    open_shop(page, live_gateway.url)
    open_chat(page)
    say(page, "hallo")
    wait_for_bot_answer(page)
    assert blocked == []


def test_the_return_label_is_styled_and_prints_under_its_policy(page: Page, live_gateway: Any) -> None:
    # Playwright's sync API runs an event loop in this thread: the setup gets its own thread.
    with ThreadPoolExecutor(1) as thread:
        return_id = thread.submit(asyncio.run, _a_return_label(live_gateway.settings)).result()
    blocked = _blocked(page)
    page.goto(f"{live_gateway.url}/returns/{return_id}/label")
    expect(page.get_by_role("heading", name="Rücksendeetikett")).to_be_visible()
    # The inline style applied (its hash is in the policy) ...
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(243, 245, 246)"
    # ... and the print button's script runs.
    page.evaluate("() => { window.print = () => { window.printed = true; }; }")
    page.get_by_role("button").click()
    assert page.evaluate("window.printed") is True
    assert blocked == []
