"""Floods against the web chat, as issue 14's review ran them, with the shipped limits.

    .venv/bin/python benchmarks/flood.py            # the full run (about a minute)
    .venv/bin/python benchmarks/flood.py --quick    # a smoke run
    .venv/bin/python benchmarks/flood.py --json     # machine-readable figures on stdout

One `storechat serve` process on an empty embedded Redis, config/limits.yml as shipped, no
Rasa (RASA_URL points at a closed port: a conversation's first message is queued for a
person, the rest are only stored). The clients are python-socketio sockets from this
machine; each scenario writes as its own address through X-Forwarded-For (the gateway
trusts 127.0.0.1 as a proxy here), so one scenario's budget is not another's.
Printed: messages stored per second from one socket and from one address (many sockets),
conversations created by 200 session_requests on one socket, Redis keys and bytes per
visitor who connects and never writes, typing events forwarded to the consoles, and
connections accepted of 300 opened at once from one address.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

# Run as a script (`python benchmarks/flood.py`): make the repository importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import socketio  # noqa: E402
from redis.asyncio import Redis  # noqa: E402

from benchmarks.cli import progress, stop_on_sigterm  # noqa: E402
from benchmarks.stack import BENCH_DIR, Stack, free_port  # noqa: E402
from core.types import Author, Channel, EventKind  # noqa: E402
from gateway import keys  # noqa: E402
from gateway.conversations.store import ConversationStore  # noqa: E402
from gateway.run import processes  # noqa: E402
from gateway.settings import REPO_ROOT, Settings  # noqa: E402

TIMEOUT = 60.0


class Socket:
    """A web chat socket that records what it is sent; `settle()` waits until the gateway has
    handled everything sent before it (one event at a time per socket: a history_request
    is answered after them)."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.client = socketio.AsyncClient(reconnection=False)
        self.seen: list[tuple[str, Any]] = []
        self.history = asyncio.Event()
        self.confirmed: asyncio.Queue[str] = asyncio.Queue()
        for name in ("bot_uttered", "storechat_error"):
            self.client.on(name, lambda data=None, name=name: self.seen.append((name, data)))
        self.client.on("session_confirm", lambda data=None: self.confirmed.put_nowait(str(data)))
        self.client.on("history", lambda data=None: self.history.set())

    async def connect(self, url: str) -> bool:
        try:
            await self.client.connect(url, socketio_path="socket.io", transports=["websocket"],
                                      headers={"X-Forwarded-For": self.address}, wait_timeout=10)
        except socketio.exceptions.ConnectionError:
            return False
        return True

    async def session(self) -> str | None:
        await self.client.emit("session_request", {"session_id": None, "locale": "de"})
        try:
            return await asyncio.wait_for(self.confirmed.get(), 5)
        except TimeoutError:
            return None

    async def settle(self) -> None:
        self.history.clear()
        await self.client.emit("history_request", {})
        await asyncio.wait_for(self.history.wait(), TIMEOUT)

    async def close(self) -> None:
        await self.client.disconnect()


async def stored(redis: Redis, session_id: str | None) -> int:
    store = ConversationStore(redis)
    conversation = await store.find_latest(Channel.WEB, session_id) if session_id else None
    if conversation is None:
        return 0
    events = await store.history(conversation.id, count=100_000)
    return sum(1 for e in events if e.kind is EventKind.MESSAGE and e.author is Author.SHOPPER)


async def conversations(redis: Redis) -> int:
    return sum([await redis.zcard(keys.conversations_by_state(state)) for state in ("bot", "queued", "assigned")])


@dataclass
class Flood:
    sent: int
    stored: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.stored / self.seconds if self.seconds else 0.0


