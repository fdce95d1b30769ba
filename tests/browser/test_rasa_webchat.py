"""The unchanged third-party Rasa widget `rasa-webchat` (npm, 1.0.1) against the gateway
(issue 13): a shop that already has it embedded keeps it, and its shoppers read the bot,
an agent after a handoff and the satisfaction question, also after a reload.

The widget's UMD bundle is served as npm installed it, from a page on another origin than
the gateway's (the way a shop embeds it); behind the gateway is the session's real Rasa.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import aiohttp
import pytest
from playwright.sync_api import Page, expect
from redis.asyncio import Redis

from core.types import Channel, Team
from gateway.api.agent import COOKIE, CSRF_HEADER
from gateway.conversations.store import ConversationStore
from gateway.settings import REPO_ROOT, Settings
from tests.gateway.agent_support import PASSWORD, add_agent
from tests.support import free_port

RASA_WEBCHAT = REPO_ROOT / "node_modules" / "rasa-webchat" / "lib" / "index.js"
AGENT = "jonas.weber@nordlicht-home.example"
ASK_FOR_A_PERSON = "Ich möchte mit einem Menschen sprechen"
REPLY = "Hallo, hier ist Jonas. Ich sehe mir das an."
T = TypeVar("T")

# As rasa-webchat's README embeds it; `storage: "local"` keeps the conversation across reloads.
PAGE = """<!doctype html>
<html lang="de"><head><meta charset="utf-8"><title>Ein Shop mit rasa-webchat</title></head>
<body>
<script src="/rasa-webchat.js"></script>
<script>
  window.WebChat.default({
    socketUrl: "%(gateway)s",
    socketPath: "/socket.io/",
    customData: { language: "de" },
    embedded: true,
    title: "Nordlicht Home",
    params: { storage: "local" },
  }, null);
</script>
</body></html>
"""


def run(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Runs a coroutine on an event loop of its own: Playwright's sync API holds this thread's."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, make()).result()


@pytest.fixture(scope="module")
def shop_page(bot_stack: Settings) -> Iterator[str]:
    """The shop's page, on an origin of its own (another port), with the widget as npm has it."""
    if not RASA_WEBCHAT.is_file():
        pytest.fail("rasa-webchat is missing: run `npm ci` (it is a devDependency)")
    page = (PAGE % {"gateway": f"http://127.0.0.1:{bot_stack.port}"}).encode()
    bundle = RASA_WEBCHAT.read_bytes()

    class Shop(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            body, kind = {"/": (page, "text/html"), "/rasa-webchat.js": (bundle, "text/javascript")}.get(
                self.path, (b"", ""))
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", f"{kind}; charset=utf-8" if kind else "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Shop)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def agent(bot_stack: Settings) -> Settings:
    """An empty database and one agent of the general team, where the bot hands a shopper over."""

    async def prepare() -> None:
        redis = Redis.from_url(bot_stack.effective_redis_url, decode_responses=True)
        try:
            await redis.flushdb()
            await add_agent(redis, AGENT, Team.GENERAL, name="Jonas Weber")
        finally:
            await redis.aclose()

    run(prepare)
    return bot_stack


def as_agent(settings: Settings, session_id: str, action: str, body: Any = None) -> int:
    """What the agent does in the console, through the Agent API: `action` on the shopper's case."""

    url = f"http://127.0.0.1:{settings.port}"

    async def act() -> int:
        redis = Redis.from_url(settings.effective_redis_url, decode_responses=True)
        try:
            async with asyncio.timeout(10):
                while (found := await ConversationStore(redis).find_latest(Channel.WEB, session_id)) is None:
                    await asyncio.sleep(0.05)
        finally:
            await redis.aclose()
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{url}/api/v1/agent/login", json={"email": AGENT, "password": PASSWORD}) as login:
                csrf = (await login.json())["csrf_token"]
                # Sent by hand: the cookie is Secure (the stack's public URL is https).
                cookie = f"{COOKIE}={login.cookies[COOKIE].value}"
            async with session.post(f"{url}/api/v1/agent/conversations/{found.id}/{action}", json=body,
                                    headers={CSRF_HEADER: csrf, "Cookie": cookie}) as response:
                return response.status

    return run(act)


def say(page: Page, text: str) -> None:
    box = page.locator(".rw-new-message")
    box.fill(text)
    box.press("Enter")


def answers(page: Page) -> Any:
    return page.locator(".rw-response")


def session_id(page: Page) -> str:
    """The session the gateway confirmed, as rasa-webchat keeps it (its `chat_session` item)."""
    raw = page.evaluate("() => localStorage.getItem('chat_session')")
    assert raw, "rasa-webchat kept no session"
    found = json.loads(raw).get("session_id")
    assert isinstance(found, str) and found
    return found


def test_rasa_webchat_renders_the_bot_an_agent_and_the_satisfaction_question(
    page: Page, shop_page: str, agent: Settings
) -> None:
    page.goto(shop_page)
    expect(page.locator(".rw-new-message")).to_be_visible()

    say(page, "Hallo")
    expect(answers(page).filter(has_text="Wie kann ich Ihnen helfen?")).to_have_count(1, timeout=30_000)
    say(page, ASK_FOR_A_PERSON)
    # The bot's words, then the gateway's: the shopper is next in line.
    expect(answers(page).filter(has_text="als Nächstes dran")).to_have_count(1, timeout=30_000)

    assert as_agent(agent, session_id(page), "messages", {"text": REPLY}) == 201
    # A plain widget shows no author: who wrote it comes with the text.
    expect(answers(page).filter(has_text=f"Jonas Weber: {REPLY}")).to_have_count(1)

    assert as_agent(agent, session_id(page), "resolve") == 200
    expect(answers(page).filter(has_text="Wie zufrieden")).to_have_count(1)
    scores = page.locator(".rw-replies .rw-reply")
    expect(scores).to_have_count(5)
    scores.filter(has_text="5").click()
    # The tapped score is the shopper's message, and the next question has its own button.
    expect(page.locator(".rw-client").filter(has_text="5")).to_have_count(1)
    expect(page.locator(".rw-replies .rw-reply").filter(has_text="Nein, danke")).to_be_visible()
    shown = answers(page).count()

    page.reload()

    expect(answers(page).filter(has_text=f"Jonas Weber: {REPLY}")).to_have_count(1)
    expect(answers(page).filter(has_text="Wie zufrieden")).to_have_count(1)
    expect(answers(page)).to_have_count(shown)
    # Still the same conversation: the gateway continued the session rasa-webchat kept.
    page.locator(".rw-replies .rw-reply").filter(has_text="Nein, danke").click()
    expect(answers(page).filter(has_text="Vielen Dank")).to_have_count(1)
