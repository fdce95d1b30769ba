"""NLU fallback for retrieval intents whose sub-intent is a guess.

Rasa's FallbackClassifier looks only at the intent ("faq"). A question can look like
*some* FAQ ("Wer ist der Bundeskanzler?" → faq) while no topic fits it (its best answer
gets a small share, faq/shipping_costs 0.14); without this the bot would confidently
answer the wrong topic. Place it after the classifier that fills `response_selector`
and after the FallbackClassifier in config.yml; it predicts `nlu_fallback` exactly like
the latter.
"""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
)
from rasa.shared.nlu.training_data.message import Message

RESPONSE_SELECTOR_KEY = "response_selector"


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False
)
class RetrievalFallbackClassifier(GraphComponent):
    """Predicts nlu_fallback when the selected retrieval response is below a threshold."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"threshold": 0.3}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self._threshold = float(config["threshold"])

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> RetrievalFallbackClassifier:
        return cls(config)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            if self._is_a_guess(message):
                fallback = {
                    INTENT_NAME_KEY: DEFAULT_NLU_FALLBACK_INTENT_NAME,
                    PREDICTED_CONFIDENCE_KEY: self._threshold,
                }
                message.data[INTENT] = dict(fallback)
                message.data.setdefault(INTENT_RANKING_KEY, [])
                message.data[INTENT_RANKING_KEY].insert(0, dict(fallback))
        return messages

    def _is_a_guess(self, message: Message) -> bool:
        intent = (message.data.get(INTENT) or {}).get(INTENT_NAME_KEY)
        selected = (message.data.get(RESPONSE_SELECTOR_KEY) or {}).get(intent or "")
        if not selected:
            return False  # not a retrieval intent
        confidence = (selected.get("response") or {}).get(PREDICTED_CONFIDENCE_KEY, 0.0)
        return float(confidence) < self._threshold
