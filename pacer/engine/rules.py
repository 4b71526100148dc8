"""The pacing rules: every table and key the engine reads, with its default and
allowed range (docs/pacing-rules.md).

pydantic checks them: unknown keys, wrong types and out-of-range numbers are
refused. The config loader (pacer/config.py) builds its config file's rule
tables from these, and a plan change's ``set`` is checked against them
(pacer/engine/settings.py), so the ranges live in one place.
"""

from __future__ import annotations

from datetime import time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from pacer.timebase import parse_clock


def _clock(value: Any) -> Any:
    if isinstance(value, str):
        return parse_clock(value)
    return value


Clock = Annotated[time, BeforeValidator(_clock)]
"""A clock time, written "07:30" (or as a TOML local time, 07:30:00)."""


def _tuple(value: Any) -> Any:
    # TOML arrays arrive as lists; the frozen config keeps tuples.
    return tuple(value) if isinstance(value, list) else value


Items = BeforeValidator(_tuple)
"""Marks a tuple field that may be written as a list (a TOML array, a JSON list)."""

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[Weekday, ...] = (
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
)


class Table(BaseModel):
    """A table of settings: frozen, strictly typed, unknown keys refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


# --- rule tables (docs/pacing-rules.md) -------------------------------------------------


WeekdayKey = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAY_KEYS: tuple[WeekdayKey, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _since(start: time, t: time) -> int:
    """Minutes from ``start`` to ``t`` on the clock, wrapping past midnight."""
    return ((t.hour * 60 + t.minute) - (start.hour * 60 + start.minute)) % 1440


def _pairs(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted(value.items()))
    if isinstance(value, list):
        return tuple(tuple(v) if isinstance(v, list) else v for v in value)
    return value


class WeekdayTimes(Table):
    """One weekday's own getting-up and going-to-bed times (v2)."""

    wake: Clock | None = None
    sleep: Clock | None = None


class DayRules(Table):
    start: Clock = time(4, 0)
    wake: Clock = time(7, 30)
    sleep: Clock = time(21, 30)
    min_known_hours: float = Field(10, ge=1, le=20)
    # v2: the window opens when the person is up, detected from this long
    # before day.wake, and by day.wake + wake_late_min whatever the data say.
    wake_early_min: int = Field(120, ge=0, le=360)
    wake_late_min: int = Field(240, ge=0, le=720)
    # Written as a table, {sat = {wake = "09:00"}}; kept as sorted pairs so the
    # rules stay hashable.
    weekdays: Annotated[tuple[tuple[WeekdayKey, WeekdayTimes], ...],
                        BeforeValidator(_pairs)] = ()

    def times(self, weekday: int) -> tuple[time, time]:
        """(wake, sleep) of a weekday (0 is Monday)."""
        own = dict(self.weekdays).get(WEEKDAY_KEYS[weekday])
        if own is None:
            return self.wake, self.sleep
        return own.wake or self.wake, own.sleep or self.sleep

    def has_own_times(self, weekday: int) -> bool:
        return WEEKDAY_KEYS[weekday] in dict(self.weekdays)

    @model_validator(mode="after")
    def _order(self) -> DayRules:
        # Each waking window must lie inside one pacing day, in order; it may
        # cross midnight when day.start is set for it (night work).
        shortest = 1440
        for weekday in range(7):
            wake, sleep = self.times(weekday)
            if not _since(self.start, wake) < _since(self.start, sleep):
                which = "" if not self.weekdays else f" (on {WEEKDAY_KEYS[weekday]})"
                raise ValueError(f"wake must come before sleep within the day that begins at "
                                 f"day.start{which}")
            shortest = min(shortest, _since(self.start, sleep) - _since(self.start, wake))
        if self.min_known_hours > shortest / 60:
            raise ValueError(
                f"min_known_hours ({self.min_known_hours}) is longer than the waking window "
                f"({shortest / 60:g} h), so no day could ever be valid"
            )
        return self


BreakAdvice = Literal["walk", "extension", "position", "custom"]


