"""An agent's reply to a WhatsApp shopper, in the console: the request answers at once and
the reply's delivery state shows under it, live — sent when the provider took it, then
delivered and read as WhatsApp's status webhooks report them; a send that timed out reads
"unknown" (the provider may have it), never sent twice.

A real `storechat serve` with the real Rasa bot; the provider is tests/channels/provider_standin.py,
the shopper a signed WhatsApp webhook as Meta sends it.
"""

from __future__ import annotations

import asyncio

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from playwright.sync_api import Browser, Page, expect
from redis.asyncio import Redis

from core.types import Channel, EventKind, Team
from gateway.conversations.store import ConversationStore
from gateway.desk.agents import AgentStore
from gateway.settings import Settings
from tests.browser.test_console import AGENT_EMAIL, AGENT_PASSWORD, AGENT_NAME, ASK_FOR_A_PERSON, log_in, open_case, run, take
from tests.channels.drivers import DRIVERS, PHONE_NUMBER_ID, Webhook, channel_env
from tests.channels.provider_standin import ProviderStandIn, provider_standin
from tests.gateway.messaging.support import meta_sign
from tests.support import free_port, gateway_process

WHATSAPP = DRIVERS["whatsapp"]
SHOPPER = "+4915155501234"
READ_TIMEOUT_S = 1.0


@dataclass(frozen=True)
class WhatsAppShop:
    url: str
    settings: Settings
    standin: ProviderStandIn


@pytest.fixture
def whatsapp_shop(rasa_settings: Settings, tmp_path: Path) -> Iterator[WhatsAppShop]:
    """A gateway with WhatsApp on (at the stand-in) and one agent of the general team."""
    settings = rasa_settings.replace(port=free_port())
    url = f"http://127.0.0.1:{settings.port}"

    async def prepare() -> None:
        redis = Redis.from_url(settings.effective_redis_url, decode_responses=True)
        try:
            await redis.flushdb()
            await AgentStore(redis).put(AGENT_EMAIL, AGENT_PASSWORD, team=Team.GENERAL, name=AGENT_NAME)
        finally:
            await redis.aclose()

    run(prepare)
    with provider_standin() as standin:
        env = {**channel_env(url, standin.url), "STORECHAT_PROVIDER_READ_TIMEOUT": str(READ_TIMEOUT_S)}
        with gateway_process(settings, tmp_path / "gateway.log", env):
            yield WhatsAppShop(url, settings, standin)


def _post(shop: WhatsAppShop, webhook: Webhook) -> None:
    async def send() -> None:
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{shop.url}/webhooks/whatsapp", data=webhook.body, headers=webhook.headers) as answer:
                assert answer.status == 200, await answer.text()
    run(send)


def _status(wamid: str, state: str) -> Webhook:
    body = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
        "field": "messages", "value": {"messaging_product": "whatsapp",
                                       "metadata": {"display_phone_number": "1", "phone_number_id": PHONE_NUMBER_ID},
                                       "statuses": [{"id": wamid, "status": state, "timestamp": "1700000000",
                                                     "recipient_id": SHOPPER.lstrip("+")}]}}]}]}).encode()
    return Webhook(body, {"Content-Type": "application/json", "X-Hub-Signature-256": "sha256=" + meta_sign(body)}, "")


async def _conversation_id_in(redis: Redis, shop: WhatsAppShop) -> str:  # type: ignore[type-arg]
    # The webhook is acknowledged before its message is processed (the inbox worker opens
    # the conversation a moment later): wait for it, as the console does for the live update.
    async with asyncio.timeout(10):
        while (conversation := await ConversationStore(redis).find_latest(Channel.WHATSAPP, SHOPPER)) is None:
            await asyncio.sleep(0.05)
    return conversation.id


def _conversation_id(shop: WhatsAppShop) -> str:
    async def find() -> str:
        redis = Redis.from_url(shop.settings.effective_redis_url, decode_responses=True)
        try:
            return await _conversation_id_in(redis, shop)
        finally:
            await redis.aclose()
    return run(find)


def _wamid_of(shop: WhatsAppShop, text: str) -> str:
    """The provider's id of the sent message `text`, from its `sent` state on the case."""
    async def find() -> str:
        redis = Redis.from_url(shop.settings.effective_redis_url, decode_responses=True)
        try:
            history = await ConversationStore(redis).history(await _conversation_id_in(redis, shop))
        finally:
            await redis.aclose()
        message = next(e for e in history if e.kind is EventKind.MESSAGE and e.text == text)
        sent = next(e for e in history if e.kind is EventKind.DELIVERY and e.data.get("message_id") == message.id
                    and e.data["status"] == "sent")
        return str(sent.data["provider_ids"][0])
    return run(find)


def test_a_replys_delivery_state_shows_live_under_it(
        browser: Browser, whatsapp_shop: WhatsAppShop) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-GB")
    agent: Page = context.new_page()
    agent.set_default_timeout(30_000)
    try:
        log_in(agent, whatsapp_shop.url)
        _post(whatsapp_shop, WHATSAPP.inbound(whatsapp_shop.url, SHOPPER, ASK_FOR_A_PERSON))
        chat = open_case(agent, _conversation_id(whatsapp_shop))
        take(chat)
        whatsapp_shop.standin.drain()

        reply = "Hallo, ich bin Jonas und kümmere mich darum."
        composer = chat.get_by_role("textbox", name="Reply to the shopper")
        composer.fill(reply)
        composer.press("Enter")
        state = chat.locator(".ev--agent").filter(has_text=reply).locator(".ev-delivery")
        expect(state).to_have_attribute("data-state", "sent")
        expect(state).to_have_text("✓ Sent")
        wamid = _wamid_of(whatsapp_shop, reply)

        _post(whatsapp_shop, _status(wamid, "delivered"))
        expect(state).to_have_text("✓✓ Delivered")
        _post(whatsapp_shop, _status(wamid, "read"))
        expect(state).to_have_text("✓✓ Read")
        _post(whatsapp_shop, _status(wamid, "delivered"))  # late news never goes back
        expect(state).to_have_text("✓✓ Read")

        # The provider takes the next one and never answers in time: unknown, and not sent again.
        calls = whatsapp_shop.standin.received
        whatsapp_shop.standin.hang_next(1, READ_TIMEOUT_S * 4)
        hung = "Einen Moment bitte."
        composer.fill(hung)
        composer.press("Enter")
        hung_state = chat.locator(".ev--agent").filter(has_text=hung).locator(".ev-delivery")
        expect(hung_state).to_have_attribute("data-state", "unknown")
        expect(chat.locator(".ev--delivery.ev--problem").filter(has_text="may or may not")).to_have_count(1)
        agent.wait_for_timeout(READ_TIMEOUT_S * 2000)
        assert whatsapp_shop.standin.received == calls + 1  # one call, never a second

        # After a reload, from the case alone.
        agent.reload()
        chat = open_case(agent, _conversation_id(whatsapp_shop))
        expect(chat.locator(".ev--agent").filter(has_text=reply).locator(".ev-delivery")).to_have_text("✓✓ Read")
        expect(chat.locator(".ev--agent").filter(has_text=hung).locator(".ev-delivery")).to_have_attribute(
            "data-state", "unknown")
    finally:
        context.close()
