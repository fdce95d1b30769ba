"""The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json.

Shop developers build against this document, so it is derived from the same
enums and limits the code enforces, and a test checks that every route of
gateway/api/shop.py and gateway/api/agent.py is described here with its token
or session, and nothing else is.
"""

from __future__ import annotations

from typing import Any

from core.types import Author, Channel, ConversationState, EventKind, Team
from gateway.api.agent import COOKIE, CSRF_HEADER
from gateway.api.http import MAX_BODY_BYTES
from gateway.desk.agents import LOGIN_ATTEMPTS, LOGIN_WINDOW_SECONDS, MAX_PASSWORD_CHARS, AgentRole
from gateway.desk.assignment import Presence
from gateway.proactive.events import MAX_CART_ITEMS, SESSION_ID, EventType, PageType
from gateway.proactive.rules import Target
from gateway.shop.orders import CARRIERS, NOTIFY_CHANNELS, NOTIFY_LOCALES, STATUSES
from gateway.shop.shopper_requests import REQUEST_KINDS, RETURN_EVENT_STATUSES, TEAMS, RequestStatus
from gateway.shop.verification import CONVERSATION_ATTEMPTS, MAX_LISTED_ORDERS, ORDER_ATTEMPTS, PROOF_KINDS

Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: Schema) -> Schema:
    return {"oneOf": [schema, {"type": "null"}]}


def _object(properties: dict[str, Schema], required: list[str], **extra: Any) -> Schema:
    return {"type": "object", "properties": properties, "required": required, **extra}


STRING: Schema = {"type": "string", "minLength": 1}
MONEY: Schema = {"type": "string", "pattern": r"^\d{1,9}(\.\d{1,2})?$", "examples": ["39.80"]}
DATE: Schema = {"type": "string", "format": "date"}
DATE_TIME: Schema = {"type": "string", "format": "date-time", "description": "with UTC offset"}
URL: Schema = {"type": "string", "format": "uri", "pattern": "^https?://"}
MILLIS: Schema = {"type": "integer", "description": "milliseconds since the epoch"}


def _storefront_schemas() -> dict[str, Schema]:
    """Storefront events (the same objects as the widget's `storefront_event`) and the offers' results."""
    money: Schema = {"type": "string", "pattern": r"^\d{1,9}(\.\d{1,2})?$", "examples": ["79.80"]}

    def event(kind: EventType, properties: dict[str, Schema], required: list[str]) -> Schema:
        return _object({"type": {"const": kind.value}, **properties}, ["type", *required])

    item = _object({"sku": STRING, "name": STRING, "quantity": {"type": "integer", "minimum": 1}, "price": money},
                   ["sku", "name", "quantity", "price"])
    cart: dict[str, Schema] = {"items": {"type": "array", "items": item, "maxItems": MAX_CART_ITEMS,
                      "description": "empty: the cart was emptied"},
            "value": money, "currency": {"type": "string", "pattern": "^[A-Z]{3}$", "examples": ["EUR"]}}
    counts = {name: {"type": "integer", "minimum": 0} for name in ("shown", "accepted", "declined", "converted")}
    return {
        "StorefrontEvent": {"oneOf": [
            event(EventType.PAGE_VIEW, {"page_type": {"type": "string", "enum": [page.value for page in PageType]},
                                        "url": URL, "title": STRING}, ["page_type"]),
            event(EventType.CART, cart, ["items", "value", "currency"]),
            event(EventType.CHECKOUT_STARTED, {}, []),
            event(EventType.ORDER_PLACED, {"order_id": STRING, "value": money}, []),
        ]},
        "StorefrontEventInput": _object(
            {"session_id": {"type": "string", "pattern": f"^{SESSION_ID.pattern}$",
                            "description": "the widget's session id (StorechatWidget.sessionId())"},
             "event": _ref("StorefrontEvent")},
            ["session_id", "event"],
        ),
        "Visitor": _object(
            {"cart": _nullable(_object({**cart, "updated_at": MILLIS}, ["items", "value", "currency", "updated_at"])),
             "trail": {"type": "array", "description": "the last page views, oldest first",
                       "items": _object({"page_type": {"type": "string", "enum": [page.value for page in PageType]},
                                         "url": _nullable(URL), "title": _nullable(STRING), "at": MILLIS},
                                        ["page_type", "url", "title", "at"])}},
            ["cart", "trail"],
            description="the web visitor's storefront activity (empty for other channels)",
        ),
        "ProactiveReport": _object({"rules": {"type": "array", "items": _object(
            {"rule": STRING, "target": {"type": "string", "enum": [target.value for target in Target]}, **counts,
             "conversion_rate": {"type": "number", "minimum": 0, "description": "converted / shown"}},
            ["rule", "target", *counts, "conversion_rate"],
        )}}, ["rules"]),
    }


