"""Time as the engine sees it.

The engine counts whole minutes since the Unix epoch (UTC) as plain ints: cheap
to compare and add, and free of wall-clock arithmetic traps (adding 60 minutes to
an aware datetime in Python is wall-clock arithmetic, wrong across DST). Local
time is derived only where a rule speaks of it: the day, the waking window,
clock times such as walk reminders, and everything printed or published.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Minute = int
"""Minutes since 1970-01-01T00:00Z; an epoch is named by its start minute."""


_FIXED = re.compile(r"^UTC([+-])(\d\d):(\d\d)$")


def zone(name: str) -> tzinfo:
    """An IANA zone ('Europe/London'), or a fixed offset written 'UTC+11:00'
    (what a replay uses when its input's offsets are all it knows)."""
    m = _FIXED.match(name)
    if m:
        sign = -1 if m.group(1) == "-" else 1
        offset = timedelta(hours=int(m.group(2)), minutes=int(m.group(3)))
        if offset >= timedelta(hours=24):
            raise ValueError(f"{name!r}: an offset must be less than 24 hours")
        return timezone(sign * offset)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{name!r} is not an IANA time zone name; use one like 'Europe/London' "
            "or 'Australia/Sydney'"
        ) from None


def fixed_zone_name(offset: timedelta) -> str:
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def system_zone_name() -> str:
    """This machine's IANA zone: $TZ, else /etc/localtime's target, else UTC."""
    env = os.environ.get("TZ", "").lstrip(":")
    if env:
        return env
    try:
        target = Path("/etc/localtime").resolve(strict=True).as_posix()
    except OSError:
        return "UTC"
    _, sep, name = target.partition("/zoneinfo/")
    return name if sep and name else "UTC"


def minute_of(moment: datetime) -> Minute:
    """The minute containing an aware datetime."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(
            f"naive datetime {moment.isoformat()}: a UTC offset or time zone is required"
        )
    return int(moment.timestamp() // 60)


def to_datetime(minute: Minute, tz: tzinfo) -> datetime:
    return datetime.fromtimestamp(minute * 60, tz)


def iso(minute: Minute, tz: tzinfo) -> str:
    """ISO 8601 in local time with its UTC offset: 2026-03-30T09:40:00+01:00."""
    return to_datetime(minute, tz).isoformat()


def iso_seconds(seconds: float, tz: tzinfo) -> str:
    return datetime.fromtimestamp(seconds, tz).isoformat(timespec="seconds")


def parse_clock(text: str) -> time:
    """'07:30' -> time(7, 30); raises ValueError with the accepted form."""
    parts = text.split(":")
    if len(parts) == 2 and all(len(p) == 2 and p.isdigit() for p in parts):
        hh, mm = int(parts[0]), int(parts[1])
        if hh < 24 and mm < 60:
            return time(hh, mm)
    raise ValueError(f"{text!r} is not a clock time; use HH:MM, for example 07:30")


@dataclass(frozen=True, slots=True)
class DayBounds:
    """One local pacing day, as minutes: [start, end) is the whole day,
    [wake, sleep) the waking window."""

    day: date
    start: Minute
    wake: Minute
    sleep: Minute
    end: Minute

    @property
    def length_min(self) -> int:
        return self.end - self.start

    def at(self, clock: time, tz: tzinfo) -> Minute:
        """The minute of a clock time on this day (times before the day start
        belong to the next calendar date, as the day runs past midnight)."""
        return local_minute(self.day, clock, tz, after=self.start)


def local_minute(day: date, clock: time, tz: tzinfo, *, after: Minute | None = None) -> Minute:
    """The minute at ``clock`` on ``day`` (or the next calendar date if that is
    before ``after``). A clock time inside a DST gap maps to the instant the
    offset before the gap gives, i.e. just after the gap."""
    m = int(datetime.combine(day, clock, tzinfo=tz).timestamp() // 60)
    if after is not None and m < after:
        m = int(datetime.combine(day + timedelta(days=1), clock, tzinfo=tz).timestamp() // 60)
    return m


class DayCalendar:
    """Maps minutes to pacing days for one time zone and day/wake/sleep times."""

    def __init__(self, tz: tzinfo, start: time, wake: time, sleep: time,
                 weekdays: Mapping[int, tuple[time, time]] | None = None) -> None:
        """``weekdays``: (wake, sleep) of the weekdays (0 is Monday) that have
        their own times."""
        self.tz = tz
        self.start = start
        self.wake = wake
        self.sleep = sleep
        self.weekdays = dict(weekdays or {})
        self.bounds = functools.lru_cache(maxsize=64)(self._bounds)

    def day_of(self, minute: Minute) -> date:
        # Compare instants, not wall-clock times: a day.start inside a DST gap
        # or a repeated hour is still one well-defined minute.
        d = to_datetime(minute, self.tz).date()
        if minute < self.bounds(d).start:
            d -= timedelta(days=1)
        return d

    def bounds_of(self, minute: Minute) -> DayBounds:
        return self.bounds(self.day_of(minute))

    def _bounds(self, day: date) -> DayBounds:
        start = local_minute(day, self.start, self.tz)
        end = local_minute(day + timedelta(days=1), self.start, self.tz)
        wake_at, sleep_at = self.weekdays.get(day.weekday(), (self.wake, self.sleep))
        wake = local_minute(day, wake_at, self.tz, after=start)
        sleep = local_minute(day, sleep_at, self.tz, after=start)
        return DayBounds(day=day, start=start, wake=wake, sleep=sleep, end=end)
