"""The report's charts: matplotlib figures rendered to inline SVG.

Choices that make them read well on paper and screens alike:

- glyphs are drawn as paths (``svg.fonttype = path``): the file needs no font
  and looks the same on every machine, with no network;
- every series differs in lightness and in pattern or shape, not only in hue,
  so the charts survive greyscale printing and colour blindness (Okabe-Ito
  colours);
- all day charts share one x axis layout, so days line up down the page;
- the SVG loses its fixed width and height and keeps its viewBox, so the page
  scales it to the screen; ids get a per-chart prefix, because several SVGs
  inline in one page share one id space.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display, no GUI toolkit: a report runs on a headless Pi

import numpy as np
from matplotlib import patheffects, ticker
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.typing import RcKeyType

from pacer.engine.numbers import grouped
from pacer.report.data import Day, PlanChange
from pacer.report.redflags import how_of

MIN_KNOWN_IN_HOUR = 30
"""Minutes of an hour that must be recorded for its cell to show a colour."""

# Okabe-Ito, chosen per role for lightness as much as hue.
BLUE = "#0072B2"
SKY = "#56B4E9"
ORANGE = "#E69F00"
VERMILION = "#D55E00"
GREEN = "#009E73"
YELLOW = "#F0E442"
GREY = "#8c8c8c"
LIGHT = "#d9d9d9"
INK = "#222222"


@dataclass(frozen=True, slots=True)
class Layout:
    """Each chart is drawn twice: wide for laptops and paper, narrow (and a
    little taller) for phones, where a scaled-down wide chart would shrink its
    text below reading size. The page shows one of them (CSS media query)."""

    name: str
    width_in: float
    legend_cols: int  # at most; a legend with fewer entries uses fewer
    height: float = 1.0  # times the wide chart's height


WIDE = Layout("wide", 10.0, 6)
NARROW = Layout("narrow", 4.8, 2, height=1.25)
LAYOUTS = (WIDE, NARROW)
STYLE: dict[RcKeyType, Any] = {
    "svg.fonttype": "path",
    "font.family": "DejaVu Sans",  # bundled with matplotlib
    "font.size": 12,
    "axes.titlesize": 13,
    "axes.labelsize": 12,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "legend.fontsize": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#555555",
    "hatch.linewidth": 0.8,
    "hatch.color": "#444444",
}


def _figure(layout: Layout, height_in: float, rows: int = 1,
            ratios: Sequence[float] | None = None) -> tuple[Figure, list[Axes]]:
    fig = Figure(figsize=(layout.width_in, height_in * layout.height), layout="constrained")
    axes = fig.subplots(rows, 1, sharex=True, squeeze=False,
                        gridspec_kw={"height_ratios": ratios} if ratios else None)
    return fig, [a for row in axes for a in row]


def to_svg(fig: Figure, name: str) -> str:
    """The figure as an inline ``<svg>`` element, ids prefixed with ``name``."""
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": name}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    # Responsive: the page sets the width, the viewBox keeps the proportions.
    svg = re.sub(r'^<svg([^>]*?) width="[^"]*" height="[^"]*"', r"<svg\1", svg, count=1)
    svg = svg.replace("<svg", '<svg class="chart" focusable="false" aria-hidden="true"', 1)
    svg = re.sub(r'id="([^"]+)"', rf'id="{name}-\1"', svg)
    svg = re.sub(r'(xlink:href|href)="#([^"]+)"', rf'\1="#{name}-\2"', svg)
    return re.sub(r"url\(#([^)]+)\)", rf"url(#{name}-\1)", svg)


def _day_axis(ax: Axes, days: Sequence[Day], layout: Layout) -> None:
    """Days as 0..n-1; week starts marked, labels thinned to stay legible."""
    n = len(days)
    ax.set_xlim(-0.6, n - 0.4)
    if n <= 120:
        ax.set_xticks(range(n), minor=True)
        ax.tick_params(axis="x", which="minor", length=2)
    most = 8 if layout is WIDE else 4  # labels that fit across without touching
    if n <= (14 if layout is WIDE else 5):
        ticks = list(range(n))
    else:
        mondays = [i for i, d in enumerate(days) if d.day.weekday() == 0]
        ticks = mondays[:: math.ceil(len(mondays) / most)] if mondays else [0]
    if layout is WIDE:
        labels = [f"{days[i].day:%a}\n{days[i].day.day} {days[i].day:%b}" for i in ticks]
    else:
        labels = [f"{days[i].day.day} {days[i].day:%b}" for i in ticks]
    ax.set_xticks(ticks, labels)
    _week_lines(ax, days)


def _week_lines(ax: Axes, days: Sequence[Day]) -> None:
    """A faint line before each Monday; before each month in a long report."""
    long_report = len(days) > 120
    for i, d in enumerate(days):
        if i and (d.day.day == 1 if long_report else d.day.weekday() == 0):
            ax.axvline(i - 0.5, color=LIGHT, lw=0.8, zorder=0)


def _legend(fig: Figure, handles: Sequence[object], layout: Layout, ncol: int = 6) -> None:
    """The legend above the chart, as part of the layout: constrained layout
    keeps it clear of the axes and inside the figure at both widths."""
    fig.legend(handles=handles, loc="outside upper left", ncol=min(ncol, layout.legend_cols),
               frameon=False, handlelength=1.8, columnspacing=1.2,
               fontsize=11 if layout is WIDE else 10)


def _ordered(ax: Axes, order: Sequence[str]) -> list[object]:
    """The axes' legend handles in the reading order given by their labels."""
    handles, labels = ax.get_legend_handles_labels()
    by_label = dict(zip(labels, handles, strict=True))
    return [by_label[name] for name in order if name in by_label]


