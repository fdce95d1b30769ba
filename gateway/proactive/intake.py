"""Storefront events from the widget: the Socket.IO `storefront_event` handler.

Sent after `session_confirm` on the default namespace; the socket's session says which
visitor it is, so a page cannot report for another. Every event is counted against the
web_storefront_* rules (per socket and per client address, config/limits.yml) before it
is read: each one writes a visitor record, so the excess is dropped, silently like typing
(the widget shows nothing of these), and logged once per socket.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import socketio

from gateway.json_input import InvalidInput
from gateway.proactive.events import StorefrontEvent, parse_event
from gateway.webchat.limits import WebLimits
from gateway.webchat.socket_server import one_payload

log = logging.getLogger(__name__)

# (web session id, event, the widget's language if known)
Observe = Callable[[str, StorefrontEvent, str | None], Awaitable[None]]


class StorefrontSocket:
    def __init__(self, sio: socketio.AsyncServer, observe: Observe, limits: WebLimits) -> None:
        self.sio = sio
        self.observe = observe
        self.limits = limits
        sio.on("storefront_event", one_payload(self.on_storefront_event))

    async def _refuse(self, sid: str, code: str, message: str) -> None:
        log.info("refused storefront event from %s: %s (%s)", sid, code, message)
        await self.sio.emit("storechat_error", {"code": code, "message": message}, to=sid)

    async def _within_budget(self, sid: str, session: dict[str, Any]) -> bool:
        allowed = (await self.limits.storefront(sid, str(session.get("client", "unknown")))).allowed
        if allowed == bool(session.get("storefront_dropping")):
            # Dropping starts or ends: noted in the session, so a flood is logged once.
            if allowed:
                session.pop("storefront_dropping")
            else:
                session["storefront_dropping"] = True
                log.warning("storefront events from socket %s (%s) above their rate: dropping the excess",
                            sid, session.get("client"))
            await self.sio.save_session(sid, session)
        return allowed

    async def on_storefront_event(self, sid: str, data: Any) -> None:
        session: dict[str, Any] = await self.sio.get_session(sid)
        if "session_id" not in session:
            await self._refuse(sid, "no_session", "send session_request first")
            return
        if not await self._within_budget(sid, session):
            return
        try:
            event = parse_event(data)
        except InvalidInput as error:
            await self._refuse(sid, "invalid_event", str(error))
            return
        locale = session.get("locale")
        await self.observe(str(session["session_id"]), event, locale if isinstance(locale, str) else None)
