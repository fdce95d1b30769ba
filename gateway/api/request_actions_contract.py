"""The Agent API's request actions and the shop webhook: bodies, answers, and their OpenAPI.

The operations are plain tables (gateway/api/openapi.py makes its `Operation`s of them);
the webhooks are the document's `webhooks` (OpenAPI 3.1), their body the ShopEvent model
that also writes them (gateway/shop_events/events.py).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema

from gateway.api.shop_contract import Error
from gateway.json_input import Body, Sku, Text
from gateway.shop.shopper_requests import RequestStatus, RequestView
from gateway.shop_events.events import ShopEvent, ShopEventType
from gateway.shop_events.signing import (
    ATTEMPT_HEADER,
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    TOLERANCE_SECONDS,
)

# --- what the console sends ---------------------------------------------------------


class ApproveInput(Body):
    note: Annotated[str, Text(max_length=1000), Field(description="for the case and the shop")] | None = None


class RejectInput(Body):
    reason: Annotated[str, Text(max_length=1000), Field(description="why: told to the shopper, in the shop "
                                                                    "webhook, on the case")]


class LabelInput(Body):
    pass


class DecisionInput(Body):
    """A damaged or faulty item: the shop sends a replacement or refunds, at the shopper's choice."""

    order_id: Annotated[str, Text(max_length=64, label=True), Field(description="an order the shopper proved")]
    resolution: Literal["refund", "replacement"]
    items: Annotated[tuple[Sku, ...], Field(min_length=1, max_length=100,
                                            description="the damaged SKUs (default: every item)")] | None = None
    note: Annotated[str, Text(max_length=1000), Field(description="what was damaged, for the shop")] | None = None


# --- what it reads ------------------------------------------------------------------


class ActionAnswer(Body):
    request: RequestView
    made: bool = Field(description="false: the same action was made already (nothing changed, nothing queued)")
    shop_event: str | None = Field(description="the shop webhook's event id (null: no STORECHAT_SHOP_WEBHOOK_URL)")
    message: Literal["sent", "queued", "not_sent"] = Field(description=(
        "the shopper's message: sent (web chat), queued (SMS, Messenger, WhatsApp), not_sent (the channel does "
        "not allow it now; kept on the case)"))


class ActionRefusedError(Error):
    error: Literal["invalid_transition", "too_late", "not_approvable", "not_a_return", "not_approved",
                   "already_decided", "unknown_order", "not_delivered", "damage_window_over",
                   "return_window_over"]
    status: RequestStatus | None = Field(None, description="the request's status now")


# --- OpenAPI --------------------------------------------------------------------------

PATH_PARAMETERS = {"request_id": "a shopper request's id (the case lists them)"}
_ON = "/agent/conversations/{cid}/requests/{request_id}"
_TOLD = ("The shopper is told in their language on their channel; the step is an event on the case; the shop "
         "hears it as a signed webhook (see `webhooks`). Only the conversation's agent (it is assigned to them) "
         "or a supervisor acts. The same action again answers 200 with `made: false` and changes nothing.")
_MADE = {"200": (ActionAnswer, "made already: the request as it is (nothing changed, nothing queued)"),
         "201": (ActionAnswer, "made: the request now")}
_REFUSED = (ActionRefusedError, "the request's status or the policy does not allow it (the message says why)")
_ERRORS = {"403": (Error, "not_permitted: not the conversation's agent (claim it first) or a supervisor; "
                          "not_your_team: another team's conversation"),
           "404": (Error, "unknown_conversation, or unknown_request: no such request in this conversation")}


def _operation(path: str, summary: str, body: type[BaseModel], refused: str) -> dict[str, Any]:
    return {"method": "POST", "path": path, "summary": summary, "security": "agentSession", "body": body,
            "answers": {**_MADE, **_ERRORS, "409": (_REFUSED[0], f"{refused}; {_REFUSED[1]}")},
            "description": _TOLD, "csrf": True}


OPERATIONS = (
    _operation(f"{_ON}/approve", "Approve a return, cancellation or address change", ApproveInput,
               "invalid_transition (not open), not_approvable, too_late (a cancellation once the order is packed, "
               "an address change once it shipped)"),
    _operation(f"{_ON}/reject", "Reject a request, with the reason the shopper is told", RejectInput,
               "invalid_transition (not open)"),
    _operation(f"{_ON}/label", "Send an approved return's label to the shopper", LabelInput,
               "not_a_return, not_approved (approve it first), invalid_transition"),
    _operation("/agent/conversations/{cid}/decisions", "Decide a damaged item: refund or replacement (opens the "
               "case's damaged-item request for the order if there is none)", DecisionInput,
               "already_decided (the other resolution), invalid_transition, not_delivered, damage_window_over "
               "(reported more than 14 days after delivery)")
    | {"answers": {**_MADE, **_ERRORS, "409": _REFUSED,
                   "422": (Error, "not_verified: the shopper has not proven this order in the conversation")}},
)

WEBHOOK_DESCRIPTION = (
    "POSTed to STORECHAT_SHOP_WEBHOOK_URL for each agent action. Verify before acting: "
    f"`{SIGNATURE_HEADER}: t=<unix seconds>,v1=<hex>`, where v1 is HMAC-SHA256 with "
    "STORECHAT_SHOP_WEBHOOK_SECRET over `<t>.` followed by the raw body; compare in constant time and refuse a "
    f"t more than {TOLERANCE_SECONDS} s from your clock. Deduplicate by the body's `id` (also in "
    f"`{EVENT_ID_HEADER}`): a retry sends the same id. Answer 2xx within 10 s once stored; a connection error, "
    "a timeout, 429 or 5xx is retried with capped exponential backoff (Retry-After is honoured) up to "
    "STORECHAT_SHOP_WEBHOOK_ATTEMPTS tries; any other status is a refusal and not retried. A failed event is "
    "on the case.")
_HEADERS = {
    SIGNATURE_HEADER: "t=<unix seconds>,v1=<hex HMAC-SHA256 of '<t>.' + raw body>",
    EVENT_ID_HEADER: "the event's id (as the body's id)",
    EVENT_TYPE_HEADER: "the event's type (as the body's type)",
    ATTEMPT_HEADER: "1 on the first try, then 2, 3, …",
}


def webhooks() -> dict[str, Any]:
    """The document's `webhooks`: one entry per event type, all with the ShopEvent body."""
    parameters = [{"name": name, "in": "header", "required": True, "schema": {"type": "string"},
                   "description": description} for name, description in _HEADERS.items()]
    return {kind.value: {"post": {
        "summary": f"{kind.value}: an agent's action on a shopper request",
        "description": WEBHOOK_DESCRIPTION,
        "parameters": parameters,
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{ShopEvent.__name__}"}}}},
        "responses": {"2XX": {"description": "taken (stored, or seen before: the same id)"},
                      "default": {"description": "429 or 5xx: tried again later; anything else: failed"}},
    }} for kind in ShopEventType}


def webhook_schemas() -> dict[str, Any]:
    """The schemas the webhooks' body refers to (named as the models, like every other)."""
    _, generated = models_json_schema([(ShopEvent, "validation")], ref_template="#/components/schemas/{model}")
    return dict(generated["$defs"])