def _schemas() -> dict[str, Schema]:
    address = _object(
        {"name": STRING, "street": STRING, "postal_code": STRING, "city": STRING,
         "country": {"type": "string", "pattern": "^[A-Z]{2}$", "description": "ISO 3166-1 alpha-2"}},
        ["name", "street", "postal_code", "city", "country"],
    )
    item = _object(
        {"sku": STRING, "name": STRING, "quantity": {"type": "integer", "minimum": 1}, "price": MONEY},
        ["sku", "name", "quantity", "price"],
    )
    order_fields: dict[str, Schema] = {
        "order_id": {"type": "string", "description": "optional in the body; must equal the URL's"},
        "email": {"type": "string", "format": "email"},
        "phone": _nullable({"type": "string", "examples": ["+4915112345678"]}),
        "postal_code": _nullable(STRING),
        "customer_name": _nullable(STRING),
        "items": {"type": "array", "items": _ref("Item"), "minItems": 1, "maxItems": 100},
        "total": MONEY,
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$", "examples": ["EUR"]},
        "status": _ref("OrderStatus"),
        "carrier": _nullable({"type": "string", "enum": list(CARRIERS)}),
        "tracking_number": _nullable(STRING),
        "tracking_url": _nullable(URL),
        "estimated_delivery": _nullable(DATE),
        "placed_at": DATE_TIME,
        "invoice_url": _nullable(URL),
        "shipping_address": _nullable(_ref("Address")),
        "notify": _nullable(_ref("Notify")),
    }
    order_required = ["email", "items", "total", "currency", "status", "placed_at"]
    event = _object(
        {"status": _ref("OrderStatus"), "at": DATE_TIME, "location": STRING, "note": STRING},
        ["status", "at"],
    )
    request_statuses = [status.value for status in RequestStatus]
    return {
        "Error": _object({"error": {"type": "string"}, "message": {"type": "string"}}, ["error", "message"]),
        "NoMatch": {"allOf": [_ref("Error"), _object(
            {"error": {"const": "no_match"}, "attempts_left": {"type": "integer", "minimum": 0}}, ["attempts_left"],
        )]},
        "Refused": {"allOf": [_ref("Error"), _object(
            {"error": {"enum": ["too_late", "not_delivered", "return_window_over", "invalid_transition"]},
             "status": {"type": "string", "description": "the order's (or the return's) current status"}},
            ["status"],
        )]},
        "OrderStatus": {"type": "string", "enum": list(STATUSES)},
        "Address": address,
        "Notify": _object(
            {"channel": {"type": "string", "enum": list(NOTIFY_CHANNELS)},
             "address": {"type": "string", "examples": ["+4915112345678"],
                         "description": "sms, whatsapp: the phone in E.164 form; messenger: the page-scoped "
                                        "id; web: the widget's session id (StorechatWidget.sessionId())"},
             "locale": {"type": "string", "enum": list(NOTIFY_LOCALES)}},
            ["channel", "address", "locale"],
            description="Where the customer wants news of the shipment: the statuses of "
                        "config/notifications.yml are told there (never in the quiet hours, once per "
                        "event). Only the shop's answers show it, never the bot's.",
        ),
        "Item": item,
        "OrderInput": _object(order_fields, order_required,
                              description="An order as the shop sends it; `events` is ignored if sent."),
        "Order": _object({**order_fields, "events": {"type": "array", "items": _ref("OrderEvent")}},
                         ["order_id", *order_required, "events"]),
        "OrderEvent": event,
        "OrderEventInput": _object(
            {**event["properties"], "estimated_delivery": DATE},
            ["status"],
            description="`at` defaults to now; the order takes the event's status. An order with "
                        "`notify` tells the customer of it; the same status and `at` posted again "
                        "tells them nothing more (send `at`, so a retry is recognised).",
        ),
        "ReturnEventInput": _object(
            {"status": {"type": "string", "enum": list(RETURN_EVENT_STATUSES)}, "note": STRING}, ["status"],
            description="open → received → refunded | rejected (open → rejected too).",
        ),
        "VerificationInput": _object(
            {"order_id": {"type": "string"}, "proof": _object(
                {"kind": {"type": "string", "enum": list(PROOF_KINDS)}, "value": STRING}, ["kind", "value"],
            )},
            ["order_id", "proof"],
        ),
        "RequestInput": _object(
            {
                "kind": {"type": "string", "enum": list(REQUEST_KINDS)},
                "order_id": {"type": "string"},
                "items": {"type": "array", "items": STRING, "minItems": 1,
                          "description": "SKUs of the order (returns; default: every item)"},
                "reason": STRING,
                "address": _ref("Address"),
            },
            ["kind", "order_id"],
            description="`address` is required for an address_change.",
        ),
        "Request": _object(
            {
                "id": {"type": "string"},
                "kind": {"type": "string", "enum": list(REQUEST_KINDS)},
                "order_id": {"type": "string"},
                "conversation_id": {"type": "string"},
                "status": {"type": "string", "enum": request_statuses},
                "team": {"type": "string", "enum": sorted(set(TEAMS.values()))},
                "created_at": DATE_TIME,
                "updated_at": DATE_TIME,
                "items": {"type": "array", "items": {"type": "string"}},
                "reason": _nullable({"type": "string"}),
                "note": _nullable({"type": "string"}),
                "address": _ref("Address"),
                "label_url": {"type": "string", "format": "uri", "description": "returns only"},
            },
            ["id", "kind", "order_id", "conversation_id", "status", "team", "created_at", "updated_at", "items"],
        ),
        "LoginInput": _object(
            {"email": {"type": "string", "maxLength": 254},
             "password": {"type": "string", "minLength": 1, "maxLength": MAX_PASSWORD_CHARS}},
            ["email", "password"],
        ),
        "Agent": _object(
            {"email": {"type": "string"}, "name": {"type": "string"},
             "team": {"type": "string", "enum": [team.value for team in Team]},
             "role": {"type": "string", "enum": [role.value for role in AgentRole]}},
            ["email", "name", "team", "role"],
        ),
        "AgentLoad": _object(
            {"email": {"type": "string"}, "name": {"type": "string"},
             "team": {"type": "string", "enum": [team.value for team in Team]},
             "role": {"type": "string", "enum": [role.value for role in AgentRole]},
             "presence": {"type": "string", "enum": [presence.value for presence in Presence]},
             "open_chats": {"type": "integer", "minimum": 0}},
            ["email", "name", "team", "role", "presence", "open_chats"],
        ),
        "ConversationSummary": _object(
            {"id": STRING, "contact_id": STRING,
             "channel": {"type": "string", "enum": [channel.value for channel in Channel]},
             "state": {"type": "string", "enum": [state.value for state in ConversationState]},
             "team": _nullable({"type": "string", "enum": [team.value for team in Team]}),
             "agent": _nullable({"type": "string"}), "agent_name": _nullable({"type": "string"}),
             "locale": STRING, "reason": _nullable({"type": "string", "description": "why it was queued"}),
             "created_at": MILLIS, "updated_at": MILLIS, "state_since": MILLIS,
             "queued_at": _nullable(MILLIS),
             "preview": _nullable({"type": "string", "description": "the shopper's last message, shortened"})},
            ["id", "contact_id", "channel", "state", "team", "agent", "locale", "created_at", "queued_at"],
        ),
        "CaseEvent": _object(
            {"id": {"type": "string", "description": "stream id, increasing"},
             "kind": {"type": "string", "enum": [kind.value for kind in EventKind]}, "at": MILLIS,
             "author": _nullable({"type": "string", "enum": [author.value for author in Author]}),
             "text": _nullable({"type": "string"}),
             "data": {"type": "object", "description": "a bot message: intent, confidence, retrieval_intent, "
                      "retrieval_confidence; an agent message or note: agent, agent_name; a state change: from, "
                      "to, reason, team, agent; a request: the request; csat: score, comment"}},
            ["id", "kind", "at", "author", "text", "data"],
        ),
        "Case": _object(
            {"conversation": _ref("ConversationSummary"),
             "events": {"type": "array", "items": _ref("CaseEvent")},
             "orders": {"type": "array", "items": _ref("Order"), "description": "only orders the shopper proved"},
             "requests": {"type": "array", "items": _ref("Request")},
             "earlier": {"type": "array", "items": _ref("ConversationSummary"),
                         "description": "the contact's other conversations, newest first"},
             "visitor": _ref("Visitor"),
             "trail": {"type": "array", "items": {"type": "object"}, "description": "visitor.trail (older consoles)"},
             "cart": _nullable({"type": "object", "description": "visitor.cart (older consoles)"}),
             "csat": _nullable(_object({"score": {"type": "integer", "minimum": 1, "maximum": 5},
                                        "comment": _nullable({"type": "string"})}, ["score", "comment"]))},
            ["conversation", "events", "orders", "requests", "earlier", "visitor", "trail", "cart", "csat"],
        ),
        "Queues": _object(
            {"queues": {"type": "object", "description": "team → its waiting conversations, oldest first; "
                        "the agent's own team first",
                        "additionalProperties": {"type": "array", "items": _ref("ConversationSummary")}},
             "mine": {"type": "array", "items": _ref("ConversationSummary")},
             "agents": {"type": "array", "items": _ref("AgentLoad")}},
            ["queues", "mine", "agents"],
        ),
        "CannedAnswer": _object(
            {"topic": STRING, "title": STRING, "text": STRING,
             "score": _nullable({"type": "number", "minimum": 0, "maximum": 1})},
            ["topic", "title", "text", "score"],
        ),
        "TextInput": _object({"text": {"type": "string", "minLength": 1}}, ["text"]),
        "TransferInput": {**_object({"team": {"type": "string", "enum": [team.value for team in Team]},
                                     "agent": {"type": "string", "description": "an agent's email"}}, []),
                          "description": "exactly one of team and agent"},
        "PresenceInput": _object({"status": {"type": "string", "enum": [Presence.ONLINE.value,
                                                                        Presence.AWAY.value]}}, ["status"]),
        "AgentSession": _object(
            {"agent": _ref("Agent"),
             "csrf_token": {"type": "string", "description": f"send it as {CSRF_HEADER} on every state-changing "
                                                            "agent request"}},
            ["agent", "csrf_token"],
        ),
        **_storefront_schemas(),
    }


