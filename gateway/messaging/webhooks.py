"""The one webhook route of every messaging channel: /webhooks/{sms,messenger,whatsapp}.

Routing, error handling and the 403 live here once; the adapters (channels/) only
check and read bytes. A POST is acknowledged as soon as its messages are stored
(gateway.messaging.inbox): a forged one gets 403, a malformed one 400, a redelivery the same
acknowledgement as the first delivery, and nothing is processed before the answer.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import web
from redis.asyncio import Redis

from channels.base import ChannelAdapter, InvalidSignature, MalformedPayload, SubscriptionHandshake, WebhookRequest
from core.types import Channel
from gateway.messaging import inbox

log = logging.getLogger(__name__)

# Meta batches up to 1,000 events in one POST; Twilio's bodies are a few KiB.
MAX_WEBHOOK_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Webhooks:
    redis: Redis
    adapters: Mapping[Channel, ChannelAdapter]
    # Where providers reach the gateway (behind a proxy the request's own URL differs).
    public_url: str


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


async def _read_body(request: web.Request) -> bytes:
    if request.content_length is not None and request.content_length > MAX_WEBHOOK_BYTES:
        raise web.HTTPRequestEntityTooLarge(MAX_WEBHOOK_BYTES, request.content_length)
    body = bytearray()
    async for chunk in request.content.iter_any():
        body += chunk
        if len(body) > MAX_WEBHOOK_BYTES:
            raise web.HTTPRequestEntityTooLarge(MAX_WEBHOOK_BYTES, len(body))
    return bytes(body)


async def receive(request: web.Request) -> web.Response:
    adapter = _adapter(request)
    channel = adapter.channel.value
    webhook = _webhook_request(request, await _read_body(request))
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
    accepted, duplicates = await inbox.accept(request.app[WEBHOOKS].redis, items)
    if duplicates:
        log.info("%s webhook: %d redelivered item(s) acknowledged and skipped", channel, duplicates)
    ack = adapter.acknowledgement
    return web.Response(body=ack.body, content_type=ack.content_type)


async def subscribe(request: web.Request) -> web.Response:
    """Meta's GET handshake: echo hub.challenge when the verify token is ours."""
    adapter = _adapter(request)
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
