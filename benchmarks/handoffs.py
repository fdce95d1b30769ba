"""Shoppers who ask for a person, and when their conversation reaches the consoles.

A handoff: a shopper connects over the web chat's protocol (`session_request` →
`session_confirm`), sends one message that makes the bot hand over (`user_uttered`), and
the clock runs from that emit until (a) the shopper's own first `bot_uttered`, (b) the
conversation's state event (queued) in Redis, and (c) each connected console's first
`conversation` event for that conversation in state queued or assigned — every console of
the line's team, which are the consoles that may show it (README "Who sees what").
Connecting is not timed; a handoff waits for every such console before it ends.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import socketio

from benchmarks.consoles import APPEARED, Arrivals
from core.types import Channel, EventKind, Team
from gateway.conversations.store import ConversationStore

# From emitting the message: a console that has not shown the conversation by then has lost it.
DELIVERY_TIMEOUT = 10.0
CONNECT_TIMEOUT = 15.0


@dataclass(frozen=True, slots=True)
class HandoffLine:
    locale: str
    text: str
    team: Team  # where the bot must send it (bot/actions/handoff.py, DIRECT)


# The shopper's own words (not the training examples of faq_data/intents/): mostly asking for a
# person (general), some damaged goods (product) and billing trouble (billing).
LINES = (
    HandoffLine("de", "Ich möchte mit einem Menschen sprechen", Team.GENERAL),
    HandoffLine("en", "I want to talk to a human", Team.GENERAL),
    HandoffLine("de", "Kann ich bitte mit einem Mitarbeiter reden?", Team.GENERAL),
    HandoffLine("en", "please connect me with a real person", Team.GENERAL),
    HandoffLine("de", "Meine Lieferung ist beschädigt angekommen", Team.PRODUCT),
    HandoffLine("en", "the item arrived broken", Team.PRODUCT),
    HandoffLine("de", "Mir wurde doppelt abgebucht", Team.BILLING),
    HandoffLine("en", "I was charged twice", Team.BILLING),
)


@dataclass(frozen=True, slots=True)
class Handoff:
    line: HandoffLine
    gateway: str  # the gateway process the shopper was connected to
    conversation_id: str
    team: str | None  # the team the consoles were shown
    reply_s: float | None  # to the shopper's first bot_uttered; None: no reply in time
    # To the conversation's state change in Redis (its state event's time): the bot's turn and
    # the gateway's handling of it. None: not found in the history.
    queued_s: float | None
    # Console index → seconds to its first queued/assigned `conversation` event.
    consoles_s: dict[int, float]
    missing: int  # consoles of its team that never showed it within DELIVERY_TIMEOUT
    leaked: int  # consoles of other teams that showed it (none may)

    @property
    def first_s(self) -> float | None:
        return min(self.consoles_s.values()) if self.consoles_s else None

    @property
    def fan_out_s(self) -> list[float]:
        """From the state change to each console: the gateways' share alone."""
        if self.queued_s is None:
            return []
        return [at - self.queued_s for at in self.consoles_s.values()]


