"""The order lookup form: which order, proven how, and what the task still needs.

`order_lookup_form` (domain/orders.yml) runs before every task on an order. Its
validation action decides each turn what to ask next and sets `requested_slot` itself:

1. `order_number` — found in any message with the configured pattern; a malformed
   number gets a clear re-ask, never a guess.
2. `proof` — the outcome of proving the order: "verified" (already proven in this
   conversation, or by the message metadata's customer token, or by the number of
   an SMS or WhatsApp conversation, or by the e-mail address or postal code the
   shopper types), "locked" (too many wrong proofs: the shopper is told how long
   to wait before trying again) or "unavailable" (the gateway did not answer). Only
   "verified" orders are ever shown; a wrong proof and an unknown order get the
   same answer.
3. the task's own steps (task_steps.py), once the order is proven.

The form ends with `action_order_task` (order_tasks.py), which does the task.
"""

from __future__ import annotations

import logging
import math
from typing import Any, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from . import task_steps
from .conversation import latest_intent, latest_text, metadata, texts_for
from .gateway_api import GatewayApi, Order, Verification, log_failure
from .texts import Texts
from .verification import (
    Proof,
    find_order_number,
    looks_like_a_number_attempt,
    proof_from_text,
    proofs_from_metadata,
)

logger = logging.getLogger(__name__)

ORDER_NUMBER = "order_number"
PROOF = "proof"
TASK = "order_task"
REQUESTED = "requested_slot"
VERIFIED, LOCKED, UNAVAILABLE = "verified", "locked", "unavailable"

# Intents that leave the form (rules in data/rules.yml) when a step got no answer.
_ESCAPES = frozenset({"request_human", "complain", "deny", "faq"})
# Actions that run between a user message and the form without answering the message.
_FORM_PLUMBING = frozenset({"order_lookup_form", "action_listen", "action_extract_slots"})
# Free-text steps accept almost anything; only asking for a human leaves them.
_FREE_TEXT_ESCAPES = frozenset({"request_human"})


def _ask(slot: str, *changed: EventType) -> list[EventType]:
    # At least one real SlotSet keeps Rasa from rejecting the form for this turn.
    return [*(changed or [SlotSet(slot, None)]), SlotSet(REQUESTED, slot)]


def _done(*changed: EventType) -> list[EventType]:
    return [*changed, SlotSet(REQUESTED, None)]


