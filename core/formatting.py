"""Money, dates and times the way each language writes them, by Babel (CLDR data).

The one place a price or a date is turned into text for a shopper or an agent, so a
new language needs its locale files, not code.
"""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency


def format_money(amount: Decimal, currency: str, locale: str) -> str:
    """``89,00 €`` in German, ``€89.00`` in English."""
    return format_currency(amount, currency, locale=locale)
