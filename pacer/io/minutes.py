"""The replay input: one minute of activity per CSV row (interfaces.md section 3).

::

    time,steps,posture
    2026-11-23T09:00:00+11:00,0,sitting
    2026-11-23T09:01:00+11:00,34,

- The header is ``time,steps,posture``, in that order. A UTF-8 byte-order mark
  is ignored, and so are spaces around any header name or value (spreadsheets
  write ``time, steps, posture``); nothing else is tolerated.
- ``time`` is ISO 8601 with a UTC offset (``+11:00`` or ``Z``), on a whole
  minute, in the years 1970 to 2999. The offset fixes the instant; no time
  zone is needed.
- ``steps`` is a whole number from 0 to 100,000, written in ASCII digits.
- ``posture`` is one of ``sitting lying standing walking running sedentary
  upright stepping unknown``, or empty: then it is derived from the steps as for
  a step-only device (``Epoch.from_steps``: 0 steps is sedentary, inferred). An
  explicit ``unknown`` keeps the row's steps.
- Rows are in strictly increasing time order, at most one per minute. Empty
  lines are skipped; a minute with no row is unknown (``fill_gaps``).

Every bad row raises ``InputFileError`` with its line number and what would be
valid; so does a line longer than 4,096 bytes (``/dev/zero`` has no end of
line). Reading is streaming: a year of minutes (525,600 rows) never sits in
memory.
"""

from __future__ import annotations

import csv
import functools
import re
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from pacer.engine.model import Epoch, Posture
from pacer.errors import InputFileError
from pacer.io import limits
from pacer.timebase import Minute

HEADER = ("time", "steps", "posture")

MAX_LINE_BYTES = 4096
"""The longest line read, end of line included (a row is about 40 bytes)."""
MAX_STEPS = 100_000
"""The most steps one minute can hold: far above any cadence (about 300 a
minute at a sprint), but a step counter catching up after a gap can put a
day's steps in one minute. A year of such minutes still fits SQLite's integers."""
FIRST_YEAR = 1970
LAST_YEAR = 2999
"""The years of the times pacer takes (the engine counts minutes from 1970;
a day, a week or a plan's weeks reach past any time it is given)."""

POSTURES: dict[str, Posture] = {
    # what posture-reporting devices say (pacing-rules.md section 1) ...
    "sitting": Posture.SEDENTARY,
    "lying": Posture.LYING,
    "standing": Posture.UPRIGHT,
    "walking": Posture.STEPPING,
    "running": Posture.STEPPING,
    # ... and the engine's own names
    "sedentary": Posture.SEDENTARY,
    "upright": Posture.UPRIGHT,
    "stepping": Posture.STEPPING,
    "unknown": Posture.UNKNOWN,
    "not_worn": Posture.NOT_WORN,
}
_POSTURE_NAMES = " ".join(POSTURES)
_EXAMPLE_TIME = "2026-11-23T09:00:00+11:00"
_BOM = "\ufeff"

if TYPE_CHECKING:
    from _csv import Reader as _CsvReader


def _shown(text: str) -> str:
    """A value for a message, cut short (a line can be 4 KB of it)."""
    return repr(text if len(text) <= 40 else f"{text[:40]}...")


def _text_lines(f: BinaryIO, path: str) -> Iterator[str]:
    """Lines decoded one by one, so a bad byte is reported on its own line."""
    rows = limits.lines(f, MAX_LINE_BYTES)
    number = 0
    while True:
        try:
            raw = next(rows, None)
        except limits.TooLarge as exc:
            raise InputFileError(
                path, exc.line, f"the line is longer than {MAX_LINE_BYTES:,} bytes; a minutes "
                f"CSV has short rows like {_EXAMPLE_TIME},0,sitting") from None
        if raw is None:
            return
        number += 1
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InputFileError(path, number, "not UTF-8 text") from None
        yield line.removeprefix(_BOM) if number == 1 else line


