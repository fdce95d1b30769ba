"""The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json.

Every schema in it is generated from the pydantic models that read the requests and
write the answers, so what the document says (lengths, ranges, patterns, enums) is what
the server enforces. Written here by hand is only the table of operations: which token,
which body, which answers. A test checks that every route of gateway/api/shop.py and
gateway/api/agent.py (and supervisor.py) is described here with its token or session, and
nothing else is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from gateway.api import agent_contract as agent, request_actions_contract as actions
from gateway.api import callbacks_contract as callbacks
from gateway.api import privacy_contract as privacy
from gateway.api import reports as reports_api
from gateway.api import reports_contract as reports
from gateway.api import supervisor_contract as supervisor
from gateway.api.agent import COOKIE, CSRF_HEADER
from gateway.api.http import MAX_BODY_BYTES, PATH_PATTERNS
from gateway.api.shop_contract import (
    Accepted,
    Error,
    NoMatchError,
    ProvenOrder,
    ProvenOrders,
    RateLimitedError,
    RefusedError,
    RequestAnswer,
    Requests,
    TooManyAttemptsError,
)
from gateway.api.storefront_events import StorefrontEventInput
from gateway.desk.directory import POSTINGS_PER_TERM
from gateway.shop.orders import OrderEventInput, OrderInput, OrderView, ShopOrderView
from gateway.shop.shopper_requests import RequestInput, ReturnEventInput
from gateway.shop.proof_throttle import ADDRESS_FREE, CONVERSATION_FREE, NETWORK_FREE
from gateway.shop.verification import MAX_LISTED_ORDERS, POSSESSION_RULE, VerificationInput

Schema = dict[str, Any]
# An answer: its body's model (None: no body, or one the document does not describe) and what it means.
Answer = tuple[type[BaseModel] | None, str]


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str
    summary: str
    # The security scheme: shopToken, botToken, agentSession, or None (open).
    security: str | None
    answers: Mapping[str, Answer]
    body: type[BaseModel] | None = None
    description: str | None = None
    # State-changing agent requests also need the session's CSRF token.
    csrf: bool = False
    query: Mapping[str, str] = field(default_factory=dict)


def _not_found(what: str = "not_found") -> Answer:
    return Error, what


SUMMARY = (agent.ConversationSummary, "the conversation now")
UNKNOWN_CONVERSATION = {"404": _not_found("unknown_conversation")}
CONFLICT = {"409": (Error, "conflict: another agent has it, or it is no longer waiting or open")}
# A conversation read through its shopper's chat at the agent's desk (gateway/desk/reach.py).
NOT_YOURS = "not_your_team: read through the shopper's chat at your desk, another team's to work"
WORKED = {"403": (Error, NOT_YOURS), **UNKNOWN_CONVERSATION}
NOT_PERMITTED = {"403": (Error, f"not_permitted: only the conversation's agent or a supervisor; {NOT_YOURS}")}
ORDER_ID_ERROR = {"422": (Error, "invalid_order_id: the id does not match STORECHAT_ORDER_NUMBER_PATTERN")}
REQUEST = (RequestAnswer, "the request")

SHOP = (
    Operation("PUT", "/orders/{order_id}", "Create or replace an order", "shopToken", {
        "200": (ShopOrderView, "updated (events kept; a status change adds one)"),
        "201": (ShopOrderView, "created"), **ORDER_ID_ERROR}, OrderInput),
    Operation("GET", "/orders/{order_id}", "Read an order", "shopToken", {
        "200": (ShopOrderView, "the order"), "404": _not_found(), **ORDER_ID_ERROR}),
    Operation("POST", "/orders/{order_id}/events", "Append a shipment event", "shopToken", {
        "201": (ShopOrderView, "the order, now in the event's status"), "404": _not_found(), **ORDER_ID_ERROR},
        OrderEventInput),
    Operation("POST", "/returns/{return_id}/events", "Report a return's progress", "shopToken", {
        "200": (RequestAnswer, "the updated return"), "404": _not_found(),
        "409": (RefusedError, "invalid_transition")}, ReturnEventInput),
    Operation("POST", "/storefront/events", "Report what a storefront visitor does (proactive chat offers)",
              "shopToken", {"202": (Accepted, "taken in; rules are evaluated")}, StorefrontEventInput, (
        "The same events as the widget sends over Socket.IO (`storefront_event`), for what only the shop's "
        "server knows, e.g. an order placed after a payment provider's redirect. The gateway's clock stamps "
        "each event on arrival. An `order_placed` after an offer was shown in the same browsing session "
        "counts as a conversion; `checkout_started` and `order_placed` end the session's offers.")),
    Operation("POST", "/conversations/{cid}/verifications", "Prove the shopper owns an order", "botToken", {
        "200": (ProvenOrder, "proven for this conversation"),
        "404": (NoMatchError, "no_match: unknown order or wrong proof (never tells which)"),
        "422": (Error, "a field is missing or invalid (the message names its path), or token_proofs_disabled: "
                       "STORECHAT_CUSTOMER_TOKEN_SECRET is not set"),
        "429": (TooManyAttemptsError, "too_many_attempts: this client waits out its failed email and postal_code "
                                      f"proofs, or (phone, invalid customer_token) {POSSESSION_RULE}")},
        VerificationInput, (
        "An email, postal_code or phone proof proves only the order it is checked against. A phone proof is the "
        "conversation's own number, for an SMS or WhatsApp conversation; its `value` is ignored, and any other "
        "or unknown conversation has no phone. A customer_token (the shop's signed login) proves that order "
        "and every other order of the token's email. Emails compare without surrounding blanks and without "
        "the case of A-Z; other characters must match exactly. Failed email and postal_code proofs slow down "
        f"the client, never the order: after {CONVERSATION_FREE} failures in the conversation, "
        f"{ADDRESS_FREE} from its channel address (device or session) or {NETWORK_FREE} from a web shopper's "
        "network address, the client waits a minute, then twice as long after each further failure, at most "
        "an hour. Phone proofs and invalid tokens count only against their rule; a valid customer_token is "
        "never refused.")),
    Operation("GET", "/conversations/{cid}/orders", f"The {MAX_LISTED_ORDERS} newest orders proven in this "
              "conversation", "botToken", {"200": (ProvenOrders, "orders, newest first")}, description=(
        "Orders proven one by one, plus every order of a customer whose customer_token was shown.")),
    Operation("GET", "/conversations/{cid}/orders/{order_id}", "A proven order", "botToken", {
        "200": (OrderView, "the order"), "403": (Error, "not_verified (also for unknown orders)"),
        **ORDER_ID_ERROR}),
    Operation("POST", "/conversations/{cid}/requests", "Open a request for a proven order", "botToken", {
        "200": (RequestAnswer, "already open: the conversation's open request of this kind for this order, "
                               "unchanged (no second label, no second entry for the team)"),
        "201": (RequestAnswer, "opened"), "403": (Error, "not_verified (also for unknown orders)"),
        "409": (RefusedError, "too_late, not_delivered or return_window_over")}, RequestInput, (
        "Teams: return, cancellation, address_change → logistics; invoice_copy → billing. Cancellation until "
        "packed, address change until shipped, returns within 30 days of delivery.")),
    Operation("GET", "/conversations/{cid}/requests", "Requests of this conversation with their current status",
              "botToken", {"200": (Requests, "requests, oldest first")}),
)

AGENT = (
    Operation("POST", "/agent/login", "Log an agent in to the console", None, {
        "200": (agent.AgentSessionView, "the agent and the session's CSRF token"),
        "401": (Error, "invalid_credentials: wrong email or password (never tells which)"),
        "415": (Error, "unsupported_media_type: the body must be application/json"),
        "429": (TooManyAttemptsError, "too_many_attempts: too many logins from this address, or with this email "
                                      "from this address (agent_login_per_address, agent_login_per_address_email); "
                                      "the same email from elsewhere is not held up")}, agent.LoginInput, (
        f"Sets the HttpOnly, SameSite=Strict session cookie `{COOKIE}` (Secure when STORECHAT_PUBLIC_URL is "
        "https). The session ends after STORECHAT_AGENT_SESSION_HOURS without a request.")),
    Operation("POST", "/agent/logout", "End the session", "agentSession",
              {"204": (None, "logged out; the cookie is cleared")}, csrf=True),
    Operation("GET", "/agent/me", "The logged-in agent", "agentSession",
              {"200": (agent.AgentSessionView, "the agent and the session's CSRF token")}),
    Operation("GET", "/agent/queues", "Every team's queue, the agent's open chats, every agent's load",
              "agentSession", {"200": (agent.Queues, "the queues")}),
    Operation("GET", "/agent/agents", "Every agent with presence and open chats", "agentSession",
              {"200": (agent.Agents, "the agents")}),
    Operation("PUT", "/agent/presence", "Be online (auto-assignment gives you chats) or away; offline is having "
              "no console open", "agentSession", {"200": (agent.AgentLoadView, "the agent's presence now")},
              agent.PresenceInput, csrf=True),
    Operation("GET", "/agent/canned", "Search canned answers (faq_data) in a language", "agentSession",
              {"200": (agent.CannedAnswerList, "the answers")},
              query={"locale": "the shopper's language", "q": "words to search for"}),
    Operation("GET", "/agent/proactive", "How the proactive chat offers do, per rule (supervisors)", "agentSession",
              {"200": (agent.ProactiveReport, "the rules' results"),
               "403": (Error, "not_permitted: supervisors only")}),
    Operation("GET", "/agent/conversations/{cid}", "The whole case", "agentSession",
              {"200": (agent.Case, "the case"), **UNKNOWN_CONVERSATION}),
    Operation("GET", "/agent/conversations/{cid}/suggestion", "The canned answer that best fits the shopper's last "
              "message", "agentSession", {"200": (agent.Suggestion, "the suggestion"), **UNKNOWN_CONVERSATION}),
    Operation("POST", "/agent/conversations/{cid}/claim", "Take a waiting conversation", "agentSession",
              {"200": SUMMARY, **CONFLICT, **WORKED}, csrf=True),
    Operation("POST", "/agent/conversations/{cid}/messages", "Reply to the shopper on their channel (claims a "
              "waiting conversation)", "agentSession", {
                  "201": (agent.SentMessage, "the message as recorded, at once (the provider is not waited "
                                             "for): delivery queued on SMS, Messenger and WhatsApp, sent on the "
                                             "web chat"), **CONFLICT, **WORKED,
                  "422": (Error, "a field is missing or invalid, or not_sent: the channel does not allow it now "
                                 "(kept on the case)")}, agent.TextInput, csrf=True),
    Operation("POST", "/agent/conversations/{cid}/notes", "Add a private note (never sent to the shopper)",
              "agentSession", {"201": (agent.CaseEvent, "the note"), **WORKED}, agent.TextInput,
              csrf=True),
    Operation("POST", "/agent/conversations/{cid}/transfer", "Give the conversation to another team's queue or to "
              "another agent (its agent or a supervisor)", "agentSession", {
                  "200": SUMMARY, **CONFLICT, **NOT_PERMITTED, **UNKNOWN_CONVERSATION,
                  "422": (Error, "a field is missing or invalid, or invalid_transfer: not exactly one of team and "
                                 "agent, or no such agent")}, agent.TransferInput, csrf=True),
    Operation("POST", "/agent/conversations/{cid}/resolve", "Close the case; the shopper is asked for their "
              "satisfaction (1–5 and a comment)", "agentSession",
              {"200": SUMMARY, **CONFLICT, **NOT_PERMITTED, **UNKNOWN_CONVERSATION}, csrf=True),
    Operation("POST", "/agent/conversations/{cid}/handback", "Hand a waiting or assigned conversation back to the "
              "bot (its agent or a supervisor); the shopper is told the assistant answers again", "agentSession",
              {"200": SUMMARY, **CONFLICT, **NOT_PERMITTED, **UNKNOWN_CONVERSATION}, csrf=True),
)
SUPERVISORS_ONLY = {"403": (Error, "not_permitted: supervisors only"),
                    "422": (Error, "invalid_query: a parameter is not what it should be (the message names it)")}


def _report(name: str, model: type[BaseModel], summary: str, **query: str) -> Operation:
    return Operation("GET", f"/agent/reports/{name}", summary, "agentSession",
                     {"200": (model, "the report (README: what every figure means)"), **SUPERVISORS_ONLY},
                     query={**reports_api.QUERY, **query})


REPORTS = (
    _report("volume", reports.VolumeReport, "Conversations started and handoffs by channel, day, weekday × hour"),
    _report("speed", reports.SpeedReport, "First response (from the handoff), resolution, waiting and handling "
            "times", target="first responses of this many seconds or longer are over target (default "
            "STORECHAT_FIRST_RESPONSE_TARGET)"),
    _report("bot", reports.BotReport, "Deflection overall and per topic, handoffs by reason, not-understood turns"),
    _report("satisfaction", reports.SatisfactionReport, "CSAT score, response rate, distribution, trend, "
            "comments; per team, agent, channel"),
    _report("staffing", reports.StaffingReport, "Agents needed per weekday × hour (Erlang C) and next week's "
            "forecast", concurrency="chats one agent works at once (default STORECHAT_AGENT_MAX_CHATS)",
            service_level="share of handoffs to answer in time, 0.05–0.99 (default 0.8)",
            answer_within="seconds (default STORECHAT_FIRST_RESPONSE_TARGET)"),
    _report("complaints", reports.ComplaintsReport, "Product alerts, complaint clusters by product and theme, "
            "feedback classes"),
    _report("proactive", reports.ProactiveRangeReport, "The chat offers per rule over the range, and today"),
    _report("notifications", reports.NotificationsReport, "Order notifications sent by status and channel; "
            "'where is my order?' per 100 shipped orders, notified vs not"),
    Operation("GET", "/agent/reports/conversations.csv", "The conversations behind the reports, one CSV row "
              "each (episode): times, channel, team, agent, topic, reason, outcome, CSAT", "agentSession",
              {"200": (None, "text/csv, UTF-8, a header row first"), **SUPERVISORS_ONLY}, query=reports_api.QUERY),
)
SUPERVISOR = (
    Operation("GET", "/agent/conversations", "Every conversation, newest activity first, filtered and searched "
              "(supervisors)", "agentSession", {"200": (supervisor.DirectoryPage, "one page"), **SUPERVISORS_ONLY},
              query=supervisor.query_parameters(supervisor.DirectoryQuery), description=(
        "Filters combine (all must hold). The list follows the conversations' events within moments; a page's "
        "summaries are read from the conversations themselves. The search covers what shopper, bot and agents "
        "wrote (messages, notes, CSAT comments); very common words (und, the, …) are not searched, and a word "
        f"used in more than {POSTINGS_PER_TERM:,} conversations finds the newest {POSTINGS_PER_TERM:,} of them.")),
    Operation("GET", "/agent/overview", "Waiting per team, every agent's presence and load, totals (supervisors)",
              "agentSession", {"200": (supervisor.Overview, "the overview now"),
                               "403": SUPERVISORS_ONLY["403"]}),
    Operation("GET", "/agent/requests", "The teams' shopper requests (returns, cancellations, …) with their status "
              "(supervisors)", "agentSession", {"200": (supervisor.TeamRequestList, "per team, newest first"),
                                                **SUPERVISORS_ONLY},
              query=supervisor.query_parameters(supervisor.RequestsQuery)),
)
UNKNOWN_CONTACT = {"404": _not_found("unknown_contact")}
PRIVACY = (
    Operation("GET", "/agent/contacts", "Find a contact by an email or phone it proved (supervisors)", "agentSession",
              {"200": (privacy.ContactView, "the contact, its identities and conversations"), **UNKNOWN_CONTACT,
               **SUPERVISORS_ONLY}, query=supervisor.query_parameters(privacy.ContactQuery)),
    Operation("GET", "/agent/contacts/{contact_id}", "A contact: its identities and conversations (supervisors)",
              "agentSession", {"200": (privacy.ContactView, "the contact"), **UNKNOWN_CONTACT,
                               "403": SUPERVISORS_ONLY["403"]}),
    Operation("POST", "/agent/contacts/{contact_id}/export", "Everything storechat holds about a contact, as a JSON "
              "download (supervisors; on the audit trail)", "agentSession", {
                  "200": (privacy.ContactExport, "the export (Content-Disposition: attachment)"), **UNKNOWN_CONTACT,
                  "403": SUPERVISORS_ONLY["403"]}, privacy.ReasonInput, csrf=True),
    Operation("POST", "/agent/contacts/{contact_id}/erase", "Erase a contact: its conversations, identities, trails "
              "and requests' personal fields; reports keep pseudonymised counts (supervisors; on the audit trail)",
              "agentSession", {"200": (privacy.ErasedView, "erased: what it covered"), **UNKNOWN_CONTACT,
                               "403": SUPERVISORS_ONLY["403"]}, privacy.ReasonInput, csrf=True),
    Operation("GET", "/agent/privacy/audit", "The audit trail of exports and erasures, newest first (supervisors)",
              "agentSession", {"200": (privacy.AuditTrail, "the entries"), **SUPERVISORS_ONLY},
              query=supervisor.query_parameters(privacy.AuditQuery)),
)
OPERATIONS = (*SHOP, *AGENT, *REPORTS, *SUPERVISOR, *PRIVACY, *(Operation(*row) for row in callbacks.OPERATIONS),
              *(Operation(**spec) for spec in actions.OPERATIONS))  # agents' actions on shopper requests

# Added to every operation of its kind; an operation's own answer for the same status comes first.
BEARER_ERRORS: Mapping[str, Answer] = {
    "401": (Error, "missing or invalid bearer token"),
    "403": (Error, "the other role's token (shop vs. bot)"),
    "503": (Error, "api_disabled: this role's token is not configured"),
}
SESSION_ERRORS: Mapping[str, Answer] = {"401": (Error, "unauthorized: no session, or it has expired")}
CSRF_ERRORS: Mapping[str, Answer] = {"403": (Error, f"csrf_failed: {CSRF_HEADER} is missing or not the session's")}
# Every operation: the rate rules of config/limits.yml (README: Limits).
RATE_LIMITED: Mapping[str, Answer] = {"429": (RateLimitedError, (
    "rate_limited: too many requests from this address (api_per_address), with this token (api_per_token) or "
    "by this agent (agent_api_per_agent); Retry-After says when to try again"))}
BODY_ERRORS: Mapping[str, Answer] = {
    "400": (Error, "invalid_json: the body is not JSON"),
    "413": (Error, f"body_too_large: more than {MAX_BODY_BYTES} bytes"),
    "422": (Error, "a field is missing or invalid; the message names its path"),
}
PATH_PARAMETERS = {
    "order_id": "the shop's order number (STORECHAT_ORDER_NUMBER_PATTERN)",
    "cid": "the conversation id (Rasa's sender id)",
    "return_id": "a return request's id",
    "contact_id": "a contact's id (a conversation's contact_id)", **actions.PATH_PARAMETERS,
}
SECURITY_SCHEMES = {
    "shopToken": {"type": "http", "scheme": "bearer", "description": "STORECHAT_SHOP_TOKEN"},
    "botToken": {"type": "http", "scheme": "bearer", "description": "STORECHAT_BOT_TOKEN"},
    "agentSession": {"type": "apiKey", "in": "cookie", "name": COOKIE, "description": "set by POST /agent/login"},
}


def _models() -> list[type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {Error.__name__: Error, RateLimitedError.__name__: RateLimitedError}
    for operation in OPERATIONS:
        for model in (operation.body, *(model for model, _ in operation.answers.values())):
            if model is not None:
                found[model.__name__] = model
    return list(found.values())


def _ref(model: type[BaseModel]) -> Schema:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


# The bodies one status may have (several tables may give it), and what it means.
Merged = tuple[tuple[type[BaseModel], ...], str]


def _merged(*tables: Mapping[str, Answer]) -> dict[str, Merged]:
    """The answers of every table; where two give one status, one entry with both descriptions
    and either body (a 429 of the operation's own, or of a rate rule)."""
    merged: dict[str, Merged] = {}
    for table in tables:
        for status, (model, description) in table.items():
            models, before = merged.get(status, ((), ""))
            # A body already there that is a kind of this one says more (NoMatchError, not Error).
            if model is not None and not any(issubclass(known, model) for known in models):
                models = (*models, model)
            merged[status] = (models, f"{before}; {description}" if before else description)
    return dict(sorted(merged.items()))


def _response(models: tuple[type[BaseModel], ...], description: str) -> Schema:
    if not models:
        return {"description": description}
    schema = _ref(models[0]) if len(models) == 1 else {"anyOf": [_ref(model) for model in models]}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _parameters(operation: Operation, order_pattern: str | None) -> list[Schema]:
    parameters = []
    patterns = {**PATH_PATTERNS, "order_id": order_pattern}
    for name in re.findall(r"{(\w+)}", operation.path):
        schema: Schema = {"type": "string"}
        if (pattern := patterns.get(name)) is not None:
            schema["pattern"] = f"^(?:{pattern})$"
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema,
                           "description": PATH_PARAMETERS[name]})
    parameters += [{"name": name, "in": "query", "required": False, "schema": {"type": "string"},
                    "description": description} for name, description in operation.query.items()]
    if operation.csrf:
        parameters.append({"name": CSRF_HEADER, "in": "header", "required": True, "schema": {"type": "string"},
                           "description": "the csrf_token of the session (login or /agent/me answer it)"})
    return parameters


