"""The weekly summary for the physiotherapist (docs/pacing-rules.md section 9,
interfaces.md section 5): the week's daily rows and what they add up to."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pacer.engine.model import Breaks, DaySummary, PlanFigures, WeekSummary, Window
from pacer.engine.plan import DayRecord

CV_DAYS = 14


def week_key(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


# The state keeps each of the week's days as the fields of ``DaySummary``; a
# state written before version 4 led each with these keys of the v1 payload.
STORED_DAY_HEAD: dict[str, Any] = {"v": 1, "type": "summary", "period": "day"}


def stored_day(row: dict[str, Any]) -> DaySummary:
    """A day of the week as the state keeps it, back as the typed summary
    (a day kept by version 1 has no v2 fields: they take their defaults)."""
    fields = {k: v for k, v in row.items() if k not in STORED_DAY_HEAD}
    window = fields.get("window")
    return DaySummary(**{
        **fields,
        "prompts": dict(fields["prompts"]),
        "breaks": Breaks(**fields["breaks"]),
        "plan": PlanFigures(**fields["plan"]),
        "flags": tuple(fields["flags"]),
        "symptoms": tuple(fields["symptoms"]),
        "window": Window(**window) if window else None,
        "walk_lengths": tuple(fields.get("walk_lengths", ())),
        "prompts_dropped": dict(fields.get("prompts_dropped", {})),
    })


@dataclass(slots=True)
class WeekBook:
    """The final daily summaries of one ISO week, kept until the week ends."""

    week: str
    days: list[DaySummary] = field(default_factory=list)

    def add(self, day: DaySummary) -> None:
        self.days = [d for d in self.days if d.date != day.date] + [day]

    def summary(
        self,
        *,
        user: str,
        timezone: str,
        history: Sequence[DayRecord],
        changes: Sequence[dict[str, Any]],
        exercise_target: int = 0,
    ) -> WeekSummary:
        days = sorted(self.days, key=lambda d: d.date)
        prompted = sum(d.breaks.prompted for d in days)
        taken = sum(d.breaks.taken for d in days)
        last = days[-1].date if days else ""
        recent = [r.steps for r in history if r.valid and r.day <= last][-CV_DAYS:]
        cv = None
        if len(recent) >= 2 and statistics.fmean(recent) > 0:
            cv = round(statistics.pstdev(recent) / statistics.fmean(recent), 3)
        return WeekSummary(
            user=user,
            week=self.week,
            timezone=timezone,
            days=tuple(days),
            boom_bust_cycles=sum(1 for d in days if "bust" in d.flags),
            cv_daily_steps_14d=cv,
            adherence=round(taken / prompted, 2) if prompted else None,
            plan_changes=tuple(changes),
            valid_days=sum(1 for d in days if d.valid),
            exercise_sessions=sum(d.exercise_sessions for d in days),
            exercise_target=exercise_target,
        )
