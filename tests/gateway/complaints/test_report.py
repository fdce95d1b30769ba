"""The `complaints` report: what a supervisor reads — clusters by product and theme, their trend,
the cases behind them, and the feedback counts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from core.types import Channel
from gateway.complaints.projection import ComplaintsProjection
from gateway.complaints.report import ComplaintReports, complaint_themes, complaints_report
from gateway.reports.query import ReportQuery
from tests.gateway.complaints.support import DAY, START, Clock, fold, open_case, put_order

BERLIN = ZoneInfo("Europe/Berlin")
FIRST = datetime.fromtimestamp(START, UTC).date()  # Monday 2026-03-02


async def _history(redis: Redis, projection: ComplaintsProjection) -> dict[str, list[str]]:
    """Three days: the cushion's seams (three shoppers, German and English), late parcels, feedback."""
    clock = Clock()
    await put_order(redis, clock, "104233", [("NL-1001", "Leinen-Kissenhülle")])
    cases: dict[str, list[str]] = {"seams": [], "late": [], "sms": []}
    for day, (seam, late) in enumerate([
        ("Die Naht meiner Kissenhülle geht auf", "Meine Bestellung kam viel zu spät"),
        ("the seam on my cushion cover is coming apart", "my parcel arrived late"),
        ("Bei der Kissenhülle lösen sich die Nähte", "Lieferung ist verspätet, sehr ärgerlich"),
    ]):
        clock.now = START + day * DAY
        case = await open_case(redis, clock, locale="en" if seam.startswith("the") else "de")
        await case.complain(seam)
        cases["seams"].append(case.id)
        late_case = await open_case(redis, clock)
        await late_case.complain(late, intent="complain")
        cases["late"].append(late_case.id)
    text = await open_case(redis, clock, channel=Channel.SMS)
    await text.complain("Die Vase kam zerbrochen an")
    cases["sms"].append(text.id)
    happy = await open_case(redis, clock)
    await happy.resolve()
    await happy.csat(5, "Super Service, vielen Dank für die schnelle Hilfe!")
    ideas = await open_case(redis, clock, locale="en")
    await ideas.resolve()
    await ideas.csat(3, "It would be nice if the cushion covers came in more colours")
    await fold(redis, projection)
    return cases


async def _report(redis: Redis, projection: ComplaintsProjection, **filters: Any) -> dict[str, Any]:
    query = ReportQuery(first=FIRST, last=date(2026, 3, 5), timezone=BERLIN, **filters)
    return await complaints_report(redis, query, now=START + 4 * DAY, lexicon=projection.lexicon,
                                   alert_shoppers=3, alert_days=7)


async def test_the_report_shows_each_products_themes_with_their_trend_and_cases(
        redis: Redis, projection: ComplaintsProjection) -> None:
    cases = await _history(redis, projection)

    report = await _report(redis, projection)

    assert report["range"]["from"] == "2026-03-02" and report["range"]["to"] == "2026-03-05"
    top = report["clusters"][0]
    assert top["product"] == {"sku": "NL-1001", "name": "Leinen-Kissenhülle"}
    assert "Naht / seam" in top["theme"]["terms"] and top["theme"]["label"]
    assert (top["cases"], top["shoppers"]) == (3, 3)
    assert top["trend"] == [{"day": "2026-03-02", "count": 1}, {"day": "2026-03-03", "count": 1},
                            {"day": "2026-03-04", "count": 1}, {"day": "2026-03-05", "count": 0}]
    assert [c["conversation_id"] for c in top["conversations"]] == cases["seams"][::-1]  # newest first
    assert top["conversations"][-1]["text"] == "Die Naht meiner Kissenhülle geht auf"
    assert top["conversations"][-1]["source"] == "intent"
    assert top["conversations"][-1]["at"] > START * 1000
    late = next(row for row in report["clusters"] if set(c["conversation_id"] for c in row["conversations"])
                == set(cases["late"]))
    assert late["product"] is None and late["theme"]["label"].startswith("Verspätung / late")
    # A product complained about by three shoppers within a week, and never before.
    assert [alert["product"]["sku"] for alert in report["alerts"]] == ["NL-1001"]
    assert report["feedback"] == {"praise": 1, "suggestion": 1, "complaint": 7}
    assert report["unfiltered"] == []


async def test_the_channel_filter_narrows_clusters_and_feedback_but_alerts_stay_the_shops(
        redis: Redis, projection: ComplaintsProjection) -> None:
    cases = await _history(redis, projection)

    report = await _report(redis, projection, channel=Channel.SMS)

    assert [[c["conversation_id"] for c in row["conversations"]] for row in report["clusters"]] == [cases["sms"]]
    assert report["feedback"] == {"praise": 0, "suggestion": 0, "complaint": 1}
    assert [alert["product"]["sku"] for alert in report["alerts"]] == ["NL-1001"]
    assert report["unfiltered"] == ["alerts"]
    by_agent = await _report(redis, projection, agent="mara@shop.example")
    assert by_agent["unfiltered"] == ["alerts", "clusters", "feedback"]


async def test_a_range_without_complaints_is_an_empty_report(redis: Redis, projection: ComplaintsProjection) -> None:
    report = await _report(redis, projection)
    assert (report["alerts"], report["clusters"]) == ([], [])
    assert report["feedback"] == {"praise": 0, "suggestion": 0, "complaint": 0}


async def test_a_known_defect_is_found_as_one_cluster_with_its_precision_and_recall(
        redis: Redis, projection: ComplaintsProjection) -> None:
    cases = await _history(redis, projection)
    query = ReportQuery(first=FIRST, last=date(2026, 3, 5), timezone=BERLIN)

    clustered = await complaint_themes(redis, query, lexicon=projection.lexicon)

    found = clustered.best_match(set(cases["seams"]))
    assert found is not None
    (product, _), precision, recall = found
    assert (product, precision, recall) == ("NL-1001", 1.0, 1.0)


async def test_the_consoles_preset_ranges_are_clustered_before_they_are_asked_for(
        redis: Redis, projection: ComplaintsProjection) -> None:
    await _history(redis, projection)
    reports = ComplaintReports(redis, projection.lexicon, 3, 7, clock=lambda: START + 4 * DAY)
    await reports.warm(BERLIN)
    # The last 7, 28 and 90 days up to Friday 6 March hold the same complaints: one clustering.
    assert len(reports.cache) == 1
    last_week = ReportQuery(first=date(2026, 2, 28), last=date(2026, 3, 6), timezone=BERLIN)
    report = await reports.report(last_week)
    assert len(reports.cache) == 1 and report["clusters"]  # read, not clustered again
    await reports.report(ReportQuery(first=FIRST, last=date(2026, 3, 3), timezone=BERLIN))
    assert len(reports.cache) == 2  # other complaints: clustered when asked, and kept
