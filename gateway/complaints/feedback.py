"""Feedback classed as praise, a suggestion or a complaint (MISSION.md), in German and English.

A linear model over TF-IDF features — word uni- and bigrams ("wäre schön", "would be") and
character n-grams within words (inflections, compounds, typos) — learnt at start-up from
faq_data/feedback/train.yml in well under a second. Its parameters were chosen by
cross-validation on that file alone (`cross_validate`, run by benchmarks/complaints.py);
faq_data/feedback/heldout.yml is only ever used to measure it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.feature_extraction.text import TfidfVectorizer

TRAIN_FILE = Path("feedback") / "train.yml"
HELDOUT_FILE = Path("feedback") / "heldout.yml"
RANDOM_STATE = 0


class FeedbackClass(StrEnum):
    PRAISE = "praise"
    SUGGESTION = "suggestion"
    COMPLAINT = "complaint"


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    label: FeedbackClass
    language: str


@dataclass(frozen=True, slots=True)
class Parameters:
    """What cross-validation on train.yml chose (benchmarks/complaints.py prints the grid)."""

    c: float = 1.0
    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (2, 4)


CHOSEN = Parameters()


def load_examples(path: Path) -> list[Example]:
    """class → language → texts, as train.yml and heldout.yml write them."""
    raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [Example(str(text), FeedbackClass(label), str(language))
            for label, languages in raw.items() for language, texts in languages.items() for text in texts]


def _pipeline(parameters: Parameters) -> Pipeline:
    features = FeatureUnion([
        ("words", TfidfVectorizer(strip_accents="unicode", ngram_range=parameters.word_ngrams,
                                  sublinear_tf=True)),
        ("chars", TfidfVectorizer(strip_accents="unicode", analyzer="char_wb",
                                  ngram_range=parameters.char_ngrams, sublinear_tf=True)),
    ])
    model = LogisticRegression(C=parameters.c, max_iter=2000, random_state=RANDOM_STATE)
    return Pipeline([("features", features), ("model", model)])


class FeedbackClassifier:
    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline

    @classmethod
    def train(cls, examples: Sequence[Example], parameters: Parameters = CHOSEN) -> FeedbackClassifier:
        pipeline = _pipeline(parameters)
        pipeline.fit([example.text for example in examples], [example.label.value for example in examples])
        return cls(pipeline)

    @classmethod
    def load(cls, faq_dir: Path) -> FeedbackClassifier:
        """Trained on faq_data/feedback/train.yml (start-up: under a second)."""
        return cls.train(load_examples(faq_dir / TRAIN_FILE))

    def classify(self, text: str) -> FeedbackClass:
        return self.classify_many([text])[0]

    def classify_many(self, texts: Iterable[str]) -> list[FeedbackClass]:
        given = list(texts)
        if not given:
            return []
        return [FeedbackClass(str(label)) for label in self._pipeline.predict(given)]

    def accuracy(self, examples: Sequence[Example]) -> float:
        predicted = self.classify_many(example.text for example in examples)
        right = sum(guess is example.label for guess, example in zip(predicted, examples, strict=True))
        return right / len(examples) if examples else 0.0


def cross_validate(examples: Sequence[Example], grid: Iterable[Parameters], *,
                   folds: int = 5) -> Mapping[Parameters, float]:
    """Mean accuracy of each parameter set over stratified folds of the training examples
    (stratified by class and language, so every fold has both languages' comments)."""
    texts = [example.text for example in examples]
    labels = [example.label.value for example in examples]
    strata = [f"{example.label.value}/{example.language}" for example in examples]
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=RANDOM_STATE)
    splits = list(splitter.split(texts, strata))
    return {parameters: float(cross_val_score(_pipeline(parameters), texts, labels, cv=splits).mean())
            for parameters in grid}
