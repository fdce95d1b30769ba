"""What a notification says, in the customer's language: the status in plain words, the
carrier, the tracking link and the expected delivery day; a delay with an apology and the
new date. The same values fill the WhatsApp template's parameters."""

from __future__ import annotations

from datetime import date

from core.formatting import format_day
from gateway.notifications.config import WhatsAppTemplate
from gateway.shop.orders import Order, OrderStatus
from gateway.texts import Texts

# These say when the parcel comes in their own words (today, the new date) or it is there.
_NO_ETA_LINE = frozenset({OrderStatus.OUT_FOR_DELIVERY, OrderStatus.DELAYED, OrderStatus.DELIVERED,
                          OrderStatus.CANCELLED})


def long_date(day: date, texts: Texts, locale: str) -> str:
    """ "Freitag, 27. November" / "Friday 27 November", as the language writes it (Babel)."""
    return format_day(day, texts.cldr_locale(locale))


def _upcoming(order: Order, today: date) -> date | None:
    """The delivery day still to come; a past estimate is no news worth telling."""
    day = order.estimated_delivery
    return day if day is not None and day >= today else None


def notification_text(order: Order, status: OrderStatus, texts: Texts, locale: str, today: date) -> str:
    """The message, one line per thought (a tracking link alone on its line stays tappable in an SMS)."""
    upcoming = _upcoming(order, today)
    lines = [texts.get(locale, f"notification_{status.value}", order_id=order.order_id)]
    if status is OrderStatus.DELAYED:
        lines.append(texts.get(locale, "notification_new_date", date=long_date(upcoming, texts, locale))
                     if upcoming else texts.get(locale, "notification_no_date"))
    if status is not OrderStatus.CANCELLED:
        if order.carrier and order.tracking_number:
            lines.append(texts.get(locale, "notification_carrier_tracking", carrier=order.carrier.value,
                                   tracking_number=order.tracking_number))
        elif order.carrier:
            lines.append(texts.get(locale, "notification_carrier", carrier=order.carrier.value))
        if order.tracking_url:
            lines.append(texts.get(locale, "notification_tracking", tracking_url=order.tracking_url))
    if upcoming and status not in _NO_ETA_LINE:
        lines.append(texts.get(locale, "notification_eta", date=long_date(upcoming, texts, locale)))
    lines.append(texts.get(locale, "notification_reply"))
    return "\n".join(lines)


def template_parameters(order: Order, template: WhatsAppTemplate, texts: Texts, locale: str,
                        today: date) -> tuple[str, ...]:
    """The template's parameters in its order; an unknown value is empty (the adapter fills in "-")."""
    upcoming = _upcoming(order, today)
    values = {
        "order_id": order.order_id,
        "customer_name": order.customer_name or "",
        "carrier": order.carrier.value if order.carrier else "",
        "tracking_number": order.tracking_number or "",
        "tracking_url": order.tracking_url or "",
        "delivery_date": long_date(upcoming, texts, locale) if upcoming else "",
    }
    return tuple(values[name] for name in template.parameters)
