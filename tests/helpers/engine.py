"""Helpers for pacing-engine tests: days of epochs from a compact description,
and a driver that runs them through ``Engine`` the way ``pacer replay`` does.

A day is a calendar date in an IANA zone; clock strings are local wall-clock
times on that date::

    day = Day(date(2026, 11, 23), SYDNEY)
    epochs = day.epochs(
        ("09:00", 180, SIT),          # 09:00-12:00 sitting
        ("", 2, UP),                  # "" = right after the previous segment
        ("+1 03:00", 30, SIT),        # "+1" = the next calendar date
    )
    result = run(epochs, commands=[(day.seconds("09:41"), Ack("last", "snooze"))])

Minutes not covered by any segment are simply not fed; the engine counts a
skipped minute as unknown, as a replay does for a missing row. Commands are
applied as the replay driver applies them: a command stamped ``<= T`` goes in
before the epoch that ends at ``T`` is evaluated.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pacer.config import DayRules, Rules, WalkRules
from pacer.contract import payloads
from pacer.engine.core import Engine
from pacer.engine.model import (
    Command,
    Dropped,
    Epoch,
    Outcome,
    Output,
    Posture,
    Prompt,
    Reply,
    Summary,
)
from pacer.timebase import Minute, iso, minute_of

SYDNEY = "Australia/Sydney"
LONDON = "Europe/London"
USER = "alice"

SIT = Posture.SEDENTARY
UP = Posture.UPRIGHT
STEP = Posture.STEPPING
UNK = Posture.UNKNOWN

DEFAULT_STEPS = {SIT: 0, UP: 0, STEP: 30, UNK: 0, Posture.LYING: 0}
"""Steps per minute when a segment does not say: stepping minutes get 30,
below the 60 that would make a one-minute break on their own."""

Segment = tuple[str, int, Posture] | tuple[str, int, Posture, int]
"""(local start, minutes, posture[, steps per minute])."""

TimedCommand = tuple[float, Command]
"""(unix seconds, command)."""


@dataclass(frozen=True, slots=True)
class Day:
    """Local clock times on one calendar date in one zone."""

    date: date
    zone: str = SYDNEY

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    def local(self, clock: str, *, fold: int = 0) -> datetime:
        """``"09:40"``, ``"09:40:30"`` or ``"+1 02:00"`` (the next calendar date)
        as an aware local datetime; ``fold=1`` picks the second of a repeated
        hour on a fall-back night."""
        d = self.date
        if clock.startswith("+"):
            days, clock = clock[1:].split(" ", 1)
            d += timedelta(days=int(days))
        parts = [int(p) for p in clock.split(":")]
        hh, mm, ss = [*parts, 0, 0][:3]
        return datetime(d.year, d.month, d.day, hh, mm, ss, tzinfo=self.tz, fold=fold)

    def at(self, clock: str, *, fold: int = 0) -> Minute:
        """The minute of a local clock time."""
        return minute_of(self.local(clock, fold=fold))

    def seconds(self, clock: str, *, fold: int = 0) -> float:
        """Unix seconds of a local clock time (for command times)."""
        return self.local(clock, fold=fold).timestamp()

    def iso(self, minute: Minute) -> str:
        """How pacer prints a minute: local ISO 8601 with the UTC offset."""
        return iso(minute, self.tz)

    def clock(self, minute: Minute) -> str:
        """``HH:MM`` local time of a minute (compact, for comparing lists)."""
        return to_local(minute, self.tz).strftime("%H:%M")

    def epochs(self, *segments: Segment) -> list[Epoch]:
        """One epoch per minute of each segment, in order. A segment whose
        start is ``""`` follows the previous one directly."""
        out: list[Epoch] = []
        cursor: Minute | None = None
        for seg in segments:
            start_text, minutes, posture = seg[0], seg[1], seg[2]
            steps = seg[3] if len(seg) == 4 else DEFAULT_STEPS[posture]
            if start_text == "":
                if cursor is None:
                    raise ValueError("the first segment needs a start time")
                start = cursor
            else:
                start = self.at(start_text)
            if cursor is not None and start < cursor:
                raise ValueError(f"segment {seg!r} overlaps the one before it")
            for m in range(start, start + minutes):
                if posture is UNK:
                    out.append(Epoch.unknown(m))
                else:
                    out.append(Epoch(m, steps, posture))
            cursor = start + minutes
        return out


def to_local(minute: Minute, tz: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(minute * 60, tz)


def rules_with(**tables: Any) -> Rules:
    """``Rules`` with some tables replaced: ``rules_with(sitting=SittingRules(...))``."""
    return sitting_rules(**tables)


NO_WALKS = WalkRules(per_day=0, times=())
FIXED_DAY = DayRules(wake_early_min=0, wake_late_min=0)
"""The waking window at exactly day.wake to day.sleep, as in version 1: tests
of other rules see them without the window moving with the data."""


def sitting_rules(**tables: Any) -> Rules:
    """Rules without walk reminders (unless given), so the sitting rules are
    seen on their own; nothing else fires before a baseline exists."""
    tables.setdefault("walks", NO_WALKS)
    tables.setdefault("day", FIXED_DAY)
    return Rules(**tables)


@dataclass
class Driver:
    """Runs an engine over epochs and timed commands like ``pacer replay``,
    collecting every output (from minutes and from command replies) in order.
    ``restart()`` swaps in an engine restored from a JSON round trip of the
    current one's snapshot, as the daemon does after a restart."""

    rules: Rules = field(default_factory=sitting_rules)
    zone: str = SYDNEY
    user: str = USER
    commands: Sequence[TimedCommand] = ()
    outputs: list[Output] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    engine: Engine = field(init=False)
    _next: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.engine = Engine(self.rules, user=self.user, timezone=self.zone)
        # Stable: commands with the same time keep their given order.
        self.commands = sorted(self.commands, key=lambda c: c[0])

    def apply_until(self, at: float) -> None:
        while self._next < len(self.commands) and self.commands[self._next][0] <= at:
            when, cmd = self.commands[self._next]
            self._next += 1
            reply = self.engine.command(cmd, at=when)
            self.replies.append(reply)
            self.outputs.extend(reply.outputs)

    def feed(self, epochs: Iterable[Epoch]) -> None:
        for epoch in epochs:
            self.apply_until((epoch.start + 1) * 60)
            self.outputs.extend(self.engine.advance(epoch))

    def restart(self) -> None:
        snapshot = json.loads(json.dumps(self.engine.snapshot()))
        self.engine = Engine.restore(
            self.rules, user=self.user, timezone=self.zone, snapshot=snapshot
        )

    def finish(self) -> Result:
        self.apply_until(float("inf"))
        self.outputs.extend(self.engine.close_day())
        return Result(list(self.outputs), self.user, ZoneInfo(self.zone), list(self.replies))


