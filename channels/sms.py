"""SMS and MMS through Twilio Programmable Messaging.

Inbound: Twilio POSTs a form-encoded webhook (configure the number or Messaging
Service webhook as HTTP POST) signed with `X-Twilio-Signature`; status callbacks for
what storechat sent arrive the same way. Outbound: one POST to the Messages resource
per part; the webhook itself answers with empty TwiML.

SMS has no buttons, so quick replies become numbered options the shopper answers with
the number (`rich.chosen_option` reads the answer).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from channels.base import (
    Acknowledgement,
    DeliveryState,
    DeliveryStatus,
    Inbound,
    InvalidSignature,
    MalformedPayload,
    Media,
    ProviderRequest,
    Received,
    WebhookRequest,
)
from channels.rich import numbered_options, split_text
from core.types import Channel, OutgoingMessage

SIGNATURE_HEADER = "x-twilio-signature"
# Present when a Webhook Rule signs with a SharedKey instead of the Auth Token.
SHARED_KEY_HEADER = "x-twilio-webhooks-signature-settings"
DEFAULT_API_BASE = "https://api.twilio.com"
# Twilio refuses a Body over 1,600 characters.
BODY_LIMIT = 1600
# The reply goes out through the REST API once the bot has answered, not as TwiML.
_ACKNOWLEDGEMENT = Acknowledgement("text/xml", b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>')

_DEFAULT_PORTS = {"https": 443, "http": 80}
_FORM = "application/x-www-form-urlencoded"
# Twilio sends about 25 fields plus two per attachment (at most 10): more is not Twilio.
_MAX_FIELDS = 100
_STATES = {"sent": DeliveryState.SENT, "delivered": DeliveryState.DELIVERED, "read": DeliveryState.READ,
           "undelivered": DeliveryState.FAILED, "failed": DeliveryState.FAILED, "canceled": DeliveryState.FAILED}


class Keyword(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


# Twilio's standard keywords, plus the German ones shoppers here actually type.
_KEYWORDS: Mapping[str, Keyword] = {
    **dict.fromkeys(("stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout",
                     "stopp", "abmelden", "abbestellen", "beenden"), Keyword.OPT_OUT),
    **dict.fromkeys(("start", "yes", "unstop", "anmelden"), Keyword.OPT_IN),
    **dict.fromkeys(("help", "info", "hilfe"), Keyword.HELP),
}
# STOP, START and INFO are everyday words in German too: they say nothing about the language.
_GERMAN = frozenset({"stopp", "abmelden", "abbestellen", "beenden", "anmelden", "hilfe"})
_ENGLISH = frozenset(_KEYWORDS) - _GERMAN - {"stop", "start", "info"}
# Twilio's OptOutType values (Advanced Opt-Out), and the word parse() puts in their place.
_OPT_OUT_TYPES: Mapping[str, Keyword] = {"STOP": Keyword.OPT_OUT, "START": Keyword.OPT_IN, "HELP": Keyword.HELP}
_CANONICAL_WORD: Mapping[Keyword, str] = {kind: word for word, kind in _OPT_OUT_TYPES.items()}


def keyword(text: str, opt_out_type: str | None = None) -> Keyword | None:
    """The opt-out/opt-in/help keyword `text` is, if the whole message is one.

    Twilio's own classification (`OptOutType`) wins: it knows the keywords configured in
    the console. Otherwise only a message that is nothing but the keyword counts, so
    "stop sending me the wrong size" stays a complaint the bot must read.
    """
    if opt_out_type and (classified := _OPT_OUT_TYPES.get(opt_out_type.strip().upper())):
        return classified
    return _KEYWORDS.get(_word(text))


def keyword_language(text: str) -> str | None:
    """"de" or "en" when `text` is a keyword only that language uses, so the
    confirmation speaks the shopper's language; None for STOP, START, INFO and the rest."""
    word = _word(text)
    return "de" if word in _GERMAN else "en" if word in _ENGLISH else None


def _word(text: str) -> str:
    word = text.strip()
    while word and (unicodedata.category(word[-1]).startswith("P") or word[-1].isspace()):
        word = word[:-1]
    return word.casefold()