class Shopper:
    """One web-chat shopper on one gateway, for one handoff."""

    def __init__(self, gateway: str, url: str, line: HandoffLine) -> None:
        self.gateway = gateway
        self.line = line
        self.client = socketio.AsyncClient(reconnection=False)
        self.url = url
        loop = asyncio.get_running_loop()
        self.confirmed: asyncio.Future[str] = loop.create_future()
        self.replied: asyncio.Future[float] = loop.create_future()
        self.client.on("session_confirm", self._on_session_confirm)
        self.client.on("bot_uttered", self._on_bot_uttered)
        self.session_id = ""
        self.conversation_id = ""

    def _on_session_confirm(self, data: Any) -> None:
        if not self.confirmed.done():
            self.confirmed.set_result(str(data))

    def _on_bot_uttered(self, data: Any) -> None:
        if not self.replied.done():
            self.replied.set_result(time.perf_counter())

    async def open(self, store: ConversationStore) -> None:
        """Connect and start a session (its conversation is created by the first message)."""
        await self.client.connect(self.url, socketio_path="socket.io", transports=["websocket"],
                                  wait_timeout=CONNECT_TIMEOUT)
        await self.client.emit("session_request", {"session_id": None, "locale": self.line.locale})
        self.session_id = await asyncio.wait_for(self.confirmed, CONNECT_TIMEOUT)

    async def _find_conversation(self, store: ConversationStore) -> str:
        """The conversation the shopper's first message opened (consoles seen before count too)."""
        async with asyncio.timeout(DELIVERY_TIMEOUT):
            while (conversation := await store.find_latest(Channel.WEB, self.session_id)) is None:
                await asyncio.sleep(0.002)
        return conversation.id

    async def hand_off(self, arrivals: Arrivals, store: ConversationStore) -> tuple[float, float, float | None]:
        """Say the line and wait for every console (or the timeout): the start as perf_counter
        and as wall-clock time, and when the shopper's first reply came (perf_counter)."""
        started, started_wall = time.perf_counter(), time.time()
        await self.client.emit("user_uttered", {
            "message": self.line.text, "session_id": self.session_id, "metadata": {"locale": self.line.locale},
        })
        self.conversation_id = await self._find_conversation(store)
        arrivals.expect(self.conversation_id, self.line.team.value)
        await arrivals.wait_all(self.conversation_id, DELIVERY_TIMEOUT)
        remaining = max(0.0, started + DELIVERY_TIMEOUT - time.perf_counter())
        try:
            replied: float | None = await asyncio.wait_for(asyncio.shield(self.replied), remaining)
        except asyncio.TimeoutError:
            replied = None
        return started, started_wall, replied

    async def close(self) -> None:
        await self.client.disconnect()


async def _queued_at(store: ConversationStore, conversation_id: str) -> float | None:
    """Wall-clock time of the conversation's first move to queued or assigned, from its history."""
    for event in await store.history(conversation_id):
        if event.kind is EventKind.STATE and event.data.get("to") in APPEARED:
            return event.at
    return None


async def burst(shoppers: Sequence[Shopper], store: ConversationStore, arrivals: Arrivals) -> list[Handoff]:
    """The shoppers connect, then all say their line at once; each handoff ends when every
    console has shown it (or after DELIVERY_TIMEOUT)."""
    try:
        await asyncio.gather(*(shopper.open(store) for shopper in shoppers))
        timings = await asyncio.gather(*(shopper.hand_off(arrivals, store) for shopper in shoppers))
    finally:
        await asyncio.gather(*(shopper.close() for shopper in shoppers), return_exceptions=True)
    done = []
    for shopper, (started, started_wall, replied) in zip(shoppers, timings):
        seen = arrivals.seen.get(shopper.conversation_id, {})
        queued_at = await _queued_at(store, shopper.conversation_id)
        done.append(Handoff(
            line=shopper.line, gateway=shopper.gateway, conversation_id=shopper.conversation_id,
            team=arrivals.teams.get(shopper.conversation_id),
            reply_s=None if replied is None else replied - started,
            queued_s=None if queued_at is None else queued_at - started_wall,
            consoles_s={console: at - started for console, at in seen.items()},
            missing=arrivals.missing(shopper.conversation_id), leaked=arrivals.leaked(shopper.conversation_id),
        ))
    return done


@dataclass
class Run:
    handoffs: list[Handoff] = field(default_factory=list)
    window_s: float = 0.0


async def run(
    count: int, at_once: int, gateways: Mapping[str, str], lines: Sequence[HandoffLine],
    store: ConversationStore, arrivals: Arrivals, seed: int,
) -> Run:
    """`count` handoffs in bursts of `at_once` shoppers saying their line at the same moment
    (1: one after the other); a burst starts when the last one has reached every console.
    Shoppers connect to the gateways in turn; lines are drawn with `seed`."""
    rng = random.Random(seed)
    names = list(gateways)
    plan = [(names[index % len(names)], rng.choice(lines)) for index in range(count)]
    result = Run()
    started = time.perf_counter()
    for first in range(0, count, at_once):
        shoppers = [Shopper(name, gateways[name], line) for name, line in plan[first:first + at_once]]
        result.handoffs += await burst(shoppers, store, arrivals)
    result.window_s = time.perf_counter() - started
    return result
