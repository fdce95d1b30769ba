"""Actions outside the order lookup: hand-offs, yes/no, "not understood", FAQ quick replies."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from .conversation import hand_off, latest_intent, metadata, offer_human, texts_for
from .handoff import DIRECT, Handoff, offered_handoff
from .suggestions import previous_misses, suggestions, titles, topic_ids

NOT_UNDERSTOOD = Handoff("general", "not_understood")
# The web widget opens its call-back form on this quick reply instead of sending it
# (gateway/webchat/static/widget/callback.js); elsewhere a colleague arranges the call.
CALLBACK_FORM = "/callback_form"
CALLBACK_BY_PERSON = Handoff("general", "callback")


class ActionHandOff(Action):
    """request_human, complain, report_damage, billing_problem → the right team."""

    def name(self) -> str:
        return "action_hand_off"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        texts = texts_for(tracker)
        intent = latest_intent(tracker) or "request_human"
        handoff, preface = DIRECT.get(intent, DIRECT["request_human"])
        # Taking up the bot's own offer keeps the reason the bot had for making it.
        if intent == "request_human" and (offered := offered_handoff(tracker.events)) is not None:
            handoff = offered
        if preface:
            dispatcher.utter_message(text=texts(preface))
        hand_off(dispatcher, texts, handoff)
        return []


class ActionAffirm(Action):
    """A "yes" outside a form: takes up a hand-off offer, if there was one."""

    def name(self) -> str:
        return "action_affirm"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        texts = texts_for(tracker)
        if (offered := offered_handoff(tracker.events)) is not None:
            hand_off(dispatcher, texts, offered)
        else:
            dispatcher.utter_message(text=texts("anything_else"))
        return []


class ActionDeny(Action):
    def name(self) -> str:
        return "action_deny"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(text=texts_for(tracker)("declined"))
        return []


class ActionNotUnderstood(Action):
    """First miss: rephrase, with the likeliest topics; second in a row: offer a human."""

    def name(self) -> str:
        return "action_not_understood"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        texts = texts_for(tracker)
        if previous_misses(tracker.events) >= 1:
            dispatcher.utter_message(text=texts("still_not_understood"))
            return offer_human(dispatcher, texts, NOT_UNDERSTOOD)
        guesses = suggestions(tracker.latest_message or {}, titles("topics"), titles("intents"), texts.language)
        if guesses:
            dispatcher.utter_message(
                text=texts("rephrase_with_topics"),
                buttons=[{"title": s.title, "payload": s.payload} for s in guesses],
            )
        else:
            dispatcher.utter_message(text=texts("rephrase"))
        return []


class ActionFaqTopic(Action):
    """`/faq_topic{"topic": "<id>"}` (a tapped suggestion) → the topic's FAQ answer."""

    def name(self) -> str:
        return "action_faq_topic"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        topic = next(tracker.get_latest_entity_values("topic"), None)
        # A typed payload can carry anything as the "topic" (a list, an object).
        if isinstance(topic, str) and topic in topic_ids():
            dispatcher.utter_message(response=f"utter_faq/{topic}")
        else:
            dispatcher.utter_message(text=texts_for(tracker)("unknown_topic"))
        return []


class ActionOfferCallback(Action):
    """"Can someone call me back?": the web chat's call-back form (number and slot), or on
    a texting channel a colleague who arranges the call."""

    def name(self) -> str:
        return "action_offer_callback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        texts = texts_for(tracker)
        if metadata(tracker).get("channel") in (None, "web"):
            dispatcher.utter_message(
                text=texts("callback_offer"),
                buttons=[{"title": texts("button_callback"), "payload": CALLBACK_FORM}],
            )
            return []
        dispatcher.utter_message(text=texts("callback_by_person"))
        hand_off(dispatcher, texts, CALLBACK_BY_PERSON)
        return []