class SittingRules(Table):
    enabled: bool = True
    limit_min: int = Field(40, ge=10, le=120)
    gap_tolerance_min: int = Field(5, ge=0, le=30)
    break_min: int = Field(2, ge=1, le=10)
    break_steps: int = Field(60, ge=10, le=1000)
    repeat_min: int = Field(15, ge=5, le=60)
    # v2 allows 0..3 for a new plan; a v1 config's larger value stays valid
    max_repeats: int = Field(1, ge=0, le=10)
    response_window_min: int = Field(15, ge=1, le=60)
    break_advice: BreakAdvice = "walk"
    break_text: str | None = Field(None, min_length=1, max_length=200)
    limit_growth_min: int = Field(0, ge=0, le=15)
    limit_target_min: int | None = Field(None, ge=10, le=120)
    ignored_streak: int = Field(3, ge=0, le=10)

    @model_validator(mode="after")
    def _consistent(self) -> SittingRules:
        if self.break_advice == "custom" and not self.break_text:
            raise ValueError('break_advice "custom" needs break_text: the physiotherapist\'s '
                             "own words for a break (at most 200 characters)")
        if self.ignored_streak == 1:
            raise ValueError("ignored_streak must be 0 (off) or 2 to 10")
        if self.limit_target_min is not None and self.limit_target_min < self.limit_min:
            raise ValueError("limit_target_min must not be below limit_min")
        return self

    @property
    def target_min(self) -> int:
        """The longest the limit may grow to."""
        return self.limit_target_min if self.limit_target_min is not None else self.limit_min


class StandingRules(Table):
    """Posture devices only: minutes upright without a break before a prompt
    (0 = off)."""

    limit_min: int = Field(0, ge=0, le=120)


class WearRules(Table):
    still_min: int = Field(15, ge=5, le=120)
    silent_min: int = Field(90, ge=30, le=600)


class WalkRules(Table):
    # v2: the fixed minimum that decides what counts as a walk; the plan's walk
    # length (target_min, growing) is a target, not a threshold.
    # (v2 allows 2..15; a v1 config's value, the planned length then, stays valid
    # and keeps its v1 meaning: walks shorter than it do not count)
    min_duration_min: int = Field(5, ge=1, le=60)
    target_min: int | None = Field(None, ge=2, le=60)
    growth_min: int = Field(1, ge=0, le=5)
    max_duration_min: int = Field(30, ge=5, le=120)
    min_cadence: int = Field(60, ge=20, le=200)
    per_day: int = Field(3, ge=0, le=6)
    times: Annotated[tuple[Clock, ...], Items] = (time(10, 0), time(14, 0), time(17, 0))
    after_up_min: int = Field(60, ge=0, le=240)

    @model_validator(mode="after")
    def _consistent(self) -> WalkRules:
        if len(self.times) != self.per_day:
            raise ValueError(
                f"times lists {len(self.times)} reminder time(s) but per_day is {self.per_day}; "
                "give one time per walk"
            )
        if len(set(self.times)) != len(self.times):
            raise ValueError("times must not repeat a time")
        if self.min_duration_min > self.max_duration_min:
            raise ValueError("min_duration_min must not exceed max_duration_min")
        return self

    @property
    def start_min(self) -> int:
        """The planned walk length at the start (a v1 config meant min_duration_min)."""
        return self.target_min if self.target_min is not None else self.min_duration_min


class PlanRules(Table):
    baseline_days: int = Field(7, ge=3, le=28)
    start_factor: float = Field(0.8, ge=0.3, le=1.0)
    floor: float = Field(0.5, ge=0.1, le=1.0)
    ceiling: float = Field(1.5, ge=1.0, le=3.0)
    ceiling_of_usual: float = Field(1.15, ge=0.0, le=2.0)
    progress_at: float = Field(0.8, ge=0.5, le=1.2)
    weekly_increment: float = Field(0.10, ge=0.0, le=0.20)
    review_day: Weekday = "monday"

    @model_validator(mode="after")
    def _usual(self) -> PlanRules:
        if 0 < self.ceiling_of_usual < 1.0:
            raise ValueError("ceiling_of_usual must be 0 (off) or 1.0 to 2.0")
        return self


class PacingRules(Table):
    ahead_margin: float = Field(0.5, ge=0.1, le=2.0)
    ease_off_cooldown_min: int = Field(120, ge=15, le=720)
    max_bout_min: int = Field(45, ge=10, le=240)
    floor_check_time: Clock = time(16, 0)
    settle_in_min: int = Field(120, ge=0, le=360)


class BoomRules(Table):
    factor: float = Field(1.5, ge=1.05, le=3.0)  # v2: 1.1..3.0; v1's 1.05 stays valid


class TrafficRules(Table):
    amber_reduction: float = Field(0.10, ge=0.0, le=0.5)


SETTLE_ADVICE: tuple[str, ...] = (
    "Keep moving gently: rest completely only if you must.",
    "Take short, easy walks rather than one long one.",
    "Change position often: sit, stand, walk or lie down for a few minutes.",
    "Use a position that eases the pain when you need to settle it.",
    "Take pain relief as your GP, pharmacist or physiotherapist advised.",
)


