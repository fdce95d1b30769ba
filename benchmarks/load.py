"""Shoppers that drive a bot turn by turn, and the two scenarios they run in.

A *turn* is one shopper message and all the bot messages it causes. Its latency runs
from sending the message to the arrival of the turn's last bot message:

- REST (the anchor, and storechat's Rasa without the gateway): the HTTP reply carries
  all of the turn's messages, so the turn ends when the reply has been read.
- Socket.IO (storechat): one `bot_uttered` per message. The first time a line is said in a
  given context (see `_context`), the messages that arrive within a quiet window
  (`settle`) are counted — mostly during the warm-up; afterwards a turn with that line in
  that context ends as soon as that many have arrived. The time to the first
  `bot_uttered` is kept as well. A turn whose replies differ from what was learned (fewer,
  more, other texts) is counted in `mismatched`, so a wrong count never goes unnoticed.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp
import socketio

from benchmarks.messages import Kind, Line, all_lines, conversation, locale_of

TURN_TIMEOUT = 15.0
# The messages of one storechat turn come from one Rasa reply and are emitted back to
# back, milliseconds apart; a gap this long means the turn has no more to come.
REPLY_GAP = 1.0


@dataclass(frozen=True, slots=True)
class Turn:
    ended: float  # perf_counter() when the turn was complete
    first_s: float  # to the first bot message
    full_s: float  # to the last bot message of the turn
    replies: int
    ok: bool = True
    mismatched: bool = False
    learned: bool = False  # its reply count was learned on this turn (quiet window)
    detail: str = ""  # for a mismatched turn: what was said, expected and received


class Conversation(Protocol):
    async def turn(self, line: Line) -> Turn: ...
    async def close(self) -> None: ...


class System(Protocol):
    name: str

    async def open(self, locale: str) -> Conversation: ...
    async def aclose(self) -> None: ...


def _failed(started: float) -> Turn:
    now = time.perf_counter()
    return Turn(ended=now, first_s=now - started, full_s=now - started, replies=0, ok=False)


# --- REST: one HTTP request per turn --------------------------------------------------

@dataclass
class RestSystem:
    """A Rasa webhook that answers a turn in one HTTP reply."""

    name: str
    url: str
    body: Callable[[str, Line], dict[str, Any]]
    replies: Callable[[Any], Sequence[Any]]
    headers: dict[str, str] = field(default_factory=dict)
    session: aiohttp.ClientSession = field(init=False)

    def __post_init__(self) -> None:
        # No connection limit: N shoppers are N concurrent keep-alive connections.
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

    async def open(self, locale: str) -> Conversation:
        return RestConversation(self, f"bench-{uuid.uuid4().hex}")

    async def aclose(self) -> None:
        await self.session.close()


@dataclass
class RestConversation:
    system: RestSystem
    sender: str

    async def turn(self, line: Line) -> Turn:
        started = time.perf_counter()
        try:
            async with self.system.session.post(
                self.system.url, json=self.system.body(self.sender, line), headers=self.system.headers,
                timeout=aiohttp.ClientTimeout(total=TURN_TIMEOUT),
            ) as response:
                body = await response.json() if response.status == 200 else None
        except (aiohttp.ClientError, asyncio.TimeoutError):
            return _failed(started)
        if body is None:
            return _failed(started)
        ended = time.perf_counter()
        return Turn(ended=ended, first_s=ended - started, full_s=ended - started,
                    replies=len(self.system.replies(body)))

    async def close(self) -> None:
        pass


def anchor_system(base_url: str) -> RestSystem:
    """Rasa's own REST channel of the stock assistant."""
    return RestSystem(
        "anchor", base_url + "/webhooks/rest/webhook",
        body=lambda sender, line: {"sender": sender, "message": line.text},
        replies=lambda body: body if isinstance(body, list) else [],
    )


def storechat_rasa_system(base_url: str, token: str) -> RestSystem:
    """storechat's Rasa (with actions and Redis) through its connector, without the gateway."""
    return RestSystem(
        "storechat-rasa", base_url + "/webhooks/storechat/webhook",
        body=lambda sender, line: {"sender": sender, "message": line.text, "metadata": {"locale": line.locale}},
        replies=lambda body: body.get("messages", []) if isinstance(body, dict) else [],
        headers={"Authorization": f"Bearer {token}"},
    )


# --- Socket.IO: the storechat gateway, as the web widget talks to it ------------------

@dataclass
class SocketSystem:
    name: str
    url: str
    settle: float = 0.3
    # (locale, text, context) → the bot message texts seen for it the first time.
    expected: dict[tuple[str, str, str], tuple[str, ...]] = field(default_factory=dict)

    async def open(self, locale: str) -> Conversation:
        conv = SocketConversation(self, locale)
        await conv.connect()
        return conv

    async def aclose(self) -> None:
        pass