async def flood(url: str, redis: Redis, address: str, *, sockets: int, messages: int) -> Flood:
    """`sockets` sockets of one address, each sending `messages` lines as fast as it can."""
    clients = [Socket(address) for _ in range(sockets)]
    connected = [c for c in await asyncio.gather(*(c.connect(url) for c in clients)) if c]
    sessions = [await client.session() for client in clients[:len(connected)]]
    started = time.perf_counter()

    async def write(client: Socket) -> None:
        for index in range(messages):
            await client.client.emit("user_uttered", {"message": f"Flut {index} " + "x" * 1980})
        await client.settle()

    await asyncio.gather(*(write(client) for client in clients[:len(connected)]))
    seconds = time.perf_counter() - started
    total = sum([await stored(redis, session_id) for session_id in sessions])
    for client in clients[:len(connected)]:
        await client.close()
    return Flood(sent=len(connected) * messages, stored=total, seconds=seconds)


async def session_requests(url: str, redis: Redis, address: str, count: int, *, with_message: bool) -> int:
    """Conversations made by `count` session_requests on one socket (each with a message, or not)."""
    before = await conversations(redis)
    client = Socket(address)
    await client.connect(url)
    for _ in range(count):
        await client.client.emit("session_request", {"session_id": None})
        if with_message:
            await client.client.emit("user_uttered", {"message": "Hallo"})
    await client.settle()
    await client.close()
    return await conversations(redis) - before


async def connections(url: str, address: str, count: int) -> int:
    """How many of `count` sockets opened at once from one address are accepted."""
    clients = [Socket(address) for _ in range(count)]
    accepted = sum(await asyncio.gather(*(client.connect(url) for client in clients)))
    for client in clients:
        if client.client.connected:
            await client.close()
    return accepted


@dataclass
class Footprint:
    visitors: int
    keys: float
    permanent_keys: float
    bytes: float
    permanent_bytes: float


async def _memory(redis: Redis) -> dict[str, tuple[int, bool]]:
    """Every storechat key → (bytes, whether it is permanent)."""
    found = {}
    async for key in redis.scan_iter("storechat:*", count=1000):
        found[str(key)] = (int(await redis.memory_usage(key) or 0), await redis.ttl(key) == -1)
    return found


async def silent_visitors(url: str, redis: Redis, count: int) -> Footprint:
    """Visitors who open a page (the widget's connect, session, history, a page view) and leave."""
    before = await _memory(redis)
    for index in range(count):
        client = Socket(f"198.18.{index // 250}.{index % 250 + 1}")
        await client.connect(url)
        await client.session()
        await client.client.emit("storefront_event", {"type": "page_view", "page_type": "product",
                                                      "url": "https://nordlicht-home.example/p/1", "title": "Kissen"})
        await client.settle()
        await client.close()
    after = await _memory(redis)
    added = {key: value for key, value in after.items() if key not in before}
    grown = sum(size - before.get(key, (0, False))[0] for key, (size, _) in after.items()
                if key in before or key == keys.PROACTIVE_DUE)
    # Not the visitor's own: the limiter's keys (they expire within minutes) and the shared set of
    # visitors due for evaluation (its entry leaves when evaluated; its growth is in `grown`).
    visitor = {key: value for key, value in added.items() if ":limit:" not in key and key != keys.PROACTIVE_DUE}
    permanent = [size for size, forever in visitor.values() if forever]
    return Footprint(visitors=count, keys=len(visitor) / count, permanent_keys=len(permanent) / count,
                     bytes=(sum(size for size, _ in visitor.values()) + max(0, grown)) / count,
                     permanent_bytes=sum(permanent) / count)


async def typing_forwarded(url: str, redis_url: str, address: str, count: int) -> int:
    """Typing events of a queued shopper that go out to the consoles (through the Socket.IO Redis channel)."""
    listener = Redis.from_url(redis_url, decode_responses=True)
    pubsub = listener.pubsub()
    await pubsub.subscribe(keys.SOCKETIO_CHANNEL)
    client = Socket(address)
    await client.connect(url)
    await client.session()
    await client.client.emit("user_uttered", {"message": "Hallo"})  # no Rasa: queued for a person
    await client.settle()
    for index in range(count):
        await client.client.emit("typing", {"typing": index % 2 == 0})
    await client.settle()
    await asyncio.sleep(0.5)
    forwarded = 0
    while (message := await pubsub.get_message(timeout=0.5)) is not None:
        if message["type"] == "message":
            data = json.loads(message["data"])
            forwarded += data.get("event") == "typing" and data.get("namespace") == "/agent"
    await client.close()
    await pubsub.aclose()  # type: ignore[no-untyped-call]
    await listener.aclose()
    return forwarded


