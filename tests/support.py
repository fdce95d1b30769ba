"""Helpers shared by the tests: free ports, running services, Socket.IO shoppers."""

from __future__ import annotations

import asyncio
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import socketio

from gateway.run import processes
from gateway.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(service: processes.ProcessSpec, log_path: Path, ready: Any, *, timeout: float) -> Iterator[subprocess.Popen[bytes]]:
    process = processes.start(service, log_path)
    try:
        try:
            processes.wait_until(ready, timeout=timeout, process=process, what=service.name)
        except processes.ProcessError as exc:
            raise processes.ProcessError(f"{exc}\n--- {log_path} ---\n{processes.tail(log_path, 60)}") from None
        yield process
    finally:
        processes.stop(process)


@contextmanager
def gateway_process(settings: Settings, log_path: Path,
                    env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """A real `storechat serve` process, ready when its port answers; `env` adds to its environment."""
    with running(
        processes.gateway(settings, env), log_path,
        processes.http_ok(f"http://{settings.host}:{settings.port}/static/widget.css"), timeout=30,
    ) as process:
        yield process


@dataclass
class Shopper:
    """A web chat shopper: a real python-socketio client speaking the Rasa protocol."""

    url: str
    session_id: str | None = None
    locale: str = "de"
    reconnection: bool = False
    # The protocol extensions declared in session_request, like storechat's widget by default;
    # () for a plain Rasa widget (channels/webchat.py).
    extensions: tuple[str, ...] = ("author", "typing")
    inbox: asyncio.Queue[tuple[str, Any]] = field(default_factory=asyncio.Queue)

    def __post_init__(self) -> None:
        self.client = socketio.AsyncClient(reconnection=self.reconnection, reconnection_delay=0.2)
        for event in ("session_confirm", "bot_uttered", "history", "storechat_error", "agent_typing"):
            self.client.on(event, self._collector(event))
        # Like the widget: every (re)connect asks for the stored session again.
        self.client.on("connect", self._request_session)

    async def _request_session(self) -> None:
        request: dict[str, Any] = {"session_id": self.session_id, "locale": self.locale}
        if self.extensions:
            request["extensions"] = list(self.extensions)
        await self.client.emit("session_request", request)

    async def connect(self) -> str:
        # python-socketio waits 1 s for the namespace by default; a browser's socket.io-client
        # waits 20 s. Fifty shoppers connecting at once on a busy 2-core machine need more than 1.
        await self.client.connect(self.url, socketio_path="socket.io", transports=["websocket"], wait_timeout=10)
        confirmed = await self.expect("session_confirm")
        assert isinstance(confirmed, str)
        self.session_id = confirmed
        return confirmed

    def _collector(self, event: str) -> Any:
        async def collect(data: Any = None) -> None:
            await self.inbox.put((event, data))
        return collect

    async def say(self, text: str, **extra: Any) -> None:
        await self.client.emit("user_uttered", {"message": text, "session_id": self.session_id, **extra})

    async def expect(self, event: str, timeout: float = 30) -> Any:
        """The next event of this name; other events seen on the way are dropped."""
        async with asyncio.timeout(timeout):
            while True:
                name, data = await self.inbox.get()
                if name == event:
                    return data

    async def turn(self, text: str, *, quiet: float = 0.6, **extra: Any) -> list[dict[str, Any]]:
        """Say `text`; the bot messages of the turn (until none came for `quiet` seconds)."""
        await self.say(text, **extra)
        messages = [await self.expect("bot_uttered")]
        while True:
            try:
                messages.append(await self.expect("bot_uttered", timeout=quiet))
            except TimeoutError:
                return messages

    async def no_event(self, event: str, within: float) -> None:
        """Fails if an `event` arrives within `within` seconds."""
        try:
            data = await self.expect(event, timeout=within)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected {event}: {data!r}")

    async def history(self) -> list[dict[str, Any]]:
        await self.client.emit("history_request", {"session_id": self.session_id})
        data = await self.expect("history")
        return list(data["messages"])

    async def close(self) -> None:
        await self.client.disconnect()
