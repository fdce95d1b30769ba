"""The agent console and the shopper's widget, side by side in two browser contexts.

The gateway is the session's `bot_stack`: the real Rasa bot and action server look
orders up through the gateway's own API, so a shopper can prove an order in the chat
and the agent sees it verified on the case.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import aiohttp
import pytest
from playwright.sync_api import Browser, Dialog, Locator, Page, expect
from redis.asyncio import Redis

from core.types import Channel, Team
from gateway.api.agent import COOKIE
from gateway.conversations.store import ConversationStore
from gateway.desk.agents import AgentStore
from gateway.settings import Settings
from tests.browser.test_widget import SESSION_KEY, open_chat, open_shop, say
from tests.gateway.shop_support import SHOP, order_body

AGENT_EMAIL = "jonas.weber@nordlicht-home.example"
AGENT_PASSWORD = "console-test-password"
AGENT_NAME = "Jonas Weber"
COLLEAGUE_EMAIL = "mara.lind@nordlicht-home.example"
COLLEAGUE_NAME = "Mara Lind"
ASK_FOR_A_PERSON = "Ich möchte mit einem Menschen sprechen"
T = TypeVar("T")


def run(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Runs a coroutine on an event loop of its own: Playwright's sync API holds this thread's."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, make()).result()


def gateway_url(settings: Settings) -> str:
    return f"http://127.0.0.1:{settings.port}"


@pytest.fixture
def shop_with_agent(bot_stack: Settings) -> Settings:
    """An empty database, then the demo order 104233 (in transit) and one agent of the general
    team, where the bot hands a shopper who asks for a person (an agent reads their team's queue)."""

    async def prepare() -> None:
        redis = Redis.from_url(bot_stack.effective_redis_url, decode_responses=True)
        try:
            await redis.flushdb()
            await AgentStore(redis).put(AGENT_EMAIL, AGENT_PASSWORD, team=Team.GENERAL, name=AGENT_NAME)
        finally:
            await redis.aclose()
        body = order_body(status="in_transit")
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            url = f"{gateway_url(bot_stack)}/api/v1/orders/{body['order_id']}"
            async with session.put(url, json=body, headers=SHOP) as response:
                assert response.status in (200, 201), await response.text()

    run(prepare)
    return bot_stack


@pytest.fixture
def pages(browser: Browser) -> Iterator[tuple[Page, Page]]:
    """(shopper, agent): two browser contexts, so two users with their own cookies and storage."""
    shopper_context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="de-DE")
    agent_context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-GB")
    try:
        shopper, agent = shopper_context.new_page(), agent_context.new_page()
        for page in (shopper, agent):
            page.set_default_timeout(30_000)  # a real Rasa bot answers within seconds, not instantly
        yield shopper, agent
    finally:
        shopper_context.close()
        agent_context.close()


def log_in(agent: Page, url: str) -> None:
    agent.goto(url + "/console")
    agent.get_by_label("Email").fill(AGENT_EMAIL)
    agent.get_by_label("Password").fill(AGENT_PASSWORD)
    agent.get_by_role("button", name="Log in").click()
    expect(agent.locator("#me-name")).to_have_text(AGENT_NAME)
    # Live updates are on before the shopper starts.
    agent.wait_for_function("() => document.body.dataset.live === 'on'")
    # Gone if the page were reloaded: proves that what follows arrives live.
    agent.evaluate("() => { window.__sameConsolePage = true; }")


def conversation_id(settings: Settings, shopper: Page) -> str:
    session_id = shopper.evaluate("key => localStorage.getItem(key)", SESSION_KEY)
    assert session_id

    async def find() -> str:
        # The shopper's first message creates the conversation: it may be on its way still.
        redis = Redis.from_url(settings.effective_redis_url, decode_responses=True)
        try:
            async with asyncio.timeout(10):
                while (conversation := await ConversationStore(redis).find_latest(Channel.WEB, session_id)) is None:
                    await asyncio.sleep(0.05)
        finally:
            await redis.aclose()
        return conversation.id

    return run(find)


