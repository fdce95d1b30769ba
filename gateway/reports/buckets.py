"""Durations as histograms: what lets a median over 90 days be read from 90 small rollups.

A percentile cannot be summed across days, a histogram can. Buckets are narrow where
the difference matters to a shopper (a second below a minute) and wide where it does
not (an hour beyond a day). A percentile is the nearest-rank one, reported as the lower
edge of the bucket it falls in: the k-th smallest duration lies in the bucket where the
cumulative count first reaches k, so the rollups give exactly what sorting every raw
duration and bucketing the k-th would (tests/gateway/reports/test_recount.py checks it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

# (below this many seconds, buckets are this wide)
_STEPS = ((60, 1), (600, 10), (3600, 60), (86_400, 900), (604_800, 3600))
WEEK = 604_800


def _starts() -> tuple[int, ...]:
    """The index of each step's first bucket."""
    starts, count, lower = [], 0, 0
    for limit, width in _STEPS:
        starts.append(count)
        count += (limit - lower) // width
        lower = limit
    return (*starts, count)


_STARTS = _starts()[:-1]
# The last bucket: "a week or more".
LAST = _starts()[-1]


def bucket(milliseconds: int) -> int:
    """The bucket of a duration (negative durations, a clock step back, count as zero)."""
    seconds = max(milliseconds, 0) // 1000
    lower = 0
    for (limit, width), start in zip(_STEPS, _STARTS, strict=True):
        if seconds < limit:
            return start + (seconds - lower) // width
        lower = limit
    return LAST


def lower_edge(index: int) -> int:
    """The shortest duration in a bucket, in seconds."""
    lower = 0
    for (limit, width), start in zip(_STEPS, _STARTS, strict=True):
        end = start + (limit - lower) // width
        if index < end:
            return lower + (index - start) * width
        lower = limit
    return WEEK


def percentile(histogram: Mapping[int, int], share: float) -> int | None:
    """The nearest-rank percentile (`share` 0.5 for the median) as its bucket's lower edge."""
    total = sum(histogram.values())
    if total == 0:
        return None
    rank = max(1, math.ceil(share * total))
    seen = 0
    for index in sorted(histogram):
        seen += histogram[index]
        if seen >= rank:
            return lower_edge(index)
    raise AssertionError("unreachable: the ranks add up to the total")


def count_over(histogram: Mapping[int, int], seconds: int) -> int:
    """Durations of `seconds` or more — exact when `seconds` is a bucket's lower edge."""
    return sum(n for index, n in histogram.items() if lower_edge(index) >= seconds)


def is_edge(seconds: int) -> bool:
    """Whether a target can be counted exactly from the histograms."""
    return seconds >= 0 and lower_edge(bucket(seconds * 1000)) == seconds
