"""``pacer report --format html``: one self-contained page for the
physiotherapist: what needs attention first, then the charts and the tables
behind them.

The page is a Jinja2 template (``templates/report.html.j2``) with autoescape on:
every value from the store (user id, who changed the plan and why, prompt
texts) is escaped. The only markup let through unescaped is the charts' SVG,
which matplotlib writes from numbers and our own labels. No script, no external
file, font or style: it opens offline.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from pacer import __version__
from pacer.engine.numbers import grouped, percent
from pacer.report import charts, monitoring, redflags
from pacer.report.data import Day, PlanChange, ReportData
from pacer.report.findings import attention, key_figures

CHART_COUNT = 7
"""Charts drawn per report, for the progress bar."""


@dataclass(frozen=True, slots=True)
class Chart:
    id: str
    title: str
    how: str  # how to read it, one sentence
    wide: Markup  # for laptops and paper
    narrow: Markup  # for phones
    alt: str  # what it shows, for screen readers


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("pacer.report", "templates"),
        autoescape=True,  # every {{ }} is escaped unless it is Markup
        undefined=StrictUndefined,  # a typo in the template fails loudly, in the tests
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(num=num, pct=pct, hours=hours, flag=redflags.name,
                       dv=lambda v: "" if v is None else v)  # a data-value: null is empty
    return env


def num(value: object, digits: int = 0) -> str:
    """1234.5 -> '1,235'; None -> an en dash (no value, not zero)."""
    if value is None or value == "":
        return "\u2013"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return grouped(value, digits)
    return str(value)


def pct(value: float | None) -> str:
    return "\u2013" if value is None else percent(value)


def hours(minutes: int | None) -> str:
    return "\u2013" if minutes is None else f"{minutes / 60:.1f}"


def describe_set(values: Mapping[str, Any]) -> str:
    """A plan change's ``set`` in words."""
    parts = []
    for key, value in values.items():
        if key == "clear_alert":
            parts.append("alert cleared")
        elif key == "alert_seen":
            parts.append("the person said they had been seen by a clinician")
        elif key in ("plan.quota", "quota"):
            parts.append("no quota (baseline)" if value is None else f"quota {num(value)} steps")
        elif key == "quota_today":
            parts.append(f"quota for that day {num(value)} steps")
        else:
            parts.append(f"{key} = {value}")
    return "; ".join(parts)


def _charts(data: ReportData, step: Callable[[str], None]) -> list[Chart]:
    days = data.days
    rules = data.day_rules
    out = []

    def add(chart_id: str, title: str, how: str, alt: str,
            make: Callable[[charts.Layout], str]) -> None:
        # Markup: matplotlib's SVG of our numbers and labels, not store text.
        wide, narrow = (Markup(make(layout)) for layout in (charts.WIDE, charts.NARROW))  # noqa: S704
        out.append(Chart(chart_id, title, how, wide, narrow, alt))
        step(f"chart {chart_id}")

    add("steps", "Daily steps against the plan",
        "Bars are the day's steps; the dashed line is the quota, the green band runs from "
        "floor to ceiling. Hatched bars are days without enough data to count.",
        "Bar chart of daily steps with the quota and the floor-to-ceiling band.",
        lambda lay: charts.steps_chart(days, lay))
    add("sitting", "Sitting: sedentary minutes and long bouts",
        "Top: sedentary minutes in the waking day (dotted bars: inferred from a step-only "
        "device). Bottom: sitting bouts of 30 minutes or more, with those of 60 or more "
        "inside them.",
        "Bar charts of sedentary minutes and of sitting bouts per day.",
        lambda lay: charts.sitting_chart(days, lay))
    add("hours", "When the sitting happens: hour by day",
        "Each row is a day, each column a clock hour; the darker, the more of that hour "
        "was spent sitting, from the minute-by-minute record. Hatched: less than half of "
        "the hour was recorded. Days marked * are from a step-only device.",
        "Heat map of sitting minutes per clock hour for each day.",
        lambda lay: charts.hours_chart(days, lay, start_hour=rules.start.hour,
                                       wake=rules.wake.hour + rules.wake.minute / 60,
                                       sleep=rules.sleep.hour + rules.sleep.minute / 60))
    add("prompts", "Movement-break prompts and what followed",
        "Each bar is the day's sitting prompts, split by what followed them; diamonds are "
        "breaks taken without a prompt.",
        "Stacked bar chart of sitting prompt outcomes per day.",
        lambda lay: charts.prompts_chart(days, lay))
    add("window", "The waking day: when it opened and closed, and the time worn",
        "Top: each day's waking window, from the time it opened to the time it closed; the "
        "marks at its ends say how (the person said so, detected from the wearable, or the "
        "configured time). Bottom: hours of the window the wearable was worn (solid) and "
        "not worn (hatched). Days recorded before version 2 have neither.",
        "Bar chart of each day's waking window by clock time, and of hours worn and not worn.",
        lambda lay: charts.window_chart(days, lay))
    planned = charts.planned_walks(days, data.walk_rules.per_day, data.changes)
    add("walks", "Walks against the plan",
        "Bars are walks done (numbers: minutes walked); the dashed line is the walks "
        "planned that day.",
        "Bar chart of walks per day with the number planned.",
        lambda lay: charts.walks_chart(days, planned, lay))
    add("traffic", "Traffic-light reports and pain",
        "Each mark is a check-in at its pain score: circle green, triangle amber, square "
        "red; a star is a red flag. Grey columns are days under a settle plan.",
        "Timeline of symptom reports with pain scores.",
        lambda lay: charts.traffic_chart(days, data.changes, lay, data.user))
    return out


