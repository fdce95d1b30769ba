"""How well the trained bot understands shoppers, measured on held-out messages.

Run from bot/ with the bot's environment (`make evaluate`):

    ../.venv-bot/bin/python evaluate.py [--json] [--model models/storechat.tar.gz]

Every message in tests/heldout.yml (never trained on) goes through the real NLU
pipeline (`Agent.parse_message`). Two scores, per language and overall:

- intent accuracy: the predicted intent is the expected one; every FAQ topic counts as
  intent `faq`; an expected `nlu_fallback` is also right as `out_of_scope` (both get
  the "did not understand" answer);
- FAQ selection: of the messages whose expected label is `faq/<topic>`, the share where
  the intent is `faq` AND the ResponseSelector's top answer is that topic — i.e. the
  shopper got the right answer.

Exit code 1 when either score is below its threshold, so CI can gate on it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml

HERE = Path(__file__).resolve().parent
DEFAULT_MODEL = HERE / "models" / "storechat.tar.gz"
DEFAULT_HELDOUT = HERE / "tests" / "heldout.yml"

MIN_INTENT_ACCURACY = 0.95
MIN_FAQ_SELECTION = 0.92

FALLBACK = "nlu_fallback"
# Both get the "did not understand" answer, so both are right for nonsense.
NOT_UNDERSTOOD = {FALLBACK, "out_of_scope"}
FAQ = "faq"


@dataclass(frozen=True)
class Item:
    language: str
    text: str
    expected: str  # "faq/<topic>", an intent, or "nlu_fallback"

    @property
    def expected_intent(self) -> str:
        return FAQ if self.expected.startswith(FAQ + "/") else self.expected


@dataclass(frozen=True)
class Outcome:
    language: str
    text: str
    expected: str
    intent: str
    confidence: float
    faq_answer: Optional[str]  # the ResponseSelector's top faq/<topic>, if any
    intent_ok: bool
    faq_ok: Optional[bool]  # None when the expected label is not an FAQ topic


def load_heldout(path: Path) -> List[Item]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping language → label → messages")
    items: List[Item] = []
    for language, labelled in data.items():
        if not isinstance(labelled, dict):
            raise ValueError(f"{path}: {language}: expected a mapping label → messages")
        for label, texts in labelled.items():
            if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
                raise ValueError(f"{path}: {language}/{label}: expected a list of strings")
            items.extend(Item(str(language), text, str(label)) for text in texts)
    return items


def judge(item: Item, parsed: Dict[str, Any]) -> Outcome:
    intent = parsed.get("intent") or {}
    name = str(intent.get("name") or "")
    selected = ((parsed.get("response_selector") or {}).get(FAQ) or {}).get("response") or {}
    faq_answer = selected.get("intent_response_key")
    if item.expected == FALLBACK:
        intent_ok = name in NOT_UNDERSTOOD
    else:
        intent_ok = name == item.expected_intent
    faq_ok = (name == FAQ and faq_answer == item.expected) if item.expected_intent == FAQ else None
    return Outcome(
        language=item.language,
        text=item.text,
        expected=item.expected,
        intent=name,
        confidence=round(float(intent.get("confidence") or 0.0), 3),
        faq_answer=faq_answer,
        intent_ok=intent_ok,
        faq_ok=faq_ok,
    )


async def run(model: Path, items: List[Item]) -> List[Outcome]:
    from rasa.core.agent import Agent  # slow import: only once arguments are fine

    agent = Agent.load(str(model))
    return [judge(item, await agent.parse_message(item.text)) for item in items]


def _share(hits: int, total: int) -> Optional[float]:
    return hits / total if total else None


def scores(outcomes: List[Outcome]) -> Dict[str, Dict[str, Any]]:
    """Per language and overall: counts and the two accuracies."""
    groups: Dict[str, List[Outcome]] = {}
    for outcome in outcomes:
        groups.setdefault(outcome.language, []).append(outcome)
    groups["overall"] = outcomes
    table: Dict[str, Dict[str, Any]] = {}
    for name, group in groups.items():
        faq = [o for o in group if o.faq_ok is not None]
        table[name] = {
            "items": len(group),
            "intent_accuracy": _share(sum(o.intent_ok for o in group), len(group)),
            "faq_items": len(faq),
            "faq_selection": _share(sum(bool(o.faq_ok) for o in faq), len(faq)),
        }
    return table


def passed(table: Dict[str, Dict[str, Any]]) -> bool:
    overall = table["overall"]
    return (overall["intent_accuracy"] or 0.0) >= MIN_INTENT_ACCURACY and (
        overall["faq_selection"] or 0.0
    ) >= MIN_FAQ_SELECTION


def _percent(value: Optional[float]) -> str:
    return "   –  " if value is None else f"{100 * value:5.1f}%"


def report(outcomes: List[Outcome], table: Dict[str, Dict[str, Any]]) -> str:
    lines = [
        f"{'':10} {'items':>6} {'intent':>8} {'faq items':>10} {'faq answer':>11}",
    ]
    for name, row in table.items():
        lines.append(
            f"{name:10} {row['items']:6d} {_percent(row['intent_accuracy']):>8}"
            f" {row['faq_items']:10d} {_percent(row['faq_selection']):>11}"
        )
    lines.append(
        f"thresholds: intent ≥ {100 * MIN_INTENT_ACCURACY:.0f}%, "
        f"faq answer ≥ {100 * MIN_FAQ_SELECTION:.0f}% → "
        + ("PASS" if passed(table) else "FAIL")
    )
    wrong = [o for o in outcomes if not o.intent_ok or o.faq_ok is False]
    if wrong:
        lines.append("")
        lines.append(f"misunderstood ({len(wrong)}):")
        for o in wrong:
            got = o.faq_answer if o.intent == FAQ else o.intent
            lines.append(f"  [{o.language}] {o.text!r}: expected {o.expected}, got {got} ({o.confidence})")
    return "\n".join(lines)


def _quiet() -> None:
    # Rasa and TensorFlow log to stderr at import and load; the report is what matters.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    for name in ("rasa", "tensorflow", "absl"):
        logging.getLogger(name).setLevel(logging.ERROR)
    # Rasa's structlog events (one per parsed message) would otherwise go to stdout,
    # in the middle of the report or the --json document.
    import structlog

    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
    )


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--heldout", type=Path, default=DEFAULT_HELDOUT)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    if not args.model.is_file():
        print(f"no trained model at {args.model}: run `storechat train`", file=sys.stderr)
        return 2
    _quiet()
    items = load_heldout(args.heldout)
    outcomes = asyncio.run(run(args.model, items))
    table = scores(outcomes)
    if args.json:
        print(json.dumps({
            "scores": table,
            "thresholds": {"intent_accuracy": MIN_INTENT_ACCURACY, "faq_selection": MIN_FAQ_SELECTION},
            "passed": passed(table),
            "misunderstood": [
                asdict(o) for o in outcomes if not o.intent_ok or o.faq_ok is False
            ],
        }, ensure_ascii=False, indent=2))
    else:
        print(report(outcomes, table))
    return 0 if passed(table) else 1


if __name__ == "__main__":
    sys.exit(main())
