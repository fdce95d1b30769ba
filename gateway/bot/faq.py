"""faq_data/ read and checked: the languages, the FAQ topics, chitchat and intents.

faq_data/ is the one source of FAQ truth. The bot's training data is generated from it
(training_data.py), the agents' canned answers search it (gateway/desk/canned.py) and the
demo shop's help pages show it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# Quick-reply buttons show a topic's title; longer labels wrap badly on a phone.
MAX_TITLE_LENGTH = 25


class FaqDataError(RuntimeError):
    """faq_data/ is incomplete or malformed."""


@dataclass(frozen=True)
class Languages:
    default: str
    supported: tuple[str, ...]


@dataclass(frozen=True)
class Entry:
    """One FAQ topic or chitchat item: per-language questions and answers."""

    id: str
    questions: dict[str, tuple[str, ...]]
    answers: dict[str, str]
    response: str  # name of the Rasa response that answers it
    title: dict[str, str]  # quick-reply label per language; empty for chitchat


@dataclass(frozen=True)
class Intent:
    """One transactional intent (faq_data/intents/): questions only, actions answer it."""

    id: str
    questions: dict[str, tuple[str, ...]]
    title: dict[str, str]


# --- reading faq_data ---------------------------------------------------------------


# libyaml's safe loader where PyYAML was built with it: the same documents, read about ten
# times faster (every gateway app reads all of faq_data at start, twice).
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load_yaml(path: Path) -> Any:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
    except (OSError, yaml.YAMLError) as exc:
        raise FaqDataError(f"{path}: {exc}") from exc


def load_languages(faq_dir: Path) -> Languages:
    data = _load_yaml(faq_dir / "languages.yml")
    if not isinstance(data, dict):
        raise FaqDataError(f"{faq_dir / 'languages.yml'}: expected a mapping")
    supported = data.get("languages")
    default = data.get("default")
    if not isinstance(supported, list) or not supported or not all(
        isinstance(lang, str) for lang in supported
    ):
        raise FaqDataError("languages.yml: `languages` must be a non-empty list of codes")
    if default not in supported:
        raise FaqDataError("languages.yml: `default` must be one of `languages`")
    return Languages(default=str(default), supported=tuple(supported))


def _mapping(path: Path) -> dict[str, Any]:
    data = _load_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        raise FaqDataError(f"{path}: expected a mapping with a string `id`")
    if data["id"] != path.stem:
        raise FaqDataError(f"{path}: `id` must equal the file name ({path.stem!r})")
    return data


def _questions(path: Path, data: dict[str, Any], languages: Languages) -> dict[str, tuple[str, ...]]:
    questions = data.get("questions") or {}
    if not isinstance(questions, dict):
        raise FaqDataError(f"{path}: `questions` must be a mapping by language")
    for lang in languages.supported:
        variants = questions.get(lang)
        if not isinstance(variants, list) or not variants:
            raise FaqDataError(f"{path}: no questions in language {lang!r}")
        if not all(isinstance(v, str) and v.strip() for v in variants):
            raise FaqDataError(f"{path}: questions in {lang!r} must be non-empty strings")
    return {lang: tuple(str(q).strip() for q in questions[lang]) for lang in languages.supported}


def _title(path: Path, data: dict[str, Any], languages: Languages) -> dict[str, str]:
    title = data.get("title")
    if not isinstance(title, dict):
        raise FaqDataError(f"{path}: `title` must be a mapping by language")
    for lang in languages.supported:
        label = title.get(lang)
        if not isinstance(label, str) or not label.strip():
            raise FaqDataError(f"{path}: no title in language {lang!r}")
        if len(label.strip()) > MAX_TITLE_LENGTH:
            raise FaqDataError(
                f"{path}: title {label!r} is longer than {MAX_TITLE_LENGTH} characters"
            )
    return {lang: str(title[lang]).strip() for lang in languages.supported}


def _load_entry(path: Path, languages: Languages, *, is_topic: bool) -> Entry:
    data = _mapping(path)
    entry_id: str = data["id"]
    answers = data.get("answers") or {}
    if not isinstance(answers, dict):
        raise FaqDataError(f"{path}: `answers` must be a mapping by language")
    for lang in languages.supported:
        answer = answers.get(lang)
        if not isinstance(answer, str) or not answer.strip():
            raise FaqDataError(f"{path}: no answer in language {lang!r}")
    return Entry(
        id=entry_id,
        questions=_questions(path, data, languages),
        answers={lang: str(answers[lang]).strip() for lang in languages.supported},
        response=str(data.get("response", f"utter_faq/{entry_id}")),
        title=_title(path, data, languages) if is_topic else {},
    )


def _load_intent(path: Path, languages: Languages) -> Intent:
    data = _mapping(path)
    if "answers" in data:
        raise FaqDataError(f"{path}: intents have no answers (custom actions reply)")
    return Intent(
        id=data["id"],
        questions=_questions(path, data, languages),
        title=_title(path, data, languages),
    )


def load_topics(faq_dir: Path, languages: Languages) -> list[Entry]:
    topics = [
        _load_entry(path, languages, is_topic=True)
        for path in sorted((faq_dir / "topics").glob("*.yml"))
    ]
    if not topics:
        raise FaqDataError(f"{faq_dir / 'topics'}: no FAQ topics")
    return topics


def load_chitchat(faq_dir: Path, languages: Languages) -> list[Entry]:
    return [
        _load_entry(path, languages, is_topic=False)
        for path in sorted((faq_dir / "chitchat").glob("*.yml"))
    ]


def load_intents(faq_dir: Path, languages: Languages) -> list[Intent]:
    """The transactional intents; a missing folder means none (older knowledge bases)."""
    return [_load_intent(path, languages) for path in sorted((faq_dir / "intents").glob("*.yml"))]


_NOT_WORD = re.compile(r"[\W_]+")


def normalise(text: str) -> str:
    """The form two examples are compared in: casefolded, without spaces or punctuation.

    "Wo ist mein Paket?" and "wo ist mein paket" are the same example to the classifier.
    """
    return _NOT_WORD.sub("", text.casefold())


def training_examples(faq_dir: Path) -> dict[str, str]:
    """Every NLU example (normalised) → the label it trains: `faq/<topic>` or an intent.

    Raises FaqDataError when one example trains two labels: the classifier cannot learn
    both, and the line between e.g. faq/returns and start_return gets blurred.
    """
    languages = load_languages(faq_dir)
    labelled: list[tuple[str, dict[str, tuple[str, ...]]]] = [
        *((f"faq/{t.id}", t.questions) for t in load_topics(faq_dir, languages)),
        *((c.id, c.questions) for c in load_chitchat(faq_dir, languages)),
        *((i.id, i.questions) for i in load_intents(faq_dir, languages)),
    ]
    labels = [label for label, _ in labelled]
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise FaqDataError(f"faq_data: ids used twice: {', '.join(duplicates)}")
    owner: dict[str, str] = {}
    for label, questions in labelled:
        for lang in languages.supported:
            for question in questions[lang]:
                key = normalise(question)
                if not key:
                    raise FaqDataError(f"{label}: {question!r} has no words")
                first = owner.setdefault(key, label)
                if first != label:
                    raise FaqDataError(
                        f"faq_data: {question!r} is an example of both {first} and {label}"
                    )
    return owner