def _interrupted(events: list[dict[str, Any]]) -> bool:
    """Did another action answer the latest user message before the form ran again?"""
    for event in reversed(events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "action" and event.get("name") not in _FORM_PLUMBING:
            return True
    return False


class _LookupTurn:
    """One turn of the form: what the shopper said, and what to ask next."""

    def __init__(self, api: GatewayApi, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        self.api = api
        self.dispatcher = dispatcher
        self.tracker = tracker
        self.texts: Texts = texts_for(tracker)
        self.text = latest_text(tracker)
        self.intent = latest_intent(tracker)
        self.requested: Optional[str] = tracker.get_slot(REQUESTED)

    async def advance(self) -> list[EventType]:
        if self.requested and _interrupted(self.tracker.events):
            # Back from an interruption (an FAQ answered in between): the latest
            # message was not an answer to the question, so ask it again.
            return _ask(self.requested)
        number = find_order_number(self.text)
        current = self.tracker.get_slot(ORDER_NUMBER)
        if number and number != current:
            # A new order starts over: nothing proven or chosen carries over to it.
            events: list[EventType] = [
                SlotSet(ORDER_NUMBER, number),
                SlotSet(PROOF, None),
                *(SlotSet(slot, None) for slot in task_steps.TASK_SLOTS),
            ]
            return await self._prove(number, events, fresh=True)
        if current is None:
            if self.requested == ORDER_NUMBER:
                if self.intent in _ESCAPES:
                    return []
                if looks_like_a_number_attempt(self.text):
                    self.dispatcher.utter_message(text=self.texts("order_number_malformed", text=self.text.strip()))
            return _ask(ORDER_NUMBER)
        starting = self.requested is None
        # A new task asks its own questions again (answers of an abandoned one are stale).
        reset = [SlotSet(slot, None) for slot in task_steps.TASK_SLOTS] if starting else []
        proof = self.tracker.get_slot(PROOF)
        if proof is None:
            return await self._prove(current, reset, fresh=starting)
        if proof != VERIFIED:
            return _done(*reset)
        order = await self.api.proven_order(self.tracker.sender_id, current)
        if order is None:  # the proof expired on the gateway: prove it again
            return _ask(PROOF, *reset, SlotSet(PROOF, None))
        return self._task_steps(order, reset)

    async def _prove(self, order_id: str, events: list[EventType], *, fresh: bool) -> list[EventType]:
        cid = self.tracker.sender_id
        order = await self.api.proven_order(cid, order_id)
        if order is not None:
            return self._task_steps(order, [*events, SlotSet(PROOF, VERIFIED)])
        if fresh:
            for proof in proofs_from_metadata(metadata(self.tracker)):
                result = await self._verify(order_id, proof)
                if result.order is not None:
                    return self._task_steps(result.order, [*events, SlotSet(PROOF, VERIFIED)])
                if result.locked:
                    return self._wait(order_id, result, events)
            return _ask(PROOF, *events)
        if self.requested != PROOF:
            return _ask(PROOF, *events)
        typed = proof_from_text(self.text)
        if typed is None:
            if self.intent in _ESCAPES:
                return []
            self.dispatcher.utter_message(text=self.texts("proof_not_recognised"))
            return _ask(PROOF, *events)
        result = await self._verify(order_id, typed)
        if result.order is not None:
            return self._task_steps(result.order, [*events, SlotSet(PROOF, VERIFIED)])
        if result.locked:
            return self._wait(order_id, result, events)
        key = "no_match_last_attempt" if result.attempts_left == 1 else "no_match"
        self.dispatcher.utter_message(text=self.texts(key, order_id=order_id, attempts_left=result.attempts_left))
        return _ask(PROOF, *events)

    def _wait(self, order_id: str, result: Verification, events: list[EventType]) -> list[EventType]:
        """No attempts left: how long until the next one; action_order_task offers a human."""
        minutes = max(1, math.ceil((result.retry_after or 60) / 60))
        key = "verification_wait_a_minute" if minutes == 1 else "verification_wait"
        self.dispatcher.utter_message(text=self.texts(key, order_id=order_id, minutes=minutes))
        return _done(*events, SlotSet(PROOF, LOCKED))

    async def _verify(self, order_id: str, proof: Proof) -> Verification:
        return await self.api.verify(self.tracker.sender_id, order_id, proof.kind, proof.value)

    def _task_steps(self, order: Order, events: list[EventType]) -> list[EventType]:
        for step in task_steps.steps_for(self.tracker.get_slot(TASK), order):
            if self._value(step, events) is not None:
                continue
            if self.requested != step:
                return _ask(step, *events)
            answer = self._answer(step, order)
            if answer is None:
                free_text = step in (task_steps.RETURN_REASON, task_steps.NEW_ADDRESS)
                if self.intent in (_FREE_TEXT_ESCAPES if free_text else _ESCAPES) and not events:
                    return []
                return _ask(step, *events)
            events = [*events, SlotSet(step, answer)]
            self.requested = None  # this turn's text answered `step`, not the next one
        return _done(*events)

    def _value(self, slot: str, events: list[EventType]) -> Any:
        for event in reversed(events):
            if event.get("name") == slot:
                return event.get("value")
        return self.tracker.get_slot(slot)

    def _answer(self, step: str, order: Order) -> Any:
        if step == task_steps.RETURN_ITEMS:
            items = task_steps.chosen_items(self.text, order, (self.texts("all_items_word"),))
            if items is None:
                self.dispatcher.utter_message(text=self.texts("return_items_not_recognised"))
            return items
        if step == task_steps.RETURN_REASON:
            return self.text.strip() or None
        if step == task_steps.NEW_ADDRESS:
            shipping = order.get("shipping_address") or {}
            name = str(shipping.get("name") or order.get("customer_name") or "")
            address = task_steps.parse_address(self.text, name, str(shipping.get("country") or ""))
            if address is None:
                self.dispatcher.utter_message(text=self.texts("address_not_recognised"))
            return address
        return task_steps.confirmation(self.intent)


class ValidateOrderLookupForm(Action):
    def name(self) -> str:
        return "validate_order_lookup_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        try:
            async with GatewayApi.open() as api:
                return await _LookupTurn(api, dispatcher, tracker).advance()
        except Exception as exc:
            log_failure(logger, "order lookup", exc)
            return _done(SlotSet(PROOF, UNAVAILABLE))
