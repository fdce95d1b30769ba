"""The shopper's data rights in the Agent API: finding a contact, its export, its erasure and
the audit trail (gateway/api/privacy.py). The models read the bodies and query strings, write
the answers, and are their schemas in the OpenAPI document."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from gateway.api.agent_contract import CartView, CaseEvent, ConversationSummary, Csat, PageSeen
from gateway.json_input import Body, Millis, Text
from gateway.privacy.audit import AuditAction
from gateway.shop.orders import OrderView
from gateway.shop.shopper_requests import RequestView

MAX_AUDIT_PAGE = 200

# --- what the console sends -------------------------------------------------------------


class ReasonInput(Body):
    reason: Annotated[str, Text(max_length=500)] = Field(description=(
        "why (e.g. the shopper's request and how it reached us): kept on the audit trail"))


class ContactQuery(Body):
    """Exactly one of email and phone."""

    email: Annotated[str, Text(max_length=254)] | None = Field(None, description="an email the contact proved")
    phone: Annotated[str, Text(max_length=32)] | None = Field(
        None, description="a phone number the contact proved or wrote from (+49…, or national: 0151…)")


class AuditQuery(Body):
    limit: Annotated[int, Field(ge=1, le=MAX_AUDIT_PAGE)] = Field(
        50, description=f"the newest entries, 1–{MAX_AUDIT_PAGE}, default 50")


# --- what it reads ------------------------------------------------------------------------


class ContactIdentity(Body):
    kind: str = Field(description="web, sms, messenger, whatsapp (a channel address), email (a proven "
                      "address, or the one an e-mail came from) or phone (proven)")
    value: str


class ContactView(Body):
    id: str
    created_at: Millis | None
    identities: list[ContactIdentity]
    conversations: list[ConversationSummary] = Field(description="newest first")


class ContactRef(Body):
    id: str
    created_at: Millis | None


class ExportedCase(Body):
    conversation: ConversationSummary
    events: list[CaseEvent] = Field(description="the whole history, oldest first")
    orders: list[OrderView] = Field(description="orders the shopper proved in it")
    requests: list[RequestView]
    csat: Csat | None


class StorefrontSession(Body):
    session_id: str
    cart: CartView | None
    trail: list[PageSeen]


class ContactExport(Body):
    exported_at: str = Field(description="ISO 8601, UTC")
    contact: ContactRef
    identities: list[ContactIdentity]
    conversations: list[ExportedCase] = Field(description="newest first")
    storefront: list[StorefrontSession] = Field(description="the web sessions' carts and page trails")


class ErasedView(Body):
    contact_id: str
    covered: dict[str, int] = Field(description=(
        "conversations, events, requests (blanked), complaints and report_texts (pseudonymised), "
        "identities, storefront_sessions"))


class AuditEntryView(Body):
    id: str
    at: Millis
    agent: str = Field(description="the supervisor's email")
    action: AuditAction
    contact_id: str
    reason: str
    covered: dict[str, int]


class AuditTrail(Body):
    entries: list[AuditEntryView] = Field(description="newest first")
