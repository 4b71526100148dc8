"""The weekly summary for the physiotherapist (pacing-rules.md section 9,
interfaces.md section 5): the week's daily rows and what they add up to."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pacer.engine.plan import DayRecord

CV_DAYS = 14


def week_key(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(slots=True)
class WeekBook:
    """The final daily summaries of one ISO week, kept until the week ends."""

    week: str
    days: list[dict[str, Any]] = field(default_factory=list)

    def add(self, body: dict[str, Any]) -> None:
        self.days = [d for d in self.days if d["date"] != body["date"]] + [body]

    def body(
        self,
        *,
        user: str,
        timezone: str,
        history: Sequence[DayRecord],
        changes: Sequence[dict[str, Any]],
    ) -> dict[str, Any]:
        days = sorted(self.days, key=lambda d: str(d["date"]))
        prompted = sum(d["breaks"]["prompted"] for d in days)
        taken = sum(d["breaks"]["taken"] for d in days)
        last = str(days[-1]["date"]) if days else ""
        recent = [r.steps for r in history if r.valid and r.day <= last][-CV_DAYS:]
        cv = None
        if len(recent) >= 2 and statistics.fmean(recent) > 0:
            cv = round(statistics.pstdev(recent) / statistics.fmean(recent), 3)
        return {
            "v": 1,
            "type": "summary",
            "period": "week",
            "user": user,
            "week": self.week,
            "timezone": timezone,
            "days": days,
            "boom_bust_cycles": sum(1 for d in days if "bust" in d["flags"]),
            "cv_daily_steps_14d": cv,
            "adherence": round(taken / prompted, 2) if prompted else None,
            "plan_changes": list(changes),
        }
