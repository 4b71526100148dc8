"""Replay a year of realistic minutes through the full pacing engine.

Prints, for the engine alone (minutes already in memory), for the minutes CSV
reader alone (``read_minutes`` over the year's file, each epoch dropped) and
for the whole ``pacer replay`` path (CSV parsing included, output discarded):
minutes per second (median of the runs) and peak memory (tracemalloc's peak of
Python allocations during one run, and the process's peak RSS). Also how the
rate changes with the length of the history (a quarter, half and whole year).

    .venv/bin/python bench/replay_year.py [--days 365] [--repeat 3]
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import tempfile
import time
import tracemalloc
from datetime import date
from pathlib import Path

from pacer import replay, simulate
from pacer.config import Rules
from pacer.engine.core import Engine
from pacer.engine.model import Ack, Epoch, Prompt, Summary
from pacer.io.events import TimedCommand
from pacer.io.minutes import read_minutes
from pacer.timebase import iso, zone

TZ = "Europe/London"
START = date(2026, 1, 5)
SEED = 20261202


def engine_run(epochs: list[Epoch], events: list[simulate.TimedEvent]) -> tuple[int, int]:
    """The engine over in-memory minutes, with symptom events and acks."""
    rng = random.Random(SEED)
    engine = Engine(Rules(), user="bench", timezone=TZ)
    prompts = 0
    nxt = 0
    for epoch in epochs:
        limit = (epoch.start + 1) * 60
        while nxt < len(events) and events[nxt].at <= limit:
            engine.command(events[nxt].command, events[nxt].at)
            nxt += 1
        for out in engine.advance(epoch):
            if isinstance(out, Prompt):
                prompts += 1
                if out.kind == "sitting_break" and rng.random() < 0.3:
                    engine.command(Ack("last", "snooze", 15), (out.time + 1) * 60)
    engine.close_day()
    return len(epochs), prompts


def write_csv(path: Path, epochs: list[Epoch]) -> None:
    tz = zone(TZ)
    with path.open("w", encoding="utf-8") as f:
        f.write("time,steps,posture\n")
        for e in epochs:
            f.write(f"{iso(e.start, tz)},{e.steps},{e.posture.value}\n")


def cli_run(csv: Path, events: list[simulate.TimedEvent]) -> int:
    """What ``pacer replay --json`` does, printing to nowhere."""
    engine = Engine(Rules(), user="bench", timezone=TZ)
    timed = [TimedCommand(at=e.at, command=e.command, line=i + 1) for i, e in enumerate(events)]
    sink: list[int] = []

    def emit(out: Prompt | Summary) -> None:
        sink.append(len(replay.dumps(replay.wire(out, engine))))

    stats = replay.run(engine, read_minutes(csv, filled=True), timed, emit)
    return stats.minutes


def read_run(csv: Path) -> int:
    """The reader alone: every row parsed into its epoch, and dropped."""
    n = 0
    for _ in read_minutes(csv):
        n += 1
    return n


def rate(fn: object, repeat: int, *args: object) -> tuple[float, list[float], int]:
    rates = []
    n = 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn(*args)  # type: ignore[operator]
        seconds = time.perf_counter() - t0
        n = result[0] if isinstance(result, tuple) else result
        rates.append(n / seconds)
    return statistics.median(rates), rates, n


def peak_mib(fn: object, *args: object) -> float:
    tracemalloc.start()
    fn(*args)  # type: ignore[operator]
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    epochs = list(simulate.minutes(START, args.days, TZ, SEED))
    events = simulate.symptom_events(START, args.days, TZ, SEED)
    _, prompts = engine_run(epochs, events)
    print(f"input: {len(epochs):,} minutes ({args.days} days), {len(events)} symptom reports, "
          f"{prompts:,} prompts")

    med, runs, _ = rate(engine_run, args.repeat, epochs, events)
    print(f"engine alone:        {med:>10,.0f} minutes/s  (runs: "
          f"{', '.join(f'{r:,.0f}' for r in runs)})")
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "year.csv"
        write_csv(csv, epochs)
        med_read, runs_read, _ = rate(read_run, args.repeat, csv)
        print(f"CSV reader alone:    {med_read:>10,.0f} rows/s     (runs: "
              f"{', '.join(f'{r:,.0f}' for r in runs_read)})")
        med_cli, runs_cli, _ = rate(cli_run, args.repeat, csv, events)
        print(f"replay path (CSV):   {med_cli:>10,.0f} minutes/s  (runs: "
              f"{', '.join(f'{r:,.0f}' for r in runs_cli)})")
        cli_peak = peak_mib(cli_run, csv, events)
    for share in (4, 2):
        part = epochs[: len(epochs) // share]
        part_events = [e for e in events if e.at < (part[-1].start + 1) * 60]
        m, _, _ = rate(engine_run, args.repeat, part, part_events)
        print(f"engine, 1/{share} of the history: {m:>10,.0f} minutes/s")
    del epochs
    engine_peak = peak_mib(engine_run, list(simulate.minutes(START, args.days, TZ, SEED)),
                           events)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak traced memory: engine run {engine_peak:.1f} MiB (the minutes were made "
          f"before tracing), replay path {cli_peak:.1f} MiB; process peak RSS {rss:.0f} MiB")


if __name__ == "__main__":
    main()
