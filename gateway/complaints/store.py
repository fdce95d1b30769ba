"""The complaint documents and counts in Redis: written on the follower's transaction, read by the report.

Everything is bounded. Documents: the newest DOCUMENTS_MAX overall and PRODUCT_DOCUMENTS_MAX
per product (a flood about one product cannot push every other product's complaints out).
Per product, one entry per shopper, conversation and day (`keys.complaint_product_shoppers`),
RETENTION_DAYS long: what the alerts count distinct shoppers from, without reading documents.
Feedback entries (`class|channel|team|id`) are counted per range from one sorted set.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from gateway import keys
from gateway.complaints.documents import ComplaintDocument
from gateway.complaints.feedback import FeedbackClass

DOCUMENTS_MAX = 20_000
PRODUCT_DOCUMENTS_MAX = 2_000
FEEDBACK_MAX = 100_000
# The alert window and its baseline (8 weeks before it) fit in this, for windows up to 28 days.
RETENTION_DAYS = 120
PRODUCT_SHOPPERS_MAX = 10_000
# Names read for matching (one per SKU and language the shop sells in).
CATALOGUE_MAX = 50_000
DAY = 86_400

# Stores a document (or its new version) and trims: the product's oldest beyond its cap, then
# the oldest overall. A document trimmed overall may stay listed under its product until the
# product's own cap trims it (bounded; reading skips it).
# KEYS: documents, timeline[, product's documents]; ARGV: id, json, at, cap[, product cap]
_STORE = """
local function drop(ids)
  for _, id in ipairs(ids) do
    redis.call('HDEL', KEYS[1], id)
    redis.call('ZREM', KEYS[2], id)
    if KEYS[3] then redis.call('ZREM', KEYS[3], id) end
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
if KEYS[3] then
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
  drop(redis.call('ZRANGE', KEYS[3], 0, -(tonumber(ARGV[5]) + 1)))
end
drop(redis.call('ZRANGE', KEYS[2], 0, -(tonumber(ARGV[4]) + 1)))
return 1
"""


def store_document(pipe: Pipeline, document: ComplaintDocument) -> None:
    """Queue the document (a new one, or a new version of one: the same id)."""
    if document.product is None:
        pipe.eval(_STORE, 2, keys.COMPLAINT_DOCUMENTS, keys.COMPLAINT_TIMELINE,
                  document.id, document.to_json(), repr(document.at), DOCUMENTS_MAX)
        return
    pipe.eval(_STORE, 3, keys.COMPLAINT_DOCUMENTS, keys.COMPLAINT_TIMELINE,
              keys.complaint_product_documents(document.product),
              document.id, document.to_json(), repr(document.at), DOCUMENTS_MAX, PRODUCT_DOCUMENTS_MAX)


def count_shopper(pipe: Pipeline, document: ComplaintDocument) -> None:
    """Queue the document's shopper on its product's day (once per day and conversation)."""
    if document.product is None:
        return
    key = keys.complaint_product_shoppers(document.product)
    day = int(document.at // DAY)
    pipe.zadd(key, {f"{day}:{document.contact_id}:{document.conversation_id}": document.at}, nx=True)
    pipe.zremrangebyscore(key, "-inf", f"({document.at - RETENTION_DAYS * DAY}")
    pipe.zremrangebyrank(key, 0, -(PRODUCT_SHOPPERS_MAX + 1))
    pipe.zadd(keys.COMPLAINT_PRODUCTS, {document.product: document.at}, gt=True)


def count_feedback(pipe: Pipeline, document: ComplaintDocument) -> None:
    member = "|".join((document.feedback.value, document.channel, document.team or "", document.id))
    pipe.zadd(keys.COMPLAINT_FEEDBACK, {member: document.at})
    pipe.zremrangebyrank(keys.COMPLAINT_FEEDBACK, 0, -(FEEDBACK_MAX + 1))


def remember_names(pipe: Pipeline, items: Sequence[tuple[str, str]]) -> None:
    """Queue (sku, name) pairs into the catalogue of names."""
    if items:
        pipe.hset(keys.PRODUCT_NAMES, mapping={f"{sku}|{name}": name for sku, name in items})


async def catalogue_names(redis: Redis) -> dict[str, list[str]]:
    """SKU → the names it was sold under."""
    names: dict[str, list[str]] = defaultdict(list)
    read = 0
    async for field, name in redis.hscan_iter(keys.PRODUCT_NAMES, count=1000):
        sku = str(field).rsplit("|", 1)[0]
        names[sku].append(str(name))
        read += 1
        if read >= CATALOGUE_MAX:
            break
    return dict(names)


async def documents_between(redis: Redis, start: float, end: float, *, limit: int) -> list[ComplaintDocument]:
    """The newest `limit` documents said in [start, end), oldest first."""
    found: Any = await redis.zrevrangebyscore(keys.COMPLAINT_TIMELINE, f"({end}", start, start=0, num=limit)
    ids = [str(document_id) for document_id in found]
    if not ids:
        return []
    raws = await redis.hmget(keys.COMPLAINT_DOCUMENTS, ids)
    documents = [ComplaintDocument.from_json(str(raw)) for raw in raws if raw is not None]
    return sorted(documents, key=lambda document: (document.at, document.id))


@dataclass(frozen=True, slots=True)
class FeedbackEntry:
    feedback: FeedbackClass
    channel: str
    team: str | None


async def feedback_between(redis: Redis, start: float, end: float) -> list[FeedbackEntry]:
    members = await redis.zrangebyscore(keys.COMPLAINT_FEEDBACK, start, f"({end}")
    entries = []
    for member in members:
        feedback, channel, team, _ = str(member).split("|", 3)
        entries.append(FeedbackEntry(FeedbackClass(feedback), channel, team or None))
    return entries


@dataclass(frozen=True, slots=True)
class ShopperEntry:
    """One shopper complaining about a product in one conversation on one day."""

    at: float
    contact_id: str
    conversation_id: str


async def products_since(redis: Redis, since: float) -> list[str]:
    return [str(sku) for sku in await redis.zrangebyscore(keys.COMPLAINT_PRODUCTS, since, "+inf")]


async def product_shoppers(redis: Redis, sku: str, start: float, end: float) -> list[ShopperEntry]:
    """The product's entries in (start, end], oldest first."""
    found: Any = await redis.zrangebyscore(keys.complaint_product_shoppers(sku), f"({start}", end, withscores=True)
    entries = []
    for member, at in found:
        _, contact_id, conversation_id = str(member).split(":", 2)
        entries.append(ShopperEntry(float(at), contact_id, conversation_id))
    return entries


async def reset(redis: Redis) -> None:
    """Delete the documents and counts (not the catalogue of names: the orders wrote it too)."""
    await redis.delete(keys.COMPLAINT_DOCUMENTS, keys.COMPLAINT_TIMELINE, keys.COMPLAINT_FEEDBACK,
                       keys.COMPLAINT_PRODUCTS)
    for pattern in (keys.complaint_product_documents("*"), keys.complaint_product_shoppers("*")):
        async for key in redis.scan_iter(match=pattern, count=1000):
            await redis.delete(key)
