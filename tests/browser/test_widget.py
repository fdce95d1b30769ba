"""The web chat widget on the demo storefront, as a shopper uses it."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser, Page, expect

SESSION_KEY = "storechat.session"
BOT_AFTER_SHOPPER = ".sc-msg--shopper ~ :is(.sc-msg--bot, .sc-msg--agent) .sc-bubble"


def open_shop(page: Page, url: str) -> None:
    page.goto(url + "/")
    page.wait_for_function("window.StorechatWidget && window.StorechatWidget.ready")
    page.evaluate("() => window.StorechatWidget.ready")


def open_chat(page: Page) -> None:
    launcher = page.get_by_role("button", name="Chat öffnen")
    launcher.click()
    expect(page.get_by_role("dialog")).to_be_visible()
    # Let the opening animation settle before anyone measures the panel.
    page.evaluate(
        """() => Promise.all(document.querySelector('#storechat-widget').shadowRoot
                 .getAnimations().filter(a => a.effect.getTiming().iterations !== Infinity)
                 .map(a => a.finished))"""
    )


def say(page: Page, text: str) -> None:
    box = page.get_by_role("textbox", name="Ihre Nachricht")
    box.fill(text)
    box.press("Enter")


def wait_for_bot_answer(page: Page, after: int = 0) -> None:
    """Waits until more than ``after`` bot/agent messages follow a shopper message."""
    page.wait_for_function(
        """([selector, after]) => {
            const root = document.querySelector('#storechat-widget').shadowRoot;
            const answers = [...root.querySelectorAll(selector)];
            return answers.length > after && answers.every(b => b.textContent.trim() !== '');
        }""",
        arg=[BOT_AFTER_SHOPPER, after],
    )


def test_shopper_says_hallo_and_the_bot_answers(page: Page, live_gateway: Any) -> None:
    open_shop(page, live_gateway.url)
    open_chat(page)

    say(page, "hallo")

    expect(page.locator(".sc-msg--shopper .sc-bubble").last).to_have_text("hallo")
    wait_for_bot_answer(page)
    expect(page.get_by_role("textbox", name="Ihre Nachricht")).to_have_value("")


def test_reload_shows_the_conversation_again_in_the_same_session(
    page: Page, live_gateway: Any
) -> None:
    open_shop(page, live_gateway.url)
    open_chat(page)
    say(page, "hallo")
    wait_for_bot_answer(page)
    session = page.evaluate("key => localStorage.getItem(key)", SESSION_KEY)
    assert session

    page.reload()
    page.evaluate("() => window.StorechatWidget.ready")
    page.evaluate("() => window.StorechatWidget.open()")

    expect(page.locator(".sc-msg--shopper .sc-bubble").first).to_have_text("hallo")
    wait_for_bot_answer(page)
    assert page.evaluate("key => localStorage.getItem(key)", SESSION_KEY) == session


def test_open_panel_fills_a_phone_screen(browser: Browser, live_gateway: Any) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    try:
        page = context.new_page()
        open_shop(page, live_gateway.url)
        open_chat(page)

        box = page.get_by_role("dialog").bounding_box()
        assert box is not None
        assert box["x"] == 0 and box["width"] == 390
        assert box["y"] == 0 and box["height"] == 844
        # The composer stays reachable on the phone.
        expect(page.get_by_role("textbox", name="Ihre Nachricht")).to_be_in_viewport()
    finally:
        context.close()


def test_markup_in_a_message_is_shown_as_text(page: Page, live_gateway: Any) -> None:
    alerts: list[str] = []
    page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
    hostile = "<img src=x onerror=alert(1)>"
    open_shop(page, live_gateway.url)
    open_chat(page)

    say(page, hostile)

    expect(page.locator(".sc-msg--shopper .sc-bubble").last).to_have_text(hostile)
    wait_for_bot_answer(page)
    images = page.evaluate(
        """() => document.querySelectorAll('img[src="x"]').length
                 + document.querySelector('#storechat-widget').shadowRoot
                       .querySelectorAll('img').length"""
    )
    assert images == 0
    assert alerts == []


def test_keyboard_only_shopper_can_open_and_close_the_chat(
    page: Page, live_gateway: Any
) -> None:
    open_shop(page, live_gateway.url)
    launcher = page.get_by_role("button", name="Chat öffnen")
    launcher.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(page.get_by_role("textbox", name="Ihre Nachricht")).to_be_focused()

    page.keyboard.press("Escape")

    expect(dialog).to_be_hidden()
    expect(launcher).to_be_focused()


def test_english_storefront_gets_an_english_widget(page: Page, live_gateway: Any) -> None:
    page.goto(live_gateway.url + "/?lang=en")
    page.evaluate("() => window.StorechatWidget.ready")

    page.get_by_role("button", name="Open chat").click()

    expect(page.get_by_role("textbox", name="Your message")).to_be_visible()
    expect(page.get_by_role("heading", name="Popular this week")).to_be_visible()
