"""Remote-monitoring records: which days have enough data, and how many of
them fall in each 30-day period.

Clinics that bill remote therapeutic monitoring count the days on which the
device recorded data in each 30-day period: 16 or more for one code, 2 to 15
for another (from 2026); under 2 bills neither. The rules say a device must
record on the day, not how much, so "enough" is pacer's own rule, defined
here once and used by the report and the clinic alike:

A day has **enough data** when the wearable was worn for at least 10 hours of
the waking window (``worn_min``; a version 1 summary's ``known_min``, which
counts the same minutes), or, when the window itself was shorter than that,
for 80 % of it. This is the wear-time rule of accelerometer research (10 worn
hours make a valid day, as in NHANES, Troiano et al. 2008) and the engine's
default valid day, but fixed here rather than read from the person's
``day.min_known_hours``: every patient is counted alike, and a config change
cannot rewrite a billing record. Not-worn minutes never count (the summary
keeps them apart), and a day whose summary is missing has no data. A day not
final yet counts once its figures reach the rule (they do not go back down
but for lying minutes found to be the night, so the day is counted as it
stands).

Two kinds of 30-day count:

- **rolling**: the 30 days ending on a given day (that day included): what
  the report shows per day and the clinic's patient list shows for today, so
  the physiotherapist sees at any time whether the wearable is being worn;
- **billing periods**: consecutive 30-day periods from the episode's start
  (the first day with enough data), as remote monitoring is billed per
  30-day period from the start of the episode; the review minutes the
  clinic logs are totalled per such period.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

PERIOD_DAYS = 30
ENOUGH_WORN_MIN = 600  # 10 hours worn in the waking window
SHORT_WINDOW_SHARE = 0.8  # of a window shorter than 10 hours
HIGH_DAYS = 16  # 16 or more days with data in a period
LOW_DAYS = 2  # 2 to 15 days: the lower code (from 2026)

Band = Literal["16+", "2-15", "under 2"]


def _whole(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def worn_minutes(body: Mapping[str, Any]) -> int | None:
    """Minutes worn in the waking window: version 2's ``worn_min``, else
    version 1's ``known_min`` (the same minutes: known ones are worn ones)."""
    worn = _whole(body.get("worn_min"))
    return worn if worn is not None else _whole(body.get("known_min"))


def window_minutes(body: Mapping[str, Any]) -> int | None:
    """Minutes from the window's opening to its closing (version 2), or None
    when either is unknown (a version 1 day, a window still open)."""
    window = body.get("window")
    if not isinstance(window, Mapping):
        return None
    ends = [window.get("opened"), window.get("closed")]
    if not all(isinstance(e, str) for e in ends):
        return None
    try:
        opened, closed = (datetime.fromisoformat(str(e)) for e in ends)
        minutes = (closed - opened).total_seconds() / 60
    except (ValueError, TypeError):  # not a time, or naive against aware
        return None
    return round(minutes) if minutes > 0 else None


def enough_data(body: Mapping[str, Any] | None) -> bool:
    """Whether a daily summary shows a day with enough data (module docstring)."""
    if body is None:
        return False
    worn = worn_minutes(body)
    if worn is None or worn <= 0:
        return False
    if worn >= ENOUGH_WORN_MIN:
        return True
    window = window_minutes(body)
    return window is not None and window < ENOUGH_WORN_MIN \
        and worn >= round(window * SHORT_WINDOW_SHARE)


def days_with_data(bodies: Iterable[Mapping[str, Any]]) -> frozenset[date]:
    """The dates of the daily summaries that show enough data; a body
    without a readable ``date`` is left out."""
    out = set()
    for body in bodies:
        text = body.get("date")
        if not isinstance(text, str) or not enough_data(body):
            continue
        try:
            out.add(date.fromisoformat(text))
        except ValueError:
            continue
    return frozenset(out)


def band(count: int) -> Band:
    """Which remote-monitoring count a period's days reach."""
    if count >= HIGH_DAYS:
        return "16+"
    if count >= LOW_DAYS:
        return "2-15"
    return "under 2"


def rolling(days: frozenset[date], end: date) -> int:
    """Days with enough data in the 30 days ending on ``end`` (included)."""
    start = end - timedelta(days=PERIOD_DAYS - 1)
    return sum(1 for d in days if start <= d <= end)


@dataclass(frozen=True, slots=True)
class Period:
    """One 30-day billing period, ``start`` to ``end`` inclusive, and its days
    with enough data up to ``until`` (the period may still be running)."""

    number: int  # 1 for the episode's first period
    start: date
    end: date
    days: int
    until: date  # counted up to here: ``end``, or the last day known

    @property
    def band(self) -> Band:
        return band(self.days)

    @property
    def complete(self) -> bool:
        return self.until >= self.end

    @property
    def days_left(self) -> int:
        return max(0, (self.end - self.until).days)

    def holds(self, day: date) -> bool:
        return self.start <= day <= self.end


def period_of(episode_start: date, day: date) -> tuple[int, date, date]:
    """(number, start, end) of the billing period that holds ``day``;
    ``day`` before the episode is in no period: ValueError."""
    offset = (day - episode_start).days
    if offset < 0:
        raise ValueError(f"{day} is before the episode's start {episode_start}")
    number = offset // PERIOD_DAYS
    start = episode_start + timedelta(days=number * PERIOD_DAYS)
    return number + 1, start, start + timedelta(days=PERIOD_DAYS - 1)


def periods(days: frozenset[date], until: date, *,
            first: date | None = None) -> tuple[Period, ...]:
    """The billing periods from the episode's start (the first day with enough
    data) to the one holding ``until``, counted up to ``until``; with
    ``first``, only those ending on or after it. Empty before any data."""
    if not days or min(days) > until:
        return ()
    start = min(days)
    out = []
    number, _start, _end = period_of(start, until)
    for i in range(number):
        s = start + timedelta(days=i * PERIOD_DAYS)
        e = s + timedelta(days=PERIOD_DAYS - 1)
        if first is not None and e < first:
            continue
        upto = min(e, until)
        out.append(Period(i + 1, s, e, sum(1 for d in days if s <= d <= upto), upto))
    return tuple(out)


def current_period(days: frozenset[date], today: date) -> Period | None:
    """The billing period holding ``today``, counted so far; None before any data."""
    found = periods(days, today, first=today)
    return found[-1] if found else None
