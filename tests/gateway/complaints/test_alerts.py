"""An alert is news: many shoppers complaining about one product, more than that product usually gets."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from gateway.complaints.alerts import evaluate, product_alerts
from gateway.complaints.projection import ComplaintsProjection
from gateway.complaints.report import complaints_report
from gateway.complaints.store import ShopperEntry
from gateway.reports.query import ReportQuery
from tests.gateway.complaints.support import DAY, START, Clock, fold, open_case, put_order

BERLIN = ZoneInfo("Europe/Berlin")


def _entries(*spec: tuple[float, str]) -> list[ShopperEntry]:
    """(days before now, shopper) pairs, each in its own conversation."""
    return [ShopperEntry(START - days * DAY, shopper, f"c{i}") for i, (days, shopper) in enumerate(spec)]


def test_three_shoppers_in_a_week_alert_when_the_product_usually_has_none() -> None:
    alert = evaluate("A", _entries((6, "s1"), (3, "s2"), (0.5, "s3")), as_of=START, shoppers=3, days=7)
    assert alert is not None
    assert (alert.shoppers, alert.baseline, alert.window_days) == (3, 0.0, 7)
    assert alert.cases == ("c2", "c1", "c0") and alert.since == START - 6 * DAY


def test_one_shopper_complaining_three_times_is_no_alert() -> None:
    assert evaluate("A", _entries((6, "s1"), (3, "s1"), (1, "s1")), as_of=START, shoppers=3, days=7) is None


def test_the_baseline_is_the_products_own_and_the_threshold_its_floor() -> None:
    weekly_one = [(7 * week + 2, f"old{week}") for week in range(1, 9)]
    now_three = [(1, "s1"), (2, "s2"), (3, "s3")]
    alert = evaluate("A", _entries(*weekly_one, *now_three), as_of=START, shoppers=3, days=7)
    assert alert is not None and alert.baseline == 1.0  # 3 > 2 × 1
    weekly_two = [(7 * week + day, f"old{week}-{day}") for week in range(1, 9) for day in (1, 2)]
    assert evaluate("A", _entries(*weekly_two, *now_three), as_of=START, shoppers=3, days=7) is None  # 3 ≤ 2 × 2
    assert evaluate("A", _entries((1, "s1"), (2, "s2")), as_of=START, shoppers=3, days=7) is None  # below the floor


async def test_a_new_defect_alerts_with_its_cases_and_a_steady_complaint_does_not(
        redis: Redis, projection: ComplaintsProjection) -> None:
    clock = Clock(START - 9 * 7 * DAY)
    await put_order(redis, clock, "300001", [("NL-1001", "Leinen-Kissenhülle"), ("NL-1120", "Fjord Wolldecke")])
    # The throw: three shoppers a week for nine weeks, this one included — its usual.
    for week in range(9):
        for shopper in range(3):
            case = await open_case(redis, clock)
            await case.complain("Die Fjord Wolldecke fusselt stark", intent="complain")
            clock.advance(2 * DAY)
        clock.advance(DAY)
    # The cushion cover: never a complaint, then three shoppers in a week.
    clock.now = START - 5 * DAY
    defect = []
    for text in ("Die Naht meiner Kissenhülle geht auf", "the seam of my linen cushion cover came apart",
                 "Bei der Leinen-Kissenhülle löst sich die Naht"):
        case = await open_case(redis, clock, locale="en" if text.startswith("the") else "de")
        await case.complain(text)
        defect.append(case.id)
        clock.advance(DAY + 3600)
    # And one shopper complaining about the vase in three conversations is one shopper.
    await put_order(redis, clock, "300002", [("NL-4410", "Düne Vase")])
    first = await open_case(redis, clock)
    for _ in range(3):
        case = await open_case(redis, clock, contact_id=first.conversation.contact_id)
        await case.complain("Die Düne Vase ist undicht")
    now = START
    await fold(redis, projection)

    [alert] = await product_alerts(redis, as_of=now, shoppers=3, days=7)
    assert (alert.sku, alert.shoppers, alert.baseline) == ("NL-1001", 3, 0.0)
    assert set(alert.cases) == set(defect)

    today = datetime.fromtimestamp(now, UTC).date()
    query = ReportQuery(first=datetime.fromtimestamp(now - 6 * DAY, UTC).date(), last=today, timezone=BERLIN)
    report = await complaints_report(redis, query, now=now, lexicon=projection.lexicon,
                                     alert_shoppers=3, alert_days=7)
    [shown] = report["alerts"]
    assert shown["product"] == {"sku": "NL-1001", "name": "Leinen-Kissenhülle"}
    assert sorted(shown["cases"]) == sorted(defect) and shown["window_days"] == 7
    assert "Naht / seam" in shown["theme"]["terms"]
