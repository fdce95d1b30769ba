"""The call-backs in the Agent API (gateway/api/callbacks.py): the list, an outcome, the report.

The models read the bodies and write the answers, and are their schemas in the OpenAPI
document; OPERATIONS are this file's rows of its table of operations (gateway/api/openapi.py).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from core.types import Team
from gateway.api import reports_contract
from gateway.api.reports import QUERY as REPORT_QUERY
from gateway.api.shop_contract import Error
from gateway.callbacks.service import Outcome
from gateway.callbacks.store import MAX_ATTEMPTS, Status
from gateway.json_input import Body, Millis

# --- what the console sends ---------------------------------------------------------------


class OutcomeInput(Body):
    """`slot` is required for `rescheduled` (one of the list's `slots` of the call-back's team)."""

    outcome: Outcome = Field(description="reached; no_answer (tried again later, or closed as unreachable after "
                                         f"{MAX_ATTEMPTS} tries); rescheduled (to `slot`)")
    slot: Millis | None = None
    resolve: bool = Field(False, description="reached: resolve the case too (else it stays with you for follow-up)")


# --- what it reads --------------------------------------------------------------------------


class CallbackView(Body):
    conversation_id: str
    phone: str = Field(description="E.164, e.g. +491712345678 (call it: tel:)")
    slot: Millis = Field(description="when to call: the start of a 30-minute slot")
    status: Status
    attempts: int = Field(description="calls that went unanswered so far")
    max_attempts: int = MAX_ATTEMPTS
    team: Team
    locale: str = Field(description="the shopper's language")
    via: str = Field(description="how the shopper asked: widget, bot or offer")
    requested_at: Millis
    updated_at: Millis


class CallbackList(Body):
    callbacks: list[CallbackView] = Field(description="the open call-backs the agent reaches, soonest slot first")
    slots: dict[str, list[Millis]] = Field(description="per team of the list: the slots a call-back can be moved to")


class CallbackDay(Body):
    day: str
    requested: int
    reached: int
    no_answer: int
    rescheduled: int
    unreachable: int


class CallbackTotals(Body):
    requested: int
    reached: int
    no_answer: int
    rescheduled: int
    unreachable: int


class CallbackReport(reports_contract.Report):
    unfiltered: list[str] = Field(description="filters that do not apply (team, agent, business_hours)")
    totals: CallbackTotals
    days: list[CallbackDay]


CONVERSATION_ERRORS: dict[str, tuple[type[Body] | None, str]] = {
    "403": (Error, "not_your_team: read through the shopper's chat at your desk, another team's to work"),
    "404": (Error, "unknown_conversation"),
}
# Rows of gateway/api/openapi.py's Operation: method, path, summary, security, answers, body, description, csrf.
OPERATIONS: tuple[tuple[Any, ...], ...] = (
    ("GET", "/agent/callbacks", "The open call-backs the agent reaches, soonest first, with the slots to move "
     "them to", "agentSession", {"200": (CallbackList, "the call-back list")}),
    ("POST", "/agent/conversations/{cid}/callback", "Record how a call-back went: reached, no answer (tried again, "
     "or closed as unreachable), rescheduled", "agentSession", {
         "200": (CallbackView, "the call-back now"), **CONVERSATION_ERRORS,
         "403": (Error, "not_your_team: another team's case, read only; not_your_case: the case is assigned "
                        "to another agent (only they or a supervisor record its call)"),
         "409": (Error, "not_open: the conversation has no open call-back (any more); conflict: recorded, but "
                        "the case was taken or changed by another agent meanwhile"),
         "422": (Error, "a field is missing or invalid, or slot_not_offered: not a slot the team offers")},
     OutcomeInput, "Every step is a `callback` event on the case and is told to the shopper in their language.",
     True),
    ("GET", "/agent/reports/callbacks", "Call-backs requested, reached, unanswered, rescheduled and unreachable "
     "per day (supervisors)", "agentSession", {
         "200": (CallbackReport, "the report (README: what every figure means)"),
         "403": (Error, "not_permitted: supervisors only"),
         "422": (Error, "invalid_query: a parameter is not what it should be (the message names it)")},
     None, None, False, REPORT_QUERY),
)
