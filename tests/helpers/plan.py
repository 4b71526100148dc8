"""Helpers for plan and symptom tests: recordings of many days, each with a
given step total, valid or not, with commands at given days and clock times.

Days are numbered from ``START`` (a Monday, so day 0, 7, 14 ... are review
days of the default plan); clock strings are local times in London::

    specs = [5000] * 7 + [DaySpec(3500, known_min=599)]   # 7 valid days, then one invalid
    r = run_days(specs, commands=[at(8, "10:00", Symptom("red"))])
    r.final(key(7))["plan"]                # the summary of day 7
    [stamp(p) for p in kind(r, "plan_update")]   # ["2026-06-08 07:30", ...]

A day's steps are spread evenly over known minutes from ``day.wake`` on, all
upright (no sitting bouts, no walks, no long stepping bouts), so each day's
whole-day step total is exactly what the spec says. Extra segments (a sitting
bout, a walk) replace the filler minutes they cover; their steps are part of
the day's total.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from helpers.engine import (
    FIXED_DAY,
    LONDON,
    NO_WALKS,
    UP,
    Day,
    Driver,
    Result,
    Segment,
    TimedCommand,
    to_local,
)
from pacer.config import Rules
from pacer.contract import payloads
from pacer.engine.model import Command, Epoch, Output, Prompt, Summary
from pacer.io.minutes import fill_gaps
from pacer.timebase import Minute

START = date(2026, 6, 1)  # a Monday; London is on summer time (+01:00) all month
ZONE = LONDON
TZ = ZoneInfo(ZONE)
WINDOW_MIN = 14 * 60  # 07:30-21:30
VALID_MIN = 600  # day.min_known_hours = 10


def day(i: int) -> Day:
    """Day ``i`` of the recording (0 = START)."""
    return Day(START + timedelta(days=i), ZONE)


def key(i: int) -> str:
    """The ISO date of day ``i`` (a daily summary's key)."""
    return (START + timedelta(days=i)).isoformat()


def at(i: int, clock: str, cmd: Command) -> TimedCommand:
    """A command at a local clock time (``"10:00"``, ``"10:00:30"``, ``"+1 03:00"``)
    of day ``i``."""
    return (day(i).seconds(clock), cmd)


def stamp(x: Prompt | Output | Minute) -> str:
    """``YYYY-MM-DD HH:MM`` local time of a prompt (or any output with a time, or a minute)."""
    minute = x if isinstance(x, int) else x.time
    return to_local(minute, TZ).strftime("%Y-%m-%d %H:%M")


def when(i: int, clock: str) -> str:
    """``stamp`` of a clock time on day ``i``."""
    return stamp(day(i).at(clock))


def plan_rules(**tables: Any) -> Rules:
    """``Rules`` without walk reminders unless ``walks`` is given, and with v1's
    fixed waking window (07:30-21:30, ``FIXED_DAY``) unless ``day`` is given, so
    morning messages go out at 07:30 whatever the data say."""
    tables.setdefault("walks", NO_WALKS)
    tables.setdefault("day", FIXED_DAY)
    return Rules(**tables)


@dataclass(frozen=True, slots=True)
class DaySpec:
    """One recorded day: ``steps`` over the whole day, ``known_min`` known minutes
    from day.wake on (840 = the whole window, 600 = just valid, 599 = not valid),
    and extra segments that replace filler minutes."""

    steps: int
    known_min: int = WINDOW_MIN
    segments: tuple[Segment, ...] = ()


def invalid(steps: int) -> DaySpec:
    """A day one known minute short of valid."""
    return DaySpec(steps, known_min=VALID_MIN - 1)


def spread(total: int, minutes: int) -> list[int]:
    """``total`` steps over ``minutes`` minutes, as evenly as whole numbers allow."""
    if minutes <= 0:
        if total:
            raise ValueError(f"{total} steps need at least one minute")
        return []
    return [(i + 1) * total // minutes - i * total // minutes for i in range(minutes)]


def day_epochs(d: Day, spec: DaySpec | int) -> list[Epoch]:
    """The epochs of one day, in time order."""
    if isinstance(spec, int):
        spec = DaySpec(spec)
    special: dict[Minute, Epoch] = {e.start: e for e in d.epochs(*spec.segments)} if (
        spec.segments) else {}
    wake = d.at("07:30")
    filler = [m for m in range(wake, wake + spec.known_min) if m not in special]
    seg_steps = sum(e.steps for e in special.values())
    steps = spread(spec.steps - seg_steps, len(filler))
    epochs = dict(special)
    for m, n in zip(filler, steps, strict=True):
        epochs[m] = Epoch(m, n, UP)
    return [epochs[m] for m in sorted(epochs)]


def days_epochs(specs: Sequence[DaySpec | int], first: int = 0) -> list[Epoch]:
    """Days ``first``, ``first + 1``, ... one per spec (an int is a whole valid day
    with that many steps)."""
    out: list[Epoch] = []
    for i, spec in enumerate(specs):
        out.extend(day_epochs(day(first + i), spec))
    return out


def run_days(
    specs: Sequence[DaySpec | int],
    *,
    commands: Sequence[TimedCommand] = (),
    rules: Rules | None = None,
    until: tuple[int, str] | None = None,
) -> Result:
    """Everything the engine says over the days of ``specs``, then the final
    summaries of ``close_day``. Minutes between the days' data are fed as
    unknown (as ``pacer replay`` does for missing rows), so each command goes in
    just before the first evaluation at or after its time. With ``until=(i,
    "07:30")`` the recording runs on with unknown minutes up to that local time,
    the evaluation at it included (so day ``i``'s day.wake job runs even though
    the day has no data)."""
    driver = Driver(rules=rules if rules is not None else plan_rules(), zone=ZONE,
                    commands=commands)
    epochs = list(fill_gaps(days_epochs(specs)))
    if until is not None:
        end = day(until[0]).at(until[1])
        after = epochs[-1].start + 1 if epochs else end
        epochs.extend(Epoch.unknown(m) for m in range(after, end))
    driver.feed(epochs)
    return driver.finish()


# --- reading results ----------------------------------------------------------------


def kind(r: Result, name: str) -> list[Prompt]:
    """The prompts of one kind, in order."""
    return [p for p in r.prompts if p.kind == name]


def kinds(r: Result) -> list[str]:
    return [p.kind for p in r.prompts]


def stamped(r: Result, name: str) -> list[tuple[str, dict[str, Any]]]:
    """(local time, reason) of each prompt of one kind."""
    return [(stamp(p), dict(p.reason)) for p in kind(r, name)]


def plan_of(r: Result, i: int) -> dict[str, Any]:
    """The ``plan`` object of day ``i``'s final summary."""
    return dict(r.final(key(i))["plan"])


def flags_of(r: Result, i: int) -> list[str]:
    return list(r.final(key(i))["flags"])


def at_sleep(r: Result, i: int) -> dict[str, Any]:
    """Day ``i``'s summary sent at day.sleep (not final)."""
    found = [s for s in r.summaries if not s.final and s.key == key(i)]
    assert len(found) == 1, f"{len(found)} day.sleep summaries for {key(i)}"
    return payloads.summary(found[0])


def week(r: Result, name: str) -> dict[str, Any]:
    found = [s for s in r.weeks if s.key == name]
    assert len(found) == 1, f"{len(found)} weekly summaries for {name}"
    return payloads.summary(found[0])


def summaries(outputs: Iterable[Output]) -> list[Summary]:
    return [o for o in outputs if isinstance(o, Summary)]


# --- files for `pacer replay` ---------------------------------------------------------

def write_events(path: Path, events: Sequence[tuple[int, str, dict[str, Any]]]) -> Path:
    """A replay events file from (day, local clock, event without ``time``)."""
    lines = []
    for i, clock, event in events:
        lines.append(json.dumps({"time": day(i).local(clock).isoformat(), **event}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
