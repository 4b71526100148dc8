"""The daily plan: baseline, quota, floor and ceiling, weekly progression,
amber days and the settle period (docs/pacing-rules.md sections 4 and 6).

Plain data plus pure functions; the engine decides when to call them.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pacer.engine.rules import Rules
from pacer.timebase import Minute

HISTORY_DAYS = 28  # day records kept: 14 for the CV and the time-of-day profile, with room
PROFILE_DAYS = 14  # valid days before the person's own time-of-day profile replaces linear
SLOT_MIN = 30  # profile resolution over the waking window
RESUME_FACTOR = 0.9  # after a settle period: the pre-flare quota times 0.9
EASE_OFF_MIN_SHARE = 0.5  # pace_ease_off needs at least half the quota done (v2)


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
    baseline80: int | None = None  # B80: their 80th percentile, the usual good day
    quota: int | None = None  # Q
    completed_on: str | None = None  # first day with a quota
    walk_min: int | None = None  # planned walk length; None: walks.start_min
    walks_per_day: int | None = None  # fitted to the quota; None: walks.per_day
    settle_walks: int | None = None  # the settle plan's walks, fitted to its quota
    settle_walk_min: int | None = None
    sitting_limit: int | None = None  # grown at weekly reviews; None: sitting.limit_min
    last_exercise: str | None = None  # ISO date of the last session
    amber_days: list[str] = field(default_factory=list)  # days whose quota is reduced
    settle_from: Minute | None = None  # the minute of the red report that began it
    settle_until: Minute | None = None  # the first minute after the settle period
    settle_until_s: float | None = None  # its end in unix seconds, only to say it (never compared)
    pre_red_quota: int | None = None
    red_days: list[str] = field(default_factory=list)
    pain: dict[str, int] = field(default_factory=dict)  # highest pain reported, by day
    alert: dict[str, Any] | None = None  # open red-flag alert
    review: dict[str, Any] | None = None  # open review-suggested alert
    plan_held: bool = False  # a plan message was suppressed while the red-flag alert was open
    changes: list[dict[str, Any]] = field(default_factory=list)
    history: list[DayRecord] = field(default_factory=list)
    profile: list[float] | None = None  # the person's median time-of-day profile

    def settling(self, now: Minute) -> bool:
        return self.settle_until is not None and now < self.settle_until


def quota_in_force(plan: PlanState, rules: Rules, day: str, now: Minute) -> int | None:
    """The quota at minute ``now`` of the day ``day`` (its ISO date)."""
    if plan.settling(now):
        if plan.baseline is None:
            return None
        return round(plan.baseline * rules.settle.quota_factor)
    if plan.quota is None:
        return None
    if day in plan.amber_days:
        return round(plan.quota * (1 - rules.traffic.amber_reduction))
    return plan.quota


def band(quota: int | None, rules: Rules, usual: int | None = None) -> tuple[int | None,
                                                                           int | None]:
    """(floor, ceiling) of a quota. v2: the ceiling never sits below the
    person's usual good day (``usual``, B80) times ``plan.ceiling_of_usual``;
    pass None while settling, where only the quota counts."""
    if quota is None:
        return None, None
    ceiling = quota * rules.plan.ceiling
    if usual is not None and rules.plan.ceiling_of_usual:
        ceiling = max(ceiling, usual * rules.plan.ceiling_of_usual)
    return round(quota * rules.plan.floor), round(ceiling)


def percentile(values: Sequence[int], share: float) -> int:
    """Linear interpolation between the closest ranks (numpy's default)."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * share
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (pos - low))


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
    """The progression test over the 7 whole days before the review day (v2:
    days at or above the plan count, a day above the range too unless a quiet
    day followed it), with the reasons in words the person understands."""
    valid = sum(r.valid for r in week)
    red = sum(r.red for r in week)
    amber = sum(r.amber for r in week)
    busts = sum(r.bust for r in week)
    at_plan = sum(
        1 for r in week
        if r.quota is not None and r.steps >= r.quota * rules.plan.progress_at
    )
    reasons = []
    if valid < 5:
        reasons.append(f"only {valid} day{'s' if valid != 1 else ''} with enough data "
                       "(5 needed)")
    if red:
        reasons.append(f"{red} red symptom day{'s' if red > 1 else ''}")
    if amber > 1:
        reasons.append(f"{amber} amber days (it grows after a week with at most one)")
    if busts:
        reasons.append(f"{busts} big day{'s were' if busts > 1 else ' was'} followed by a "
                       "quiet day")
    if at_plan < 4:
        reasons.append(f"{at_plan} of 7 days at or near your plan (4 needed)")
    if reasons:
        return Review(False, "the plan holds this week: " + "; ".join(reasons))
    return Review(True, f"a steady week: {at_plan} of 7 days at or near your plan")
