"""Erasing a contact: its cases forgotten (gateway/privacy/forget.py, requests blanked rather
than deleted), the storefront trails of its web sessions, its identities and the contact itself.

What stays, on purpose: the shop's orders (the shop's records, pushed by its systems and kept
under its own legal duties — the shop deletes them there, and in storechat by pushing them no
more), an SMS/WhatsApp opt-out (honouring "STOP" needs the number), the reports' counts
(pseudonymised, see forget.py) and the audit trail. A shopper who writes again afterwards is
a new contact.
"""

from __future__ import annotations

import secrets

from gateway import keys
from gateway.privacy.contact_data import ContactRecord, drop_contact
from gateway.privacy.forget import Forget, Forgotten


async def erase_contact(forget: Forget, record: ContactRecord) -> dict[str, int]:
    """Erase everything of the contact; what was covered (counts)."""
    redis = forget.redis
    # One pseudonym for all its complaints: the reports still count one shopper, not several.
    pseudonym = f"erased-{secrets.token_hex(6)}"
    total = Forgotten()
    identities = list(record.identities)
    for conversation_id in record.conversation_ids:
        case = await forget.case(conversation_id, erase=True, pseudonym=pseudonym)
        if case is not None:
            total.add(case.counts)
            identities.append(case.identity)
    for session_id in record.web_sessions:
        await redis.delete(keys.visitor(session_id), keys.visitor_trail(session_id))
    await drop_contact(redis, record.contact_id, identities, only_if_empty=False)
    return {**total.as_dict(), "identities": len(set(identities)), "storefront_sessions": len(record.web_sessions)}
