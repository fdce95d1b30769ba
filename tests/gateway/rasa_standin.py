"""An HTTP stand-in for Rasa speaking the connector's wire format (bot/storechat_connector.py).

Each test scripts exactly the turn it needs; tests/bot/ drives the real bot to the
same replies.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

AiohttpClient = Callable[[web.Application], Awaitable[TestClient]]  # type: ignore[type-arg]


class ScriptedRasa:
    """Answers every turn with `reply` and remembers what it was sent."""

    def __init__(self, reply: dict[str, Any]) -> None:
        self.reply = reply
        self.received: list[dict[str, Any]] = []
        # Runs while the turn is "inside the bot", before the reply goes back.
        self.during_turn: Callable[[], Awaitable[object]] | None = None

    async def webhook(self, request: web.Request) -> web.Response:
        self.received.append(await request.json())
        if self.during_turn is not None:
            await self.during_turn()
        return web.json_response(self.reply)

    async def start(self, aiohttp_client: AiohttpClient) -> str:
        app = web.Application()
        app.router.add_post("/webhooks/storechat/webhook", self.webhook)
        client = await aiohttp_client(app)
        return str(client.make_url("")).rstrip("/")
