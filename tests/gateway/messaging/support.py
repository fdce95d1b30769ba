"""What the messaging tests share: the provider-facing URL, the channel drivers, and waiting
for what the gateway does in the background (provider calls, events on the case)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from core.types import Channel, EventKind
from gateway.conversations.store import ConversationStore
from tests.channels.drivers import DRIVERS, META_SECRET, Webhook
from tests.channels.provider_standin import ProviderStandIn

# The URL providers call: a proxy sits in front, so it is not the test server's own.
PUBLIC_URL = "http://chat.nordlicht-home.example:8443"
SMS, MESSENGER, WHATSAPP = DRIVERS["sms"], DRIVERS["messenger"], DRIVERS["whatsapp"]
SHOPPER_PHONE = "+4917099887766"


def scripted_reply(text: str, buttons: list[tuple[str, str]] = (),  # type: ignore[assignment]
                   handoff: dict[str, str] | None = None) -> dict[str, Any]:
    return {"messages": [{"text": text, "buttons": [{"title": t, "payload": p} for t, p in buttons]}],
            "intent": {"name": "faq", "confidence": 0.9}, "retrieval": None, "handoff": handoff}


async def post(gateway: TestClient, channel: str, webhook: Webhook) -> int:  # type: ignore[type-arg]
    response = await gateway.post(f"/webhooks/{channel}", data=webhook.body, headers=webhook.headers)
    await response.read()
    return response.status


async def next_request(standin: ProviderStandIn, timeout: float = 10) -> Any:
    return await asyncio.to_thread(standin.next, timeout)


async def nothing_sent(standin: ProviderStandIn, within: float = 1.0) -> None:
    await asyncio.to_thread(standin.none_within, within)


async def eventually(check: Callable[[], Awaitable[object]], timeout: float = 5) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.05)


async def events_of(redis: Redis, channel: Channel, address: str, kind: EventKind) -> list[Any]:  # type: ignore[type-arg]
    store = ConversationStore(redis)
    conversation = await store.find_latest(channel, address)
    assert conversation is not None
    return [event for event in await store.history(conversation.id) if event.kind is kind]


async def states_are(redis: Redis, channel: Channel, address: str, expected: list[str]) -> bool:  # type: ignore[type-arg]
    """Whether the conversation's delivery states are `expected`, in order."""
    return [e.data["status"] for e in await events_of(redis, channel, address, EventKind.DELIVERY)] == expected


def meta_sign(body: bytes) -> str:
    """X-Hub-Signature-256's hex digest, as Meta signs a webhook."""
    return hmac.new(META_SECRET.encode(), body, hashlib.sha256).hexdigest()
