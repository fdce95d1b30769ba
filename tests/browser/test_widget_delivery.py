"""The widget's acknowledged messages (issue 13): what the shopper sends while the gateway
cannot be reached says "sending", is kept across a reload, and reaches the case exactly
once when the connection is back; one that could not be sent says so and is sent again
on a tap.

Its own gateway (and Redis database), no Rasa behind it: the first message is answered by
the gateway's "bot unavailable" notice, and the case then waits for a person, quietly.
The page's Socket.IO socket is reached through a wrapper of `window.io` installed before
the widget loads, so a test can drop and restore the connection.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from redis.asyncio import Redis

from core.types import Author, Channel, EventKind
from gateway.conversations.store import ConversationStore
from gateway.settings import Settings
from tests.browser.test_widget import SESSION_KEY, open_chat, open_shop, say
from tests.gateway.webchat.support import limits_file
from tests.support import free_port, gateway_process

SENDING = "Wird gesendet …"
NOT_SENT = "Nicht gesendet – tippen, um es erneut zu senden"
# Every socket the widget opens, reachable as window.__sockets (the wrapper keeps io's API).
CAPTURE_SOCKETS = """(() => {
  let wrapped;
  window.__sockets = [];
  Object.defineProperty(window, "io", {
    configurable: true,
    get() { return wrapped; },
    set(lib) {
      wrapped = Object.assign(function (...args) {
        const socket = lib(...args);
        window.__sockets.push(socket);
        return socket;
      }, lib);
    },
  });
})();"""


@pytest.fixture(scope="module")
def gateway(base_settings: Settings, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    settings = base_settings.replace(port=free_port(), redis_url=redis_url.rsplit("/", 1)[0] + "/4",
                                     rasa_url=f"http://127.0.0.1:{free_port()}")
    with gateway_process(settings, tmp_path_factory.mktemp("delivery-gateway-logs") / "gateway.log"):
        yield settings


def url(settings: Settings) -> str:
    return f"http://127.0.0.1:{settings.port}"


def shopper_lines(settings: Settings, page: Page) -> list[tuple[str, str | None]]:
    """(text, client message id) of every shopper message on the page's case."""
    session_id = page.evaluate("key => localStorage.getItem(key)", SESSION_KEY)

    async def read() -> list[tuple[str, str | None]]:
        redis = Redis.from_url(settings.effective_redis_url, decode_responses=True)
        try:
            conversation = await ConversationStore(redis).find_latest(Channel.WEB, session_id)
            if conversation is None:
                return []
            return [(str(e.text), e.data.get("client_message_id"))
                    for e in await ConversationStore(redis).history(conversation.id)
                    if e.kind is EventKind.MESSAGE and e.author is Author.SHOPPER]
        finally:
            await redis.aclose()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, read()).result()


def start(page: Page, settings: Settings) -> None:
    """The shop with its chat open, after a first message the gateway answered."""
    page.add_init_script(CAPTURE_SOCKETS)
    open_shop(page, url(settings))
    open_chat(page)
    say(page, "Hallo")
    expect(page.locator("#storechat-widget .sc-notice").first).to_be_visible()


def bubbles(page: Page, text: str) -> Any:
    return page.locator("#storechat-widget .sc-msg--shopper").filter(has_text=text)


def delivered(bubble: Any, timeout: float = 5_000) -> None:
    """Waits until the gateway acknowledged the message: no "sending", no "not sent"."""
    expect(bubble).to_have_count(1)
    expect(bubble).not_to_have_class(re.compile(r"sc-msg--(sending|failed)"), timeout=timeout)
    expect(bubble.locator(".sc-delivery")).to_have_count(0)


def offline(page: Page) -> None:
    page.evaluate("() => window.__sockets.forEach((socket) => socket.disconnect())")


def online(page: Page) -> None:
    page.evaluate("() => window.__sockets.forEach((socket) => socket.connect())")


def test_a_message_sent_while_the_gateway_is_away_says_sending_and_arrives_once(page: Page, gateway: Any) -> None:
    start(page, gateway)
    offline(page)

    say(page, "Sind Sie noch da?")

    message = bubbles(page, "Sind Sie noch da?")
    expect(message.locator(".sc-delivery")).to_have_text(SENDING)
    pending = json.loads(page.evaluate(
        "key => localStorage.getItem('storechat.pending.' + localStorage.getItem(key))", SESSION_KEY))
    assert [entry["message"] for entry in pending] == ["Sind Sie noch da?"]
    assert [text for text, _ in shopper_lines(gateway, page)] == ["Hallo"]
    online(page)
    delivered(message)
    assert [text for text, _ in shopper_lines(gateway, page)] == ["Hallo", "Sind Sie noch da?"]
    expect(bubbles(page, "Sind Sie noch da?")).to_have_count(1)
    assert page.evaluate(
        "key => localStorage.getItem('storechat.pending.' + localStorage.getItem(key))", SESSION_KEY) == "[]"


def test_a_reload_keeps_a_pending_message_and_sends_it_once(page: Page, gateway: Any) -> None:
    start(page, gateway)
    offline(page)
    say(page, "Bitte nicht verlieren")
    expect(bubbles(page, "Bitte nicht verlieren").locator(".sc-delivery")).to_have_text(SENDING)

    page.reload()
    page.evaluate("() => window.StorechatWidget.ready")
    page.evaluate("() => window.StorechatWidget.open()")

    expect(bubbles(page, "Bitte nicht verlieren")).to_have_count(1)
    delivered(bubbles(page, "Bitte nicht verlieren"))
    lines = shopper_lines(gateway, page)
    assert [text for text, _ in lines] == ["Hallo", "Bitte nicht verlieren"]
    assert all(message_id for _, message_id in lines), "the widget gives every message an id"


