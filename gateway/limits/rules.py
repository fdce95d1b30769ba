"""The named rate rules and the file that sets them (config/limits.yml, STORECHAT_LIMITS).

A rule is a rate with a burst: `30/minute burst 10` lets a client do the thing 10 times
at once, then once every 2 seconds; `30/minute` alone allows a whole minute's worth at
once. `unlimited` turns a rule off (a load test from one address, say). Every rule the
code asks for is listed in RULES, and the file must set each of them and nothing else,
so a misspelt name is an error at start, not a limit that silently never applies.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import yaml

from gateway.config_file import no_unknown_keys

# Every rule by name → what it limits, per whom (the README's "Limits" section lists them).
RULES: Mapping[str, str] = {
    "webhook_per_address": "webhook requests (SMS, Messenger, WhatsApp), per client address, before the signature check",
    "webhook_message_per_sender": "inbound messages per shopper (channel and phone number, PSID or WhatsApp id)",
    "email_per_address": "mails the SMTP listener takes, per connecting mail server's address (over: 451, try later)",
    "email_first_answer": "bot answers to mails that continue no conversation (their From unproven), all senders "
                          "together (over: the mail is kept on the case, not answered)",
    "api_per_address": "requests to /api/v1 (shop and agent API, unauthenticated ones), per client address",
    "api_per_token": "shop API requests with the shop's token",
    "agent_api_per_agent": "agent API requests per logged-in agent",
    "agent_login_per_address": "agent login attempts per client address",
    "agent_login_per_address_email": "agent login attempts per client address and email",
    "web_connect_per_address": "web chat Socket.IO connections per client address (refused at connect)",
    "web_session_per_socket": "web chat session_requests per socket",
    "web_session_per_address": "web chat session_requests per client address",
    "web_message_per_socket": "web chat messages (user_uttered) per socket",
    "web_message_per_address": "web chat messages (user_uttered) per client address",
    "web_history_per_socket": "web chat history_requests per socket",
    "web_history_per_address": "web chat history_requests per client address",
    "web_typing_per_socket": "web chat typing events per socket (the excess is dropped)",
    "web_typing_per_address": "web chat typing events per client address (the excess is dropped)",
    "web_storefront_per_socket": "storefront events (storefront_event) per web chat socket (the excess is dropped)",
    "web_storefront_per_address": "storefront events (storefront_event) per client address (the excess is dropped)",
    "web_conversation_per_socket": "web conversations created (on a session's first message) per socket",
    "web_conversation_per_address": "web conversations created (on a session's first message) per client address",
    "web_callback_per_socket": "call-back slot look-ups and requests (callback_slots, callback_request) per web "
                               "chat socket",
    "web_callback_per_address": "call-back slot look-ups and requests per client address",
    "callback_request_per_phone": "call-back requests (a new one, or another number or time) per phone number",
    "possession_proof_per_conversation": "the bot's phone proofs and invalid customer-token proofs of orders, per "
                                         "conversation (a valid customer token is never limited)",
}

_PERIODS = {"second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0}
_RATE = re.compile(r"^(\d+)\s*/\s*(second|minute|hour|day)(?:\s+burst\s+(\d+))?$")


@dataclass(frozen=True, slots=True)
class Rate:
    """`count` per `period` seconds, at most `burst` at once; None for an unlimited rule."""

    count: int
    period: float
    burst: int

    @property
    def interval(self) -> float:
        """Seconds between two allowed events once the burst is spent."""
        return self.period / self.count

    @classmethod
    def parse(cls, raw: object, where: str) -> Rate | None:
        text = str(raw).strip()
        if text == "unlimited":
            return None
        match = _RATE.match(text)
        if match is None:
            raise ValueError(f"{where}: {raw!r} is not a rate like '30/minute burst 10' (or 'unlimited')")
        count, period, burst = int(match[1]), _PERIODS[match[2]], int(match[3] or match[1])
        if count < 1 or burst < 1:
            raise ValueError(f"{where}: a rate and its burst must be at least 1, got {raw!r}")
        return cls(count, period, burst)


@dataclass(frozen=True, slots=True)
class Limits:
    rates: Mapping[str, Rate | None]

    @classmethod
    def load(cls, path: Path) -> Self:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(raw, dict):
            raise ValueError(f"{path}: expected a mapping of rule → rate")
        return cls.of(raw, str(path))

    @classmethod
    def of(cls, raw: Mapping[object, object], where: str = "limits", rules: Mapping[str, str] = RULES) -> Self:
        no_unknown_keys(dict(raw), frozenset(rules), where)
        missing = sorted(set(rules) - {str(key) for key in raw})
        if missing:
            raise ValueError(f"{where}: no rate for {', '.join(missing)}")
        return cls({str(name): Rate.parse(value, f"{where}: {name}") for name, value in raw.items()})

    def replace(self, **rates: str) -> Self:
        """A copy with some rules set anew (`limits.replace(web_message_per_socket="5/minute")`)."""
        if unknown := sorted(set(rates) - set(self.rates)):
            raise ValueError(f"limits: unknown rule {unknown[0]!r}")
        changed = {name: Rate.parse(value, f"limits: {name}") for name, value in rates.items()}
        return type(self)({**self.rates, **changed})

    def rate(self, rule: str) -> Rate | None:
        return self.rates[rule]
