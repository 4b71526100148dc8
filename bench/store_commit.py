"""How long the daemon's event loop is held by each minute's SQLite write.

The daemon writes each minute (the epoch, the engine's state, the prompts and
outbox rows it decided) in one transaction on its event loop, durable
(synchronous FULL, WAL), in order with what it publishes. The blocking-call
guard (tests/pacer/daemon/test_daemon_blocking.py) declares that write; this prints what it
costs: the time of ``Store.commit_minute`` per minute over simulated days of a
lived-in engine state, as the daemon calls it.

    .venv/bin/python bench/store_commit.py [--days 7] [--dir DIR]

``--dir`` puts the SQLite file on the disk to measure (default: a temporary
folder); a Raspberry Pi's SD card is far slower than a server's SSD.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from pacer import simulate
from pacer.config import Rules
from pacer.contract.topics import Topics
from pacer.daemon.messages import outbox_for
from pacer.engine.core import Engine
from pacer.store import Store

TZ = "Europe/London"
START = date(2026, 1, 5)
SEED = 20261207


def measure(folder: Path, days: int) -> list[float]:
    engine = Engine(Rules(), user="bench", timezone=TZ)
    topics = Topics("pacer", "bench")
    events = simulate.symptom_events(START, days, TZ, SEED)
    took: list[float] = []
    nxt = 0
    with Store.open(folder / "pacer.sqlite3") as store:
        for epoch in simulate.minutes(START, days, TZ, SEED):
            limit = (epoch.start + 1) * 60
            while nxt < len(events) and events[nxt].at <= limit:
                engine.command(events[nxt].command, events[nxt].at)
                nxt += 1
            outputs = engine.advance(epoch)
            outbox = outbox_for(outputs, topics=topics, tz=engine.tz,
                                real_deadline=lambda s: s)
            state = engine.snapshot()
            t0 = time.perf_counter()
            store.commit_minute("bench", epoch, "replay", outputs, state, outbox)
            took.append(time.perf_counter() - t0)
            if outbox:  # the publisher empties the outbox as the broker acknowledges
                for seq, _msg in store.outbox_pending():
                    store.outbox_done(seq)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        took = sorted(measure(Path(tmp), args.days))
    ms = [t * 1000 for t in took]
    q = statistics.quantiles(ms, n=100)
    print(f"Store.commit_minute over {len(ms):,} minutes ({args.days} simulated days), "
          f"durable (synchronous FULL, WAL):")
    print(f"  median {statistics.median(ms):.2f} ms, p90 {q[89]:.2f} ms, p99 {q[98]:.2f} ms, "
          f"max {ms[-1]:.2f} ms; total {sum(ms) / 1000:.1f} s")


if __name__ == "__main__":
    main()
