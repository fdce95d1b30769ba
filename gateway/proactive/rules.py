"""The proactive rules (config/proactive_rules.yml), parsed once and checked on start.

A rule fires when all of its conditions hold; rules are tried in the file's order, so
the first one listed wins when two could fire at once. A mistake in the file stops the
gateway at start with the path of the offending entry, not at the first visitor.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from core.types import Team
from gateway.json_input import MONEY
from gateway.proactive.events import PageType

DEFAULT_RULES_FILE = Path(__file__).resolve().parents[2] / "config" / "proactive_rules.yml"
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")
_CONDITIONS = frozenset({"page_types", "idle_seconds", "browsing_seconds", "help_pages", "min_cart_value",
                         "visitor"})
# A rule needs one of these, or it would fire on a visitor's first page view.
_TRIGGERS = ("idle_seconds", "browsing_seconds", "help_pages")
_RULE_TEXTS = ("text", "accept", "decline", "accepted")


class RulesError(ValueError):
    """The rules file cannot be used; the message names the entry."""


class Target(StrEnum):
    BOT = "bot"
    HUMAN = "human"


class VisitorKind(StrEnum):
    NEW = "new"
    RETURNING = "returning"
    ANY = "any"


@dataclass(frozen=True, slots=True)
class Conditions:
    # The page the visitor is on now must be one of these.
    page_types: frozenset[PageType] | None = None
    # No storefront event for this long.
    idle_seconds: float | None = None
    # Time on product pages in this browsing session since the cart last changed.
    browsing_seconds: float | None = None
    # Help pages viewed in this browsing session.
    help_pages: int | None = None
    # A cart with items worth at least this much ("0" for any cart with items).
    min_cart_value: Decimal | None = None
    visitor: VisitorKind = VisitorKind.ANY


@dataclass(frozen=True, slots=True)
class RuleTexts:
    text: str  # the bot offers itself
    human_text: str | None  # a person of the team offers to chat (target human only)
    accept: str  # quick reply titles
    decline: str
    accepted: str  # what the bot says when its offer is taken


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    when: Conditions
    target: Target
    team: Team | None
    texts: Mapping[str, RuleTexts]

    def texts_in(self, locale: str, default: str) -> RuleTexts:
        return self.texts.get(locale) or self.texts[default]


@dataclass(frozen=True, slots=True)
class Rules:
    rules: tuple[Rule, ...]
    default_locale: str
    # A browsing session ends after this long without a storefront event.
    session_timeout_seconds: float = 1800.0
    # An offer is open this long: a message written meanwhile accepts it.
    offer_open_seconds: float = 600.0
    # No offer while the shopper wrote in the chat within this long.
    chat_quiet_seconds: float = 600.0
    # Offers one visitor is shown in a day, all rules together.
    max_per_day: int = 2
    declined: Mapping[str, str] | None = None

    def get(self, name: str) -> Rule | None:
        return next((rule for rule in self.rules if rule.name == name), None)

    def declined_text(self, locale: str) -> str:
        texts = self.declined or {}
        return texts.get(locale) or texts.get(self.default_locale) or "OK"

    @classmethod
    def load(cls, path: Path, *, languages: frozenset[str], default_locale: str) -> Rules:
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise RulesError(f"{path}: cannot read the proactive rules: {exc}") from None
        try:
            return parse_rules(raw, languages=languages, default_locale=default_locale)
        except RulesError as exc:
            raise RulesError(f"{path}: {exc}") from None


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise RulesError(f"{where}: must be a mapping")
    return value


def _positive(value: object, where: str, *, integer: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)) or value <= 0:
        raise RulesError(f"{where}: must be a positive {'integer' if integer else 'number'}")
    return float(value)


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RulesError(f"{where}: must be a non-empty text")
    return value.strip()


def _choice(value: object, where: str, choices: type[StrEnum]) -> str:
    allowed = [choice.value for choice in choices]
    if value not in allowed:
        raise RulesError(f"{where}: must be one of {', '.join(allowed)}")
    return str(value)


def _money(value: object, where: str) -> Decimal:
    # YAML reads 20.00 as a float: accept numbers too, but only with cents at most.
    text = str(value) if isinstance(value, (int, float, str)) and not isinstance(value, bool) else ""
    if not re.fullmatch(MONEY, text):
        raise RulesError(f"{where}: must be an amount like \"20.00\"")
    try:
        return Decimal(text)
    except InvalidOperation:
        raise RulesError(f"{where}: must be an amount like \"20.00\"") from None


def _conditions(raw: object, where: str) -> Conditions:
    when = _mapping(raw, where)
    if unknown := sorted(set(when) - _CONDITIONS):
        raise RulesError(f"{where}: unknown condition {unknown[0]!r} (known: {', '.join(sorted(_CONDITIONS))})")
    if not any(when.get(name) is not None for name in _TRIGGERS):
        raise RulesError(f"{where}: needs one of {', '.join(_TRIGGERS)}")
    page_types = None
    if (pages := when.get("page_types")) is not None:
        if not isinstance(pages, list) or not pages:
            raise RulesError(f"{where}.page_types: must be a non-empty list")
        page_types = frozenset(PageType(_choice(page, f"{where}.page_types[{index}]", PageType))
                               for index, page in enumerate(pages))

    def number(name: str, *, integer: bool = False) -> float | None:
        value = when.get(name)
        return None if value is None else _positive(value, f"{where}.{name}", integer=integer)

    help_pages = number("help_pages", integer=True)
    return Conditions(
        page_types=page_types,
        idle_seconds=number("idle_seconds"),
        browsing_seconds=number("browsing_seconds"),
        help_pages=None if help_pages is None else int(help_pages),
        min_cart_value=None if when.get("min_cart_value") is None else _money(when["min_cart_value"],
                                                                               f"{where}.min_cart_value"),
        visitor=VisitorKind(_choice(when.get("visitor", "any"), f"{where}.visitor", VisitorKind)),
    )


def _rule_texts(raw: object, where: str, target: Target) -> RuleTexts:
    texts = _mapping(raw, where)
    values = {name: _text(texts.get(name), f"{where}.{name}") for name in _RULE_TEXTS}
    human_text = None
    if target is Target.HUMAN:
        human_text = _text(texts.get("human_text"), f"{where}.human_text")
    return RuleTexts(human_text=human_text, **values)


def _rule(name: object, raw: object, languages: frozenset[str]) -> Rule:
    if not isinstance(name, str) or not name or not set(name) <= _NAME_CHARS or len(name) > 40:
        raise RulesError(f"rules: {name!r} is not a rule name (a-z, 0-9 and _, at most 40)")
    where = f"rules.{name}"
    rule = _mapping(raw, where)
    target = Target(_choice(rule.get("target"), f"{where}.target", Target))
    team = None
    if target is Target.HUMAN or rule.get("team") is not None:
        team = Team(_choice(rule.get("team"), f"{where}.team", Team))
    texts = _mapping(rule.get("texts"), f"{where}.texts")
    if missing := sorted(languages - set(texts)):
        raise RulesError(f"{where}.texts: no texts in {', '.join(missing)}")
    return Rule(
        name=name,
        when=_conditions(rule.get("when"), f"{where}.when"),
        target=target,
        team=team,
        texts={language: _rule_texts(texts[language], f"{where}.texts.{language}", target)
               for language in sorted(languages)},
    )


def parse_rules(raw: object, *, languages: frozenset[str], default_locale: str) -> Rules:
    top = _mapping(raw, "the file")
    if default_locale not in languages:
        raise RulesError(f"the default language {default_locale!r} is not one of {sorted(languages)}")
    rules = _mapping(top.get("rules"), "rules")
    if not rules:
        raise RulesError("rules: must list at least one rule")
    declined = _mapping(top.get("texts"), "texts")
    if missing := sorted(languages - set(declined)):
        raise RulesError(f"texts: no texts in {', '.join(missing)}")
    defaults = Rules(rules=(), default_locale=default_locale)

    def seconds(name: str, default: float) -> float:
        return default if top.get(name) is None else _positive(top[name], name)

    return Rules(
        rules=tuple(_rule(name, rule, languages) for name, rule in rules.items()),
        default_locale=default_locale,
        session_timeout_seconds=seconds("session_timeout_seconds", defaults.session_timeout_seconds),
        offer_open_seconds=seconds("offer_open_seconds", defaults.offer_open_seconds),
        chat_quiet_seconds=seconds("chat_quiet_seconds", defaults.chat_quiet_seconds),
        max_per_day=int(defaults.max_per_day if top.get("max_per_day") is None
                        else _positive(top["max_per_day"], "max_per_day", integer=True)),
        declined={language: _text(_mapping(declined[language], f"texts.{language}").get("declined"),
                                  f"texts.{language}.declined")
                  for language in sorted(languages)},
    )
