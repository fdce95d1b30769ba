"""Where faq_data/ is and which languages it has (faq_data/languages.yml).

The one reader of both for the whole bot: the actions, and the Rasa server's language
component (bot/language_from_metadata.py), which needs nothing else of the actions.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

# bot/actions/languages.py → repository root; STORECHAT_FAQ_DATA points elsewhere.
_DEFAULT_FAQ_DIR = Path(__file__).resolve().parents[2] / "faq_data"


def faq_dir() -> Path:
    return Path(os.environ.get("STORECHAT_FAQ_DATA", _DEFAULT_FAQ_DIR))


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def languages() -> tuple[str, tuple[str, ...]]:
    """(default, supported) from faq_data/languages.yml, read once per process."""
    data = load_yaml(faq_dir() / "languages.yml")
    return str(data["default"]), tuple(str(lang) for lang in data["languages"])
