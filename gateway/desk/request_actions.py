"""What the agent who has the case decides on a shopper's request, without asking anyone.

Approve or reject a return, cancellation or address change; send a return's label; decide a
damaged item's refund or replacement. Each is one step of the request (RequestStore.change,
one transaction with the step's event on the case and its shop webhook on the queue), then
a message to the shopper in their language on their channel (the Outbox, as an agent's
reply goes). The step happens once: the same action again (a double click, a retried call)
finds it made and answers with it, queueing nothing; the shopper's message has a dedupe key
of its own, so a retry after a process died between the two completes the message instead
of sending it twice. Another action the request's state does not allow is `ActionRefused`
(409), as is what the policy sheet forbids by now (a cancellation once the order is packed,
an address change once it shipped, damage reported 14 days after delivery).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from core.types import Author, Conversation, ConversationState, EventKind, OutgoingMessage
from gateway.conversations.outbox import MessageHeld, Outbox
from gateway.conversations.store import ConversationStore
from gateway.desk.agents import Agent, AgentRole
from gateway.desk.desk import NotPermitted
from gateway.shop.orders import Order, OrderStore
from gateway.shop.shopper_requests import (
    ADDRESS_CHANGEABLE,
    CANCELLABLE,
    Also,
    RequestInput,
    RequestKind,
    RequestRefused,
    RequestStatus,
    RequestStore,
    ShopperRequest,
    UnknownRequest,
    request_to_json,
)
from gateway.shop.verification import Verifier
from gateway.shop_events.events import ShopEvent, ShopEventAgent, ShopEventOrder, ShopEventType, shop_event_id
from gateway.shop_events.queue import Failed, ShopEventQueue
from gateway.texts import Texts

log = logging.getLogger(__name__)
R = RequestStatus
K = RequestKind
Resolution = Literal["refund", "replacement"]
APPROVABLE = frozenset({K.RETURN, K.CANCELLATION, K.ADDRESS_CHANGE})
# An action's check and change: the request as it becomes (it raises ActionRefused if it may not).
Decide = Callable[[ShopperRequest, datetime], ShopperRequest]

__all__ = ["ActionDone", "ActionRefused", "NotPermitted", "OrderNotProven", "RequestActions", "UnknownRequest"]


class ActionRefused(Exception):
    """The request's state, or the policy sheet, does not allow the action (409)."""

    def __init__(self, code: str, message: str, status: RequestStatus | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class OrderNotProven(Exception):
    """A decision names an order the shopper has not proven in the conversation."""


@dataclass(frozen=True, slots=True)
class ActionDone:
    request: ShopperRequest
    # False: the same action was made already (nothing changed, nothing queued).
    made: bool
    # The shop webhook's event id; None when no STORECHAT_SHOP_WEBHOOK_URL is set.
    shop_event: str | None
    # The shopper's message: sent or queued on their channel, or not_sent (kept on the case).
    message: str


@dataclass(frozen=True, slots=True)
class _Action:
    name: str  # once per request: the event id is made of it
    event_type: ShopEventType
    text_key: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class RequestActions:
    store: ConversationStore
    requests: RequestStore
    orders: OrderStore
    verifier: Verifier
    outbox: Outbox
    texts: Texts
    shop: ShopEventQueue | None = None

    def __post_init__(self) -> None:
        if self.shop is not None:
            self.shop.on_failed = self.shop_not_told

    # --- the actions ------------------------------------------------------------------

    async def approve(self, conversation_id: str, agent: Agent, request_id: str, note: str | None) -> ActionDone:
        conversation, current, order = await self._subject(conversation_id, agent, request_id)
        action = _Action("approve", ShopEventType.REQUEST_APPROVED, f"request_{current.kind.value}_approved")

        def step(request: ShopperRequest, now: datetime) -> ShopperRequest:
            if request.kind not in APPROVABLE:
                raise ActionRefused("not_approvable", f"a {request.kind.value} request is not approved: "
                                    + ("decide refund or replacement" if request.kind is K.DAMAGED_ITEM
                                       else "the bot sends it"), request.status)
            _expect(request, R.OPEN, "approved")
            _still_allowed(request, order)
            return replace(request, status=R.APPROVED, updated_at=now, decided_by=agent.email,
                           note=note or request.note)

        return await self._act(conversation, agent, current, order, action, step)

    async def reject(self, conversation_id: str, agent: Agent, request_id: str, reason: str) -> ActionDone:
        conversation, current, order = await self._subject(conversation_id, agent, request_id)
        action = _Action("reject", ShopEventType.REQUEST_REJECTED, "request_rejected", reason)

        def step(request: ShopperRequest, now: datetime) -> ShopperRequest:
            _expect(request, R.OPEN, "rejected")
            return replace(request, status=R.REJECTED, updated_at=now, decided_by=agent.email, note=reason)

        return await self._act(conversation, agent, current, order, action, step)

    async def send_label(self, conversation_id: str, agent: Agent, request_id: str) -> ActionDone:
        conversation, current, order = await self._subject(conversation_id, agent, request_id)
        action = _Action("label", ShopEventType.RETURN_LABEL_SENT, "request_return_label")

        def step(request: ShopperRequest, now: datetime) -> ShopperRequest:
            if request.kind is not K.RETURN:
                raise ActionRefused("not_a_return", "only a return has a return label", request.status)
            if request.status is R.OPEN:
                raise ActionRefused("not_approved", "approve the return before sending its label", request.status)
            _expect(request, R.APPROVED, "sent a label")
            return replace(request, updated_at=now, label_sent_at=now)

        return await self._act(conversation, agent, current, order, action, step)

    async def decide(self, conversation_id: str, agent: Agent, order_id: str, resolution: Resolution,
                     items: tuple[str, ...] | None, note: str | None) -> ActionDone:
        """A damaged or faulty item: refund or replacement, at the shopper's choice (the policy
        sheet). The case's damaged-item request for the order is opened if there is none."""
        conversation = await self._conversation(conversation_id, agent)
        order = await self.orders.get(order_id)
        if order is None or not await self.verifier.is_proven(conversation_id, order):
            raise OrderNotProven(order_id)
        current = next((r for r in reversed(await self.requests.for_conversation(conversation_id))
                        if r.kind is K.DAMAGED_ITEM and r.order_id == order_id and r.status is not R.REJECTED), None)
        if current is None:
            wanted = RequestInput.model_construct(kind=K.DAMAGED_ITEM, order_id=order_id, items=items, reason=note,
                                                  address=None)
            try:
                current, _ = await self.requests.open(conversation_id, wanted, order)
            except RequestRefused as exc:
                raise ActionRefused(exc.code, str(exc)) from None
        action = _Action(f"decide-{resolution}", ShopEventType.DAMAGED_ITEM_DECIDED, f"request_{resolution}")

        def step(request: ShopperRequest, now: datetime) -> ShopperRequest:
            if request.status is R.APPROVED:
                raise ActionRefused("already_decided", f"already decided: {request.resolution}", request.status)
            _expect(request, R.OPEN, "decided")
            return replace(request, status=R.APPROVED, updated_at=now, decided_by=agent.email,
                           resolution=resolution, note=note or request.note)

        return await self._act(conversation, agent, current, order, action, step)

    # --- one step, its case event, its webhook, its message ------------------------------

    async def _conversation(self, conversation_id: str, agent: Agent) -> Conversation:
        """The conversation if the agent may act on it: theirs, or any for a supervisor."""
        conversation = await self.store.get(conversation_id)
        if agent.role is AgentRole.SUPERVISOR:
            return conversation
        if conversation.state is ConversationState.ASSIGNED and conversation.agent == agent.email:
            return conversation
        holder = f"assigned to {conversation.agent}" if conversation.agent else conversation.state.value
        raise NotPermitted(f"the conversation is {holder}: only its agent or a supervisor acts on its requests "
                           "(claim it first)")

    async def _subject(self, conversation_id: str, agent: Agent,
                       request_id: str) -> tuple[Conversation, ShopperRequest, Order]:
        conversation = await self._conversation(conversation_id, agent)
        request = await self.requests.get(request_id)
        if request is None or request.conversation_id != conversation_id:
            raise UnknownRequest(request_id)
        order = await self.orders.get(request.order_id)
        if order is None:
            raise ActionRefused("unknown_order", f"order {request.order_id} is no longer known", request.status)
        return conversation, request, order

    async def _act(self, conversation: Conversation, agent: Agent, current: ShopperRequest, order: Order,
                   action: _Action, decide: Decide) -> ActionDone:
        event_id = shop_event_id(current.id, action.name)
        shop = self.shop

        def step(request: ShopperRequest, now: datetime) -> tuple[ShopperRequest, Mapping[str, Any], Also] | None:
            if action.name in request.agent_actions:
                return None  # made already: a double click, a retried call
            updated = replace(decide(request, now), agent_actions=(*request.agent_actions, action.name))
            extra = {"action": action.name.split("-")[0], "agent": agent.email, "agent_name": agent.name,
                     **({"shop_event": {"id": event_id, "type": action.event_type.value}} if shop else {})}

            def also(pipe: Any, stored: ShopperRequest) -> None:
                if shop is not None:
                    shop.stage(pipe, self._event(event_id, action, stored, order, agent, now))
            return updated, extra, also

        request, made = await self.requests.change(current.id, step)
        if made and shop is not None:
            shop.wake()
        message = await self._tell(conversation, agent, request, action, event_id)
        return ActionDone(request, made, event_id if shop is not None else None, message)

    def _event(self, event_id: str, action: _Action, request: ShopperRequest, order: Order, agent: Agent,
               now: datetime) -> ShopEvent:
        view = request_to_json(request, self.requests.public_url)
        return ShopEvent.model_validate({
            "id": event_id, "type": action.event_type, "created_at": now, "conversation_id": request.conversation_id,
            "agent": ShopEventAgent(email=agent.email, name=agent.name),
            "order": ShopEventOrder(order_id=order.order_id, status=order.status),
            "request": view, "reason": action.reason,
        })

    async def _tell(self, conversation: Conversation, agent: Agent, request: ShopperRequest, action: _Action,
                    event_id: str) -> str:
        label = f"{self.requests.public_url}/returns/{request.id}/label"
        text = self.texts.get(conversation.locale, action.text_key, order_id=request.order_id, url=label,
                              reason=action.reason or "")
        message = OutgoingMessage(text, author=Author.AGENT, agent_name=agent.name)
        try:
            event = await self.outbox.send_once(conversation, message, f"request-action:{event_id}",
                                                agent=agent.email)
        except MessageHeld:
            return "not_sent"
        if event is None:
            return "sent"  # told already, by the first of these calls
        return str(event.data.get("delivery") or "sent")

    async def shop_not_told(self, failed: Failed) -> None:
        """A shop webhook that failed for good: on the case, for the agent to follow up."""
        if await self.store.find(failed.conversation_id) is None:
            log.warning("shop webhook %s failed for conversation %s, which is gone (erased or expired)",
                        failed.event_id, failed.conversation_id)
            return
        request = await self.requests.get(failed.request_id)
        data = request_to_json(request, self.requests.public_url) if request else {"id": failed.request_id}
        await self.store.append(failed.conversation_id, EventKind.REQUEST, text=failed.reason, data={
            **data, "action": "shop_not_told",
            "shop_event": {"id": failed.event_id, "type": failed.type, "state": "failed", "reason": failed.reason},
        })


def _expect(request: ShopperRequest, status: RequestStatus, done: str) -> None:
    if request.status is not status:
        raise ActionRefused("invalid_transition", f"a {request.kind.value} request that is {request.status.value} "
                            f"cannot be {done}", request.status)


def _still_allowed(request: ShopperRequest, order: Order) -> None:
    """The policy sheet, as the order stands now (it may have moved on since the shopper asked)."""
    if request.kind is K.CANCELLATION and order.status not in CANCELLABLE:
        raise ActionRefused("too_late", f"an order that is {order.status.value} can no longer be cancelled "
                            "(once delivered, it can be returned)", request.status)
    if request.kind is K.ADDRESS_CHANGE and order.status not in ADDRESS_CHANGEABLE:
        raise ActionRefused("too_late", f"the address of an order that is {order.status.value} can no longer "
                            "change", request.status)
