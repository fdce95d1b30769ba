"""The body of a shop webhook: one agent's action on one shopper request.

The model is the contract: it writes the body and is its schema in the OpenAPI document's
`webhooks` (gateway/api/request_actions_doc.py).
"""

from __future__ import annotations

import hashlib
from enum import StrEnum

from pydantic import Field

from gateway.json_input import Body, Timestamp
from gateway.shop.orders import OrderStatus
from gateway.shop.shopper_requests import RequestView


class ShopEventType(StrEnum):
    REQUEST_APPROVED = "request.approved"
    REQUEST_REJECTED = "request.rejected"
    RETURN_LABEL_SENT = "return.label_sent"
    DAMAGED_ITEM_DECIDED = "damaged_item.decided"


def shop_event_id(request_id: str, action: str) -> str:
    """The one id an action on a request ever has: each action happens once to a request, so
    a retried click, a second process or a redelivery all name the same event."""
    return "evt_" + hashlib.sha256(f"{request_id}:{action}".encode()).hexdigest()[:32]


class ShopEventAgent(Body):
    email: str
    name: str


class ShopEventOrder(Body):
    order_id: str
    status: OrderStatus = Field(description="the order's status when the agent acted")


class ShopEvent(Body):
    """What the shop's systems carry out: approve → cancel the order, change its address or
    expect the parcel; rejected → nothing; label sent → a return is on its way; decided → send
    the replacement or refund."""

    id: str = Field(description="the event's id, the same on every retry: deduplicate by it")
    type: ShopEventType
    created_at: Timestamp = Field(description="when the agent acted")
    conversation_id: str
    agent: ShopEventAgent
    order: ShopEventOrder
    request: RequestView = Field(description="the request as the action left it")
    reason: str | None = Field(None, description="request.rejected: why, as the shopper was told")
