"""The action server's client of the gateway's bot API (/api/v1/conversations/...).

The gateway owns order data; the action server only asks. Every call has a short
timeout, and every way the gateway can fail to answer (down, slow, misconfigured,
5xx, garbage) is one exception, GatewayUnavailable, so actions can apologise instead
of crashing.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Optional
from urllib.parse import quote

import aiohttp

Order = dict[str, Any]
ServiceRequest = dict[str, Any]

DEFAULT_TIMEOUT = 3.0


class GatewayUnavailable(Exception):
    """The gateway did not give a usable answer."""


def log_failure(logger: logging.Logger, what: str, exc: Exception) -> None:
    """An action that could not finish: the gateway being away is expected (a warning);
    anything else is a bug, logged with its traceback — the shopper gets the same polite
    answer either way, never silence."""
    if isinstance(exc, GatewayUnavailable):
        logger.warning("%s: %s", what, exc)
    else:
        logger.error("%s failed", what, exc_info=exc)


@dataclass(frozen=True)
class ApiSettings:
    base_url: str
    token: str
    timeout: float = DEFAULT_TIMEOUT

    @classmethod
    def from_env(cls) -> ApiSettings:
        return cls(
            base_url=os.environ.get("STORECHAT_API_URL", "").rstrip("/"),
            token=os.environ.get("STORECHAT_BOT_TOKEN", ""),
            timeout=float(os.environ.get("STORECHAT_API_TIMEOUT", DEFAULT_TIMEOUT)),
        )


@dataclass(frozen=True)
class Verification:
    """Outcome of one proof: the order, or how many attempts are left; with none left
    the shopper must wait `retry_after` seconds before trying again."""

    order: Optional[Order]
    attempts_left: int
    retry_after: Optional[int] = None

    @property
    def locked(self) -> bool:
        return self.order is None and self.attempts_left <= 0


@dataclass(frozen=True)
class RequestOutcome:
    """A recorded request, or the gateway's refusal (`too_late`, `not_delivered`, ...)."""

    request: Optional[ServiceRequest]
    error: Optional[str] = None


class GatewayApi:
    def __init__(self, session: aiohttp.ClientSession, settings: ApiSettings) -> None:
        self._session = session
        self._settings = settings

    @classmethod
    @asynccontextmanager
    async def open(cls, settings: Optional[ApiSettings] = None) -> AsyncIterator[GatewayApi]:
        # One session per action run: rasa_sdk gives actions no start/stop hooks to
        # own a long-lived session, and a run makes at most a few calls.
        settings = settings or ApiSettings.from_env()
        timeout = aiohttp.ClientTimeout(total=settings.timeout)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            yield cls(session, settings)

    async def verify(self, cid: str, order_id: str, kind: str, value: str) -> Verification:
        """`value` "" (a phone proof): the gateway checks the conversation's own number."""
        proof = {"kind": kind, "value": value} if value else {"kind": kind}
        status, body = await self._call(
            "POST", f"{_conversation(cid)}/verifications", {"order_id": order_id, "proof": proof}
        )
        if status == 200 and isinstance(body.get("order"), dict):
            return Verification(order=body["order"], attempts_left=0)
        if status == 404 and body.get("error") == "no_match":
            return Verification(order=None, attempts_left=int(body.get("attempts_left") or 0),
                                retry_after=_seconds(body.get("retry_after")))
        if status == 429:
            return Verification(order=None, attempts_left=0, retry_after=_seconds(body.get("retry_after")) or 60)
        raise GatewayUnavailable(f"verification answered {status}")

    async def proven_order(self, cid: str, order_id: str) -> Optional[Order]:
        """The order if it is proven in this conversation, else None."""
        status, body = await self._call("GET", f"{_conversation(cid)}/orders/{quote(order_id, safe='')}")
        if status == 200:
            return body
        if status in (403, 404):
            return None
        raise GatewayUnavailable(f"order lookup answered {status}")

    async def proven_orders(self, cid: str) -> list[Order]:
        status, body = await self._call("GET", f"{_conversation(cid)}/orders")
        if status == 200 and isinstance(body.get("orders"), list):
            return [order for order in body["orders"] if isinstance(order, dict)]
        raise GatewayUnavailable(f"order list answered {status}")

    async def create_request(self, cid: str, kind: str, order_id: str, **details: Any) -> RequestOutcome:
        status, body = await self._call(
            "POST", f"{_conversation(cid)}/requests", {"kind": kind, "order_id": order_id, **details}
        )
        # 201: opened; 200: the same request was already open, and this is it.
        if status in (200, 201) and isinstance(body.get("request"), dict):
            return RequestOutcome(request=body["request"])
        if status in (403, 409) and isinstance(body.get("error"), str):
            return RequestOutcome(request=None, error=body["error"])
        raise GatewayUnavailable(f"request answered {status}")

    async def requests(self, cid: str) -> list[ServiceRequest]:
        status, body = await self._call("GET", f"{_conversation(cid)}/requests")
        if status == 200 and isinstance(body.get("requests"), list):
            return [item for item in body["requests"] if isinstance(item, dict)]
        raise GatewayUnavailable(f"request list answered {status}")

    async def _call(
        self, method: str, path: str, body: Optional[dict[str, Any]] = None
    ) -> tuple[int, dict[str, Any]]:
        if not self._settings.base_url:
            raise GatewayUnavailable("STORECHAT_API_URL is not set")
        try:
            async with self._session.request(
                method,
                f"{self._settings.base_url}/api/v1{path}",
                json=body,
                headers={"Authorization": f"Bearer {self._settings.token}"},
            ) as response:
                if response.status >= 500 or response.status == 401:
                    raise GatewayUnavailable(f"{method} {path} answered {response.status}")
                data = await response.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            raise GatewayUnavailable(f"{method} {path}: {exc!r}") from exc
        if not isinstance(data, dict):
            raise GatewayUnavailable(f"{method} {path} answered a non-object")
        return response.status, data


def _seconds(value: Any) -> Optional[int]:
    return int(value) if isinstance(value, (int, float)) and value > 0 else None


def _conversation(cid: str) -> str:
    return f"/conversations/{quote(cid, safe='')}"
