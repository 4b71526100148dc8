"""``pacer report --format csv``: one row per day of the range (interfaces.md
section 7.7), with the daily summary's field names as columns and nested
fields as ``table.key``.

Cells: numbers as stored; ``true``/``false``; an empty cell for null (no quota
yet, no response time) and, on a day with no stored summary, for everything
but ``date``, ``user``, ``timezone`` and ``valid`` (no data is not zero).
``flags`` holds the day's flags joined by ``;``, ``walk_lengths`` each walk's
minutes joined by ``;``; ``sedentary_inferred`` is true when most of the
day's sedentary minutes were inferred from zero steps (a version 1 day keeps
its stored flag) and ``sedentary_inferred_share`` is the share inferred, to
three decimals (not a summary field; empty for version 1); ``symptoms`` the day's reports
as a JSON array, lossless. The last column, ``red_flag_reports``, is not a
summary field: the day's red-flag reports as a JSON array, each with its time,
flags and tier, when the person said they had been seen and who cleared the
alert, when and how (from the plan history); empty on a day without one.
``enough_data`` and ``days_with_data_30d`` are the remote-monitoring records'
figures (``report.monitoring``), on every row, a day without a summary
included (it has no data). The README lists every column.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from pacer.contract.payloads import DROP_KEYS
from pacer.engine.model import PROMPT_KINDS
from pacer.report import monitoring
from pacer.report.data import Day, ReportData
from pacer.report.findings import RedFlagReport, red_flag_reports

BREAKS = ("prompted", "taken", "natural", "ignored", "snoozed", "dismissed",
          "median_response_min", "ignored_streak")
PLAN = ("phase", "quota", "floor", "ceiling", "achievement")
WINDOW = ("opened", "closed", "opened_by", "closed_by")
EXERCISE = ("sessions", "minutes")

COLUMNS: tuple[str, ...] = (
    "date", "user", "timezone", "final", "valid", "known_min", "steps", "stepping_min",
    "upright_min", "sedentary_min", "sedentary_inferred", "sedentary_inferred_min",
    "sedentary_inferred_share", "sitting_bouts_30",
    "sitting_bouts_60", "longest_sitting_bout_min", "sit_to_stand", "walks", "walk_min",
    *(f"prompts.{k}" for k in PROMPT_KINDS),
    *(f"breaks.{k}" for k in BREAKS),
    *(f"plan.{k}" for k in PLAN),
    "flags", "symptoms",
    *(f"window.{k}" for k in WINDOW),
    "worn_min", "not_worn_min", "lying_min", "walk_lengths", "walk_target_min",
    *(f"prompts_dropped.{k}" for k in DROP_KEYS),
    *(f"exercise.{k}" for k in EXERCISE),
    "red_flag_reports", "v", "provisional", "enough_data", "days_with_data_30d",
)
"""Every field of the daily summary except the constant ``type`` and
``period``, in the summary's order (version 2's ``sedentary_inferred_min``
beside ``sedentary_inferred``, its other additions after ``symptoms``); then
the day's red-flag reports, the summary's version, whether the row is the
day so far (``provisional``, not a stored summary), and the remote-monitoring
figures (``report.monitoring``): whether the day has enough data and the days
with enough data in the 30 days ending on it. A version 1 day leaves
version 2's columns empty: not counted is not zero."""


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def report_json(r: RedFlagReport) -> dict[str, Any]:
    """One red-flag report as the CSV's ``red_flag_reports`` holds it."""
    c = r.cleared
    return {
        "time": r.time.isoformat() if r.time is not None else None,
        "flags": list(r.flags),
        "tier": r.tier,
        "seen": r.seen.isoformat() if r.seen is not None else None,
        "cleared": c.time.isoformat() if c is not None else None,
        "cleared_by": c.by if c is not None else None,
        "cleared_how": r.how,
        "cleared_why": c.why if c is not None else None,
    }


def row(day: Day, user: str, timezone: str,
        reports: Sequence[RedFlagReport] = (),
        monitored: frozenset[date] = frozenset()) -> dict[str, str]:
    """One day's row; ``monitored``: the dates with enough data (for the
    rolling 30-day count, which reaches before the report's first day)."""
    counted = {"enough_data": cell(day.day in monitored),
               "days_with_data_30d": str(monitoring.rolling(monitored, day.day))}
    if day.body is None:
        out = dict.fromkeys(COLUMNS, "")
        out.update(date=day.day.isoformat(), user=user, timezone=timezone, valid="false",
                   **counted)
        return out
    values: dict[str, str] = {}
    for name in COLUMNS:
        if name == "v":
            values[name] = cell(day.body.get("v", 1))
        elif name == "provisional":
            values[name] = cell(day.provisional)
        elif name == "sedentary_inferred":
            values[name] = cell(day.inferred)
        elif name == "sedentary_inferred_share":
            share = day.inferred_share
            values[name] = "" if share is None else f"{share:.3f}"
        elif name == "walk_lengths":
            lengths = day.body.get("walk_lengths")
            values[name] = "" if lengths is None else ";".join(str(n) for n in lengths)
        elif name.startswith("prompts."):
            # The summary lists only the kinds sent that day: the others are 0.
            values[name] = cell(day.body["prompts"].get(name.partition(".")[2], 0))
        elif name == "flags":
            values[name] = ";".join(day.body["flags"])
        elif name == "symptoms":
            values[name] = _json(day.body["symptoms"])
        elif name == "red_flag_reports":
            values[name] = _json([report_json(r) for r in reports]) if reports else ""
        elif name in counted:
            values[name] = counted[name]
        else:
            values[name] = cell(day.get(name))
    return values


def render(data: ReportData) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    reports = red_flag_reports(data)
    for day in data.days:
        writer.writerow(row(day, data.user, data.timezone,
                            [r for r in reports if r.day == day.day], data.monitored))
    return buf.getvalue()


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
