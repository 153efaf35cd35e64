"""Timing helpers shared by the benchmarks: median (min–max) summaries and interleaved rounds.

Imported by the benchmark scripts, which run as ``python benchmarks/bench_*.py`` (this folder is then
first on ``sys.path``).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def summary(values: list[float], digits: int = 3) -> dict:
    """Median, min, max and every run of ``values`` (seconds, MiB…), rounded to ``digits``."""
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
        "runs": [round(v, digits) for v in values],
    }


def interleaved(peers: dict[str, Callable[[], Any]], repeats: int, digits: int = 3) -> tuple[dict, dict]:
    """Time every peer ``repeats`` times in rounds (A B C A B C …): a slow phase of the machine hits all alike.

    Returns the :func:`summary` of each peer's times and each peer's last result.
    """
    times: dict[str, list[float]] = {k: [] for k in peers}
    outs: dict[str, Any] = {}
    for _ in range(repeats):
        for k, fn in peers.items():
            t = time.perf_counter()
            outs[k] = fn()
            times[k].append(time.perf_counter() - t)
    return {k: summary(v, digits) for k, v in times.items()}, outs
