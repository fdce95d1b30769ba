"""The privacy room put together: retention's sweeper, a contact's export and erasure, and
their audit trail, as the app and the Agent API's privacy routes (gateway/api/privacy.py) use them."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from core.types import Clock
from gateway.desk.case import Cases
from gateway.privacy.audit import Audit, AuditAction
from gateway.privacy.contact_data import ContactRecord, find_contact, read_contact
from gateway.privacy.erase import erase_contact
from gateway.privacy.export import export_contact
from gateway.privacy.forget import Forget
from gateway.privacy.policy import RetentionPolicy
from gateway.privacy.retention import TICK_SECONDS, Sweeper
from gateway.reports.service import Reports


@dataclass(frozen=True, slots=True)
class Privacy:
    cases: Cases
    forget: Forget
    sweeper: Sweeper
    audit: Audit
    clock: Clock

    @classmethod
    def build(cls, cases: Cases, reports: Reports, policy: RetentionPolicy, clock: Clock) -> Privacy:
        redis = cases.store.redis
        forget = Forget(redis, reports)
        return cls(cases, forget, Sweeper(redis, forget, policy, clock), Audit(redis, clock), clock)

    def start_sweeper(self, interval: float | None = None) -> asyncio.Task[None]:
        """This process's retention sweeper; stop it with gateway.background.stop."""
        return asyncio.create_task(self.sweeper.run(interval or TICK_SECONDS), name="retention")

    async def contact(self, contact_id: str) -> ContactRecord | None:
        return await read_contact(self.cases.store, contact_id)

    async def find(self, kind: str, value: str) -> ContactRecord | None:
        contact_id = await find_contact(self.cases.store.redis, kind, value)
        return None if contact_id is None else await self.contact(contact_id)

    async def export(self, record: ContactRecord, *, agent: str, reason: str) -> dict[str, Any]:
        document = await export_contact(self.cases, record, self.clock)
        conversations = document["conversations"]
        await self.audit.record(agent=agent, action=AuditAction.EXPORT, contact_id=record.contact_id, reason=reason,
                                covered={"conversations": len(conversations),
                                         "events": sum(len(case["events"]) for case in conversations),
                                         "identities": len(document["identities"])})
        return document

    async def erase(self, record: ContactRecord, *, agent: str, reason: str) -> dict[str, int]:
        covered = {"conversations": len(record.conversation_ids), "identities": len(record.identities),
                   "incomplete": 1}
        try:
            covered = await erase_contact(self.forget, record)
            return covered
        finally:  # an erasure that failed half-way is on the trail too ("incomplete")
            await self.audit.record(agent=agent, action=AuditAction.ERASE, contact_id=record.contact_id,
                                    reason=reason, covered=covered)


PRIVACY = web.AppKey("privacy", Privacy)
