"""Praise, suggestion or complaint: learnt from faq_data/feedback/train.yml, measured on held-out comments."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from gateway.complaints.feedback import HELDOUT_FILE, TRAIN_FILE, FeedbackClass, FeedbackClassifier, load_examples
from tests.gateway.complaints.support import FAQ

TRAIN = load_examples(FAQ / TRAIN_FILE)
HELDOUT = load_examples(FAQ / HELDOUT_FILE)
# Measured 0.873 (131 of 150; German 0.867, English 0.880) with the parameters cross-validation
# on train.yml chose; a change that costs more than six of those answers fails.
HELDOUT_ACCURACY = 0.83


def _plain(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.casefold())


def test_every_class_has_enough_examples_in_each_language() -> None:
    counts = Counter((example.label, example.language) for example in TRAIN)
    assert {(label, language) for label in FeedbackClass for language in ("de", "en")} <= set(counts)
    assert min(counts.values()) >= 60
    held = Counter((example.label, example.language) for example in HELDOUT)
    assert min(held.values()) >= 20 and set(held) == set(counts)


def test_no_heldout_comment_is_a_training_example() -> None:
    trained = {_plain(example.text) for example in TRAIN}
    assert [example.text for example in HELDOUT if _plain(example.text) in trained] == []
    assert len({_plain(example.text) for example in HELDOUT}) == len(HELDOUT)


def test_the_classifier_is_right_about_heldout_comments_in_both_languages(classifier: FeedbackClassifier) -> None:
    assert classifier.accuracy(HELDOUT) >= HELDOUT_ACCURACY
    for language in ("de", "en"):
        assert classifier.accuracy([e for e in HELDOUT if e.language == language]) >= HELDOUT_ACCURACY - 0.05


@pytest.mark.parametrize(("text", "expected"), [
    ("Die Naht ist nach zwei Tagen aufgegangen", FeedbackClass.COMPLAINT),
    ("Vielen Dank, das ging super schnell!", FeedbackClass.PRAISE),
    ("It would be great if you offered the vase in blue", FeedbackClass.SUGGESTION),
])
def test_typical_comments_are_classed_as_a_supervisor_would(classifier: FeedbackClassifier, text: str,
                                                            expected: FeedbackClass) -> None:
    assert classifier.classify(text) is expected
