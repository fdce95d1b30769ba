"""The `complaints` projection: complaint documents, their products and feedback classes, kept
current from the feed (gateway/reports/feed.py) as the events happen.

Which product: a return names its items; otherwise the items of the orders the shopper
proved in the conversation (`keys.verified_orders`, and the orders of their requests) —
one item is the one, several the one the text mentions; otherwise a product the text
names among every product the shop has sold (`keys.PRODUCT_NAMES`, written with every
order the shop stores and with every order read here). A shopper often complains first
and proves the order after: a complaint with no product and no proven order waits in the
conversation's state (at most MAX_PENDING, for PENDING_SECONDS) and gets its product when
a later fold finds an order. `rebuild` cannot see proofs that have expired (a day), only
the requests and the names.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from core.types import Conversation, Event
from gateway import keys
from gateway.complaints import store
from gateway.complaints.documents import ComplaintDocument, Source
from gateway.complaints.feedback import FeedbackClass, FeedbackClassifier
from gateway.complaints.lexicon import Lexicon
from gateway.complaints.products import Catalogue
from gateway.complaints.sources import FoldState, Found, fold
from gateway.conversations.feed import Projected

MAX_PENDING = 4
PENDING_SECONDS = 7 * 86_400
# The catalogue of names is read again after this long, or when it has grown.
CATALOGUE_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class _Cached:
    size: int
    loaded: float
    catalogue: Catalogue


class ComplaintsProjection:
    name: str = "complaints"

    def __init__(self, feedback: FeedbackClassifier, lexicon: Lexicon) -> None:
        self.feedback = feedback
        self.lexicon = lexicon
        # A process's copy of Redis's catalogue of names (read again when it changes).
        self._catalogue: _Cached | None = None

    @classmethod
    def load(cls, faq_dir: Path) -> ComplaintsProjection:
        """Reads faq_data/feedback/ and trains the classifier (under a second)."""
        return cls(FeedbackClassifier.load(faq_dir), Lexicon.load(faq_dir))

    def substantive(self, text: str) -> bool:
        reading = self.lexicon.read(text)
        return bool(reading.concepts) or len(reading.rest) >= 2

    async def project(self, redis: Redis, conversation: Conversation, state: Mapping[str, str],
                      events: Sequence[Event]) -> Projected:
        before = FoldState.from_state(state)
        after, found = fold(before, conversation, events, self.substantive)
        if not found and not after.pending:
            return Projected(after.to_state())
        items, seen = await self._proven_items(redis, conversation.id, after.orders)
        complaints: list[ComplaintDocument] = []
        feedback_only: list[ComplaintDocument] = []
        waiting: list[ComplaintDocument] = []
        classes = self.feedback.classify_many(item.document.text for item in found)
        for item, feedback in zip(found, classes, strict=True):
            document = replace(item.document, feedback=feedback)
            # A message in a complaint handoff counts if it reads as one (not "thanks", not
            # "could you send a new one?"); the bot's understanding, a return or a low score say so themselves.
            if not item.complaint or (document.source is Source.HANDOFF and feedback is not FeedbackClass.COMPLAINT):
                feedback_only.append(document)
                continue
            document = document.with_product(await self._product(redis, document.text, item, items))
            complaints.append(document)
            if document.product is None and not items:
                waiting.append(document)
        named = {document.product for document in complaints if document.product is not None}
        attributed, still = await self._attribute_pending(redis, after.pending, items, named, events[-1].at)
        pending = [*still, *waiting][-MAX_PENDING:]
        state_after = replace(after, pending=tuple(document.to_json() for document in pending))

        def write(pipe: Pipeline) -> None:
            store.remember_names(pipe, seen)
            for document in complaints:
                store.store_document(pipe, document)
                store.count_shopper(pipe, document)
                store.count_feedback(pipe, document)
            for document in feedback_only:
                store.count_feedback(pipe, document)
            for document in attributed:
                store.store_document(pipe, document)
                store.count_shopper(pipe, document)

        return Projected(state_after.to_state(), write)

    async def reset(self, redis: Redis) -> None:
        await store.reset(redis)

    async def _product(self, redis: Redis, text: str, found: Found,
                       items: Mapping[str, Collection[str]]) -> str | None:
        named = tuple(dict.fromkeys(found.skus))
        if len(named) == 1:
            return named[0]
        if named:  # a return of several items: the one the reason mentions
            return Catalogue({sku: items.get(sku, ()) for sku in named}, self.lexicon).match(text, among=named)
        return await self._from_orders_or_names(redis, text, items)

    async def _from_orders_or_names(self, redis: Redis, text: str,
                                    items: Mapping[str, Collection[str]]) -> str | None:
        if len(items) == 1:
            return next(iter(items))
        if items:
            mentioned = Catalogue(items, self.lexicon).match(text, among=list(items))
            if mentioned is not None:
                return mentioned
        return (await self.catalogue(redis)).match(text)

    async def _attribute_pending(self, redis: Redis, pending: Sequence[str], items: Mapping[str, Collection[str]],
                                 named: set[str], now: float) -> tuple[list[ComplaintDocument], list[ComplaintDocument]]:
        """Waiting documents that now have a product, and those still waiting (too old ones dropped).

        A waiting complaint that names no item of the order takes the product the shopper's
        later complaints in the case name, if they name one ("it's the vase")."""
        attributed: list[ComplaintDocument] = []
        still: list[ComplaintDocument] = []
        for raw in pending:
            document = ComplaintDocument.from_json(raw)
            if now - document.at > PENDING_SECONDS:
                continue
            if not items:
                still.append(document)
                continue
            product = await self._from_orders_or_names(redis, document.text, items)
            if product is None and len(named) == 1:
                product = next(iter(named))
            if product is not None:
                attributed.append(document.with_product(product))
            # An order proven but naming none of its items: nothing later will tell more.
        return attributed, still

    async def _proven_items(self, redis: Redis, conversation_id: str,
                            requested: Sequence[str]) -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
        """SKU → names of the items of the orders proven in the conversation, and every (sku, name)."""
        proven = {str(order_id) for order_id in await redis.smembers(keys.verified_orders(conversation_id))}
        order_ids = sorted(proven | set(requested))
        if not order_ids:
            return {}, []
        raws = await redis.mget([keys.order(order_id) for order_id in order_ids])
        items: dict[str, list[str]] = {}
        seen: list[tuple[str, str]] = []
        for raw in raws:
            if raw is None:
                continue
            for item in json.loads(raw).get("items", []):
                sku, name = str(item["sku"]), str(item["name"])
                items.setdefault(sku, []).append(name)
                seen.append((sku, name))
        return items, seen

    async def catalogue(self, redis: Redis) -> Catalogue:
        """Every product the shop has sold, by every name (this process's copy, kept fresh)."""
        size = int(await redis.hlen(keys.PRODUCT_NAMES))
        cached = self._catalogue
        if cached is None or cached.size != size or time.monotonic() - cached.loaded > CATALOGUE_SECONDS:
            cached = _Cached(size, time.monotonic(), Catalogue(await store.catalogue_names(redis), self.lexicon))
            self._catalogue = cached
        return cached.catalogue
