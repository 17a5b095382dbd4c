"""Summaries of timing samples: median and p99 by nearest rank, in milliseconds."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Summary", "percentile", "summarize"]


def percentile(samples: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile: the smallest sample with at least pct% at or below it."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Summary:
    count: int
    median_ms: float
    p99_ms: float
    mean_ms: float


def summarize(seconds: Sequence[float]) -> Summary:
    if not seconds:
        return Summary(0, math.nan, math.nan, math.nan)
    ms = [s * 1000.0 for s in seconds]
    return Summary(len(ms), statistics.median(ms), percentile(ms, 99), statistics.fmean(ms))
