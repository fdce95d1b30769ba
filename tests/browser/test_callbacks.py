"""A call-back from the widget to the console, in two browsers: the shopper asks the real bot
"Kann mich jemand zurückrufen?", gets the call-back form, enters a number and a slot and reads
the confirmation; the agent finds it in the console's call-back list with its tel: link,
records "reached", and the case shows it."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from gateway.settings import Settings
from tests.browser.test_console import gateway_url, log_in, pages, shop_with_agent  # noqa: F401 (fixtures)
from tests.browser.test_widget import open_chat, open_shop, say


def test_a_call_back_asked_for_in_the_widget_is_completed_in_the_console(
    shop_with_agent: Settings, pages: tuple[Page, Page],  # noqa: F811
) -> None:
    shopper, agent = pages
    url = gateway_url(shop_with_agent)
    open_shop(shopper, url)
    open_chat(shopper)

    # A typo first: the form says so in German, and nothing is booked.
    say(shopper, "Kann mich jemand zurückrufen?")
    form = shopper.locator(".sc-callback")
    expect(form).to_be_visible()  # the bot's answer opens the form
    slot = form.get_by_label("Wann dürfen wir anrufen?")
    expect(slot.locator("option").first).to_have_attribute("value", re.compile(r"^\d+$"))
    form.get_by_label("Ihre Telefonnummer").fill("0171 2")  # +491712: too short for any E.164 number
    form.get_by_role("button", name="Rückruf anfordern").click()
    expect(form.get_by_role("alert")).to_contain_text("Das sieht nicht nach einer Telefonnummer aus")

    form.get_by_label("Ihre Telefonnummer").fill("0171 2345678")
    chosen = slot.locator("option").first.text_content() or ""
    form.get_by_role("button", name="Rückruf anfordern").click()
    expect(form).to_be_hidden()
    confirmation = shopper.locator(".sc-notice").filter(has_text="Danke! Wir rufen Sie")
    expect(confirmation).to_contain_text("+491712345678")
    expect(confirmation).to_contain_text(chosen)

    log_in(agent, url)
    entry = agent.locator("#callbacks .callback")
    expect(entry).to_have_count(1)
    phone = entry.get_by_role("link", name="+491712345678")
    expect(phone).to_have_attribute("href", "tel:+491712345678")
    cid = entry.get_attribute("data-conversation-id")
    entry.get_by_role("button", name="Open case").click()  # the case, one click away
    chat = agent.locator(f'.chat[data-conversation-id="{cid}"]')
    steps = chat.locator(".ev--callback")
    expect(steps.filter(has_text="Call-back requested")).to_contain_text("+491712345678")

    entry.get_by_role("button", name="Reached", exact=True).click()
    expect(agent.locator("#callbacks .callback")).to_have_count(0)
    expect(steps.filter(has_text="Shopper reached at +491712345678")).to_have_count(1)  # live, on the case
