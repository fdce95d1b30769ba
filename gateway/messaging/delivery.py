"""Messages to shoppers on SMS, Messenger and WhatsApp: the channel's rules, checked when a
message is queued, and one provider call at a time, its answer classified so that a retry
can never send a message twice.

The web chat delivers over Socket.IO (gateway/webchat/socket_server.py); every other channel
goes through the durable outbound queue (gateway/messaging/outbound.py), whose workers call
`ChannelDelivery.requests` and `ProviderClient.call`. Nothing is sent to a shopper who opted
out; nothing free-form outside the channel's window (there a message that comes with an
approved template, an order-status notification, goes as that). Those checks run when the
message is queued, in the agent's request, so the Agent API can answer `422 not_sent` at once.

What may be retried (`ProviderClient.call`): only what cannot have reached the provider
(connection refused, connect timeout) and what the provider asked to get again later (429 and
503, after their `Retry-After`). Neither Twilio's Messages API nor Meta's Send and Cloud APIs
take an idempotency key, so another 5xx is `failed` with the provider's reason, and a read
timeout after the request went out is `unknown`: the provider may or may not have sent it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Protocol

import aiohttp
from redis.asyncio import Redis

from channels.base import ChannelAdapter, OutsideWindow, ProviderRequest, TemplateSender, TypingIndicator
from core.types import Clock, Conversation, OutgoingMessage
from gateway import keys
from gateway.conversations.store import ConversationStore

log = logging.getLogger(__name__)

# Meta's customer-service window: free-form messages only this long after the shopper's last one.
WINDOW_SECONDS = 24 * 3600
SENT_IDS_SECONDS = 7 * 24 * 3600
# A provider's Retry-After is honoured up to this long (a longer one is tried again then).
RETRY_AFTER_CAP_SECONDS = 300.0
_REASON_CHARS = 300


class NotSent(StrEnum):
    OPTED_OUT = "opted_out"
    OUTSIDE_WINDOW = "outside_window"


class MessageHeld(Exception):
    """An agent's message was kept on the case but not sent; `reason` says why."""

    def __init__(self, reason: NotSent, message: str) -> None:
        super().__init__(message)
        self.reason = reason


HELD_TEXT = {
    NotSent.OPTED_OUT: "the shopper opted out of messages on this channel (STOP); they must send START first",
    NotSent.OUTSIDE_WINDOW: "the shopper's last message is more than 24 hours old: this channel allows only "
                            "approved templates now, so the reply is on the case but was not sent",
}


# --- what one provider call came to -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Accepted:
    body: bytes


@dataclass(frozen=True, slots=True)
class RetryLater:
    """Nothing reached the provider, or it asked to be called again: `after` seconds (its
    Retry-After), or None for the worker's own backoff."""

    reason: str
    after: float | None = None


@dataclass(frozen=True, slots=True)
class Refused:
    """The provider answered and did not take the message (4xx, or a 5xx without idempotency)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Uncertain:
    """The request went out and no answer came: the provider may or may not have sent it."""

    reason: str


Outcome = Accepted | RetryLater | Refused | Uncertain


def retry_after(value: str | None, now: float, cap: float = RETRY_AFTER_CAP_SECONDS) -> float | None:
    """Seconds to wait from a Retry-After header (seconds, or an HTTP date), at most `cap`."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - now
        except (TypeError, ValueError, IndexError):
            return None
    return min(max(seconds, 0.0), cap)


def _answer_text(status: int, body: bytes) -> str:
    return f"HTTP {status}: {body[:_REASON_CHARS].decode(errors='replace')}"