def open_case(agent: Page, cid: str) -> Locator:
    """The chat column of `cid`, opened from the sidebar (a queue entry, or Mine if auto-assigned)."""
    entry = agent.locator(f'.sidebar [data-conversation-id="{cid}"]')
    expect(entry).to_be_visible(timeout=30_000)  # the bot's turn comes first
    chat = agent.locator(f'.chat[data-conversation-id="{cid}"]')
    if not chat.count():
        entry.locator(".entry-open").click()
    expect(chat).to_be_visible()
    return chat


def take(chat: Locator) -> None:
    """Claims the chat unless auto-assignment already gave it to this agent."""
    claim = chat.get_by_role("button", name="Claim")
    if claim.is_visible():
        claim.click()
    expect(chat.locator(".chat-meta")).to_contain_text("assigned to you")


def widget(shopper: Page) -> Locator:
    return shopper.locator("#storechat-widget")


def test_an_agent_takes_over_with_the_whole_case_and_the_shopper_rates_the_help(
    pages: tuple[Page, Page], shop_with_agent: Settings
) -> None:
    shopper, agent = pages
    url = gateway_url(shop_with_agent)
    log_in(agent, url)
    open_shop(shopper, url)
    open_chat(shopper)

    say(shopper, "Wo ist meine Bestellung 104233?")
    expect(widget(shopper).locator(".sc-msg--bot .sc-bubble").filter(has_text="104233").first).to_be_visible()
    say(shopper, "anna@example.com")
    expect(widget(shopper).locator(".sc-msg--bot .sc-bubble").filter(has_text="unterwegs").first).to_be_visible()
    say(shopper, ASK_FOR_A_PERSON)
    cid = conversation_id(shop_with_agent, shopper)

    # The conversation appears in the agent's console without a reload.
    chat = open_case(agent, cid)
    # Their team's queue only: an agent reaches their team's conversations and their own.
    expect(agent.locator("#queues .queue")).to_have_count(1)
    expect(agent.locator("#queues .queue")).to_have_attribute("data-team", "general")
    entry = agent.locator(f'.sidebar [data-conversation-id="{cid}"]')
    expect(entry.locator(".channel")).to_have_text("web")
    # The whole case: the bot's turns with what it understood, the verified order.
    timeline = chat.locator(".events")
    expect(timeline.locator(".ev--shopper .ev-bubble").first).to_have_text("Wo ist meine Bestellung 104233?")
    expect(timeline.locator(".ev--bot .ev-understood").first).to_contain_text("order_status")
    expect(timeline.locator(".ev--state").filter(has_text="queued for").first).to_be_visible()
    card = chat.locator('.order-card[data-order-id="104233"]')
    expect(card).to_contain_text("in transit")
    expect(card).to_contain_text("DHL")
    expect(card.get_by_role("link", name="00340434161234567890")).to_have_attribute(
        "href", re.compile(r"^https://www\.dhl\.de/.*piececode=00340434161234567890$"))
    expect(card).to_contain_text("Leinen-Kissenhülle")

    take(chat)
    reply = "Hallo Anna, ich bin Jonas. Ich sehe mir Ihre Sendung gleich an."
    composer = chat.get_by_role("textbox", name="Reply to the shopper")
    composer.fill(reply)
    composer.press("Enter")

    # The shopper reads the reply in the widget, with the agent's name.
    answer = widget(shopper).locator(".sc-msg--agent").filter(has_text=reply)
    expect(answer.locator(".sc-author-name")).to_have_text(AGENT_NAME)
    expect(timeline.locator(".ev--agent .ev-bubble").filter(has_text=reply)).to_have_count(1)

    chat.get_by_role("button", name="Resolve").click()
    expect(chat.locator(".chat-meta .state")).to_have_text("resolved")

    # CSAT: quick replies 1–5 in the widget, then an optional comment.
    widget(shopper).get_by_role("button", name="5", exact=True).click()
    expect(widget(shopper).get_by_role("button", name="Nein, danke")).to_be_visible()
    say(shopper, "Schnell und freundlich, danke!")
    expect(chat.locator(".case-csat")).to_contain_text("5/5")
    expect(chat.locator(".case-csat")).to_contain_text("Schnell und freundlich, danke!")
    assert agent.evaluate("() => window.__sameConsolePage === true")


