"""SMS and WhatsApp shoppers and an agent against a failing provider, and the figures.

One scenario: SMS and WhatsApp shoppers write in through signed webhooks (built by
tests/channels/drivers.py, as Twilio and Meta sign them) and ask for a person; an agent
claims their conversations over the Agent API. Then the provider's faults are queued, the
agent replies (timed: the request must not wait for the provider) and new shoppers write,
so bot replies go out too. Every message to a shopper on those cases is then followed
until a delivery state is recorded for it (DELIVERY events naming it, data.message_id).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp
from redis.asyncio import Redis

from benchmarks.chaos_provider import Fault, FaultyProvider
from benchmarks.chaos_tally import ProviderFigures
from core.types import Author, Channel, Conversation, ConversationState, EventKind
from gateway.api.agent import COOKIE, CSRF_HEADER
from gateway.conversations.store import ConversationStore
from tests.channels.drivers import DRIVERS

FINAL_STATES = frozenset({"sent", "delivered", "failed", "unknown", "not_sent"})
CHANNELS = ("sms", "whatsapp")
_addresses = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Faults:
    name: str
    fault: Fault
    count: int


@dataclass
class Agent:
    """An agent as a console is one: the session cookie and the CSRF token."""

    base_url: str
    email: str
    password: str
    http: aiohttp.ClientSession | None = None
    headers: dict[str, str] | None = None

    async def login(self) -> None:
        # No cookie jar: aiohttp's keeps no cookies of an IP host; the cookie goes in by hand.
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
        async with self.http.post(f"{self.base_url}/api/v1/agent/login",
                                  json={"email": self.email, "password": self.password}) as response:
            body = await response.json()
            if response.status != 200:
                raise RuntimeError(f"agent login failed: {response.status} {body}")
            cookie = response.cookies[COOKIE].value
        self.headers = {"Cookie": f"{COOKIE}={cookie}", CSRF_HEADER: body["csrf_token"]}

    async def post(self, path: str, body: object = None) -> tuple[int, object, float]:
        """Status, answer and how long the request took (ms)."""
        assert self.http is not None
        started = time.perf_counter()
        async with self.http.post(f"{self.base_url}/api/v1/agent{path}", json=body, headers=self.headers) as response:
            answer = await response.json() if response.status != 204 else None
        return response.status, answer, (time.perf_counter() - started) * 1000

    async def close(self) -> None:
        if self.http is not None:
            await self.http.close()


@dataclass
class Messaging:
    gateways: Sequence[str]
    public_url: str
    redis: Redis
    provider: FaultyProvider
    agent: Agent
    handoff_text: str = "Ich möchte mit einem Menschen sprechen"
    greeting: str = "Hallo"
    wait_s: float = 45.0

    @property
    def store(self) -> ConversationStore:
        return ConversationStore(self.redis)

    async def write_in(self, channel: str, text: str, gateway: int = 0) -> str:
        """A new shopper's signed webhook; their address."""
        driver = DRIVERS[channel]
        address = driver.address(next(_addresses))
        hook = driver.inbound(self.public_url, address, text)
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{self.gateways[gateway % len(self.gateways)]}/webhooks/{channel}", data=hook.body,
                                 headers=hook.headers) as response:
                if response.status != 200:
                    raise RuntimeError(f"{channel} webhook answered {response.status}: {await response.text()}")
        return address

    async def conversation(self, channel: str, address: str, *, state: ConversationState | None = None) -> Conversation:
        """The shopper's conversation once the inbox worker has it (in `state`, if given)."""
        deadline = time.perf_counter() + self.wait_s
        while time.perf_counter() < deadline:
            found = await self.store.find_latest(Channel(channel), address)
            if found is not None and (state is None or found.state is state):
                return found
            await asyncio.sleep(0.1)
        raise TimeoutError(f"no {channel} conversation of {address} (in state {state}) after {self.wait_s:.0f}s")

    async def states(self, conversation_ids: Sequence[str]) -> dict[tuple[str, str], list[str]]:
        """Every message to a shopper on these cases, (case, event id) → the delivery states
        recorded for it. (An event id is unique only on its case: two cases' messages stored in
        the same millisecond have the same one.)"""
        found: dict[tuple[str, str], list[str]] = {}
        for conversation_id in conversation_ids:
            events = await self.store.history(conversation_id, count=100_000)
            for event in events:
                if event.kind is EventKind.MESSAGE and event.author is not Author.SHOPPER:
                    found[conversation_id, event.id] = []
            for event in events:
                key = (conversation_id, str(event.data.get("message_id")))
                if event.kind is EventKind.DELIVERY and key in found:
                    found[key].append(str(event.data.get("status")))
        return found

    async def answered(self, conversation_ids: Sequence[str]) -> None:
        """Until each case has a message to its shopper (the bot's turn has run), or the wait is over."""
        deadline = time.perf_counter() + self.wait_s
        while time.perf_counter() < deadline:
            states = [await self.states([conversation_id]) for conversation_id in conversation_ids]
            if all(states):
                return
            await asyncio.sleep(0.2)

    async def settled_states(self, conversation_ids: Sequence[str]) -> dict[tuple[str, str], list[str]]:
        """The states once every message has a final one, or the wait is over."""
        deadline = time.perf_counter() + self.wait_s
        while True:
            states = await self.states(conversation_ids)
            if all(FINAL_STATES.intersection(seen) for seen in states.values()) or time.perf_counter() > deadline:
                return states
            await asyncio.sleep(0.2)


