"""The generator turns faq_data/ into valid Rasa files; training is skipped when unchanged."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.bot import faq, training, training_data
from gateway.bot.faq import FaqDataError
from gateway.bot.training import TrainingError, train
from gateway.bot.training_data import generate

ROOT = Path(__file__).resolve().parents[2]


def _fake_project(tmp_path: Path, *, rasa_exit: int = 0) -> tuple[Path, Path]:
    """A copy of faq_data/ and the hand-written bot files, with a stand-in `rasa`.

    The stand-in only records that it ran and writes a model file, so these tests are
    about when training happens; the real `rasa train` is exercised by `make train`.
    """
    shutil.copytree(ROOT / "faq_data", tmp_path / "faq_data")
    bot = tmp_path / "bot"
    shutil.copytree(ROOT / "bot" / "data", bot / "data", ignore=shutil.ignore_patterns("generated"))
    (bot / "domain").mkdir()
    shutil.copy(ROOT / "bot" / "domain" / "core.yml", bot / "domain" / "core.yml")
    shutil.copy(ROOT / "bot" / "config.yml", bot / "config.yml")
    calls = tmp_path / "rasa-calls"
    rasa = tmp_path / ".venv-bot" / "bin" / "rasa"
    rasa.parent.mkdir(parents=True)
    rasa.write_text(
        "#!/bin/sh\n"
        f'echo "$PWD $*" >> "{calls}"\n'
        "mkdir -p models && echo model > models/storechat.tar.gz\n"
        f"exit {rasa_exit}\n"
    )
    rasa.chmod(rasa.stat().st_mode | stat.S_IXUSR)
    return tmp_path, calls


def _calls(calls: Path) -> list[str]:
    return calls.read_text().splitlines() if calls.exists() else []


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_generated_nlu_has_every_topic_in_every_language(tmp_path: Path) -> None:
    root, _ = _fake_project(tmp_path)
    generate(root)
    nlu = _load(root / "bot" / "data" / "generated" / "nlu_faq.yml")["nlu"]
    examples = {
        item["intent"]: [line[2:] for line in item["examples"].splitlines()] for item in nlu
    }
    languages = faq.load_languages(root / "faq_data")
    for topic in faq.load_topics(root / "faq_data", languages):
        generated = examples[f"faq/{topic.id}"]
        for lang in languages.supported:
            assert set(topic.questions[lang]) <= set(generated), (topic.id, lang)


def test_every_response_has_a_variant_per_language_and_a_default(tmp_path: Path) -> None:
    root, _ = _fake_project(tmp_path)
    generate(root)
    domain = root / "bot" / "domain"
    responses = {
        **_load(domain / "generated_faq.yml")["responses"],
        **_load(domain / "generated_chitchat.yml")["responses"],
    }
    topics = faq.load_topics(root / "faq_data", faq.load_languages(root / "faq_data"))
    assert {f"utter_faq/{t.id}" for t in topics} <= set(responses)
    assert {"utter_greet", "utter_goodbye", "utter_thanks", "utter_iamabot"} <= set(
        responses
    )
    for name, variants in responses.items():
        by_language = {
            v["condition"][0]["value"]: v["text"] for v in variants if "condition" in v
        }
        unconditioned = [v["text"] for v in variants if "condition" not in v]
        assert set(by_language) == {"de", "en"}, name
        assert all(text.strip() for text in by_language.values()), name
        assert unconditioned == [by_language["de"]], name  # German is the default


def test_a_new_language_is_a_data_change(tmp_path: Path) -> None:
    root, _ = _fake_project(tmp_path)
    faq = root / "faq_data"
    (faq / "languages.yml").write_text("default: de\nlanguages: [de, en, fr]\n")
    for path in [*(faq / "topics").glob("*.yml"), *(faq / "chitchat").glob("*.yml"),
                 *(faq / "intents").glob("*.yml")]:
        data = _load(path)
        kind = path.parent.name
        if kind != "intents":
            data["answers"]["fr"] = f"Réponse {data['id']}"
        if "title" in data:
            data["title"]["fr"] = "Titre"
        if "questions" in data:
            data["questions"]["fr"] = [f"question {kind} {data['id']}"]
        path.write_text(yaml.safe_dump(data, allow_unicode=True))
    generate(root)
    variants = _load(root / "bot" / "domain" / "generated_faq.yml")["responses"]["utter_faq/returns"]
    assert {"text": "Réponse returns", "condition": [
        {"type": "slot", "name": "language", "value": "fr"}
    ]} in variants
    nlu = _load(root / "bot" / "data" / "generated" / "nlu_intents.yml")["nlu"]
    assert "- question intents start_return\n" in {i["intent"]: i["examples"] for i in nlu}[
        "start_return"
    ]


def test_intents_become_plain_nlu_intents_in_the_domain(tmp_path: Path) -> None:
    root, _ = _fake_project(tmp_path)
    generate(root)
    languages = faq.load_languages(root / "faq_data")
    intents = faq.load_intents(root / "faq_data", languages)
    assert {"order_status", "start_return", "affirm", "deny"} <= {i.id for i in intents}
    nlu = _load(root / "bot" / "data" / "generated" / "nlu_intents.yml")["nlu"]
    examples = {item["intent"]: [line[2:] for line in item["examples"].splitlines()] for item in nlu}
    for intent in intents:
        for lang in languages.supported:
            assert set(intent.questions[lang]) <= set(examples[intent.id]), (intent.id, lang)
    domain = _load(root / "bot" / "domain" / "generated_intents.yml")
    assert domain["intents"] == [i.id for i in intents]
    assert "responses" not in domain  # custom actions answer these


def _add_question(root: Path, relative: str, lang: str, question: str) -> None:
    path = root / "faq_data" / relative
    data = _load(path)
    data["questions"][lang].append(question)
    path.write_text(yaml.safe_dump(data, allow_unicode=True))


def test_an_utterance_under_two_intents_is_an_error(tmp_path: Path) -> None:
    root, _ = _fake_project(tmp_path)
    # Same words as an order_status example, differently cased and punctuated.
    _add_question(root, "intents/cancel_order.yml", "en", "Where is my ORDER")
    with pytest.raises(FaqDataError, match="both order_status and cancel_order|both cancel_order and order_status"):
        generate(root)


def test_an_utterance_under_an_intent_and_a_topic_is_an_error(tmp_path: Path) -> None:
    root, _ = _fake_project(tmp_path)
    _add_question(root, "intents/start_return.yml", "de", "Wie kann ich etwas zurückschicken")
    with pytest.raises(FaqDataError, match="faq/returns"):
        generate(root)


def test_an_intent_without_a_title_is_an_error(tmp_path: Path) -> None:
    root, _ = _fake_project(tmp_path)
    path = root / "faq_data" / "intents" / "deny.yml"
    data = _load(path)
    del data["title"]["en"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    with pytest.raises(FaqDataError, match="deny.yml.*title.*'en'"):
        generate(root)


def test_generation_is_deterministic(tmp_path: Path) -> None:
    root, _ = _fake_project(tmp_path)
    first = training_data.render(root)
    generate(root)
    before = training.fingerprint(root)
    assert training_data.render(root) == first
    generate(root)
    assert training.fingerprint(root) == before


def test_a_missing_translation_is_an_error(tmp_path: Path) -> None:
    root, _ = _fake_project(tmp_path)
    path = root / "faq_data" / "topics" / "returns.yml"
    data = _load(path)
    del data["answers"]["en"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    with pytest.raises(FaqDataError, match="returns.yml.*'en'"):
        generate(root)


def test_train_runs_rasa_once_then_skips_until_data_changes(tmp_path: Path) -> None:
    root, calls = _fake_project(tmp_path)
    assert train(root) is True
    [call] = _calls(calls)
    assert call.startswith(f"{root / 'bot'} train ")
    assert "--fixed-model-name storechat" in call and "--out models" in call

    assert train(root) is False  # unchanged: no second rasa run
    assert len(_calls(calls)) == 1
    # What the gateway and the actions read at run time is no training input.
    for runtime in (root / "faq_data" / "feedback" / "train.yml", root / "faq_data" / "messages" / "de.yml"):
        runtime.write_text(runtime.read_text(encoding="utf-8") + "\n")
    assert train(root) is False
    assert len(_calls(calls)) == 1

    answers = root / "faq_data" / "topics" / "warranty.yml"
    answers.write_text(answers.read_text(encoding="utf-8").replace("2 Jahren", "2 Jahren."))
    assert train(root) is True
    assert len(_calls(calls)) == 2

    assert train(root, force=True) is True
    assert len(_calls(calls)) == 3


def test_a_missing_model_is_retrained(tmp_path: Path) -> None:
    root, calls = _fake_project(tmp_path)
    train(root)
    (root / "bot" / "models" / "storechat.tar.gz").unlink()
    assert train(root) is True
    assert len(_calls(calls)) == 2


def test_a_failed_rasa_train_raises_and_leaves_no_fingerprint(tmp_path: Path) -> None:
    root, _ = _fake_project(tmp_path, rasa_exit=3)
    with pytest.raises(TrainingError, match="exit code 3"):
        train(root)
    assert not (root / "bot" / "models" / ".fingerprint").exists()


def test_a_missing_bot_environment_raises(tmp_path: Path) -> None:
    root, _ = _fake_project(tmp_path)
    shutil.rmtree(root / ".venv-bot")
    with pytest.raises(TrainingError, match="make .venv-bot/.installed"):
        train(root)
