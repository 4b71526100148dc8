"""The values the pacing engine takes and returns: frozen, typed, I/O-free."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, get_args

from pacer.engine.rules import STEPPING_MIN_STEPS
from pacer.timebase import Minute


class Posture(StrEnum):
    SEDENTARY = "sedentary"
    LYING = "lying"  # v2: its own posture, never a sitting bout
    UPRIGHT = "upright"
    STEPPING = "stepping"
    UNKNOWN = "unknown"
    NOT_WORN = "not_worn"  # unknown, because the wearable said it was not worn


UNKNOWN_POSTURES = frozenset((Posture.UNKNOWN, Posture.NOT_WORN))
"""Minutes pacer has no posture for: neither counts as known, and neither ever
joins a sitting bout (docs/pacing-rules.md section 1)."""


@dataclass(frozen=True, slots=True)
class Epoch:
    """One minute of activity, named by its start minute."""

    start: Minute
    steps: int
    posture: Posture
    # The posture was derived from the steps (a step-only device), not measured:
    # sedentary is then a guess (a wrist cannot tell sitting from standing still
    # or from lying), and only a stepping minute shows the person is up.
    inferred: bool = False

    @classmethod
    def from_steps(cls, start: Minute, steps: int) -> Epoch:
        """Posture for a step-only device (docs/pacing-rules.md section 1)."""
        if steps >= STEPPING_MIN_STEPS:
            return cls(start, steps, Posture.STEPPING, inferred=True)
        if steps > 0:
            return cls(start, steps, Posture.UPRIGHT, inferred=True)
        return cls(start, 0, Posture.SEDENTARY, inferred=True)

    @classmethod
    def unknown(cls, start: Minute) -> Epoch:
        return cls(start, 0, Posture.UNKNOWN)

    @classmethod
    def not_worn(cls, start: Minute) -> Epoch:
        """A minute the wearable said it was not worn: unknown, whatever its steps."""
        return cls(start, 0, Posture.NOT_WORN)


PromptKind = Literal[
    "sitting_break",
    "standing_break",
    "walk_reminder",
    "pace_ease_off",
    "ceiling_reached",
    "long_bout_rest",
    "floor_nudge",
    "exercise_reminder",
    "wearable_silent",
    "settle_plan",
    "review_suggested",
    "red_flag",
    "plan_update",
]
PROMPT_KINDS: tuple[PromptKind, ...] = get_args(PromptKind)
NUDGES: frozenset[str] = frozenset(
    ("sitting_break", "standing_break", "walk_reminder", "pace_ease_off", "ceiling_reached",
     "long_bout_rest", "floor_nudge", "exercise_reminder", "wearable_silent")
)
"""The prompts the daily budget counts (docs/pacing-rules.md section 8)."""
PLAN_MESSAGES: frozenset[str] = frozenset(("settle_plan", "review_suggested", "plan_update"))
# Same-minute order (docs/pacing-rules.md section 11.4): red flag, plan messages, nudges
# in the order of section 10.
DELIVERY_ORDER: tuple[PromptKind, ...] = (
    "red_flag", "settle_plan", "review_suggested", "plan_update",
    "sitting_break", "standing_break", "walk_reminder", "pace_ease_off", "ceiling_reached",
    "long_bout_rest", "floor_nudge", "exercise_reminder", "wearable_silent",
)
Level = Literal["info", "nudge", "warning", "urgent"]


@dataclass(frozen=True, slots=True)
class Prompt:
    id: str
    kind: PromptKind
    level: Level
    time: Minute
    expires: Minute | None
    title: str
    text: str
    actions: tuple[str, ...]
    reason: Mapping[str, Any]


OutcomeName = Literal["taken", "snoozed", "dismissed", "ignored"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What followed a prompt (for sitting prompts: docs/pacing-rules.md section 2)."""

    prompt_id: str
    kind: PromptKind
    outcome: OutcomeName
    time: Minute  # when the outcome was decided
    latency_min: int | None = None  # prompt to the start of the break, for `taken`
    self_reported: bool = False  # `taken` because the person said "done"


