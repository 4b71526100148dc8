"""The daily plan: baseline, quota, floor and ceiling, weekly progression,
amber days and the settle period (pacing-rules.md sections 4 and 6).

Plain data plus pure functions; the engine decides when to call them.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pacer.engine.rules import Rules

HISTORY_DAYS = 28  # day records kept: 14 for the CV and the time-of-day profile, with room
PROFILE_DAYS = 14  # valid days before the person's own time-of-day profile replaces linear
SLOT_MIN = 30  # profile resolution over the waking window
SETTLE_WALKS = 3
SETTLE_WALK_MIN = 5
RESUME_FACTOR = 0.9  # after a settle period: the pre-flare quota times 0.9
EASE_OFF_MIN_SHARE = 0.3  # pace_ease_off needs at least 30 % of the quota done


@dataclass(slots=True)
class DayRecord:
    """What later rules need to know about a finished day."""

    day: str
    steps: int
    valid: bool
    quota: int | None  # in force at day.sleep
    floor: int | None
    ceiling: int | None
    baseline: bool  # a baseline-phase day (never a boom day)
    boom: bool
    bust: bool
    red: bool
    amber: bool
    settling: bool  # any part of it inside a settle period
    prompted: int
    taken: int
    walks: int
    walks_planned: int
    profile: list[float] | None  # cumulative share of window steps at each slot's end


@dataclass(slots=True)
class PlanState:
    phase: str = "baseline"  # baseline | progressing | holding
    baseline_steps: list[int] = field(default_factory=list)
    baseline: int | None = None  # B: median steps of the baseline days
    quota: int | None = None  # Q
    completed_on: str | None = None  # first day with a quota
    walk_min: int | None = None  # planned walk length; None: walks.min_duration_min
    amber_days: list[str] = field(default_factory=list)  # days whose quota is reduced
    settle_from: float | None = None  # unix seconds
    settle_until: float | None = None
    pre_red_quota: int | None = None
    red_days: list[str] = field(default_factory=list)
    pain: dict[str, int] = field(default_factory=dict)  # highest pain reported, by day
    alert: dict[str, Any] | None = None  # open red-flag alert
    review: dict[str, Any] | None = None  # open review-suggested alert
    plan_held: bool = False  # a plan message was suppressed while the red-flag alert was open
    changes: list[dict[str, Any]] = field(default_factory=list)
    history: list[DayRecord] = field(default_factory=list)
    profile: list[float] | None = None  # the person's median time-of-day profile

    def settling(self, at: float) -> bool:
        return self.settle_until is not None and at < self.settle_until


def quota_in_force(plan: PlanState, rules: Rules, day: str, at: float) -> int | None:
    if plan.settling(at):
        if plan.baseline is None:
            return None
        return round(plan.baseline * rules.settle.quota_factor)
    if plan.quota is None:
        return None
    if day in plan.amber_days:
        return round(plan.quota * (1 - rules.traffic.amber_reduction))
    return plan.quota


def band(quota: int | None, rules: Rules) -> tuple[int | None, int | None]:
    if quota is None:
        return None, None
    return round(quota * rules.plan.floor), round(quota * rules.plan.ceiling)


def baseline_of(steps: Sequence[int]) -> int:
    return round(statistics.median(steps))


def remember(plan: PlanState, record: DayRecord) -> None:
    plan.history.append(record)
    del plan.history[:-HISTORY_DAYS]
    plan.profile = median_profile(plan.history)


def median_profile(history: Sequence[DayRecord]) -> list[float] | None:
    """Once 14 valid days exist: at each slot, the median share of the day's
    window steps done by then."""
    days = [r.profile for r in history if r.valid and r.profile]
    if len(days) < PROFILE_DAYS:
        return None
    days = days[-PROFILE_DAYS:]
    slots = min(len(p) for p in days)
    return [statistics.median(p[i] for p in days) for i in range(slots)]


def cumulative_shares(slot_steps: Sequence[int]) -> list[float] | None:
    total = sum(slot_steps)
    if total <= 0:
        return None
    out, run = [], 0
    for s in slot_steps:
        run += s
        out.append(run / total)
    return out


def expected_share(profile: Sequence[float] | None, since_wake: int, window: int) -> float:
    """f(t): the share of the day's activity expected by now (linear over the
    waking window, or the person's own profile)."""
    if since_wake <= 0:
        return 0.0
    if since_wake >= window:
        return 1.0
    if not profile:
        return since_wake / window
    pos = since_wake / SLOT_MIN
    i = int(pos)
    if i >= len(profile):
        return 1.0
    before = profile[i - 1] if i > 0 else 0.0
    return before + (profile[i] - before) * (pos - i)


@dataclass(frozen=True, slots=True)
class Review:
    progress: bool
    why: str


def weekly_review(week: Sequence[DayRecord], rules: Rules) -> Review:
    """The progression test over the 7 whole days before the review day."""
    valid = sum(r.valid for r in week)
    red = sum(r.red for r in week)
    amber = sum(r.amber for r in week)
    in_band = sum(
        1 for r in week
        if r.floor is not None and r.ceiling is not None and r.floor <= r.steps <= r.ceiling
    )
    reasons = []
    if valid < 5:
        reasons.append(f"only {valid} of 7 days had enough data (5 needed)")
    if red:
        reasons.append(f"{red} red symptom day{'s' if red > 1 else ''}")
    if amber > 1:
        reasons.append(f"{amber} amber days (at most 1)")
    if in_band < 4:
        reasons.append(f"{in_band} day{'s' if in_band != 1 else ''} within the daily band "
                       "(4 needed)")
    if reasons:
        return Review(False, "holding this week: " + "; ".join(reasons))
    return Review(True, f"steady week: {in_band} days within the band, {valid} valid days")
