"""The shopper's language as an NLU entity: from the message's locale, or detected.

The gateway sends the web shopper's locale with every message (`{"locale": "de-DE"}`).
This component turns it into a `language` entity ("de"), which the `language` slot
takes by a `from_entity` mapping (domain/core.yml); responses pick their variant by
that slot. Being part of NLU, it costs microseconds — a custom slot-mapping action
would cost an HTTP round trip to the action server on every turn.

Without a supported locale (an SMS, say) the language is detected from the words:
a small naive-Bayes model over the question variants of faq_data/, per language, so
a new language's data teaches it that language too. It only speaks when the words
are clearly one language's; otherwise no entity, and the slot keeps the conversation's
language — or, in a conversation that never had one, the default language (the
unconditioned response variant, faq_data/languages.yml `default`).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Text, Tuple

import yaml
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

# One reader of faq_data's location and languages for the whole bot (PYTHONPATH=bot).
from actions.languages import faq_dir, languages

LANGUAGE_ENTITY = "language"
METADATA_KEY = "metadata"


def supported_languages() -> Tuple[str, ...]:
    """The languages of faq_data/languages.yml (read where the actions read them)."""
    return languages()[1]


_WORD = re.compile(r"[^\W\d_]+")
# log-likelihood lead the best language needs over the next one (≈ 20× likelier).
MIN_LEAD = 3.0


def _words(text: str) -> List[str]:
    return _WORD.findall(text.casefold())


def _questions(folder: Path) -> Iterable[Dict[str, List[str]]]:
    """Each faq_data entry's question variants, by language."""
    for kind in ("topics", "intents", "chitchat"):
        for path in sorted((folder / kind).glob("*.yml")):
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            yield data.get("questions") or {}


class LanguageDetector:
    """Naive Bayes over words, trained on faq_data's question variants."""

    def __init__(self, samples: Dict[str, Iterable[str]]) -> None:
        self._counts = {lang: Counter(w for q in qs for w in _words(q)) for lang, qs in samples.items()}
        vocabulary = set().union(*self._counts.values()) if self._counts else set()
        self._denominator = {
            lang: sum(counts.values()) + len(vocabulary) + 1 for lang, counts in self._counts.items()
        }

    @classmethod
    def from_faq_data(cls, folder: Path, supported: Tuple[str, ...]) -> LanguageDetector:
        entries = list(_questions(folder))
        return cls({lang: [q for entry in entries for q in entry.get(lang) or []] for lang in supported})

    def detect(self, text: str) -> Optional[str]:
        words = [w for w in _words(text) if any(w in c for c in self._counts.values())]
        if not words or len(self._counts) < 2:
            return None
        scores = sorted(
            (sum(math.log((counts[w] + 1) / self._denominator[lang]) for w in words), lang)
            for lang, counts in self._counts.items()
        )
        (second, _), (best, language) = scores[-2], scores[-1]
        return language if best - second >= MIN_LEAD else None


def language_from_locale(locale: Any, supported: Tuple[str, ...]) -> Optional[str]:
    """ "de-DE" / "de_AT" / "EN" → "de" / "de" / "en"; None if absent or unsupported."""
    if not isinstance(locale, str) or not locale.strip():
        return None
    primary = locale.strip().replace("_", "-").split("-", 1)[0].lower()
    return primary if primary in supported else None


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False
)
class LanguageFromMetadata(GraphComponent):
    """Adds a `language` entity from the message metadata's `locale`, or detected."""

    def __init__(self, supported: Tuple[str, ...], detector: LanguageDetector) -> None:
        self._supported = supported
        self._detector = detector

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LanguageFromMetadata:
        supported = supported_languages()
        return cls(supported, LanguageDetector.from_faq_data(faq_dir(), supported))

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            metadata = message.get(METADATA_KEY) or {}
            language = language_from_locale(
                metadata.get("locale"), self._supported
            ) or self._detector.detect(message.get(TEXT) or "")
            if language is None:
                continue
            entity = {
                ENTITY_ATTRIBUTE_TYPE: LANGUAGE_ENTITY,
                ENTITY_ATTRIBUTE_VALUE: language,
                EXTRACTOR: type(self).__name__,
            }
            message.set(ENTITIES, [*message.get(ENTITIES, []), entity], add_to_output=True)
        return messages
