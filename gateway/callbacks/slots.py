"""The times a shopper may choose for a call-back: slots within the team's opening hours.

A slot is SLOT_MINUTES long, starts on the wall clock's half hour in the shop's timezone and
lies wholly within one opening interval of the team (config/business_hours.yml), at least
LEAD_MINUTES from now, so nobody is promised a call in the past or outside hours. On a
daylight-saving day the wall clock decides as it does for the opening hours ("08:30" is
half past eight on both sides of the change).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.desk.business_hours import SEARCH_DAYS, BusinessHours

SLOT_MINUTES = 30
# The team needs a moment to see a call-back before it is due.
LEAD_MINUTES = 15
# Slots offered at once: the rest of today and tomorrow, typically.
OFFERED = 8
# A call-back is booked at most this far ahead (a slot further away is refused).
HORIZON_DAYS = 14


def _aligned_after(earliest: datetime) -> datetime:
    """The first wall-clock half hour at or after `earliest` (in its timezone)."""
    base = earliest.replace(second=0, microsecond=0)
    if base < earliest:
        base += timedelta(minutes=1)
    late = base.minute % SLOT_MINUTES
    return base + timedelta(minutes=(SLOT_MINUTES - late) % SLOT_MINUTES)


def offered_slots(hours: BusinessHours, now: float, team: str | None, count: int = OFFERED,
                  not_before: float | None = None) -> list[float]:
    """The next `count` slots (epoch seconds of their start), soonest first; `not_before`: none
    starting earlier than that (a retry after an unanswered call)."""
    earliest = datetime.fromtimestamp(max(now + LEAD_MINUTES * 60, not_before or 0.0), UTC).astimezone(hours.timezone)
    found: list[float] = []
    for offset in range(SEARCH_DAYS + 1):
        day = earliest.date() + timedelta(days=offset)
        for opens, closes in hours._periods(day, team):  # the intervals is_open reads
            start = _aligned_after(max(opens, earliest))
            while start + timedelta(minutes=SLOT_MINUTES) <= closes:
                found.append(start.timestamp())
                if len(found) >= count:
                    return found
                # Aware arithmetic in one zone is wall-clock arithmetic: 08:00, 08:30, … on a DST day too.
                start += timedelta(minutes=SLOT_MINUTES)
    return found


def bookable(hours: BusinessHours, slot: float, now: float, team: str | None) -> bool:
    """Whether a call-back may be booked for `slot`: a slot as offered, within the horizon."""
    if not now + LEAD_MINUTES * 60 <= slot <= now + HORIZON_DAYS * 86400:
        return False
    local = datetime.fromtimestamp(slot, UTC).astimezone(hours.timezone)
    if local.second or local.microsecond or local.minute % SLOT_MINUTES:
        return False
    end = local + timedelta(minutes=SLOT_MINUTES)
    return any(opens <= local and end <= closes for opens, closes in hours._periods(local.date(), team))
