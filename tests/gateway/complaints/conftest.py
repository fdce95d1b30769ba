"""The classifier is trained and the lexicon read once per session; each test gets its own
projection (its catalogue copy must not outlive the test's Redis)."""

from __future__ import annotations

import pytest

from gateway.complaints.feedback import FeedbackClassifier
from gateway.complaints.lexicon import Lexicon
from gateway.complaints.projection import ComplaintsProjection
from tests.gateway.complaints.support import FAQ


@pytest.fixture(scope="session")
def classifier() -> FeedbackClassifier:
    return FeedbackClassifier.load(FAQ)


@pytest.fixture(scope="session")
def lexicon() -> Lexicon:
    return Lexicon.load(FAQ)


@pytest.fixture
def projection(classifier: FeedbackClassifier, lexicon: Lexicon) -> ComplaintsProjection:
    return ComplaintsProjection(classifier, lexicon)