def _no_data(ax: Axes, days: Sequence[Day], y: float) -> None:
    """Mark days without data: one label per day in a short report; in a long
    one a shaded stretch per run of such days, so labels never pile up."""
    runs: list[list[int]] = []
    for i, d in enumerate(days):
        if d.body is None or d.body["known_min"] == 0:
            if runs and runs[-1][-1] == i - 1:
                runs[-1].append(i)
            else:
                runs.append([i])
    long_report = len(days) > 60
    for run in runs:
        if len(run) > 1 or long_report:
            ax.axvspan(run[0] - 0.5, run[-1] + 0.5, color="#f2f2f2", lw=0, zorder=0)
        if not long_report or len(run) >= len(days) / 12:
            ax.text((run[0] + run[-1]) / 2, y, "no data", ha="center", va="bottom",
                    rotation=90 if len(run) < 4 else 0, fontsize=9, color="#555555")


def _values(days: Sequence[Day], name: str) -> list[float]:
    return [float(d.get(name) or 0) for d in days]


def steps_chart(days: Sequence[Day], layout: Layout) -> str:
    """Daily steps against the quota and its floor-ceiling band."""
    with matplotlib.rc_context(STYLE):
        fig, (ax,) = _figure(layout, 4.0)
        x = np.arange(len(days))
        steps = np.array(_values(days, "steps"))
        floor, quota, ceiling = (_optional(days, f"plan.{key}")
                                 for key in ("floor", "quota", "ceiling"))
        ax.fill_between(x, floor, ceiling, step="mid", color=GREEN, alpha=0.22, lw=0,
                        label="floor to ceiling")
        valid = np.array([d.valid for d in days], dtype=bool)
        stored = np.array([d.body is not None for d in days], dtype=bool)
        ax.bar(x[valid], steps[valid], width=0.7, color=BLUE, label="steps", zorder=2)
        invalid = stored & ~valid
        ax.bar(x[invalid], steps[invalid], width=0.7, facecolor="white", edgecolor=BLUE,
               hatch="///", label="steps, not a valid day", zorder=2)
        ax.step(x, quota, where="mid", color=INK, lw=1.6, ls=(0, (5, 2)), label="quota",
                zorder=3)
        top = float(max(steps.max(initial=0), np.nanmax(ceiling, initial=0), 1000))
        lift = top * 0.045
        booms = [i for i, d in enumerate(days) if "boom" in d.flags]
        busts = [i for i, d in enumerate(days) if "bust" in d.flags]
        ax.scatter(booms, steps[booms] + lift, marker="^", s=55, color=VERMILION,
                   edgecolor=INK, lw=0.6, label="boom day", zorder=4)
        ax.scatter(busts, steps[busts] + lift, marker="v", s=60, color="white",
                   edgecolor=INK, lw=1.2, label="bust day", zorder=4)
        _no_data(ax, days, top * 0.02)
        ax.set_ylim(0, top * 1.12)
        ax.set_ylabel("steps per day")
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda x, _pos: grouped(x)))
        _grid(ax)
        _day_axis(ax, days, layout)
        _legend(fig, _ordered(ax, ("steps", "steps, not a valid day", "quota",
                                  "floor to ceiling", "boom day", "bust day")), layout, 3)
        return to_svg(fig, f"steps-{layout.name}")