def _operation(operation: Operation, order_pattern: str | None) -> Schema:
    security = operation.security
    tables = [operation.answers, RATE_LIMITED]
    if security in ("shopToken", "botToken"):
        tables.append(BEARER_ERRORS)
    if security == "agentSession":
        tables += [SESSION_ERRORS, CSRF_ERRORS] if operation.csrf else [SESSION_ERRORS]
    if operation.body is not None:
        tables.append(BODY_ERRORS)
    described: Schema = {
        "summary": operation.summary,
        "security": [] if security is None else [{security: []}],
        "responses": {status: _response(*answer) for status, answer in _merged(*tables).items()},
    }
    if parameters := _parameters(operation, order_pattern):
        described["parameters"] = parameters
    if operation.body is not None:
        described["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(operation.body)}}}
    if operation.description is not None:
        described["description"] = operation.description
    return described


def _paths(order_pattern: str | None) -> Schema:
    paths: Schema = {"/openapi.json": {"get": {
        "summary": "This document", "security": [],
        "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {}}},
                      "429": _response((RateLimitedError,), RATE_LIMITED["429"][1])},
    }}}
    for operation in OPERATIONS:
        paths.setdefault(operation.path, {})[operation.method.lower()] = _operation(operation, order_pattern)
    return paths


def schemas() -> Schema:
    """Every model's JSON Schema, named as the model, with references between them."""
    _, generated = models_json_schema([(model, "validation") for model in _models()],
                                      ref_template="#/components/schemas/{model}")
    return dict(generated["$defs"])


def document(server_url: str, order_pattern: str | None = None) -> Schema:
    """The document; `order_pattern` (STORECHAT_ORDER_NUMBER_PATTERN) constrains the order_id in paths."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "storechat shop API",
            "version": "1",
            "description": "Orders and return updates from the shop (shop token); verification, order look-ups "
                           "and requests for the bot (bot token); the agent console's session (cookie, plus a "
                           'CSRF header on changes). Every error is {"error": code, "message": text}.',
        },
        "servers": [{"url": f"{server_url}/api/v1"}],
        "paths": _paths(order_pattern), "webhooks": actions.webhooks(),  # the shop hears agents' actions
        "components": {"schemas": {**actions.webhook_schemas(), **schemas()}, "securitySchemes": SECURITY_SCHEMES},
    }
