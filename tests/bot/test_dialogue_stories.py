"""bot/tests/test_stories.yml against the trained model: what the bot does next in every
dialogue flow (`rasa test core`; the actions' texts are tested in test_dialogue_stack.py)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from gateway.settings import REPO_ROOT

BOT = REPO_ROOT / "bot"


def test_every_test_story_is_followed(rasa_model: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [str(REPO_ROOT / ".venv-bot" / "bin" / "rasa"), "test", "core", "--model", str(rasa_model),
         "--stories", "tests/test_stories.yml", "--out", str(tmp_path), "--no-plot"],
        cwd=BOT,
        env={**os.environ, "PYTHONPATH": str(BOT), "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((tmp_path / "story_report.json").read_text(encoding="utf-8"))
    failed = (tmp_path / "failed_test_stories.yml").read_text(encoding="utf-8")
    assert report["conversation_accuracy"]["accuracy"] == 1.0, failed