def _json(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str, schema: str = "Error") -> Schema:
    return _json(_ref(schema), description)


def _body(schema: str) -> Schema:
    return {"required": True, "content": {"application/json": {"schema": _ref(schema)}}}


AUTH_ERRORS = {
    "401": {**_error("missing or invalid bearer token"),
            "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}}},
    "403": _error("the other role's token (shop vs. bot)"),
    "503": _error("api_disabled: this role's token is not configured"),
}
BODY_ERRORS = {
    "400": _error("invalid_json: the body is not JSON"),
    "413": _error(f"body_too_large: more than {MAX_BODY_BYTES} bytes"),
    "422": _error("a field is missing or invalid; the message names its path"),
}
ORDER_ID_ERROR = {"422": _error("invalid_order_id: the id does not match STORECHAT_ORDER_NUMBER_PATTERN")}


def _operation(summary: str, security: str, responses: dict[str, Schema], *,
               body: str | None = None, description: str | None = None) -> Schema:
    merged = dict(responses)
    for code, auth_error in AUTH_ERRORS.items():
        # A 403 may also mean not_verified: one status, both meanings described.
        if code in merged:
            merged[code] = {**merged[code], "description": f"{merged[code]['description']}; {auth_error['description']}"}
        else:
            merged[code] = auth_error
    operation: Schema = {"summary": summary, "security": [{security: []}], "responses": merged}
    if body is not None:
        operation["requestBody"] = _body(body)
        operation["responses"] = {**BODY_ERRORS, **operation["responses"]}
    if description is not None:
        operation["description"] = description
    return operation


def _param(name: str, description: str) -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}, "description": description}


