"""config/notifications.yml, read and checked once at start-up: which statuses notify, the
quiet hours, and the WhatsApp template of each status per language. The languages are those
of the gateway's texts (gateway/locales/): a new locale file asks for its templates here.

Quiet hours are wall-clock times in the shop's timezone (as in gateway/desk/business_hours.py),
so "08:00" is 8 o'clock on both sides of a daylight-saving change.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from gateway import config_file
from gateway.shop.orders import STATUSES, OrderStatus

# What a template's parameters may be filled with (gateway/notifications/compose.py).
TEMPLATE_VALUES = ("order_id", "customer_name", "carrier", "tracking_number", "tracking_url", "delivery_date")
_FILE_KEYS = frozenset({"timezone", "quiet_hours", "statuses"})
_STATUS_KEYS = frozenset({"whatsapp"})
_WHATSAPP_KEYS = frozenset({"template", "parameters"})
# Meta's template names: lower-case letters, digits and underscores.
_TEMPLATE_NAME = re.compile(r"[a-z0-9_]{1,512}")


@dataclass(frozen=True, slots=True)
class QuietHours:
    """From `start` to `end` (wall clock in `timezone`); past midnight when `end` < `start`."""

    start: time
    end: time
    timezone: ZoneInfo

    def end_after(self, at: datetime) -> datetime | None:
        """When the quiet hours `at` falls into end, or None if it falls into none."""
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError(f"{at.isoformat()} has no timezone; pass an aware datetime")
        local = at.astimezone(self.timezone)
        now = local.time()
        if self.start < self.end:
            quiet, ends_on = self.start <= now < self.end, local.date()
        else:
            quiet = now >= self.start or now < self.end
            ends_on = local.date() + timedelta(days=1) if now >= self.start else local.date()
        return datetime.combine(ends_on, self.end, self.timezone) if quiet else None


@dataclass(frozen=True, slots=True)
class WhatsAppTemplate:
    names: Mapping[str, str]  # language → the approved template's name
    parameters: tuple[str, ...]  # TEMPLATE_VALUES, in the order of the body's {{1}}, {{2}}, …


@dataclass(frozen=True, slots=True)
class StatusRule:
    whatsapp: WhatsAppTemplate | None = None


@dataclass(frozen=True, slots=True)
class NotificationConfig:
    statuses: Mapping[OrderStatus, StatusRule]
    timezone: ZoneInfo  # the shop's: its "today" and its quiet hours
    quiet_hours: QuietHours | None = None

    @classmethod
    def load(cls, path: Path, *, languages: Collection[str]) -> NotificationConfig:
        """Read and check a notifications file for the texts' `languages`; ValueError names
        the first problem."""
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ValueError(f"{path}: cannot read the notifications ({exc})") from None
        return cls.parse(raw, str(path), languages=languages)

    @classmethod
    def parse(cls, raw: object, where: str = "notifications", *, languages: Collection[str]) -> NotificationConfig:
        if not isinstance(raw, dict):
            raise ValueError(f"{where}: expected a mapping with `timezone`, `quiet_hours` and `statuses`")
        config_file.no_unknown_keys(raw, _FILE_KEYS, where)
        statuses_raw = raw.get("statuses") or {}
        if not isinstance(statuses_raw, dict):
            raise ValueError(f"{where}: statuses must map order statuses to how they are told")
        statuses: dict[OrderStatus, StatusRule] = {}
        for status, rule in statuses_raw.items():
            if status not in STATUSES:
                raise ValueError(f"{where}: statuses.{status}: unknown status (use {', '.join(STATUSES)})")
            statuses[OrderStatus(status)] = _rule(rule, f"{where}: statuses.{status}", sorted(languages))
        timezone = config_file.timezone(raw.get("timezone"), where)
        quiet_raw = raw.get("quiet_hours")
        quiet = None if quiet_raw is None else _quiet_hours(quiet_raw, timezone, where)
        return cls(statuses, timezone, quiet)


def _quiet_hours(raw: object, timezone: ZoneInfo, where: str) -> QuietHours:
    start_h, start_m, end_h, end_m = config_file.clock_interval(raw, f"{where}: quiet_hours", "21:00-08:00")
    if not (start_h < 24 and end_h < 24 and start_m < 60 and end_m < 60):
        raise ValueError(f"{where}: quiet_hours {raw!r} is not a time of day (00:00 to 23:59)")
    start, end = time(start_h, start_m), time(end_h, end_m)
    if start == end:
        raise ValueError(f"{where}: quiet_hours {raw!r} is empty (use null for none)")
    return QuietHours(start, end, timezone)


def _rule(raw: object, where: str, languages: list[str]) -> StatusRule:
    if raw is None:
        return StatusRule()
    if not isinstance(raw, dict):
        raise ValueError(f"{where} must be a mapping (with `whatsapp`) or empty")
    config_file.no_unknown_keys(raw, _STATUS_KEYS, where)
    whatsapp = raw.get("whatsapp")
    return StatusRule(None if whatsapp is None else _whatsapp(whatsapp, f"{where}.whatsapp", languages))


def _whatsapp(raw: object, where: str, languages: list[str]) -> WhatsAppTemplate:
    if not isinstance(raw, dict):
        raise ValueError(f"{where} must be a mapping with `template` and `parameters`")
    config_file.no_unknown_keys(raw, _WHATSAPP_KEYS, where)
    names = raw.get("template")
    if not isinstance(names, dict):
        raise ValueError(f"{where}.template must map languages ({', '.join(languages)}) to template names")
    missing = [language for language in languages if language not in names]
    if missing:
        # A customer in that language would get nothing outside the window.
        raise ValueError(f"{where}.template: no template for {missing[0]!r}")
    for language, name in names.items():
        if language not in languages:
            raise ValueError(f"{where}.template.{language}: unknown language (use {', '.join(languages)})")
        if not isinstance(name, str) or not _TEMPLATE_NAME.fullmatch(name):
            raise ValueError(f"{where}.template.{language}: {name!r} is not a template name like order_shipped")
    parameters = raw.get("parameters") or []
    if not isinstance(parameters, list):
        raise ValueError(f"{where}.parameters must be a list like [order_id, tracking_url]")
    for parameter in parameters:
        if parameter not in TEMPLATE_VALUES:
            raise ValueError(f"{where}.parameters: unknown value {parameter!r} (use {', '.join(TEMPLATE_VALUES)})")
    return WhatsAppTemplate({str(k): str(v) for k, v in names.items()}, tuple(str(p) for p in parameters))