class SettleRules(Table):
    """The settle plan after a red report (docs/pacing-rules.md section 6)."""

    hours: int = Field(72, ge=24, le=168)
    quota_factor: float = Field(0.6, ge=0.2, le=1.0)
    sitting_limit_min: int = Field(30, ge=10, le=120)
    walks_per_day: int = Field(3, ge=0, le=6)
    walk_min: int = Field(5, ge=2, le=30)
    advice: Annotated[tuple[Annotated[str, Field(min_length=1, max_length=200)], ...], Items] = (
        Field(SETTLE_ADVICE, max_length=10))


class PromptRules(Table):
    max_per_hour: int = Field(4, ge=1, le=20)
    min_gap_min: int = Field(5, ge=0, le=60)
    max_delay_min: int = Field(15, ge=0, le=120)
    max_per_day: int = Field(10, ge=1, le=30)
    reserve: int = Field(3, ge=0, le=10)
    coherence_min: int = Field(120, ge=0, le=360)


def _expiry(default: int, what: str) -> Any:
    return Field(default, ge=5, le=240, description=f"minutes {what} stays worth showing "
                 "before it expires (5 to 240)")


class ExpiryRules(Table):
    """How long each nudge stays worth showing (docs/pacing-rules.md section 8):
    its ``expires``, after which a client hides it. A sitting prompt's is its
    repeat time (``sitting.repeat_min``), a settle plan's the end of the settle
    period, a plan message's ``MESSAGE_EXPIRY_MIN``; a red flag never expires."""

    walk_reminder_min: int = _expiry(60, "a walk reminder")
    pace_ease_off_min: int = _expiry(30, "an ease-off prompt")
    ceiling_reached_min: int = _expiry(120, "a ceiling-reached prompt")
    long_bout_rest_min: int = _expiry(15, "a rest prompt after a long walk")
    floor_nudge_min: int = _expiry(60, "a floor nudge")
    standing_break_min: int = _expiry(15, "a standing break")
    exercise_reminder_min: int = _expiry(120, "an exercise reminder")
    wearable_silent_min: int = _expiry(120, "a quiet-wearable prompt")

    def minutes(self, kind: str) -> int:
        """The expiry of a nudge kind other than ``sitting_break``."""
        minutes: int = getattr(self, f"{kind}_min")
        return minutes


MESSAGE_EXPIRY_MIN = 1440
"""A review suggestion or a plan message stays a day: it is what the plan is,
not a nudge that goes stale, so it is fixed rather than a clinical choice
(the next day's morning message says what holds then)."""

STEPPING_MIN_STEPS = 20
"""Step-only devices: 20 steps/min is the lower edge of sporadic movement
(Tudor-Locke 2018); 1..19 is upright, 0 is sedentary (inferred). Fixed, not a
physiotherapist's choice: it is how a step count is read as a posture when the
minute is read (before any person's rules apply), and stored minutes must mean
the same whatever the plan says (docs/pacing-rules.md section 1)."""


class ExerciseRules(Table):
    """Strength and mobility sessions the person tells pacer about (section 12)."""

    per_week: int = Field(0, ge=0, le=14)
    reminder: Clock = time(18, 0)


class SafetyRules(Table):
    """Where red-flag advice sends the person (docs/pacing-rules.md section 7): their own
    country's numbers, so a person outside the UK is not told to call 999."""

    emergency_number: str = Field(
        "999", pattern=r"^\+?[0-9]{2,15}$",
        description='the emergency number to call, digits with an optional leading + '
        '(e.g. "999", "112", "911")')
    urgent_service: str = Field(
        "NHS 111 or an urgent GP appointment", min_length=3, max_length=120,
        description="where to get same-day advice, in words (3 to 120 characters)")


class Rules(Table):
    """Everything the pacing engine needs; the engine sees nothing else."""

    day: DayRules = DayRules()
    sitting: SittingRules = SittingRules()
    walks: WalkRules = WalkRules()
    plan: PlanRules = PlanRules()
    pacing: PacingRules = PacingRules()
    boom: BoomRules = BoomRules()
    traffic: TrafficRules = TrafficRules()
    settle: SettleRules = SettleRules()
    prompts: PromptRules = PromptRules()
    safety: SafetyRules = SafetyRules()
    standing: StandingRules = StandingRules()
    wear: WearRules = WearRules()
    exercise: ExerciseRules = ExerciseRules()
    expiry: ExpiryRules = ExpiryRules()


RULE_TABLES = tuple(Rules.model_fields)




def rule_keys() -> dict[str, type]:
    """Every ``table.key`` a plan change may set, with its type."""
    out: dict[str, type] = {}
    for table in RULE_TABLES:
        model = Rules.model_fields[table].annotation
        assert isinstance(model, type)
        assert issubclass(model, BaseModel)
        for key, field in model.model_fields.items():
            out[f"{table}.{key}"] = field.annotation  # type: ignore[assignment]
    return out
