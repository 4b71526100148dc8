"""Gadgetbridge's exported database, read as pacer's minutes.

Gadgetbridge, the open Android companion for Huami and Xiaomi bands, Amazfit,
Bangle.js, PineTime and many more, keeps what every band logged in one SQLite
file, which its settings export ("Export database"). Each band family has a
sample table of its own (``MI_BAND_ACTIVITY_SAMPLE`` for the Huami bands,
``BANGLE_JSACTIVITY_SAMPLE``, ``PINE_TIME_ACTIVITY_SAMPLE``, ...), with the
same core columns: ``TIMESTAMP`` (Unix seconds), ``DEVICE_ID`` (the ``DEVICE``
table's ``_id``), ``STEPS`` and, in most, ``RAW_KIND``. A table is read when it
has the first three; what its ``RAW_KIND`` means depends on the family, and
only the families below are read for it (``KIND_READERS``):

* Huami bands (Mi Band 2 to 6, Amazfit Band 5 and others on the older
  protocol): the low four bits are the kind; 3 is not worn and 6 on the
  charger, 9 and 11 are light and deep sleep, 0 and 10 repeat the kind before.
* Bangle.js: Gadgetbridge's own activity kinds (8 not worn, 2 and 4 sleep).

For any other table the steps are read and the kind is not: its minutes are
what pacer makes of a step-only wearable. Everything here is read-only and
pure once the rows are out of the file.
"""

from __future__ import annotations

import heapq
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from urllib.parse import quote

from devices.huami_kinds import raw_kind
from devices.plausible import MAX_STEPS_PER_MINUTE
from pacer.engine.model import Epoch, Posture
from pacer.errors import InputFileError
from pacer.timebase import Minute

DEVICE_TABLE = "DEVICE"
NEEDED = ("TIMESTAMP", "DEVICE_ID", "STEPS")
TABLE_NAME = re.compile(r"[A-Z][A-Z0-9_]*_SAMPLE")


class Kind(Enum):
    """What a band said a sample was, as far as pacer needs it."""

    ACTIVITY = "activity"  # awake and worn: the steps say the rest
    SLEEP = "sleep"
    NOT_WORN = "not_worn"
    UNKNOWN = "unknown"  # not measured: no steps either
    SAME = "same"  # the band's "as before"


def _huami(raw: int) -> Kind:
    if raw == -1:
        return Kind.UNKNOWN
    return Kind(raw_kind(raw))  # the band's own table, shared with its live driver


def _activity_kind(raw: int) -> Kind:
    """Gadgetbridge's own activity kinds, as Bangle.js samples store them."""
    if raw == -1:
        return Kind.UNKNOWN
    if raw == 8:
        return Kind.NOT_WORN
    if raw in (2, 4):
        return Kind.SLEEP
    return Kind.ACTIVITY


KIND_READERS: dict[str, Callable[[int], Kind]] = {
    "MI_BAND_ACTIVITY_SAMPLE": _huami,
    "BANGLE_JSACTIVITY_SAMPLE": _activity_kind,
}


@dataclass(frozen=True, slots=True)
class Device:
    id: int
    name: str
    identifier: str  # the Bluetooth address


@dataclass(frozen=True, slots=True)
class Sample:
    at: int  # Unix seconds
    device: int
    steps: int  # negative: the band did not count
    kind: Kind


@dataclass(frozen=True, slots=True)
class Export:
    """What an export holds: its devices and the sample tables pacer reads."""

    path: Path
    devices: tuple[Device, ...]
    tables: tuple[str, ...]


def _not_ours(path: Path, why: str) -> InputFileError:
    return InputFileError(
        str(path), None, f"{why}. Give the file Gadgetbridge writes with Settings > "
        "Data management > Export database (often called Gadgetbridge or "
        "Gadgetbridge.db)")


