"""A real gateway app on the tests' Redis, a scripted Rasa, and a limits file a test may tighten."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import socketio
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from core.types import Author, Channel, Conversation, EventKind
from gateway.app import create_app
from gateway.conversations.store import ConversationStore
from gateway.settings import REPO_ROOT, Settings
from tests.gateway.rasa_standin import ScriptedRasa
from tests.support import Shopper, free_port

AiohttpClient = Callable[[web.Application], Awaitable[TestClient]]  # type: ignore[type-arg]

GREETING = {"messages": [{"text": "Hallo! Wie kann ich helfen?"}],
            "intent": {"name": "greet", "confidence": 0.98}, "retrieval": None, "handoff": None}


def limits_file(directory: Path, **rules: str) -> Path:
    """config/limits.yml with `rules` set anew."""
    raw = yaml.safe_load((REPO_ROOT / "config" / "limits.yml").read_text(encoding="utf-8"))
    raw.update(rules)
    path = directory / "limits.yml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


@dataclasses.dataclass
class Chat:
    gateway: TestClient  # type: ignore[type-arg]
    rasa: ScriptedRasa
    redis: Redis
    shoppers: list[Shopper] = dataclasses.field(default_factory=list)

    @property
    def url(self) -> str:
        return str(self.gateway.make_url("/"))

    async def shopper(self, locale: str = "de", session_id: str | None = None) -> Shopper:
        shopper = Shopper(self.url, locale=locale, session_id=session_id)
        await shopper.connect()
        self.shoppers.append(shopper)
        return shopper

    async def conversation(self, session_id: str | None) -> Conversation | None:
        assert session_id is not None
        return await ConversationStore(self.redis).find_latest(Channel.WEB, session_id)

    async def shopper_lines(self, session_id: str | None) -> list[str]:
        """What the case holds of the shopper's messages."""
        conversation = await self.conversation(session_id)
        if conversation is None:
            return []
        history = await ConversationStore(self.redis).history(conversation.id)
        return [str(e.text) for e in history if e.kind is EventKind.MESSAGE and e.author is Author.SHOPPER]

    async def permanent_keys(self) -> list[str]:
        """Keys without an expiry (the limiter's and the visitors' all expire)."""
        return sorted([key async for key in self.redis.scan_iter("storechat:*")
                       if await self.redis.ttl(key) == -1])

    async def close(self) -> None:
        for shopper in self.shoppers:
            await shopper.close()


async def start_chat(aiohttp_client: AiohttpClient, base_settings: Settings, redis: Redis, tmp_path: Path,
                     reply: dict[str, Any] = GREETING, **settings: Any) -> Chat:
    rasa = ScriptedRasa(reply)
    configured = base_settings.replace(port=free_port(), rasa_url=await rasa.start(aiohttp_client), **settings)
    return Chat(await aiohttp_client(create_app(configured)), rasa, redis)


async def replies_until_quiet(shopper: Shopper, event: str, quiet: float = 0.5) -> list[Any]:
    """Every `event` until none came for `quiet` seconds."""
    seen = []
    while True:
        try:
            seen.append(await shopper.expect(event, timeout=quiet))
        except TimeoutError:
            return seen


async def raw_socket(url: str, **headers: str) -> tuple[socketio.AsyncClient, asyncio.Queue[tuple[str, Any]]]:
    """A Socket.IO client that has not asked for a session; every event it gets goes to the queue."""
    client = socketio.AsyncClient(reconnection=False)
    events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    for name in ("session_confirm", "history", "storechat_error", "bot_uttered"):
        client.on(name, lambda data=None, name=name: events.put_nowait((name, data)))
    await client.connect(url, socketio_path="socket.io", transports=["websocket"], headers=headers)
    return client, events
