"""The widget's side of a call-back: two Socket.IO events, answered by acknowledgement.

- `callback_slots {}` → `{status: "ok", slots: [{at (ms), label}], reminder: bool}`: the slots
  the call-back's team (service.callback_team) offers now, labelled in the shopper's language
  ("heute um 14:30 Uhr"); `reminder`: an SMS reminder would go (SMS configured and a number
  proven in the conversation; it goes only if the shopper gives that number);
- `callback_request {phone, slot (ms), via?: "widget"|"bot"|"offer"}` →
  `{status: "scheduled", phone, slot, label}` or `{status: "refused", code, field?, message}`.

Both after `session_confirm`, counted against the web_callback_* rules (per socket and per
client address); a request also against callback_request_per_phone (per number: nobody books
a stream of calls to one number). A session that has not written yet gets its conversation here, within the
web_conversation_* caps, as its first message would.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import socketio

from core.types import Channel, Conversation
from gateway.callbacks.phone import InvalidPhone, callback_phone
from gateway.callbacks.service import Callbacks, SlotNotOffered, callback_team
from gateway.callbacks.store import CallbacksFull
from gateway.limits.clients import rate_client
from gateway.limits.limiter import Limiter
from gateway.texts import Texts
from gateway.webchat.limits import WebLimits
from gateway.webchat.socket_server import one_payload

log = logging.getLogger(__name__)

Ack = dict[str, Any]
VIA = frozenset({"widget", "bot", "offer"})
# Call-back requests per phone number (config/limits.yml).
PHONE_RULE = "callback_request_per_phone"


class CallbackSocket:
    def __init__(self, sio: socketio.AsyncServer, callbacks: Callbacks, limiter: Limiter) -> None:
        self.sio = sio
        self.callbacks = callbacks
        self.limiter = limiter
        self.web = WebLimits(limiter)
        sio.on("callback_slots", one_payload(self.on_slots))
        sio.on("callback_request", one_payload(self.on_request))

    @property
    def texts(self) -> Texts:
        return self.callbacks.texts

    def _refused(self, locale: str, code: str, text_key: str, field: str | None = None, **extra: Any) -> Ack:
        refusal: Ack = {"status": "refused", "code": code, "message": self.texts.get(locale, text_key), **extra}
        if field is not None:
            refusal["field"] = field
        return refusal

    async def _session(self, sid: str) -> tuple[dict[str, Any] | None, Ack | None]:
        session: dict[str, Any] = await self.sio.get_session(sid)
        locale = str(session.get("locale") or self.texts.default)
        if "session_id" not in session:
            return None, {"status": "refused", "code": "no_session", "message": "send session_request first"}
        decision = await self.limiter.hit_all([("web_callback_per_socket", sid), (
            "web_callback_per_address", rate_client(str(session.get("client", "unknown"))))])
        if not decision.allowed:
            return None, self._refused(locale, "rate_limited", "rate_limited",
                                       retry_after=max(1, math.ceil(decision.retry_after)))
        return session, None

    async def on_slots(self, sid: str, data: Any) -> Ack:
        session, refusal = await self._session(sid)
        if session is None:
            return refusal or {}
        locale = str(session["locale"])
        conversation = await self.callbacks.store.find_latest(Channel.WEB, str(session["session_id"]))
        offered = self.callbacks.slots(callback_team(conversation))
        return {"status": "ok", "reminder": await self.callbacks.reminds(conversation),
                "slots": [{"at": round(at * 1000), "label": self.callbacks.when(at, locale)} for at in offered]}

    async def on_request(self, sid: str, data: Any) -> Ack:
        session, refusal = await self._session(sid)
        if session is None:
            return refusal or {}
        locale = str(session["locale"])
        if not isinstance(data, dict):
            return self._refused(locale, "invalid_callback", "callback_slot_invalid", "slot")
        try:
            phone = callback_phone(str(data.get("phone") or ""))
        except InvalidPhone as error:
            key = "callback_phone_missing" if error.code == "phone_missing" else "callback_phone_invalid"
            return self._refused(locale, error.code, key, "phone")
        slot_ms = data.get("slot")
        if not isinstance(slot_ms, int) or isinstance(slot_ms, bool) or not 0 < slot_ms < 10**13:
            return self._refused(locale, "slot_invalid", "callback_slot_invalid", "slot")
        via = data.get("via") if data.get("via") in VIA else "widget"
        per_phone = await self.limiter.hit(PHONE_RULE, phone)
        if not per_phone.allowed:
            return self._refused(locale, "phone_rate_limited", "callback_phone_busy", "phone",
                                 retry_after=max(1, math.ceil(per_phone.retry_after)))
        conversation = await self._conversation(sid, session)
        if conversation is None:
            return self._refused(locale, "rate_limited", "rate_limited")
        try:
            callback = await self.callbacks.request(conversation, phone, slot_ms / 1000, str(via))
        except SlotNotOffered:
            return self._refused(locale, "slot_invalid", "callback_slot_invalid", "slot")
        except CallbacksFull:
            log.warning("call-back refused: the open call-backs are at their cap")
            return self._refused(locale, "callbacks_full", "callback_unavailable")
        return {"status": "scheduled", "phone": callback.phone, "slot": round(callback.slot * 1000),
                "label": self.callbacks.when(callback.slot, conversation.locale)}

    async def _conversation(self, sid: str, session: dict[str, Any]) -> Conversation | None:
        """The session's conversation; created for one that has not written yet (None: over its caps)."""
        store = self.callbacks.store
        found = await store.find_latest(Channel.WEB, str(session["session_id"]))
        if found is not None:
            return found
        if not (await self.web.conversation(sid, str(session.get("client", "unknown")))).allowed:
            return None
        conversation = await store.open(Channel.WEB, str(session["session_id"]), str(session["locale"]))
        session["conversation_id"] = conversation.id
        await self.sio.save_session(sid, session)
        return conversation