@dataclass(frozen=True, slots=True)
class Dropped:
    """A prompt that was due but not sent, and why (logged, never silent)."""

    kind: PromptKind
    time: Minute
    why: str


@dataclass(frozen=True, slots=True)
class PlanFigures:
    """The plan in force, as a summary and the state show it."""

    phase: str  # baseline | progressing | holding | settling
    quota: int | None
    floor: int | None
    ceiling: int | None
    achievement: float | None  # steps over the quota


@dataclass(frozen=True, slots=True)
class Breaks:
    """A day's sitting prompts and breaks (docs/pacing-rules.md section 2)."""

    prompted: int
    taken: int
    natural: int
    ignored: int
    snoozed: int
    dismissed: int
    median_response_min: int | float | None
    ignored_streak: int = 0  # sitting prompts in a row ignored or dismissed, at the day's end


@dataclass(frozen=True, slots=True)
class Window:
    """When a day's waking window opened and closed, and what said so:
    ``event`` (the person's tap), ``detected`` (from the data) or
    ``configured`` (the configured time)."""

    opened: Minute | None
    opened_by: str | None
    closed: Minute | None
    closed_by: str | None


@dataclass(frozen=True, slots=True)
class DaySummary:
    """One pacing day's figures (interfaces.md section 5). ``steps`` counts the
    whole day; the minute figures, bouts, transitions and walks the waking
    window."""

    user: str
    date: str  # ISO date of the pacing day
    final: bool
    timezone: str
    valid: bool
    known_min: int
    steps: int
    stepping_min: int
    upright_min: int
    sedentary_min: int
    sedentary_inferred: bool  # most of the sedentary minutes were inferred from zero steps
    sitting_bouts_30: int
    sitting_bouts_60: int
    longest_sitting_bout_min: int
    sit_to_stand: int
    walks: int
    walk_min: int
    prompts: Mapping[str, int]  # prompts sent, by kind
    breaks: Breaks
    plan: PlanFigures
    flags: tuple[str, ...]
    symptoms: tuple[Mapping[str, Any], ...]  # the day's check-ins as recorded
    # v2 (a day stored by version 1 has the defaults)
    window: Window | None = None
    sedentary_inferred_min: int = 0
    worn_min: int = 0
    not_worn_min: int = 0
    lying_min: int = 0
    walk_lengths: tuple[int, ...] = ()
    walk_target_min: int | None = None
    prompts_dropped: Mapping[str, int] = field(default_factory=dict)
    exercise_sessions: int = 0
    exercise_min: int = 0


@dataclass(frozen=True, slots=True)
class WeekSummary:
    """One ISO week for the physiotherapist (interfaces.md section 5)."""

    user: str
    week: str  # 2026-W48
    timezone: str
    days: tuple[DaySummary, ...]  # the week's final daily summaries, by date
    boom_bust_cycles: int
    cv_daily_steps_14d: float | None
    adherence: float | None  # sitting breaks taken over prompted
    plan_changes: tuple[Mapping[str, Any], ...]  # each {time, by, why, set}
    valid_days: int = 0
    exercise_sessions: int = 0
    exercise_target: int = 0  # sessions a week (0: no target set)


@dataclass(frozen=True, slots=True)
class Summary:
    """A daily or weekly summary (pacer.contract.payloads gives its wire shape)."""

    period: Literal["day", "week"]
    key: str  # the date (2026-11-23) or ISO week (2026-W48)
    final: bool
    time: Minute  # when it was made
    body: DaySummary | WeekSummary


@dataclass(frozen=True, slots=True)
class RedFlagAlert:
    """An open red-flag alert (docs/pacing-rules.md section 7)."""

    time: str  # the latest report (local ISO 8601, seconds)
    raised: str  # the first report of this alert
    flags: tuple[str, ...]  # every flag reported since it was raised
    tier: str  # the highest tier among them: emergency | urgent
    seen: str | None  # when the person said a clinician had seen them
    review_suggested: bool  # a review suggestion is open as well


