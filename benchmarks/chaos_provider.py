"""A fault-injecting stand-in for Twilio's and Meta's send APIs, and what it was sent.

It answers as the provider does (Twilio's Message resource, WhatsApp's Cloud API answer) or,
while faults are queued, with the next fault: a status (500, 429 with Retry-After) or a hold
past the gateway's read timeout (`hang`: the provider has taken the message, the gateway
never hears so). Every call is recorded with the recipient, the text and whether the
provider took it — a message taken twice is an SMS the shopper reads twice.

Unlike tests/channels/provider_standin.py (a thread, for the tests' own event loops) this one
runs in the benchmark's event loop and notes per call which answer it got; the requests are
read with tests/channels/drivers.py, which checks they are the provider's.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from aiohttp import web

from tests.channels.drivers import DRIVERS, Driver
from tests.channels.provider_standin import Recorded


@dataclass(frozen=True, slots=True)
class Fault:
    status: int = 0  # 0: answer as usual (after `hang`, if set)
    retry_after: str | None = None
    hang: float = 0.0


@dataclass(frozen=True, slots=True)
class Call:
    channel: str
    recipient: str
    text: str
    status: int  # what the stand-in answered (or would have: a held call's caller may have gone)
    taken: bool  # the provider has the message (answered 2xx, or held it past the caller's timeout)
    at: float


@dataclass
class FaultyProvider:
    faults: deque[Fault] = field(default_factory=deque)
    calls: list[Call] = field(default_factory=list)
    url: str = ""

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None

    def queue_faults(self, count: int, fault: Fault) -> None:
        self.faults.extend([fault] * count)

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{account}/Messages.json", self._handle)
        app.router.add_post("/{version}/{phone_number_id}/messages", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        parts = urlsplit(str(request.rel_url))
        recorded = Recorded("POST", parts.path, parse_qs(parts.query),
                            {name.lower(): value for name, value in request.headers.items()}, body)
        channel = "sms" if "/Accounts/" in parts.path else "whatsapp"
        driver: Driver = DRIVERS[channel]
        text, recipient = driver.text_of(recorded), driver.recipient(recorded)
        fault = self.faults.popleft() if self.faults else Fault()
        # Noted on arrival: a message held past the gateway's read timeout is the provider's all the same.
        self.calls.append(Call(channel, recipient, text, fault.status or 200, not fault.status, time.monotonic()))
        if fault.hang:
            await asyncio.sleep(fault.hang)
        if fault.status:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            return web.json_response({"code": fault.status, "message": "chaos stand-in failure",
                                      "error": {"message": "chaos stand-in failure", "code": fault.status}},
                                     status=fault.status, headers=headers)
        n = next(self._ids)
        if channel == "sms":
            return web.json_response({"sid": f"SM{n:032x}", "status": "queued"}, status=201)
        return web.json_response({"messaging_product": "whatsapp", "messages": [{"id": f"wamid.chaos{n}"}]})

    def received(self) -> int:
        return sum(call.taken for call in self.calls)

    def duplicates(self) -> int:
        """Messages (recipient and text) the provider took more than once."""
        taken = Counter((call.channel, call.recipient, call.text) for call in self.calls if call.taken)
        return sum(count - 1 for count in taken.values() if count > 1)
