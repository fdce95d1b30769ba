"""Complaint clusters: how long the themes take at report time, and how well feedback is classed.

    .venv/bin/python benchmarks/complaints.py            # themes of 2,000 complaints, held-out accuracy
    .venv/bin/python benchmarks/complaints.py --grid     # also the cross-validation that chose the parameters

The complaints are generated from templates (German and English, ten problems, the demo
shop's six products, with filler words and words of other comments), so the themes found
can be checked against the problem each was generated from: purity = share of complaints
whose theme's majority problem is their own.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections import Counter, defaultdict

from gateway.complaints.feedback import (
    HELDOUT_FILE, TRAIN_FILE, FeedbackClassifier, Parameters, cross_validate, load_examples,
)
from gateway.complaints.lexicon import Lexicon
from gateway.complaints.products import Catalogue
from gateway.complaints.themes import cluster
from gateway.settings import REPO_ROOT

FAQ = REPO_ROOT / "faq_data"
PRODUCTS = {
    "NL-1001": ("Kissenhülle", "cushion cover"), "NL-1120": ("Wolldecke", "throw"),
    "NL-2040": ("Kerzenhalter", "candle holder"), "NL-3007": ("Becher", "mug"),
    "NL-4410": ("Vase", "vase"), "NL-5002": ("Lampe", "lamp"),
}
PROBLEMS = {
    "seam": (["Die Naht der {de} geht auf", "Bei der {de} lösen sich die Nähte", "{de}: Naht aufgegangen"],
             ["the seam of the {en} is coming apart", "stitching on my {en} came apart", "{en} seams fraying"]),
    "late": (["Die {de} kam viel zu spät", "Lieferung verspätet", "meine {de} ist immer noch nicht da"],
             ["my {en} arrived late", "delivery is delayed", "the {en} is still not here"]),
    "broken": (["Die {de} kam kaputt an", "{de} zerbrochen", "alles in Scherben, die {de} ist hin"],
               ["the {en} arrived broken", "{en} smashed in the box", "my {en} was damaged"]),
    "smell": (["Die {de} riecht chemisch", "{de} stinkt", "starker Geruch von der {de}"],
              ["the {en} smells of chemicals", "{en} stinks", "strong odour from the {en}"]),
    "colour": (["Die Farbe der {de} ist ganz anders", "{de} ist verfärbt", "Farbe blass"],
               ["the colour of the {en} is off", "{en} faded", "wrong colour, looks grey"]),
    "refund": (["Wo bleibt meine Erstattung für die {de}?", "Rückerstattung fehlt", "das Geld ist nicht da"],
               ["where is my refund for the {en}", "refund still missing", "no money back yet"]),
    "wobble": (["Die {de} wackelt", "{de} kippelt und steht schief", "wackelig"],
               ["the {en} wobbles", "{en} is wobbly", "stands crooked"]),
    "scratch": (["Die {de} ist zerkratzt", "Kratzer auf der {de}", "verkratzt angekommen"],
                ["the {en} is scratched", "scratches on my {en}", "came with a scratch"]),
    "no_reply": (["Niemand meldet sich wegen der {de}", "keine Antwort auf meine Mail", "keine Reaktion"],
                 ["nobody replied about the {en}", "no answer to my email", "no response at all"]),
    "missing": (["In der Lieferung fehlt die {de}", "{de} fehlt", "unvollständig geliefert"],
                ["the {en} is missing from the parcel", "{en} not included", "incomplete order"]),
}
FILLERS = ["", "leider ", "hallo, ", "echt jetzt, ", "bitte helfen: ", "hi, ", "sadly ", "ugh, "]


def complaints(count: int, seed: int = 1) -> list[tuple[str, str]]:
    """(problem, text) pairs; each text gets up to three words of other shop comments (from
    train.yml's praise and suggestions), so that hardly two texts are alike, as in a real shop."""
    chooser = random.Random(seed)
    noise = sorted({word for example in load_examples(FAQ / TRAIN_FILE) if example.label.value != "complaint"
                    for word in example.text.rstrip(".!?").split() if len(word) > 3})
    generated = []
    for _ in range(count):
        problem = chooser.choice(list(PROBLEMS))
        de, en = PRODUCTS[chooser.choice(list(PRODUCTS))]
        german = chooser.random() < 0.5
        template = chooser.choice(PROBLEMS[problem][0 if german else 1])
        extra = " ".join(chooser.sample(noise, chooser.randint(0, 3)))
        generated.append((problem, f"{chooser.choice(FILLERS)}{template.format(de=de, en=en)} {extra}".strip()))
    return generated


def measure_themes(count: int, runs: int) -> None:
    lexicon = Lexicon.load(FAQ)
    names = {sku: [f"Nordlicht {de}", f"Nordlicht {en}"] for sku, (de, en) in PRODUCTS.items()}
    generated = complaints(count)
    texts = [text for _, text in generated]
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        themes = cluster(texts, lexicon, Catalogue(names, lexicon))
        seconds.append(time.perf_counter() - started)
    members: dict[int, Counter[str]] = defaultdict(Counter)
    for (problem, _), theme in zip(generated, themes.assignments, strict=True):
        members[theme][problem] += 1
    purity = sum(counter.most_common(1)[0][1] for counter in members.values()) / count
    print(f"themes of {count} complaints: median {statistics.median(seconds):.2f} s over {runs} runs "
          f"(min {min(seconds):.2f} s); {len(themes.themes)} themes, purity {purity:.3f}")
    for index, theme in enumerate(themes.themes):
        print(f"  {theme.label:<60} {dict(members[index].most_common(3))}")


def measure_feedback(grid: bool) -> None:
    train = load_examples(FAQ / TRAIN_FILE)
    heldout = load_examples(FAQ / HELDOUT_FILE)
    if grid:
        candidates = [Parameters(c, words, chars) for c in (1.0, 3.0, 10.0, 30.0, 100.0)
                      for words in ((1, 1), (1, 2)) for chars in ((2, 4), (2, 5), (3, 5))]
        scores = cross_validate(train, candidates)
        for parameters, score in sorted(scores.items(), key=lambda item: -item[1])[:5]:
            print(f"  5-fold CV on train {score:.4f}  {parameters}")
    started = time.perf_counter()
    classifier = FeedbackClassifier.load(FAQ)
    trained = time.perf_counter() - started
    print(f"feedback: trained on {len(train)} in {trained:.2f} s; held-out accuracy "
          f"{classifier.accuracy(heldout):.3f} of {len(heldout)} "
          f"(de {classifier.accuracy([e for e in heldout if e.language == 'de']):.3f}, "
          f"en {classifier.accuracy([e for e in heldout if e.language == 'en']):.3f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--grid", action="store_true", help="the cross-validation grid (about a minute)")
    arguments = parser.parse_args()
    measure_themes(arguments.count, arguments.runs)
    measure_feedback(arguments.grid)


if __name__ == "__main__":
    main()
