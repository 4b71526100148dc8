"""A week's chart for the patient page, as inline SVG.

The steps chart of ``pacer report`` (pacer/report/charts.py) is used when that
package is installed alongside and accepts the week's days; otherwise (or if
it fails) a simple chart of our own is drawn with matplotlib: steps per day
against the quota and its floor-ceiling band, and sitting prompts with how
many were followed by a break. Either way every day of the ISO week has a
column, and days without a summary say "no data".
"""

from __future__ import annotations

import importlib
import logging
import math
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure

from pacer.report.charts import to_svg

log = logging.getLogger(__name__)

BLUE, SKY, GREEN, INK, GREY = "#0072B2", "#56B4E9", "#009E73", "#222222", "#8c8c8c"
STYLE: dict[str, Any] = {"svg.fonttype": "path", "font.family": "DejaVu Sans", "font.size": 10,
         "axes.spines.top": False, "axes.spines.right": False}


def week_dates(week: str) -> list[date]:
    """The seven dates of an ISO week written ``2026-W48``."""
    year, w = week.split("-W")
    monday = date.fromisocalendar(int(year), int(w), 1)
    return [monday + timedelta(days=i) for i in range(7)]




def _plan(body: Mapping[str, Any] | None, key: str) -> float:
    plan = (body or {}).get("plan") or {}
    value = plan.get(key) if isinstance(plan, Mapping) else None
    return float(value) if isinstance(value, int | float) else float("nan")


def own_week_chart(week: str, days: Sequence[Mapping[str, Any]]) -> str:
    """Our own chart of one week (see the module docstring)."""
    dates = week_dates(week)
    by_date = {d["date"]: d for d in days}
    bodies = [by_date.get(d.isoformat()) for d in dates]
    x = list(range(7))
    with matplotlib.rc_context(STYLE):  # type: ignore[arg-type]
        fig = Figure(figsize=(7.5, 3.6), layout="constrained")
        top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": (2, 1)})
        steps = [float(b["steps"]) if b else 0.0 for b in bodies]
        floor = [_plan(b, "floor") for b in bodies]
        ceiling = [_plan(b, "ceiling") for b in bodies]
        quota = [_plan(b, "quota") for b in bodies]
        top.fill_between(x, floor, ceiling, step="mid", color=GREEN, alpha=0.2, lw=0,
                         label="floor to ceiling")
        top.bar(x, steps, width=0.7, color=BLUE, label="steps", zorder=2)
        top.step(x, quota, where="mid", color=INK, lw=1.5, ls=(0, (5, 2)), label="quota",
                 zorder=3)
        high = max([*steps, *[c for c in ceiling if not math.isnan(c)], 1000.0])
        for i, b in enumerate(bodies):
            if b is None:
                top.text(i, high * 0.03, "no data", ha="center", va="bottom", rotation=90,
                         color="#555555", fontsize=8)
        top.set_ylim(0, high * 1.15)
        top.set_ylabel("steps")
        top.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=3, frameon=False)
        top.grid(axis="y", color="#dddddd", lw=0.6)
        prompted = [float((b or {}).get("breaks", {}).get("prompted") or 0) for b in bodies]
        taken = [float((b or {}).get("breaks", {}).get("taken") or 0) for b in bodies]
        bottom.bar(x, prompted, width=0.7, color=SKY, label="sitting prompts", zorder=2)
        bottom.bar(x, taken, width=0.35, color=INK, hatch="//", edgecolor="white",
                   label="followed by a break", zorder=3)
        bottom.set_ylim(0, max([*prompted, 4.0]) * 1.2)
        bottom.set_ylabel("prompts")
        bottom.legend(loc="upper left", ncol=2, frameon=False, fontsize=8)
        bottom.set_xticks(x, [f"{d:%a}\n{d.day} {d:%b}" for d in dates])
        return to_svg(fig, f"week-{week}")


def _report_chart(week: str, days: Sequence[Mapping[str, Any]]) -> str | None:
    """``pacer report``'s steps chart for the week, or None if it is not there."""
    try:
        charts: Any = importlib.import_module("pacer.report.charts")
        data: Any = importlib.import_module("pacer.report.data")
        timebase: Any = importlib.import_module("pacer.timebase")
        by_date = {d["date"]: d for d in days}
        rows = [data.Day(day=d, bounds=timebase.DayBounds(d, 0, 0, 0, 0),
                         body=by_date.get(d.isoformat()),
                         hours=tuple(data.HourCell() for _ in range(data.HOURS)),
                         inferred_minutes=0)
                for d in week_dates(week)]
        return str(charts.steps_chart(rows, charts.WIDE)).replace(
            'id="steps-wide', f'id="steps-{week}').replace("#steps-wide", f"#steps-{week}")
    except Exception as exc:  # not installed, or another version: draw our own
        log.debug("report chart not used: %s", exc)
        return None


def week_chart(week: str, days: Sequence[Mapping[str, Any]]) -> str:
    return _report_chart(week, days) or own_week_chart(week, days)
