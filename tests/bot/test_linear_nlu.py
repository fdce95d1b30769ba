"""The NLU (bot/linear_nlu.py) hands the rest of the bot the parse data Rasa's own
DIETClassifier + ResponseSelector would: the retrieval intent, its ranking and the
response selector's answer (tests/bot/test_understanding.py measures how well).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BOT = ROOT / "bot"
BOT_PYTHON = ROOT / ".venv-bot" / "bin" / "python"
ENV = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "PYTHONPATH": str(BOT)}

PARSE = """
import asyncio, json, logging, sys
import structlog
structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR),
                    logger_factory=structlog.PrintLoggerFactory(file=sys.stderr))
from rasa.core.agent import Agent
agent = Agent.load(sys.argv[1])
print(json.dumps([asyncio.run(agent.parse_message(text)) for text in sys.argv[2:]]))
"""


def _run(*args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BOT_PYTHON), *args], cwd=BOT, env=ENV, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_parse_data_is_what_the_bot_reads(rasa_model: Path) -> None:
    result = _run("-c", PARSE, str(rasa_model), "wie lange habe ich Zeit für eine Rücksendung?", "Hallo!", "/greet")
    assert result.returncode == 0, result.stderr[-3000:]
    faq, greet, payload = json.loads(result.stdout)

    assert faq["intent"]["name"] == "faq"
    assert faq["intent"]["full_retrieval_intent_name"] == "faq/returns"
    assert faq["intent_ranking"][0]["name"] == "faq"
    assert not any(r["name"].startswith("faq/") for r in faq["intent_ranking"])
    selector = faq["response_selector"]
    assert selector["all_retrieval_intents"] == ["faq"]
    response = selector["faq"]["response"]
    assert response["intent_response_key"] == "faq/returns"
    assert response["utter_action"] == "utter_faq/returns"  # what ActionRetrieveResponse utters
    assert any("30" in r.get("text", "") for r in response["responses"])
    ranking = selector["faq"]["ranking"]
    assert ranking[0] == {"confidence": response["confidence"], "intent_response_key": "faq/returns"}
    assert len(ranking) == 10

    assert greet["intent"]["name"] == "greet"
    assert payload["intent"]["name"] == "greet"  # quick-reply payloads still bypass NLU
