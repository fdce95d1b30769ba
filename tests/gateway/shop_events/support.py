"""A shop's webhook receiver, as a shop would write one: a real aiohttp server on a loopback
port that checks storechat's signature with its own code, remembers what it took, and
answers as told (503 a few times first, or not at all when stopped)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support import free_port

SECRET = "shop-webhook-secret-for-tests"


def signature_ok(secret: str, body: bytes, header: str, now: float, tolerance: float = 300) -> bool:
    """The README's verification, written again here (not storechat's code)."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    if not parts.get("t", "").isdigit() or abs(now - int(parts["t"])) > tolerance:
        return False
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))


@dataclass
class Receiver:
    secret: str = SECRET
    # Answer 503 to this many requests before taking any.
    fail_first: int = 0
    port: int = field(default_factory=free_port)
    taken: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Every request: (event id, attempt header, status answered).
    tries: list[tuple[str, str, int]] = field(default_factory=list)
    forged: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/storechat"

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not signature_ok(self.secret, body, request.headers.get("Storechat-Signature", ""), time.time()):
            self.forged += 1
            return web.json_response({"error": "bad signature"}, status=401)
        event = json.loads(body)
        status = 503 if self.fail_first > 0 else 200
        self.fail_first -= 1
        self.tries.append((event["id"], request.headers.get("Storechat-Delivery-Attempt", ""), status))
        if status == 200:
            self.taken.setdefault(event["id"], event)  # deduplicated by the event id, as the README asks
            self.arrived.set()
        return web.json_response({"ok": status == 200}, status=status)

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/storechat", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        await self.runner.cleanup()

    async def wait_for(self, count: int, timeout: float = 10) -> list[dict[str, Any]]:
        """The events taken, once there are `count` of them."""
        async with asyncio.timeout(timeout):
            while len(self.taken) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return list(self.taken.values())
