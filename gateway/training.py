"""Turn faq_data/ into Rasa training data and train the bot only when something changed.

faq_data/ is the one source of FAQ truth. `generate` writes the Rasa files derived from it
(`bot/data/generated/`, `bot/domain/generated_*.yml`, both git-ignored); `train` generates,
fingerprints everything that affects the model and runs `rasa train` in the bot's own
virtual environment (Rasa 3.6 needs Python 3.10) only if the fingerprint is new.

No Rasa imports here: this runs in the gateway's environment.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "FaqDataError",
    "TrainingError",
    "generate",
    "load_chitchat",
    "load_intents",
    "load_languages",
    "load_topics",
    "normalise",
    "train",
    "training_examples",
]

MODEL_NAME = "storechat"
FINGERPRINT_FILE = ".fingerprint"
# Rasa's own YAML format version for the files we write.
RASA_FORMAT_VERSION = "3.1"
LANGUAGE_SLOT = "language"
# Quick-reply buttons show a topic's title; longer labels wrap badly on a phone.
MAX_TITLE_LENGTH = 25


class TrainingError(RuntimeError):
    """The bot could not be trained (bot venv missing, bad data, or `rasa train` failed)."""


class FaqDataError(TrainingError):
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


def _load_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
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


# --- writing Rasa files ---------------------------------------------------------------


def _unique(items: list[str]) -> list[str]:
    # The same short phrase ("bye", "hi") may appear in two languages of one intent;
    # Rasa warns about duplicate examples, so keep the first.
    seen: set[str] = set()
    unique: list[str] = []
    for item in items:
        if item.casefold() not in seen:
            seen.add(item.casefold())
            unique.append(item)
    return unique


def _examples(entry: Entry | Intent, languages: Languages) -> str:
    # Rasa reads examples as a markdown-ish list inside a YAML block string.
    lines = _unique([q for lang in languages.supported for q in entry.questions[lang]])
    return "".join(f"- {line}\n" for line in lines)


def _response_variants(entry: Entry, languages: Languages) -> list[dict[str, Any]]:
    variants: list[dict[str, Any]] = [
        {
            "text": entry.answers[lang],
            "condition": [{"type": "slot", "name": LANGUAGE_SLOT, "value": lang}],
        }
        for lang in languages.supported
    ]
    # Unconditioned variant: used when the slot is unset or holds an unknown language.
    variants.append({"text": entry.answers[languages.default]})
    return variants


class _BlockDumper(yaml.SafeDumper):
    """Writes multi-line strings as `|` blocks, which is how Rasa expects examples."""


def _str_presenter(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _str_presenter)

_HEADER = "# Generated by gateway/training.py from faq_data/ — do not edit.\n"


def _dump(data: dict[str, Any]) -> str:
    body = yaml.dump(data, Dumper=_BlockDumper, allow_unicode=True, sort_keys=False, width=100)
    return _HEADER + body


def _write_if_changed(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def render(root: Path) -> dict[Path, str]:
    """The generated files (path → content) for the faq_data under `root`."""
    faq_dir = root / "faq_data"
    languages = load_languages(faq_dir)
    topics = load_topics(faq_dir, languages)
    chitchat = load_chitchat(faq_dir, languages)
    intents = load_intents(faq_dir, languages)
    training_examples(faq_dir)  # one example, one label

    faq_nlu = [
        {"intent": f"faq/{topic.id}", "examples": _examples(topic, languages)}
        for topic in topics
    ]
    chitchat_nlu = [
        {"intent": item.id, "examples": _examples(item, languages)}
        for item in chitchat
        if any(item.questions[lang] for lang in languages.supported)
    ]
    # Rasa 3.6 warns "duplicated intents ... faq" for this (it also derives retrieval
    # intents from the NLU data), but without it the rules' `intent: faq` fails validation.
    faq_domain = {
        "version": RASA_FORMAT_VERSION,
        "intents": ["faq"],
        "responses": {t.response: _response_variants(t, languages) for t in topics},
    }
    chitchat_domain = {
        "version": RASA_FORMAT_VERSION,
        "intents": [item["intent"] for item in chitchat_nlu],
        "responses": {c.response: _response_variants(c, languages) for c in chitchat},
    }
    bot = root / "bot"
    files = {
        bot / "data" / "generated" / "nlu_faq.yml": _dump(
            {"version": RASA_FORMAT_VERSION, "nlu": faq_nlu}
        ),
        bot / "data" / "generated" / "nlu_chitchat.yml": _dump(
            {"version": RASA_FORMAT_VERSION, "nlu": chitchat_nlu}
        ),
        bot / "domain" / "generated_faq.yml": _dump(faq_domain),
        bot / "domain" / "generated_chitchat.yml": _dump(chitchat_domain),
    }
    if intents:
        intents_nlu = [
            {"intent": intent.id, "examples": _examples(intent, languages)} for intent in intents
        ]
        files[bot / "data" / "generated" / "nlu_intents.yml"] = _dump(
            {"version": RASA_FORMAT_VERSION, "nlu": intents_nlu}
        )
        files[bot / "domain" / "generated_intents.yml"] = _dump(
            {"version": RASA_FORMAT_VERSION, "intents": [intent.id for intent in intents]}
        )
    return files


def generate(root: Path) -> None:
    """Write the Rasa training data and responses derived from `root/faq_data`."""
    files = render(root)
    bot = root / "bot"
    # Drop files a previous version generated but this one no longer does.
    previous = [*bot.glob("data/generated/*.yml"), *bot.glob("domain/generated_*.yml")]
    for stale in previous:
        if stale not in files:
            stale.unlink()
    for path, text in files.items():
        _write_if_changed(path, text)


# --- fingerprint and training -------------------------------------------------------


def _training_inputs(root: Path) -> list[Path]:
    bot = root / "bot"
    candidates = [bot / "config.yml", bot / "domain.yml", bot / "requirements.txt"]
    for folder in (root / "faq_data", bot / "domain", bot / "data"):
        if folder.is_dir():
            candidates.extend(p for p in folder.rglob("*") if p.is_file())
    # The action server reads its texts at run time: editing one needs no new model.
    runtime_only = root / "faq_data" / "messages"
    return sorted(
        p for p in candidates
        if p.is_file() and "__pycache__" not in p.parts and not p.is_relative_to(runtime_only)
    )


def fingerprint(root: Path) -> str:
    """sha256 over every file that affects the trained model (names and contents)."""
    digest = hashlib.sha256()
    for path in _training_inputs(root):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def _is_current(models: Path, print_: str) -> bool:
    stamp = models / FINGERPRINT_FILE
    return (
        (models / f"{MODEL_NAME}.tar.gz").is_file()
        and stamp.is_file()
        and stamp.read_text(encoding="utf-8").strip() == print_
    )


def _run_rasa_train(root: Path, log_path: Path | None) -> None:
    rasa = root / ".venv-bot" / "bin" / "rasa"
    if not os.access(rasa, os.X_OK):
        raise TrainingError(f"{rasa} not found: run `make .venv-bot/.installed` first")
    command = [
        str(rasa), "train",
        "--config", "config.yml",
        "--domain", "domain",
        "--data", "data",
        "--out", "models",
        "--fixed-model-name", MODEL_NAME,
    ]  # fmt: skip
    # PYTHONPATH=bot: config.yml names custom components by module (as `rasa run` does).
    pythonpath = os.pathsep.join(filter(None, [str(root / "bot"), os.environ.get("PYTHONPATH")]))
    env = {
        **os.environ,
        "PYTHONPATH": pythonpath,
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    if log_path is None:
        # Output is inherited, so the operator sees Rasa's progress as it happens.
        result = subprocess.run(command, cwd=root / "bot", env=env, check=False)
    else:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("wb") as log:
            result = subprocess.run(command, cwd=root / "bot", env=env, check=False,
                                    stdout=log, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        where = f"; its output is in {log_path}" if log_path else ""
        raise TrainingError(f"`rasa train` failed with exit code {result.returncode}{where}")


def train(root: Path, *, force: bool = False, log_path: Path | None = None) -> bool:
    """Generate training data and train the bot if it changed. True if it trained.

    With `log_path`, Rasa's (long, progress-bar-laden) output goes to that file.
    """
    root = root.resolve()  # rasa runs with cwd bot/, so no relative paths past here
    generate(root)
    models = root / "bot" / "models"
    print_ = fingerprint(root)
    if not force and _is_current(models, print_):
        return False
    if log_path is not None:
        print(f"Training the bot (about a minute; Rasa's output: {log_path})…", flush=True)
    _run_rasa_train(root, log_path)
    if not (models / f"{MODEL_NAME}.tar.gz").is_file():
        raise TrainingError(f"`rasa train` left no {models / MODEL_NAME}.tar.gz")
    (models / FINGERPRINT_FILE).write_text(print_ + "\n", encoding="utf-8")
    return True
