"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import statistics
from collections.abc import Callable


def compare(
    ours: Callable[[], float], baseline: Callable[[], float], runs: int, warmups: int
) -> tuple[float, float]:
    """Medians of `ours` and `baseline` (each returns its own duration), run alternately."""
    for _ in range(warmups):
        ours()
        baseline()
    ours_times: list[float] = []
    base_times: list[float] = []
    for _ in range(runs):
        ours_times.append(ours())
        base_times.append(baseline())
    return statistics.median(ours_times), statistics.median(base_times)