def test_typing_shows_on_both_sides(pages: tuple[Page, Page], shop_with_agent: Settings) -> None:
    shopper, agent = pages
    url = gateway_url(shop_with_agent)
    log_in(agent, url)
    open_shop(shopper, url)
    open_chat(shopper)
    say(shopper, ASK_FOR_A_PERSON)
    chat = open_case(agent, conversation_id(shop_with_agent, shopper))
    take(chat)

    widget(shopper).get_by_role("textbox", name="Ihre Nachricht").press_sequentially("Ist jemand da", delay=40)
    expect(chat.locator(".typing")).to_be_visible()

    chat.get_by_role("textbox", name="Reply to the shopper").press_sequentially("Ja, ich bin", delay=40)
    expect(widget(shopper).locator(".sc-typing-label")).to_have_text(f"{AGENT_NAME} schreibt …")


def test_the_second_agent_to_answer_learns_who_has_the_chat(
    pages: tuple[Page, Page], shop_with_agent: Settings
) -> None:
    shopper, agent = pages
    url = gateway_url(shop_with_agent)

    async def add_colleague() -> None:
        redis = Redis.from_url(shop_with_agent.effective_redis_url, decode_responses=True)
        try:
            await AgentStore(redis).put(COLLEAGUE_EMAIL, AGENT_PASSWORD, team=Team.GENERAL, name=COLLEAGUE_NAME)
        finally:
            await redis.aclose()

    async def colleague_claims(cid: str) -> None:
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{url}/api/v1/agent/login",
                                    json={"email": COLLEAGUE_EMAIL, "password": AGENT_PASSWORD}) as response:
                csrf = (await response.json())["csrf_token"]
                # Sent by hand: the cookie is Secure (the stack's public URL is https).
                cookie = f"{COOKIE}={response.cookies[COOKIE].value}"
            async with session.post(f"{url}/api/v1/agent/conversations/{cid}/claim",
                                    headers={"X-CSRF-Token": csrf, "Cookie": cookie}) as response:
                assert response.status == 200, await response.text()

    run(add_colleague)
    log_in(agent, url)
    agent.locator("#presence").select_option("away")  # nothing auto-assigned: the chat waits to be claimed
    expect(agent.locator("#notice")).to_have_text("Your presence: Away.")
    open_shop(shopper, url)
    open_chat(shopper)
    say(shopper, ASK_FOR_A_PERSON)
    cid = conversation_id(shop_with_agent, shopper)
    chat = open_case(agent, cid)
    expect(chat.get_by_role("button", name="Claim")).to_be_visible()

    run(lambda: colleague_claims(cid))
    composer = chat.get_by_role("textbox", name="Reply to the shopper")
    composer.fill("Guten Tag!")
    composer.press("Enter")

    expect(chat.get_by_role("alert")).to_have_text(f"Already taken by {COLLEAGUE_NAME}.")
    expect(chat.locator(".chat-meta")).to_contain_text(f"with {COLLEAGUE_NAME}")
    expect(agent.locator(f'.sidebar [data-conversation-id="{cid}"]')).to_have_count(0)
    expect(widget(shopper).locator(".sc-msg--agent")).to_have_count(0)


