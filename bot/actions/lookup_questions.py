"""The questions of the order lookup form (`action_ask_<slot>`), with quick replies."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from . import task_steps
from .conversation import texts_for
from .gateway_api import GatewayApi, GatewayUnavailable
from .lookup_form import ORDER_NUMBER
from .texts import Texts

Question = dict[str, Any]  # keyword arguments of CollectingDispatcher.utter_message


class _AskFor(ABC, Action):
    slot: str

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(**await self.question(texts_for(tracker), tracker))
        return []

    @abstractmethod
    async def question(self, texts: Texts, tracker: Tracker) -> Question: ...


class AskOrderNumber(_AskFor):
    slot = ORDER_NUMBER

    async def question(self, texts: Texts, tracker: Tracker) -> Question:
        return {"text": texts("ask_order_number")}


class AskProof(_AskFor):
    slot = "proof"

    async def question(self, texts: Texts, tracker: Tracker) -> Question:
        return {"text": texts("ask_proof", order_id=tracker.get_slot(ORDER_NUMBER))}


class AskReturnItems(_AskFor):
    slot = task_steps.RETURN_ITEMS

    async def question(self, texts: Texts, tracker: Tracker) -> Question:
        order_id = tracker.get_slot(ORDER_NUMBER)
        question: Question = {"text": texts("ask_return_items", order_id=order_id)}
        try:
            async with GatewayApi.open() as api:
                order = await api.proven_order(tracker.sender_id, str(order_id))
        except GatewayUnavailable:
            return question  # the shopper can still type the items' names
        items = task_steps.items_of(order or {})
        # A plain-text payload: the form reads the SKU from the message like typed text.
        question["buttons"] = [
            *({"title": str(item.get("name") or item["sku"]), "payload": str(item["sku"])} for item in items),
            {"title": texts("button_all_items"), "payload": texts("button_all_items")},
        ]
        return question


class AskReturnReason(_AskFor):
    slot = task_steps.RETURN_REASON

    async def question(self, texts: Texts, tracker: Tracker) -> Question:
        reasons = [texts(f"return_reason_{n}") for n in range(1, 5)]
        return {
            "text": texts("ask_return_reason"),
            "buttons": [{"title": reason, "payload": reason} for reason in reasons],
        }


class AskNewAddress(_AskFor):
    slot = task_steps.NEW_ADDRESS

    async def question(self, texts: Texts, tracker: Tracker) -> Question:
        return {"text": texts("ask_new_address", order_id=tracker.get_slot(ORDER_NUMBER))}


class AskCancelConfirmed(_AskFor):
    slot = task_steps.CANCEL_CONFIRMED

    async def question(self, texts: Texts, tracker: Tracker) -> Question:
        return {
            "text": texts("ask_cancel_confirmed", order_id=tracker.get_slot(ORDER_NUMBER)),
            "buttons": [
                {"title": texts("button_yes_cancel"), "payload": "/affirm"},
                {"title": texts("button_no_keep"), "payload": "/deny"},
            ],
        }