ORDER_ID = _param("order_id", "the shop's order number")
CID = _param("cid", "the conversation id (Rasa's sender id)")
RETURN_ID = _param("return_id", "a return request's id")


CSRF = {"name": CSRF_HEADER, "in": "header", "required": True, "schema": {"type": "string"},
        "description": "the csrf_token of the session (login or /agent/me answer it)"}
SESSION_ERRORS = {"401": _error("unauthorized: no session, or it has expired")}
CSRF_ERRORS = {"403": _error(f"csrf_failed: {CSRF_HEADER} is missing or not the session's")}


def _agent_operation(summary: str, responses: dict[str, Schema], *, csrf: bool) -> Schema:
    operation: Schema = {"summary": summary, "security": [{"agentSession": []}],
                         "responses": {**SESSION_ERRORS, **(CSRF_ERRORS if csrf else {}), **responses}}
    if csrf:
        operation["parameters"] = [CSRF]
    return operation


def _query(name: str, description: str) -> Schema:
    return {"name": name, "in": "query", "required": False, "schema": {"type": "string"}, "description": description}


CONFLICT = {"409": _error("conflict: another agent has it, or it is no longer waiting or open")}
NOT_PERMITTED = {"403": _error("not_permitted: only the conversation's agent or a supervisor")}
UNKNOWN_CONVERSATION = {"404": _error("unknown_conversation")}


