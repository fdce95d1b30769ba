"""The demo history, loaded as `storechat demo-data` loads it, read through the real reports:
the defect is found (its product, its cases), nothing else alerts, and the reports have what
a new user should see (every channel, team and agent, surveys, notified and unnotified orders).

Bounds fixed before the first measurement: the defect's best cluster has precision and recall
of at least 0.8; at least 80 % of the alert's cases are the defect's conversations.
"""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest
from redis.asyncio import Redis

from core.types import Channel, Team
from gateway import keys
from gateway.app import build_reports
from gateway.conversations.store import ConversationStore
from gateway.desk.business_hours import BusinessHours
from gateway.proactive.rules import Rules
from gateway.reports.orders import notifications_report
from gateway.reports.proactive import proactive_report
from gateway.reports.query import ReportQuery
from gateway.run.history.load import load_demo_history
from gateway.run.history.measure import find_defect
from gateway.run.history.writer import AGENTS
from gateway.settings import REPO_ROOT, Settings

# Loading takes about a minute on a quiet machine, more on a busy one.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

PRECISION, RECALL, ALERT_PURITY = 0.8, 0.8, 0.8


async def test_the_demo_history_shows_its_defect_and_full_reports(redis: Redis, redis_url: str) -> None:
    settings = Settings(redis_url=redis_url, root=REPO_ROOT)
    now = time.time()
    loaded = await load_demo_history(redis, settings, now=now)
    truth = loaded.truth
    assert truth is not None and loaded.end == truth.end

    # The defect: one alert, for the cushion cover, its cases the defect's shoppers.
    found = await find_defect(redis, settings, truth, now=now)
    [alert] = found.report["alerts"]
    assert alert["product"]["sku"] == truth.defect_sku == "NL-1001"
    assert alert["shoppers"] >= settings.complaint_alert_shoppers
    defect = set(truth.defect_conversations)
    assert len(set(alert["cases"]) & defect) >= ALERT_PURITY * len(alert["cases"])
    assert found.cluster is not None and found.cluster[0] == truth.defect_sku
    assert found.precision >= PRECISION and found.recall >= RECALL, (found.precision, found.recall)
    # ... reported by different shoppers, in German and in English.
    store = ConversationStore(redis)
    conversations = [await store.get(conversation_id) for conversation_id in truth.defect_conversations]
    assert len(conversations) >= 6
    assert len({c.contact_id for c in conversations if c is not None}) == len(conversations)
    assert {c.locale for c in conversations if c is not None} == {"de", "en"}

    # The reports of the eight weeks: every channel, team and agent, surveys, order figures.
    hours = BusinessHours.load(settings.business_hours_file)
    reports = build_reports(redis, settings, hours, time.time)
    query = ReportQuery(first=truth.first, last=truth.end, timezone=hours.timezone)
    volume = await reports.volume(query)
    assert volume["started"]["total"] >= 60 * 7 * 8
    assert all(count > 0 for count in volume["started"]["by_channel"].values())
    assert set(volume["started"]["by_channel"]) == {channel.value for channel in Channel}
    assert all(volume["handoffs"]["by_team"][team.value] > 0 for team in Team)
    by_weekday: dict[int, list[int]] = {}
    for day in volume["started"]["by_day"][:-1]:  # today is not over
        by_weekday.setdefault(date.fromisoformat(day["day"]).weekday(), []).append(day["total"])
    mean = {weekday: sum(totals) / len(totals) for weekday, totals in by_weekday.items()}
    assert all(55 <= day <= 120 for day in mean.values()), mean
    assert mean[6] < min(mean[weekday] for weekday in range(5))  # a quieter Sunday
    satisfaction = await reports.satisfaction(query)
    assert satisfaction["answers"] >= 300 and satisfaction["comments"]
    assert {row["agent"] for row in satisfaction["by_agent"]} >= set(AGENTS) - {"sven@nordlicht-home.example"}
    assert (await reports.speed(query))["first_response"]["count"] > 500

    notifications = await notifications_report(redis, query)
    wismo = notifications["wismo"]
    assert wismo["notified"]["orders"] > 300 and wismo["not_notified"]["orders"] > 300
    assert wismo["not_notified"]["per_100"] > 2 * wismo["notified"]["per_100"] > 0
    assert {row["channel"] for row in notifications["sent"]} == {channel.value for channel in Channel}
    rules = Rules.load(settings.proactive_rules_file, languages=frozenset({"de", "en"}), default_locale="de")
    offers = await proactive_report(redis, query, rules.rules, truth.end)
    assert all(row["shown"] > row["accepted"] > 0 and row["declined"] > 0 for row in offers["rules"])
    assert truth.reopened > 0 and truth.handed_back > 0

    # Loading again writes nothing: the marker names the history's last day.
    events = await redis.xlen(keys.FEED)
    again = await load_demo_history(redis, settings, now=now + 60)
    assert again.truth is None and again.end == truth.end
    assert await redis.xlen(keys.FEED) == events
    assert truth.first == truth.end - timedelta(days=55)
