"""The pacing rules: every table and key the engine reads, with its default and
allowed range (pacing-rules.md).

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


# --- rule tables (pacing-rules.md) -------------------------------------------------


class DayRules(Table):
    start: Clock = time(4, 0)
    wake: Clock = time(7, 30)
    sleep: Clock = time(21, 30)
    min_known_hours: float = Field(10, ge=1, le=20)

    @model_validator(mode="after")
    def _order(self) -> DayRules:
        # The waking window must lie inside one pacing day, in order.
        def since_start(t: time) -> int:
            return ((t.hour * 60 + t.minute) - (self.start.hour * 60 + self.start.minute)) % 1440

        if not since_start(self.wake) < since_start(self.sleep):
            raise ValueError("wake must come before sleep within the day that begins at day.start")
        window_h = (since_start(self.sleep) - since_start(self.wake)) / 60
        if self.min_known_hours > window_h:
            raise ValueError(
                f"min_known_hours ({self.min_known_hours}) is longer than the waking window "
                f"({window_h:g} h), so no day could ever be valid"
            )
        return self


class SittingRules(Table):
    limit_min: int = Field(40, ge=15, le=120)
    gap_tolerance_min: int = Field(5, ge=0, le=30)
    break_min: int = Field(2, ge=1, le=10)
    break_steps: int = Field(60, ge=10, le=1000)
    repeat_min: int = Field(15, ge=5, le=60)
    max_repeats: int = Field(2, ge=0, le=10)
    response_window_min: int = Field(15, ge=1, le=60)


class WalkRules(Table):
    min_duration_min: int = Field(5, ge=1, le=60)
    max_duration_min: int = Field(30, ge=5, le=120)
    min_cadence: int = Field(60, ge=20, le=200)
    per_day: int = Field(3, ge=0, le=6)
    times: Annotated[tuple[Clock, ...], Items] = (time(10, 0), time(14, 0), time(17, 0))

    @model_validator(mode="after")
    def _consistent(self) -> WalkRules:
        if len(self.times) != self.per_day:
            raise ValueError(
                f"times lists {len(self.times)} reminder time(s) but per_day is {self.per_day}; "
                "give one time per walk"
            )
        if list(self.times) != sorted(set(self.times)):
            raise ValueError("times must be in increasing order, without repeats")
        if self.min_duration_min > self.max_duration_min:
            raise ValueError("min_duration_min must not exceed max_duration_min")
        return self


class PlanRules(Table):
    baseline_days: int = Field(7, ge=3, le=28)
    start_factor: float = Field(0.8, ge=0.3, le=1.0)
    floor: float = Field(0.5, ge=0.1, le=1.0)
    ceiling: float = Field(1.2, ge=1.0, le=2.0)
    weekly_increment: float = Field(0.10, ge=0.0, le=0.20)
    review_day: Weekday = "monday"


class PacingRules(Table):
    ahead_margin: float = Field(0.5, ge=0.1, le=2.0)
    ease_off_cooldown_min: int = Field(120, ge=15, le=720)
    max_bout_min: int = Field(45, ge=10, le=240)
    floor_check_time: Clock = time(16, 0)


class BoomRules(Table):
    factor: float = Field(1.3, ge=1.05, le=3.0)


class TrafficRules(Table):
    amber_reduction: float = Field(0.10, ge=0.0, le=0.5)


class SettleRules(Table):
    """The settle plan after a red report (pacing-rules.md section 6): how long,
    the quota's share of the baseline, and the most sitting.limit_min may be."""

    hours: int = Field(72, ge=24, le=168)
    quota_factor: float = Field(0.6, ge=0.2, le=1.0)
    sitting_limit_min: int = Field(30, ge=10, le=120)


class PromptRules(Table):
    max_per_hour: int = Field(4, ge=1, le=20)
    min_gap_min: int = Field(5, ge=0, le=60)
    max_delay_min: int = Field(15, ge=0, le=120)


class SafetyRules(Table):
    """Where red-flag advice sends the person (pacing-rules.md section 7): their own
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
