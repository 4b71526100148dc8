"""Synthetic but realistic recordings: minutes and symptom reports of a person
with a desk job and persistent back pain, for benchmarks, soak tests and demos.

Deterministic for a given seed. Days have a night of lying still (or the watch
off charging), a morning routine, desk sitting in stretches of 20-90 minutes
with short breaks, two or three walks, an evening on the sofa; some days are
quiet (bad days) and some are big (good days, boom), and now and then the
watch is off for a while.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pacer.engine.model import Command, Epoch, Posture, Symptom, SymptomLevel
from pacer.timebase import minute_of


@dataclass(frozen=True, slots=True)
class TimedEvent:
    at: float  # unix seconds
    command: Command


def _at(day: date, clock: time, tz: ZoneInfo) -> int:
    return minute_of(datetime.combine(day, clock, tzinfo=tz))


def day_minutes(day: date, tz: ZoneInfo, rng: random.Random) -> Iterator[tuple[int, int, Posture]]:
    """(steps, minutes, posture) segments of one local day from 04:00."""
    mood = rng.random()
    walk_cadence = rng.randint(85, 115)
    big = mood > 0.88  # a good day: much more walking
    quiet = mood < 0.1  # a bad day: little movement
    # 04:00 to waking: asleep, or the watch is off charging.
    wake = rng.randint(6 * 60 + 30, 7 * 60 + 45) - 4 * 60
    yield 0, wake, Posture.UNKNOWN if rng.random() < 0.3 else Posture.SEDENTARY
    left = 18 * 60 - wake  # until 22:00
    walks = 0 if quiet else rng.randint(1, 3) + (3 if big else 0)
    while left > 0:
        r = rng.random()
        if walks and r < 0.12:
            length = rng.randint(5, 25) * (2 if big else 1)
            walks -= 1
            yield walk_cadence, length, Posture.STEPPING
        elif r < 0.17:
            yield 0, rng.randint(5, 40), Posture.UNKNOWN  # watch off for a while
            continue
        elif r < 0.45:
            yield rng.randint(3, 15), rng.randint(1, 5), Posture.UPRIGHT
            length = 0
        else:
            length = rng.randint(20, 90 if not quiet else 150)
            yield 0, length, Posture.SEDENTARY
        if r >= 0.45:
            # Most bouts end in a short break of a minute or three.
            yield rng.randint(20, 70), rng.randint(1, 3), Posture.STEPPING
        left -= max(length, 3)
    yield 0, 6 * 60, Posture.SEDENTARY  # 22:00 to 04:00


def minutes(start: date, days: int, timezone: str, seed: int) -> Iterator[Epoch]:
    """Every minute of ``days`` pacing days from 04:00 on ``start``."""
    tz = ZoneInfo(timezone)
    rng = random.Random(seed)
    for i in range(days):
        day = start + timedelta(days=i)
        m = _at(day, time(4, 0), tz)
        end = _at(day + timedelta(days=1), time(4, 0), tz)
        for steps, length, posture in day_minutes(day, tz, rng):
            for _ in range(length):
                if m >= end:
                    break
                yield Epoch(m, steps if posture is not Posture.UNKNOWN else 0, posture,
                            inferred=False)
                m += 1
        while m < end:
            yield Epoch(m, 0, Posture.SEDENTARY)
            m += 1


def symptom_events(start: date, days: int, timezone: str, seed: int) -> list[TimedEvent]:
    """An evening check-in most days: mostly green, some amber, a red now and
    then (a flare), with a pain score."""
    tz = ZoneInfo(timezone)
    rng = random.Random(seed + 1)
    events = []
    pain = 3
    for i in range(days):
        if rng.random() < 0.15:
            continue  # forgot to check in
        day = start + timedelta(days=i)
        at = _at(day, time(20, rng.randint(0, 59)), tz) * 60.0
        r = rng.random()
        level: SymptomLevel = "red" if r < 0.02 else "amber" if r < 0.15 else "green"
        pain = max(0, min(10, pain + rng.choice((-1, 0, 0, 1)) + (2 if level == "red" else 0)))
        events.append(TimedEvent(at, Symptom(level, pain=pain)))
    return events
