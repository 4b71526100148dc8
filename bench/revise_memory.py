"""What the daemon keeps so it can relabel its stored minutes once a thigh
sensor has learnt its mount: hours of sitting before the first walk through
``MinuteBook`` (minutes taken as the daemon takes them), then the bytes held
for a revision (``ImuTrack``'s seconds, the book's taken minutes), per second
and per minute, and what is left once a walk has taught the mount.

    .venv/bin/python bench/revise_memory.py --hours 2
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from devices.imu.synth import Segment, synthesise
from devices.samples import Link
from devices.virtual.imu import TURNED
from pacer.daemon.ble import SETTLE_MARGIN_S, MinuteBook

RATE = 10
T0 = 1_800_000_000.0  # on a whole minute


def deep_size(obj: Any, seen: set[int] | None = None) -> int:
    """Bytes of ``obj`` and what it holds (dicts, tuples, slotted objects)."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    size = sys.getsizeof(obj)
    if isinstance(obj, dict):
        size += sum(deep_size(k, seen) + deep_size(v, seen) for k, v in obj.items())
    elif isinstance(obj, (tuple, list)):
        size += sum(deep_size(v, seen) for v in obj)
    elif hasattr(obj, "__slots__"):
        size += sum(deep_size(getattr(obj, s), seen) for s in obj.__slots__
                    if hasattr(obj, s))
    return size


def held(book: MinuteBook) -> tuple[int, int, int, int]:
    """(seconds kept, their bytes, taken minutes kept, their bytes)."""
    seconds = sum(len(t.kept_labels) for t in book.tracks.values())
    second_bytes = sum(t.kept_minutes.buffer_info()[1] * t.kept_minutes.itemsize
                       + t.kept_labels.buffer_info()[1] * t.kept_labels.itemsize
                       for t in book.tracks.values())
    return seconds, second_bytes, len(book.given), deep_size(book.given)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=float, default=2.0,
                        help="hours of sitting before the first walk (default 2)")
    args = parser.parse_args()
    sit_s = int(args.hours * 3600)
    xyz, _ = synthesise([Segment("sitting", sit_s), Segment("walking", 150, 104),
                         Segment("sitting", 120)], RATE, "thigh", rotation=TURNED, seed=7)
    book = MinuteBook()
    book.note("witmotion", Link(T0, "thigh", connected=True, reason="connected"))
    track = book.track("thigh", "thigh", float(RATE))
    settle = 15 + SETTLE_MARGIN_S
    minute = int(T0 // 60)
    before: tuple[int, int, int, int] | None = None
    began = time.perf_counter()
    for i in range(0, len(xyz), RATE):
        at = T0 + (i + RATE - 1) / RATE + 0.05
        while (minute + 1) * 60 + settle <= at:
            book.take(minute)
            minute += 1
        if before is None and at >= T0 + sit_s:
            before = held(book)
        for x, y, z in xyz[i:i + RATE].tolist():
            book.motion(track, "thigh", "witmotion", at, (x, y, z))
    elapsed = time.perf_counter() - began
    assert before is not None
    seconds, second_bytes, minutes, minute_bytes = before
    changed = sum(len(r.changes) for r in book.relabelled)
    print(f"{args.hours:g} h of sitting before the first walk, {RATE} Hz, "
          f"through MinuteBook in {elapsed:.1f} s")
    print(f"kept before the walk: {seconds} seconds, {second_bytes / 1024:.0f} KiB "
          f"({second_bytes / max(seconds, 1):.1f} bytes a second); {minutes} taken minutes, "
          f"{minute_bytes / 1024:.0f} KiB ({minute_bytes / max(minutes, 1):.0f} bytes a minute)")
    day = 24 * 3600 * second_bytes / max(seconds, 1) + 1440 * minute_bytes / max(minutes, 1)
    print(f"at the pipeline's 24 h cap: about {day / 1024:.0f} KiB")
    print(f"the walk relabelled {changed} stored minutes; kept after it: "
          f"{held(book)[0]} seconds, {held(book)[2]} minutes")


if __name__ == "__main__":
    main()
