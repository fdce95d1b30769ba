"""The `complaints` report: product alerts, complaint clusters by product and theme, feedback counts.

Themes are found in the range's documents (the newest MAX_DOCUMENTS of them), off the event
loop, and kept (ThemeCache; the console's preset ranges ahead, `ComplaintReports.keep_warm`);
alerts come from the per-product counts as of the range's end (or now, if sooner); feedback
from the feedback entries. `channel` and `team` choose the complaints shown among the range's
themes, and the feedback; alerts are always the whole shop's, and nothing here has an
agent or opening hours — the report lists what a filter did not apply to in `unfiltered`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.types import Clock
from gateway.complaints import store
from gateway.complaints.alerts import Alert, product_alerts
from gateway.complaints.documents import ComplaintDocument
from gateway.complaints.feedback import FeedbackClass
from gateway.complaints.lexicon import Lexicon
from gateway.complaints.products import Catalogue
from gateway.complaints.themes import Themes, cluster, precision_recall
from gateway.reports.query import ReportQuery

log = logging.getLogger(__name__)

MAX_DOCUMENTS = 5_000
MAX_CLUSTERS = 50
# Complaints shown with a cluster (the newest); `cases` counts them all.
MAX_SHOWN = 20
# Clusterings a gateway process keeps (a console reloading one view asks for the same again).
CACHED_THEMES = 32
# The console's preset ranges (days up to today), clustered ahead every WARM_SECONDS.
WARM_RANGES = (7, 28, 90)
WARM_SECONDS = 60.0


class ThemeCache:
    """The themes of the same complaints, computed once: k-means over a range's complaints
    takes from a tenth of a second to a few seconds (benchmarks/reports.py), and the same
    texts with the same catalogue always give the same themes (fixed seed)."""

    def __init__(self, size: int = CACHED_THEMES) -> None:
        self.size = size
        self._themes: OrderedDict[str, Themes] = OrderedDict()

    def __len__(self) -> int:
        return len(self._themes)

    @staticmethod
    def key(texts: Sequence[str], catalogue: Catalogue) -> str:
        digest = hashlib.sha256()
        for sku, names in sorted(catalogue.names.items()):
            digest.update(f"{sku}\0{'|'.join(names)}\1".encode())
        for text in texts:
            digest.update(text.encode("utf-8", "surrogatepass") + b"\0")
        return digest.hexdigest()

    async def themes(self, texts: Sequence[str], lexicon: Lexicon, catalogue: Catalogue) -> Themes:
        key = self.key(texts, catalogue)
        if (found := self._themes.get(key)) is not None:
            self._themes.move_to_end(key)
            return found
        themes = await asyncio.to_thread(cluster, texts, lexicon, catalogue)
        self._themes[key] = themes
        while len(self._themes) > self.size:
            self._themes.popitem(last=False)
        return themes


@dataclass(frozen=True, slots=True)
class Clustered:
    """The range's complaints and their themes (the report's input; also what the demo history
    measures a known defect's precision and recall on)."""

    documents: tuple[ComplaintDocument, ...]
    themes: Themes
    catalogue: Catalogue

    def cases(self) -> dict[tuple[str | None, str], set[str]]:
        """(product, theme id) → the conversations of that cluster (every one, not only those shown)."""
        found: dict[tuple[str | None, str], set[str]] = {}
        for document, theme in zip(self.documents, self.themes.assignments, strict=True):
            found.setdefault((document.product, self.themes.themes[theme].id), set()).add(document.conversation_id)
        return found

    def best_match(self, expected: set[str]) -> tuple[tuple[str | None, str], float, float] | None:
        """The cluster holding most of a known defect's conversations, with its precision and recall."""
        clusters = self.cases()
        if not clusters:
            return None
        best = max(clusters, key=lambda key: (len(clusters[key] & expected), -len(clusters[key])))
        return (best, *precision_recall(clusters[best], expected))


def _bounds(query: ReportQuery) -> tuple[float, float]:
    start = datetime.combine(query.first, time(0), tzinfo=query.timezone)
    end = datetime.combine(query.last + timedelta(days=1), time(0), tzinfo=query.timezone)
    return start.timestamp(), end.timestamp()


def _wanted(query: ReportQuery, channel: str, team: str | None) -> bool:
    return ((query.channel is None or query.channel.value == channel)
            and (query.team is None or query.team.value == team))


async def complaint_themes(redis: Redis, query: ReportQuery, *, lexicon: Lexicon,
                           max_documents: int = MAX_DOCUMENTS, cache: ThemeCache | None = None) -> Clustered:
    start, end = _bounds(query)
    found = await store.documents_between(redis, start, end, limit=max_documents)
    catalogue = Catalogue(await store.catalogue_names(redis), lexicon)
    # The themes are the range's whatever the filter: a channel or a team shows its complaints
    # among them, so every filter of a range reads one clustering.
    texts = [document.text for document in found]
    themes = await (cache if cache is not None else ThemeCache(size=0)).themes(texts, lexicon, catalogue)
    kept = [index for index, document in enumerate(found) if _wanted(query, document.channel, document.team)]
    return Clustered(tuple(found[index] for index in kept),
                     Themes(tuple(themes.assignments[index] for index in kept), themes.themes), catalogue)


