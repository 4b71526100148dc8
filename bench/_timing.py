"""Timing for the benchmark scripts: the median of repeated runs, and of two
things run in turns (so that a change in the machine's load falls on both)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_s(fn: Callable[[], object], runs: int) -> float:
    """The median wall time of ``runs`` calls of ``fn``, in seconds."""
    took = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        took.append(time.perf_counter() - t0)
    return statistics.median(took)


def interleaved(first: Callable[[], object], second: Callable[[], object],
                runs: int) -> tuple[float, float]:
    """The median wall times of ``first`` and ``second``, called in turns ``runs`` times."""
    took: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        for fn, out in ((first, took[0]), (second, took[1])):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
    return statistics.median(took[0]), statistics.median(took[1])
