"""Money, numbers, dates and times the way each language writes them, by Babel (CLDR data).

The one place a price, a number or a date is turned into text for a shopper or an agent,
so a new language needs its text files, not code. `locale` is a CLDR locale: a language
("de", "fr") or a language with its region ("en_IE": English as written in Ireland, with
days before months and a 24-hour clock).

The bot's action server imports this module too, on Python 3.10 with nothing but Babel
installed: keep it to the standard library and Babel.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from decimal import Decimal
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.dates import format_date as _babel_date
from babel.dates import format_time as _babel_time
from babel.dates import match_skeleton
from babel.numbers import format_currency, format_decimal, get_currency_symbol

# Weekday fields of a CLDR pattern shorter than the full name ("E" = "Fr.", "EEEE" = "Freitag").
_SHORT_WEEKDAY = re.compile(r"(?<![Ec])([Ec]){1,3}(?![Ec])")


def parse_locale(locale: str) -> Locale:
    """The Babel locale for "de", "en_IE" or "en-IE"; ValueError if CLDR has no such locale."""
    return _locale(locale.replace("-", "_"))


@lru_cache(maxsize=64)
def _locale(identifier: str) -> Locale:
    try:
        return Locale.parse(identifier)
    except (UnknownLocaleError, ValueError, TypeError):
        raise ValueError(f"{identifier!r} is not a locale Babel knows (like de, en_IE or fr)") from None


def format_money(amount: Decimal, currency: str, locale: str) -> str:
    """``89,00 €`` in German, ``€89.00`` in English, ``CHF 1,250.00`` (not ``CHF1,250.00``)."""
    cldr = parse_locale(locale)
    text: str = format_currency(amount, currency, locale=cldr)
    # CLDR's currency spacing, which Babel leaves out: a symbol that ends in a letter is kept
    # apart from the digits by a no-break space.
    symbol: str = get_currency_symbol(currency, cldr)
    rest = text[len(symbol):]
    if symbol[-1:].isalpha() and text.startswith(symbol) and rest[:1].isdigit():
        return f"{symbol}\u00a0{rest}"
    head = text[:-len(symbol)] if symbol else text
    if symbol[:1].isalpha() and text.endswith(symbol) and head[-1:].isdigit():
        return f"{head}\u00a0{symbol}"
    return text


def format_number(value: int | Decimal, locale: str) -> str:
    """``2.000`` in German, ``2,000`` in English, ``2 000`` in French."""
    return format_decimal(value, locale=parse_locale(locale))


def format_day(day: date, locale: str) -> str:
    """A day soon, with its weekday and without the year: ``Freitag, 27. November``,
    ``Friday 27 November`` (en_IE), ``vendredi 27 novembre``."""
    cldr = parse_locale(locale)
    return _babel_date(day, _day_pattern(cldr), locale=cldr)


def format_date(day: date, locale: str) -> str:
    """A day with its year: ``20. November 2026``, ``20 November 2026`` (en_IE)."""
    return _babel_date(day, "long", locale=parse_locale(locale))


def format_time(at: time | datetime, locale: str) -> str:
    """A time of day as given (pass the wall clock where the shop is): ``08:00`` in German
    and en_IE, ``8:00 AM`` in US English."""
    return _babel_time(at, "short", locale=parse_locale(locale))


@lru_cache(maxsize=64)
def _day_pattern(locale: Locale) -> str:
    # CLDR asks for the weekday in full ("MMMMEEEEd"); where a locale only lists the short
    # form ("E, d. MMMM"), the field is widened, as CLDR's skeleton matching prescribes
    # (Babel matches the skeleton but leaves the widths as listed).
    skeletons = locale.datetime_skeletons
    key = match_skeleton("MMMMEEEEd", skeletons, allow_different_fields=True)
    if key is None:
        return "EEEE, d MMMM"
    pattern: str = skeletons[key].pattern
    # Quoted parts ('de' in "E, d 'de' MMMM") are literal text: only the others are fields.
    parts = pattern.split("'")
    parts[::2] = [_SHORT_WEEKDAY.sub(lambda field: field.group(1) * 4, part) for part in parts[::2]]
    return "'".join(parts)
