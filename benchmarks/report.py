"""Figures from a run: latency percentiles, throughput, the table and the goal checks."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from benchmarks.load import Run

GOAL_MEDIAN_MS = 30.0
GOAL_RATIO = 3.0


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True, slots=True)
class Figures:
    system: str
    scenario: str
    shoppers: int
    turns: int
    failed: int
    mismatched: int
    window_s: float
    turns_per_s: float
    median_ms: float
    p90_ms: float
    p99_ms: float
    first_median_ms: float
    replies_per_turn: float
    # Cores used on average by processes outside the benchmark while this scenario ran.
    other_cores: float
    # CPU seconds per completed turn, by process (the benchmark client is "client").
    cpu_ms_per_turn: dict[str, float]
    mismatch_examples: list[str]
    # Turns whose reply count was learned on the spot (a 0.3 s quiet window after them).
    learned: int

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def figures(system: str, scenario: str, shoppers: int, run: Run, cpu_s: dict[str, float], elapsed_s: float) -> Figures:
    good = [turn for turn in run.turns if turn.ok]
    full = [turn.full_s * 1000 for turn in good]
    completed = max(len(good), 1)
    return Figures(
        system=system, scenario=scenario, shoppers=shoppers, turns=len(good),
        failed=len(run.turns) - len(good), mismatched=sum(turn.mismatched for turn in good),
        window_s=run.window_s, turns_per_s=len(good) / run.window_s if run.window_s else math.nan,
        median_ms=percentile(full, 0.5), p90_ms=percentile(full, 0.9), p99_ms=percentile(full, 0.99),
        first_median_ms=percentile([turn.first_s * 1000 for turn in good], 0.5),
        replies_per_turn=sum(turn.replies for turn in good) / completed,
        other_cores=cpu_s.get("other", 0.0) / elapsed_s,
        cpu_ms_per_turn={name: seconds * 1000 / completed for name, seconds in cpu_s.items() if name != "other"},
        mismatch_examples=[turn.detail for turn in good if turn.mismatched][:5],
        learned=sum(turn.learned for turn in good),
    )


def table(results: Sequence[Figures]) -> str:
    head = (f"{'scenario':<12} {'system':<15} {'turns':>6} {'turns/s':>8} {'median':>8} {'p90':>8} "
            f"{'p99':>8} {'1st msg':>8} {'msgs':>5} {'fail':>5} {'mism':>5} {'other':>6}   CPU ms per turn")
    rows = [head, "-" * len(head)]
    for f in results:
        cpu = ", ".join(f"{name} {ms:.1f}" for name, ms in f.cpu_ms_per_turn.items() if ms >= 0.05)
        rows.append(
            f"{f.scenario:<12} {f.system:<15} {f.turns:>6} {f.turns_per_s:>8.1f} {f.median_ms:>6.1f}ms "
            f"{f.p90_ms:>6.1f}ms {f.p99_ms:>6.1f}ms {f.first_median_ms:>6.1f}ms {f.replies_per_turn:>5.2f} "
            f"{f.failed:>5} {f.mismatched:>5} {f.other_cores:>6.2f}   {cpu}"
        )
    return "\n".join(rows)


def warnings(results: Sequence[Figures]) -> list[str]:
    found = []
    for f in results:
        where = f"{f.system}, {f.scenario}"
        if f.failed:
            found.append(f"{where}: {f.failed} turns got no reply within the timeout (not counted)")
        if f.mismatched:
            found.append(f"{where}: {f.mismatched} turns got other replies than in the warm-up")
        if f.learned > 0.05 * f.turns:
            found.append(f"{where}: {f.learned} turns learned their reply count on the spot "
                         "(0.3 s pause after each); a longer --warmup avoids it")
        if f.other_cores >= 0.25:
            found.append(f"{where}: other processes used {f.other_cores:.2f} cores meanwhile; "
                         "the figures are lower than on a quiet machine")
    return found


@dataclass(frozen=True, slots=True)
class Goals:
    median_ms: float
    median_met: bool
    storechat_tps: float
    anchor_tps: float
    ratio: float
    ratio_met: bool

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    def lines(self, shoppers: int) -> list[str]:
        return [
            f"storechat median (1 shopper) {self.median_ms:.1f} ms — goal ≤ {GOAL_MEDIAN_MS:.0f} ms"
            f"  [{'met' if self.median_met else 'NOT met'}]",
            f"turns/s at {shoppers}: storechat {self.storechat_tps:.1f}, anchor {self.anchor_tps:.1f}, "
            f"ratio {self.ratio:.2f}× — goal ≥ {GOAL_RATIO:.0f}×  [{'met' if self.ratio_met else 'NOT met'}]",
        ]


def goals(results: Sequence[Figures], shoppers: int) -> Goals:
    def find(system: str, scenario: str) -> Figures:
        return next(f for f in results if f.system == system and f.scenario == scenario)

    loaded_label = f"{shoppers} shoppers"
    single, loaded = find("storechat", "1 shopper"), find("storechat", loaded_label)
    anchor = find("anchor", loaded_label)
    ratio = loaded.turns_per_s / anchor.turns_per_s if anchor.turns_per_s else math.nan
    return Goals(
        median_ms=single.median_ms, median_met=single.median_ms <= GOAL_MEDIAN_MS,
        storechat_tps=loaded.turns_per_s, anchor_tps=anchor.turns_per_s,
        ratio=ratio, ratio_met=ratio >= GOAL_RATIO,
    )