def _agent_paths() -> dict[str, Schema]:
    session = _json(_ref("AgentSession"), "the agent and the session's CSRF token")
    summary = _json(_ref("ConversationSummary"), "the conversation now")
    return {
        "/agent/login": {"post": {
            "summary": "Log an agent in to the console", "security": [], "requestBody": _body("LoginInput"),
            "description": f"Sets the HttpOnly, SameSite=Strict session cookie `{COOKIE}` (Secure when "
                           "STORECHAT_PUBLIC_URL is https). The session ends after "
                           "STORECHAT_AGENT_SESSION_HOURS without a request.",
            "responses": {
                "200": {**session, "headers": {"Set-Cookie": {"schema": {"type": "string"}}}},
                **BODY_ERRORS,
                "401": _error("invalid_credentials: wrong email or password (never tells which)"),
                "415": _error("unsupported_media_type: the body must be application/json"),
                "429": {**_error(f"locked: {LOGIN_ATTEMPTS} failed logins for this email within "
                                 f"{LOGIN_WINDOW_SECONDS // 60} minutes"),
                        "headers": {"Retry-After": {"schema": {"type": "integer"}}}},
            },
        }},
        "/agent/logout": {"post": _agent_operation("End the session", {
            "204": {"description": "logged out; the cookie is cleared"},
        }, csrf=True)},
        "/agent/me": {"get": _agent_operation("The logged-in agent", {"200": session}, csrf=False)},
        "/agent/queues": {"get": _agent_operation("Every team's queue, the agent's open chats, every agent's load", {
            "200": _json(_ref("Queues"), "the queues")}, csrf=False)},
        "/agent/agents": {"get": _agent_operation("Every agent with presence and open chats", {
            "200": _json(_object({"agents": {"type": "array", "items": _ref("AgentLoad")}}, ["agents"]),
                         "the agents")}, csrf=False)},
        "/agent/presence": {"put": {**_agent_operation(
            "Be online (auto-assignment gives you chats) or away; offline is having no console open", {
                "200": _json(_ref("AgentLoad"), "the agent's presence now"), **BODY_ERRORS}, csrf=True),
            "requestBody": _body("PresenceInput")}},
        "/agent/canned": {"get": {**_agent_operation("Search canned answers (faq_data) in a language", {
            "200": _json(_object({"answers": {"type": "array", "items": _ref("CannedAnswer")}}, ["answers"]),
                         "best first; every topic when q is empty")}, csrf=False),
            "parameters": [_query("locale", "the shopper's language"), _query("q", "words to search for")]}},
        "/agent/proactive": {"get": _agent_operation("How the proactive chat offers do, per rule (supervisors)", {
            "200": _json(_ref("ProactiveReport"), "every rule of the rules file, all-time counts"),
            "403": _error("not_permitted: supervisors only")}, csrf=False)},
        "/agent/conversations/{cid}": {"parameters": [CID], "get": _agent_operation("The whole case", {
            "200": _json(_ref("Case"), "the case"), **UNKNOWN_CONVERSATION}, csrf=False)},
        "/agent/conversations/{cid}/suggestion": {"parameters": [CID], "get": _agent_operation(
            "The canned answer that best fits the shopper's last message", {
                "200": _json(_object({"answer": _nullable(_ref("CannedAnswer"))}, ["answer"]),
                             "null when nothing fits"), **UNKNOWN_CONVERSATION}, csrf=False)},
        "/agent/conversations/{cid}/claim": {"parameters": [CID], "post": _agent_operation(
            "Take a waiting conversation", {"200": summary, **CONFLICT, **UNKNOWN_CONVERSATION}, csrf=True)},
        "/agent/conversations/{cid}/messages": {"parameters": [CID], "post": {**_agent_operation(
            "Reply to the shopper on their channel (claims a waiting conversation)", {
                "201": _json(_ref("CaseEvent"), "the message as recorded"), **BODY_ERRORS, **CONFLICT,
                **UNKNOWN_CONVERSATION}, csrf=True), "requestBody": _body("TextInput")}},
        "/agent/conversations/{cid}/notes": {"parameters": [CID], "post": {**_agent_operation(
            "Add a private note (never sent to the shopper)", {
                "201": _json(_ref("CaseEvent"), "the note"), **BODY_ERRORS, **UNKNOWN_CONVERSATION}, csrf=True),
            "requestBody": _body("TextInput")}},
        "/agent/conversations/{cid}/transfer": {"parameters": [CID], "post": {**_agent_operation(
            "Give the conversation to another team's queue or to another agent (its agent or a supervisor)", {
                "200": summary, **BODY_ERRORS, **CONFLICT, **NOT_PERMITTED, **UNKNOWN_CONVERSATION}, csrf=True),
            "requestBody": _body("TransferInput")}},
        "/agent/conversations/{cid}/resolve": {"parameters": [CID], "post": _agent_operation(
            "Close the case; the shopper is asked for their satisfaction (1–5 and a comment)", {
                "200": summary, **CONFLICT, **NOT_PERMITTED, **UNKNOWN_CONVERSATION}, csrf=True)},
    }


