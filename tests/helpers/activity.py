"""Helpers for the activity tests (walks, overactivity, red flags): an engine
with a quota, either set directly in its plan state or reached the honest way
through seven valid baseline days.

The test day is Wednesday 2026-06-10 in London (summer time, +01:00). With the
waking window fixed at 07:30-21:30 (``FIXED_DAY``, 840 minutes) a quota of
8,400 steps makes the linear expectation ``E(t)`` exactly 10 steps per minute
since 07:30 (v2: since getting up, here 07:30)::

    quota 8,400  floor 4,200  ceiling 12,600  boom 15,750  0.5 * quota 4,200

v2 (pacing-rules.md section 4): the ceiling is max(quota * 1.5, B80 * 1.15);
with the plan set by hand B80 is unknown, so only quota * 1.5 applies; seven
baseline days of 10,500 steps give B80 = 10,500 and 12,075 < 12,600. The boom
(section 5) is max(quota, baseline) * 1.5 = 15,750. ``pace_ease_off`` needs at
least half the quota and comes ``pacing.settle_in_min`` (120) minutes after
getting up at the earliest (09:30).

A baseline of 10,500 steps a day gives that quota at the default start factor
(0.8), so the honest route and the direct one agree.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from datetime import date, timedelta

from helpers.engine import (
    FIXED_DAY,
    LONDON,
    UP,
    Day,
    Driver,
    Result,
    Segment,
    TimedCommand,
    to_local,
)
from pacer.config import Rules
from pacer.engine.core import Engine
from pacer.engine.model import Command, Epoch, Prompt

TEST_DATE = date(2026, 6, 10)  # a Wednesday: no weekly review
DAY = Day(TEST_DATE, LONDON)
KEY = TEST_DATE.isoformat()

QUOTA = 8400
BASELINE = 10500
FLOOR = 4200
CEILING = 12600  # quota * plan.ceiling (1.5); B80 * 1.15 = 12,075 is lower
BOOM = 15750  # max(quota, baseline) * boom.factor (1.5)
EASE_MIN = 4200  # 0.5 * quota (v2; v1: 0.3)
SETTLED = "09:30"  # up at 07:30 + pacing.settle_in_min (120)

BASELINE_DAYS = 7
BASELINE_DAY: tuple[Segment, ...] = (
    # 600 known window minutes (exactly 10 h: valid), 10,500 steps, no stepping.
    ("07:30", 525, UP, 20),
    ("", 75, UP, 0),
)


def at(clock: str, cmd: Command, day: Day = DAY) -> TimedCommand:
    """A command at a local clock time on the test day."""
    return (day.seconds(clock), cmd)


def give_quota(
    engine: Engine, quota: int = QUOTA, baseline: int | None = None, *, since: str = KEY
) -> None:
    """Put the engine's plan past its baseline, as if it had completed."""
    plan = engine.state.plan
    plan.baseline = baseline if baseline is not None else round(quota / 0.8)
    plan.quota = quota
    plan.phase = "progressing"
    plan.completed_on = since


def quota_driver(
    quota: int | None = QUOTA,
    *,
    rules: Rules | None = None,
    commands: Sequence[TimedCommand] = (),
    baseline: int | None = None,
) -> Driver:
    """A driver for the London test day; with a quota set directly unless
    ``quota`` is None (then the engine is in its baseline)."""
    driver = Driver(rules=rules if rules is not None else Rules(day=FIXED_DAY), zone=LONDON,
                    commands=commands)
    if quota is not None:
        give_quota(driver.engine, quota, baseline)
    return driver


def day_run(
    *segments: Segment,
    quota: int | None = QUOTA,
    rules: Rules | None = None,
    commands: Sequence[TimedCommand] = (),
    day: Day = DAY,
) -> Result:
    """Everything said over the segments of one day (and the final summary)."""
    driver = quota_driver(quota, rules=rules, commands=commands)
    driver.feed(day.epochs(*segments))
    return driver.finish()


DayShape = tuple[Segment, ...]


@functools.lru_cache(maxsize=8)
def _history_snapshot(rules: Rules, shapes: tuple[DayShape, ...]) -> tuple[str, str]:
    """The engine's JSON state after one day of each shape, on the days just
    before the test day (each lived to its end), and the kinds of the prompts
    it sent."""
    engine = Engine(rules, user="alice", timezone=LONDON)
    first = TEST_DATE - timedelta(days=len(shapes))
    sent: list[str] = []
    for i, shape in enumerate(shapes):
        for epoch in Day(first + timedelta(days=i), LONDON).epochs(*shape):
            sent.extend(o.kind for o in engine.advance(epoch) if isinstance(o, Prompt))
    # Live the last day to its end (03:59 of the test date is still part of
    # it), so what it says in its evening (v2: wearable_silent) is said here.
    end = Epoch.unknown(DAY.at("04:00") - 1)
    sent.extend(o.kind for o in engine.advance(end) if isinstance(o, Prompt))
    return json.dumps(engine.snapshot()), json.dumps(sent)


def after_days(
    shapes: Sequence[DayShape],
    *,
    rules: Rules | None = None,
    commands: Sequence[TimedCommand] = (),
) -> tuple[Driver, list[str]]:
    """A driver whose engine has lived through one day of each shape (the
    last one is the day before the test day), restored from a JSON round trip
    of its state; also the prompt kinds sent on those days."""
    rules = rules if rules is not None else Rules()
    snapshot, sent = _history_snapshot(rules, tuple(shapes))
    driver = Driver(rules=rules, zone=LONDON, commands=commands)
    driver.engine = Engine.restore(rules, user="alice", timezone=LONDON,
                                   snapshot=json.loads(snapshot))
    return driver, json.loads(sent)


def after_baseline(
    rules: Rules | None = None, commands: Sequence[TimedCommand] = ()
) -> tuple[Driver, list[str]]:
    """Seven valid baseline days (2026-06-03 to 2026-06-09, 10,500 steps each)
    the honest way: the test day is the first with a quota (8,400)."""
    return after_days((BASELINE_DAY,) * BASELINE_DAYS, rules=rules, commands=commands)


def kinds(r: Result) -> list[str]:
    return [p.kind for p in r.prompts]


def of_kind(r: Result, kind: str) -> list[Prompt]:
    return [p for p in r.prompts if p.kind == kind]


def clocks(r: Result, kind: str | None = None) -> list[str]:
    """Local HH:MM of the prompts (of one kind)."""
    return [to_local(p.time, r.tz).strftime("%H:%M") for p in r.prompts
            if kind is None or p.kind == kind]


def drops(r: Result, kind: str | None = None) -> list[tuple[str, str, str]]:
    """(HH:MM, kind, why) of the Dropped outputs (of one kind)."""
    return [(to_local(d.time, r.tz).strftime("%H:%M"), d.kind, d.why) for d in r.dropped
            if kind is None or d.kind == kind]
