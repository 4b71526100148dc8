"""Bangle.js 2 (Espruino) with its "Android Integration" app: the Gadgetbridge
protocol over the Nordic UART service, decoded and encoded.

What this relies on, and where it comes from (public sources, read for this
module; no code copied):

* Transport (Espruino's "Gadgetbridge" page; Gadgetbridge's
  ``BangleJSDeviceSupport``): Nordic UART service ``6e400001-...``; the watch
  notifies on TX ``6e400003-...``, the phone writes to RX ``6e400002-...``. The
  watch writes each message as ``println("")`` then ``println(JSON)``: lines end
  in ``\\r\\n`` and an empty line comes before each message, split across
  notifications of at most 20 bytes (the default ATT MTU's payload) anywhere,
  even inside a UTF-8 character. Gadgetbridge reads whole lines, takes those that
  start with ``{`` as JSON and ignores the rest.
* Watch to phone (the app's ``boot.js``/``lib.js`` in espruino/BangleApps
  ``apps/android``; Gadgetbridge's ``handleActivity``/``handleBatteryStatus``):

  - ``{"t":"act","stp":N,"hrm":B}``: sent on the firmware's ``health`` event,
    which fires at the end of each 10-minute block with that block's data
    (Espruino reference: "An object containing the last 10 minutes health
    data"). ``stp`` is the steps *of that block*, not a total;
  - ``{"t":"act","stp":N,"hrm":B,"rt":1}``: realtime reports, every ``int``
    seconds once the phone sent ``{"t":"act","stp":true,"int":S}``; ``stp`` is
    ``getStepCount()`` now minus at the previous report, so it is negative
    once when the watch's counter restarted between two reports;
  - ``{"t":"actfetch","state":"start"}``, then for each stored block since the
    phone's ``{"t":"actfetch","ts":MS}`` one ``{"t":"act","ts":MS,"stp":N,
    "hrm":B,"mov":M,"act":"..."}`` (``ts``: the block's *end*, unix ms by the
    watch's clock, records with ``ts`` >= the one asked for), then
    ``{"t":"actfetch","state":"end","count":K}``. History needs the "Health"
    app (the ``health`` library keeps the blocks in flash);
  - ``{"t":"status","bat":0..100,"chg":0|1}``: at each connect (after 2 s), on
    every charger change and every 10 minutes. Some builds send ``chg`` as a
    JSON boolean; both are taken.
  - Every other ``t`` (``ver``, ``music``, ``call``, ``notify`` replies, GPS,
    calendar, HTTP, ...) is valid and ignored.
* Phone to watch: ``\\x10GB({...})\\n`` (DLE stops the REPL echoing the line;
  ``GB`` is the app's handler), in writes of at most 20 bytes. ``{"t":"notify",
  "id":N,"src":..,"title":..,"body":..}`` is pushed to the Messages app, which
  shows it and buzzes. Gadgetbridge also sends ``setTime(unix_s);
  E.setTimeZone(hours)`` at connect to set the clock.

What pacer does with them (``devices.profiles``, ``devices.blocks``): at every
connect it sets the watch's clock, asks for realtime step reports every 30 s
and for the blocks stored since the last block it counted (``actfetch``), so
steps walked out of reach are not lost; a realtime report counts at once, a
block's total adds what the reports missed. ``chg`` feeds the not-worn rule
(on the charger). ``mov`` (the block's average acceleration change, in the
firmware's own units) and ``act`` (the health app's activity guess, sleep
among them) are decoded but not used: a 10-minute average cannot be judged by
the per-minute stillness criteria the other wearables use, and the scale and
the sleep guess are not documented well enough to set a threshold on. The
heart rate (``hrm``) is not used either: asking for it keeps the optical
sensor on.

Text goes out as JSON with every non-ASCII character, quote, backslash and
control character escaped (``\\uXXXX``), which is also a valid JavaScript
string literal: the line is pure ASCII, so no byte can be read as a stray UTF-8
lead, a DLE or a newline. Title and body are cut to ``TITLE_MAX`` and
``BODY_MAX`` characters (whole code points, ending in "...") so one prompt stays
a short write the watch's screen can show.

Decoding is two pure steps: ``feed_lines`` cuts the byte stream into lines,
bounded (a line longer than ``LINE_MAX`` bytes is dropped up to its newline and
counted, never buffered without end), and ``decode`` makes a line into
readings or raises ``DecodeError``: bad UTF-8, not JSON (NaN and Infinity
included), not an object with a string ``t``, a known field of the wrong type,
a battery outside 0..100, or steps beyond what a person takes
(``devices.plausible``: 300 a minute, so 3,000 in a block or in one realtime
report).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from devices.drivers import battery
from devices.drivers._common import char_uuid, unknown
from devices.errors import DecodeError
from devices.plausible import MAX_STEPS_PER_MINUTE
from devices.readings import ActivityReport, BatteryLevel, ChargeState, HistoryMark, Reading
from devices.uuids import BATTERY_LEVEL, NORDIC_UART_TX

BLOCK_S = 600
"""The firmware's health block: 10 minutes."""
MAX_REPORT_STEPS = MAX_STEPS_PER_MINUTE * BLOCK_S // 60
"""Steps one block (or one realtime report, asked every <= 10 min) can hold."""
LINE_MAX = 4096
"""Bytes a line may have; calendar and track lines can be long, ours are short."""
CHUNK = 20
"""Bytes per write and per notification at the default ATT MTU (23 - 3)."""
TITLE_MAX = 60
BODY_MAX = 280
DLE = b"\x10"
_ELLIPSIS = "..."
_MAX_MS = 32_503_680_000_000  # year 3000: a ts beyond it is no clock's
_SOURCE = "pacer"