def parse_time(text: str) -> datetime:
    """An aware datetime from ISO 8601 text with a UTC offset, in the years
    ``FIRST_YEAR`` to ``LAST_YEAR``; ``ValueError`` (with a message naming the
    accepted form) otherwise."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"time {_shown(text)} is not an ISO 8601 date and time; write it like "
            f"{_EXAMPLE_TIME}"
        ) from None
    if moment.utcoffset() is None:
        raise ValueError(
            f"time {_shown(text)} has no UTC offset; add one, like {_EXAMPLE_TIME} "
            "or 2026-11-23T09:00:00Z"
        )
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise ValueError(
            f"time {_shown(text)} is outside the years pacer takes, {FIRST_YEAR} to {LAST_YEAR}"
        )
    return moment


# The common shape, 2026-11-23T09:00:00+11:00 (or ...:00Z): parsed without
# datetime, from the minute of its date's midnight at its offset (cached).
_COMMON = re.compile(r"(\d{4}-\d\d-\d\d)T([01]\d|2[0-3]):([0-5]\d)(?::00)?([+-]\d\d:\d\d|Z)")


@functools.lru_cache(maxsize=4096)
def _midnight(day: str, offset: str) -> Minute:
    return int(datetime.fromisoformat(f"{day}T00:00:00{offset}").timestamp()) // 60


def _minute(text: str) -> Minute:
    m = _COMMON.fullmatch(text)
    if m is not None and FIRST_YEAR <= int(m.group(1)[:4]) <= LAST_YEAR:
        try:
            return _midnight(m.group(1), m.group(4)) + int(m.group(2)) * 60 + int(m.group(3))
        except ValueError:
            pass  # e.g. 2026-02-30: let the full parser say what is wrong
    moment = parse_time(text)
    seconds = moment.timestamp()
    if seconds % 60:
        raise ValueError(f"time {_shown(text)} is not on a whole minute; the seconds must be 00")
    return int(seconds) // 60


def _steps(text: str) -> int:
    if not (text.isascii() and text.isdigit()):
        raise ValueError(f"steps {_shown(text)} is not a whole number of 0 or more, like 0 or 42")
    digits = text.lstrip("0") or "0"  # checked before int(): 5,000 digits is a ValueError
    if len(digits) > len(str(MAX_STEPS)) or int(digits) > MAX_STEPS:
        raise ValueError(f"steps {_shown(text)} is more than {MAX_STEPS:,}, the most a minute "
                         "can hold")
    return int(digits)


def _next_row(rows: _CsvReader, where: str) -> list[str] | None:
    try:
        return next(rows, None)
    except csv.Error as exc:
        raise InputFileError(where, rows.line_num, f"not a CSV row ({exc})") from None


def read_minutes(path: Path) -> Iterator[Epoch]:
    """The epochs of a minutes CSV, in time order, one per row (not gap-filled).

    Lazy: the file is opened when the first epoch is taken, and each problem is
    raised as ``InputFileError`` when its row is reached."""
    where = str(path)
    try:
        f = path.open("rb")
    except OSError as exc:
        raise InputFileError(
            where, None, f"cannot read the minutes file ({exc.strerror})"
        ) from None
    with f:
        rows = csv.reader(_text_lines(f, where))
        header = _next_row(rows, where)
        if header is None:
            raise InputFileError(
                where, 1, "the file is empty; it needs the header time,steps,posture"
            )
        if tuple(h.strip() for h in header) != HEADER:
            raise InputFileError(
                where, 1, f"the header must be time,steps,posture, got {','.join(header)!r}"
            )
        previous: Minute | None = None
        previous_t, previous_line = "", 0
        postures = POSTURES
        while (row := _next_row(rows, where)) is not None:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # an empty line
            line = rows.line_num
            if len(row) != 3:
                raise InputFileError(
                    where, line, f"expected 3 values (time,steps,posture), got {len(row)}"
                )
            t, s, p = row[0].strip(), row[1].strip(), row[2].strip()
            try:
                start = _minute(t)
                steps = _steps(s)
            except ValueError as exc:
                raise InputFileError(where, line, str(exc)) from None
            if previous is not None and start <= previous:
                raise InputFileError(
                    where,
                    line,
                    f"time {_shown(t)} is not after the previous row's ({previous_t}, line "
                    f"{previous_line}); rows must "
                    "be in increasing time order, one per minute",
                )
            if p:
                posture = postures.get(p)
                if posture is None:
                    raise InputFileError(
                        where,
                        line,
                        f"posture {_shown(p)} is not one of {_POSTURE_NAMES}, or empty (derived "
                        "from the steps)",
                    )
                yield Epoch(start, steps, posture)
            else:
                yield Epoch.from_steps(start, steps)
            previous, previous_t, previous_line = start, t, line


def first_row_offset(path: Path) -> timedelta | None:
    """The UTC offset of the first row's time (a replay without a configured
    zone keeps the input's local time), or None when there is none to take:
    the file cannot be read, its first two lines are not short lines, or the
    time is not one ``read_minutes`` takes (which then says why). Reads at
    most two lines of ``MAX_LINE_BYTES``."""
    try:
        with path.open("rb") as f:
            rows = limits.lines(f, MAX_LINE_BYTES)
            next(rows, None)  # the header
            row = next(rows, b"")
    except (OSError, limits.TooLarge):
        return None
    first = row.decode("utf-8", errors="replace").split(",", 1)[0].strip()
    try:
        return parse_time(first).utcoffset()
    except ValueError:
        return None


def fill_gaps(epochs: Iterable[Epoch]) -> Iterator[Epoch]:
    """The epochs with an unknown epoch for every minute between two that has
    none. Nothing is added before the first or after the last.

    The epochs must be in strictly increasing time order (``ValueError``)."""
    previous: Minute | None = None
    for epoch in epochs:
        if previous is not None:
            if epoch.start <= previous:
                raise ValueError(
                    f"epochs out of order: minute {epoch.start} after minute {previous}"
                )
            for minute in range(previous + 1, epoch.start):
                yield Epoch.unknown(minute)
        yield epoch
        previous = epoch.start
