"""What the physiotherapist sees, read from the clinic's database: the patient
list ordered by what needs attention, and one patient's weeks.

Attention, most urgent first (a patient is listed under the first that
applies, and every reason that applies is shown):

0. an open red-flag alert;
1. review suggested (an open review alert, or the flag on the latest day);
2. boom-bust cycles (in the latest weekly summary, or a bust day in the
   last 7 stored days);
3. low adherence (sitting prompts followed by a break in time, in the latest
   weekly summary or else the last 7 stored days, under ``low_adherence``);
4. no data (no daily summary, or none in the last ``stale_days`` days);
5. on track.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pacer.clinic.config import ClinicTable
from pacer.clinic.db import Database

ATTENTION = ("red flag", "review suggested", "boom-bust cycles", "low adherence", "no data",
             "on track")


@dataclass(frozen=True, slots=True)
class PatientRow:
    """One line of the patient list."""

    id: str
    rank: int
    reasons: tuple[str, ...]
    status: str | None
    last_day: str | None
    steps: int | None
    quota: int | None
    adherence: float | None
    alert: Mapping[str, Any] | None

    @property
    def attention(self) -> str:
        return ATTENTION[self.rank]

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "attention": self.attention, "rank": self.rank,
                "reasons": list(self.reasons), "status": self.status,
                "last_day": self.last_day, "steps": self.steps, "quota": self.quota,
                "adherence": self.adherence, "alert": self.alert}


@dataclass(frozen=True, slots=True)
class Week:
    """One ISO week of a patient: its stored days and weekly summary."""

    week: str
    days: tuple[Mapping[str, Any], ...]
    summary: Mapping[str, Any] | None


@dataclass(frozen=True, slots=True)
class PatientView:
    row: PatientRow
    weeks: tuple[Week, ...]
    events: tuple[Mapping[str, Any], ...]
    requests: tuple[Mapping[str, Any], ...] = field(default=())

    def as_json(self) -> dict[str, Any]:
        return {**self.row.as_json(),
                "weeks": [{"week": w.week, "days": list(w.days), "summary": w.summary}
                          for w in self.weeks],
                "events": list(self.events), "plan_requests": list(self.requests)}


def _today(days: Sequence[Mapping[str, Any]]) -> date:
    tz_name = days[-1].get("timezone") if days else None
    try:
        tz = ZoneInfo(tz_name) if isinstance(tz_name, str) else None
    except (ZoneInfoNotFoundError, ValueError):
        tz = None
    return datetime.now(tz).date() if tz else date.today()


def _adherence(days: Sequence[Mapping[str, Any]]) -> float | None:
    prompted = sum(int(d.get("breaks", {}).get("prompted") or 0) for d in days)
    taken = sum(int(d.get("breaks", {}).get("taken") or 0) for d in days)
    return taken / prompted if prompted else None


def assess(patient: str, *, days: Sequence[Mapping[str, Any]], week: Mapping[str, Any] | None,
           alert: Mapping[str, Any] | None, status: str | None, rules: ClinicTable,
           today: date | None = None) -> PatientRow:
    """The list row for one patient: ``days`` are its daily summaries, oldest first."""
    recent = list(days[-7:])
    latest = recent[-1] if recent else None
    reasons: list[int] = []
    if alert is not None and alert.get("kind") == "red_flag":
        reasons.append(0)
    if (alert is not None and (alert.get("kind") == "review_suggested"
                               or alert.get("review_suggested"))) or (
            latest is not None and "review_suggested" in latest.get("flags", ())):
        reasons.append(1)
    cycles = week.get("boom_bust_cycles") if week else None
    if (isinstance(cycles, int) and cycles > 0) or any("bust" in d.get("flags", ())
                                                       for d in recent):
        reasons.append(2)
    adherence = week.get("adherence") if week else None
    if not isinstance(adherence, int | float):
        adherence = _adherence(recent)
    if adherence is not None and adherence < rules.low_adherence:
        reasons.append(3)
    now = today or _today(recent)
    if latest is None or date.fromisoformat(str(latest["date"])) < now - timedelta(
            days=rules.stale_days):
        reasons.append(4)
    rank = min(reasons, default=5)
    plan = latest.get("plan", {}) if latest else {}
    return PatientRow(
        id=patient, rank=rank, reasons=tuple(ATTENTION[r] for r in sorted(set(reasons))),
        status=status, last_day=str(latest["date"]) if latest else None,
        steps=latest.get("steps") if latest else None,
        quota=plan.get("quota") if isinstance(plan, Mapping) else None,
        adherence=None if adherence is None else round(float(adherence), 2), alert=alert)


# --- reading the database -------------------------------------------------------------


def _bodies(rows: Sequence[tuple[Any, ...]]) -> list[dict[str, Any]]:
    return [json.loads(r[0]) for r in rows]


def _patient_data(db: Database, patient: str, day_limit: int) -> tuple[
        list[dict[str, Any]], dict[str, Any] | None, dict[str, Any] | None, str | None]:
    days = _bodies(db.query(
        "SELECT body FROM summaries WHERE user_id = ? AND period = 'day' "
        "ORDER BY key DESC LIMIT ?", (patient, day_limit)))[::-1]
    weeks = _bodies(db.query(
        "SELECT body FROM summaries WHERE user_id = ? AND period = 'week' "
        "ORDER BY key DESC LIMIT 1", (patient,)))
    alerts = db.query(
        "SELECT body, kind FROM alerts WHERE user_id = ? AND cleared_at IS NULL "
        "ORDER BY received_at DESC", (patient,))
    alert = None
    for body, kind in alerts:  # an open red flag outranks a review suggestion
        if alert is None or kind == "red_flag":
            alert = json.loads(body)
        if kind == "red_flag":
            break
    status = db.query("SELECT status FROM patients WHERE user_id = ?", (patient,))
    return days, weeks[0] if weeks else None, alert, status[0][0] if status else None


def patient_ids(db: Database, rules: ClinicTable) -> list[str]:
    seen = {r[0] for r in db.query("SELECT user_id FROM patients")}
    return sorted(seen | set(rules.patients))


def patient_list(db: Database, rules: ClinicTable) -> list[PatientRow]:
    """Every patient, most in need of attention first (then by id)."""
    rows = []
    for pid in patient_ids(db, rules):
        days, week, alert, status = _patient_data(db, pid, 14)
        rows.append(assess(pid, days=days, week=week, alert=alert, status=status,
                           rules=rules))
    return sorted(rows, key=lambda r: (r.rank, r.id))


def patient_view(db: Database, rules: ClinicTable, patient: str,
                 weeks: int = 6) -> PatientView | None:
    """One patient's last ``weeks`` ISO weeks, newest first; None if unknown."""
    if patient not in patient_ids(db, rules):
        return None
    days, week, alert, status = _patient_data(db, patient, weeks * 7)
    row = assess(patient, days=days, week=week, alert=alert, status=status, rules=rules)
    weekly = {b["week"]: b for b in _bodies(db.query(
        "SELECT body FROM summaries WHERE user_id = ? AND period = 'week'", (patient,)))}
    by_week: dict[str, list[dict[str, Any]]] = {}
    for d in days:
        y, w, _ = date.fromisoformat(d["date"]).isocalendar()
        by_week.setdefault(f"{y}-W{w:02d}", []).append(d)
    out = tuple(Week(k, tuple(v), weekly.get(k)) for k, v in sorted(by_week.items(),
                                                                   reverse=True))
    events = tuple(_bodies(db.query(
        "SELECT body FROM events WHERE user_id = ? ORDER BY time DESC LIMIT 20", (patient,))))
    requests = tuple(
        {"id": r[0], "by": r[1], "sent_at": r[2], "payload": json.loads(r[3]),
         "reply": json.loads(r[4]) if r[4] else None}
        for r in db.query("SELECT id, by_name, sent_at, payload, reply FROM plan_requests "
                          "WHERE user_id = ? ORDER BY sent_at DESC LIMIT 10", (patient,)))
    return PatientView(row, out, events, requests)