# --- lines ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LineBuffer:
    """What ``feed_lines`` keeps between notifications: an unfinished line, and
    whether the current line is being skipped for being too long."""

    pending: bytes = b""
    skipping: bool = False


def feed_lines(buffer: LineBuffer, data: bytes | bytearray, *, limit: int = LINE_MAX
               ) -> tuple[LineBuffer, list[bytes], int]:
    """Add ``data``: the new buffer, the complete non-empty lines (``\\r\\n`` or
    ``\\n`` stripped) and how many over-long lines were dropped."""
    lines: list[bytes] = []
    dropped = 0
    pending, skipping = buffer.pending, buffer.skipping
    *complete, rest = bytes(data).split(b"\n")
    for part in complete:
        if skipping:
            skipping = False  # the newline ends the line being dropped
            pending = b""
            continue
        line = (pending + part).rstrip(b"\r")
        pending = b""
        if len(line) > limit:
            dropped += 1
        elif line:
            lines.append(line)
    if skipping:
        return LineBuffer(b"", True), lines, dropped
    pending += rest
    if len(pending) > limit:
        return LineBuffer(b"", True), lines, dropped + 1
    return LineBuffer(pending), lines, dropped


class LineFramer:
    """``feed_lines`` with its buffer, for one connection (``profiles.Framer``)."""

    def __init__(self, limit: int = LINE_MAX) -> None:
        self.limit = limit
        self.buffer = LineBuffer()
        self.dropped = 0

    def feed(self, data: bytes | bytearray) -> list[bytes]:
        self.buffer, lines, dropped = feed_lines(self.buffer, data, limit=self.limit)
        self.dropped += dropped
        return lines


# --- watch to phone -------------------------------------------------------------------


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _int(uuid: str, line: bytes, message: Mapping[str, Any], key: str, *, lo: int, hi: int
         ) -> int | None:
    """``message[key]`` as a whole number in lo..hi, None when absent or null."""
    value = message.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DecodeError(uuid, line, f"{key!r} must be a number, got {type(value).__name__}")
    if isinstance(value, float):
        if not (math.isfinite(value) and value.is_integer()):
            raise DecodeError(uuid, line, f"{key!r} must be a whole number, got {value!r}")
        value = int(value)
    if not lo <= value <= hi:
        raise DecodeError(uuid, line, f"{key!r} {value} is outside {lo}..{hi}")
    return value


def _activity(uuid: str, line: bytes, message: Mapping[str, Any]) -> ActivityReport:
    realtime = _int(uuid, line, message, "rt", lo=0, hi=1) == 1
    steps = _int(uuid, line, message, "stp", lo=-(2**31), hi=2**31)
    if steps is None:
        steps = 0
    if steps < 0 and not realtime:
        raise DecodeError(uuid, line, f"a block cannot hold {steps} steps")
    if steps > MAX_REPORT_STEPS:
        raise DecodeError(uuid, line, f"{steps:,} steps is more than anyone takes in "
                          f"{BLOCK_S // 60} minutes ({MAX_REPORT_STEPS:,})")
    end_ms = _int(uuid, line, message, "ts", lo=1, hi=_MAX_MS)
    if realtime and end_ms is not None:
        raise DecodeError(uuid, line, "a realtime report has no block time")
    activity = message.get("act")
    if activity is not None and not isinstance(activity, str):
        raise DecodeError(uuid, line, f"'act' must be text, got {type(activity).__name__}")
    return ActivityReport(
        steps=max(steps, 0),
        realtime=realtime,
        end_ms=end_ms,
        bpm=_int(uuid, line, message, "hrm", lo=0, hi=255),
        movement=_int(uuid, line, message, "mov", lo=0, hi=2**32 - 1),
        activity=activity,
        reset=steps < 0,
    )


def _status(uuid: str, line: bytes, message: Mapping[str, Any]) -> list[Reading]:
    out: list[Reading] = []
    percent = _int(uuid, line, message, "bat", lo=0, hi=100)
    if percent is not None:
        out.append(BatteryLevel(percent))
    charging = message.get("chg")
    if isinstance(charging, bool):
        out.append(ChargeState(charging))
    elif charging is not None:
        out.append(ChargeState(_int(uuid, line, message, "chg", lo=0, hi=1) == 1))
    return out