def open_export(path: Path) -> tuple[sqlite3.Connection, Export]:
    """Open ``path`` read-only and check it is a Gadgetbridge export."""
    if not path.is_file():
        raise InputFileError(str(path), None, "no such file")
    try:
        conn = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True)
        names = {r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise _not_ours(path, f"not an SQLite database ({exc})") from exc
    try:
        if DEVICE_TABLE not in names:
            raise _not_ours(path, "an SQLite database, but not Gadgetbridge's: it has no "
                                  "DEVICE table")
        # Table names come from the file: only plain ones are ever put in a query.
        tables = tuple(sorted(t for t in names if TABLE_NAME.fullmatch(t)
                              and set(NEEDED) <= _columns(conn, t)))
        if not tables:
            raise _not_ours(path, "a Gadgetbridge database without activity samples")
        devices = tuple(Device(int(i), str(n or ""), str(a or "")) for i, n, a in conn.execute(
            f"SELECT _id, NAME, IDENTIFIER FROM {DEVICE_TABLE} ORDER BY _id"))  # noqa: S608
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise _not_ours(path, f"cannot be read as Gadgetbridge's database ({exc})") from exc
    except InputFileError:
        conn.close()
        raise
    return conn, Export(path, devices, tables)


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {str(r[1]).upper() for r in conn.execute(f'PRAGMA table_info("{table}")')}


def pick(export: Export, name: str | None) -> tuple[Device, ...]:
    """The devices to import: all, or those whose name or address is ``name``."""
    if name is None:
        return export.devices
    want = name.casefold()
    found = tuple(d for d in export.devices
                  if want in (d.name.casefold(), d.identifier.casefold()))
    if not found:
        known = ", ".join(f"{d.name} ({d.identifier})" for d in export.devices) or "none"
        raise InputFileError(str(export.path), None,
                             f"no device called {name!r}; the devices in it: {known}")
    return found


def samples(conn: sqlite3.Connection, export: Export, devices: Sequence[Device],
            since: int | None = None) -> Iterator[Sample]:
    """Every sample of ``devices`` at or after ``since``, in time order."""
    ids = [d.id for d in devices]
    if not ids:
        return iter(())
    streams = [_table(conn, t, ids, since) for t in export.tables]
    return heapq.merge(*streams, key=lambda s: s.at)


def _table(conn: sqlite3.Connection, table: str, ids: Sequence[int],
           since: int | None) -> Iterator[Sample]:
    reader = KIND_READERS.get(table)
    kind_col = "RAW_KIND" if reader is not None and "RAW_KIND" in _columns(conn, table) else "-1"
    marks = ", ".join("?" * len(ids))
    # ``table`` matched TABLE_NAME; the values are parameters.
    sql = (f'SELECT TIMESTAMP, DEVICE_ID, STEPS, {kind_col} FROM "{table}"'  # noqa: S608
           f" WHERE DEVICE_ID IN ({marks}) AND TIMESTAMP >= ? ORDER BY TIMESTAMP")
    last: dict[int, Kind] = {}
    for at, dev, steps, raw in conn.execute(sql, (*ids, since if since is not None else 0)):
        kind = reader(int(raw)) if reader is not None and raw is not None else Kind.ACTIVITY
        if kind is Kind.SAME:
            kind = last.get(int(dev), Kind.ACTIVITY)
        last[int(dev)] = kind
        yield Sample(int(at), int(dev), int(steps) if steps is not None else -1, kind)


@dataclass(slots=True)
class Tally:
    """What the conversion did, for the person running the import."""

    samples: int = 0
    minutes: int = 0
    implausible: int = 0  # minutes with more steps than anyone takes: left unknown
    not_worn: int = 0
    sleep: int = 0


def to_minutes(rows: Iterable[Sample], tally: Tally | None = None) -> Iterator[Epoch]:
    """One epoch per minute with samples, in time order. Steps from every
    sample of the minute add up; a minute with steps is worn and awake
    whatever its kind said; without steps, not worn wins over sleep, sleep
    over activity. Sleep is lying down: it is never sitting."""
    t = tally if tally is not None else Tally()
    minute: Minute | None = None
    steps = 0
    kinds: set[Kind] = set()
    for s in rows:
        t.samples += 1
        m = s.at // 60
        if minute is not None and m != minute:
            yield _epoch(minute, steps, kinds, t)
            steps, kinds = 0, set()
        minute = m
        steps += max(s.steps, 0)
        kinds.add(s.kind)
    if minute is not None:
        yield _epoch(minute, steps, kinds, t)


def _epoch(minute: Minute, steps: int, kinds: set[Kind], t: Tally) -> Epoch:
    t.minutes += 1
    if steps > MAX_STEPS_PER_MINUTE:
        t.implausible += 1
        return Epoch.unknown(minute)
    if steps > 0:
        return Epoch.from_steps(minute, steps)
    if Kind.NOT_WORN in kinds:
        t.not_worn += 1
        return Epoch.not_worn(minute)
    if Kind.SLEEP in kinds:
        t.sleep += 1
        return Epoch(minute, 0, Posture.LYING)
    if kinds <= {Kind.UNKNOWN}:
        return Epoch.unknown(minute)
    return Epoch.from_steps(minute, 0)