def _paths() -> dict[str, Schema]:
    order = _json(_ref("Order"), "the order")
    return {
        "/openapi.json": {"get": {
            "summary": "This document", "security": [],
            "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {}}}},
        }},
        "/orders/{order_id}": {
            "parameters": [ORDER_ID],
            "put": _operation("Create or replace an order", "shopToken", {
                "200": _json(_ref("Order"), "updated (events kept; a status change adds one)"),
                "201": _json(_ref("Order"), "created"),
            }, body="OrderInput"),
            "get": _operation("Read an order", "shopToken", {
                "200": order, "404": _error("not_found"), **ORDER_ID_ERROR,
            }),
        },
        "/orders/{order_id}/events": {
            "parameters": [ORDER_ID],
            "post": _operation("Append a shipment event", "shopToken", {
                "201": _json(_ref("Order"), "the order, now in the event's status"), "404": _error("not_found"),
            }, body="OrderEventInput"),
        },
        "/returns/{return_id}/events": {
            "parameters": [RETURN_ID],
            "post": _operation("Report a return's progress", "shopToken", {
                "200": _json(_object({"request": _ref("Request")}, ["request"]), "the updated return"),
                "404": _error("not_found"),
                "409": _error("invalid_transition", "Refused"),
            }, body="ReturnEventInput"),
        },
        "/storefront/events": {
            "post": _operation("Report what a storefront visitor does (proactive chat offers)", "shopToken", {
                "202": _json(_object({"accepted": {"const": True}}, ["accepted"]), "taken in; rules are evaluated"),
            }, body="StorefrontEventInput", description=(
                "The same events as the widget sends over Socket.IO (`storefront_event`), for what only the "
                "shop's server knows, e.g. an order placed after a payment provider's redirect. The gateway's "
                "clock stamps each event on arrival. An `order_placed` after an offer was shown in the same "
                "browsing session counts as a conversion; `checkout_started` and `order_placed` end the "
                "session's offers."
            )),
        },
        "/conversations/{cid}/verifications": {
            "parameters": [CID],
            "post": _operation("Prove the shopper owns an order", "botToken", {
                "200": _json(_object({"order": _ref("Order")}, ["order"]), "proven for this conversation"),
                "404": _error("no_match: unknown order or wrong proof (never tells which)", "NoMatch"),
                "422": _error("a field is missing or invalid (the message names its path), or "
                              "token_proofs_disabled: STORECHAT_CUSTOMER_TOKEN_SECRET is not set"),
                "429": _error(f"locked: {CONVERSATION_ATTEMPTS} failures in this conversation, or (email and "
                              f"postal_code only) {ORDER_ATTEMPTS} against this order, within an hour"),
            }, body="VerificationInput", description=(
                "An email, postal_code or phone proof proves only the order it is checked against. "
                "A customer_token (the shop's signed login) proves that order and every other order of "
                "the token's email. Emails compare without surrounding blanks and without the case of "
                "A-Z; other characters must match exactly. Every failure counts against the "
                "conversation; email and postal_code failures also count against the order id across "
                "conversations, and a locked order id refuses those two kinds only: customer_token "
                "and phone (the number the channel vouches for) cannot be guessed."
            )),
        },
        "/conversations/{cid}/orders": {
            "parameters": [CID],
            "get": _operation(f"The {MAX_LISTED_ORDERS} newest orders proven in this conversation", "botToken", {
                "200": _json(_object({"orders": {"type": "array", "items": _ref("Order"),
                                                 "maxItems": MAX_LISTED_ORDERS}}, ["orders"]),
                             "orders, newest first"),
            }, description=(
                "Orders proven one by one, plus every order of a customer whose customer_token was "
                f"shown; newest first, at most {MAX_LISTED_ORDERS}."
            )),
        },
        "/conversations/{cid}/orders/{order_id}": {
            "parameters": [CID, ORDER_ID],
            "get": _operation("A proven order", "botToken", {
                "200": order, "403": _error("not_verified (also for unknown orders)"), **ORDER_ID_ERROR,
            }),
        },
        "/conversations/{cid}/requests": {
            "parameters": [CID],
            "post": _operation("Open a request for a proven order", "botToken", {
                "200": _json(_object({"request": _ref("Request")}, ["request"]),
                             "already open: the conversation's open request of this kind for this order, "
                             "unchanged (no second label, no second entry for the team)"),
                "201": _json(_object({"request": _ref("Request")}, ["request"]), "opened"),
                "403": _error("not_verified (also for unknown orders)"),
                "409": _error("too_late, not_delivered or return_window_over", "Refused"),
            }, body="RequestInput", description=(
                "Teams: return, cancellation, address_change → logistics; invoice_copy → billing. "
                "Cancellation until packed, address change until shipped, returns within 30 days of delivery. "
                "While a request of the same kind for the same order is open in this conversation, "
                "asking again gives that one back (200) whatever the body says."
            )),
            "get": _operation("Requests of this conversation with their current status", "botToken", {
                "200": _json(_object({"requests": {"type": "array", "items": _ref("Request")}}, ["requests"]),
                             "requests, oldest first"),
            }),
        },
    }


def document(server_url: str) -> Schema:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "storechat shop API",
            "version": "1",
            "description": "Orders and return updates from the shop (shop token); verification, "
                           "order look-ups and requests for the bot (bot token); the agent console's session "
                           "(cookie, plus a CSRF header on changes). "
                           'Every error is {"error": code, "message": text}.',
        },
        "servers": [{"url": f"{server_url}/api/v1"}],
        "paths": {**_paths(), **_agent_paths()},
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                "shopToken": {"type": "http", "scheme": "bearer", "description": "STORECHAT_SHOP_TOKEN"},
                "botToken": {"type": "http", "scheme": "bearer", "description": "STORECHAT_BOT_TOKEN"},
                "agentSession": {"type": "apiKey", "in": "cookie", "name": COOKIE,
                                 "description": "set by POST /agent/login"},
            },
        },
    }
