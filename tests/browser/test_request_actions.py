"""An agent approves a shopper's return in the console and sends its label; the shopper reads
both in the widget, and the console's timeline says who decided, in the agent's language.

The gateway is the session's `bot_stack` (the real bot hands the shopper over); the return is
opened through the bot's API, as the bot's return dialogue does.
"""

from __future__ import annotations

import re

import aiohttp
from playwright.sync_api import Page, expect

from gateway.settings import Settings
from tests.browser.test_console import (
    AGENT_NAME,
    ASK_FOR_A_PERSON,
    conversation_id,
    gateway_url,
    log_in,
    open_case,
    pages,  # noqa: F401  (a fixture)
    run,
    shop_with_agent,  # noqa: F401  (a fixture)
    take,
    widget,
)
from tests.browser.test_widget import open_chat, open_shop, say
from tests.gateway.shop_support import BOT, SHOP, order_body


def _delivered_return(settings: Settings, cid: str) -> None:
    """The order delivered, proven in the conversation, and a return opened for it (the bot's calls)."""

    async def prepare() -> None:
        base = f"{gateway_url(settings)}/api/v1"
        body = order_body(status="delivered")
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            async with session.put(f"{base}/orders/104233", json=body, headers=SHOP) as response:
                assert response.status in (200, 201), await response.text()
            proof = {"order_id": "104233", "proof": {"kind": "email", "value": body["email"]}}
            async with session.post(f"{base}/conversations/{cid}/verifications", json=proof, headers=BOT) as response:
                assert response.status == 200, await response.text()
            wanted = {"kind": "return", "order_id": "104233", "reason": "Passt farblich nicht"}
            async with session.post(f"{base}/conversations/{cid}/requests", json=wanted, headers=BOT) as response:
                assert response.status == 201, await response.text()

    run(prepare)


def test_an_agent_approves_a_return_in_the_console_and_the_shopper_reads_it(
    pages: tuple[Page, Page], shop_with_agent: Settings
) -> None:
    shopper, agent = pages
    url = gateway_url(shop_with_agent)
    log_in(agent, url)
    open_shop(shopper, url)
    open_chat(shopper)
    say(shopper, ASK_FOR_A_PERSON)
    cid = conversation_id(shop_with_agent, shopper)
    chat = open_case(agent, cid)
    take(chat)
    _delivered_return(shop_with_agent, cid)

    request = chat.locator(".case-requests .request")
    expect(request).to_contain_text("return request")
    request.get_by_role("button", name="Approve").click()

    approved = widget(shopper).locator(".sc-msg--agent").filter(has_text="Ihre Rücksendung für Bestellung 104233 "
                                                                          "ist genehmigt")
    expect(approved).to_be_visible()
    expect(approved.locator(".sc-author-name")).to_have_text(AGENT_NAME)
    timeline = chat.locator(".events")
    expect(timeline.locator(".ev--request .ev-request-action").filter(has_text=f"Approved by {AGENT_NAME}")).to_have_count(1)
    expect(request).to_have_attribute("data-status", "approved")
    expect(request.get_by_role("button", name="Approve")).to_have_count(0)

    request.get_by_role("button", name="Send return label").click()
    label = widget(shopper).locator(".sc-msg--agent").filter(has_text="Hier ist Ihr kostenloses DHL-Rücksendeetikett")
    # The label page, as a link the shopper taps.
    expect(label.get_by_role("link")).to_have_attribute("href", re.compile(r"/returns/[A-Za-z0-9_-]+/label$"))
    expect(timeline.locator(".ev-request-action").filter(has_text=f"Return label sent by {AGENT_NAME}")).to_have_count(1)
    expect(request.get_by_role("button", name="Send return label")).to_have_count(0)
