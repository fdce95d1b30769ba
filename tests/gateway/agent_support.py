"""An agent as the console is one: an HTTP session with the cookie and CSRF token, and a
real python-socketio client on the /agent namespace."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import socketio
from redis.asyncio import Redis

from core.types import Team
from gateway.api.agent import COOKIE, CSRF_HEADER
from gateway.desk.agents import AgentRole, AgentStore
from tests.gateway.contract_support import conforms_to_the_document

PASSWORD = "correct horse battery"


async def add_agent(redis: Redis, email: str, team: Team, *, name: str | None = None,
                    role: AgentRole = AgentRole.AGENT) -> None:
    await AgentStore(redis).put(email, PASSWORD, team=team, name=name, role=role)


@dataclass
class Console:
    base_url: str
    email: str
    csrf: str = ""
    cookie: str = ""
    events: asyncio.Queue[tuple[str, Any]] = field(default_factory=asyncio.Queue)

    def __post_init__(self) -> None:
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                          middlewares=(conforms_to_the_document,))
        self.socket = socketio.AsyncClient(reconnection=False)
        for event in ("conversation", "event", "typing", "presence", "storechat_error"):
            self.socket.on(event, self._collector(event), namespace="/agent")

    def _collector(self, event: str) -> Any:
        async def collect(data: Any = None) -> None:
            await self.events.put((event, data))
        return collect

    async def login(self) -> Console:
        async with self.http.post(f"{self.base_url}/api/v1/agent/login",
                                  json={"email": self.email, "password": PASSWORD}) as response:
            assert response.status == 200, await response.text()
            self.csrf = (await response.json())["csrf_token"]
            self.cookie = response.cookies[COOKIE].value
        return self

    async def connect(self) -> Console:
        """Open the live feed (this makes the agent online, unless they chose away)."""
        await self.socket.connect(self.base_url, socketio_path="socket.io", transports=["websocket"],
                                  namespaces=["/agent"], headers={"Cookie": f"{COOKIE}={self.cookie}"})
        return self

    async def call(self, method: str, path: str, body: Any = None, *, csrf: bool = True) -> tuple[int, Any]:
        headers = {CSRF_HEADER: self.csrf} if csrf and method != "GET" else {}
        async with self.http.request(method, f"{self.base_url}/api/v1/agent{path}", json=body,
                                     headers=headers) as response:
            return response.status, await response.json() if response.status != 204 else None

    async def get(self, path: str) -> Any:
        status, body = await self.call("GET", path)
        assert status == 200, body
        return body

    async def expect(self, event: str, where: Callable[[Any], bool] = lambda _: True, timeout: float = 10) -> Any:
        """The next `event` whose data satisfies `where`; others seen on the way are dropped."""
        async with asyncio.timeout(timeout):
            while True:
                name, data = await self.events.get()
                if name == event and where(data):
                    return data

    async def close(self) -> None:
        if self.socket.connected:
            await self.socket.disconnect()
        await self.http.close()
