"""Intent classification and FAQ answer selection in one linear model (no TensorFlow).

Rasa's DIETClassifier + ResponseSelector and their featurizers cost about a third of a
bot turn's CPU and ~10 minutes of training. This component does both jobs with one
scikit-learn model over the flat label set — `faq/<topic>` for retrieval examples, the
plain intent otherwise — on TF-IDF character (2–5, inside word boundaries) and word
(1–2) n-grams. It trains in seconds and parses a message in well under a millisecond.

Its output is what the rest of the bot would read from those two TensorFlow models:
`intent` ("faq" for any topic), `intent_ranking` (topics collapsed into "faq") and
`response_selector["faq"]` (answer, topic ranking), so FallbackClassifier,
retrieval_fallback.RetrievalFallbackClassifier, ActionRetrieveResponse (`utter_faq`),
the connector and action_not_understood's suggestions work unchanged.

Confidences: the intent "faq" gets the summed probability of all topics (a question
spread over similar topics is still clearly *some* FAQ); the answer's confidence is its
share of that sum, as the ResponseSelector's softmax over topics only. Both separate
the held-out off-topic messages (see bot/config.yml for the thresholds).
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

import joblib
import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    INTENT_RESPONSE_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_union

logger = logging.getLogger(__name__)

RESPONSE_SELECTOR_KEY = "response_selector"
RETRIEVAL_INTENTS_KEY = "all_retrieval_intents"
MODEL_FILE = "linear_nlu.joblib"
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def normalise(text: str) -> str:
    """Lower case with umlauts spelt out: "Rücksendung" and "Ruecksendung" look alike."""
    return text.lower().translate(_UMLAUTS)


def _pipeline(config: Dict[Text, Any]) -> Pipeline:
    features = make_union(
        TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(2, int(config["max_char_ngram"])),
            sublinear_tf=True,
            preprocessor=normalise,
        ),
        TfidfVectorizer(
            analyzer="word",
            ngram_range=(1, 2),
            sublinear_tf=True,
            preprocessor=normalise,
            token_pattern=r"(?u)\b\w+\b",  # keep one-letter words ("a", "i")
        ),
    )
    # C=30: little regularisation; the examples are few and short, and a smaller C
    # flattens the probabilities until the fallback thresholds cannot tell in from out.
    model = LogisticRegression(C=float(config["C"]), max_iter=2000, random_state=42)
    return Pipeline([("features", features), ("model", model)])


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True
)
class LinearIntentClassifier(GraphComponent):
    """Predicts the intent and, for the retrieval intent, the answer topic."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "C": 30.0,
            "max_char_ngram": 5,
            "retrieval_intent": "faq",
            "ranking_length": 10,
        }

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        pipeline: Optional[Pipeline] = None,
        responses: Optional[Dict[Text, List[Dict[Text, Any]]]] = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._retrieval_intent = str(self._config["retrieval_intent"])
        self._ranking_length = int(self._config["ranking_length"])
        self._model_storage = model_storage
        self._resource = resource
        self._pipeline = pipeline
        # utter_faq/<topic> → the domain's response variants, as the ResponseSelector
        # returns them.
        self._responses = responses or {}
        self._index_labels()

    def _index_labels(self) -> None:
        labels = list(self._pipeline.classes_) if self._pipeline is not None else []
        self._prepare_fast_path()
        prefix = self._retrieval_intent + "/"
        self._labels = labels
        self._topic_columns = np.array([i for i, l in enumerate(labels) if l.startswith(prefix)], dtype=int)
        self._intent_columns = np.array([i for i, l in enumerate(labels) if not l.startswith(prefix)], dtype=int)

    def _prepare_fast_path(self) -> None:
        """The pipeline's predict_proba without sklearn's per-call overhead.

        FeatureUnion's hstack and LogisticRegression's input checks cost more than the
        arithmetic for one short message (~2 of ~3 ms); the same multinomial softmax over
        per-vectoriser weight blocks gives identical probabilities.
        """
        self._vectorisers: List[TfidfVectorizer] = []
        self._weights: List[np.ndarray] = []
        if self._pipeline is None:
            return
        model: LogisticRegression = self._pipeline.named_steps["model"]
        start = 0
        for _, vectoriser in self._pipeline.named_steps["features"].transformer_list:
            width = len(vectoriser.vocabulary_)
            self._vectorisers.append(vectoriser)
            self._weights.append(np.ascontiguousarray(model.coef_[:, start : start + width].T))
            start += width
        self._intercept = model.intercept_

    def _probabilities(self, texts: List[str]) -> np.ndarray:
        scores = np.tile(self._intercept, (len(texts), 1))
        for vectoriser, weights in zip(self._vectorisers, self._weights):
            scores += vectoriser.transform(texts) @ weights
        scores -= scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return exp / exp.sum(axis=1, keepdims=True)

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LinearIntentClassifier:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        texts: List[str] = []
        labels: List[str] = []
        for example in training_data.intent_examples:
            text, intent = example.get(TEXT), example.get(INTENT)
            if text and intent:
                texts.append(text)
                # "faq/<topic>" for retrieval examples, the intent otherwise.
                labels.append(example.get(INTENT_RESPONSE_KEY) or intent)
        if len(set(labels)) < 2:
            logger.warning("LinearIntentClassifier needs at least two intents; not trained.")
            return self._resource
        self._pipeline = _pipeline(self._config).fit(texts, labels)
        prefix = self._retrieval_intent + "/"
        self._responses = {
            f"utter_{label}": training_data.responses.get(f"utter_{label}", [])
            for label in set(labels)
            if label.startswith(prefix)
        }
        self._index_labels()
        with self._model_storage.write_to(self._resource) as directory:
            joblib.dump({"pipeline": self._pipeline, "responses": self._responses}, directory / MODEL_FILE)
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> LinearIntentClassifier:
        try:
            with model_storage.read_from(resource) as directory:
                saved = joblib.load(directory / MODEL_FILE)
        except (ValueError, FileNotFoundError):
            logger.warning("LinearIntentClassifier: no trained model in storage.")
            return cls(config, model_storage, resource)
        return cls(config, model_storage, resource, saved["pipeline"], saved["responses"])

    def process(self, messages: List[Message]) -> List[Message]:
        if self._pipeline is None or not messages:
            return messages
        # Messages starting with "/" get their intent from the RegexMessageHandler later;
        # they are classified anyway because the FallbackClassifier needs an intent.
        probabilities = self._probabilities([m.get(TEXT) or "" for m in messages])
        for message, p in zip(messages, probabilities):
            self._annotate(message, p)
        return messages

    def _annotate(self, message: Message, p: np.ndarray) -> None:
        ranking = [
            {INTENT_NAME_KEY: self._labels[i], PREDICTED_CONFIDENCE_KEY: float(p[i])}
            for i in self._intent_columns
        ]
        if len(self._topic_columns):
            topics = p[self._topic_columns]
            total = float(topics.sum())
            ranking.append({INTENT_NAME_KEY: self._retrieval_intent, PREDICTED_CONFIDENCE_KEY: total})
            self._select_answer(message, topics / total if total > 0 else topics)
        ranking.sort(key=lambda r: -r[PREDICTED_CONFIDENCE_KEY])
        message.set(INTENT, dict(ranking[0]), add_to_output=True)
        message.set(INTENT_RANKING_KEY, ranking[: self._ranking_length], add_to_output=True)

    def _select_answer(self, message: Message, shares: np.ndarray) -> None:
        """The ResponseSelector's output: topic shares of the retrieval intent."""
        order = np.argsort(-shares)
        keys = [self._labels[self._topic_columns[i]] for i in order[: self._ranking_length]]
        best = keys[0]
        selected = {
            "response": {
                "responses": self._responses.get(f"utter_{best}") or [{TEXT: best}],
                PREDICTED_CONFIDENCE_KEY: float(shares[order[0]]),
                INTENT_RESPONSE_KEY: best,
                "utter_action": f"utter_{best}",
            },
            "ranking": [
                {PREDICTED_CONFIDENCE_KEY: float(shares[i]), INTENT_RESPONSE_KEY: key}
                for i, key in zip(order, keys)
            ],
        }
        properties = message.get(RESPONSE_SELECTOR_KEY, {})
        properties[RETRIEVAL_INTENTS_KEY] = [self._retrieval_intent]
        properties[self._retrieval_intent] = selected
        message.set(RESPONSE_SELECTOR_KEY, properties, add_to_output=True)
