"""The bot understands shoppers it was not trained on: bot/evaluate.py on bot/tests/heldout.yml.

The held-out set is only worth something if it stays held out, so the first tests check
the set itself (no training example in it, every topic and intent in every language);
the last one runs the evaluation against the trained model.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.bot.faq import (
    load_chitchat,
    load_intents,
    load_languages,
    load_topics,
    normalise,
    training_examples,
)

ROOT = Path(__file__).resolve().parents[2]
FAQ = ROOT / "faq_data"
BOT = ROOT / "bot"
HELDOUT_PATH = BOT / "tests" / "heldout.yml"
LANGUAGES = load_languages(FAQ)
TOPICS = [f"faq/{t.id}" for t in load_topics(FAQ, LANGUAGES)]
INTENTS = [i.id for i in load_intents(FAQ, LANGUAGES)]
CHITCHAT = [c.id for c in load_chitchat(FAQ, LANGUAGES) if any(c.questions.values())]
FALLBACK = "nlu_fallback"
# The same thresholds bot/evaluate.py gates on; repeated so that lowering them there fails here.
MIN_INTENT_ACCURACY = 0.95
MIN_FAQ_SELECTION = 0.92


def _heldout() -> list[tuple[str, str, str]]:
    """(language, expected label, text) for every held-out message."""
    data = yaml.safe_load(HELDOUT_PATH.read_text(encoding="utf-8"))
    return [
        (lang, label, text)
        for lang, labelled in data.items()
        for label, texts in labelled.items()
        for text in texts
    ]


HELDOUT = _heldout()


def test_the_heldout_set_is_big_and_bilingual() -> None:
    assert len(HELDOUT) >= 250
    assert {lang for lang, _, _ in HELDOUT} == set(LANGUAGES.supported)


@pytest.mark.parametrize("lang", LANGUAGES.supported)
def test_the_heldout_set_covers_every_topic_and_intent(lang: str) -> None:
    labels = {label for item_lang, label, _ in HELDOUT if item_lang == lang}
    # Off-topic items expect nlu_fallback, of which out_of_scope is one form.
    assert set(TOPICS) | (set(INTENTS) - {"out_of_scope"}) | {FALLBACK} <= labels


def test_heldout_labels_are_known() -> None:
    known = {*TOPICS, *INTENTS, *CHITCHAT, FALLBACK}
    assert {label for _, label, _ in HELDOUT} <= known


def test_no_heldout_message_is_a_training_example() -> None:
    trained = training_examples(FAQ)
    leaked = [(text, trained[normalise(text)]) for _, _, text in HELDOUT if normalise(text) in trained]
    assert leaked == []


def test_no_heldout_message_is_there_twice() -> None:
    keys = [normalise(text) for _, _, text in HELDOUT]
    assert len(keys) == len(set(keys))


@pytest.fixture(scope="module")
def evaluation(rasa_model: Path) -> dict[str, Any]:
    result = subprocess.run(
        [str(ROOT / ".venv-bot" / "bin" / "python"), "evaluate.py", "--json", "--model", str(rasa_model)],
        cwd=BOT,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr[-3000:]
    report: dict[str, Any] = json.loads(result.stdout)
    assert report["passed"] == (result.returncode == 0)
    return report


def test_intent_accuracy_on_heldout_messages(evaluation: dict[str, Any]) -> None:
    overall = evaluation["scores"]["overall"]
    assert overall["items"] == len(HELDOUT)
    assert overall["intent_accuracy"] >= MIN_INTENT_ACCURACY, evaluation["misunderstood"]


def test_faq_answer_selection_on_heldout_messages(evaluation: dict[str, Any]) -> None:
    overall = evaluation["scores"]["overall"]
    assert overall["faq_items"] == sum(label.startswith("faq/") for _, label, _ in HELDOUT)
    assert overall["faq_selection"] >= MIN_FAQ_SELECTION, evaluation["misunderstood"]
