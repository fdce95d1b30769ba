"""The one webhook route of every messaging channel: /webhooks/{sms,messenger,whatsapp}.

Routing, error handling and the 403 live here once; the adapters (channels/) only
check and read bytes. A POST is acknowledged as soon as its messages are stored
(gateway.messaging.inbox): a forged one gets 403, a malformed one 400, a redelivery the same
acknowledgement as the first delivery, and nothing is processed before the answer.

Rate limits never drop a delivery silently: a client address over `webhook_per_address`
and a shopper over `webhook_message_per_sender` get 429 with Retry-After, which the
provider answers by delivering again later. The messages of a batch within their limits
are stored all the same; the redelivery finds them stored and brings only the rest.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aiohttp import web
from redis.asyncio import Redis

from channels.base import (
    ChannelAdapter, Inbound, InvalidSignature, MalformedPayload, Received, SubscriptionHandshake, WebhookRequest,
)
from core.types import Channel
from gateway.limits.clients import Network, rate_client, request_address
from gateway.limits.limiter import Limiter
from gateway.messaging import inbox
from gateway.web.body import read_bounded

log = logging.getLogger(__name__)

# Meta batches up to 1,000 events in one POST; Twilio's bodies are a few KiB.
MAX_WEBHOOK_BYTES = 1024 * 1024
# What ends a message cut at STORECHAT_MAX_MESSAGE_CHARS: the editor's mark of an omission.
CUT_MARK = " […]"


@dataclass(frozen=True, slots=True)
class Webhooks:
    redis: Redis
    adapters: Mapping[Channel, ChannelAdapter]
    # Where providers reach the gateway (behind a proxy the request's own URL differs).
    public_url: str
    limiter: Limiter | None = None
    proxies: Sequence[Network] = ()
    # STORECHAT_MAX_MESSAGE_CHARS: a longer message is cut (CUT_MARK), as web chat refuses one.
    max_message_chars: int = 2000


WEBHOOKS = web.AppKey("webhooks", Webhooks)


def _adapter(request: web.Request) -> ChannelAdapter:
    try:
        channel = Channel(request.match_info["channel"])
        return request.app[WEBHOOKS].adapters[channel]
    except (ValueError, KeyError):
        raise web.HTTPNotFound(text="no such channel, or it is not configured") from None


def _webhook_request(request: web.Request, body: bytes) -> WebhookRequest:
    public = request.app[WEBHOOKS].public_url.rstrip("/")
    return WebhookRequest(
        method=request.method,
        url=f"{public}{request.rel_url}",
        headers={name.lower(): value for name, value in request.headers.items()},
        query={name: value for name, value in request.query.items()},
        body=body,
    )


def _too_many(retry_after: float) -> web.Response:
    """Refused for now (webhook_per_address, before the signature: a forged flood)."""
    seconds = max(1, math.ceil(retry_after))
    return web.Response(status=429, text=f"too many requests: retry in {seconds} s",
                        headers={"Retry-After": str(seconds)})


async def _address_refusal(request: web.Request, channel: str) -> web.Response | None:
    """429 when the caller's address is over webhook_per_address (counted before any HMAC)."""
    webhooks = request.app[WEBHOOKS]
    if webhooks.limiter is None:
        return None
    address = request_address(request, webhooks.proxies)
    decision = await webhooks.limiter.hit("webhook_per_address", rate_client(address))
    if decision.allowed:
        return None
    log.warning("%s webhook refused (429) from %s: webhook_per_address", channel, address)
    return _too_many(decision.retry_after)


async def _marked_throttled(webhooks: Webhooks, items: list[Received]) -> tuple[list[Received], int]:
    """The items, the new messages of shoppers over webhook_message_per_sender marked
    `throttled` (kept on the case, no bot turn: a 429 would lose them, as Twilio does not
    redeliver and Meta's batch is all-or-nothing); and how many. Redeliveries are not counted."""
    if webhooks.limiter is None:
        return items, 0
    over: set[int] = set()
    for item in await inbox.unseen(webhooks.redis, items):
        if isinstance(item, Inbound):
            decision = await webhooks.limiter.hit("webhook_message_per_sender", f"{item.channel.value}:{item.address}")
            if not decision.allowed:
                over.add(id(item))
    marked = [dataclasses.replace(item, throttled=True) if id(item) in over and isinstance(item, Inbound) else item
              for item in items]
    return marked, len(over)


def _capped(item: Received, max_chars: int) -> Received:
    if not isinstance(item, Inbound) or len(item.text) <= max_chars:
        return item
    log.info("%s message %s: %d characters cut to %d", item.channel.value, item.provider_id, len(item.text),
             max_chars)
    return dataclasses.replace(item, text=item.text[: max(0, max_chars - len(CUT_MARK))].rstrip() + CUT_MARK)


async def receive(request: web.Request) -> web.Response:
    adapter = _adapter(request)
    channel = adapter.channel.value
    if (refusal := await _address_refusal(request, channel)) is not None:
        return refusal
    webhook = _webhook_request(request, await read_bounded(request, MAX_WEBHOOK_BYTES))
    try:
        adapter.verify(webhook)
    except InvalidSignature as exc:
        log.warning("%s webhook refused (403) from %s: %s", channel, request.remote, exc)
        return web.Response(status=403, text="invalid signature")
    try:
        items = adapter.parse(webhook)
    except MalformedPayload as exc:
        log.warning("%s webhook refused (400): %s", channel, exc)
        return web.Response(status=400, text=f"malformed payload: {exc}")
    webhooks = request.app[WEBHOOKS]
    items = [_capped(item, webhooks.max_message_chars) for item in items]
    items, throttled = await _marked_throttled(webhooks, items)
    accepted, duplicates = await inbox.accept(webhooks.redis, items)
    if duplicates:
        log.info("%s webhook: %d redelivered item(s) acknowledged and skipped", channel, duplicates)
    if throttled:
        log.warning("%s webhook: %d message(s) over webhook_message_per_sender stored without a bot turn",
                    channel, throttled)
    ack = adapter.acknowledgement
    return web.Response(body=ack.body, content_type=ack.content_type)


async def subscribe(request: web.Request) -> web.Response:
    """Meta's GET handshake: echo hub.challenge when the verify token is ours."""
    adapter = _adapter(request)
    if (refusal := await _address_refusal(request, adapter.channel.value)) is not None:
        return refusal
    if not isinstance(adapter, SubscriptionHandshake):
        raise web.HTTPMethodNotAllowed("GET", ["POST"])
    challenge = adapter.handshake({name: value for name, value in request.query.items()})
    if challenge is None:
        log.warning("%s subscription handshake refused (403)", adapter.channel.value)
        return web.Response(status=403, text="verification failed")
    return web.Response(text=challenge)


def add_webhook_routes(app: web.Application) -> None:
    app.router.add_post("/webhooks/{channel}", receive)
    app.router.add_get("/webhooks/{channel}", subscribe)
