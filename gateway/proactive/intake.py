"""Storefront events from the widget: the Socket.IO `storefront_event` handler.

Sent after `session_confirm` on the default namespace; the socket's session says which
visitor it is, so a page cannot report for another. A socket gets a small budget of
events per second (a burst on page load is fine, a loop in a shop's script is not):
the rest are dropped, and logged once per socket.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import socketio

from gateway.json_input import InvalidInput
from gateway.proactive.events import StorefrontEvent, parse_event
from gateway.webchat.socket_server import one_payload

log = logging.getLogger(__name__)

EVENTS_PER_SECOND = 5.0
BURST = 5.0

# (web session id, event, the widget's language if known)
Observe = Callable[[str, StorefrontEvent, str | None], Awaitable[None]]


class StorefrontSocket:
    def __init__(self, sio: socketio.AsyncServer, observe: Observe, *,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.sio = sio
        self.observe = observe
        self.monotonic = monotonic
        sio.on("storefront_event", one_payload(self.on_storefront_event))

    async def _refuse(self, sid: str, code: str, message: str) -> None:
        log.info("refused storefront event from %s: %s (%s)", sid, code, message)
        await self.sio.emit("storechat_error", {"code": code, "message": message}, to=sid)

    def _within_budget(self, sid: str, session: dict[str, Any]) -> bool:
        """A token bucket kept in the socket's own session: it ends with the socket."""
        now = self.monotonic()
        tokens, since = session.get("storefront_budget", (BURST, now))
        tokens = min(BURST, float(tokens) + (now - float(since)) * EVENTS_PER_SECOND)
        allowed = tokens >= 1.0
        session["storefront_budget"] = (tokens - 1.0 if allowed else tokens, now)
        if allowed:
            session.pop("storefront_dropping", None)
        elif not session.get("storefront_dropping"):
            session["storefront_dropping"] = True
            log.warning("storefront events from socket %s above %.0f/s: dropping the excess", sid,
                        EVENTS_PER_SECOND)
        return allowed

    async def on_storefront_event(self, sid: str, data: Any) -> None:
        session: dict[str, Any] = await self.sio.get_session(sid)
        if "session_id" not in session:
            await self._refuse(sid, "no_session", "send session_request first")
            return
        allowed = self._within_budget(sid, session)
        await self.sio.save_session(sid, session)
        if not allowed:
            return
        try:
            event = parse_event(data)
        except InvalidInput as error:
            await self._refuse(sid, "invalid_event", str(error))
            return
        locale = session.get("locale")
        await self.observe(str(session["session_id"]), event, locale if isinstance(locale, str) else None)
