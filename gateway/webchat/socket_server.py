"""Web chat over Socket.IO: the Rasa protocol's events wired to the conversation loop.

Each shopper's sockets join the rooms of their web session (by the protocol extensions
they declared: see `rich_room`), and every emit goes to those rooms through the Redis
manager, so a reply reaches the shopper whichever gateway process holds their socket.

A page view stores nothing: the session id is signed (gateway/webchat/sessions.py),
and the conversation (and its contact) is created by the session's first message.
Every event is counted against the web_* rate rules (gateway/webchat/limits.py) before
it is read; a slowed-down shopper is told so, and nothing of a refused message is kept.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol

import socketio

from channels import webchat
from core.formatting import format_number
from core.types import Channel, Conversation, Event, OutgoingMessage
from gateway import keys
from gateway.conversations.loop import ConversationLoop
from gateway.conversations.store import ConversationStore, UnknownConversation
from gateway.limits.clients import Network
from gateway.limits.limiter import Decision, Limiter
from gateway.texts import Texts
from gateway.webchat.limits import WebLimits, socket_client
from gateway.webchat.sessions import SessionIds, is_legacy

log = logging.getLogger(__name__)

# How long the address a web shopper last wrote from is kept (the verification throttle reads it).
CLIENT_TTL_SECONDS = 86400

Handler = Callable[[str, Any], Awaitable[Any]]
# What a client that asked for an acknowledgement of a `user_uttered` receives (channels/webchat.py).
Ack = dict[str, Any]


class ShopperTyping(Protocol):
    async def __call__(self, conversation_id: str, typing: bool) -> None: ...


class VisitorOffers(Protocol):
    """Proactive offers (gateway/proactive/) made to a visitor before they had a conversation."""

    async def pending(self, session_id: str) -> Event | None:
        """The offer shown to the session and not answered yet, as the history shows it."""

    async def adopt(self, conversation: Conversation) -> None:
        """Put such an offer on the session's new conversation, before its first message."""


# A web session's sockets are in rooms by what they understand (channels/webchat.py): one
# of rich (declared `author`) or plain (a Rasa widget), and typing if they declared it.
def rich_room(session_id: str) -> str:
    return f"web:{session_id}:rich"


def plain_room(session_id: str) -> str:
    return f"web:{session_id}:plain"


def typing_room(session_id: str) -> str:
    return f"web:{session_id}:typing"


def session_rooms(session_id: str) -> tuple[str, str, str]:
    return rich_room(session_id), plain_room(session_id), typing_room(session_id)


class Emit(Protocol):
    async def __call__(self, event: str, data: dict[str, Any], room: str) -> None: ...


