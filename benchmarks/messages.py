"""What the benchmark's shoppers say: FAQ questions, greetings, thanks and lines the bot
cannot understand, in German and English.

No order look-ups: the anchor (a stock `rasa init` assistant) has only chitchat intents,
so FAQ + chitchat is the work both systems can be compared on. The wording is a
shopper's own, not copied from the training data.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import Enum


class Kind(str, Enum):
    FAQ = "faq"
    GREET = "greet"
    THANKS = "thanks"
    NOT_UNDERSTOOD = "not_understood"


@dataclass(frozen=True, slots=True)
class Line:
    text: str
    locale: str
    kind: Kind


_LINES: dict[str, dict[Kind, tuple[str, ...]]] = {
    "de": {
        Kind.GREET: ("Hallo", "Guten Tag!", "Guten Morgen"),
        Kind.THANKS: ("Danke!", "vielen dank für die info", "super, danke schön"),
        Kind.NOT_UNDERSTOOD: ("asdf jklö", "Wie wird das Wetter morgen in Hamburg?", "blau ist schneller als dienstag"),
        Kind.FAQ: (
            "Wie lange habe ich Zeit, etwas zurückzuschicken?",
            "Wann bekomme ich mein Geld zurück?",
            "Was kostet der Versand nach Österreich?",
            "Wie lange dauert die Lieferung innerhalb Deutschlands?",
            "Kann ich mit Klarna auf Rechnung zahlen?",
            "Gibt es Expressversand?",
            "Wie lange gilt die Garantie?",
            "Mein Paket kam beschädigt an, was nun?",
            "Kann ich meine Bestellung noch stornieren?",
            "Ich brauche eine Kopie meiner Rechnung",
            "Kann ich zwei Gutscheine kombinieren?",
            "Bietet ihr Geschenkverpackung an?",
            "Wann sind eure Mitarbeiter erreichbar?",
            "Liefert ihr auch an eine Packstation?",
        ),
    },
    "en": {
        Kind.GREET: ("Hello", "hi there", "Good morning!"),
        Kind.THANKS: ("Thanks!", "thank you, that helps", "great, thanks a lot"),
        Kind.NOT_UNDERSTOOD: ("qwerty zxcv", "Who won the football match yesterday?", "purple monkey dishwasher"),
        Kind.FAQ: (
            "How long do I have to return something?",
            "When will I get my refund?",
            "How much is shipping to the Netherlands?",
            "How long does delivery take in Germany?",
            "Can I pay with PayPal?",
            "Do you offer express delivery?",
            "How long is the warranty?",
            "My order arrived damaged, what should I do?",
            "Can I still cancel my order?",
            "I need a copy of my invoice",
            "Can I use two vouchers on one order?",
            "Do you do gift wrapping?",
            "When can I reach a human agent?",
            "Do you deliver to a DHL Packstation?",
        ),
    },
}

LOCALES = tuple(_LINES)


def all_lines() -> list[Line]:
    """Every line once, for the warm-up that learns how many replies each one gets."""
    return [Line(text, locale, kind) for locale, kinds in _LINES.items() for kind, texts in kinds.items() for text in texts]


def conversation(rng: random.Random, locale: str, turns: int) -> list[Line]:
    """One shopper's conversation: a greeting, mostly FAQ questions, a thank-you, and now
    and then a line the bot cannot understand (never two in a row, so a bot that escalates
    after repeated misunderstanding does not hand the benchmark shopper to a human)."""
    pool = _LINES[locale]

    def pick(kind: Kind) -> Line:
        return Line(rng.choice(pool[kind]), locale, kind)

    lines = [pick(Kind.GREET)]
    while len(lines) < turns:
        roll = rng.random()
        if roll < 0.12 and lines[-1].kind is not Kind.NOT_UNDERSTOOD:
            lines.append(pick(Kind.NOT_UNDERSTOOD))
        elif roll < 0.25:
            lines.append(pick(Kind.THANKS))
        else:
            lines.append(pick(Kind.FAQ))
    return lines[:turns]


def locale_of(shopper: int) -> str:
    """Half the shoppers write German, half English."""
    return LOCALES[shopper % len(LOCALES)]
