"""Dates, times, numbers and prices as each language writes them (core/formatting.py)."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal

import pytest

from core.formatting import format_date, format_day, format_money, format_number, format_time, parse_locale

FRIDAY = date(2026, 11, 27)


@pytest.mark.parametrize(("locale", "day", "dated", "clock"), [
    ("de", "Freitag, 27. November", "27. November 2026", "08:00"),
    ("en_IE", "Friday 27 November", "27 November 2026", "08:00"),
    ("en-IE", "Friday 27 November", "27 November 2026", "08:00"),
    ("en", "Friday, November 27", "November 27, 2026", "8:00\u202fAM"),
    ("fr", "vendredi 27 novembre", "27 novembre 2026", "08:00"),
    ("nl", "vrijdag 27 november", "27 november 2026", "08:00"),
    # A quoted literal ('de') in the pattern stays text; the weekday is still written in full.
    ("es", "viernes, 27 de noviembre", "27 de noviembre de 2026", "8:00"),
])
def test_a_day_is_written_with_its_weekday_in_full(locale: str, day: str, dated: str, clock: str) -> None:
    assert format_day(FRIDAY, locale) == day
    assert format_date(FRIDAY, locale) == dated
    assert format_time(time(8, 0), locale) == clock


@pytest.mark.parametrize(("locale", "currency", "expected"), [
    ("de", "EUR", "1.249,50\xa0€"),
    ("en_IE", "EUR", "€1,249.50"),
    ("fr", "EUR", "1\u202f249,50\xa0€"),
    # A symbol of letters is kept off the digits, as CLDR's currency spacing says.
    ("en_IE", "CHF", "CHF\xa01,249.50"),
    ("de", "CHF", "1.249,50\xa0CHF"),
])
def test_prices(locale: str, currency: str, expected: str) -> None:
    assert format_money(Decimal("1249.5"), currency, locale) == expected


def test_numbers() -> None:
    assert [format_number(2000, locale) for locale in ("de", "en_IE", "fr")] == ["2.000", "2,000", "2\u202f000"]


@pytest.mark.parametrize("locale", ["xx", "fr_XX", "", "de DE"])
def test_a_locale_cldr_does_not_know_is_an_error(locale: str) -> None:
    with pytest.raises(ValueError, match="is not a locale Babel knows"):
        parse_locale(locale)
