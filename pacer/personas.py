"""Simulated people in pain over several weeks, as code-generated fixtures.

Each persona is a deterministic generator (a seeded ``random.Random``) of what
the engine would be given: every minute as an ``Epoch`` (gap-free, in order)
and the commands the person sends (symptom reports, "I'm up" and "going to
bed" taps, exercise sessions, acknowledgements), with the ground truth the
engine never sees: when the person really got up and went to bed, and the steps
walked while the wearable was not worn. A checker (pacer/persona_check.py) can
then count what no recording of a real person could tell: prompts sent while
the person slept, a sitting bout carried over the night.

These are the people the docs/pacing-rules.md version 2 review replayed: a desk
worker with long meetings, a boom-bust retiree, a deconditioned person on a
thigh IMU, a night worker on rotating shifts, a person whose watch is often off
and a person with a red flag at 02:00. All live in Europe/London and start on
a Monday; four weeks from 16 March cross the spring DST change (29 March), four
weeks from 12 October cross the autumn one (25 October).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pacer.engine.model import (
    Ack,
    Command,
    DayEvent,
    Epoch,
    Exercise,
    Posture,
    Symptom,
    SymptomLevel,
)
from pacer.simulate import TimedEvent
from pacer.timebase import Minute, minute_of

TIMEZONE = "Europe/London"
SPRING = date(2026, 3, 16)  # a Monday; the clocks go forward on Sunday 29 March
AUTUMN = date(2026, 10, 12)  # a Monday; the clocks go back on Sunday 25 October
DAY_START = time(4, 0)  # the engine's default day.start: a recording covers whole pacing days
DEFAULT_SEED = 20260316

Device = Literal["wrist", "thigh"]
# What the person does for a stretch of minutes. "unseen" is walking with the
# wearable off (not worn, steps lost); "off" is the wearable off while still.
Activity = Literal["sit", "stand", "walk", "lie", "off", "unseen", "gap"]


@dataclass(frozen=True, slots=True)
class Seg:
    """A stretch of ``minutes`` doing ``what``; ``steps`` per minute (walks
    get a little noise per minute)."""

    what: Activity
    minutes: int
    steps: int = 0


@dataclass(frozen=True, slots=True)
class Recording:
    """One persona's weeks: the engine's input and the ground truth."""

    persona: str
    timezone: str
    device: Device
    start: date  # the first pacing day
    days: int
    epochs: list[Epoch]  # gap-free, one per minute, in order
    events: list[TimedEvent]  # sorted by time
    # Ground truth: [asleep_from, asleep_until) in minutes, in order; the first
    # begins with the recording, the last ends with it. Getting up is the end
    # of an interval, going to bed the start of the next.
    sleep: list[tuple[Minute, Minute]]
    settings: Mapping[str, Any]  # rule-table settings ("table.key" -> value) for this person
    unseen_steps: int  # steps walked while the wearable was not worn
    # Bed times the person did not tell with a tap: a step-only wearable cannot
    # see them, so pacer keeps the window open until its configured length.
    untold_beds: tuple[Minute, ...] = ()

    @property
    def first_minute(self) -> Minute:
        return self.epochs[0].start

    @property
    def end_minute(self) -> Minute:
        """The minute after the last."""
        return self.epochs[-1].start + 1

    @property
    def awake(self) -> list[tuple[Minute, Minute]]:
        """[up, bed) of every waking span, in order (a nap splits a day in two)."""
        return [(a[1], b[0]) for a, b in itertools.pairwise(self.sleep)]

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]


class _Builder:
    """Fills minutes in order: sleep until the person gets up, then the day's
    activities until they go to bed. Keeps the ground truth as it goes."""

    def __init__(self, name: str, device: Device, start: date, days: int,
                 rng: random.Random) -> None:
        self.name = name
        self.device = device
        self.tz = ZoneInfo(TIMEZONE)
        self.start = start
        self.days = days
        self.rng = rng
        self.first = self.at(start, DAY_START)
        self.end = self.at(start + timedelta(days=days), DAY_START)
        self.epochs: list[Epoch] = []
        self.events: list[TimedEvent] = []
        self.sleep: list[tuple[Minute, Minute]] = []
        self.asleep_since: Minute | None = self.first  # every recording begins at night
        self.unseen_steps = 0
        self.untold_beds: list[Minute] = []

    @property
    def cursor(self) -> Minute:
        return self.first + len(self.epochs)

    def at(self, day: date, clock: time, plus_min: int = 0) -> Minute:
        return minute_of(datetime.combine(day, clock, tzinfo=self.tz)) + plus_min

    def clock(self, day: date, hour: int, minute: int = 0, jitter: int = 0) -> Minute:
        """A local clock time on ``day`` (the next day for hour >= 24), +- jitter minutes."""
        # From the wall clock, not local midnight plus minutes, so 07:00 stays
        # 07:00 on a DST day.
        m = self.at(day + timedelta(days=hour // 24), time(hour % 24, minute))
        return m + (self.rng.randint(-jitter, jitter) if jitter else 0)

    def command(self, minute: Minute, cmd: Command, second: int = 20) -> None:
        self.events.append(TimedEvent(minute * 60.0 + second, cmd))

    def _epoch(self, m: Minute, what: Activity, steps: int) -> Epoch:
        if what in ("off", "unseen"):
            return Epoch.not_worn(m)
        if what == "gap":
            return Epoch.unknown(m)
        if what == "walk":
            steps = max(20, steps + self.rng.randint(-8, 8))
        if self.device == "wrist":
            return Epoch.from_steps(m, steps)
        posture = {"sit": Posture.SEDENTARY, "stand": Posture.UPRIGHT,
                   "walk": Posture.STEPPING, "lie": Posture.LYING}[what]
        return Epoch(m, steps, posture, inferred=False)

    def add(self, seg: Seg, until: Minute | None = None) -> None:
        n = seg.minutes if until is None else min(seg.minutes, until - self.cursor)
        for _ in range(max(0, n)):
            self.epochs.append(self._epoch(self.cursor, seg.what, seg.steps))
            if seg.what == "unseen":
                self.unseen_steps += seg.steps

    def sleep_until(self, up: Minute, night: Callable[[int], Iterator[Seg]] | None = None) -> None:
        """Asleep from the cursor until ``up`` (the first minute awake);
        ``night(minutes)`` gives what the wearable sees meanwhile (lying still
        by default; a charging watch, a trip to the toilet)."""
        assert self.asleep_since is not None, "already up"
        assert up >= self.cursor, f"{self.name}: getting up before the last bed time"
        segs = night(up - self.cursor) if night else iter(())
        for seg in segs:
            self.add(seg, until=up)
        self.add(Seg("lie", up - self.cursor), until=up)
        self.sleep.append((self.asleep_since, up))
        self.asleep_since = None

    def awake_until(self, bed: Minute, segs: Iterator[Seg]) -> None:
        """Awake from the cursor until ``bed`` (the first minute asleep), doing
        ``segs`` in turn; cut at bed time, and sitting if they run out."""
        assert self.asleep_since is None, "asleep"
        for seg in segs:
            if self.cursor >= bed:
                break
            self.add(seg, until=bed)
        self.add(Seg("sit", bed - self.cursor), until=bed)
        self.asleep_since = bed

    def finish(self, persona: str, settings: Mapping[str, Any]) -> Recording:
        if self.asleep_since is None:
            raise AssertionError(f"{persona}: the recording ends while the person is up")
        self.sleep_until(self.end)
        assert len(self.epochs) == self.end - self.first
        return Recording(
            persona=persona, timezone=TIMEZONE, device=self.device, start=self.start,
            days=self.days, epochs=self.epochs,
            events=sorted(self.events, key=lambda e: e.at), sleep=self.sleep,
            settings=dict(settings), unseen_steps=self.unseen_steps,
            untold_beds=tuple(self.untold_beds),
        )


# --- building blocks -----------------------------------------------------------------


def _walk(rng: random.Random, lo: int, hi: int, cadence: tuple[int, int] = (95, 115)) -> Seg:
    return Seg("walk", rng.randint(lo, hi), rng.randint(*cadence))


def _potter(rng: random.Random, lo: int = 2, hi: int = 8) -> Seg:
    """Standing about: the kitchen, a shelf, a chat."""
    return Seg("stand", rng.randint(lo, hi), rng.randint(3, 14))


def _break(rng: random.Random) -> Seg:
    """A short break from sitting: a minute or three on the feet."""
    return Seg("walk", rng.randint(1, 3), rng.randint(30, 60))


def _sitting(rng: random.Random, lo: int, hi: int) -> Iterator[Seg]:
    """Sitting in stretches of lo..hi minutes with short breaks, for ever
    (the caller's bed time or next fixed point cuts it)."""
    while True:
        yield Seg("sit", rng.randint(lo, hi))
        yield _break(rng) if rng.random() < 0.7 else _potter(rng, 1, 4)


def _until(b: _Builder, end: Minute, segs: Iterator[Seg]) -> Iterator[Seg]:
    """``segs`` cut at ``end``, for a part of the day with a fixed end (a meeting
    at 14:00, the train at 17:30)."""
    for seg in segs:
        left = end - b.cursor
        if left <= 0:
            return
        yield Seg(seg.what, min(seg.minutes, left), seg.steps)
    # the generator ran out early: sit until the fixed point
    if end > b.cursor:
        yield Seg("sit", end - b.cursor)


def _evening_report(b: _Builder, day: date, level: SymptomLevel, pain: int,
                    flags: tuple[str, ...] = ()) -> None:
    b.command(b.clock(day, 20, 30, jitter=25), Symptom(level, flags, pain))


# --- the personas --------------------------------------------------------------------


def _desk_worker(b: _Builder, weeks: int) -> None:
    """Office job, commutes on foot to the train, long meetings (60-120 minutes
    sitting). About 7,000-9,000 steps every day, steady: the plan should grow."""
    rng = b.rng
    for i in range(b.days):
        day = b.start + timedelta(days=i)
        weekend = day.weekday() >= 5
        up = b.clock(day, 8 if weekend else 6, 30 if weekend else 50, jitter=15)
        b.sleep_until(up)
        bed = b.clock(day, 23, 0, jitter=20)
        if weekend:
            b.awake_until(bed, _weekend_day(b, day))
            continue
        b.awake_until(bed, _desk_day(b, day))
        if rng.random() < 0.85:
            _evening_report(b, day, "green" if rng.random() < 0.85 else "amber",
                            rng.choice((2, 2, 3, 3, 4)))
        if day.weekday() in (1, 3) and rng.random() < 0.8:
            b.command(b.clock(day, 19, 30, jitter=10), Exercise(20, "physio exercises"))


def _desk_day(b: _Builder, day: date) -> Iterator[Seg]:
    rng = b.rng
    # breakfast, then the walk to the station
    yield from _until(b, b.clock(day, 7, 50), iter([
        _potter(rng, 10, 20), Seg("sit", rng.randint(10, 20)), _potter(rng, 5, 15)]))
    yield _walk(rng, 12, 16)
    yield Seg("sit", rng.randint(25, 35))  # the train
    yield _walk(rng, 8, 12)
    # the morning: a long meeting and desk work
    yield from _until(b, b.clock(day, 12, 30), _meetings(b))
    yield _walk(rng, 10, 18)  # lunch out
    yield _potter(rng, 3, 6)
    yield from _until(b, b.clock(day, 17, 40), _meetings(b))
    yield _walk(rng, 8, 12)
    yield Seg("sit", rng.randint(25, 35))
    yield _walk(rng, 12, 16)
    # the evening: cooking, the sofa
    yield _potter(rng, 20, 40)
    yield Seg("sit", rng.randint(20, 30))
    yield _potter(rng, 10, 20)
    yield from _sitting(rng, 45, 100)


def _meetings(b: _Builder) -> Iterator[Seg]:
    rng = b.rng
    while True:
        if rng.random() < 0.45:
            yield Seg("sit", rng.randint(60, 120))  # a meeting: no break possible
        else:
            yield Seg("sit", rng.randint(20, 50))
        yield _break(rng) if rng.random() < 0.75 else _potter(rng, 1, 4)


def _weekend_day(b: _Builder, day: date) -> Iterator[Seg]:
    rng = b.rng
    yield _potter(rng, 15, 30)
    yield Seg("sit", rng.randint(30, 50))
    yield _potter(rng, 20, 40)  # housework
    yield _walk(rng, 30, 45, (95, 110))  # out: shops, park
    yield _potter(rng, 10, 20)
    yield Seg("sit", rng.randint(40, 70))
    yield _walk(rng, 20, 35, (90, 110))
    yield from _sitting(rng, 40, 100)


def _boom_bust(b: _Builder, weeks: int) -> None:
    """A retiree of about 5,000 steps a day who does twice that on a good day
    and pays for it with a quiet day or two; evening reports, amber after most
    good days, and one red flare-up (no red flag) in the third good day."""
    rng = b.rng
    pain = 3
    booms = 0
    quiet_left = 0
    next_boom = rng.randint(2, 4)
    for i in range(b.days):
        day = b.start + timedelta(days=i)
        up = b.clock(day, 7, 45, jitter=30)
        b.sleep_until(up)
        bed = b.clock(day, 22, 30, jitter=30)
        if quiet_left:
            kind = "quiet"
            quiet_left -= 1
        elif i >= next_boom:
            kind = "boom"
            booms += 1
            quiet_left = rng.randint(1, 2)
            next_boom = i + quiet_left + rng.randint(2, 4)
        else:
            kind = "usual"
        b.awake_until(bed, _retiree_day(b, kind))
        level: SymptomLevel
        if kind == "boom":
            r = rng.random()
            level = "red" if booms == 3 or r < 0.1 else "amber" if r < 0.75 else "green"
            pain = min(10, pain + (3 if level == "red" else 2 if level == "amber" else 0))
        elif kind == "quiet":
            level = "amber" if pain >= 5 else "green"
            pain = max(2, pain - rng.randint(1, 2))
        else:
            level = "green"
            pain = max(1, min(10, pain + rng.choice((-1, 0, 0, 1))))
        if kind != "usual" or rng.random() < 0.6:
            _evening_report(b, day, level, pain)


def _retiree_day(b: _Builder, kind: str) -> Iterator[Seg]:
    rng = b.rng
    if kind == "quiet":
        # a bad day after a good one: sofa and bed, a few steps about the house
        while True:
            yield Seg("sit", rng.randint(40, 120))
            yield _potter(rng, 2, 6)
            if rng.random() < 0.3:
                yield Seg("lie", rng.randint(30, 90))  # lying down in the afternoon
            if rng.random() < 0.7:
                yield _walk(rng, 2, 4, (50, 80))
    yield _potter(rng, 20, 35)
    yield Seg("sit", rng.randint(30, 45))
    big = kind == "boom"
    # the usual day: a morning walk to the shops and an afternoon one; a good
    # day: the garden all morning and a long walk
    yield _walk(rng, 15, 25) if not big else _walk(rng, 40, 50)
    yield _potter(rng, 10, 20) if not big else Seg("stand", rng.randint(90, 150), 12)
    yield Seg("sit", rng.randint(45, 75))
    yield _walk(rng, 10, 20) if not big else _walk(rng, 25, 35)
    yield _potter(rng, 10, 20)
    yield from _sitting(rng, 40, 90)


def _deconditioned(b: _Builder, weeks: int) -> None:
    """Very deconditioned, on a thigh IMU: lying at night (one trip to the
    toilet), long hours in an armchair, a rest lying down after lunch, short
    slow walks about the house: about 1,200-2,000 steps a day."""
    rng = b.rng
    pain = 5

    def night(minutes: int) -> Iterator[Seg]:
        if minutes < 240:
            return
        first = rng.randint(120, minutes - 90)
        yield Seg("lie", first)
        yield Seg("walk", rng.randint(2, 3), rng.randint(25, 35))  # to the toilet and back
        yield Seg("stand", 1, 4)

    for i in range(b.days):
        day = b.start + timedelta(days=i)
        b.sleep_until(b.clock(day, 9, 0, jitter=30), night if i else None)
        bed = b.clock(day, 21, 30, jitter=30)
        b.awake_until(bed, _armchair_day(b))
        if day.weekday() in (2, 6):
            r = rng.random()
            pain = max(3, min(8, pain + rng.choice((-1, 0, 1))))
            _evening_report(b, day, "amber" if r < 0.35 else "green", pain)


def _armchair_day(b: _Builder) -> Iterator[Seg]:
    rng = b.rng
    yield _potter(rng, 10, 20)  # washing, dressing
    yield Seg("sit", rng.randint(60, 120))
    yield Seg("walk", rng.randint(4, 8), rng.randint(45, 60))  # about the house
    yield Seg("sit", rng.randint(90, 150))
    yield _potter(rng, 5, 10)  # lunch
    yield Seg("lie", rng.randint(40, 90))  # a rest, awake, on the bed
    while True:
        yield Seg("sit", rng.randint(60, 150))
        yield _potter(rng, 2, 6)
        if rng.random() < 0.8:
            yield Seg("walk", rng.randint(3, 6), rng.randint(40, 60))


def _night_shift(b: _Builder, weeks: int) -> None:
    """A care worker on rotating shifts: nights (22:00-06:00, Monday to Friday
    nights) in weeks 1 and 3, days (07:00-15:00) in weeks 2 and 4. Sleeps
    07:30-14:30 after a night, naps before the first; taps "I'm up" and
    "going to bed" on most occasions. Lots of walking on shift."""
    rng = b.rng

    def tap(up: Minute, bed: Minute) -> None:
        if rng.random() < 0.9:
            b.command(up + rng.randint(0, 4), DayEvent("up"))
        if rng.random() < 0.9:
            b.command(bed - rng.randint(1, 8), DayEvent("bed"))
        else:
            b.untold_beds.append(bed)

    for i in range(b.days):
        day = b.start + timedelta(days=i)
        nights = (i // 7) % 2 == 0
        weekday = day.weekday()
        if nights and weekday == 0:
            # before the first night: up in the morning, a nap in the afternoon
            up = b.clock(day, 8, 0, jitter=20)
            b.sleep_until(up)
            nap = b.clock(day, 14, 0, jitter=15)
            tap(up, nap)
            b.awake_until(nap, _off_day(b))
            up = b.clock(day, 18, 0, jitter=15)
            b.sleep_until(up)
        elif nights and 1 <= weekday <= 5:
            up = b.clock(day, 14, 30, jitter=20)  # after the previous night's shift
            b.sleep_until(up)
        elif weekday >= 5:
            up = b.clock(day, 9, 0, jitter=30)  # a day off
            b.sleep_until(up)
        else:
            up = b.clock(day, 6, 0, jitter=15)  # a day shift at 07:00
            b.sleep_until(up)
        if nights and weekday <= 4:
            bed = b.clock(day, 24 + 7, 30, jitter=15)  # after the shift, next morning
            segs = _night_shift_day(b, day)
        elif not nights and weekday <= 4:
            bed = b.clock(day, 22, 0, jitter=20)
            segs = _day_shift_day(b, day)
        else:
            bed = b.clock(day, 23, 0, jitter=20)
            segs = _off_day(b)
        tap(up, bed)
        b.awake_until(bed, segs)
        if rng.random() < 0.5:
            b.command(bed - rng.randint(20, 60),
                      Symptom("green" if rng.random() < 0.8 else "amber", (), rng.randint(2, 4)))


def _shift(b: _Builder, end: Minute) -> Iterator[Seg]:
    rng = b.rng

    def work() -> Iterator[Seg]:
        while True:
            yield _walk(rng, 2, 5, (80, 105))  # rounds
            yield _potter(rng, 10, 25)
            if rng.random() < 0.5:
                yield Seg("sit", rng.randint(15, 40))  # notes, a break
    yield from _until(b, end, work())


def _night_shift_day(b: _Builder, day: date) -> Iterator[Seg]:
    rng = b.rng
    yield _potter(rng, 20, 40)
    yield from _until(b, b.clock(day, 21, 30), _sitting(rng, 30, 80))
    yield _walk(rng, 15, 25)
    yield from _shift(b, b.clock(day, 24 + 6, 0))
    yield _walk(rng, 15, 25)
    yield Seg("sit", rng.randint(20, 40))


def _day_shift_day(b: _Builder, day: date) -> Iterator[Seg]:
    rng = b.rng
    yield _potter(rng, 15, 25)
    yield _walk(rng, 15, 25)
    yield from _shift(b, b.clock(day, 15, 0))
    yield _walk(rng, 15, 25)
    yield from _sitting(rng, 30, 90)


def _off_day(b: _Builder) -> Iterator[Seg]:
    rng = b.rng
    yield _potter(rng, 15, 30)
    yield Seg("sit", rng.randint(30, 60))
    yield _walk(rng, 20, 40)
    yield from _sitting(rng, 30, 90)


def _watch_off(b: _Builder, weeks: int) -> None:
    """A shop worker whose watch is often off: on the charger some nights and
    most evenings for an hour or two while cooking, forgotten in a drawer some
    mornings (the walk to work unseen), and one day a week not worn at all, while
    walking several thousand steps the watch never sees."""
    rng = b.rng

    def charging(minutes: int) -> Iterator[Seg]:
        yield Seg("off", minutes)

    drawer_day = rng.randint(0, 6)
    for i in range(b.days):
        day = b.start + timedelta(days=i)
        worn_night = rng.random() < 0.6
        b.sleep_until(b.clock(day, 7, 0, jitter=20), None if worn_night or i == 0 else charging)
        bed = b.clock(day, 22, 45, jitter=20)
        if i % 7 == drawer_day:
            # the whole day in a drawer: an ordinary day the watch never sees
            b.awake_until(bed, (Seg("unseen", s.minutes, s.steps) if s.what == "walk"
                                else Seg("off", s.minutes) for s in _shop_day(b, day, False)))
        else:
            b.awake_until(bed, _shop_day(b, day, rng.random() < 0.35))
        if rng.random() < 0.7:
            _evening_report(b, day, "green" if rng.random() < 0.8 else "amber",
                            rng.randint(2, 4))


def _shop_day(b: _Builder, day: date, forgot: bool) -> Iterator[Seg]:
    """A shop floor job: standing and walking; ``forgot``: the watch stays in
    the drawer until the lunch break."""
    rng = b.rng
    morning = [_potter(rng, 20, 30), Seg("sit", rng.randint(10, 20)), _walk(rng, 15, 25)]

    def floor() -> Iterator[Seg]:
        while True:
            yield _potter(rng, 15, 40)
            yield _walk(rng, 1, 3, (60, 90))
            if rng.random() < 0.3:
                yield Seg("sit", rng.randint(10, 20))

    lunch = b.clock(day, 12, 30, jitter=15)
    if forgot:
        for seg in morning:
            yield Seg("unseen", seg.minutes, seg.steps) if seg.what == "walk" else Seg(
                "off", seg.minutes)
        for seg in _until(b, lunch, floor()):
            yield Seg("unseen", seg.minutes, seg.steps) if seg.what == "walk" else Seg(
                "off", seg.minutes)
    else:
        yield from morning
        yield from _until(b, lunch, floor())
    yield Seg("sit", rng.randint(20, 30))
    yield from _until(b, b.clock(day, 17, 30), floor())
    yield _walk(rng, 15, 25)
    # on the charger while cooking most evenings, walking about the kitchen
    if rng.random() < 0.7:
        yield Seg("unseen", rng.randint(50, 110), rng.randint(5, 15))
    else:
        yield _potter(rng, 20, 40)
    yield from _sitting(rng, 40, 90)


RED_FLAG_DAY = 9  # the Tuesday night of the second week (night of day 9 to day 10)


def _red_flag_night(b: _Builder, weeks: int) -> None:
    """A person working from home who wakes at 02:00 with numbness around
    the buttocks and reports the red flag; up for two hours, then back to bed.
    The next afternoon they tell pacer a clinician has seen them."""
    rng = b.rng
    for i in range(b.days):
        day = b.start + timedelta(days=i)
        b.sleep_until(b.clock(day, 7, 30, jitter=20))
        bed = b.clock(day, 22, 30, jitter=20)
        b.awake_until(bed, _home_day(b, quiet=i == RED_FLAG_DAY + 1))
        if i == RED_FLAG_DAY and b.days > i + 1:
            # awake at night: from 01:55 to about 04:00 the next calendar day
            woke = b.clock(day, 24 + 1, 55)
            b.sleep_until(woke)
            b.command(woke + 5, Symptom("red", ("saddle_numbness",), 8), second=0)
            back = b.clock(day, 24 + 4, 0, jitter=10)
            b.awake_until(back, iter([Seg("walk", 3, 40), Seg("sit", 60), _potter(rng, 5, 10)]))
        if i == RED_FLAG_DAY + 1:
            b.command(b.clock(day, 16, 0), Ack("last", "seen"))
        elif rng.random() < 0.7:
            _evening_report(b, day, "green", rng.randint(2, 4))


def _home_day(b: _Builder, quiet: bool) -> Iterator[Seg]:
    rng = b.rng
    yield _potter(rng, 20, 30)
    if not quiet:
        yield _walk(rng, 15, 30)
    yield from _sitting(rng, 30, 70 if not quiet else 120)


# --- the catalogue -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Persona:
    name: str
    summary: str
    device: Device
    start: date
    build: Callable[[_Builder, int], None] = field(repr=False)
    # Rule-table settings a physiotherapist would give this person.
    settings: Mapping[str, Any] = field(default_factory=dict)

    def generate(self, weeks: int = 4, seed: int = DEFAULT_SEED) -> Recording:
        """``weeks`` of minutes and commands; the same seed gives the same recording."""
        if weeks < 1:
            raise ValueError("weeks must be at least 1")
        # The persona's name goes into the seed so personas differ for one seed.
        rng = random.Random(f"{self.name}:{seed}")
        b = _Builder(self.name, self.device, self.start, weeks * 7, rng)
        self.build(b, weeks)
        return b.finish(self.name, self.settings)


PERSONAS: dict[str, Persona] = {p.name: p for p in (
    Persona("desk_worker", "desk job, long meetings, 7-9k steps, steady; wrist watch",
            "wrist", SPRING, _desk_worker),
    Persona("boom_bust", "retiree, good days at twice the usual steps then quiet days, "
            "amber and red reports; wrist watch", "wrist", SPRING, _boom_bust),
    Persona("deconditioned", "1,200-2,000 steps, long sitting, lying at night; thigh IMU",
            "thigh", AUTUMN, _deconditioned,
            # start small: walks of 3 minutes, at the slow pace this person walks
            {"walks.min_duration_min": 3, "walks.min_cadence": 40}),
    # A person on rotating shifts needs no day settings in version 2: the taps do.
    Persona("night_shift", "rotating day and night shifts, taps up and bed; wrist watch",
            "wrist", AUTUMN, _night_shift),
    Persona("watch_off", "watch often off: charging, in a drawer, walking unseen; wrist watch",
            "wrist", SPRING, _watch_off),
    Persona("red_flag_night", "home worker, reports a red flag at 02:00 one night; wrist watch",
            "wrist", SPRING, _red_flag_night),
)}
