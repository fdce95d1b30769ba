"""`storechat train`: train the bot only when something that affects the model changed.

`train` generates the Rasa files (training_data.py), fingerprints everything that affects
the model and runs `rasa train` in the bot's own virtual environment (Rasa 3.6 needs
Python 3.10) only if the fingerprint is new.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

from gateway.bot.faq import FaqDataError
from gateway.bot.training_data import generate

MODEL_NAME = "storechat"
FINGERPRINT_FILE = ".fingerprint"


class TrainingError(RuntimeError):
    """The bot could not be trained (faq_data/ malformed, bot venv missing, or `rasa train` failed)."""


def _training_inputs(root: Path) -> list[Path]:
    bot = root / "bot"
    candidates = [bot / "config.yml", bot / "domain.yml", bot / "requirements.txt"]
    for folder in (root / "faq_data", bot / "domain", bot / "data"):
        if folder.is_dir():
            candidates.extend(p for p in folder.rglob("*") if p.is_file())
    # Read at run time, not trained into the model: the action server's texts, and the
    # complaints' feedback examples and themes (the gateway trains its own classifier).
    runtime_only = (root / "faq_data" / "messages", root / "faq_data" / "feedback")
    return sorted(
        p for p in candidates
        if p.is_file() and "__pycache__" not in p.parts and not any(p.is_relative_to(f) for f in runtime_only)
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
    try:
        generate(root)
    except FaqDataError as exc:
        raise TrainingError(str(exc)) from exc
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
