"""What needs the physiotherapist's attention first, and the period's key
figures, worked out from the stored summaries (no new rules: every item points
to a flag or a figure the engine stored)."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from pacer.engine.numbers import percent
from pacer.engine.safety import Tier
from pacer.report import redflags
from pacer.report.data import Day, PlanChange, ReportData
from pacer.report.redflags import How

LOW_ADHERENCE = 0.5
"""A report heuristic, not a clinical threshold: fewer than half of the sitting
prompts followed by a break in time is worth a conversation."""

Severity = Literal["emergency", "urgent", "review", "note"]


@dataclass(frozen=True, slots=True)
class Attention:
    """One line of the header: what, how urgent, and the days it is about."""

    severity: Severity
    title: str
    detail: str
    days: tuple[date, ...] = ()


@dataclass(frozen=True, slots=True)
class KeyFigures:
    days: int
    valid_days: int
    median_steps: float | None  # over valid days
    within_band: int  # valid days with a quota and floor <= steps <= ceiling
    quota_days: int  # valid days with a quota
    prompted: int
    taken: int
    natural: int
    adherence: float | None  # taken / prompted over the period, as the weekly summary
    mean_sedentary_min: float | None  # over valid days
    bouts_60: int
    walks: int
    inferred_days: int  # days most of whose sedentary minutes were inferred
    inferred_share: float | None  # inferred over sedentary minutes, days that count them
    dropped_budget: int  # nudges not sent because the day's budget was spent (v2 days)
    exercise_sessions: int  # strength and mobility sessions logged (v2 days)
    plan: Mapping[str, Any] | None  # the last day's plan


def adherence(days: Sequence[Day]) -> float | None:
    """Sitting prompts followed by a break in time, over sitting prompts sent
    (the weekly summary's definition), or None with no prompt."""
    prompted = sum(d.get("breaks.prompted") or 0 for d in days)
    taken = sum(d.get("breaks.taken") or 0 for d in days)
    return taken / prompted if prompted else None


def inferred_share(days: Sequence[Day]) -> float | None:
    """Sedentary minutes inferred from zero steps over sedentary minutes, over
    the days that count them (version 2); None when no such day sat at all."""
    counted = [d for d in days if isinstance(d.get("sedentary_inferred_min"), int)]
    sedentary = sum(int(d.get("sedentary_min")) for d in counted)
    if not sedentary:
        return None
    inferred = sum(int(d.get("sedentary_inferred_min")) for d in counted)
    return inferred / sedentary


def key_figures(data: ReportData) -> KeyFigures:
    days = data.days
    valid = [d for d in days if d.valid]
    quota = [d for d in valid if d.get("plan.quota") is not None]
    with_body = [d for d in days if d.body is not None]
    return KeyFigures(
        days=len(days),
        valid_days=len(valid),
        median_steps=statistics.median(d.get("steps") for d in valid) if valid else None,
        within_band=sum(1 for d in quota if in_band(d)),
        quota_days=len(quota),
        prompted=sum(d.get("breaks.prompted") for d in with_body),
        taken=sum(d.get("breaks.taken") for d in with_body),
        natural=sum(d.get("breaks.natural") for d in with_body),
        adherence=adherence(days),
        mean_sedentary_min=(statistics.fmean(d.get("sedentary_min") for d in valid)
                            if valid else None),
        bouts_60=sum(d.get("sitting_bouts_60") for d in with_body),
        walks=sum(d.get("walks") for d in with_body),
        inferred_days=sum(1 for d in with_body if d.inferred),
        inferred_share=inferred_share(with_body),
        dropped_budget=sum(d.get("prompts_dropped.budget") or 0 for d in with_body),
        exercise_sessions=sum(d.get("exercise.sessions") or 0 for d in with_body),
        plan=with_body[-1].body["plan"] if with_body and with_body[-1].body else None,
    )


def in_band(day: Day) -> bool:
    floor, ceiling, steps = day.get("plan.floor"), day.get("plan.ceiling"), day.get("steps")
    return floor is not None and ceiling is not None and floor <= steps <= ceiling


def attention(data: ReportData) -> list[Attention]:
    """The header's items, most urgent first; empty when nothing stands out."""
    items: list[Attention] = []
    items += _red_flags(data)
    items += _reviews(data)
    items += _boom_bust(data.days)
    items += _low_adherence(data)
    items += _missing(data)
    return items


def _red_flags(data: ReportData) -> list[Attention]:
    """One item per red-flag report, emergencies first: the tier, when, what,
    whether the person said they had been seen, and who cleared it and how."""
    out = []
    for r in sorted(red_flag_reports(data), key=lambda r: redflags.tier_rank(r.tier)):
        at = f" at {r.time:%H:%M}" if r.time is not None else ""
        seen = (f"The person said they had been seen by a clinician on {redflags.at(r.seen)}."
                if r.seen is not None else "The person did not say they had been seen.")
        if r.cleared is not None:
            after = (f"Cleared on {redflags.at(r.cleared.time)} "
                     f"{redflags.clearing(r.cleared.by, r.how, r.cleared.why)}.")
        else:
            after = "The alert was still open at the end of the period."
        out.append(Attention(
            r.tier, f"{r.tier.capitalize()} red flag reported {r.day:%a %d %b}{at}: "
            f"{redflags.names(r.flags)}",
            f"pacer advised the person {redflags.ADVICE[r.tier]} and paused every other prompt. "
            f"{seen} {after}", (r.day,)))
    return out


@dataclass(frozen=True, slots=True)
class RedFlagReport:
    """A check-in that reported red flags, with what followed it: when the
    person said they had been seen (the plan history's ``alert_seen``) and the
    clearing of the alert (its ``clear_alert``), both inside the period."""

    day: date
    time: datetime | None  # None only for a day flagged without its check-in
    flags: tuple[str, ...]
    tier: Tier
    seen: datetime | None
    cleared: PlanChange | None
    how: How | None  # how it was cleared


def red_flag_reports(data: ReportData) -> list[RedFlagReport]:
    """Every red-flag report of the period, in time order."""
    out = []
    for day in data.days:
        if day.body is None:
            continue
        found = [s for s in day.body.get("symptoms", ()) if s.get("red_flags")]
        if not found and "red_flag" in day.flags:
            found = [{"red_flags": []}]
        for s in found:
            flags = tuple(str(f) for f in s["red_flags"])
            when = redflags.when(s.get("time"))
            cleared = _after(data.changes, "clear_alert", when)
            seen = _after(data.changes, "alert_seen", when,
                          until=cleared.time if cleared is not None else None)
            out.append(RedFlagReport(
                day.day, when, flags, redflags.tier(flags, s.get("tier")),
                seen.time if seen is not None else None, cleared,
                redflags.how_of(cleared.by, data.user) if cleared is not None else None))
    return out


def _after(changes: Sequence[PlanChange], key: str, when: datetime | None, *,
           until: datetime | None = None) -> PlanChange | None:
    """The first change setting ``key`` from ``when``'s minute on (the plan
    history's times are whole minutes), up to ``until``."""
    start = when.replace(second=0, microsecond=0) if when is not None else None
    for change in changes:
        if not change.set.get(key):
            continue
        if start is not None and change.time < start:
            continue
        if until is not None and change.time > until:
            return None
        return change
    return None


def _reviews(data: ReportData) -> list[Attention]:
    """Review suggested, with the reason in the physiotherapist's terms: the
    three red days, or the pain scores of three days running that rose over
    them (v2: each day at least as high as the day before, up 2 or more in
    all, so the scores need not rise every day)."""
    out = []
    days = data.days
    for i, day in enumerate(days):
        if "review_suggested" not in day.flags:
            continue
        run = days[max(0, i - 2): i + 1]
        levels = [[s["level"] for s in (d.body or {}).get("symptoms", ())] for d in run]
        pains = [max((s["pain"] for s in (d.body or {}).get("symptoms", ()) if "pain" in s),
                     default=None) for d in run]
        span = f"{run[0].day:%a %d} to {run[-1].day:%a %d %b}"
        if len(run) == 3 and all("red" in lv for lv in levels):
            why = f"Red symptom reports three days running ({span})."
        elif len(run) == 3 and (first := pains[0]) is not None and (
                last := pains[-1]) is not None and pains[1] is not None and last > first:
            scores = " \u2192 ".join(str(p) for p in pains)
            rise = last - first
            why = (f"Pain reported three days running, up {rise} point"
                   f"{'s' if rise != 1 else ''}: {scores} ({span}).")
        else:
            why = "Red days, or pain rising day after day."
        out.append(Attention(
            "review", f"Review suggested on {day.day:%a %d %b}",
            why + " pacer told the person their physiotherapist would be told.", (day.day,)))
    return out


def _boom_bust(days: Sequence[Day]) -> list[Attention]:
    busts = [d.day for d in days if "bust" in d.flags]
    booms = [d.day for d in days if "boom" in d.flags]
    if not busts:
        if len(booms) >= 3:
            return [Attention("note", f"{len(booms)} boom days, no bust day after them",
                              "Days well over the quota: " + _dates(booms), tuple(booms))]
        return []
    n = len(busts)
    return [Attention(
        "review", f"{n} boom-bust cycle{'s' if n != 1 else ''}",
        "A day under its floor right after a boom day: " + ", ".join(
            f"{d:%a %d %b}" for d in busts) + f". Boom days in the period: {len(booms)}.",
        tuple(busts))]


def _low_adherence(data: ReportData) -> list[Attention]:
    rate = adherence(data.days)
    if rate is None or rate >= LOW_ADHERENCE:
        return []
    weeks = ", ".join(
        f"{w['week']} {percent(w['adherence'])}" for w in data.weeks
        if w.get("adherence") is not None
    )
    by_week = f" By week: {weeks}." if weeks else ""
    return [Attention(
        "review", f"Low adherence to movement breaks: {percent(rate)}",
        f"Fewer than {percent(LOW_ADHERENCE)} of sitting prompts were followed by a break "
        f"within the response window.{by_week}")]


def _missing(data: ReportData) -> list[Attention]:
    hours = data.day_rules.min_known_hours
    # The day so far (a report asked mid-day) is not a day without data.
    missing = [d for d in data.days if not d.valid and not d.provisional]
    if not missing:
        return []
    parts = [_stretch(run) for run in _runs(missing)]
    if len(parts) > MAX_LISTED:
        parts = [*parts[:MAX_LISTED], f"and {len(parts) - MAX_LISTED} more"]
    n = len(missing)
    return [Attention(
        "note", f"{n} day{'s' if n != 1 else ''} without valid data",
        f"A valid day needs {hours:g} h of wearable data in the waking window; these "
        "are left out of baselines and trends: " + ", ".join(parts) + ".",
        tuple(d.day for d in missing))]


MAX_LISTED = 12


def _why(day: Day) -> str:
    if day.body is None:
        return "nothing stored"
    if day.body["known_min"] == 0:
        return "no wearable data"
    return f"{day.body['known_min'] / 60:.1f} h of data"


def _runs(days: Sequence[Day]) -> list[list[Day]]:
    """Consecutive days missing for the same kind of reason, together (days
    with some data each keep their own hours)."""
    runs: list[list[Day]] = []
    for d in days:
        last = runs[-1][-1] if runs else None
        partial = d.body is not None and d.body["known_min"] > 0
        if (last is not None and not partial and (last.day - d.day).days == -1
                and _why(last) == _why(d)):
            runs[-1].append(d)
        else:
            runs.append([d])
    return runs


def _stretch(run: Sequence[Day]) -> str:
    if len(run) == 1:
        return f"{run[0].day:%a %d %b} ({_why(run[0])})"
    return f"{run[0].day:%a %d %b} to {run[-1].day:%a %d %b} ({_why(run[0])}, {len(run)} days)"


def _dates(days: Sequence[date]) -> str:
    return ", ".join(f"{d:%a %d %b}" for d in days)
