"""WhatsApp Cloud API: webhooks in, `POST /{phone_number_id}/messages` out.

A webhook batches entries, changes, messages and statuses; every one is read.
Quick replies render as WhatsApp's interactive messages where its limits allow:
- 1-3: reply buttons under the end of the text. Their body holds 1,024 characters, so
  a longer last part is split again and the buttons carry its final piece: the real
  end of the text, not an invented caption in a language the adapter does not know.
- 4-10: a list. Its opening button needs a label, and the adapter does not know the
  shopper's language, so the label is the menu sign "☰" under the question. A tapped
  row comes back as `list_reply` with the payload, like a button: no state to keep.
- more than 10, no text to show them under, or payloads WhatsApp would refuse as ids
  (empty, duplicate, too long): numbered options as text, for `rich.chosen_option`.
Outside the 24-hour window only a template Meta approved may go (`template`).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

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
from core.types import Channel, OutgoingMessage, QuickReply

TEXT_LIMIT: Final = 4096
INTERACTIVE_BODY_LIMIT: Final = 1024  # reply buttons and lists alike
MAX_BUTTONS: Final = 3
BUTTON_TITLE_LIMIT: Final = 20
BUTTON_ID_LIMIT: Final = 256
MAX_ROWS: Final = 10
ROW_TITLE_LIMIT: Final = 24
ROW_ID_LIMIT: Final = 200
LIST_LABEL: Final = "☰"

# WhatsApp's media types, named as storechat's Media.kind names them on every channel.
_MEDIA_KINDS: Final = MappingProxyType(
    {"image": "image", "document": "file", "audio": "audio", "video": "video", "sticker": "sticker"}
)
# A wa_id is the shopper's phone number in digits; the gateway trusts "+" + wa_id as a
# proven phone number, so anything else (a future username id) is not taken as one.
_WA_ID: Final = re.compile(r"[0-9]{1,15}")
_TIMESTAMP: Final = re.compile(r"[0-9]{1,12}")
_LINK: Final = re.compile(r"https?://", re.IGNORECASE)

_Content = tuple[str, str | None, tuple[Media, ...]]  # text, reply_title, media

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WhatsAppSettings:
    app_secret: str
    verify_token: str
    access_token: str
    phone_number_id: str
    graph_api_base: str = meta.DEFAULT_GRAPH_API
    api_version: str = meta.DEFAULT_API_VERSION


class WhatsApp:
    """The WhatsApp Cloud API as a `ChannelAdapter` and `SubscriptionHandshake`."""

    def __init__(self, settings: WhatsAppSettings) -> None:
        self._settings = settings

    @property
    def channel(self) -> Channel:
        return Channel.WHATSAPP

    @property
    def acknowledgement(self) -> Acknowledgement:
        return Acknowledgement()

    def handshake(self, query: Mapping[str, str]) -> str | None:
        return meta.handshake(query, self._settings.verify_token)

    def verify(self, request: WebhookRequest) -> None:
        meta.verify_signature(request, self._settings.app_secret)

    def parse(self, request: WebhookRequest) -> list[Received]:
        payload = meta.loads(request.body)
        is_whatsapp = isinstance(payload, dict) and payload.get("object") == "whatsapp_business_account"
        entries = payload.get("entry") if is_whatsapp else None
        if not isinstance(entries, list):
            raise MalformedPayload("not a whatsapp_business_account webhook")
        return list(_received(entries, self._settings.phone_number_id))

    def outgoing(self, address: str, message: OutgoingMessage, *, window_open: bool = True) -> list[ProviderRequest]:
        if not window_open:
            raise OutsideWindow("more than 24 hours since the shopper wrote: only approved templates may be sent")
        to = address.removeprefix("+")
        contents: list[dict[str, Any]] = []
        if message.image_url:
            contents.append({"type": "image", "image": {"link": message.image_url}})
        contents.extend(_text_and_options(message.text, message.quick_replies))
        return [self._request(to, content) for content in contents]

    def template(self, address: str, name: str, language: str, parameters: Sequence[str]) -> ProviderRequest:
        """The approved template `name` in `language` (Meta's code: de, en, en_US …), its
        body's {{1}}, {{2}}, … filled with `parameters` in order."""
        template: dict[str, Any] = {"name": name, "language": {"code": language}}
        if parameters:
            template["components"] = [{"type": "body", "parameters": [
                {"type": "text", "text": _template_text(value)} for value in parameters]}]
        return self._request(address.removeprefix("+"), {"type": "template", "template": template})

    def sent_ids(self, body: bytes) -> list[str]:
        try:
            answer = json.loads(body)
        except (ValueError, RecursionError):
            return []
        messages = answer.get("messages") if isinstance(answer, dict) else None
        return [wamid for item in _dicts(messages) if (wamid := _str(item.get("id")))]

    def _request(self, to: str, content: Mapping[str, Any]) -> ProviderRequest:
        settings = self._settings
        payload = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, **content}
        return ProviderRequest(
            method="POST",
            url=f"{settings.graph_api_base.rstrip('/')}/{settings.api_version}/{settings.phone_number_id}/messages",
            headers={"Authorization": f"Bearer {settings.access_token}", "Content-Type": "application/json"},
            body=json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode(),
        )


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _dicts(value: object) -> Iterator[Mapping[str, Any]]:
    """The objects of a JSON list; anything else in it (or no list) is skipped."""
    if isinstance(value, list):
        yield from (item for item in value if isinstance(item, dict))