def _row(day: Day) -> dict[str, Any]:
    body = day.body
    symptoms = []
    for s in (body or {}).get("symptoms", ()):
        text = s["level"]
        if "pain" in s:
            text += f" (pain {s['pain']})"
        if s.get("red_flags"):
            flags = [str(f) for f in s["red_flags"]]
            text += (f": {redflags.tier(flags, s.get('tier'))} red flag, "
                     f"{redflags.names(flags)}")
        symptoms.append(text)
    walks = [int(n) for n in (body or {}).get("walk_lengths") or ()]
    target = (body or {}).get("walk_target_min")
    dropped = (body or {}).get("prompts_dropped") or {}
    return {"day": day, "symptoms": symptoms, "walks": walks,
            "dropped_other": sum(v for k, v in dropped.items() if k != "budget"),
            "walks_long": sum(1 for n in walks if target is not None and n >= target),
            "opened": _edge(day, "opened"), "closed": _edge(day, "closed")}


WINDOW_HOW = {"event": "the person said so", "detected": "detected",
              "configured": "configured time"}


def _edge(day: Day, edge: str) -> str:
    """``07:12 (detected)``; an en dash for a version 1 day."""
    when = day.window_time(edge)
    if when is None:
        if edge == "closed" and day.window_time("opened") is not None:
            return "still open when the data ended"
        return "\u2013"
    text = f"{when:%H:%M}"
    if when.date() != day.day:
        text += f" ({when:%a})"
    by = day.window_by(edge)
    return f"{text}, {WINDOW_HOW.get(by, by)}" if by else text


@dataclass(frozen=True, slots=True)
class Monitoring:
    """The report's remote-monitoring section: the billing periods that touch
    the report's dates, and the rolling count of the 30 days ending on its
    last day."""

    periods: tuple[monitoring.Period, ...]
    rolling: int
    band: monitoring.Band
    enough_min: int = monitoring.ENOUGH_WORN_MIN
    short_share: float = monitoring.SHORT_WINDOW_SHARE
    period_days: int = monitoring.PERIOD_DAYS


def _monitoring(data: ReportData) -> Monitoring:
    count = monitoring.rolling(data.monitored, data.last)
    return Monitoring(monitoring.periods(data.monitored, data.last, first=data.first),
                      count, monitoring.band(count))


def render(data: ReportData, step: Callable[[str], None] | None = None) -> str:
    tick = step or (lambda _label: None)
    env = environment()
    template = env.get_template("report.html.j2")
    changes: list[tuple[PlanChange, str]] = [(c, describe_set(c.set)) for c in data.changes]
    return template.render(
        data=data,
        version=__version__,
        attention=attention(data),
        figures=key_figures(data),
        charts=_charts(data, tick),
        rows=[_row(d) for d in data.days],
        changes=changes,
        inferred=[d for d in data.days if d.inferred],
        inferred_some=[d for d in data.days if not d.inferred and d.inferred_share],
        v2=any(d.body is not None and "window" in d.body for d in data.days),
        provisional=[d for d in data.days if d.provisional],
        monitoring=_monitoring(data),
    )
