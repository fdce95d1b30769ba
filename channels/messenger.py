"""Facebook Messenger: Messenger Platform webhooks in, Send API calls out.

A webhook POST is `{"object": "page", "entry": [{"id": <page id>, "time": ms,
"messaging": [event, ...]}, ...]}`; Meta batches events of several pages and shoppers
in one body, so every entry and every event is read. An event carries `sender.id`
(the shopper's page-scoped id, PSID), `recipient.id` (the page), `timestamp` (ms) and
one of `message`, `postback`, `delivery`, `read` or kinds storechat does not use.

Sending is `POST /{version}/me/messages?access_token=<page token>` with
`{"recipient": {"id": psid}, "messaging_type": ..., "message": {...}}`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from channels import meta, rich
from channels.base import (
    Acknowledgement,
    DeliveryState,
    DeliveryStatus,
    Inbound,
    MalformedPayload,
    Media,
    OutsideWindow,
    ProviderRequest,
    Received,
    WebhookRequest,
)
from core.types import Author, Channel, OutgoingMessage, QuickReply

MAX_TEXT = 2000
MAX_QUICK_REPLIES = 13
MAX_QUICK_REPLY_TITLE = 20
MAX_QUICK_REPLY_PAYLOAD = 1000


@dataclass(frozen=True, slots=True)
class MessengerSettings:
    # repr=False: settings get logged, secrets must not be.
    app_secret: str = field(repr=False)
    verify_token: str = field(repr=False)
    page_access_token: str = field(repr=False)
    graph_api_base: str = meta.DEFAULT_GRAPH_API
    api_version: str = meta.DEFAULT_API_VERSION


@dataclass(frozen=True, slots=True)
class Messenger:
    """The Messenger adapter (channels.base.ChannelAdapter and SubscriptionHandshake)."""

    settings: MessengerSettings

    @property
    def channel(self) -> Channel:
        return Channel.MESSENGER

    @property
    def acknowledgement(self) -> Acknowledgement:
        # Meta only needs a 200; this is the body its own samples answer with.
        return Acknowledgement(content_type="text/plain", body=b"EVENT_RECEIVED")

    def handshake(self, query: Mapping[str, str]) -> str | None:
        return meta.handshake(query, self.settings.verify_token)

    def verify(self, request: WebhookRequest) -> None:
        meta.verify_signature(request, self.settings.app_secret)

    def parse(self, request: WebhookRequest) -> list[Received]:
        body = meta.loads(request.body)
        if not isinstance(body, dict) or body.get("object") != "page" or not isinstance(body.get("entry"), list):
            raise MalformedPayload("not a Messenger page webhook")
        received: list[Received] = []
        for entry in _dicts(body["entry"]):
            # Entries without `messaging` (page feed `changes`, handover `standby`)
            # are about nothing storechat answers.
            for event in _dicts(entry.get("messaging")):
                received.extend(self._event(event, entry))
        return received

    def _event(self, event: Mapping[str, Any], entry: Mapping[str, Any]) -> list[Received]:
        sender = _id(event.get("sender"))
        timestamp = _number(event.get("timestamp"), entry.get("time"))
        if sender is None:
            return []
        page = _id(event.get("recipient")) or _string(entry.get("id"))
        if isinstance(message := event.get("message"), dict):
            inbound = self._message(message, sender, page, timestamp)
            return [inbound] if inbound else []
        if isinstance(postback := event.get("postback"), dict):
            payload = _string(postback.get("payload"))
            if payload is None or timestamp is None:
                return []
            # Some postbacks (older Graph versions, the Get Started button) carry no
            # mid; sender and millisecond timestamp still tell a redelivery from a second tap.
            provider_id = _string(postback.get("mid")) or f"postback:{sender}:{int(timestamp)}"
            return [Inbound(self.channel, provider_id, sender, payload, timestamp / 1000,
                            reply_title=_string(postback.get("title")), business_address=page)]
        if isinstance(delivery := event.get("delivery"), dict):
            at = _number(delivery.get("watermark"), event.get("timestamp"))
            mids = delivery.get("mids")
            if at is None or not isinstance(mids, list):
                return []
            return [DeliveryStatus(self.channel, mid, sender, DeliveryState.DELIVERED, at / 1000)
                    for mid in mids if isinstance(mid, str) and mid]
        # `read` gives only a watermark ("everything before this time was read"), no
        # mids, so no DeliveryStatus can name a message; like unknown kinds, skipped.
        return []

    def _message(self, message: Mapping[str, Any], sender: str, page: str | None,
                 timestamp: float | None) -> Inbound | None:
        mid = _string(message.get("mid"))
        if message.get("is_echo") or mid is None or timestamp is None:
            # Echoes are the page's own messages (ours or a human's in the Page inbox).
            return None
        text = _string(message.get("text")) or ""
        media = tuple(_media(attachment) for attachment in _dicts(message.get("attachments"))
                      if isinstance(attachment.get("type"), str))
        reply_title = None
        quick_reply = message.get("quick_reply")
        if isinstance(quick_reply, dict) and (payload := _string(quick_reply.get("payload"))) is not None:
            # Meta sends the tapped button's title as the message text.
            text, reply_title = payload, text or None
        if not text and not media:
            return None
        return Inbound(self.channel, mid, sender, text, timestamp / 1000,
                       reply_title=reply_title, media=media, business_address=page)

    def outgoing(self, address: str, message: OutgoingMessage, *, window_open: bool = True) -> list[ProviderRequest]:
        envelope: dict[str, Any] = {"recipient": {"id": address}}
        if window_open:
            envelope["messaging_type"] = "RESPONSE"
        elif message.author is Author.AGENT:
            # Meta lets a person answer for 7 days after the shopper's last message;
            # past that it refuses the call (the gateway sees the error), we cannot tell.
            envelope["messaging_type"] = "MESSAGE_TAG"
            envelope["tag"] = "HUMAN_AGENT"
        else:
            raise OutsideWindow("Messenger allows only a human agent's reply after 24 hours")

        text, replies = message.text, message.quick_replies
        if not _fit_as_buttons(replies):
            text, replies = rich.numbered_options(text, replies), ()
        contents: list[dict[str, Any]] = []
        if message.image_url:
            contents.append({"attachment": {"type": "image",
                                            "payload": {"url": message.image_url, "is_reusable": True}}})
        contents.extend({"text": part} for part in rich.split_text(text, MAX_TEXT))
        if replies and not contents:
            contents.append({"text": rich.numbered_options("", replies)})
        elif replies:
            # Buttons belong under the last thing shown; Meta drops them once another
            # message follows.
            contents[-1]["quick_replies"] = [
                {"content_type": "text", "title": rich.clip(reply.title, MAX_QUICK_REPLY_TITLE),
                 "payload": reply.payload}
                for reply in replies
            ]
        return [self._request({**envelope, "message": content}) for content in contents]

    def typing(self, address: str, on: bool) -> ProviderRequest:
        return self._request({"recipient": {"id": address}, "sender_action": "typing_on" if on else "typing_off"})

    def sent_ids(self, body: bytes) -> list[str]:
        try:
            answer = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            return []
        message_id = answer.get("message_id") if isinstance(answer, dict) else None
        return [message_id] if isinstance(message_id, str) and message_id else []

    def _request(self, payload: Mapping[str, Any]) -> ProviderRequest:
        base = self.settings.graph_api_base.rstrip("/")
        query = urlencode({"access_token": self.settings.page_access_token})
        return ProviderRequest(
            method="POST",
            url=f"{base}/{self.settings.api_version}/me/messages?{query}",
            headers={"Content-Type": "application/json"},
            body=json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
        )


def _fit_as_buttons(replies: tuple[QuickReply, ...]) -> bool:
    # A payload cannot be clipped (the bot reads it), so one Meta would refuse turns
    # the whole set into numbered options rather than losing the message.
    return len(replies) <= MAX_QUICK_REPLIES and all(
        0 < len(reply.payload) <= MAX_QUICK_REPLY_PAYLOAD and reply.title.strip() for reply in replies)


def _media(attachment: Mapping[str, Any]) -> Media:
    payload = attachment.get("payload")
    payload = payload if isinstance(payload, dict) else {}
    kind = str(attachment["type"])
    sticker_id = payload.get("sticker_id")
    if sticker_id is not None:
        # Meta sends stickers (the "like" thumb too) as images with a sticker_id.
        kind = "sticker"
    caption = _string(attachment.get("title")) or _string(payload.get("title"))
    coordinates = payload.get("coordinates")
    if isinstance(coordinates, dict):
        # A shared location's title is just "<name>'s Location"; where it is matters.
        caption = f"{coordinates.get('lat')},{coordinates.get('long')}"
    return Media(kind=kind, url=_string(payload.get("url")) or _string(attachment.get("url")),
                 media_id=None if sticker_id is None else str(sticker_id), caption=caption)


def _dicts(value: object) -> Iterator[dict[str, Any]]:
    """The objects of a JSON list; anything else in it (or no list) is skipped."""
    if isinstance(value, list):
        yield from (item for item in value if isinstance(item, dict))


def _id(value: object) -> str | None:
    return _string(value.get("id")) if isinstance(value, dict) else None


def _string(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _number(*candidates: object) -> float | None:
    """The first real number among `candidates` (bool is an int to Python, not to us)."""
    for value in candidates:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return None
