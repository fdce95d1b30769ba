"""The shopper's data rights in the Agent API (/api/v1/agent/contacts/…, /agent/privacy/audit):
find a contact, download everything storechat holds about it, erase it, read the audit trail.

Supervisors only (an agent's session gets 403): an export shows the contact's cases of every
team, beyond an agent's reach, and an erasure cannot be undone. An agent who gets such a
request hands the case to a supervisor. Export and erasure each need a reason, which the
audit trail keeps with who did it, when and to which contact (gateway/privacy/audit.py).
"""

from __future__ import annotations

import re

from aiohttp import web

from gateway.api.agent import AgentRoute, require_agent
from gateway.api.http import ApiError, answer, invalid_input_as, read_body
from gateway.api.privacy_contract import (
    AuditQuery,
    AuditTrail,
    ContactExport,
    ContactQuery,
    ContactView,
    ErasedView,
    ReasonInput,
)
from gateway.conversations.contacts import EMAIL_IDENTITY, EMAIL_SENDER_IDENTITY, PHONE_IDENTITY
from gateway.desk.agents import Agent, AgentRole
from gateway.json_input import parse
from gateway.privacy.contact_data import ContactRecord, identity_parts
from gateway.privacy.service import PRIVACY, Privacy
from gateway.shop.orders import normalise_email
from gateway.shop.verification import normalise_phone

# Contact ids are storechat's own (hex); anything else names no contact (and no other key).
CONTACT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


async def _supervisor(request: web.Request, *, csrf: bool) -> tuple[Privacy, Agent]:
    session = await require_agent(request, csrf=csrf)
    if session.agent.role is not AgentRole.SUPERVISOR:
        raise ApiError(403, "not_permitted", "only a supervisor exports or erases a contact's data")
    return request.config_dict[PRIVACY], session.agent


async def _contact(privacy: Privacy, request: web.Request) -> ContactRecord:
    contact_id = request.match_info["contact_id"]
    record = await privacy.contact(contact_id) if CONTACT_ID.fullmatch(contact_id) else None
    if record is None:
        raise ApiError(404, "unknown_contact", "no such contact")
    return record


async def _view(privacy: Privacy, record: ContactRecord) -> web.Response:
    summaries = await privacy.cases.summaries(list(record.conversation_ids))
    identities = [{"kind": kind, "value": value} for kind, value in filter(None, map(identity_parts, record.identities))]
    return answer(ContactView, {"id": record.contact_id, "created_at": _ms(record.created_at),
                                "identities": identities, "conversations": summaries})


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)


async def find(request: web.Request) -> web.Response:
    privacy, _ = await _supervisor(request, csrf=False)
    with invalid_input_as("invalid_query"):
        query = parse(ContactQuery, {name: value for name, value in request.query.items() if value != ""})
    if (query.email is None) == (query.phone is None):
        raise ApiError(422, "invalid_query", "give exactly one of email and phone")
    if query.email is not None:
        email = normalise_email(query.email)
        # Who wrote from that address on the e-mail channel, when no proof linked it.
        record = await privacy.find(EMAIL_IDENTITY, email) or await privacy.find(EMAIL_SENDER_IDENTITY, email)
    else:
        phone = normalise_phone(query.phone or "")
        record = await privacy.find(PHONE_IDENTITY, phone)
    if record is None:
        raise ApiError(404, "unknown_contact", "nobody with that email or phone is known")
    return await _view(privacy, record)


async def contact(request: web.Request) -> web.Response:
    privacy, _ = await _supervisor(request, csrf=False)
    return await _view(privacy, await _contact(privacy, request))


async def export(request: web.Request) -> web.Response:
    privacy, agent = await _supervisor(request, csrf=True)
    record = await _contact(privacy, request)
    reason = (await read_body(request, ReasonInput, "invalid_reason")).reason
    document = await privacy.export(record, agent=agent.email, reason=reason)
    response = answer(ContactExport, document)
    response.headers["Content-Disposition"] = f'attachment; filename="storechat-contact-{record.contact_id}.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


async def erase(request: web.Request) -> web.Response:
    privacy, agent = await _supervisor(request, csrf=True)
    record = await _contact(privacy, request)
    reason = (await read_body(request, ReasonInput, "invalid_reason")).reason
    covered = await privacy.erase(record, agent=agent.email, reason=reason)
    return answer(ErasedView, {"contact_id": record.contact_id, "covered": covered})


async def audit_trail(request: web.Request) -> web.Response:
    privacy, _ = await _supervisor(request, csrf=False)
    with invalid_input_as("invalid_query"):
        query = parse(AuditQuery, {name: value for name, value in request.query.items() if value != ""})
    entries = await privacy.audit.newest(query.limit)
    return answer(AuditTrail, {"entries": [{
        "id": entry.id, "at": round(entry.at * 1000), "agent": entry.agent, "action": entry.action,
        "contact_id": entry.contact_id, "reason": entry.reason, "covered": dict(entry.covered),
    } for entry in entries]})


ROUTES = (
    AgentRoute("GET", "/agent/contacts", find, False),
    AgentRoute("GET", "/agent/contacts/{contact_id}", contact, False),
    AgentRoute("POST", "/agent/contacts/{contact_id}/export", export, True),
    AgentRoute("POST", "/agent/contacts/{contact_id}/erase", erase, True),
    AgentRoute("GET", "/agent/privacy/audit", audit_trail, False),
)


def add_privacy_routes(api: web.Application) -> None:
    """Add the data-rights routes to the /api/v1 sub-application (beside add_agent_routes)."""
    for route in ROUTES:
        api.router.add_route(route.method, route.path, route.handler)
