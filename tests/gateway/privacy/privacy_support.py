"""A whole case of every kind of record storechat keeps, written through the real stores and
the shop API, with the projections folded: what export, erasure and retention are tested on."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from core.types import Author, Channel, EventKind
from gateway import keys
from gateway.app import STORE
from gateway.conversations.store import ConversationStore
from gateway.proactive.events import PageView
from gateway.proactive.service import PROACTIVE
from gateway.reports.service import REPORTS
from tests.gateway.shop_support import BOT, put_order, verify

# Now: the shop API's requests are stamped by the real clock, the conversations by the test's.
START = float(round(time.time()))
DAY = 86_400.0
# What the shopper wrote, each with their name in it (`who`): no trace of it may stay.
COMPLAINT = "Die Leinen-Kissenhülle ist an der Naht aufgegangen, grüße {who}"
NOT_UNDERSTOOD = "blubbo {who} flurbel"
COMMENT = "{who} fand das schlecht"
REASON = "Storniert bitte, {who} zieht nach Hamburg"


class Clock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclasses.dataclass(frozen=True)
class Case:
    conversation_id: str
    contact_id: str
    session_id: str
    request_id: str


async def write_case(api: TestClient, clock: Clock, session_id: str, *, order_id: str = "104233",
                     email: str = "anna@example.com", phone: str = "+4915112345678",
                     who: str = "Olga Ostrowski") -> Case:
    """A web case: a complaint the bot understood, a message it did not, an order proven by
    email, a cancellation with a reason, a resolve with a low score and a comment, a page trail."""
    app = api.app
    store: ConversationStore = app[STORE]
    await app[PROACTIVE].visitors.observe(session_id, PageView.model_validate(
        {"type": "page_view", "page_type": "product", "url": "https://shop.example/p/1", "title": "Kissen"}),
        clock(), 1800)
    conversation = await store.open(Channel.WEB, session_id, "de")
    await app[PROACTIVE].adopt(conversation)  # as the web chat does on a session's first message
    cid = conversation.id
    clock.now += 5
    await store.append_message(cid, Author.SHOPPER, COMPLAINT.format(who=who))
    await store.append_message(cid, Author.BOT, "Das tut mir leid.", {"intent": "complain", "confidence": 0.9})
    clock.now += 5
    await store.append_message(cid, Author.SHOPPER, NOT_UNDERSTOOD.format(who=who))
    await store.append_message(cid, Author.BOT, "Wie bitte?", {"intent": "nlu_fallback", "confidence": 0.2})
    await put_order(api, order_id=order_id, email=email, phone=phone, status="placed")
    status, body = await verify(api, order_id, "email", email, cid=cid)
    assert status == 200, body
    response = await api.post(f"/api/v1/conversations/{cid}/requests", headers=BOT,
                              json={"kind": "cancellation", "order_id": order_id, "reason": REASON.format(who=who)})
    assert response.status == 201, await response.text()
    request_id = (await response.json())["request"]["id"]
    clock.now += 60
    await store.append(cid, EventKind.STATE, data={"from": "bot", "to": "resolved", "reason": "resolved"})
    await store.redis.hset(keys.csat(cid), mapping={"state": "done", "score": "2", "comment": COMMENT.format(who=who)})
    await store.append(cid, EventKind.CSAT, author=Author.SHOPPER, data={"score": 2, "comment": None})
    await store.append(cid, EventKind.CSAT, author=Author.SHOPPER, data={"score": 2, "comment": COMMENT.format(who=who)})
    await app[REPORTS].drain()
    contact_id = await store.redis.hget(keys.conversation(cid), "contact_id")
    return Case(cid, str(contact_id), session_id, request_id)


async def keys_of(redis: Redis, conversation_id: str) -> list[str]:
    """Every key whose name holds the conversation id."""
    return sorted([str(key) async for key in redis.scan_iter(match=f"*{conversation_id}*", count=1000)])


async def values_holding(redis: Redis, text: str) -> list[str]:
    """Every key whose value (string, hash, list, set, sorted set or stream) holds `text`."""
    found = []
    async for key in redis.scan_iter(count=1000):
        kind = await redis.type(key)
        values: Any
        if kind == "string":
            values = [await redis.get(key)]
        elif kind == "hash":
            values = [*(await redis.hgetall(key)).items()]
        elif kind == "list":
            values = await redis.lrange(key, 0, -1)
        elif kind == "set":
            values = await redis.smembers(key)
        elif kind == "zset":
            values = await redis.zrange(key, 0, -1)
        else:
            values = await redis.xrange(key)
        if text in repr(values):
            found.append(str(key))
    return sorted(found)
