"""The replay input: one minute of activity per CSV row (interfaces.md sections
3 and 8.1).

::

    time,steps,posture,worn
    2026-11-23T09:00:00+11:00,0,sitting,1
    2026-11-23T09:01:00+11:00,34,,
    2026-11-23T09:02:00+11:00,0,,0

- The header is ``time,steps,posture`` or ``time,steps,posture,worn``, in that
  order. A UTF-8 byte-order mark is ignored, and so are spaces around any header
  name or value (spreadsheets write ``time, steps, posture``); nothing else is
  tolerated.
- ``time`` is ISO 8601 with a UTC offset (``+11:00`` or ``Z``), on a whole
  minute, in the years 1970 to 2999. The offset fixes the instant; no time
  zone is needed.
- ``steps`` is a whole number from 0 to 300, written in ASCII digits: the most
  a person steps in a minute (``MAX_STEPS``). Walking stays under about 140 a
  minute and everyday running under 200; the highest cadence measured, an
  elite sprinter's 4.5 to 5 steps a second, is 270 to 300, kept up for
  seconds (``devices.plausible`` gives the sources). The limit is the sprint,
  not the ~250 where walking and running end, so that a real minute is never
  refused; a row above it is a fault in whatever wrote the file, and is
  refused with its line number, not stored. (A step counter that catches up
  after a gap puts many steps in one minute: the daemon caps such a minute at
  the same 300, ``pacer.daemon.ble``; a file holding such a minute must be
  capped or spread by whoever wrote it.)
- ``posture`` is one of ``sitting lying standing walking running sedentary
  upright stepping unknown not_worn``, or empty: then it is derived from the
  steps as for a step-only device (``Epoch.from_steps``: 0 steps is sedentary,
  inferred). ``sitting`` is sedentary and ``lying`` is lying (since version 2:
  never a sitting bout). An explicit ``unknown`` keeps the row's steps;
  ``not_worn`` is ``Epoch.not_worn``, an unknown minute whatever its steps.
- ``worn`` (optional) is ``1``, ``0`` or empty: ``0`` says the wearable was not
  worn, and the minute is ``Epoch.not_worn`` whatever its steps and posture
  (which are still checked); ``1`` or empty: as the other columns say.
- Rows are in strictly increasing time order, at most one per minute. Empty
  lines are skipped; a minute with no row is unknown (``fill_gaps``, or
  ``read_minutes(path, filled=True)``).

Every bad row raises ``InputFileError`` with its line number and what would be
valid; so does a line longer than 4,096 bytes (``/dev/zero`` has no end of
line). Reading is streaming: a year of minutes (525,600 rows) never sits in
memory.

A year of minutes is read in well under a second: the usual row (the date,
seconds and offset written as in the row before, plain values, later than it)
is taken by a fast path that checks it with table look-ups; any other row is
parsed as ``csv`` would and checked value by value, which gives the errors.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import io
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from itertools import chain
from pathlib import Path

from devices.plausible import MAX_STEPS_PER_MINUTE
from pacer.engine.model import Epoch, Posture
from pacer.errors import InputFileError
from pacer.io import limits
from pacer.timebase import Minute

HEADER = ("time", "steps", "posture")
HEADER_WORN = (*HEADER, "worn")
"""The header with the optional fourth column (interfaces.md section 8.1)."""

MAX_LINE_BYTES = 4096
"""The longest line read, end of line included (a row is about 40 bytes)."""
MAX_STEPS = MAX_STEPS_PER_MINUTE
"""The most steps one minute can hold: 300, an elite sprinter's cadence (the
module docstring says why; ``devices.plausible`` gives the sources)."""
FIRST_YEAR = 1970
LAST_YEAR = 2999
"""The years of the times pacer takes (the engine counts minutes from 1970;
a day, a week or a plan's weeks reach past any time it is given)."""

POSTURES: dict[str, Posture] = {
    # what posture-reporting devices say (docs/pacing-rules.md section 1) ...
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
WORN = {"1": True, "": True, "0": False}
"""The values of the ``worn`` column: ``0`` is a minute the wearable was not worn."""
_POSTURE_NAMES = " ".join(POSTURES)
_EXAMPLE_TIME = "2026-11-23T09:00:00+11:00"
_BOM = "\ufeff"
_BLOCK = 1 << 16
"""Bytes read at a time: lines are split and decoded a block at a time."""


def _shown(text: str) -> str:
    """A value for a message, cut short (a line can be 4 KB of it)."""
    return repr(text if len(text) <= 40 else f"{text[:40]}...")


def _too_long(where: str, line: int) -> InputFileError:
    return InputFileError(
        where, line, f"the line is longer than {MAX_LINE_BYTES:,} bytes; a minutes "
        f"CSV has short rows like {_EXAMPLE_TIME},0,sitting")


def _blocks(f: io.BufferedReader, where: str, unterminated: list[int]) -> Iterator[list[str]]:
    """The file's lines, decoded, without their ends of line, many at a time.

    The same lines and errors as decoding ``limits.lines(f, MAX_LINE_BYTES)``
    line by line (a byte 0x0A is never part of a UTF-8 sequence), and as lazy:
    every line before a bad one is yielded before the bad one raises. The
    number of a last line with no end of line is put in ``unterminated[0]``."""
    done = 0  # lines yielded so far
    carry = b""  # the start of a line whose end is not read yet
    while True:
        chunk = f.read1(_BLOCK)  # what a pipe has now: no wait for a whole block
        data = carry + chunk if carry else chunk
        if not chunk:
            if data:  # a last line with no end of line
                if len(data) > MAX_LINE_BYTES:
                    raise _too_long(where, done + 1)
                unterminated[0] = done + 1
                try:
                    text = data.decode("utf-8")
                except UnicodeDecodeError:
                    raise InputFileError(where, done + 1, "not UTF-8 text") from None
                yield [text.removeprefix(_BOM) if done == 0 else text]
            return
        cut = data.rfind(b"\n") + 1
        body, carry = data[:cut], data[cut:]
        if body:
            lines, error = _decoded(body, where, done)
            if lines:
                yield lines
            if error is not None:
                raise error
            done += len(lines)
        if len(carry) > MAX_LINE_BYTES:  # too long, whether an end of line follows or not
            raise _too_long(where, done + 1)


def _decoded(body: bytes, where: str, done: int) -> tuple[list[str], InputFileError | None]:
    """The lines of ``body`` (whole lines, each ending in a newline) before its
    first bad one, and the error for that one (too long, or not UTF-8)."""
    bad, error = body.count(b"\n"), None  # the index of the first bad line
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = body.count(b"\n", 0, exc.start)
        error = InputFileError(where, done + bad + 1, "not UTF-8 text")
        text = body[: body.rfind(b"\n", 0, exc.start) + 1].decode("utf-8")
    lines = text.split("\n")
    lines.pop()  # what follows the last newline: nothing
    # A line's bytes with its newline must be at most MAX_LINE_BYTES. ASCII
    # text (the usual) has as many characters as bytes: no split of the bytes.
    sizes: list[str] | list[bytes] = (
        lines if error is None and len(text) == len(body) else body.split(b"\n"))
    if max(map(len, sizes)) >= MAX_LINE_BYTES:
        long = next(i for i, x in enumerate(sizes) if len(x) >= MAX_LINE_BYTES)
        if long <= bad:  # a line is found too long before it is decoded
            error = _too_long(where, done + long + 1)
            del lines[long:]
    if done == 0 and lines:
        lines[0] = lines[0].removeprefix(_BOM)
    return lines, error


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
        raise ValueError(f"steps {_shown(text)} is more than {MAX_STEPS:,}, the most a person "
                         "steps in a minute (an elite sprinter's cadence)")
    return int(digits)


def _csv_record(
    first: str, lines: Iterator[str], number: int, where: str, unterminated: list[int]
) -> tuple[list[str], int]:
    """The CSV record that starts on line ``number`` (``first``), parsed by
    ``csv`` from the lines as they were in the file (a quoted value can take in
    the lines after it), and the number of its last line."""
    if '"' not in first and "\0" not in first and "\r" not in first[:-1]:
        # No quote, NUL or CR before the last character: csv would split at the
        # commas and drop a last CR, nothing else (and take no next line).
        return first.removesuffix("\r").split(","), number
    last = number

    def ended() -> Iterator[str]:
        nonlocal last
        yield first if last == unterminated[0] else first + "\n"
        for line in lines:
            last += 1
            yield line if last == unterminated[0] else line + "\n"

    try:
        row = next(csv.reader(ended()))
    except csv.Error as exc:
        raise InputFileError(where, last, f"not a CSV row ({exc})") from None
    return row, last


def _fast_values(worn: bool) -> tuple[dict[str, Posture], frozenset[str]]:
    """What the fast path takes after ``time,steps,``: the texts of an explicit
    posture (``NOT_WORN`` for any not-worn minute) and those of a posture
    derived from the steps. The row's last value may end in the ``\\r`` of a
    CRLF end of line, which ``csv`` drops too."""
    explicit: dict[str, Posture] = {}
    derived: set[str] = set()
    for end in ("", "\r"):
        if not worn:
            explicit.update({f"{name}{end}": posture for name, posture in POSTURES.items()})
            derived.add(end)
            continue
        for flag in ("1", ""):
            explicit.update({f"{name},{flag}{end}": p for name, p in POSTURES.items()})
            derived.add(f",{flag}{end}")
        explicit.update({f"{name},0{end}": Posture.NOT_WORN for name in (*POSTURES, "")})
    return explicit, frozenset(derived)


_FAST_VALUES = {len(HEADER): _fast_values(worn=False), len(HEADER_WORN): _fast_values(worn=True)}
_CLOCK = {f"{h:02d}:{m:02d}": h * 60 + m for h in range(24) for m in range(60)}
_STEPS = {str(n): n for n in range(MAX_STEPS + 1)}  # every valid steps, in the usual digits


def _slot_maker() -> Callable[[Minute, int, Posture], Epoch]:
    """``Epoch(start, steps, posture)`` at about half the cost: a frozen
    dataclass's ``__init__`` sets each field through ``object.__setattr__``,
    and a year of rows makes half a million epochs. This sets the slots of a
    new object directly, the same value; only while ``Epoch`` is the class it
    was written for (these four fields, nothing run after ``__init__``),
    otherwise it is ``Epoch`` itself."""
    fields = [(f.name, f.default) for f in dataclasses.fields(Epoch)]
    if (fields != [("start", dataclasses.MISSING), ("steps", dataclasses.MISSING),
                   ("posture", dataclasses.MISSING), ("inferred", False)]
            or getattr(Epoch, "__slots__", None) != tuple(name for name, _ in fields)
            or hasattr(Epoch, "__post_init__")):
        return Epoch
    new = object.__new__
    slots = vars(Epoch)  # the slots' member descriptors
    set_start, set_steps = slots["start"].__set__, slots["steps"].__set__
    set_posture, set_inferred = slots["posture"].__set__, slots["inferred"].__set__

    def made(start: Minute, steps: int, posture: Posture) -> Epoch:
        epoch = new(Epoch)
        set_start(epoch, start)
        set_steps(epoch, steps)
        set_posture(epoch, posture)
        set_inferred(epoch, False)
        return epoch

    return made


_epoch = _slot_maker()


def _checked_row(
    row: list[str], line: int, where: str, *, previous: Minute | None, previous_t: str,
    previous_line: int,
) -> tuple[str, Minute, Epoch]:
    """A row's time text, minute and epoch; the first bad value (time, steps,
    order, posture, worn) raises ``InputFileError``."""
    t, s, p = row[0].strip(), row[1].strip(), row[2].strip()
    try:
        start = _minute(t)
        steps = _steps(s)
    except ValueError as exc:
        raise InputFileError(where, line, str(exc)) from None
    if previous is not None and start <= previous:
        raise InputFileError(
            where, line,
            f"time {_shown(t)} is not after the previous row's ({previous_t}, line "
            f"{previous_line}); rows must be in increasing time order, one per minute",
        )
    posture = POSTURES.get(p) if p else None
    if p and posture is None:
        raise InputFileError(
            where, line,
            f"posture {_shown(p)} is not one of {_POSTURE_NAMES}, or empty (derived from the "
            "steps)",
        )
    worn = WORN.get(row[3].strip()) if len(row) > len(HEADER) else True
    if worn is None:
        raise InputFileError(
            where, line,
            f"worn {_shown(row[3].strip())} is not 1 (worn), 0 (not worn) or empty (worn)",
        )
    if not worn or posture is Posture.NOT_WORN:
        return t, start, Epoch.not_worn(start)
    if posture is None:
        return t, start, Epoch.from_steps(start, steps)
    return t, start, Epoch(start, steps, posture)


def _fast_day(t: str, start: Minute) -> tuple[str, str, Minute] | None:
    """For a time read as minute ``start``, written ``<date>THH:MM<tail>``: its
    ``<date>T`` (``2026-11-23T``), its tail (``:00+11:00``) and the minute of
    the date's midnight at that offset. Any ``HH:MM`` between the same date and
    tail is then a valid time, ``HH * 60 + MM`` minutes after that midnight:
    the fast path's rows."""
    clk = _CLOCK.get(t[11:16]) if t[10:11] == "T" else None
    return None if clk is None else (t[:11], t[16:], start - clk)


def read_minutes(path: Path, *, filled: bool = False) -> Iterator[Epoch]:
    """The epochs of a minutes CSV, in time order, one per row; with ``filled``
    also an unknown epoch for each minute between two rows (as ``fill_gaps``).

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
        unterminated = [0]
        lines = chain.from_iterable(_blocks(f, where, unterminated))
        first = next(lines, None)
        if first is None:
            raise InputFileError(
                where, 1, "the file is empty; it needs the header time,steps,posture"
            )
        header, number = _csv_record(first, lines, 1, where, unterminated)
        names = tuple(h.strip() for h in header)
        if names not in (HEADER, HEADER_WORN):
            raise InputFileError(
                where, 1, "the header must be time,steps,posture or time,steps,posture,worn, "
                f"got {','.join(header)!r}"
            )
        columns = len(names)
        explicit, derived = _FAST_VALUES[columns]
        clock, steps_of, not_worn = _CLOCK, _STEPS, Posture.NOT_WORN
        make, from_steps, unknown, not_worn_epoch = (
            _epoch, Epoch.from_steps, Epoch.unknown, Epoch.not_worn)
        # The fast path's date, tail and midnight: none until a row sets them.
        day, tail, midnight = "\0", "", 0
        previous: Minute | None = None
        nxt = 0  # previous + 1, once there is a previous row
        previous_t, previous_line = "", 0
        for line in lines:
            number += 1
            # The fast path: a row of plain values, its time written as the
            # row before's but for HH:MM, and later. Each table holds valid
            # texts only, so a row taken here is one the checks below take,
            # with the same epoch (tests/pacer/io/test_replay_minutes.py compares them).
            parts = line.split(",", 2)
            if (
                len(parts) == 3
                and (t := parts[0])[:11] == day
                and t[16:] == tail
                and (clk := clock.get(t[11:16])) is not None
                and (steps := steps_of.get(parts[1])) is not None
                and (start := midnight + clk) >= nxt
            ):
                posture = explicit.get(parts[2])
                if posture is not None:
                    epoch = (make(start, steps, posture) if posture is not not_worn
                             else not_worn_epoch(start))
                elif parts[2] in derived:
                    epoch = from_steps(start, steps)
                else:
                    epoch = None
            else:
                epoch = None
            if epoch is None:
                row, number = _csv_record(line, lines, number, where, unterminated)
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # an empty line
                if len(row) != columns:
                    raise InputFileError(
                        where, number, f"expected {columns} values ({','.join(names)}), "
                        f"got {len(row)}"
                    )
                t, start, epoch = _checked_row(
                    row, number, where, previous=previous, previous_t=previous_t,
                    previous_line=previous_line)
                fast = _fast_day(t, start)
                if fast is not None:
                    day, tail, midnight = fast
            if start != nxt and filled and previous is not None:
                for minute in range(nxt, start):
                    yield unknown(minute)
            yield epoch
            previous = start
            nxt = start + 1
            previous_t = t
            previous_line = number


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