class SocketConversation:
    def __init__(self, system: SocketSystem, locale: str) -> None:
        self.system = system
        self.locale = locale
        self.session_id: str | None = None
        self.said: list[Kind] = []
        self.inbox: asyncio.Queue[tuple[float, Any]] = asyncio.Queue()
        self.confirmed: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.client = socketio.AsyncClient(reconnection=False)
        self.client.on("bot_uttered", self._on_bot_uttered)
        self.client.on("session_confirm", self._on_session_confirm)

    def _on_bot_uttered(self, data: Any) -> None:
        self.inbox.put_nowait((time.perf_counter(), data))

    def _on_session_confirm(self, data: Any) -> None:
        if not self.confirmed.done():
            self.confirmed.set_result(str(data))

    async def connect(self) -> None:
        await self.client.connect(self.system.url, socketio_path="socket.io", transports=["websocket"])
        await self.client.emit("session_request", {"session_id": None, "locale": self.locale})
        self.session_id = await asyncio.wait_for(self.confirmed, TURN_TIMEOUT)

    async def _next(self, timeout: float) -> tuple[float, str] | None:
        try:
            at, data = await asyncio.wait_for(self.inbox.get(), timeout)
        except asyncio.TimeoutError:
            return None
        return at, str(data.get("text", "")) if isinstance(data, dict) else ""

    def _context(self, line: Line) -> str:
        """What the bot's answer may depend on besides the line itself: not-understood
        answers change with earlier misunderstandings in the conversation (a rephrase
        request, then an offer of a colleague). Other answers are taken to depend on the
        line alone — `mismatched` would show it if not."""
        if line.kind is not Kind.NOT_UNDERSTOOD:
            return "-"
        misunderstood = min(self.said.count(Kind.NOT_UNDERSTOOD), 2)
        previous = self.said[-1].value if self.said else "-"
        return f"{misunderstood}:{previous}"

    async def turn(self, line: Line) -> Turn:
        key = (line.locale, line.text, self._context(line))
        self.said.append(line.kind)
        stray = self.inbox.qsize()  # replies of an earlier turn that came late
        while not self.inbox.empty():
            self.inbox.get_nowait()
        started = time.perf_counter()
        await self.client.emit("user_uttered", {
            "message": line.text, "session_id": self.session_id, "metadata": {"locale": line.locale},
        })
        first = await self._next(TURN_TIMEOUT)
        if first is None:
            return _failed(started)
        texts, last_at = [first[1]], first[0]
        expected = self.system.expected.get(key)
        # Learning (warm-up): everything within the quiet window. Measuring: the learned count.
        wanted = len(expected) if expected is not None else None
        while wanted is None or len(texts) < wanted:
            reply = await self._next(self.system.settle if wanted is None else REPLY_GAP)
            if reply is None:
                break
            last_at = reply[0]
            texts.append(reply[1])
        if expected is None:
            self.system.expected[key] = tuple(texts)
        mismatched = bool(stray) or (expected is not None and tuple(texts) != expected)
        return Turn(
            ended=last_at, first_s=first[0] - started, full_s=last_at - started, replies=len(texts),
            mismatched=mismatched, learned=expected is None,
            detail=f"{line.text!r}: {stray} late before it; expected {expected}, got {tuple(texts)}" if mismatched else "",
        )

    async def close(self) -> None:
        await self.client.disconnect()


# --- Scenarios -------------------------------------------------------------------------

@dataclass
class Run:
    turns: list[Turn] = field(default_factory=list)
    conversations: int = 0
    window_s: float = 0.0


def _lines(seed: int, shopper: int) -> random.Random:
    # The same seed gives every system the same shoppers saying the same things.
    return random.Random(f"{seed}:{shopper}")


async def learn(system: System) -> int:
    """Warm-up: say every line once in its language. Lines the bot cannot understand each get
    a conversation of their own, so that a bot escalating after repeated misunderstanding
    never hands a warm-up conversation to a human."""
    count = 0
    shared: dict[str, Conversation] = {}
    try:
        for line in all_lines():
            if line.kind is Kind.NOT_UNDERSTOOD:
                conv = await system.open(line.locale)
                try:
                    count += (await conv.turn(line)).ok
                finally:
                    await conv.close()
                continue
            if line.locale not in shared:
                shared[line.locale] = await system.open(line.locale)
            count += (await shared[line.locale].turn(line)).ok
    finally:
        for conv in shared.values():
            await conv.close()
    return count


async def single(system: System, turns: int, per_conversation: int, seed: int) -> Run:
    """One shopper, `turns` turns one after the other, a new conversation every `per_conversation`."""
    run, rng = Run(), _lines(seed, 0)
    started = time.perf_counter()
    while len(run.turns) < turns:
        conv = await system.open(locale_of(0))
        run.conversations += 1
        try:
            for line in conversation(rng, locale_of(0), min(per_conversation, turns - len(run.turns))):
                run.turns.append(await conv.turn(line))
        finally:
            await conv.close()
    run.window_s = time.perf_counter() - started
    return run


async def concurrent(system: System, shoppers: int, duration: float, per_conversation: int, seed: int) -> Run:
    """`shoppers` shoppers, each sending its next message as soon as its last turn is complete,
    for `duration` seconds. Only turns completed inside the window count."""
    run = Run()
    ready = 0
    go = asyncio.Event()
    window: list[float] = []  # [start, end], set when every shopper has connected

    async def shopper(index: int) -> None:
        nonlocal ready
        rng, locale = _lines(seed, index), locale_of(index)
        conv = await system.open(locale)
        ready += 1
        if ready == shoppers:
            start = time.perf_counter()
            window[:] = [start, start + duration]
            go.set()
        await go.wait()
        try:
            while True:
                for line in conversation(rng, locale, per_conversation):
                    if time.perf_counter() >= window[1]:
                        return
                    turn = await conv.turn(line)
                    if turn.ended <= window[1]:
                        run.turns.append(turn)
                await conv.close()
                conv = await system.open(locale)
                run.conversations += 1
        finally:
            await conv.close()

    await asyncio.gather(*(shopper(i) for i in range(shoppers)))
    run.conversations += shoppers
    run.window_s = duration
    return run
