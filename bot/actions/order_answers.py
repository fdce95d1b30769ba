"""What the bot says about an order: status, tracking, delivery date, lateness, lists.

Pure functions of the gateway's order JSON (see the shop API contract) and the texts.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Optional
from zoneinfo import ZoneInfo

from .gateway_api import Order, ServiceRequest
from .texts import Texts

SHOP_TIMEZONE = ZoneInfo("Europe/Berlin")
STATUSES = (
    "placed", "confirmed", "packed", "shipped", "in_transit",
    "out_for_delivery", "delivered", "delayed", "cancelled",
)  # fmt: skip
# Statuses after which the parcel is no longer expected.
_FINISHED = frozenset({"delivered", "cancelled"})


def shop_today() -> date:
    return datetime.now(SHOP_TIMEZONE).date()


def _status(order: Order) -> str:
    status = order.get("status")
    return status if status in STATUSES else "unknown"


def parse_day(value: Any) -> Optional[date]:
    """ "2026-11-26" or an ISO timestamp → its date; None if absent or malformed."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value).date() if "T" in value else date.fromisoformat(value)
    except ValueError:
        return None


def is_late(order: Order, today: date) -> bool:
    if _status(order) == "delayed":
        return True
    estimated = parse_day(order.get("estimated_delivery"))
    return estimated is not None and estimated < today and _status(order) not in _FINISHED


def status_answer(order: Order, texts: Texts, today: date) -> list[str]:
    """The WISMO answer, one message per line of thought."""
    order_id = order.get("order_id", "")
    status = _status(order)
    lines = [texts(f"status_{status}", order_id=order_id)]
    if order.get("carrier") and order.get("tracking_number") and status != "cancelled":
        lines.append(texts("tracking", carrier=order["carrier"], tracking_number=order["tracking_number"]))
    if order.get("tracking_url") and status != "cancelled":
        lines.append(texts("tracking_link", tracking_url=order["tracking_url"]))
    estimated = parse_day(order.get("estimated_delivery"))
    if is_late(order, today):
        lines.append(texts("late_apology"))
        if estimated is not None and estimated >= today:
            lines.append(texts("late_new_date", date=texts.long_date(estimated)))
        else:
            lines.append(texts("late_no_date"))
    elif estimated is not None and status not in _FINISHED and estimated >= today:
        lines.append(texts("estimated_delivery", date=texts.long_date(estimated)))
    return lines


def history_answer(orders: list[Order], texts: Texts) -> list[str]:
    lines = [texts("order_history_intro")]
    for order in orders:
        placed = parse_day(order.get("placed_at"))
        lines.append(
            texts(
                "order_history_line",
                order_id=order.get("order_id", ""),
                date=texts.short_date(placed) if placed else "",
                status=texts(f"status_name_{_status(order)}"),
                total=texts.money(order.get("total", ""), order.get("currency", "")),
            )
        )
    return ["\n".join(lines)]


def requests_answer(requests: list[ServiceRequest], texts: Texts) -> list[str]:
    if not requests:
        return [texts("return_status_none")]
    lines = [texts("return_status_intro")]
    for request in requests:
        kind, status = f"request_kind_{request.get('kind')}", f"request_status_{request.get('status')}"
        lines.append(
            texts(
                "return_status_line",
                kind=texts(kind) if texts.has(kind) else request.get("kind"),
                order_id=request.get("order_id", ""),
                status=texts(status if texts.has(status) else "request_status_unknown"),
            )
        )
    return ["\n".join(lines)]