@dataclass
class Figures:
    one_socket: Flood
    one_address: Flood
    sessions_alone: int
    sessions_with_a_message: int
    silent: Footprint
    typing_sent: int
    typing_forwarded: int
    connections_opened: int
    connections_accepted: int


async def measure(url: str, redis_url: str, *, quick: bool) -> Figures:
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        one = await flood(url, redis, "203.0.113.1", sockets=1, messages=200 if quick else 2000)
        many = await flood(url, redis, "203.0.113.2", sockets=20 if quick else 50, messages=20 if quick else 100)
        alone = await session_requests(url, redis, "203.0.113.3", 200, with_message=False)
        chatty = await session_requests(url, redis, "203.0.113.4", 200, with_message=True)
        silent = await silent_visitors(url, redis, 20 if quick else 100)
        typing = await typing_forwarded(url, redis_url, "203.0.113.5", 500)
        accepted = await connections(url, "203.0.113.6", 300)
        return Figures(one, many, alone, chatty, silent, 500, typing, 300, accepted)
    finally:
        await redis.aclose()


@contextmanager
def gateway() -> Iterator[tuple[str, str]]:
    """An empty embedded Redis and one gateway with the shipped limits; (gateway URL, Redis URL)."""
    settings = Settings(port=free_port(), redis_url=f"redis://127.0.0.1:{free_port()}/0",
                        rasa_url=f"http://127.0.0.1:{free_port()}", data_dir=BENCH_DIR / "flood", root=REPO_ROOT)
    url = f"http://127.0.0.1:{settings.port}"
    env = {"STORECHAT_LIMITS": str(REPO_ROOT / "config" / "limits.yml"), "STORECHAT_TRUSTED_PROXIES": "127.0.0.1"}
    with ExitStack() as exits:
        stack = Stack(exits)
        stack.start_empty_redis(settings.effective_redis_url, BENCH_DIR / "flood" / "redis")
        stack.start(processes.gateway(settings, env), processes.http_ok(f"{url}/static/widget.css"))
        yield url, settings.effective_redis_url


def report(figures: Figures) -> list[str]:
    one, many, silent = figures.one_socket, figures.one_address, figures.silent
    return [
        f"one socket:   {one.sent} messages sent, {one.stored} stored in {one.seconds:.2f} s "
        f"({one.per_second:.1f} stored/s)",
        f"one address:  {many.sent} messages sent on many sockets, {many.stored} stored in {many.seconds:.2f} s "
        f"({many.per_second:.1f} stored/s)",
        f"200 session_requests on one socket: {figures.sessions_alone} conversations; "
        f"each followed by a message: {figures.sessions_with_a_message}",
        f"a visitor who never writes ({silent.visitors}): {silent.keys:.1f} keys, {silent.bytes:.0f} bytes; "
        f"permanent: {silent.permanent_keys:.1f} keys, {silent.permanent_bytes:.0f} bytes",
        f"typing: {figures.typing_sent} sent, {figures.typing_forwarded} forwarded to the consoles",
        f"connections from one address at once: {figures.connections_opened} opened, "
        f"{figures.connections_accepted} accepted",
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smaller floods (a smoke run)")
    parser.add_argument("--json", action="store_true", help="the figures as JSON on stdout")
    args = parser.parse_args(argv)
    stop_on_sigterm()
    progress("Starting Redis and a gateway (the shipped limits, no Rasa)…")
    with gateway() as (url, redis_url):
        figures = asyncio.run(measure(url, redis_url, quick=args.quick))
    lines = report(figures)
    if args.json:
        print(json.dumps(asdict(figures), indent=2))
        progress("\n".join(lines))
    else:
        print("\n".join(lines))


if __name__ == "__main__":
    main()
