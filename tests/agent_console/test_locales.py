"""The console's texts: every language has every text, and every text the scripts ask for exists."""

from __future__ import annotations

import json
import re

from agent_console.views import LOCALES_DIR, STATIC_DIR, TEMPLATES_DIR, languages

# t("reports.range", …) and data-t="console.log_in" (data-t-label=…, data-t-placeholder=…).
ASKED_IN_SCRIPTS = re.compile(r"""\bt\(\s*["']([a-z0-9_.]+)["']""")
ASKED_IN_PAGE = re.compile(r'''data-t(?:-label|-placeholder|-title)?="([a-z0-9_.]+)"''')


def texts(language: str) -> dict[str, str]:
    catalog = json.loads((LOCALES_DIR / f"{language}.json").read_text(encoding="utf-8"))
    found: dict[str, str] = catalog["texts"]
    return found


def test_german_and_english_have_the_same_texts() -> None:
    assert {"de", "en"} <= set(languages())
    english = texts("en")
    for language in languages():
        catalog = texts(language)
        assert set(catalog) == set(english), language
        assert all(value.strip() for value in catalog.values()), language
        # A placeholder is filled by the script: a translation keeps every one of them.
        for key, value in catalog.items():
            assert set(re.findall(r"\{\w+\}", value)) == set(re.findall(r"\{\w+\}", english[key])), (language, key)


def test_every_text_the_console_asks_for_is_there() -> None:
    scripts = [path for path in STATIC_DIR.glob("*.js") if path.name != "i18n.js"]  # i18n.js defines t()
    asked = {key for path in scripts for key in ASKED_IN_SCRIPTS.findall(path.read_text())}
    asked |= set(ASKED_IN_PAGE.findall((TEMPLATES_DIR / "console.html").read_text()))
    assert len(asked) > 150  # the regexes still find them
    assert asked - set(texts("en")) == set()
