"""Agent consoles for the benchmarks: accounts, logins and `/agent` sockets that note when
each conversation appears.

A console is what agent_console/README.md promises a shop's own console: log in over
`POST /api/v1/agent/login`, keep the `storechat_agent` cookie, connect to the `/agent`
Socket.IO namespace with it and receive a `conversation` summary on every state change.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import socketio
from redis.asyncio import Redis

from core.types import ConversationState, Team
from gateway.api.agent import COOKIE
from gateway.desk.agents import AgentStore

NAMESPACE = "/agent"
# A conversation has appeared in a console once it is waiting for a person or has one.
APPEARED = frozenset({ConversationState.QUEUED.value, ConversationState.ASSIGNED.value})


@dataclass(frozen=True, slots=True)
class AgentLogin:
    email: str
    password: str
    team: Team


async def create_agents(redis: Redis, count: int) -> list[AgentLogin]:
    """`count` accounts spread over the teams in turn, each with its own random password."""
    teams = list(Team)
    logins = [
        AgentLogin(f"bench-agent-{index:02d}@bench.example", secrets.token_urlsafe(18), teams[index % len(teams)])
        for index in range(count)
    ]
    store = AgentStore(redis)
    # Each put hashes a password with scrypt in a thread: in parallel they take a moment.
    await asyncio.gather(*(
        store.put(login.email, login.password, team=login.team, name=f"Bench Agent {index:02d}")
        for index, login in enumerate(logins)
    ))
    return logins


class Arrivals:
    """When each console first saw each conversation appear (perf_counter seconds).

    A conversation is shown to the consoles of its team only (agents' reach, README "Who
    sees what"): those are the consoles it is expected at; any other console showing it
    is a leak.
    """

    def __init__(self, teams: Sequence[str]) -> None:
        self.consoles = len(teams)
        self.console_teams = list(teams)  # by console index
        self.expected: dict[str, frozenset[int]] = {}
        self.seen: dict[str, dict[int, float]] = {}
        # The team each conversation was shown for (its first appearance anywhere).
        self.teams: dict[str, str | None] = {}
        self._complete: dict[str, asyncio.Event] = {}

    def expect(self, conversation_id: str, team: str) -> None:
        self.expected[conversation_id] = frozenset(
            index for index, console_team in enumerate(self.console_teams) if console_team == team)
        self._complete.setdefault(conversation_id, asyncio.Event())
        self._check(conversation_id)

    def missing(self, conversation_id: str) -> int:
        """Expected consoles that have not shown the conversation."""
        return len(self.expected.get(conversation_id, frozenset()) - set(self.seen.get(conversation_id, {})))

    def leaked(self, conversation_id: str) -> int:
        """Consoles of other teams that showed the conversation."""
        return len(set(self.seen.get(conversation_id, {})) - self.expected.get(conversation_id, frozenset()))

    def record(self, console: int, conversation_id: str, team: str | None, at: float) -> None:
        per_console = self.seen.setdefault(conversation_id, {})
        if console in per_console:
            return  # later state changes of a conversation already shown
        per_console[console] = at
        self.teams.setdefault(conversation_id, team)
        self._check(conversation_id)

    def _check(self, conversation_id: str) -> None:
        event = self._complete.get(conversation_id)
        if event is not None and conversation_id in self.expected and not self.missing(conversation_id):
            event.set()

    async def wait_all(self, conversation_id: str, timeout: float) -> bool:
        """True once every expected console has seen the conversation (`expect` it first);
        False after `timeout` s."""
        try:
            await asyncio.wait_for(self._complete[conversation_id].wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True


@dataclass
class Console:
    """One agent's console: a logged-in session and its `/agent` socket."""

    index: int
    login: AgentLogin
    gateway: str  # the gateway process name it is connected to
    url: str
    arrivals: Arrivals
    client: socketio.AsyncClient = field(init=False)
    # Every event the console received, by name (the load each handoff puts on a console).
    received: Counter[str] = field(default_factory=Counter)
    malformed: int = 0

    def __post_init__(self) -> None:
        self.client = socketio.AsyncClient(reconnection=False)
        self.client.on("conversation", self._on_conversation, namespace=NAMESPACE)
        self.client.on("*", self._on_other, namespace=NAMESPACE)

    def _on_other(self, event: str, *data: Any) -> None:
        self.received[event] += 1

    def _on_conversation(self, summary: Any) -> None:
        at = time.perf_counter()  # first: the handler's own work is not the gateway's
        self.received["conversation"] += 1
        if not isinstance(summary, dict) or not isinstance(summary.get("id"), str):
            self.malformed += 1
            return
        if summary.get("state") in APPEARED:
            team = summary.get("team")
            self.arrivals.record(self.index, summary["id"], team if isinstance(team, str) else None, at)

    async def connect(self, http: aiohttp.ClientSession) -> None:
        async with http.post(f"{self.url}/api/v1/agent/login",
                             json={"email": self.login.email, "password": self.login.password},
                             timeout=aiohttp.ClientTimeout(total=30)) as response:
            if response.status != 200:
                raise RuntimeError(f"login of {self.login.email} at {self.url}: HTTP {response.status} "
                                   f"{await response.text()}")
            # Read from the Set-Cookie header: aiohttp's cookie jar keeps no cookies of an IP host.
            cookie = response.cookies.get(COOKIE)
            if cookie is None:
                raise RuntimeError(f"login of {self.login.email} set no {COOKIE} cookie")
        await self.client.connect(
            self.url, namespaces=[NAMESPACE], socketio_path="socket.io", transports=["websocket"],
            headers={"Cookie": f"{COOKIE}={cookie.value}"}, wait_timeout=30,
        )

    async def close(self) -> None:
        await self.client.disconnect()


async def connect_consoles(logins: Sequence[AgentLogin], gateways: dict[str, str], arrivals: Arrivals) -> list[Console]:
    """Each agent logs in and connects at one gateway, in turn, so they spread evenly."""
    names = list(gateways)
    consoles = [Console(index, login, names[index % len(names)], gateways[names[index % len(names)]], arrivals)
                for index, login in enumerate(logins)]
    # Logins cost an scrypt each on the gateways: a few at a time.
    limit = asyncio.Semaphore(4)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        async def connect(console: Console) -> None:
            async with limit:
                await console.connect(http)

        await asyncio.gather(*(connect(console) for console in consoles))
    return consoles
