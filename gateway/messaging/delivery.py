"""Messages to shoppers on SMS, Messenger and WhatsApp: through the provider's API,
with retries, and with what went wrong recorded on the case for the agent.

The web chat delivers over Socket.IO (gateway/webchat/socket_server.py); every other channel
is delivered here, by one `ChannelDelivery` per configured channel. Nothing is sent
to a shopper who opted out; nothing free-form outside the channel's window (there a
message that comes with an approved template, an order-status notification, goes as that).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from enum import StrEnum

import aiohttp
from redis.asyncio import Redis

from channels.base import ChannelAdapter, OutsideWindow, ProviderRequest, TemplateSender, TypingIndicator
from core.types import Author, Conversation, EventKind, OutgoingMessage
from gateway import background, keys
from gateway.conversations.store import ConversationStore

log = logging.getLogger(__name__)

# Meta's customer-service window: free-form messages only this long after the shopper's last one.
WINDOW_SECONDS = 24 * 3600
SENT_IDS_SECONDS = 7 * 24 * 3600


class DeliveryFailed(Exception):
    """The provider refused the message, or stayed unreachable through every retry."""


class _Retryable(Exception):
    """A 429 or 5xx: the provider may take it a moment later."""


class NotSent(StrEnum):
    OPTED_OUT = "opted_out"
    OUTSIDE_WINDOW = "outside_window"


class MessageHeld(Exception):
    """An agent's message was kept on the case but not sent; `reason` says why."""

    def __init__(self, reason: NotSent, message: str) -> None:
        super().__init__(message)
        self.reason = reason


_HELD_TEXT = {
    NotSent.OPTED_OUT: "the shopper opted out of messages on this channel (STOP); they must send START first",
    NotSent.OUTSIDE_WINDOW: "the shopper's last message is more than 24 hours old: this channel allows only "
                            "approved templates now, so the reply is on the case but was not sent",
}


@dataclass(frozen=True, slots=True)
class ProviderClient:
    """The one HTTP sender to providers' APIs: a timeout on every call, capped backoff."""

    http: aiohttp.ClientSession
    timeout: float = 10.0
    attempts: int = 3
    backoff_base: float = 0.5

    async def send(self, request: ProviderRequest, *, attempts: int | None = None) -> bytes:
        attempts = attempts or self.attempts

        async def once() -> bytes:
            async with self.http.request(request.method, request.url, headers=dict(request.headers),
                                         data=request.body, timeout=aiohttp.ClientTimeout(total=self.timeout),
                                         allow_redirects=False) as response:
                body = await response.read()
                if response.status == 429 or response.status >= 500:
                    raise _Retryable(f"HTTP {response.status}: {body[:300]!r}")
                if response.status >= 400:
                    raise DeliveryFailed(f"HTTP {response.status}: {body[:300].decode(errors='replace')}")
                return body

        def retrying(attempt: int, exc: BaseException) -> None:
            log.warning("%s %s failed (attempt %d of %d): %r", request.method, _without_query(request.url),
                        attempt, attempts, exc)

        try:
            return await background.retry(once, retry_on=(_Retryable, aiohttp.ClientError, asyncio.TimeoutError),
                                          attempts=attempts, base=self.backoff_base, on_retry=retrying)
        except (_Retryable, aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise DeliveryFailed(f"gave up after {attempts} attempts: {exc!r}") from exc


def _without_query(url: str) -> str:
    return url.split("?", 1)[0]  # Messenger's access token travels in the query


class ChannelDelivery:
    def __init__(self, adapter: ChannelAdapter, client: ProviderClient, store: ConversationStore) -> None:
        self.adapter = adapter
        self.client = client
        self.store = store

    @property
    def redis(self) -> Redis:
        return self.store.redis

    async def window_open(self, address: str) -> bool:
        last = await self.redis.get(keys.channel_window(self.adapter.channel.value, address))
        return last is not None and self.store.clock() - float(last) < WINDOW_SECONDS

    async def __call__(self, conversation: Conversation, message: OutgoingMessage) -> None:
        """Send `message`; outside the channel's window its approved `template` instead, if
        it has one and the channel sends templates (else it is held, as without one)."""
        channel = self.adapter.channel.value
        if await self.redis.exists(keys.opt_out(channel, conversation.address)):
            await self._not_sent(conversation, message, NotSent.OPTED_OUT)
            return
        try:
            requests = self.adapter.outgoing(conversation.address, message,
                                             window_open=await self.window_open(conversation.address))
        except OutsideWindow:
            template = message.template
            if template is None or not isinstance(self.adapter, TemplateSender):
                await self._not_sent(conversation, message, NotSent.OUTSIDE_WINDOW)
                return
            requests = [self.adapter.template(conversation.address, template.name, template.language,
                                              template.parameters)]
        for request in requests:
            try:
                body = await self.client.send(request)
            except DeliveryFailed as exc:
                log.error("%s message to conversation %s not delivered: %s", channel, conversation.id, exc)
                await self.store.append(conversation.id, EventKind.DELIVERY, author=Author.SYSTEM,
                                        text=str(exc)[:500], data={"status": "failed", "channel": channel})
                return  # the rest of the message would read oddly without this part
            ids = self.adapter.sent_ids(body)
            if ids:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for provider_id in ids:
                        pipe.set(keys.sent_message(channel, provider_id), conversation.id, ex=SENT_IDS_SECONDS)
                    await pipe.execute()

    async def typing(self, conversation: Conversation, on: bool) -> None:
        """Show the shopper that the agent types, where the channel can and may (inside its window)."""
        if not isinstance(self.adapter, TypingIndicator):
            return
        address = conversation.address
        if await self.redis.exists(keys.opt_out(self.adapter.channel.value, address)):
            return
        if not await self.window_open(address):
            return
        try:
            await self.client.send(self.adapter.typing(address, on), attempts=1)  # stale a second later anyway
        except DeliveryFailed as exc:
            log.info("typing indicator for conversation %s not shown: %s", conversation.id, exc)

    async def _not_sent(self, conversation: Conversation, message: OutgoingMessage, reason: NotSent) -> None:
        log.info("%s message to conversation %s not sent: %s", self.adapter.channel.value, conversation.id, reason)
        await self.store.append(conversation.id, EventKind.DELIVERY, author=Author.SYSTEM, text=_HELD_TEXT[reason],
                                data={"status": "not_sent", "reason": reason.value,
                                      "channel": self.adapter.channel.value})
        if message.author is Author.AGENT:
            raise MessageHeld(reason, _HELD_TEXT[reason])