def _optional(days: Sequence[Day], name: str) -> np.ndarray:
    """A field that may be null (no quota yet) as floats with NaN: NaN draws nothing."""
    return np.array([np.nan if d.get(name) is None else d.get(name) for d in days], dtype=float)


def _grid(ax: Axes) -> None:
    ax.grid(axis="y", color=LIGHT, lw=0.6)
    ax.set_axisbelow(True)


def sitting_chart(days: Sequence[Day], layout: Layout) -> str:
    """Sedentary minutes, and bouts of 30 and 60 minutes or more."""
    with matplotlib.rc_context(STYLE):
        fig, (top, bottom) = _figure(layout, 5.4, rows=2, ratios=(1.3, 1))
        x = np.arange(len(days))
        sed = np.array(_values(days, "sedentary_min"))
        inferred = np.array([d.inferred for d in days], dtype=bool)
        top.bar(x[~inferred], sed[~inferred], width=0.7, color=GREY, label="sedentary minutes",
                zorder=2)
        top.bar(x[inferred], sed[inferred], width=0.7, facecolor="white", edgecolor=INK,
                hatch="...", label="inferred from steps", zorder=2)
        high = max(float(sed.max(initial=0)), 60.0)
        _no_data(top, days, high * 0.02)
        top.set_ylim(0, high * 1.1)
        top.set_ylabel("minutes\n(waking day)")
        _grid(top)
        _week_lines(top, days)
        top.tick_params(axis="x", which="both", labelbottom=False)

        b30 = np.array(_values(days, "sitting_bouts_30"))
        b60 = np.array(_values(days, "sitting_bouts_60"))
        bottom.bar(x, b30, width=0.75, color=SKY, label="bouts of 30+ min", zorder=2)
        # Bouts of 60+ are a subset of the 30+: drawn inside them, narrower and darker.
        bottom.bar(x, b60, width=0.38 if layout is WIDE else 0.45, color=BLUE, lw=0,
                   label="of which 60+ min", zorder=3)
        bottom.set_ylabel("sitting\nbouts")
        bottom.set_ylim(0, max(float(b30.max(initial=0)), 4.0) * 1.15)
        bottom.yaxis.set_major_locator(ticker.MaxNLocator(integer=True, nbins=4))
        _grid(bottom)
        _legend(fig, [*_ordered(top, ("sedentary minutes", "inferred from steps")),
                      *_ordered(bottom, ("bouts of 30+ min", "of which 60+ min"))], layout, 4)
        _day_axis(bottom, days, layout)
        fig.align_ylabels([top, bottom])
        return to_svg(fig, f"sitting-{layout.name}")


