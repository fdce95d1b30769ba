"""Web chat over Socket.IO: the Rasa protocol's events wired to the conversation loop.

Each shopper's sockets join the room of their web session, and every emit goes
to that room through the Redis manager, so a reply reaches the shopper whichever
gateway process holds their socket.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, Protocol

import socketio

from channels import webchat
from core.formatting import format_number
from core.types import Channel, Conversation, OutgoingMessage
from gateway.conversations.loop import ConversationLoop
from gateway.conversations.store import ConversationStore
from gateway.texts import Texts

log = logging.getLogger(__name__)

class ShopperTyping(Protocol):
    async def __call__(self, conversation_id: str, typing: bool) -> None: ...


def session_room(session_id: str) -> str:
    return f"web:{session_id}"


class WebChatServer:
    def __init__(
        self,
        sio: socketio.AsyncServer,
        store: ConversationStore,
        loop: ConversationLoop,
        texts: Texts,
        *,
        max_message_chars: int,
        shopper_typing: ShopperTyping,
    ) -> None:
        self.sio = sio
        self.store = store
        self.loop = loop
        self.texts = texts
        self.max_message_chars = max_message_chars
        self.shopper_typing = shopper_typing
        sio.on("session_request", self.on_session_request)
        sio.on("user_uttered", self.on_user_uttered)
        sio.on("history_request", self.on_history_request)
        sio.on("typing", self.on_typing)
        loop.outbox.register_channel(Channel.WEB, self.deliver)

    async def deliver(self, conversation: Conversation, message: OutgoingMessage) -> None:
        await self.sio.emit("bot_uttered", webchat.render(message), room=session_room(conversation.address))

    async def _refuse(self, sid: str, error: webchat.InvalidPayload, locale: str | None = None) -> None:
        locale = locale or self.texts.default
        # Only an over-long message has a text of its own; everything else "could not be read".
        key = "message_too_long" if error.code == "message_too_long" else "invalid_message"
        log.info("refused web chat event from %s: %s (%s)", sid, error.code, error)
        await self.sio.emit("storechat_error", {
            "code": error.code,
            "message": self.texts.get(locale, key,
                                      limit=format_number(self.max_message_chars, self.texts.cldr_locale(locale))),
        }, to=sid)

    async def on_session_request(self, sid: str, data: Any) -> None:
        try:
            request = webchat.parse_session_request(data)
        except webchat.InvalidPayload as error:
            await self._refuse(sid, error)
            return
        locale = self.texts.locale(request.locale)
        conversation = await self.store.open(Channel.WEB, request.session_id, locale)
        if request.locale is not None and conversation.locale != locale:
            await self.store.set_locale(conversation.id, locale)
        await self.sio.save_session(sid, {"session_id": request.session_id, "conversation_id": conversation.id})
        await self.sio.enter_room(sid, session_room(request.session_id))
        await self.sio.emit("session_confirm", request.session_id, to=sid)

    async def _session(self, sid: str) -> dict[str, Any] | None:
        """The socket's web session, or None after refusing an event sent before session_request."""
        session: dict[str, Any] = await self.sio.get_session(sid)
        if "conversation_id" in session:
            return session
        await self._refuse(sid, webchat.InvalidPayload("no_session", "send session_request first"))
        return None

    async def on_user_uttered(self, sid: str, data: Any) -> None:
        session = await self._session(sid)
        if session is None:
            return
        conversation = await self.store.get(session["conversation_id"])
        try:
            uttered = webchat.parse_user_uttered(data, max_chars=self.max_message_chars)
            if uttered.session_id is not None and uttered.session_id != session["session_id"]:
                raise webchat.InvalidPayload("session_mismatch", "session_id is not this socket's session")
        except webchat.InvalidPayload as error:
            await self._refuse(sid, error, conversation.locale)
            return
        requested_locale = uttered.metadata.get("locale")
        if requested_locale is not None and (locale := self.texts.locale(requested_locale)) != conversation.locale:
            await self.store.set_locale(conversation.id, locale)
            conversation = dataclasses.replace(conversation, locale=locale)
        await self.loop.shopper_message(conversation, uttered.text, uttered.metadata)

    async def on_history_request(self, sid: str, data: Any) -> None:
        session = await self._session(sid)
        if session is None:
            return
        events = await self.store.history(session["conversation_id"])
        await self.sio.emit("history", {"messages": webchat.render_history(events)}, to=sid)

    async def on_typing(self, sid: str, data: Any) -> None:
        """The shopper types: the agent's console shows it (extension event `typing {typing}`)."""
        session: dict[str, Any] = await self.sio.get_session(sid)
        if "conversation_id" in session:
            typing = bool(isinstance(data, dict) and data.get("typing"))
            await self.shopper_typing(session["conversation_id"], typing)