async def emit_message(emit: Emit, session_id: str, message: OutgoingMessage, *, event: Event | None = None,
                       plain_agent_names: bool = True, rich_extra: Mapping[str, Any] | None = None) -> None:
    """A message to the shopper, to each of their session's rooms in the form it understands."""
    await emit("bot_uttered", {**webchat.render_rich(message, event), **(rich_extra or {})}, rich_room(session_id))
    for payload in webchat.render_plain(message, agent_names=plain_agent_names):
        await emit("bot_uttered", payload, plain_room(session_id))


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
        limiter: Limiter,
        proxies: Sequence[Network] = (),
        offers: VisitorOffers | None = None,
        plain_agent_names: bool = True,
    ) -> None:
        self.sio = sio
        self.store = store
        self.loop = loop
        self.texts = texts
        self.max_message_chars = max_message_chars
        self.shopper_typing = shopper_typing
        self.limits = WebLimits(limiter)
        self.proxies = proxies
        self.offers = offers
        # Whether a plain Rasa widget reads "Anna: …" for an agent's message (it shows no author).
        self.plain_agent_names = plain_agent_names
        self.sessions = SessionIds(store.redis)
        sio.on("connect", self.on_connect)
        sio.on("session_request", one_payload(self.on_session_request))
        sio.on("user_uttered", one_payload(self.on_user_uttered))
        sio.on("history_request", one_payload(self.on_history_request))
        sio.on("typing", one_payload(self.on_typing))
        loop.outbox.register_channel(Channel.WEB, self.deliver)

    async def deliver(self, conversation: Conversation, message: OutgoingMessage, event: Event | None = None) -> None:
        await emit_message(self._emit, conversation.address, message, event=event,
                           plain_agent_names=self.plain_agent_names)

    async def _emit(self, event: str, data: dict[str, Any], room: str) -> None:
        # Through the Redis manager: the room's sockets may be on another gateway process.
        await self.sio.emit(event, data, room=room)

    async def _refuse(self, sid: str, error: webchat.InvalidPayload, locale: str | None = None) -> Ack:
        """Tell the client what was refused; the acknowledgement of a refused message, too."""
        locale = locale or self.texts.default
        # Only an over-long message has a text of its own; everything else "could not be read".
        key = "message_too_long" if error.code == "message_too_long" else "invalid_message"
        log.info("refused web chat event from %s: %s (%s)", sid, error.code, error)
        refusal = {
            "code": error.code,
            "message": self.texts.get(locale, key,
                                      limit=format_number(self.max_message_chars, self.texts.cldr_locale(locale))),
        }
        await self.sio.emit("storechat_error", refusal, to=sid)
        return {"status": "refused", **refusal}

    def _rate_limited(self, event: str, decision: Decision, locale: str) -> dict[str, Any]:
        return {"code": "rate_limited", "event": event, "retry_after": max(1, math.ceil(decision.retry_after)),
                "message": self.texts.get(locale, "rate_limited")}

    async def _slow_down(self, sid: str, session: dict[str, Any], event: str, decision: Decision,
                         locale: str | None = None) -> Ack:
        """Tell the shopper to wait; logged once per socket, not once per packet of a flood."""
        if not session.get("slowed"):
            session["slowed"] = True
            await self.sio.save_session(sid, session)
            log.info("slowing down web chat socket %s from %s (%s)", sid, session.get("client"), event)
        refusal = self._rate_limited(event, decision, locale or self.texts.default)
        await self.sio.emit("storechat_error", refusal, to=sid)
        return {"status": "refused", **refusal}

    async def on_connect(self, sid: str, environ: Mapping[str, Any], auth: object = None) -> None:
        address = socket_client(environ, self.proxies)
        decision = await self.limits.connect(address)
        if not decision.allowed:
            # Debug only: a flood of connections must not become a flood of log lines.
            log.debug("refused a web chat connection from %s: rate limited", address)
            request = environ.get("aiohttp.request")
            locale = self.texts.locale(request.headers.get("Accept-Language") if request is not None else None)
            raise socketio.exceptions.ConnectionRefusedError(
                "rate_limited", self._rate_limited("connect", decision, locale))
        await self.sio.save_session(sid, {"client": address})

    async def on_session_request(self, sid: str, data: Any) -> None:
        session: dict[str, Any] = await self.sio.get_session(sid)
        decision = await self.limits.session(sid, session.get("client", "unknown"))
        if not decision.allowed:
            await self._slow_down(sid, session, "session_request", decision)
            return
        try:
            request = webchat.parse_session_request(data)
        except webchat.InvalidPayload as error:
            await self._refuse(sid, error)
            return
        session_id, conversation = await self._continued(request)
        locale = self.texts.locale(request.locale)
        if conversation is not None and request.locale is not None and conversation.locale != locale:
            await self.store.set_locale(conversation.id, locale)
        previous = session.get("session_id")
        if previous is not None:
            # Another session, or the same one with other extensions: its rooms are chosen anew.
            for room in session_rooms(previous):
                await self.sio.leave_room(sid, room)
        session.update(session_id=session_id, locale=locale)
        if conversation is None:
            session.pop("conversation_id", None)
        else:
            session["conversation_id"] = conversation.id
        await self.sio.save_session(sid, session)
        rich = webchat.AUTHOR in request.extensions
        await self.sio.enter_room(sid, rich_room(session_id) if rich else plain_room(session_id))
        if webchat.TYPING in request.extensions:
            await self.sio.enter_room(sid, typing_room(session_id))
        await self.sio.emit("session_confirm", session_id, to=sid)

    async def _continued(self, request: webchat.SessionRequest) -> tuple[str, Conversation | None]:
        """The session to continue and its latest conversation. Only ids this gateway signed are
        continued, and (the upgrade's grace) unsigned ones of the old shape that have a conversation;
        anything else starts afresh."""
        session_id = request.session_id
        if not request.is_new and await self.sessions.accepts(session_id):
            return session_id, await self.store.find_latest(Channel.WEB, session_id)
        if not request.is_new and is_legacy(session_id):
            if (conversation := await self.store.find_latest(Channel.WEB, session_id)) is not None:
                return session_id, conversation
        return await self.sessions.issue(), None

    async def _session(self, sid: str) -> dict[str, Any] | None:
        """The socket's web session, or None after refusing an event sent before session_request."""
        session: dict[str, Any] = await self.sio.get_session(sid)
        if "session_id" in session:
            return session
        await self._refuse(sid, webchat.InvalidPayload("no_session", "send session_request first"))
        return None

    async def _conversation(self, sid: str, session: dict[str, Any]) -> Conversation | None:
        """The socket's conversation; None before the first message, and again once the case
        was erased or expired (the tab's next message then starts a new one)."""
        conversation_id = session.get("conversation_id")
        if conversation_id is None:
            # Another tab of the session (on this process or another) may have written first.
            found = await self.store.find_latest(Channel.WEB, session["session_id"])
            if found is None:
                return None
            session["conversation_id"] = found.id
            await self.sio.save_session(sid, session)
            return found
        try:
            return await self.store.get(conversation_id)
        except UnknownConversation:
            log.info("web chat socket %s: its conversation %s is gone", sid, conversation_id)
            session.pop("conversation_id")
            await self.sio.save_session(sid, session)
            return None

    async def _start_conversation(self, sid: str, session: dict[str, Any]) -> Conversation:
        """The session's first message creates its conversation (the caller checked the caps)."""
        conversation = await self.store.open(Channel.WEB, session["session_id"], session["locale"])
        if self.offers is not None:
            await self.offers.adopt(conversation)
        session["conversation_id"] = conversation.id
        await self.sio.save_session(sid, session)
        return conversation

    async def on_user_uttered(self, sid: str, data: Any) -> Ack:
        """The shopper's message: stored (with its turn queued) before anything else, and the
        client that asked for an acknowledgement is told so at once; the bot answers after.

        The same `message_id` again (a resend after a reconnect) is acknowledged, not stored
        twice. Events of one socket come one at a time (`async_handlers=False`), so a
        shopper's messages are stored in the order they were sent."""
        session: dict[str, Any] = await self.sio.get_session(sid)
        if "session_id" not in session:
            return await self._refuse(sid, webchat.InvalidPayload("no_session", "send session_request first"))
        conversation = await self._conversation(sid, session)
        locale = conversation.locale if conversation is not None else str(session["locale"])
        # Counted before it is read: a flood of anything is slowed down alike.
        decision = await self.limits.message(sid, session["client"])
        if not decision.allowed:
            return await self._slow_down(sid, session, "user_uttered", decision, locale)
        try:
            uttered = webchat.parse_user_uttered(data, max_chars=self.max_message_chars)
            if uttered is not None and uttered.session_id is not None and uttered.session_id != session["session_id"]:
                raise webchat.InvalidPayload("session_mismatch", "session_id is not this socket's session")
        except webchat.InvalidPayload as error:
            return await self._refuse(sid, error, locale)
        if uttered is None:
            return {"status": "ignored"}  # rasa-webchat's init payload: nothing was said
        if conversation is None:
            # The session's first message creates its conversation, within the per-client caps.
            decision = await self.limits.conversation(sid, session["client"])
            if not decision.allowed:
                return await self._slow_down(sid, session, "user_uttered", decision, locale)
            conversation = await self._start_conversation(sid, session)
        requested_locale = uttered.metadata.get("locale")
        if requested_locale is not None and (locale := self.texts.locale(requested_locale)) != conversation.locale:
            await self.store.set_locale(conversation.id, locale)
            conversation = dataclasses.replace(conversation, locale=locale)
        await self.store.redis.set(keys.conversation_client(conversation.id), session["client"],
                                   ex=CLIENT_TTL_SECONDS)
        stored = await self.loop.receive(conversation, uttered.text, uttered.metadata, message_id=uttered.message_id)
        self.loop.turns.kick(conversation.id)
        ack: Ack = {"status": "stored", "message_id": uttered.message_id, "id": stored.event_id}
        if stored.duplicate:
            log.info("web chat socket %s: message %s was stored already", sid, uttered.message_id)
            ack["duplicate"] = True
        return ack

    async def on_history_request(self, sid: str, data: Any) -> None:
        session = await self._session(sid)
        if session is None:
            return
        # A history is the costliest read a shopper can ask for (up to the whole case).
        decision = await self.limits.history(sid, session["client"])
        if not decision.allowed:
            await self._slow_down(sid, session, "history_request", decision, str(session["locale"]))
            return
        if (conversation := await self._conversation(sid, session)) is not None:
            events = await self.store.history(conversation.id)
        else:
            # Nothing written yet: no conversation, only an offer the shopper may not have answered.
            offer = await self.offers.pending(session["session_id"]) if self.offers is not None else None
            events = [offer] if offer is not None else []
        await self.sio.emit("history", {"messages": webchat.render_history(events)}, to=sid)

    async def on_typing(self, sid: str, data: Any) -> None:
        """The shopper types: the agent's console shows it (extension event `typing {typing}`).
        Above the rate the excess is dropped silently: the next one still says whether they type."""
        session: dict[str, Any] = await self.sio.get_session(sid)
        if "session_id" not in session:
            return
        if not (await self.limits.typing(sid, session.get("client", "unknown"))).allowed:
            return
        if await self._conversation(sid, session) is None:
            return
        typing = bool(isinstance(data, dict) and data.get("typing"))
        # A conversation erased meanwhile is no error: the console hook finds no case, and says nothing.
        await self.shopper_typing(session["conversation_id"], typing)


def one_payload(handler: Handler) -> Handler:
    """Socket.IO calls a handler with whatever arguments the client sent: none, one, several.
    The handler gets the one payload, or None (which every handler refuses or ignores); what
    it returns is the acknowledgement a client that asked for one receives."""

    async def handle(sid: str, *args: Any) -> Any:
        return await handler(sid, args[0] if len(args) == 1 else None)

    return handle