async def complaints_report(redis: Redis, query: ReportQuery, *, now: float, lexicon: Lexicon,
                            alert_shoppers: int, alert_days: int, max_documents: int = MAX_DOCUMENTS,
                            cache: ThemeCache | None = None) -> dict[str, Any]:
    clustered = await complaint_themes(redis, query, lexicon=lexicon, max_documents=max_documents, cache=cache)
    start, end = _bounds(query)
    alerts = await product_alerts(redis, as_of=min(now, end), shoppers=alert_shoppers, days=alert_days)
    feedback = Counter(entry.feedback for entry in await store.feedback_between(redis, start, end)
                       if _wanted(query, entry.channel, entry.team))
    return {
        "range": query.range_json(),
        "unfiltered": _unfiltered(query),
        "alerts": [_alert_json(alert, clustered) for alert in alerts],
        "clusters": _clusters_json(clustered, query),
        "feedback": {kind.value: feedback.get(kind, 0) for kind in FeedbackClass},
    }


@dataclass(frozen=True, slots=True)
class ComplaintReports:
    """The complaints report as the gateway answers it: the shop's lexicon and alert thresholds."""

    redis: Redis
    lexicon: Lexicon
    alert_shoppers: int
    alert_days: int
    clock: Clock
    cache: ThemeCache = field(default_factory=ThemeCache)

    async def report(self, query: ReportQuery) -> dict[str, Any]:
        return await complaints_report(self.redis, query, now=self.clock(), lexicon=self.lexicon,
                                       alert_shoppers=self.alert_shoppers, alert_days=self.alert_days,
                                       cache=self.cache)

    async def warm(self, timezone: ZoneInfo) -> None:
        """Cluster the console's preset ranges (the last 7, 28 and 90 days, no filter) ahead
        of the supervisor, once per change of their complaints: the report then only reads.
        Any other range or filter is clustered when first asked for, and kept."""
        today = datetime.fromtimestamp(self.clock(), timezone).date()
        for days in WARM_RANGES:
            query = ReportQuery(today - timedelta(days=days - 1), today, timezone)
            await complaint_themes(self.redis, query, lexicon=self.lexicon, cache=self.cache)

    async def keep_warm(self, timezone: ZoneInfo, interval: float = WARM_SECONDS) -> None:
        """`warm` every `interval` seconds for as long as the process runs (a background task)."""
        while True:
            try:
                await self.warm(timezone)
            except RedisError as exc:
                log.warning("complaint themes not warmed (%s); trying again in %.0f s", exc, interval)
            await asyncio.sleep(interval)


COMPLAINTS = web.AppKey("complaints", ComplaintReports)


def _unfiltered(query: ReportQuery) -> list[str]:
    figures = []
    if query.channel or query.team or query.agent or query.business_hours:
        figures.append("alerts")
    if query.agent or query.business_hours:
        figures += ["clusters", "feedback"]
    return figures


def _product_json(sku: str | None, catalogue: Catalogue) -> dict[str, str] | None:
    return None if sku is None else {"sku": sku, "name": catalogue.display_name(sku)}


def _alert_json(alert: Alert, clustered: Clustered) -> dict[str, Any]:
    cases = set(alert.cases)
    themes = Counter(clustered.themes.assignments[index] for index, document in enumerate(clustered.documents)
                     if document.product == alert.sku and document.conversation_id in cases)
    # The theme most of the alert's complaints in the range share (ties: the first theme).
    theme = min(themes.items(), key=lambda item: (-item[1], item[0]))[0] if themes else None
    return {
        "product": _product_json(alert.sku, clustered.catalogue), "shoppers": alert.shoppers,
        "window_days": alert.window_days, "baseline": alert.baseline, "since": round(alert.since * 1000),
        "cases": list(alert.cases),
        "theme": clustered.themes.themes[theme].to_json() if theme is not None else None,
    }


def _clusters_json(clustered: Clustered, query: ReportQuery) -> list[dict[str, Any]]:
    groups: dict[tuple[str | None, int], list[ComplaintDocument]] = {}
    for document, theme in zip(clustered.documents, clustered.themes.assignments, strict=True):
        groups.setdefault((document.product, theme), []).append(document)
    rows = [_cluster_json(product, clustered.themes.themes[theme].to_json(), documents, clustered.catalogue, query)
            for (product, theme), documents in groups.items()]
    rows.sort(key=lambda row: (-row["shoppers"], -row["cases"], row["product"] is None,
                               (row["product"] or {}).get("sku", ""), row["theme"]["id"]))
    return rows[:MAX_CLUSTERS]


def _cluster_json(product: str | None, theme: dict[str, Any], documents: Sequence[ComplaintDocument],
                  catalogue: Catalogue, query: ReportQuery) -> dict[str, Any]:
    per_day: dict[str, set[str]] = {}
    for document in documents:
        day = datetime.fromtimestamp(document.at, query.timezone).date().isoformat()
        per_day.setdefault(day, set()).add(document.conversation_id)
    newest = sorted(documents, key=lambda document: (-document.at, document.id))[:MAX_SHOWN]
    return {
        "product": _product_json(product, catalogue), "theme": theme,
        "cases": len({document.conversation_id for document in documents}),
        "shoppers": len({document.contact_id for document in documents}),
        "trend": [{"day": day.isoformat(), "count": len(per_day.get(day.isoformat(), ()))} for day in query.days()],
        "conversations": [{"conversation_id": document.conversation_id, "at": round(document.at * 1000),
                           "text": document.text, "source": document.source.value} for document in newest],
    }
