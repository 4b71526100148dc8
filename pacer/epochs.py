"""``pacer epochs``: raw acceleration to the replay's minutes (interfaces.md §1, §3).

Input: a CSV with the header ``t,x,y,z``; ``t`` in seconds from ``--start``
(default: midnight today, local time), ``x y z`` in g in the sensor's own
axes, sampled evenly at ``--rate`` Hz (a row more than one second off that
timeline is an error: split the file at a gap). Output on stdout: the replay
input ``time,steps,posture``, one row per minute with data (its posture by
``pacer.minutes``, the daemon's rule: the majority of at least 30 known
seconds, else empty so the replay derives it from the steps; steps summed),
or with ``--resolution second`` one row per second (not a replay input: its
times are not on whole minutes).

A wrist cannot tell sitting from standing: its minutes say ``walking`` or
``running`` when they were, else nothing (the replay then derives the posture
from the steps and marks sedentary time as inferred); its seconds say
``sedentary`` (still), ``walking``, ``running`` or ``unknown``.

The mount orientation is learnt from walking, as a live stream would, and
the seconds before it are then labelled with it (``Pipeline.revisions``,
``devices.imu.revise``): the rows are what a live stream's seconds are revised
to once it learnt the mount, as the daemon's stored minutes are revised then
(its prompts stay as decided live). Until the mount is learnt the rows are held
back (a few bytes a second); a file without a minute of walking keeps them
``unknown``.
``--learn-first`` reads the file twice, first to learn the mount from all its
walking, then to label it from the first second with that (offline only: the
mount of the whole file, not of its first minute of walking). ``--reference FILE``
starts from a mount saved by ``--save-reference FILE`` (JSON,
``devices.imu.Pipeline.reference_state``).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple, TextIO

import numpy as np

from devices.imu import (
    LABELS,
    BadReference,
    Pipeline,
    Placement,
    Revision,
    Seconds,
    learn_reference,
)
from devices.imu.reference import MIN_WALK_S
from pacer.errors import BadInput, InputFileError
from pacer.io.limits import TooLarge, lines
from pacer.minutes import minute_posture

HEADER = ("t", "x", "y", "z")
LINE_LIMIT = 4096
"""Bytes a raw CSV line may have (a row is four numbers)."""
CHUNK_ROWS = 65_536
GAP_TOLERANCE_S = 1.0


def parse_start(text: str | None) -> datetime:
    """``--start`` as an aware datetime; naive times are local; default midnight today."""
    if text is None:
        now = datetime.now().astimezone()
        return now.replace(hour=0, minute=0, second=0, microsecond=0)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadInput(
            f"--start {text!r} is not an ISO 8601 date and time; write it like "
            "2026-11-23T09:00:00+11:00 (or without the offset for local time)") from None
    return moment if moment.tzinfo is not None else moment.astimezone()


def _text_lines(f: BinaryIO, where: str) -> Iterator[str]:
    """The file's lines as text, each at most ``LINE_LIMIT`` bytes, so a file
    without line ends (``/dev/zero``) is an error, not a process that grows."""
    try:
        for raw in lines(f, LINE_LIMIT):
            yield raw.decode("utf-8")
    except TooLarge as exc:
        raise InputFileError(where, exc.line, f"a line longer than {LINE_LIMIT:,} bytes: "
                             "not a raw t,x,y,z file") from None


def _rows(path: Path, rate: float) -> Iterator[tuple[float, np.ndarray]]:
    """(first t, samples (n, 3)) chunks of the file, checked row by row."""
    where = str(path)
    try:
        f = path.open("rb")
    except OSError as exc:
        raise InputFileError(where, None, f"cannot read the raw file ({exc.strerror})") from None
    with f:
        reader = csv.reader(_text_lines(f, where))
        try:
            header = next(reader, None)
        except (csv.Error, UnicodeDecodeError) as exc:
            raise InputFileError(where, 1, f"not CSV text ({exc})") from None
        if header is None or tuple(h.strip().lstrip("\ufeff") for h in header) != HEADER:
            raise InputFileError(where, 1, "the header must be t,x,y,z")
        t0: float | None = None
        index = 0
        buf: list[list[float]] = []
        while True:
            try:
                row = next(reader, None)
            except (csv.Error, UnicodeDecodeError) as exc:
                raise InputFileError(where, reader.line_num, f"not a CSV row ({exc})") from None
            if row is None:
                break
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            line = reader.line_num
            if len(row) != 4:
                raise InputFileError(where, line, f"expected 4 values (t,x,y,z), got {len(row)}")
            try:
                values = [float(v) for v in row]
            except ValueError:
                raise InputFileError(
                    where, line, f"not numbers: {','.join(row)!r}; t in s, x y z in g") from None
            if not all(math.isfinite(v) for v in values):
                raise InputFileError(where, line, "values must be finite numbers")
            t = values[0]
            if t0 is None:
                t0 = t
            expected = t0 + index / rate
            if abs(t - expected) > GAP_TOLERANCE_S:
                raise InputFileError(
                    where, line,
                    f"t = {t:g} s is not on the --rate {rate:g} Hz timeline (expected about "
                    f"{expected:g} s): samples must be evenly spaced, in order, without gaps")
            buf.append(values[1:])
            index += 1
            if len(buf) >= CHUNK_ROWS:
                yield t0, np.asarray(buf, dtype=np.float64)
                buf = []
        if t0 is None:
            raise InputFileError(where, 2, "no samples after the header")
        yield t0, np.asarray(buf, dtype=np.float64).reshape(-1, 3)


def _stamp(start: datetime, seconds: float) -> datetime:
    moment = start + timedelta(seconds=seconds)
    return moment.astimezone(start.tzinfo)


class _Writer:
    """Seconds in, CSV rows out (minutes are written once complete)."""

    def __init__(self, out: TextIO, start: datetime, t0: float, per_second: bool) -> None:
        self.out, self.start, self.t0 = out, start, t0
        self.per_second = per_second
        self.base = start.timestamp() + t0  # unix time of second 0
        self.minute: int | None = None
        self.labels: list[np.ndarray] = []
        self.steps = 0
        out.write("time,steps,posture\n")

    def add(self, seconds: Seconds) -> None:
        if len(seconds) == 0:
            return
        times = self.base + seconds.start + np.arange(len(seconds))
        if self.per_second:
            for t, lab, n in zip(times, seconds.labels, seconds.steps, strict=True):
                when = _stamp(self.start, float(t) - self.start.timestamp())
                spec = "seconds" if float(t).is_integer() else "milliseconds"
                self.out.write(f"{when.isoformat(timespec=spec)},{int(n)},{LABELS[lab]}\n")
            return
        minutes = np.floor(times / 60).astype(np.int64)
        cuts = np.flatnonzero(np.diff(minutes)) + 1
        for part_l, part_s, part_m in zip(np.split(seconds.labels, cuts),
                                          np.split(seconds.steps, cuts),
                                          np.split(minutes, cuts), strict=True):
            m = int(part_m[0])
            if self.minute is not None and m != self.minute:
                self.close_minute()
            self.minute = m
            self.labels.append(part_l)
            self.steps += int(part_s.sum())

    def close_minute(self) -> None:
        if self.minute is None:
            return
        counts = np.bincount(np.concatenate(self.labels).astype(np.int64),
                             minlength=len(LABELS))
        # The daemon's rule (pacer.minutes): no posture from too few known seconds
        # (nor from a wrist's stillness), then the replay derives it from the steps.
        name = minute_posture(dict(enumerate(counts.tolist())), LABELS) or ""
        when = _stamp(self.start, self.minute * 60 - self.start.timestamp())
        self.out.write(f"{when.isoformat(timespec='seconds')},{self.steps},{name}\n")
        self.minute, self.labels, self.steps = None, [], 0


class Run(NamedTuple):
    """What ``epochs`` did: samples read and the mount reference at the end."""

    rows: int
    reference: dict[str, Any]


def load_reference(path: Path) -> dict[str, Any]:
    """A mount reference file's JSON (checked against the placement when used)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputFileError(str(path), None,
                             f"cannot read the mount reference ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise InputFileError(str(path), None, "not a mount reference: not UTF-8 text") from None
    try:
        state = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputFileError(str(path), exc.lineno,
                             f"not a mount reference: not JSON ({exc.msg})") from None
    if not isinstance(state, dict):
        raise InputFileError(str(path), None, "not a mount reference: not a JSON object")
    return state