@dataclass(frozen=True, slots=True)
class ReviewAlert:
    """An open suggestion to review the plan (red days, rising pain)."""

    time: str  # when it was raised (local ISO 8601)
    reason: Mapping[str, Any]  # {red_days} and, for rising pain, {pain}


@dataclass(frozen=True, slots=True)
class AlertCleared:
    """Who closed the open alert, how and why (section 7)."""

    time: Minute
    kind: Literal["red_flag", "review_suggested"]
    by: str
    how: str  # person | physiotherapist | local
    why: str
    flags: tuple[str, ...]  # of a red-flag alert, else empty
    tier: str | None
    seen: str | None


@dataclass(frozen=True, slots=True)
class Alert:
    """The retained alert for the physiotherapist changed: ``body`` is the open
    alert (red flag first, then review suggested), or None once none is open."""

    time: Minute
    body: RedFlagAlert | ReviewAlert | None
    cleared: AlertCleared | None = None  # who cleared it and how


Output = Prompt | Outcome | Dropped | Summary | Alert


@dataclass(frozen=True, slots=True)
class Status:
    """What the state topic shows: today so far and the plan in force."""

    time: Minute | None  # the next minute the engine expects; None before the first
    steps_today: int
    sitting_min: int  # the sitting bout going on
    sedentary_min_today: int
    posture: str  # of the last minute
    plan: PlanFigures | None
    walks: int
    alert: bool  # a red-flag alert is open
    dnd_until: float | None  # unix seconds, while do-not-disturb lasts
    last_data: Minute | None = None  # the end of the last minute a wearable gave data for
    window_open: bool = False
    window_since: Minute | None = None  # when it last opened or closed
    alert_seen: bool = False  # the person said a clinician has seen them
    budget_left: int | None = None  # nudges left in today's budget


# --- commands (interfaces.md section 3 events, section 6 cmd topics) ----------------

AckAction = Literal["done", "snooze", "dismiss", "seen"]
SymptomLevel = Literal["green", "amber", "red"]
SNOOZE_DEFAULT_MIN = 15
SNOOZE_MAX_MIN = 120
DND_MAX_MIN = 24 * 60


@dataclass(frozen=True, slots=True)
class Ack:
    prompt: str  # a prompt id, or "last"
    action: AckAction
    minutes: int | None = None  # snooze length; default SNOOZE_DEFAULT_MIN
    resume: bool = False  # with "seen": the person was told they can carry on (clears the alert)


@dataclass(frozen=True, slots=True)
class Symptom:
    level: SymptomLevel
    red_flags: tuple[str, ...] = ()
    pain: int | None = None


@dataclass(frozen=True, slots=True)
class Dnd:
    minutes: int  # 0 ends do-not-disturb now


@dataclass(frozen=True, slots=True)
class PlanChange:
    by: str
    why: str  # for the record, never shown to the person
    set: Mapping[str, Any] = field(default_factory=dict)
    clear_alert: bool = False
    message: str | None = None  # shown to the person (v2)


DayEventName = Literal["up", "bed"]


@dataclass(frozen=True, slots=True)
class DayEvent:
    """The person is up, or going to bed (docs/pacing-rules.md section 1, v2): one tap
    is always believed, at any hour."""

    event: DayEventName


EXERCISE_TEXT_MAX = 200


@dataclass(frozen=True, slots=True)
class Exercise:
    """A strength or mobility session done (docs/pacing-rules.md section 12)."""

    minutes: int | None = None
    what: str | None = None


Command = Ack | Symptom | Dnd | PlanChange | DayEvent | Exercise


@dataclass(frozen=True, slots=True)
class Reply:
    ok: bool
    error: str | None = None
    outputs: tuple[Output, ...] = ()
