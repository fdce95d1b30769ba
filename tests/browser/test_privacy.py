"""A supervisor exports a contact's data and erases it from the case, in Chromium (German), and
sees both on the audit trail; the export is a real download, the erasure really erases."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from redis.asyncio import Redis

from core.types import Author, Channel, Team
from gateway import keys
from gateway.app import build_reports
from gateway.conversations.store import ConversationStore
from gateway.desk.agents import AgentRole, AgentStore
from gateway.desk.business_hours import BusinessHours
from gateway.settings import Settings
from tests.browser.test_console import run
from tests.support import free_port, gateway_process

SUPERVISOR = "sabine@nordlicht-home.example"
PASSWORD = "privacy-test-password"
SESSION = "privacy-browser-session"
WORDS = "Bitte löscht mein Konto, Grüße Greta Gruber"


@dataclass(frozen=True)
class Shop:
    url: str
    settings: Settings
    conversation_id: str
    contact_id: str


@pytest.fixture(scope="module")
def shop(base_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    settings = base_settings.replace(port=free_port(), report_worker=True)

    async def load() -> tuple[str, str]:
        redis = Redis.from_url(settings.effective_redis_url, decode_responses=True)
        try:
            await redis.flushdb()
            await AgentStore(redis).put(SUPERVISOR, PASSWORD, team=Team.GENERAL, name="Sabine",
                                        role=AgentRole.SUPERVISOR)
            store = ConversationStore(redis)
            conversation = await store.open(Channel.WEB, SESSION, "de")
            await store.append_message(conversation.id, Author.SHOPPER, WORDS)
            await store.append_message(conversation.id, Author.BOT, "Ich gebe das weiter.", {"intent": "request_human"})
            await build_reports(redis, settings, BusinessHours.load(settings.business_hours_file), store.clock).drain()
            return conversation.id, conversation.contact_id
        finally:
            await redis.aclose()

    async def forget() -> None:
        redis = Redis.from_url(settings.effective_redis_url, decode_responses=True)
        try:
            await redis.flushdb()
        finally:
            await redis.aclose()

    conversation_id, contact_id = run(load)
    try:
        with gateway_process(settings, tmp_path_factory.mktemp("privacy-gateway-logs") / "gateway.log"):
            yield Shop(f"http://127.0.0.1:{settings.port}", settings, conversation_id, contact_id)
    finally:
        run(forget)


def _console(browser: Browser, shop: Shop) -> Page:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="de-DE",
                                  timezone_id="Europe/Berlin", accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{shop.url}/console#/conversations/{shop.conversation_id}")
    page.locator('#login-form input[name="email"]').fill(SUPERVISOR)
    page.locator('#login-form input[name="password"]').fill(PASSWORD)
    page.locator('#login-form button[type="submit"]').click()
    expect(page.locator("#app")).to_be_visible()
    page.on("close", lambda _: None)
    assert not errors, errors
    return page


def test_a_supervisor_exports_then_erases_a_contact(browser: Browser, shop: Shop, tmp_path: Path) -> None:
    page = _console(browser, shop)
    contact = page.locator(".chat .privacy-contact")
    expect(contact.locator(".privacy-contact-id")).to_have_text(shop.contact_id)
    expect(page.locator(".privacy-audit")).to_contain_text("Noch kein Export")

    contact.get_by_role("button", name="Daten exportieren").click()
    contact.locator(".privacy-reason").fill("Auskunft per E-Mail vom 2. Dezember")
    with page.expect_download() as downloading:
        contact.get_by_role("button", name="JSON herunterladen").click()
    saved = tmp_path / "export.json"
    downloading.value.save_as(saved)
    export = json.loads(saved.read_text(encoding="utf-8"))
    assert downloading.value.suggested_filename == f"storechat-contact-{shop.contact_id}.json"
    assert export["contact"]["id"] == shop.contact_id
    assert WORDS in [event["text"] for event in export["conversations"][0]["events"]]
    expect(page.locator(".privacy-audit-entry")).to_have_count(1)

    contact.get_by_role("button", name="Daten löschen").click()
    contact.locator(".privacy-reason").fill("Kontolöschung auf Wunsch")
    contact.get_by_role("button", name="Endgültig löschen").click()
    expect(page.locator(".chat .chat-alert")).to_contain_text("Kästchen")  # not without the confirmation
    contact.locator(".privacy-confirm").check()
    contact.get_by_role("button", name="Endgültig löschen").click()

    expect(page.locator("#notice")).to_contain_text("Gelöscht: 1 Gespräche")
    expect(page.locator(".chat")).to_have_count(0)
    entries = page.locator(".privacy-audit-entry")
    expect(entries).to_have_count(2)
    expect(entries.first).to_contain_text("Löschung")
    expect(entries.first).to_contain_text("Kontolöschung auf Wunsch")
    expect(entries.nth(1)).to_contain_text("Export")
    assert page.request.get(f"{shop.url}/api/v1/agent/conversations/{shop.conversation_id}").status == 404

    async def left() -> int:
        redis = Redis.from_url(shop.settings.effective_redis_url, decode_responses=True)
        try:
            return int(await redis.exists(keys.conversation(shop.conversation_id), keys.contact(shop.contact_id),
                                          keys.identity("web", SESSION)))
        finally:
            await redis.aclose()

    assert run(left) == 0
    page.context.close()