def test_messages_to_a_closed_chat_of_mine_count_as_unread(
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
    chat.get_by_role("button", name="Close this chat").click()

    say(shopper, "Hallo? Ist da jemand?")
    say(shopper, "Bitte melden Sie sich")

    mine = agent.locator(f'#mine [data-conversation-id="{cid}"]')
    expect(mine.locator(".badge")).to_have_text("2")
    expect(mine.locator(".preview")).to_have_text("Bitte melden Sie sich")
    mine.locator(".entry-open").click()
    expect(mine.locator(".badge")).to_have_count(0)
    expect(open_case(agent, cid).locator(".ev--shopper .ev-bubble").last).to_have_text("Bitte melden Sie sich")


def test_shopper_markup_shows_as_text_in_the_console(pages: tuple[Page, Page], shop_with_agent: Settings) -> None:
    shopper, agent = pages
    alerts: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        alerts.append(dialog.message)
        dialog.dismiss()

    agent.on("dialog", on_dialog)
    hostile = "<img src=x onerror=alert(1)>"
    url = gateway_url(shop_with_agent)
    log_in(agent, url)
    open_shop(shopper, url)
    open_chat(shopper)
    say(shopper, ASK_FOR_A_PERSON)
    cid = conversation_id(shop_with_agent, shopper)
    chat = open_case(agent, cid)

    say(shopper, hostile)

    expect(chat.locator(".ev--shopper .ev-bubble").filter(has_text=hostile)).to_have_text(hostile)
    agent.reload()  # the queue entry's preview and the case as loaded, not only the live event
    chat = open_case(agent, cid)
    expect(chat.locator(".ev--shopper .ev-bubble").last).to_have_text(hostile)
    expect(agent.locator(f'.sidebar [data-conversation-id="{cid}"] .preview')).to_have_text(hostile)
    assert agent.locator("img").count() == 0
    assert alerts == []


def test_a_wrong_password_is_refused_and_logout_returns_to_the_login(
    pages: tuple[Page, Page], shop_with_agent: Settings
) -> None:
    _, agent = pages
    url = gateway_url(shop_with_agent)
    agent.goto(url + "/console")
    agent.get_by_label("Email").fill(AGENT_EMAIL)
    agent.get_by_label("Password").fill("not-the-password")
    agent.get_by_role("button", name="Log in").click()
    expect(agent.get_by_role("alert")).to_have_text("Wrong email or password.")

    log_in(agent, url)
    agent.get_by_role("button", name="Log out").click()

    expect(agent.get_by_role("button", name="Log in")).to_be_visible()
    agent.reload()
    expect(agent.get_by_role("button", name="Log in")).to_be_visible()  # the session is gone, not only hidden


SCREENSHOT_ENV = "STORECHAT_CONSOLE_SCREENSHOT"


@pytest.mark.skipif(not os.environ.get(SCREENSHOT_ENV), reason=f"only with {SCREENSHOT_ENV}=<png path> "
                    "(tests/browser/screenshot_console.py)")
def test_screenshot_for_the_readme(browser: Browser, pages: tuple[Page, Page], shop_with_agent: Settings) -> None:
    """Two chats side by side, one with a verified order: the README's picture of the console."""
    anna, agent = pages
    url = gateway_url(shop_with_agent)
    log_in(agent, url)
    open_shop(anna, url)
    open_chat(anna)
    say(anna, "Wo ist meine Bestellung 104233?")
    expect(widget(anna).locator(".sc-msg--bot .sc-bubble").filter(has_text="104233").first).to_be_visible()
    say(anna, "anna@example.com")
    expect(widget(anna).locator(".sc-msg--bot .sc-bubble").filter(has_text="unterwegs").first).to_be_visible()
    say(anna, "Das Paket sollte gestern schon da sein. " + ASK_FOR_A_PERSON)
    first = open_case(agent, conversation_id(shop_with_agent, anna))
    take(first)
    composer = first.get_by_role("textbox", name="Reply to the shopper")
    composer.fill("Hallo Frau Berg, ich frage bei DHL nach und melde mich in wenigen Minuten.")
    composer.press("Enter")
    first.locator(".mode-option", has_text="Note").click()
    first.get_by_role("textbox", name="Private note").fill("DHL-Ticket angelegt, Rückruf erwartet.")
    first.get_by_role("textbox", name="Private note").press("Enter")
    expect(first.locator(".ev--note")).to_have_count(1)
    first.locator(".mode-option", has_text="Reply").click()

    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    try:
        ben = context.new_page()
        ben.set_default_timeout(30_000)
        ben.goto(url + "/?lang=en")
        ben.evaluate("() => window.StorechatWidget.ready")
        ben.evaluate("() => window.StorechatWidget.open()")
        box = ben.get_by_role("textbox", name="Your message")
        box.fill("How long do I have to return a lamp?")
        box.press("Enter")
        expect(ben.locator(".sc-msg--bot .sc-bubble").filter(has_text="30").first).to_be_visible()
        box.fill("I'd like to speak with a person")
        box.press("Enter")
        second = open_case(agent, conversation_id(shop_with_agent, ben))
        box.fill("The lamp arrived with a cracked shade. Can I get a new one?")
        box.press("Enter")
        expect(second.locator(".ev--shopper .ev-bubble").filter(has_text="cracked shade")).to_be_visible()
        second.locator(".canned-search").fill("damaged")
        expect(second.locator(".canned-results")).to_be_visible()
        agent.wait_for_timeout(500)  # the suggestion and the case settle
        agent.screenshot(path=os.environ[SCREENSHOT_ENV])
    finally:
        context.close()
