"""PineTime with InfiniTime (ble-protocols.md §1): decoders and the New Alert encoder.

Decoded here:

* step count ``00030001-...``: uint32 LE, the watch's steps *today* (it resets
  at the watch's local midnight and on every reboot; ``devices.counter`` turns
  it into deltas). A count above ``devices.plausible.MAX_STEPS_PER_DAY`` is
  no person's day: a ``DecodeError``;
* raw motion ``00030002-...``: int16[3] LE, X, Y, Z in "binary milli-g"
  (1 g = 1024);
* Heart Rate Measurement 0x2A37 (InfiniTime always sends ``00 bpm``, but the
  full SIG layout is accepted) and Battery Level 0x2A19.

Prompts go the other way: ``encode_new_alert`` builds what is written to the
watch's own Alert Notification service (New Alert 0x2A46, write with
response). InfiniTime's layout is not the SIG one: three header bytes
(category, count, one ignored byte), then ``title NUL body`` in UTF-8, at most
99 bytes of it (the firmware's message buffer is 100 bytes with the
terminator). A packet of 3 bytes or fewer is ignored; category 0x03 opens the
incoming-call screen, every other category is a plain notification.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Literal

from devices.drivers import battery, heart_rate
from devices.drivers._common import char_uuid, need_length, unknown
from devices.errors import DecodeError
from devices.plausible import MAX_STEPS_PER_DAY
from devices.readings import Acceleration, Reading, StepCount
from devices.uuids import BATTERY_LEVEL, HEART_RATE_MEASUREMENT, RAW_MOTION, STEP_COUNT

MILLI_G_PER_G = 1024
"""InfiniTime's raw motion unit: 1 g = 1024 (doc/MotionService.md)."""

ALERT_HEADER_SIZE = 3
ALERT_TEXT_MAX = 99
"""Bytes of ``title NUL body`` the watch keeps (``MessageSize`` 100 minus its NUL)."""

SIMPLE_ALERT = 0x00
INCOMING_CALL = 0x03
_ELLIPSIS = "..."  # ASCII: InfiniTime's fonts may lack U+2026


def decode(characteristic_uuid: str, payload: bytes | bytearray) -> list[Reading]:
    """Decode one value from an InfiniTime watch."""
    uuid = char_uuid(characteristic_uuid)
    data = bytes(payload)
    if uuid == STEP_COUNT:
        need_length(uuid, data, 4, "a step count (uint32)")
        (total,) = struct.unpack("<I", data)
        if total > MAX_STEPS_PER_DAY:
            raise DecodeError(uuid, data, f"a step count of {total:,} today is more than "
                              f"anyone can step in a day ({MAX_STEPS_PER_DAY:,})")
        return [StepCount(total)]
    if uuid == RAW_MOTION:
        need_length(uuid, data, 6, "raw motion (3 x int16)")
        x, y, z = struct.unpack("<hhh", data)
        return [Acceleration(x / MILLI_G_PER_G, y / MILLI_G_PER_G, z / MILLI_G_PER_G)]
    if uuid == HEART_RATE_MEASUREMENT:
        return [heart_rate.decode_measurement(data)]
    if uuid == BATTERY_LEVEL:
        return [battery.decode_level(data)]
    raise unknown(uuid, data, "InfiniTime")


def _utf8_prefix(text: str, limit: int) -> bytes:
    """The longest UTF-8 encoding of a prefix of ``text`` within ``limit`` bytes.

    Cutting the encoded bytes could split a multi-byte character, which the
    watch would show as garbage; cutting whole code points never does.
    """
    out = bytearray()
    for ch in text:
        enc = ch.encode("utf-8")
        if len(out) + len(enc) > limit:
            break
        out += enc
    return bytes(out)


def _fit(text: str, limit: int) -> bytes:
    """``text`` in at most ``limit`` bytes, ending in "..." when it was cut."""
    whole = text.encode("utf-8")
    if len(whole) <= limit:
        return whole
    if limit < len(_ELLIPSIS):
        return _utf8_prefix(text, limit)
    return _utf8_prefix(text, limit - len(_ELLIPSIS)) + _ELLIPSIS.encode()


def encode_new_alert(title: str, text: str) -> bytes:
    """The New Alert value that shows ``title`` and ``text`` on an InfiniTime watch.

    NUL characters (which would end the title early on the watch) become
    spaces. The title is kept whole if it can be, the body gets the rest of the
    99 bytes; whatever is cut ends in "..." and never splits a character.
    """
    title = title.replace("\0", " ")
    text = text.replace("\0", " ")
    # One byte of the budget is the NUL between title and body.
    title_bytes = _fit(title, ALERT_TEXT_MAX - 1)
    body_bytes = _fit(text, ALERT_TEXT_MAX - 1 - len(title_bytes))
    header = bytes((SIMPLE_ALERT, 1, 0))
    return header + title_bytes + b"\0" + body_bytes


_IMMEDIATE_LEVELS = {"mild": 0x01, "high": 0x02}


def encode_immediate_alert(level: Literal["mild", "high"]) -> bytes:
    """The Alert Level 0x2A06 value (write without response) for InfiniTime's
    Immediate Alert service: a bare "Alert : Mild" or "Alert : High" notification,
    for when a text cannot be sent."""
    return bytes((_IMMEDIATE_LEVELS[level],))


@dataclass(frozen=True, slots=True)
class Alert:
    """A New Alert as InfiniTime reads it."""

    category: int
    title: str
    body: str


def decode_new_alert(payload: bytes | bytearray) -> Alert | None:
    """What an InfiniTime watch makes of a New Alert write; None if it ignores it.

    The firmware skips the 3 header bytes, keeps at most 99 bytes and splits
    title and body at the first NUL. Used by the virtual watch and the tests;
    invalid UTF-8 is shown with replacement characters rather than refused, as
    a display would.
    """
    data = bytes(payload)
    if len(data) <= ALERT_HEADER_SIZE:
        return None
    message = data[ALERT_HEADER_SIZE : ALERT_HEADER_SIZE + ALERT_TEXT_MAX]
    title, _, body = message.partition(b"\0")
    body = body.split(b"\0", 1)[0]
    return Alert(
        category=data[0],
        title=title.decode("utf-8", errors="replace"),
        body=body.decode("utf-8", errors="replace"),
    )