@dataclass(frozen=True, slots=True, kw_only=True)
class TwilioSettings:
    account_sid: str
    auth_token: str
    # The public URL Twilio calls, exactly as configured in the console: a proxy sits in
    # front of the gateway, so the URL the gateway sees is not the one Twilio signed.
    webhook_url: str
    from_number: str | None = None
    messaging_service_sid: str | None = None
    api_base: str = DEFAULT_API_BASE
    status_callback_url: str | None = None

    def __post_init__(self) -> None:
        if not self.account_sid or not self.auth_token:
            raise ValueError("Twilio needs account_sid and auth_token")
        if not (self.from_number or self.messaging_service_sid):
            raise ValueError("Twilio needs from_number or messaging_service_sid to send from")
        url = urlsplit(self.webhook_url)
        if url.scheme not in _DEFAULT_PORTS or not url.hostname:
            raise ValueError(f"webhook_url must be an absolute http(s) URL, not {self.webhook_url!r}")
        _ = url.port  # a malformed port raises ValueError here, at startup, not on every webhook


class TwilioSms:
    """The SMS channel as `channels.base.ChannelAdapter`."""

    def __init__(self, settings: TwilioSettings, *, clock: Callable[[], float] = time.time) -> None:
        self._settings = settings
        self._clock = clock
        credentials = f"{settings.account_sid}:{settings.auth_token}".encode()
        self._headers: Mapping[str, str] = {
            "Authorization": "Basic " + base64.b64encode(credentials).decode("ascii"),
            "Content-Type": f"{_FORM}; charset=utf-8",
        }
        self._messages_url = (f"{settings.api_base.rstrip('/')}/2010-04-01/Accounts/"
                              f"{settings.account_sid}/Messages.json")

    @property
    def channel(self) -> Channel:
        return Channel.SMS

    @property
    def acknowledgement(self) -> Acknowledgement:
        return _ACKNOWLEDGEMENT

    def verify(self, request: WebhookRequest) -> None:
        presented = request.headers.get(SIGNATURE_HEADER, "").strip()
        if not presented:
            raise InvalidSignature(f"missing {SIGNATURE_HEADER}")
        if request.headers.get(SHARED_KEY_HEADER):
            raise InvalidSignature("signed with a Twilio SharedKey; storechat verifies Auth Token signatures only")
        try:
            params = _form(request)
        except MalformedPayload as error:
            raise InvalidSignature(f"cannot verify a body that is not form-encoded UTF-8: {error}") from error
        # Header bytes that are not UTF-8 arrive as surrogate escapes: compared as the raw bytes.
        raw = presented.encode("utf-8", "surrogateescape")
        if not any(hmac.compare_digest(raw, self.signature(url, params).encode())
                   for url in _port_variants(self.signed_url(request))):
            raise InvalidSignature(f"{SIGNATURE_HEADER} does not match the URL and body")
        if params.get("AccountSid", [""])[0] != self._settings.account_sid:
            raise InvalidSignature("the webhook is for another Twilio account")

    def signed_url(self, request: WebhookRequest) -> str:
        """The configured public URL with the query string the request arrived with, if any."""
        query = urlsplit(request.url).query
        return f"{self._settings.webhook_url.split('?', 1)[0]}?{query}" if query else self._settings.webhook_url

    def signature(self, url: str, params: Mapping[str, list[str]]) -> str:
        """X-Twilio-Signature: base64 HMAC-SHA1 over the URL and, by sorted name, each
        name with each of its values in sorted order."""
        signed = url + "".join(name + value for name in sorted(params) for value in sorted(params[name]))
        digest = hmac.new(self._settings.auth_token.encode(), signed.encode(), hashlib.sha1).digest()
        return base64.b64encode(digest).decode("ascii")

    def parse(self, request: WebhookRequest) -> list[Received]:
        params = {name: values[0] for name, values in _form(request).items()}
        status = params.get("MessageStatus")
        if status is not None and "Body" not in params and params.get("SmsStatus") != "received":
            return self._status(params, status)
        return [self._inbound(params)]

    def _inbound(self, params: Mapping[str, str]) -> Inbound:
        sid = params.get("MessageSid") or params.get("SmsSid")
        sender = params.get("From")
        if not sid or not sender:
            raise MalformedPayload("an inbound Twilio message needs From and MessageSid")
        text = params.get("Body", "").strip()
        classified = _OPT_OUT_TYPES.get(params.get("OptOutType", "").strip().upper())
        if classified is not None and keyword(text) is not classified:
            # Inbound has no keyword field: the canonical word makes keyword(inbound.text)
            # agree with Twilio, which already acted on the opt-out. A keyword the shopper
            # typed ("Stopp") is kept, so the confirmation can answer in their language.
            text = _CANONICAL_WORD[classified]
        return Inbound(channel=Channel.SMS, provider_id=sid, address=sender, text=text,
                       received_at=self._clock(), media=_media(params), business_address=params.get("To") or None)

    def _status(self, params: Mapping[str, str], status: str) -> list[Received]:
        sid = params.get("MessageSid") or params.get("SmsSid")
        shopper = params.get("To")
        if not sid or not shopper:
            raise MalformedPayload("a Twilio status callback needs MessageSid and To")
        state = _STATES.get(status.strip().lower())
        if state is None:
            # queued, accepted, scheduled, sending: still inside Twilio; "sent" follows.
            return []
        error = None
        if state is DeliveryState.FAILED:
            code = params.get("ErrorCode")
            error = f"ErrorCode {code}" if code else status
        return [DeliveryStatus(channel=Channel.SMS, provider_id=sid, address=shopper, state=state,
                               at=self._clock(), error=error)]

    def outgoing(self, address: str, message: OutgoingMessage, *, window_open: bool = True) -> list[ProviderRequest]:
        # window_open is ignored: SMS has no customer-service window.
        parts = split_text(message.text, BODY_LIMIT)
        if message.quick_replies:
            options = numbered_options("", message.quick_replies)
            last = numbered_options(parts[-1], message.quick_replies) if parts else options
            if len(last) <= BODY_LIMIT:
                parts[-1:] = [last]
            else:
                parts.extend(split_text(options, BODY_LIMIT))
        if not parts and message.image_url:
            parts = [""]  # an image alone: Twilio accepts MediaUrl without a Body
        return [self._request(address, part, message.image_url if index == 0 else None)
                for index, part in enumerate(parts)]

    def _request(self, address: str, body: str, media_url: str | None) -> ProviderRequest:
        settings = self._settings
        # A Messaging Service picks the sender from its pool (sticky sender, geo match).
        sender = (("MessagingServiceSid", settings.messaging_service_sid) if settings.messaging_service_sid
                  else ("From", settings.from_number or ""))
        fields = [("To", address), sender]
        if body:
            fields.append(("Body", body))
        if media_url:
            fields.append(("MediaUrl", media_url))
        if settings.status_callback_url:
            fields.append(("StatusCallback", settings.status_callback_url))
        return ProviderRequest(method="POST", url=self._messages_url, headers=self._headers,
                               body=urlencode(fields).encode("ascii"))

    def sent_ids(self, body: bytes) -> list[str]:
        try:
            answer = json.loads(body)
        except (ValueError, RecursionError):
            return []
        sid = answer.get("sid") if isinstance(answer, dict) else None
        return [sid] if isinstance(sid, str) and sid else []


