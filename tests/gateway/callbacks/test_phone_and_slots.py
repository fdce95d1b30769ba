"""What a shopper may type as their number, and which times they are offered: the policy
sheet's hours (Mon–Fri 8–20, Sat 9–16, Europe/Berlin), never the past, never outside them."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from redis.asyncio import Redis

from core.types import Channel
from gateway import keys
from gateway.callbacks.phone import InvalidPhone, callback_phone
from gateway.conversations.store import ConversationStore
from gateway.callbacks.slots import OFFERED, bookable, offered_slots
from gateway.desk.business_hours import BusinessHours

BERLIN = ZoneInfo("Europe/Berlin")
HOURS = BusinessHours.load(Path(__file__).parents[3] / "config" / "business_hours.yml")


def at(text: str) -> float:
    """A Berlin wall-clock time as epoch seconds."""
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN).timestamp()


def shown(slots: list[float]) -> list[str]:
    return [datetime.fromtimestamp(slot, BERLIN).strftime("%a %d %H:%M %Z") for slot in slots]


@pytest.mark.parametrize(("typed", "number"), [
    ("0171 2345678", "+491712345678"),
    ("0171/234 56 78", "+491712345678"),
    ("+49 (0)171 2345678", "+491712345678"),
    ("+49 30 1234 5670", "+493012345670"),
    ("0043 660 1234567", "+436601234567"),
    (" +44 20 7946 0958 ", "+442079460958"),
    ("+683 4002", "+6834002"),  # Niue: four digits after its country code, the shortest real numbers
])
def test_numbers_are_written_as_e164_and_a_national_one_is_german(typed: str, number: str) -> None:
    assert callback_phone(typed) == number


@pytest.mark.parametrize(("typed", "code"), [
    ("", "phone_missing"), ("   ", "phone_missing"), ("ruf mich an", "phone_invalid"), ("0171", "phone_invalid"),
    ("+0 171 2345678", "phone_invalid"), ("+683 400", "phone_invalid"), ("+49 171 2345678 9999999", "phone_invalid"), ("0171 23456<b>", "phone_invalid"),
])
def test_what_is_no_phone_number_is_refused_with_its_reason(typed: str, code: str) -> None:
    with pytest.raises(InvalidPhone) as refused:
        callback_phone(typed)
    assert refused.value.code == code


def test_a_weekday_afternoon_offers_the_next_half_hours_from_a_quarter_hour_ahead() -> None:
    slots = offered_slots(HOURS, at("2026-12-02T14:10"), "general")  # a Wednesday
    assert shown(slots[:3]) == ["Wed 02 14:30 CET", "Wed 02 15:00 CET", "Wed 02 15:30 CET"]
    assert len(slots) == OFFERED and slots == sorted(slots)
    assert offered_slots(HOURS, at("2026-12-02T14:16"), "general")[0] == at("2026-12-02T15:00")


def test_the_last_slot_of_a_day_ends_at_closing_and_friday_night_goes_on_saturday_morning() -> None:
    assert shown(offered_slots(HOURS, at("2026-12-04T19:00"), "general", count=3)) == [
        "Fri 04 19:30 CET", "Sat 05 09:00 CET", "Sat 05 09:30 CET"]


def test_saturday_closes_at_16_and_sunday_offers_nothing() -> None:
    assert shown(offered_slots(HOURS, at("2026-12-05T15:00"), "general", count=2)) == [
        "Sat 05 15:30 CET", "Mon 07 08:00 CET"]
    sunday = offered_slots(HOURS, at("2026-12-06T10:00"), "general")
    assert all(datetime.fromtimestamp(slot, BERLIN).weekday() == 0 for slot in sunday)
    assert not bookable(HOURS, at("2026-12-06T11:00"), at("2026-12-05T10:00"), "general")


def test_slots_follow_the_wall_clock_across_the_daylight_saving_change() -> None:
    # Sunday 29 March 2026 the clocks go forward: Monday 08:00 is CEST (06:00 UTC), Friday's was CET.
    slots = offered_slots(HOURS, at("2026-03-27T19:10"), "general", count=3)
    assert shown(slots) == ["Fri 27 19:30 CET", "Sat 28 09:00 CET", "Sat 28 09:30 CET"]
    monday = offered_slots(HOURS, at("2026-03-28T16:00"), "general", count=1)[0]
    assert datetime.fromtimestamp(monday, ZoneInfo("UTC")).strftime("%d %H:%M") == "30 06:00"
    assert shown([monday]) == ["Mon 30 08:00 CEST"]


def test_only_offered_slots_can_be_booked() -> None:
    now = at("2026-12-02T14:10")
    assert bookable(HOURS, at("2026-12-02T14:30"), now, "general")
    assert not bookable(HOURS, at("2026-12-02T14:00"), now, "general")  # in the past
    assert not bookable(HOURS, at("2026-12-02T14:20"), now, "general")  # within the lead time, and off the half hour
    assert not bookable(HOURS, at("2026-12-02T14:45"), now, "general")  # not on the half hour
    assert not bookable(HOURS, at("2026-12-02T19:45"), now, "general")  # off the half hour, ends after closing
    assert not bookable(HOURS, at("2026-12-02T20:00"), now, "general")  # at closing
    assert not bookable(HOURS, at("2026-12-03T07:30"), now, "general")  # before opening
    assert bookable(HOURS, at("2026-12-03T19:30"), now, "general")
    assert not bookable(HOURS, at("2026-12-30T10:00"), now, "general")  # beyond the two weeks ahead


async def test_a_number_the_call_back_form_takes_is_a_phone_the_contacts_take(redis: Redis) -> None:
    """One pattern: the Niue number a shopper may be called on is, as their SMS address, their phone."""
    conversation = await ConversationStore(redis).open(Channel.SMS, callback_phone("+683 4002"), "en")

    assert await redis.exists(keys.identity("phone", "+6834002"))
    assert conversation.address == "+6834002"
