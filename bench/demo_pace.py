"""How fast ``pacer demo``'s lock-step day runs on this machine: the pace its
``--speed`` cap (``pacer.demo.WATCH_MAX_SPEED``) is set from.

The watch's day steps a minute at a time (pacer/lockstep.py): steps into the
virtual watch, counted by the daemon, the minute taken at the daemon's next
minute job, its messages through mosquitto back to the phone, its prompts on
the watch. This runs the demo's first ``--hours`` at each asked speed, the
last flat out (no cap, no pacing), and prints the pace it kept (simulated
minutes per real second, as "x real time") and the mean real time a minute.
Each run's day is checked to be the same as the first's.

    .venv/bin/python bench/demo_pace.py [--hours 3] [--speeds 1200,3000,inf]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import math
import time
from typing import Any

from pacer import demo


def run(speed: float, hours: float) -> tuple[float, int, str]:
    """(real seconds in lock-step, minutes stepped, the printed day) of one run."""
    timed: dict[str, float] = {}
    stepped = demo._lockstep  # the demo's own loop, timed

    async def lockstep(*args: Any, **kwargs: Any) -> None:
        t0 = time.perf_counter()
        await stepped(*args, **kwargs)
        timed["s"] = time.perf_counter() - t0

    saved = demo._lockstep, demo.WATCH_MAX_SPEED
    demo._lockstep = lockstep
    demo.WATCH_MAX_SPEED = math.inf
    try:
        out = io.StringIO()
        asyncio.run(demo._demo(speed, hours, out))
    finally:
        demo._lockstep, demo.WATCH_MAX_SPEED = saved
    text = out.getvalue()
    day = text[text.index("  day opened at "):text.index("\nSummary for ")]
    minutes = round(hours * 60) + demo.PRE_ROLL_S // 60
    return timed["s"], minutes, day


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=float, default=3.0)
    parser.add_argument("--speeds", default="1200,3000,inf",
                        help="asked speeds, comma-separated; inf: flat out")
    args = parser.parse_args()
    first: str | None = None
    print(f"the demo's first {args.hours:g} h (plus {demo.PRE_ROLL_S // 60} min before "
          "the day), in lock-step:")
    for speed in (float(s) for s in args.speeds.split(",")):
        seconds, minutes, day = run(speed, args.hours)
        first = first if first is not None else day
        print(f"  asked {speed:>8g}x  kept {minutes * 60 / seconds:7.0f}x  "
              f"{seconds / minutes * 1000:5.1f} ms a minute  "
              f"{'same day' if day == first else 'A DIFFERENT DAY'}")


if __name__ == "__main__":
    main()
