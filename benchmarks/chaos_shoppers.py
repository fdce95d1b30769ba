"""Web shoppers that speak the acknowledged-message contract, as storechat's widget does.

Each message carries a client `message_id` and is emitted with a Socket.IO acknowledgement
asked for. Until the gateway acknowledges it (`{"status": "stored"}`, or the same with
`"duplicate": true` for a resend) it stays pending: it is sent again after a reconnect and
after every `ack_timeout` without an answer, and once `deadline` seconds have passed without
one the shopper is told it was not sent ("told not sent" in the figures). A shopper knows
every gateway's URL: when its socket drops it connects to the next one, asks for its session
again and resends what is pending, like the widget behind a load balancer.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import socketio

ACK_TIMEOUT = 3.0
DEADLINE = 30.0
CONNECT_TIMEOUT = 5.0
# Capped reconnect backoff: the widget's own (socket.io-client) starts at about this.
BACKOFF_START, BACKOFF_CAP = 0.2, 2.0
_SENT_AS = {"author", "typing"}  # the extensions storechat's widget declares


@dataclass
class Message:
    message_id: str
    text: str
    sent_at: float
    attempts: int = 0
    acked: bool = False
    duplicate_acks: int = 0
    # The shopper was told it was not sent: the deadline passed, or the gateway refused it.
    told: bool = False
    refused: str | None = None
    acked_after_s: float | None = None


@dataclass
class WebShopper:
    """One browser tab of a shopper; `urls` are every gateway's, tried in turn from `first`."""

    urls: Sequence[str]
    first: int = 0
    locale: str = "de"
    ack_timeout: float = ACK_TIMEOUT
    deadline: float = DEADLINE
    session_id: str | None = None
    messages: dict[str, Message] = field(default_factory=dict)
    # bot_uttered as received: (perf_counter, payload).
    replies: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    connects: int = 0
    gateways_used: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._index = self.first
        self._client: socketio.AsyncClient | None = None
        self._connected = asyncio.Event()
        self._confirmed: asyncio.Future[str] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._keeper: asyncio.Task[None] | None = None
        self._closing = False
        self._counter = itertools.count(1)
        self._tag = uuid.uuid4().hex[:10]

    @property
    def url(self) -> str:
        return self.urls[self._index % len(self.urls)]

    # --- the connection ----------------------------------------------------------------

    async def start(self) -> None:
        """Connect (to the first gateway that answers) and keep connected until `close`."""
        await self._connect_once_or_next()
        self._keeper = asyncio.create_task(self._keep_connected(), name="chaos-shopper-keeper")

    async def _connect_once_or_next(self) -> None:
        delay = BACKOFF_START
        while not self._closing:
            if await self._connect():
                return
            self._index += 1
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_CAP)

    async def _connect(self) -> bool:
        client = socketio.AsyncClient(reconnection=False)
        client.on("session_confirm", self._on_confirm)
        client.on("bot_uttered", self._on_bot_uttered)
        client.on("disconnect", self._on_disconnect)
        self._confirmed = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                await client.connect(self.url, socketio_path="socket.io", transports=["websocket"])
                request: dict[str, Any] = {"session_id": self.session_id, "locale": self.locale,
                                           "extensions": sorted(_SENT_AS)}
                await client.emit("session_request", request)
                self.session_id = await self._confirmed
        except (TimeoutError, socketio.exceptions.SocketIOError, OSError):
            await _quietly_disconnect(client)
            return False
        self._client = client
        self.connects += 1
        self.gateways_used.add(self.url)
        self._connected.set()
        return True

    async def _keep_connected(self) -> None:
        while not self._closing:
            await asyncio.sleep(0.05)
            if self._connected.is_set():
                continue
            # The socket dropped (its gateway died?): the next gateway, as a load balancer would.
            if self._client is not None:
                await _quietly_disconnect(self._client)
                self._client = None
            self._index += 1
            await self._connect_once_or_next()

    async def _on_confirm(self, data: Any = None) -> None:
        if self._confirmed is not None and not self._confirmed.done() and isinstance(data, str):
            self._confirmed.set_result(data)

    async def _on_bot_uttered(self, data: Any = None) -> None:
        if isinstance(data, dict):
            self.replies.append((time.perf_counter(), data))

    async def _on_disconnect(self, *args: Any) -> None:
        self._connected.clear()

    # --- messages ------------------------------------------------------------------------

    def send(self, text: str) -> Message:
        """Queue a message; it is delivered (and resent) in the background."""
        message = Message(f"chaos-{self._tag}-{next(self._counter):04d}", text, time.perf_counter())
        self.messages[message.message_id] = message
        task = asyncio.create_task(self._deliver(message), name=f"chaos-send-{message.message_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return message

    async def _deliver(self, message: Message) -> None:
        give_up = message.sent_at + self.deadline
        while not message.acked:
            remaining = give_up - time.perf_counter()
            if remaining <= 0:
                message.told = True  # the widget marks it "not sent", with a retry button
                return
            try:
                await asyncio.wait_for(self._connected.wait(), remaining)
            except TimeoutError:
                continue
            client = self._client
            if client is None:
                await asyncio.sleep(0.05)
                continue
            message.attempts += 1
            payload = {"message": message.text, "session_id": self.session_id, "message_id": message.message_id}
            try:
                ack = await client.call("user_uttered", payload, timeout=min(self.ack_timeout, remaining))
            except (socketio.exceptions.SocketIOError, OSError):
                await asyncio.sleep(0.05)  # no answer in time, or the socket is gone: again
                continue
            if await self._read_ack(message, ack):
                return

    async def _read_ack(self, message: Message, ack: Any) -> bool:
        """Whether the message's delivery is over: acknowledged, or refused (the shopper is told why)."""
        status = ack.get("status") if isinstance(ack, dict) else None
        if status == "stored" and ack.get("message_id") == message.message_id:
            message.acked = True
            message.acked_after_s = time.perf_counter() - message.sent_at
            message.duplicate_acks += bool(ack.get("duplicate"))
            return True
        if status == "refused" and ack.get("code") == "rate_limited":
            await asyncio.sleep(float(ack.get("retry_after") or 1))
        elif status == "refused":
            message.refused = str(ack.get("code"))
            message.told = True
            return True
        else:
            await asyncio.sleep(0.1)  # an answer the contract does not know: try again
        return False

    async def settled(self) -> None:
        """Until every message is acknowledged or told not sent."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        self._closing = True
        for task in list(self._tasks):
            task.cancel()
        if self._keeper is not None:
            self._keeper.cancel()
            await asyncio.gather(self._keeper, return_exceptions=True)
        if self._client is not None:
            await _quietly_disconnect(self._client)


async def _quietly_disconnect(client: socketio.AsyncClient) -> None:
    try:
        async with asyncio.timeout(2):
            await client.disconnect()
    except (TimeoutError, socketio.exceptions.SocketIOError, OSError):
        pass