def hours_chart(days: Sequence[Day], layout: Layout, *, start_hour: int, wake: float,
                sleep: float) -> str:
    """Hour by day: minutes of sitting in each clock hour of the waking day,
    from the stored epochs; hatched where there was no data. ``wake`` and
    ``sleep`` are clock hours (7.5 for 07:30). The night is left out: lying
    asleep is not the sitting a physiotherapist asks about."""
    with matplotlib.rc_context(STYLE):
        n = len(days)
        first = math.floor((wake - start_hour) % 24)
        last = math.ceil((sleep - start_hour) % 24)  # columns first..last-1
        cols = last - first
        row_in = 0.27 if n <= 60 else 0.1  # a long report: thinner rows, labels weekly
        fig = Figure(figsize=(layout.width_in, 2.0 + row_in * n), layout="constrained")
        ax = fig.subplots()
        sed = np.array([[c.sedentary for c in d.hours[first:last]] for d in days], dtype=float)
        known = np.array([[c.known for c in d.hours[first:last]] for d in days], dtype=float)
        # An hour mostly unrecorded would look like an hour of moving: hatch it instead.
        grid = np.ma.masked_where(known < MIN_KNOWN_IN_HOUR, np.minimum(sed, 60))
        # Lightness runs one way (light: moving, dark: sitting), so grey prints keep it.
        cmap = ListedColormap(matplotlib.colormaps["Blues"](np.linspace(0.04, 1.0, 256)))
        cmap.set_bad((0, 0, 0, 0))  # no data: the hatched background shows through
        ax.add_patch(Rectangle((-0.5, -0.5), cols, n, facecolor="white", edgecolor=GREY,
                               hatch="////", lw=0, zorder=0))
        image = ax.imshow(grid, cmap=cmap, vmin=0, vmax=60, aspect="auto",
                          interpolation="nearest", zorder=1,
                          extent=(-0.5, cols - 0.5, n - 0.5, -0.5))
        ax.set_xlim(-0.5, cols - 0.5)
        ax.set_ylim(n - 0.5, -0.5)
        clock = [(start_hour + first + h) % 24 for h in range(cols)]
        every = 2 if layout is WIDE else 3
        ax.set_xticks([h - 0.5 for h in range(0, cols, every)],
                      [f"{clock[h]:02d}:00" for h in range(0, cols, every)])
        ax.set_xlabel("clock time (local)")
        step = 1 if n <= 40 else 7
        rows = list(range(0, n, step))
        ax.set_yticks(rows, [_row_label(days[i], layout) for i in rows], fontsize=10)
        ax.tick_params(axis="y", length=0)
        # A dark dashed line with a white halo shows on light and dark cells alike.
        halo = [patheffects.withStroke(linewidth=4, foreground="white")]
        for at in (wake, sleep):
            ax.axvline((at - start_hour) % 24 - first - 0.5, color=INK, lw=1.8,
                       ls=(0, (4, 2)), path_effects=halo)
        for spine in ax.spines.values():
            spine.set_visible(False)
        bar = fig.colorbar(image, ax=ax, orientation="horizontal", location="top",
                           fraction=0.04 if n > 14 else 0.08, aspect=30, pad=0.02,
                           shrink=0.55 if layout is WIDE else 1.0)
        bar.set_label("minutes of the hour spent sitting", fontsize=11)
        bar.set_ticks([0, 15, 30, 45, 60])
        fig.legend(handles=[
            Patch(facecolor="white", edgecolor=GREY, hatch="////",
                  label="under half the hour recorded"),
            Line2D([], [], color=INK, lw=1.8, ls=(0, (4, 2)), label="wake, sleep"),
        ], loc="outside lower center", ncol=2, frameon=False)
        return to_svg(fig, f"hours-{layout.name}")


def _row_label(day: Day, layout: Layout) -> str:
    mark = " *" if day.inferred else ""
    text = f"{day.day:%a %d %b}" if layout is WIDE else f"{day.day:%a %d}"
    return text + mark


OUTCOMES = (
    # key, label, face, hatch
    ("taken", "taken (break in time)", BLUE, ""),
    ("snoozed", "snoozed", SKY, ".."),
    ("dismissed", "dismissed", LIGHT, "xx"),
    ("ignored", "ignored", ORANGE, "//"),
)


def prompts_chart(days: Sequence[Day], layout: Layout) -> str:
    """Sitting prompts per day by what followed, and natural breaks."""
    with matplotlib.rc_context(STYLE):
        fig, (ax,) = _figure(layout, 4.0)
        x = np.arange(len(days))
        bottom = np.zeros(len(days))
        for key, label, face, hatch in OUTCOMES:
            values = np.array(_values(days, f"breaks.{key}"))
            ax.bar(x, values, width=0.7, bottom=bottom, color=face, hatch=hatch,
                   edgecolor="#444444" if hatch else "white", lw=0.4, label=label, zorder=2)
            bottom += values
        natural = _values(days, "breaks.natural")
        ax.plot(x, natural, ls="none", marker="D", ms=6, color=INK, mfc=YELLOW,
                label="natural breaks (no prompt)", zorder=3)
        high = max(float(bottom.max(initial=0)), max(natural, default=0), 4.0)
        _no_data(ax, days, high * 0.02)
        ax.set_ylim(0, high * 1.1)
        ax.set_ylabel("sitting prompts")
        ax.yaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        _grid(ax)
        _day_axis(ax, days, layout)
        _legend(fig, _ordered(ax, [o[1] for o in OUTCOMES] + ["natural breaks (no prompt)"]),
                layout, 3)
        return to_svg(fig, f"prompts-{layout.name}")


