"""How often a web chat client may connect, ask for a session, write, type, report storefront
events and start a conversation: the shared limiter's web_* rules, per socket and per client address."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web

from gateway.limits.clients import Network, rate_client, request_address
from gateway.limits.limiter import Decision, Limiter


def socket_client(environ: Mapping[str, Any], proxies: Sequence[Network]) -> str:
    """The address a Socket.IO connection comes from (X-Forwarded-For only from a trusted proxy)."""
    request = environ.get("aiohttp.request")
    if not isinstance(request, web.BaseRequest):
        return "unknown"
    return request_address(request, proxies)


class WebLimits:
    def __init__(self, limiter: Limiter) -> None:
        self.limiter = limiter

    async def connect(self, address: str) -> Decision:
        return await self.limiter.hit("web_connect_per_address", rate_client(address))

    async def _both(self, what: str, sid: str, address: str) -> Decision:
        # The socket's rule first: one noisy tab is slowed down before it spends its office's budget.
        return await self.limiter.hit_all([(f"web_{what}_per_socket", sid),
                                           (f"web_{what}_per_address", rate_client(address))])

    async def session(self, sid: str, address: str) -> Decision:
        return await self._both("session", sid, address)

    async def message(self, sid: str, address: str) -> Decision:
        return await self._both("message", sid, address)

    async def history(self, sid: str, address: str) -> Decision:
        return await self._both("history", sid, address)

    async def typing(self, sid: str, address: str) -> Decision:
        return await self._both("typing", sid, address)

    async def storefront(self, sid: str, address: str) -> Decision:
        return await self._both("storefront", sid, address)

    async def conversation(self, sid: str, address: str) -> Decision:
        return await self._both("conversation", sid, address)