def _fetch(uuid: str, line: bytes, message: Mapping[str, Any]) -> HistoryMark:
    state = message.get("state")
    if state not in ("start", "end"):
        raise DecodeError(uuid, line, f"actfetch state must be 'start' or 'end', got {state!r}")
    count = _int(uuid, line, message, "count", lo=0, hi=2**31)
    return HistoryMark(done=state == "end", count=count)


def decode_line(line: bytes | bytearray, uuid: str = NORDIC_UART_TX) -> list[Reading]:
    """The readings of one line from the watch (no newline); [] for messages pacer
    does not use."""
    data = bytes(line)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DecodeError(uuid, data, f"not UTF-8 ({error.reason} at byte {error.start})"
                          ) from None
    if not text.startswith("{"):
        raise DecodeError(uuid, data, "not a JSON object line (the watch's console: are "
                          "its Android Integration and Health apps installed?)")
    try:
        message = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as error:
        raise DecodeError(uuid, data, f"not JSON: {error}") from None
    if not isinstance(message, dict) or not isinstance(message.get("t"), str):
        raise DecodeError(uuid, data, "a message is a JSON object with a text 't'")
    match message["t"]:
        case "act":
            return [_activity(uuid, data, message)]
        case "status":
            return _status(uuid, data, message)
        case "actfetch":
            return [_fetch(uuid, data, message)]
        case _:
            return []


def decode(characteristic_uuid: str, payload: bytes | bytearray) -> list[Reading]:
    """Decode one whole line notified on the UART's TX (after ``LineFramer``), or a
    Battery Level (a watch app can add the Battery service)."""
    uuid = char_uuid(characteristic_uuid)
    if uuid == BATTERY_LEVEL:
        return [battery.decode_level(payload)]
    if uuid != NORDIC_UART_TX:
        raise unknown(uuid, bytes(payload), "Bangle.js")
    return decode_line(payload, uuid)


# --- phone to watch -------------------------------------------------------------------


def _cut(text: str, limit: int) -> str:
    """At most ``limit`` code points, ending in "..." when cut."""
    if len(text) <= limit:
        return text
    return text[: limit - len(_ELLIPSIS)] + _ELLIPSIS


def gb_line(message: Mapping[str, object]) -> bytes:
    """``\\x10GB({...})\\n``: pure ASCII JSON, a valid JavaScript literal too."""
    body = json.dumps(message, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    return DLE + b"GB(" + body.encode("ascii") + b")\n"


def encode_notify(message_id: int, title: str, body: str) -> bytes:
    """The line that shows ``title`` and ``body`` on the watch and buzzes it."""
    return gb_line({
        "t": "notify",
        "id": message_id & 0x7FFFFFFF,
        "src": _SOURCE,
        "title": _cut(title, TITLE_MAX),
        "body": _cut(body, BODY_MAX),
    })


def encode_realtime(interval_s: int) -> bytes:
    """Ask for a realtime step report every ``interval_s`` seconds (no heart rate:
    it would keep the optical sensor on)."""
    if not 1 <= interval_s <= BLOCK_S:
        raise ValueError(f"the interval is 1..{BLOCK_S} s")
    return gb_line({"t": "act", "hrm": False, "stp": True, "int": interval_s})


def encode_fetch(since_ms: int) -> bytes:
    """Ask for the stored blocks whose end is at or after ``since_ms``."""
    return gb_line({"t": "actfetch", "ts": since_ms})


def encode_set_time(unix_s: int, utc_offset_h: float) -> bytes:
    """Set the watch's clock and zone, as Gadgetbridge does at every connect."""
    return DLE + f"setTime({unix_s});E.setTimeZone({utc_offset_h:g})\n".encode("ascii")


def chunks(line: bytes, size: int = CHUNK) -> list[bytes]:
    """``line`` in writes of at most ``size`` bytes."""
    return [line[i : i + size] for i in range(0, len(line), size)]


@dataclass(frozen=True, slots=True)
class Command:
    """A line the phone sent, as the watch's app reads it (for the virtual watch)."""

    message: dict[str, Any] | None
    set_time: tuple[int, float] | None = None


def parse_command(line: bytes) -> Command | None:
    """What ``gb_line`` / ``encode_set_time`` wrote, or None for anything else."""
    text = line.removeprefix(DLE).decode("ascii", errors="replace").strip()
    if text.startswith("GB(") and text.endswith(")"):
        try:
            message = json.loads(text[3:-1])
        except ValueError:
            return None
        return Command(message if isinstance(message, dict) else None)
    if text.startswith("setTime(") and ";E.setTimeZone(" in text and text.endswith(")"):
        when, zone = text[len("setTime("):-1].split(");E.setTimeZone(")
        try:
            return Command(None, (int(when), float(zone)))
        except ValueError:
            return None
    return None