async def run_provider_scenario(scenario: str, system: Messaging, faults: Faults, *,
                                agent_replies: int = 6, bot_shoppers: int = 4) -> ProviderFigures:
    system.provider.calls.clear()
    # Before the faults: one shopper per channel asks for a person, and the agent takes them.
    handed = []
    for n, channel in enumerate(CHANNELS):
        address = await system.write_in(channel, system.handoff_text, gateway=n)
        handed.append(await system.conversation(channel, address, state=ConversationState.QUEUED))
    for conversation in handed:
        status, answer, _ = await system.agent.post(f"/conversations/{conversation.id}/claim")
        if status != 200:
            raise RuntimeError(f"claim of {conversation.id} answered {status}: {answer}")
    await system.settled_states([c.id for c in handed])
    system.provider.faults.clear()
    system.provider.queue_faults(faults.count, faults.fault)

    slowest = 0.0
    for n in range(agent_replies):
        conversation = handed[n % len(handed)]
        status, answer, took_ms = await system.agent.post(
            f"/conversations/{conversation.id}/messages", {"text": f"{scenario}: Antwort {n + 1}"})
        if status != 201:
            raise RuntimeError(f"agent reply answered {status}: {answer}")
        slowest = max(slowest, took_ms)
    written = [(CHANNELS[n % len(CHANNELS)], await system.write_in(CHANNELS[n % len(CHANNELS)], system.greeting, n))
               for n in range(bot_shoppers)]
    greeted = [await system.conversation(channel, address) for channel, address in written]
    ids = [c.id for c in handed + greeted]
    await system.answered([c.id for c in greeted])
    states = await system.settled_states(ids)
    system.provider.faults.clear()
    return _figures(scenario, system.provider, states, slowest)


def _figures(scenario: str, provider: FaultyProvider, states: dict[tuple[str, str], list[str]],
             slowest_ms: float) -> ProviderFigures:
    last = [next((state for state in reversed(seen) if state in FINAL_STATES), None) for seen in states.values()]
    return ProviderFigures(
        scenario=scenario, messages=len(states), provider_calls=len(provider.calls),
        received=provider.received(), duplicates=provider.duplicates(),
        sent=sum(state in ("sent", "delivered") for state in last), failed=last.count("failed"),
        unknown=last.count("unknown"), other_state=last.count("not_sent"), no_state=last.count(None),
        agent_request_max_ms=slowest_ms,
    )