@dataclass(frozen=True, slots=True)
class ProviderClient:
    """The one HTTP sender to providers' APIs: one attempt per call, a timeout on each step,
    and the answer classified (`Outcome`); the outbound worker decides what happens next."""

    http: aiohttp.ClientSession
    connect_timeout: float = 5.0
    # How long an answer may take once the request is out (then the message is `unknown`).
    read_timeout: float = 10.0
    clock: Clock = time.time

    async def call(self, request: ProviderRequest, *, idempotent: bool = False) -> Outcome:
        """One try. `idempotent`: the provider recognises a repeated request (then another 5xx
        may be retried too)."""
        timeout = aiohttp.ClientTimeout(total=None, connect=self.connect_timeout,
                                        sock_connect=self.connect_timeout, sock_read=self.read_timeout)
        try:
            async with self.http.request(request.method, request.url, headers=dict(request.headers),
                                         data=request.body, timeout=timeout, allow_redirects=False) as response:
                body = await response.read()
                status, wait = response.status, response.headers.get("Retry-After")
        except aiohttp.ClientConnectorError as exc:  # refused, unreachable, no such host: nothing went out
            return RetryLater(f"could not connect: {exc}")
        except aiohttp.ConnectionTimeoutError:
            return RetryLater(f"no connection within {self.connect_timeout:g} s")
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            # Out on the wire, no (whole) answer: a second try could be a second SMS.
            what = f"no answer within {self.read_timeout:g} s" if isinstance(exc, asyncio.TimeoutError) \
                else f"the connection broke after the request was sent ({exc!r})"
            return Uncertain(f"{what}: the provider may or may not have sent it")
        if 200 <= status < 300:
            return Accepted(body)
        if status in (429, 503):
            return RetryLater(_answer_text(status, body), retry_after(wait, self.clock()))
        if status >= 500 and idempotent:
            return RetryLater(_answer_text(status, body))
        return Refused(_answer_text(status, body))

    async def send_once(self, request: ProviderRequest) -> bool:
        """For what is stale a moment later anyway (a typing indicator): sent or not, no retry."""
        outcome = await self.call(request)
        if not isinstance(outcome, Accepted):
            log.info("%s %s not sent: %s", request.method, _without_query(request.url), outcome)
        return isinstance(outcome, Accepted)


class Carrier(Protocol):
    """What carries a channel's requests: `ProviderClient` over HTTP, or the e-mail channel's
    SMTP relay client (gateway/email/delivery.py), its outcomes classified the same way."""

    async def call(self, request: ProviderRequest, *, idempotent: bool = False) -> Outcome: ...

    async def send_once(self, request: ProviderRequest) -> bool: ...


def _without_query(url: str) -> str:
    return url.split("?", 1)[0]  # Messenger's access token travels in the query


@dataclass(frozen=True, slots=True)
class Plan:
    """How a message will go out, decided when it is queued: held (`held` says why), or sent
    free-form (`window_open` as it was then) or as its approved template."""

    held: NotSent | None = None
    window_open: bool = True
    template: bool = False
    # What the channel fixed when it was queued, to send it the same on every try (e-mail:
    # its Message-ID and threading headers, channels/email.py `Thread`).
    headers: tuple[tuple[str, str], ...] = ()


class ChannelDelivery:
    def __init__(self, adapter: ChannelAdapter, client: Carrier, store: ConversationStore) -> None:
        self.adapter = adapter
        self.client = client
        self.store = store
        # Whether a repeated request is recognised by the provider (none of ours is, today).
        self.idempotent = bool(getattr(adapter, "idempotent_requests", False))

    @property
    def redis(self) -> Redis:
        return self.store.redis

    @property
    def channel(self) -> str:
        return self.adapter.channel.value

    async def window_open(self, address: str) -> bool:
        last = await self.redis.get(keys.channel_window(self.channel, address))
        return last is not None and self.store.clock() - float(last) < WINDOW_SECONDS

    async def plan(self, conversation: Conversation, message: OutgoingMessage) -> Plan:
        """The channel's rules for `message` now: opted out, outside the window (its template, if
        it has one and the channel sends templates, else held), or free to go."""
        if await self.redis.exists(keys.opt_out(self.channel, conversation.address)):
            return Plan(held=NotSent.OPTED_OUT)
        window_open = await self.window_open(conversation.address)
        try:
            self.adapter.outgoing(conversation.address, message, window_open=window_open)
        except OutsideWindow:
            if message.template is None or not isinstance(self.adapter, TemplateSender):
                return Plan(held=NotSent.OUTSIDE_WINDOW)
            return Plan(window_open=False, template=True)
        return Plan(window_open=window_open)

    def requests(self, address: str, message: OutgoingMessage, plan: Plan) -> list[ProviderRequest]:
        """The provider calls for `message` as planned (rendered when sent: no credential waits
        in Redis)."""
        template = message.template
        if plan.template and template is not None and isinstance(self.adapter, TemplateSender):
            return [self.adapter.template(address, template.name, template.language, template.parameters)]
        try:
            return self.adapter.outgoing(address, message, window_open=plan.window_open)
        except OutsideWindow:
            return []  # planned inside the window; cannot happen with the same flag

    async def typing(self, conversation: Conversation, on: bool) -> None:
        """Show the shopper that the agent types, where the channel can and may (inside its window)."""
        if not isinstance(self.adapter, TypingIndicator):
            return
        address = conversation.address
        if await self.redis.exists(keys.opt_out(self.channel, address)):
            return
        if not await self.window_open(address):
            return
        await self.client.send_once(self.adapter.typing(address, on))
