"""The replay events file: one command per line, as JSON (interfaces.md section 3).

::

    {"time": "2026-11-23T07:05:00+11:00", "type": "day", "event": "up"}
    {"time": "2026-11-23T10:05:00+11:00", "type": "symptom", "level": "amber", "pain": 4}
    {"time": "2026-11-23T10:41:10+11:00", "type": "ack", "prompt": "last", "action": "done"}
    {"time": "2026-11-23T18:30:00+11:00", "type": "exercise", "minutes": 20, "what": "bridges"}

Each line is a JSON object with ``time`` (ISO 8601 with a UTC offset; seconds
allowed) and ``type`` (``symptom``, ``ack``, ``dnd``, ``plan``, and since v2
``day`` and ``exercise``: interfaces.md section 8.2); its other
keys are the command's, parsed exactly as the MQTT command of that type
(pacer.contract.commands), so an optional ``id`` is accepted and ignored. Blank lines are
skipped; a UTF-8 byte-order mark is ignored. Lines must be in time order (equal
times keep their file order), in the years 1970 to 2999. A bad line raises
``InputFileError`` with its line number; a file larger than 16 MiB is refused
as a whole (``/dev/zero`` never ends).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pacer.contract.commands import COMMAND_KINDS, decode_object, parse_command
from pacer.engine.describe import show_value
from pacer.engine.model import Command
from pacer.errors import CommandRejected, InputFileError
from pacer.io import limits
from pacer.io.minutes import parse_time

_EXAMPLE = "2026-11-23T10:05:00+11:00"
_BOM = b"\xef\xbb\xbf"

MAX_EVENTS_BYTES = 16 << 20
"""The largest events file read: a few commands a day, each a short line."""


@dataclass(frozen=True, slots=True)
class TimedCommand:
    """A command from an events file and when it was given."""

    at: float  # Unix seconds
    command: Command
    line: int  # its line in the file, for messages


def _time(value: object, where: str, line: int) -> tuple[float, str]:
    if value is None:
        raise InputFileError(
            where, line, f"time is required: ISO 8601 with a UTC offset, like {_EXAMPLE}"
        )
    if not isinstance(value, str):
        raise InputFileError(
            where,
            line,
            f"time must be a string, ISO 8601 with a UTC offset like {_EXAMPLE}, "
            f"got {show_value(value)}",
        )
    try:
        return parse_time(value).timestamp(), value
    except ValueError as exc:
        raise InputFileError(where, line, str(exc)) from None


def read_events(path: Path) -> list[TimedCommand]:
    """Every event of an events file, in file (= time) order."""
    where = str(path)
    try:
        data = limits.read_bytes(path, MAX_EVENTS_BYTES)
    except OSError as exc:
        raise InputFileError(where, None, f"cannot read the events file ({exc.strerror})") from None
    except limits.TooLarge:
        raise InputFileError(
            where, None, f"the events file is larger than {MAX_EVENTS_BYTES >> 20} MiB; it holds "
            "one short JSON line per command") from None
    events: list[TimedCommand] = []
    previous = (float("-inf"), "", 0)  # time, as written, line
    for number, raw in enumerate(data.removeprefix(_BOM).split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            obj = decode_object(raw, "the line")
        except CommandRejected as exc:
            raise InputFileError(where, number, str(exc)) from None
        at, stamp = _time(obj.pop("time", None), where, number)
        kind = obj.pop("type", None)
        if kind not in COMMAND_KINDS:
            raise InputFileError(
                where,
                number,
                f"type must be one of {', '.join(COMMAND_KINDS)}, got {show_value(kind)}",
            )
        try:
            command = parse_command(kind, obj).command
        except CommandRejected as exc:
            raise InputFileError(where, number, f"{kind}: {exc}") from None
        if at < previous[0]:
            raise InputFileError(
                where,
                number,
                f"time {stamp!r} is before the previous event's ({previous[1]}, line "
                f"{previous[2]}); events must be in time order",
            )
        previous = (at, stamp, number)
        events.append(TimedCommand(at=at, command=command, line=number))
    return events