def walks_chart(days: Sequence[Day], planned: Sequence[int], layout: Layout) -> str:
    """Walks per day against the walks planned, with walk minutes on top."""
    with matplotlib.rc_context(STYLE):
        fig, (ax,) = _figure(layout, 3.4)
        x = np.arange(len(days))
        walks = _values(days, "walks")
        ax.bar(x, walks, width=0.7, color=GREEN, label="walks done", zorder=2)
        ax.step(x, planned, where="mid", color=INK, lw=1.6, ls=(0, (5, 2)),
                label="walks planned", zorder=3)
        for i, d in enumerate(days):
            minutes = d.get("walk_min")
            if minutes:
                # Upright numbers would touch on a phone: turned there.
                ax.text(i, walks[i] + 0.08, f"{minutes}", ha="center", va="bottom",
                        fontsize=9, color=INK, rotation=0 if layout is WIDE else 90)
        high = max([*walks, *planned, 3])
        _no_data(ax, days, 0.05)
        ax.set_ylim(0, high * 1.35)
        ax.set_ylabel("walks")
        ax.yaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        _grid(ax)
        _day_axis(ax, days, layout)
        handles = _ordered(ax, ("walks done", "walks planned"))
        handles.append(Patch(facecolor="none", edgecolor="none",
                             label="numbers: minutes walked"))
        _legend(fig, handles, layout, 3)
        return to_svg(fig, f"walks-{layout.name}")


OPENED_BY = (
    # how, label, marker, face
    ("event", "the person said so", "D", INK),
    ("detected", "detected from the wearable", "o", ORANGE),
    ("configured", "configured time", "s", "white"),
)


def _clock(day: Day, when: datetime | None) -> float:
    """Hours from the day's midnight (local wall clock, past 24 after
    midnight); NaN without a time."""
    if when is None:
        return math.nan
    return (when.replace(tzinfo=None) - datetime.combine(day.day, time())).total_seconds() / 3600


def window_chart(days: Sequence[Day], layout: Layout) -> str:
    """Top: each day's waking window as a bar from when it opened to when it
    closed, the ends marked by how. Bottom: the hours the wearable was worn
    and not worn in it. Days without a version 2 summary have neither."""
    with matplotlib.rc_context(STYLE):
        fig, (top, bottom) = _figure(layout, 5.6, rows=2, ratios=(1.4, 1))
        x = np.arange(len(days))
        opened = np.array([_clock(d, d.window_time("opened")) for d in days])
        closed = np.array([_clock(d, d.window_time("closed")) for d in days])
        span = ~np.isnan(opened) & ~np.isnan(closed)
        top.bar(x[span], (closed - opened)[span], bottom=opened[span], width=0.6, color=SKY,
                label="waking window", zorder=2)
        # Still open when the data ended (a day so far): as far as it has run.
        so_far = np.array([float((d.get("worn_min") or 0) + (d.get("not_worn_min") or 0)) / 60
                           for d in days])
        still = ~np.isnan(opened) & np.isnan(closed)
        top.bar(x[still], so_far[still], bottom=opened[still], width=0.6, facecolor="white",
                edgecolor=BLUE, hatch="..", label="still open when the data ended", zorder=2)
        closed = np.where(still, opened + so_far, closed)
        for how, label, marker, face in OPENED_BY:
            for edge, times in (("opened", opened), ("closed", closed)):
                at = [i for i, d in enumerate(days)
                      if d.window_by(edge) == how and not math.isnan(times[i])]
                top.scatter(at, times[at], marker=marker, s=34, color=face, edgecolor=INK,
                            lw=0.8, zorder=3, label=label if edge == "opened" else None)
        shown = np.concatenate([opened[~np.isnan(opened)], closed[~np.isnan(closed)]])
        low = math.floor(float(shown.min(initial=24.0))) - 1 if shown.size else 5
        high = math.ceil(float(shown.max(initial=0.0))) + 1 if shown.size else 24
        top.set_ylim(high, low)  # morning at the top, as a day reads
        top.yaxis.set_major_locator(ticker.MultipleLocator(3 if layout is WIDE else 4))
        top.yaxis.set_major_formatter(ticker.FuncFormatter(
            lambda v, _pos: f"{int(v) % 24:02d}:00"))
        top.set_ylabel("clock time")
        _grid(top)
        _week_lines(top, days)
        top.tick_params(axis="x", which="both", labelbottom=False)

        worn = np.array([float(d.get("worn_min") or 0) / 60 for d in days])
        not_worn = np.array([float(d.get("not_worn_min") or 0) / 60 for d in days])
        bottom.bar(x, worn, width=0.7, color=BLUE, label="worn", zorder=2)
        bottom.bar(x, not_worn, bottom=worn, width=0.7, facecolor="white", edgecolor=INK,
                   hatch="///", label="not worn", zorder=2)
        bottom.set_ylim(0, max(float((worn + not_worn).max(initial=0)), 4.0) * 1.15)
        bottom.set_ylabel("hours in\nthe window")
        bottom.yaxis.set_major_locator(ticker.MaxNLocator(integer=True, nbins=4))
        _grid(bottom)
        _no_data(bottom, days, 0.1)
        # Only what the chart shows: an empty series would still get a legend entry.
        hows = {d.window_by(edge) for d in days for edge in ("opened", "closed")}
        top_labels = ["waking window"] if span.any() else []
        if still.any():
            top_labels.append("still open when the data ended")
        top_labels += [label for how, label, _m, _f in OPENED_BY if how in hows]
        bottom_labels = ["worn"] + (["not worn"] if not_worn.any() else [])
        handles = [*_ordered(top, top_labels), *_ordered(bottom, bottom_labels)]
        _legend(fig, handles, layout, 3)
        _day_axis(bottom, days, layout)
        fig.align_ylabels([top, bottom])
        return to_svg(fig, f"window-{layout.name}")


