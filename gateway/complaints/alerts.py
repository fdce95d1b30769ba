"""A product defect in the making: many shoppers complaining about one product, more than usual.

A product alerts when, within the last `days` days, at least `shoppers` distinct shoppers
complained about it AND more than BASELINE_FACTOR times its own baseline: the mean number of
distinct complaining shoppers per `days`-day window over the BASELINE_DAYS before (windows
without complaints count as zero). A product that always gets three complaints a week is
not news; one that usually gets none and now gets three is. Computed from the per-product,
per-day entries (gateway/complaints/store.py), never by reading documents.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

from gateway.complaints import store
from gateway.complaints.store import DAY, ShopperEntry

BASELINE_DAYS = 56
BASELINE_FACTOR = 2.0
# Cases listed with an alert (the newest), each one click from the console.
MAX_CASES = 50


@dataclass(frozen=True, slots=True)
class Alert:
    sku: str
    shoppers: int
    window_days: int
    # Mean distinct shoppers per window before this one.
    baseline: float
    # The first complaint in the window.
    since: float
    # Conversation ids, newest first.
    cases: tuple[str, ...]


def baseline_windows(days: int) -> int:
    return max(1, BASELINE_DAYS // days)


def evaluate(sku: str, entries: Sequence[ShopperEntry], *, as_of: float, shoppers: int, days: int) -> Alert | None:
    """The product's alert as of `as_of`, from its entries (any order), or None."""
    window = days * DAY
    current = [entry for entry in entries if as_of - window < entry.at <= as_of]
    distinct = {entry.contact_id for entry in current}
    if len(distinct) < shoppers:
        return None
    windows = baseline_windows(days)
    before = []
    for n in range(1, windows + 1):
        end = as_of - n * window
        before.append(len({entry.contact_id for entry in entries if end - window < entry.at <= end}))
    baseline = sum(before) / windows
    if len(distinct) <= BASELINE_FACTOR * baseline:
        return None
    newest_first = sorted(current, key=lambda entry: -entry.at)
    cases = tuple(dict.fromkeys(entry.conversation_id for entry in newest_first))[:MAX_CASES]
    return Alert(sku=sku, shoppers=len(distinct), window_days=days, baseline=round(baseline, 2),
                 since=min(entry.at for entry in current), cases=cases)


async def product_alerts(redis: Redis, *, as_of: float, shoppers: int, days: int) -> list[Alert]:
    """Every product's alert as of `as_of`, most shoppers first."""
    window = days * DAY
    start = as_of - window * (baseline_windows(days) + 1)
    alerts = []
    for sku in await store.products_since(redis, as_of - window):
        entries = await store.product_shoppers(redis, sku, start, as_of)
        if (alert := evaluate(sku, entries, as_of=as_of, shoppers=shoppers, days=days)) is not None:
            alerts.append(alert)
    return sorted(alerts, key=lambda alert: (-alert.shoppers, -alert.since, alert.sku))
