"""Everything storechat holds about a contact, as one JSON document (the shopper's copy).

Its identities (channel addresses, proven emails and phone numbers), every case with its
whole history, the orders proven in it, its requests and survey, and the storefront trail
of each web session it chatted from. Orders are exported as far as a case proved them: the
order records themselves are the shop's, pushed by its systems. The shape is
`gateway/api/privacy_contract.py`'s `ContactExport`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from core.types import Channel, Clock
from gateway.conversations.store import event_to_json
from gateway.desk.case import Cases
from gateway.privacy.contact_data import ContactRecord, identity_parts
from gateway.shop.orders import order_to_json
from gateway.shop.shopper_requests import request_to_json

# What the export says for a web session's id (a channel identity's value, a trail's session).
WITHHELD_SESSION = "web session (id withheld)"


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)


async def export_contact(cases: Cases, record: ContactRecord, clock: Clock) -> dict[str, Any]:
    conversations = []
    for conversation_id in record.conversation_ids:
        conversation = await cases.store.find(conversation_id)
        if conversation is None:
            continue
        events = []
        after = "-"
        while batch := await cases.store.history(conversation_id, after=after, count=1000):
            events += [event_to_json(event) for event in batch]
            after = f"({batch[-1].id}"
        conversations.append({
            "conversation": await cases.summary(conversation),
            "events": events,
            "orders": [order_to_json(order) for order in await cases.verifier.proven_orders(conversation_id)],
            "requests": [request_to_json(request, cases.public_url)
                         for request in await cases.requests.for_conversation(conversation_id)],
            "csat": await cases.survey.result(conversation_id),
        })
    storefront = []
    if cases.visitors is not None:
        for session_id in record.web_sessions:
            storefront.append({"session_id": WITHHELD_SESSION, **await cases.visitors.for_agent(session_id)})
    identities = [{"kind": kind, "value": WITHHELD_SESSION if kind == Channel.WEB.value else value}
                  for kind, value in filter(None, map(identity_parts, record.identities))]
    return {
        "exported_at": datetime.fromtimestamp(clock(), UTC).isoformat(),
        "contact": {"id": record.contact_id, "created_at": _ms(record.created_at)},
        "identities": identities,
        "conversations": conversations,
        "storefront": storefront,
    }