def _timestamp(value: object) -> float | None:
    return float(value) if isinstance(value, str) and _TIMESTAMP.fullmatch(value) else None


def _received(entries: object, phone_number_id: str) -> Iterator[Received]:
    for entry in _dicts(entries):
        for change in _dicts(entry.get("changes")):
            if change.get("field") == "messages" and isinstance(change.get("value"), dict):
                yield from _from_value(change["value"], phone_number_id)


def _from_value(value: Mapping[str, Any], phone_number_id: str) -> Iterator[Received]:
    metadata = value.get("metadata")
    business = _str(metadata.get("phone_number_id")) if isinstance(metadata, dict) else None
    if business != phone_number_id:
        # One app may serve several numbers: another number's messages are not ours to
        # answer (from this one). Acknowledged all the same, so Meta does not redeliver them.
        log.info("WhatsApp webhook: skipped the messages and statuses for phone_number_id %r (ours is %r)",
                 business, phone_number_id)
        return
    names: dict[str, str] = {}
    for contact in _dicts(value.get("contacts")):
        profile = contact.get("profile")
        name = _str(profile.get("name")) if isinstance(profile, dict) else None
        if (wa_id := _str(contact.get("wa_id"))) and name:
            names[wa_id] = name
    for message in _dicts(value.get("messages")):
        if inbound := _inbound(message, names, business):
            yield inbound
    for status in _dicts(value.get("statuses")):
        if delivery := _delivery(status):
            yield delivery


def _inbound(message: Mapping[str, Any], names: Mapping[str, str], business: str | None) -> Inbound | None:
    provider_id, sender = _str(message.get("id")), _str(message.get("from"))
    at = _timestamp(message.get("timestamp"))
    if not provider_id or not sender or not _WA_ID.fullmatch(sender) or at is None:
        return None
    if (content := _content(message)) is None:
        return None
    text, reply_title, media = content
    return Inbound(
        channel=Channel.WHATSAPP, provider_id=provider_id, address=f"+{sender}", text=text, received_at=at,
        reply_title=reply_title, media=media, profile_name=names.get(sender), business_address=business,
    )


def _content(message: Mapping[str, Any]) -> _Content | None:
    """What the shopper sent, or None for what storechat does not answer (reactions,
    system notices, unsupported or unknown types)."""
    kind = _str(message.get("type")) or ""
    body = message.get(kind)
    if not isinstance(body, dict):
        return None
    if kind == "text":
        return (text, None, ()) if (text := _str(body.get("body"))) else None
    if kind == "interactive":
        reply = body.get(body.get("type")) if body.get("type") in ("button_reply", "list_reply") else None
        if not isinstance(reply, dict) or not (chosen := _str(reply.get("id"))):
            return None  # nfm_reply (Flows) and the like: not a choice the bot offered
        return chosen, _str(reply.get("title")), ()
    if kind == "button":  # a template's quick-reply button
        return (payload, _str(body.get("text")), ()) if (payload := _str(body.get("payload"))) else None
    if kind in _MEDIA_KINDS:
        caption = _str(body.get("caption"))
        media = Media(kind=_MEDIA_KINDS[kind], media_id=_str(body.get("id")),
                      content_type=_str(body.get("mime_type")), caption=caption)
        return caption or "", None, (media,)
    if kind == "location":
        latitude, longitude = body.get("latitude"), body.get("longitude")
        if not all(isinstance(c, int | float) and not isinstance(c, bool) for c in (latitude, longitude)):
            return None
        label = ", ".join(part for part in (_str(body.get("name")), _str(body.get("address"))) if part)
        return label, None, (Media(kind="location", url=f"https://maps.google.com/?q={latitude},{longitude}"),)
    return None


