"""A day's running figures and the daily summary made from them
(docs/pacing-rules.md section 9, interfaces.md section 5)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from pacer.engine.model import Breaks, DaySummary, Epoch, PlanFigures, Posture, Window

# Enum member lookups cost on the per-minute path.
_UNKNOWN = Posture.UNKNOWN.value
_NOT_WORN = Posture.NOT_WORN
_SEDENTARY = Posture.SEDENTARY
_SEDENTARY_NAME = Posture.SEDENTARY.value
_LYING = Posture.LYING


@dataclass(slots=True)
class DayTally:
    day: str  # ISO date of the pacing day
    steps: int = 0  # whole day
    known_min: int = 0  # the rest: waking window only
    stepping_min: int = 0
    upright_min: int = 0
    sedentary_min: int = 0
    lying_min: int = 0
    not_worn_min: int = 0
    # Written by version 1's states (v3), which are still read; the summary's
    # flag now comes from sedentary_inferred_min.
    sedentary_inferred: bool = False
    sedentary_inferred_min: int = 0  # sedentary minutes inferred from zero steps
    bouts: list[int] = field(default_factory=list)  # closed bouts' window minutes
    sit_to_stand: int = 0
    walks: int = 0
    walk_min: int = 0
    prompts: dict[str, int] = field(default_factory=dict)
    prompted: int = 0
    taken: int = 0
    natural: int = 0
    ignored: int = 0
    snoozed: int = 0
    dismissed: int = 0
    latencies: list[int] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    symptoms: list[dict[str, Any]] = field(default_factory=list)
    last_posture: str = Posture.UNKNOWN.value  # previous window epoch, for transitions
    slot_steps: list[int] = field(default_factory=list)  # window steps per profile slot
    walks_planned: int = 0
    red: bool = False
    amber: bool = False
    settling: bool = False
    ceiling_hit: bool = False  # steps reached the ceiling (prompt delivered or not)
    ceiling_queued: bool = False
    last_ease_off: int | None = None  # minute the last pace_ease_off was sent
    ease_off_retry: int | None = None  # not before this minute after one was queued
    plan_at_sleep: PlanFigures | None = None  # the plan in force when the window closed
    # v2: the waking window (docs/pacing-rules.md section 1)
    opened: int | None = None  # the window's first minute (its first opening)
    opened_by: str | None = None  # event | detected | configured
    closed: int | None = None  # its last closing
    closed_by: str | None = None
    open: bool = False  # open now
    since: int | None = None  # when it last opened or closed
    close_due: int = 0  # while open: when it closes unless something says so first
    window_min: int = 0  # minutes the window was open
    up_run: int = 0  # minutes in a row not lying (posture devices), before the window opens
    morning_done: bool = False  # the first opening's morning jobs ran
    lying_from: int | None = None  # a lying run in progress (posture devices), from
    lying_window: int = 0  # its minutes counted in the window so far
    walk_lengths: list[int] = field(default_factory=list)
    walk_target: int | None = None
    nudges: int = 0  # nudges sent today (the daily budget)
    dropped: dict[str, int] = field(default_factory=dict)  # by budget, limits, dnd, coverage
    last_more: int | None = None  # the last walk_reminder or floor_nudge sent
    ceiling_sent: bool = False
    exercise_sessions: int = 0
    exercise_min: int = 0
    silent_sent: bool = False
    standing_min: int = 0  # upright minutes in a row without a break (posture devices)

    def flag(self, name: str) -> None:
        if name not in self.flags:
            self.flags.append(name)

    def count_epoch(self, epoch: Epoch, in_window: bool) -> None:
        self.steps += epoch.steps
        if not in_window:
            self.last_posture = _UNKNOWN
            return
        posture = epoch.posture
        if posture is _NOT_WORN:
            self.not_worn_min += 1
            self.last_posture = _UNKNOWN
            return
        if posture is Posture.UNKNOWN:
            self.last_posture = _UNKNOWN
            return
        self.known_min += 1
        if posture is _SEDENTARY:
            self.sedentary_min += 1
            if epoch.inferred:
                self.sedentary_inferred_min += 1
        elif posture is _LYING:
            self.lying_min += 1
        else:
            if posture is Posture.STEPPING:
                self.stepping_min += 1
            else:
                self.upright_min += 1
            if self.last_posture == _SEDENTARY_NAME:
                self.sit_to_stand += 1
        self.last_posture = posture  # a StrEnum: its own name as a string

    def uncount_lying(self, minutes: int) -> None:
        """Lying minutes that turned out to be the night (bed was detected
        after them) leave the window's figures."""
        self.lying_min -= minutes
        self.known_min -= minutes

    def count_drop(self, why: str) -> None:
        self.dropped[why] = self.dropped.get(why, 0) + 1

    def count_prompt(self, kind: str) -> None:
        self.prompts[kind] = self.prompts.get(kind, 0) + 1
        if kind == "sitting_break":
            self.prompted += 1

    def count_outcome(self, outcome: str, latency: int | None) -> None:
        if outcome == "taken":
            self.taken += 1
            if latency is not None:
                self.latencies.append(latency)
        elif outcome == "ignored":
            self.ignored += 1
        elif outcome == "snoozed":
            self.snoozed += 1
        elif outcome == "dismissed":
            self.dismissed += 1

    def summary(
        self,
        *,
        user: str,
        timezone: str,
        final: bool,
        min_known_min: int,
        open_bout_min: int,
        plan: PlanFigures,
        flags: list[str],
        window: Window | None,
        ignored_streak: int,
    ) -> DaySummary:
        """The daily summary; ``open_bout_min`` is the window minutes of a bout
        still going, counted as if it ended now."""
        bouts = [*self.bouts, open_bout_min] if open_bout_min else self.bouts
        median = _minutes(statistics.median(self.latencies)) if self.latencies else None
        return DaySummary(
            user=user,
            date=self.day,
            final=final,
            timezone=timezone,
            valid=self.known_min >= min_known_min,
            known_min=self.known_min,
            steps=self.steps,
            stepping_min=self.stepping_min,
            upright_min=self.upright_min,
            sedentary_min=self.sedentary_min,
            # "inferred" only when most of it was (issue: a day of 645 measured
            # minutes and 60 inferred is a measured day)
            sedentary_inferred=2 * self.sedentary_inferred_min > self.sedentary_min,
            sedentary_inferred_min=self.sedentary_inferred_min,
            sitting_bouts_30=sum(1 for b in bouts if b >= 30),
            sitting_bouts_60=sum(1 for b in bouts if b >= 60),
            longest_sitting_bout_min=max(bouts, default=0),
            sit_to_stand=self.sit_to_stand,
            walks=self.walks,
            walk_min=self.walk_min,
            prompts=dict(self.prompts),
            breaks=Breaks(
                prompted=self.prompted,
                taken=self.taken,
                natural=self.natural,
                ignored=self.ignored,
                snoozed=self.snoozed,
                dismissed=self.dismissed,
                median_response_min=median,
                ignored_streak=ignored_streak,
            ),
            plan=plan,
            flags=tuple(flags),
            symptoms=tuple(self.symptoms),
            window=window,
            worn_min=self.known_min,
            not_worn_min=self.not_worn_min,
            lying_min=self.lying_min,
            walk_lengths=tuple(self.walk_lengths),
            walk_target_min=self.walk_target,
            prompts_dropped=dict(self.dropped),
            exercise_sessions=self.exercise_sessions,
            exercise_min=self.exercise_min,
        )


def _minutes(value: float) -> int | float:
    """A whole number when it is one (the median of an even count may be .5)."""
    return int(value) if value == int(value) else round(value, 1)
