"""The audit trail of the shopper's data rights: every export and erasure, who did it, when,
of which contact, what it covered and the reason the agent gave.

One Redis stream (`AUDIT`), never trimmed and never touched by retention or an erasure: the
trail outlives the data it speaks of. It names the contact by its id only (an opaque id,
no email or phone), so it holds no personal data of the shopper's itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from redis.asyncio import Redis

from core.types import Clock
from gateway.privacy.keys import AUDIT


class AuditAction(StrEnum):
    EXPORT = "export"
    ERASE = "erase"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: str
    at: float
    agent: str
    action: AuditAction
    contact_id: str
    reason: str
    # What it covered: counts (conversations, events, requests, …).
    covered: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class Audit:
    redis: Redis
    clock: Clock

    async def record(self, *, agent: str, action: AuditAction, contact_id: str, reason: str,
                     covered: Mapping[str, int]) -> AuditEntry:
        at = self.clock()
        fields: dict[Any, Any] = {"at": repr(at), "agent": agent, "action": action.value, "contact_id": contact_id,
                                  "reason": reason, "covered": json.dumps(dict(covered), separators=(",", ":"))}
        entry_id = await self.redis.xadd(AUDIT, fields)
        return AuditEntry(str(entry_id), at, agent, action, contact_id, reason, dict(covered))

    async def newest(self, limit: int) -> list[AuditEntry]:
        entries = await self.redis.xrevrange(AUDIT, count=limit)
        return [_entry(str(entry_id), fields or {}) for entry_id, fields in entries or []]


def _entry(entry_id: str, fields: Mapping[Any, Any]) -> AuditEntry:
    return AuditEntry(entry_id, float(fields["at"]), str(fields["agent"]), AuditAction(fields["action"]),
                      str(fields["contact_id"]), str(fields.get("reason", "")),
                      {str(name): int(n) for name, n in json.loads(fields.get("covered") or "{}").items()})