def run(
    epochs: Iterable[Epoch],
    *,
    rules: Rules | None = None,
    zone: str = SYDNEY,
    commands: Sequence[TimedCommand] = (),
    restart_after: int | None = None,
) -> Result:
    """Everything the engine says over ``epochs`` (and the final summary of the
    last day); with ``restart_after=k`` the engine is snapshotted and restored
    after the k-th epoch."""
    driver = Driver(rules=rules if rules is not None else sitting_rules(), zone=zone,
                    commands=commands)
    items = list(epochs)
    if restart_after is None:
        driver.feed(items)
    else:
        driver.feed(items[:restart_after])
        driver.restart()
        driver.feed(items[restart_after:])
    return driver.finish()


@dataclass(frozen=True)
class Result:
    outputs: list[Output]
    user: str
    tz: ZoneInfo
    replies: list[Reply]

    @property
    def prompts(self) -> list[Prompt]:
        return [o for o in self.outputs if isinstance(o, Prompt)]

    @property
    def outcomes(self) -> list[Outcome]:
        return [o for o in self.outputs if isinstance(o, Outcome)]

    @property
    def dropped(self) -> list[Dropped]:
        return [o for o in self.outputs if isinstance(o, Dropped)]

    @property
    def summaries(self) -> list[Summary]:
        """Daily summaries (the weekly ones are in ``weeks``)."""
        return [s for s in self.all_summaries if s.period == "day"]

    @property
    def weeks(self) -> list[Summary]:
        return [s for s in self.all_summaries if s.period == "week"]

    @property
    def all_summaries(self) -> list[Summary]:
        return [o for o in self.outputs if isinstance(o, Summary)]

    def final(self, key: str) -> dict[str, Any]:
        """The body of the final daily summary of the day ``key``."""
        found = [s for s in self.summaries if s.final and s.key == key]
        assert len(found) == 1, f"{len(found)} final summaries for {key}"
        return payloads.summary(found[0])

    def breaks(self, key: str) -> dict[str, Any]:
        return dict(self.final(key)["breaks"])

    def prompt_clocks(self) -> list[str]:
        """Local ``HH:MM`` of each prompt."""
        return [to_local(p.time, self.tz).strftime("%H:%M") for p in self.prompts]

    def prompt_times(self) -> list[str]:
        """Each prompt's published time (local ISO with offset)."""
        return [payloads.prompt(p, user=self.user, tz=self.tz)["time"] for p in self.prompts]

    def reasons(self) -> list[dict[str, Any]]:
        return [dict(p.reason) for p in self.prompts]

    def outcome_of(self, prompt: Prompt) -> list[Outcome]:
        return [o for o in self.outcomes if o.prompt_id == prompt.id]

    def outcome_names(self) -> list[str]:
        """Outcome names in the order the prompts were sent ("-" for none)."""
        names: list[str] = []
        for p in self.prompts:
            found = self.outcome_of(p)
            assert len(found) <= 1, f"prompt {p.id} decided {len(found)} times"
            names.append(found[0].outcome if found else "-")
        return names
