"""What the shopper asked to do with an order, done once the lookup form has ended."""

from __future__ import annotations

import logging
from types import MappingProxyType
from typing import Any, Awaitable, Callable, Mapping, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from . import order_answers, task_steps
from .conversation import hand_off, offer_human, texts_for
from .gateway_api import GatewayApi, GatewayUnavailable, Order, log_failure
from .handoff import Handoff
from .lookup_form import LOCKED, ORDER_NUMBER, PROOF, TASK, VERIFIED
from .suggestions import faq_topic_payload
from .texts import Texts

logger = logging.getLogger(__name__)

# The team that takes over a task the bot could not finish.
_TEAM_OF_TASK: Mapping[str, str] = MappingProxyType({
    "start_return": "logistics",
    "cancel_order": "logistics",
    "change_address": "logistics",
    "delivered_not_received": "logistics",
    "invoice_request": "billing",
})

# The gateway's reasons for refusing a return → what the shopper is told.
_RETURN_REFUSALS: Mapping[str, str] = MappingProxyType({
    "not_delivered": "return_not_delivered",
    "return_window_over": "return_window_over",
})


class _Task:
    """One task on one proven order; each method says what it did to the shopper."""

    def __init__(self, api: GatewayApi, dispatcher: CollectingDispatcher, tracker: Tracker, order: Order) -> None:
        self.api = api
        self.dispatcher = dispatcher
        self.tracker = tracker
        self.texts: Texts = texts_for(tracker)
        self.order = order
        self.order_id = str(order.get("order_id", ""))

    def say(self, key: str, **values: Any) -> None:
        self.dispatcher.utter_message(text=self.texts(key, order_id=self.order_id, **values))

    async def order_status(self) -> None:
        for line in order_answers.status_answer(self.order, self.texts, order_answers.shop_today()):
            self.dispatcher.utter_message(text=line)

    async def order_history(self) -> None:
        orders = await self.api.proven_orders(self.tracker.sender_id)
        for line in order_answers.history_answer(orders or [self.order], self.texts):
            self.dispatcher.utter_message(text=line)

    async def invoice_request(self) -> None:
        if self.order.get("invoice_url"):
            self.say("invoice_link", invoice_url=self.order["invoice_url"])
            return
        outcome = await self.api.create_request(self.tracker.sender_id, "invoice_copy", self.order_id)
        if outcome.request is None:
            raise GatewayUnavailable(f"invoice copy refused: {outcome.error}")
        self.say("invoice_requested")

    async def start_return(self) -> None:
        if self.order.get("status") not in task_steps.RETURNABLE:
            self.say("return_not_delivered")
            return
        items = self.tracker.get_slot(task_steps.RETURN_ITEMS) or [
            str(item["sku"]) for item in task_steps.items_of(self.order)
        ]
        outcome = await self.api.create_request(
            self.tracker.sender_id, "return", self.order_id,
            items=items, reason=self.tracker.get_slot(task_steps.RETURN_REASON) or "",
        )  # fmt: skip
        if outcome.error in _RETURN_REFUSALS:
            self.say(_RETURN_REFUSALS[outcome.error])
        elif outcome.request is None:
            raise GatewayUnavailable(f"return refused: {outcome.error}")
        else:
            label = outcome.request.get("label_url")
            if label:
                self.say("return_recorded", label_url=label)
            else:
                self.say("return_recorded_no_label")
            self.say("refund_policy")

    async def cancel_order(self) -> None:
        if self.order.get("status") not in task_steps.CANCELLABLE:
            self._cancel_too_late()
        elif self.tracker.get_slot(task_steps.CANCEL_CONFIRMED) is not True:
            self.say("cancel_declined")
        else:
            outcome = await self.api.create_request(self.tracker.sender_id, "cancellation", self.order_id)
            if outcome.error == "too_late":
                self._cancel_too_late()
            elif outcome.request is None:
                raise GatewayUnavailable(f"cancellation refused: {outcome.error}")
            else:
                self.say("cancel_recorded")

    def _cancel_too_late(self) -> None:
        self.dispatcher.utter_message(
            text=self.texts("cancel_too_late", order_id=self.order_id),
            buttons=[{"title": self.texts("button_returns_info"), "payload": faq_topic_payload("returns")}],
        )

    async def change_address(self) -> None:
        address = self.tracker.get_slot(task_steps.NEW_ADDRESS)
        if self.order.get("status") not in task_steps.ADDRESS_CHANGEABLE or not isinstance(address, dict):
            self.say("address_too_late")
            return
        outcome = await self.api.create_request(
            self.tracker.sender_id, "address_change", self.order_id, address=address
        )
        if outcome.error == "too_late":
            self.say("address_too_late")
        elif outcome.request is None:
            raise GatewayUnavailable(f"address change refused: {outcome.error}")
        else:
            self.say("address_recorded", address=task_steps.one_line(address))

    async def delivered_not_received(self) -> None:
        self.say("delivered_not_received")
        hand_off(self.dispatcher, self.texts, Handoff("logistics", "delivered_not_received"))


# Task name (= the intent that asked for it) → what does it.
_TASKS: Mapping[str, Callable[[_Task], Awaitable[None]]] = MappingProxyType({
    name: getattr(_Task, name)
    for name in (
        "order_status", "order_history", "invoice_request", "start_return",
        "cancel_order", "change_address", "delivered_not_received",
    )
})  # fmt: skip


class ActionOrderTask(Action):
    def name(self) -> str:
        return "action_order_task"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        texts = texts_for(tracker)
        task: Optional[str] = tracker.get_slot(TASK)
        # The next task proves its order again (cheap once proven: the gateway remembers).
        events: list[EventType] = [SlotSet(PROOF, None), *(SlotSet(s, None) for s in task_steps.TASK_SLOTS)]
        team = _TEAM_OF_TASK.get(task or "", "general")
        proof, order_id = tracker.get_slot(PROOF), tracker.get_slot(ORDER_NUMBER)
        if proof == LOCKED:
            # The lookup said how long to wait (lookup_form.py); a person can help at once.
            locked = Handoff(team, "verification_failed")
            return [*events, SlotSet(ORDER_NUMBER, None), *offer_human(dispatcher, texts, locked)]
        try:
            if proof != VERIFIED or not order_id:
                raise GatewayUnavailable(f"the lookup ended with proof {proof!r}")
            async with GatewayApi.open() as api:
                order = await api.proven_order(tracker.sender_id, str(order_id))
                if order is None:
                    raise GatewayUnavailable(f"order {order_id} is no longer proven")
                await _TASKS.get(task or "", _Task.order_status)(_Task(api, dispatcher, tracker, order))
        except Exception as exc:
            log_failure(logger, f"order task {task}", exc)
            dispatcher.utter_message(text=texts("lookup_unavailable"))
            return [*events, *offer_human(dispatcher, texts, Handoff(team, "lookup_unavailable"))]
        return events


class ActionReturnStatus(Action):
    def name(self) -> str:
        return "action_return_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        texts = texts_for(tracker)
        try:
            async with GatewayApi.open() as api:
                requests = await api.requests(tracker.sender_id)
        except Exception as exc:
            log_failure(logger, "return status", exc)
            dispatcher.utter_message(text=texts("lookup_unavailable"))
            return offer_human(dispatcher, texts, Handoff("logistics", "lookup_unavailable"))
        for line in order_answers.requests_answer(requests, texts):
            dispatcher.utter_message(text=line)
        return []
