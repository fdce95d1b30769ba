"""Proactive offers as the shopper and the agent see them: the demo storefront reports the
cart and the pages through the widget, an idle cart gets a chat offer, and the agent who
takes the chat sees the cart and why it started.

The gateway here has its own rules file (cart_idle after 2 s instead of a minute, the
other rules out of reach) and its own Redis database: every gateway process runs the
offers' ticker, and the session's other gateways, with the real thresholds, must not
take this one's visitors.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect
from redis.asyncio import Redis

from core.types import Team
from gateway.desk.agents import AgentRole, AgentStore
from gateway.settings import Settings
from tests.browser.test_console import conversation_id, run
from tests.browser.test_widget import SESSION_KEY
from tests.support import free_port, gateway_process

RULES_ENV = "STORECHAT_PROACTIVE_RULES"
DEFAULT_RULES = Path(__file__).resolve().parents[2] / "config" / "proactive_rules.yml"
IDLE_SECONDS = 2
SUPERVISOR_EMAIL = "lena.vogt@nordlicht-home.example"
SUPERVISOR_PASSWORD = "proactive-test-password"
SUPERVISOR_NAME = "Lena Vogt"
VASE = "Düne Vase"  # 39,90 €: above cart_idle's minimum cart value


@dataclasses.dataclass(frozen=True)
class ProactiveGateway:
    url: str
    settings: Settings
    rules: dict[str, Any]

    def texts(self, lang: str) -> dict[str, str]:
        return dict(self.rules["rules"]["cart_idle"]["texts"][lang])


def quick_rules(directory: Path) -> tuple[Path, dict[str, Any]]:
    """The shipped rules with cart_idle due after IDLE_SECONDS and the others out of reach."""
    rules = yaml.safe_load(DEFAULT_RULES.read_text(encoding="utf-8"))
    rules["rules"]["cart_idle"]["when"]["idle_seconds"] = IDLE_SECONDS
    rules["rules"]["product_browsing"]["when"]["browsing_seconds"] = 86_400
    rules["rules"]["help_reading"]["when"]["help_pages"] = 1_000
    path = directory / "proactive_rules.yml"
    path.write_text(yaml.safe_dump(rules, allow_unicode=True), encoding="utf-8")
    return path, rules


@pytest.fixture(scope="module")
def proactive_gateway(base_settings: Settings, redis_url: str,
                      tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProactiveGateway]:
    """No Rasa turn happens here: accepting an offer is answered by the gateway itself."""
    rules_file, rules = quick_rules(tmp_path_factory.mktemp("proactive"))
    settings = base_settings.replace(
        port=free_port(), redis_url=redis_url.rsplit("/", 1)[0] + "/1",
        rasa_url=f"http://127.0.0.1:{base_settings.rasa_port}", proactive_rules_file=rules_file,
    )

    async def prepare() -> None:
        redis = Redis.from_url(settings.effective_redis_url, decode_responses=True)
        try:
            await redis.flushdb()
            await AgentStore(redis).put(SUPERVISOR_EMAIL, SUPERVISOR_PASSWORD, team=Team.GENERAL,
                                        name=SUPERVISOR_NAME, role=AgentRole.SUPERVISOR)
        finally:
            await redis.aclose()

    run(prepare)
    log = tmp_path_factory.mktemp("proactive-logs") / "gateway.log"
    with gateway_process(settings, log, env={RULES_ENV: str(rules_file)}):
        yield ProactiveGateway(url=f"http://127.0.0.1:{settings.port}", settings=settings, rules=rules)


def shadow(page: Page) -> Locator:
    return page.locator("#storechat-widget")


def fill_cart_and_wait_on_the_cart_page(page: Page, url: str, lang: str) -> None:
    page.goto(f"{url}/?lang={lang}")
    # The widget's session is confirmed: the catalogue's page view is out, not lost.
    page.wait_for_function("() => window.StorechatWidget.sessionId()")
    page.locator('[data-product-id="dune-vase"] [data-add-to-cart]').click()
    expect(page.locator("[data-cart-count]")).to_have_text("1")
    page.goto(f"{url}/cart?lang={lang}")
    expect(page.locator(".cart-page-line")).to_have_count(1)


def log_in_supervisor(agent: Page, url: str) -> None:
    agent.goto(url + "/console")
    agent.get_by_label("Email").fill(SUPERVISOR_EMAIL)
    agent.get_by_label("Password").fill(SUPERVISOR_PASSWORD)
    agent.get_by_role("button", name="Log in").click()
    expect(agent.locator("#me-name")).to_have_text(SUPERVISOR_NAME)
    # Online with a free slot: cart_idle offers a person only then.
    agent.wait_for_function("() => document.body.dataset.live === 'on'")


def offer_counts(agent: Page) -> dict[str, int]:
    """cart_idle's numbers in the supervisor's "Proactive offers" panel, freshly loaded."""
    with agent.expect_response(lambda response: response.url.endswith("/api/v1/agent/proactive")):
        agent.locator("#proactive .proactive-refresh").click()
    rule = agent.locator('#proactive [data-rule="cart_idle"]')
    expect(rule).to_be_visible()
    return {name: int(rule.locator(f'[data-count="{name}"]').inner_text()) for name in ("shown", "accepted", "converted")}


def wait_for_counts(agent: Page, expected: dict[str, int]) -> None:
    """The order reaches the gateway a moment after the click: ask again for up to 5 s."""
    counts = offer_counts(agent)
    for _ in range(20):
        if counts == expected:
            return
        agent.wait_for_timeout(250)
        counts = offer_counts(agent)
    assert counts == expected


def new_page(context: BrowserContext, errors: list[str]) -> Page:
    """A page whose script errors (an exception nobody caught) end up in `errors`."""
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
    return page


@pytest.fixture
def script_errors() -> Iterator[list[str]]:
    errors: list[str] = []
    yield errors
    assert errors == [], "uncaught script errors"


@pytest.fixture
def pages(browser: Browser, script_errors: list[str]) -> Iterator[tuple[Page, Page]]:
    """(shopper, agent) in two browser contexts."""
    shopper_context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="de-DE")
    agent_context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-GB")
    try:
        yield new_page(shopper_context, script_errors), new_page(agent_context, script_errors)
    finally:
        shopper_context.close()
        agent_context.close()


def test_an_idle_cart_gets_an_offer_and_the_agent_sees_the_cart(
    pages: tuple[Page, Page], proactive_gateway: ProactiveGateway
) -> None:
    shopper, agent = pages
    url = proactive_gateway.url
    texts = proactive_gateway.texts("de")
    log_in_supervisor(agent, url)
    before = offer_counts(agent)

    fill_cart_and_wait_on_the_cart_page(shopper, url, "de")

    # A colleague is online: the person's offer, above the launcher, while the chat is closed.
    teaser = shadow(shopper).locator(".sc-teaser")
    expect(teaser.locator(".sc-teaser-text")).to_have_text(texts["human_text"], timeout=IDLE_SECONDS * 1000 + 10_000)
    expect(shopper.get_by_role("dialog")).to_be_hidden()
    teaser.get_by_role("button", name=texts["accept"]).click()

    # The chat opens with the offer (once: its bot_uttered copy is not shown again) and the answer.
    expect(shopper.get_by_role("dialog")).to_be_visible()
    expect(teaser).to_be_hidden()
    expect(shadow(shopper).locator(".sc-msg--bot .sc-bubble").filter(has_text=texts["human_text"])).to_have_count(1)
    expect(shadow(shopper).locator(".sc-msg--shopper .sc-bubble").last).to_have_text(texts["accept"])

    # The agent's case: the cart and the pages, and why the chat began.
    # The shop's own scripts read the same session id through the widget's API.
    assert shopper.evaluate("() => window.StorechatWidget.sessionId()") == shopper.evaluate(
        "key => localStorage.getItem(key)", SESSION_KEY)
    cid = conversation_id(proactive_gateway.settings, shopper)
    entry = agent.locator(f'.sidebar [data-conversation-id="{cid}"]')
    expect(entry).to_be_visible()
    chat = agent.locator(f'.chat[data-conversation-id="{cid}"]')
    if not chat.count():
        entry.locator(".entry-open").click()
    storefront = chat.locator(".case-storefront")
    expect(storefront.locator(".cart-title").first).to_contain_text("Cart · 1 item · €39.90")
    expect(storefront.locator(".cart-items")).to_contain_text(VASE)
    expect(storefront.locator('.trail li[data-page-type="cart"]').first).to_contain_text("Ihr Warenkorb")
    expect(storefront.locator('.trail li[data-page-type="category"]')).to_have_count(1)
    expect(chat.locator(".ev--context .ev-author")).to_have_text(
        "Proactive offer accepted (cart_idle) · cart 1 item 39.90 EUR")
    # The queue entry reads as the button the shopper tapped, not its payload.
    expect(entry.locator(".preview")).to_have_text("Ja, gern")

    # The shopper buys: the supervisor's numbers count the offer as shown, accepted, converted.
    shopper.goto(url + "/checkout")
    shopper.get_by_role("button", name="Zahlungspflichtig bestellen").click()
    expect(shopper.locator("[data-order-done]")).to_be_visible()
    expect(shopper.locator("[data-cart-count]")).to_have_text("0")
    wait_for_counts(agent, {name: count + 1 for name, count in before.items()})


def test_on_a_phone_the_offer_can_be_dismissed_and_stays_in_the_chat(
    browser: Browser, proactive_gateway: ProactiveGateway, script_errors: list[str]
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                  locale="en-GB")
    try:
        shopper = new_page(context, script_errors)
        # Nobody is online in this test's team now or soon after the first: either offer may come.
        texts = proactive_gateway.texts("en")
        fill_cart_and_wait_on_the_cart_page(shopper, proactive_gateway.url, "en")

        teaser = shadow(shopper).locator(".sc-teaser")
        expect(teaser).to_be_visible(timeout=IDLE_SECONDS * 1000 + 10_000)
        offer = teaser.locator(".sc-teaser-text").inner_text()
        assert offer in (texts["text"], texts["human_text"])
        expect(teaser).to_be_in_viewport(ratio=1)
        expect(teaser.get_by_role("button", name=texts["decline"])).to_be_visible()
        teaser.get_by_role("button", name="Dismiss").tap()
        expect(teaser).to_be_hidden()

        # The offer is in the conversation's history, shown once, with its answers.
        shopper.reload()
        shopper.evaluate("() => window.StorechatWidget.ready")
        expect(teaser).to_be_hidden()
        shopper.get_by_role("button", name="Open chat").tap()
        expect(shadow(shopper).locator(".sc-msg--bot .sc-bubble").filter(has_text=offer)).to_have_count(1)
        expect(shadow(shopper).locator(".sc-replies").get_by_role("button", name=texts["accept"])).to_be_visible()
    finally:
        context.close()