def _form(request: WebhookRequest) -> dict[str, list[str]]:
    """The webhook's parameters, blank values kept, each name with all its values."""
    media_type, *options = request.headers.get("content-type", _FORM).split(";")
    charsets = {value.strip().strip('"').lower() for name, _, value in (o.partition("=") for o in options)
                if name.strip().lower() == "charset"}
    if media_type.strip().lower() != _FORM or not charsets <= {"utf-8", "utf8"}:
        raise MalformedPayload(f"expected UTF-8 {_FORM}, got {request.headers.get('content-type')!r}")
    try:
        pairs = parse_qsl(request.body.decode("utf-8"), keep_blank_values=True, strict_parsing=True,
                          encoding="utf-8", errors="strict", max_num_fields=_MAX_FIELDS)
    except ValueError as error:  # UnicodeDecodeError included
        raise MalformedPayload(f"not a form-encoded UTF-8 body: {error}") from error
    params: dict[str, list[str]] = {}
    for name, value in pairs:
        params.setdefault(name, []).append(value)
    return params


def _media(params: Mapping[str, str]) -> tuple[Media, ...]:
    count = params.get("NumMedia", "0").strip() or "0"
    if not (count.isascii() and count.isdecimal()):
        raise MalformedPayload(f"NumMedia is not a number: {count!r}")
    media = []
    for index in range(int(count)):
        url = params.get(f"MediaUrl{index}")
        if not url:
            raise MalformedPayload(f"NumMedia is {count} but MediaUrl{index} is missing")
        content_type = params.get(f"MediaContentType{index}") or None
        major = (content_type or "").partition("/")[0].lower()
        kind = major if major in ("image", "audio", "video") else "file"
        media.append(Media(kind=kind, url=url, content_type=content_type))
    return tuple(media)


def _port_variants(url: str) -> tuple[str, ...]:
    """`url` as given and with its scheme's default port added or removed: Twilio signs
    either spelling, as its own validators allow. Other ports are never dropped."""
    parts = urlsplit(url)
    default = _DEFAULT_PORTS.get(parts.scheme)
    if parts.port is None and default is not None:
        return url, urlunsplit(parts._replace(netloc=f"{parts.netloc}:{default}"))
    if parts.port is not None and parts.port == default:
        return url, urlunsplit(parts._replace(netloc=parts.netloc.rpartition(":")[0]))
    return (url,)