LEVELS = {
    # level: marker, face
    "green": ("o", GREEN),
    "amber": ("^", ORANGE),
    "red": ("s", VERMILION),
}


def traffic_chart(days: Sequence[Day], changes: Sequence[PlanChange], layout: Layout,
                  user: str | None = None) -> str:
    """The traffic-light reports on the timeline, with the pain score, red
    flags, settle periods, review suggestions and the physiotherapist's changes."""
    with matplotlib.rc_context(STYLE):
        fig, (ax,) = _figure(layout, 4.0)
        index = {d.day: i for i, d in enumerate(days)}
        for i, d in enumerate(days):
            if "settling" in d.flags:
                ax.axvspan(i - 0.5, i + 0.5, color=LIGHT, alpha=0.8, lw=0, zorder=0)
        pains: list[tuple[int, int]] = []
        for i, d in enumerate(days):
            for s in (d.body or {}).get("symptoms", ()):
                marker, face = LEVELS.get(s["level"], ("o", GREY))
                y = s.get("pain", -1)
                if "pain" in s:
                    pains.append((i, y))
                ax.scatter([i], [y], marker=marker, s=80, color=face, edgecolor=INK, lw=0.8,
                           zorder=3, label=f"{s['level']} report")
                if s.get("red_flags"):
                    ax.scatter([i], [y + 1.4], marker="*", s=240, color="white",
                               edgecolor=INK, lw=1.2, zorder=4, label="red flag")
        if pains:
            ax.plot(*zip(*pains, strict=True), color=GREY, lw=1.0, zorder=2)
        for i, d in enumerate(days):
            if "review_suggested" in d.flags:
                ax.axvline(i, color=INK, lw=1.4, ls=":", zorder=1, label="review suggested")
        # A plan editor's changes: not pacer's own, not the person's (said they
        # were seen), not ``pacer alert clear`` on their machine.
        physio = [index[c.time.date()] for c in changes
                  if c.by != "pacer" and c.time.date() in index
                  and (user is None or how_of(c.by, user) == "physiotherapist")]
        ax.scatter(physio, [11.8] * len(physio), marker="v", s=80, color=BLUE, edgecolor=INK,
                   zorder=4, label="physiotherapist's change")
        ax.set_ylim(-1.8, 12.6)
        ax.set_yticks([-1, 0, 2, 4, 6, 8, 10], ["none", "0", "2", "4", "6", "8", "10"])
        ax.set_ylabel("pain score")
        _grid(ax)
        _day_axis(ax, days, layout)
        handles = _ordered(ax, ("green report", "amber report", "red report", "red flag",
                                "review suggested", "physiotherapist's change"))
        if any("settling" in d.flags for d in days):
            handles.append(Patch(color=LIGHT, alpha=0.8, label="settle plan"))
        _legend(fig, handles, layout, 4)
        return to_svg(fig, f"traffic-{layout.name}")


def planned_walks(days: Sequence[Day], per_day: int, changes: Sequence[PlanChange]) -> list[int]:
    """Walks planned per day: the config's number, changed from the day a
    plan change set ``walks.per_day``; a settle plan asks for 3."""
    current = per_day
    set_on: dict[date, int] = {}
    for c in changes:
        value = c.set.get("walks.per_day")
        if isinstance(value, int):
            set_on[c.time.date()] = value
    out = []
    for d in days:
        current = set_on.get(d.day, current)
        out.append(3 if "settling" in d.flags else current)
    return out