def test_a_stored_message_whose_acknowledgement_was_lost_is_not_sent_again(page: Page, gateway: Any) -> None:
    start(page, gateway)
    [(text, message_id)] = shopper_lines(gateway, page)
    # As if the page had closed between the gateway storing it and the acknowledgement.
    page.evaluate("""([key, entry]) => localStorage.setItem(
        'storechat.pending.' + localStorage.getItem(key), JSON.stringify([entry]))""",
                  [SESSION_KEY, {"message_id": message_id, "message": text, "shown": text, "at": 1, "typed": True}])

    page.reload()
    page.evaluate("() => window.StorechatWidget.ready")
    page.evaluate("() => window.StorechatWidget.open()")

    expect(page.locator("#storechat-widget .sc-notice").first).to_be_visible()  # the history is in
    expect(bubbles(page, "Hallo")).to_have_count(1)
    page.wait_for_timeout(500)
    assert shopper_lines(gateway, page) == [("Hallo", message_id)]


def test_a_message_that_could_not_be_sent_says_so_and_goes_out_on_a_tap(page: Page, gateway: Any) -> None:
    start(page, gateway)
    offline(page)
    say(page, "Klappt das?")

    retry = page.get_by_role("button", name=NOT_SENT)
    expect(retry).to_be_visible(timeout=45_000)  # about half a minute of trying
    online(page)
    page.wait_for_timeout(1000)
    assert [text for text, _ in shopper_lines(gateway, page)] == ["Hallo"], "not sent again unasked"
    retry.click()

    expect(retry).to_have_count(0)
    delivered(bubbles(page, "Klappt das?"))
    assert [text for text, _ in shopper_lines(gateway, page)] == ["Hallo", "Klappt das?"]


@pytest.fixture(scope="module")
def paced_gateway(base_settings: Settings, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A gateway that takes one message per socket every two seconds."""
    limits = limits_file(tmp_path_factory.mktemp("limits"), web_message_per_socket="30/minute burst 1")
    settings = base_settings.replace(port=free_port(), redis_url=redis_url.rsplit("/", 1)[0] + "/5",
                                     rasa_url=f"http://127.0.0.1:{free_port()}")
    log = tmp_path_factory.mktemp("paced-gateway-logs") / "gateway.log"
    with gateway_process(settings, log, env={"STORECHAT_LIMITS": str(limits)}):
        yield settings


def test_a_message_the_gateway_asks_to_wait_for_goes_out_when_it_says(page: Page, paced_gateway: Any) -> None:
    start(page, paced_gateway)

    say(page, "Eins")
    say(page, "Zwei")

    for text in ("Eins", "Zwei"):
        delivered(bubbles(page, text), timeout=15_000)
    assert [text for text, _ in shopper_lines(paced_gateway, page)] == ["Hallo", "Eins", "Zwei"]
    # Waiting a moment is the widget's business: the shopper is not scolded for it.
    expect(page.locator("#storechat-widget .sc-notice").filter(has_text="zu schnell")).to_have_count(0)
    expect(page.get_by_role("textbox", name="Ihre Nachricht")).to_have_value("")


def test_a_message_written_while_the_gateway_restarts_reaches_the_case_once(
    page: Page, base_settings: Settings, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    settings = base_settings.replace(port=free_port(), redis_url=redis_url.rsplit("/", 1)[0] + "/6",
                                     rasa_url=f"http://127.0.0.1:{free_port()}")
    logs = tmp_path_factory.mktemp("restarted-gateway-logs")
    with gateway_process(settings, logs / "first.log"):
        start(page, settings)
    # The process is gone (stopped, as a crash or a deploy would): the widget notices.
    expect(page.locator("#storechat-widget .sc-status")).to_have_attribute("data-state", "reconnecting")

    say(page, "Hallo? Noch jemand da?")
    expect(bubbles(page, "Hallo? Noch jemand da?").locator(".sc-delivery")).to_have_text(SENDING)

    with gateway_process(settings, logs / "second.log"):
        delivered(bubbles(page, "Hallo? Noch jemand da?"), timeout=25_000)
        lines = shopper_lines(settings, page)
    assert [text for text, _ in lines] == ["Hallo", "Hallo? Noch jemand da?"]
    expect(bubbles(page, "Hallo? Noch jemand da?")).to_have_count(1)


def test_two_tabs_of_one_shopper_keep_each_others_pending_messages(page: Page, gateway: Any) -> None:
    start(page, gateway)
    other = page.context.new_page()  # the same browser profile: the same session, the same storage
    other.add_init_script(CAPTURE_SOCKETS)
    open_shop(other, url(gateway))
    open_chat(other)
    offline(page)
    offline(other)
    say(page, "Aus dem ersten Tab")
    say(other, "Aus dem zweiten Tab")
    pending = json.loads(page.evaluate(
        "key => localStorage.getItem('storechat.pending.' + localStorage.getItem(key))", SESSION_KEY))
    assert sorted(entry["message"] for entry in pending) == ["Aus dem ersten Tab", "Aus dem zweiten Tab"]

    # The first tab is reloaded while the second stays offline: both messages arrive, once each.
    page.reload()
    page.evaluate("() => window.StorechatWidget.ready")
    page.evaluate("() => window.StorechatWidget.open()")
    delivered(bubbles(page, "Aus dem zweiten Tab"))
    delivered(bubbles(page, "Aus dem ersten Tab"))
    online(other)
    delivered(bubbles(other, "Aus dem zweiten Tab"))
    texts = [text for text, _ in shopper_lines(gateway, page)]
    assert sorted(texts) == ["Aus dem ersten Tab", "Aus dem zweiten Tab", "Hallo"]
    other.close()