def save_reference(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` as JSON, whole or not at all (a temporary file renamed over)."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(json.dumps(state, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputFileError(str(path), None,
                             f"cannot write the mount reference ({exc.strerror})") from None


def _pipeline(rate: float, placement: Placement, reference: dict[str, Any] | None,
              where: str) -> Pipeline:
    try:
        return Pipeline(rate, placement, reference)
    except BadReference as exc:
        raise InputFileError(where, None, str(exc)) from None
    except ValueError as exc:
        raise BadInput(f"--rate: {exc}") from None


def held_back(held: Seconds, new: Seconds, revisions: list[Revision], until: int | None
              ) -> tuple[Seconds, Seconds]:
    """(seconds final now, seconds still held): ``new`` joins ``held``, ``revisions``
    relabel them, and the seconds from ``until`` on (None: none) wait for more."""
    both = Seconds.join([p for p in (held, new) if len(p)]) if len(held) else new
    if revisions:
        labels = both.labels.copy()
        for rev in revisions:
            lo = max(rev.start, both.start)
            hi = min(rev.start + len(rev.labels), both.start + len(both))
            if hi > lo:
                got = rev.labels[lo - rev.start: hi - rev.start]
                labels[lo - both.start: hi - both.start] = got
        both = Seconds(both.start, labels, both.steps)
    cut = len(both) if until is None else max(0, min(len(both), until - both.start))
    return (Seconds(both.start, both.labels[:cut], both.steps[:cut]),
            Seconds(both.start + cut, both.labels[cut:], both.steps[cut:]))


def epochs(path: Path, rate: float, placement: Placement, start: datetime, *,
           per_second: bool, out: TextIO, learn_first: bool = False,
           reference: dict[str, Any] | None = None, reference_from: str = "--reference"
           ) -> Run:
    """Run the pipeline over a raw file and write the epochs CSV.

    ``reference`` (read from ``reference_from``) is a saved mount to start from;
    ``learn_first`` reads the file once before, for the mount from all its walking.
    """
    if learn_first:
        _pipeline(rate, placement, reference, reference_from)  # the errors before the work
        reference = learn_reference((chunk for _, chunk in _rows(path, rate)), rate, placement,
                                    reference=reference)
    pipe = _pipeline(rate, placement, reference, reference_from)
    writer: _Writer | None = None
    n = 0
    held = Seconds.join([])
    for t0, chunk in _rows(path, rate):
        if writer is None:
            writer = _Writer(out, start, t0, per_second)
        done, held = held_back(held, pipe.push(chunk), pipe.revisions(), pipe.revisable_from)
        writer.add(done)
        n += len(chunk)
    assert writer is not None
    done, _ = held_back(held, pipe.flush(), pipe.revisions(), None)
    writer.add(done)
    if not per_second:
        writer.close_minute()
    # Learnt first, the labelling pass saw the walking again: save the one-pass sums.
    return Run(n, reference if learn_first and reference is not None
               else pipe.reference_state())


def epochs_command(args: argparse.Namespace) -> int:
    """``pacer epochs``: parse the options, write CSV to stdout."""
    start = parse_start(args.start)
    # getattr: the options are declared in pacer/cli.py; absent there, the plain run.
    learn_first = bool(getattr(args, "learn_first", False))
    ref_path: Path | None = getattr(args, "reference", None)
    save_path: Path | None = getattr(args, "save_reference", None)
    reference = load_reference(ref_path) if ref_path is not None else None
    run = epochs(args.input, args.rate, args.placement, start,
                 per_second=args.resolution == "second", out=sys.stdout,
                 learn_first=learn_first, reference=reference, reference_from=str(ref_path))
    sys.stdout.flush()
    walked = run.reference["walking_seconds"]
    if learn_first and args.placement != "wrist" and walked < MIN_WALK_S:
        print(f"pacer epochs: --learn-first found {walked:g} s of walking in {args.input} "
              f"(the mount needs {MIN_WALK_S} s): seconds before the mount is known stay "
              "unknown", file=sys.stderr)
    if save_path is not None:
        save_reference(save_path, run.reference)
    return 0
