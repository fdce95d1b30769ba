"""One scrubber of lone surrogates (JSON's "\\ud800"), used by every channel that reads JSON."""

from __future__ import annotations

from core.text import has_lone_surrogate, replace_lone_surrogates
from gateway.settings import REPO_ROOT


def test_a_lone_surrogate_is_found_and_replaced_and_a_pair_is_not_touched() -> None:
    assert replace_lone_surrogates("a\ud800b\udfff") == "a\ufffdb\ufffd"
    assert replace_lone_surrogates("Grüße 😀") == "Grüße 😀"
    assert has_lone_surrogate("x\udc00") and not has_lone_surrogate("😀")


def _defining(needle: str) -> list[str]:
    roots = ("core", "channels", "gateway", "agent_console")
    return sorted(str(path.relative_to(REPO_ROOT)) for root in roots for path in (REPO_ROOT / root).rglob("*.py")
                  if needle in path.read_text(encoding="utf-8"))


def test_the_surrogate_range_and_the_page_policy_are_written_once() -> None:
    assert _defining("[\\ud800-\\udfff]") == ["core/text.py"]
    assert _defining("font-src 'self'") == ["core/page_policy.py"]
