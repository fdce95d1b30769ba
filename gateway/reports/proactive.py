"""The `proactive` report: how the chat offers did per rule in a range of days, and today.

Read from the offers' own per-day counters (gateway/proactive/metrics.py), kept as the
offers are shown and answered; not a projection of the feed, since a conversion (an order
placed in the browsing session) is a storefront event, not an event of the case.

Offers are made in the web chat only: a channel filter other than `web` answers zeros. An
offer has no team or agent of its own (a human offer may fall back to the bot), and its
counters are per day, not per hour: the team, agent and business-hours filters do not
apply, and the rows are those of every offer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date
from typing import Any

from redis.asyncio import Redis

from core.types import Channel
from gateway.proactive.metrics import day_counters, rule_rows
from gateway.proactive.rules import Rule
from gateway.reports.query import ReportQuery


async def proactive_report(redis: Redis, query: ReportQuery, rules: Iterable[Rule], today: date) -> dict[str, Any]:
    """`{"range", "unfiltered", "rules": [{rule, target, shown, accepted, declined, converted, conversion_rate}],
    "today": [the same for `today`, the shop-local day of the clock]}`, rules in the file's order."""
    rules = tuple(rules)
    web = query.channel in (None, Channel.WEB)
    in_range = await day_counters(redis, query.days()) if web else Counter[str]()
    on_today = await day_counters(redis, [today]) if web else Counter[str]()
    unfiltered = ["rules", "today"] if query.team or query.agent or query.business_hours else []
    return {"range": query.range_json(), "unfiltered": unfiltered, "rules": rule_rows(rules, in_range),
            "today": rule_rows(rules, on_today)}
