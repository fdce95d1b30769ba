"""The shopper's language as an NLU entity, read from the message metadata.

The gateway sends the shopper's locale with every message (`{"locale": "de-DE"}`).
This component turns it into a `language` entity ("de"), which the `language` slot
takes by a `from_entity` mapping (domain/core.yml); responses pick their variant by
that slot. Being part of NLU, it costs microseconds — a custom slot-mapping action
would cost an HTTP round trip to the action server on every turn.

A message without a supported locale yields no entity, so the slot keeps the
conversation's language; a conversation that never had one answers in the default
language (the unconditioned response variant, faq_data/languages.yml `default`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Text, Tuple

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
)
from rasa.shared.nlu.training_data.message import Message

LANGUAGE_ENTITY = "language"
METADATA_KEY = "metadata"
# bot/ → repository root; overridable where faq_data lives elsewhere.
_DEFAULT_FAQ_DIR = Path(__file__).resolve().parents[1] / "faq_data"


def supported_languages(faq_dir: Optional[Path] = None) -> Tuple[str, ...]:
    """The languages of faq_data/languages.yml."""
    faq_dir = faq_dir or Path(os.environ.get("STORECHAT_FAQ_DATA", _DEFAULT_FAQ_DIR))
    data = yaml.safe_load((faq_dir / "languages.yml").read_text(encoding="utf-8"))
    return tuple(str(language) for language in data["languages"])


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
    """Adds a `language` entity from the message metadata's `locale`."""

    def __init__(self, supported: Tuple[str, ...]) -> None:
        self._supported = supported

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LanguageFromMetadata:
        return cls(supported_languages())

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            metadata = message.get(METADATA_KEY) or {}
            language = language_from_locale(metadata.get("locale"), self._supported)
            if language is None:
                continue
            entity = {
                ENTITY_ATTRIBUTE_TYPE: LANGUAGE_ENTITY,
                ENTITY_ATTRIBUTE_VALUE: language,
                EXTRACTOR: type(self).__name__,
            }
            message.set(ENTITIES, [*message.get(ENTITIES, []), entity], add_to_output=True)
        return messages
