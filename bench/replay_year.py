"""Replay a year of realistic minutes through the full engine.

Prints minutes per second and peak memory (tracemalloc of this process's
Python allocations, and the process's peak resident set size). Run:

    .venv/bin/python bench/replay_year.py [--days 365] [--repeat 3]
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import time
import tracemalloc
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

from pacer.config import Rules
from pacer.engine.core import Engine
from pacer.engine.model import Ack, Dnd, Epoch, Posture, Prompt, Symptom
from pacer.timebase import minute_of

TZ = "Europe/London"
SEED = 20261202


def year_of_minutes(days: int, seed: int) -> Iterator[Epoch]:
    """Sleep at night, desk sitting in stretches of 20-90 min with short breaks,
    two or three walks a day, some unknown gaps (watch off)."""
    rng = random.Random(seed)
    start = minute_of(datetime(2026, 1, 5, 4, 0, tzinfo=ZoneInfo(TZ)))
    m = start
    end = start + days * 1440
    while m < end:
        kind = rng.random()
        if kind < 0.55:
            length, posture, steps = rng.randint(20, 90), Posture.SEDENTARY, 0
        elif kind < 0.75:
            length, posture, steps = rng.randint(1, 6), Posture.UPRIGHT, 8
        elif kind < 0.9:
            length, posture, steps = rng.randint(5, 25), Posture.STEPPING, 95
        elif kind < 0.97:
            length, posture, steps = rng.randint(1, 30), Posture.UNKNOWN, 0
        else:
            length, posture, steps = rng.randint(300, 480), Posture.SEDENTARY, 0
        for _ in range(min(length, end - m)):
            yield Epoch(m, steps, posture)
            m += 1


def run_once(days: int) -> tuple[int, float, int]:
    rng = random.Random(SEED + 1)
    engine = Engine(Rules(), user="bench", timezone=TZ)
    minutes = prompts = 0
    t0 = time.perf_counter()
    for epoch in year_of_minutes(days, SEED):
        out = engine.advance(epoch)
        minutes += 1
        for o in out:
            if isinstance(o, Prompt):
                prompts += 1
                if rng.random() < 0.2:
                    engine.command(Ack("last", "snooze", 15), (o.time + 1) * 60)
        if minutes % 1440 == 600:
            engine.command(Symptom(rng.choice(("green", "green", "amber"))), epoch.start * 60)
        if minutes % 10080 == 700:
            engine.command(Dnd(60), epoch.start * 60)
    return minutes, time.perf_counter() - t0, prompts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rates = []
    for _ in range(args.repeat):
        minutes, seconds, prompts = run_once(args.days)
        rates.append(minutes / seconds)
    tracemalloc.start()
    run_once(args.days)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"minutes replayed per run: {minutes} ({args.days} days), prompts: {prompts}")
    print(f"minutes per second: median {statistics.median(rates):,.0f} "
          f"(runs: {', '.join(f'{r:,.0f}' for r in rates)})")
    print(f"peak traced Python memory: {peak / 2**20:.1f} MiB; peak RSS: {rss_kib / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
