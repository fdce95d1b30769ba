"""The contract between the gateway and a messaging channel (SMS, Messenger, WhatsApp).

An adapter turns the provider's webhook bytes into storechat's types and storechat's
messages into the provider's HTTP requests. It never sees an aiohttp request and never
opens a connection: the gateway's one webhook route hands it a `WebhookRequest`, and
the gateway's one retrying HTTP sender carries the `ProviderRequest`s it builds.

    verify(request)            raise InvalidSignature unless the provider signed it
    parse(request)             every inbound message and delivery status in the body
    outgoing(address, message, window_open)
                               the provider API calls that deliver one message
                               (window_open: the shopper wrote within the channel's
                               customer-service window, 24 h at Meta)
    sent_ids(response)         the provider's ids of what one call delivered

Meta's channels also answer the GET subscription handshake (`handshake`); WhatsApp
builds approved template messages (`template`), what may go outside its window.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable

from core.types import Channel, OutgoingMessage, Template


class InvalidSignature(Exception):
    """The webhook is not signed by the provider (answered with 403, never processed)."""


class MalformedPayload(ValueError):
    """Signed, but not in the provider's format (answered with 400, logged)."""


class OutsideWindow(Exception):
    """The channel allows no free-form message now (WhatsApp: more than 24 hours after
    the shopper's last message only approved templates may be sent)."""


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """A webhook as the provider sent it. `url` is the public URL the provider called
    (what Twilio signs), `headers` have lower-case names."""

    method: str
    url: str
    headers: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class Media:
    """An attachment: a URL the provider serves it at, or (WhatsApp) its media id."""

    kind: str  # image, audio, video, file, location, sticker, ...
    url: str | None = None
    media_id: str | None = None
    content_type: str | None = None
    caption: str | None = None


@dataclass(frozen=True, slots=True)
class Inbound:
    """One message from a shopper.

    `provider_id` (MessageSid, mid, wamid) is what redeliveries share, so the gateway
    processes each once. `text` is what the conversation loop reads: the typed text, or
    the payload of a tapped quick reply / button / postback, whose shown title is
    `reply_title`.
    """

    channel: Channel
    provider_id: str
    address: str  # the shopper on this channel: E.164 phone, PSID, WhatsApp id
    text: str
    received_at: float
    reply_title: str | None = None
    media: tuple[Media, ...] = ()
    profile_name: str | None = None
    # The business's own number or page id the shopper wrote to.
    business_address: str | None = None
    # Over the shopper's webhook_message_per_sender: kept on the case, no bot turn.
    throttled: bool = False


class DeliveryState(StrEnum):
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class DeliveryStatus:
    """The provider's news about a message storechat sent (WhatsApp `statuses`)."""

    channel: Channel
    provider_id: str  # the id the provider gave the outgoing message
    address: str
    state: DeliveryState
    at: float
    error: str | None = None


Received = Inbound | DeliveryStatus


@dataclass(frozen=True, slots=True)
class ProviderRequest:
    """One call to the provider's API, exactly as it goes on the wire."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """What the webhook answers once the deliveries are safely stored."""

    content_type: str = "text/plain"
    body: bytes = b""


class ChannelAdapter(Protocol):
    @property
    def channel(self) -> Channel: ...

    @property
    def acknowledgement(self) -> Acknowledgement: ...

    def verify(self, request: WebhookRequest) -> None: ...

    def parse(self, request: WebhookRequest) -> list[Received]: ...

    def outgoing(self, address: str, message: OutgoingMessage, *, window_open: bool = True) -> list[ProviderRequest]: ...

    def sent_ids(self, body: bytes) -> list[str]: ...


@runtime_checkable
class SubscriptionHandshake(Protocol):
    """Meta's GET verification: the challenge to echo, or None (answered 403)."""

    def handshake(self, query: Mapping[str, str]) -> str | None: ...


@runtime_checkable
class TypingIndicator(Protocol):
    """A channel that can show the shopper that someone is typing (Messenger)."""

    def typing(self, address: str, on: bool) -> ProviderRequest: ...


@runtime_checkable
class TemplateSender(Protocol):
    """A channel that sends approved templates outside its customer-service window (WhatsApp)."""

    def template(self, address: str, name: str, language: str, parameters: Sequence[str]) -> ProviderRequest: ...