def _delivery(status: Mapping[str, Any]) -> DeliveryStatus | None:
    provider_id, recipient = _str(status.get("id")), _str(status.get("recipient_id"))
    at = _timestamp(status.get("timestamp"))
    if not provider_id or not recipient or not _WA_ID.fullmatch(recipient) or at is None:
        return None
    try:
        state = DeliveryState(str(status.get("status")))
    except ValueError:
        return None  # e.g. "deleted", "warning": nothing the gateway tracks
    error = _error(status.get("errors")) if state is DeliveryState.FAILED else None
    return DeliveryStatus(Channel.WHATSAPP, provider_id, f"+{recipient}", state, at, error)


def _error(errors: object) -> str | None:
    """`<code> <title>: <details>`, what an agent reads to see why a message did not arrive."""
    first = next(_dicts(errors), None)
    if first is None:
        return None
    data = first.get("error_data")
    details = (_str(data.get("details")) if isinstance(data, dict) else None) or _str(first.get("message"))
    head = " ".join(str(part) for part in (first.get("code"), _str(first.get("title"))) if part is not None)
    return f"{head}: {details}" if head and details else head or details


def _template_text(value: str) -> str:
    """A template parameter as Meta takes it: no newlines or tabs, no runs of spaces, not
    empty (each is refused with error 132018 or 131008)."""
    return " ".join(value.split()) or "-"


def _text(body: str) -> dict[str, Any]:
    return {"type": "text", "text": {"preview_url": bool(_LINK.search(body)), "body": body}}


def _text_and_options(text: str, replies: Sequence[QuickReply]) -> list[dict[str, Any]]:
    as_buttons = 0 < len(replies) <= MAX_BUTTONS
    id_limit = BUTTON_ID_LIMIT if as_buttons else ROW_ID_LIMIT
    if not replies or len(replies) > MAX_ROWS or not text.strip() or not _usable_ids(replies, id_limit):
        return [_text(part) for part in rich.split_text(rich.numbered_options(text, replies), TEXT_LIMIT)]
    *parts, last = rich.split_text(text, TEXT_LIMIT)
    if len(last) > INTERACTIVE_BODY_LIMIT:
        *more, last = rich.split_text(last, INTERACTIVE_BODY_LIMIT)
        parts.extend(more)
    leading = [_text(part) for part in parts]
    if as_buttons:
        titles = _unique_titles(replies, BUTTON_TITLE_LIMIT)
        buttons = [{"type": "reply", "reply": {"id": r.payload, "title": t}} for r, t in zip(replies, titles)]
        return [*leading, _interactive("button", last, {"buttons": buttons})]
    titles = _unique_titles(replies, ROW_TITLE_LIMIT)
    rows = [{"id": r.payload, "title": t} for r, t in zip(replies, titles)]
    return [*leading, _interactive("list", last, {"button": LIST_LABEL, "sections": [{"rows": rows}]})]


def _interactive(kind: str, body: str, action: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "interactive", "interactive": {"type": kind, "body": {"text": body}, "action": action}}


def _usable_ids(replies: Sequence[QuickReply], limit: int) -> bool:
    """Payloads become ids, which WhatsApp wants non-empty, unique and short; a payload
    is never cut, since a cut one would not mean anything to the bot."""
    payloads = [reply.payload for reply in replies]
    return len(set(payloads)) == len(payloads) and all(0 < len(payload) <= limit for payload in payloads)


def _unique_titles(replies: Sequence[QuickReply], limit: int) -> list[str]:
    """Clipped titles, a number added where two would read the same: WhatsApp rejects
    a message whose buttons share a title (and clipping makes that likelier)."""
    titles: list[str] = []
    taken: set[str] = set()
    for reply in replies:
        title, number = rich.clip(reply.title, limit), 2
        while title.casefold() in taken:
            suffix = f" {number}"
            title, number = rich.clip(reply.title, limit - len(suffix)) + suffix, number + 1
        titles.append(title)
        taken.add(title.casefold())
    return titles
