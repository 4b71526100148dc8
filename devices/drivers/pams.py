"""SIG Physical Activity Monitor Service 0x183E (ble-protocols.md §2). EXPERIMENTAL.

No shipping wearable with PAMS is known, and the layouts below come from two
independent implementations, not the spec text (✅(2 impl) in the notes);
the activity type codes come from one secondary source (❓). Decoded:

* Step Counter Activity Summary Data 0x2B40: ``header u8 | flags u8 |
  session u16 | sub-session u16 | relative time u32 (s ⚠️) | sequence u32``,
  then uint24 fields in flag-bit order: bit 0 normal walking steps, 1
  intensity steps, 2 floor steps, 3 distance (unit ❓), 4 worn duration (s ❓);
* General Activity Instantaneous Data 0x2B3C: the same prefix with uint24
  flags, then in flag-bit order the fields of ``_GAID_FIELDS`` (sizes per
  the draft implementation), bit 23 "device worn" (no field). Activity Type
  (bit 10, u16 ❓) is reported as its ``ACTIVITY_TYPES`` name.

Segmentation headers are not reassembled: each value must be one whole
segment (any header byte is accepted and returned).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from devices.drivers import battery
from devices.drivers._common import char_uuid, unknown
from devices.errors import DecodeError
from devices.readings import Reading, StepCount
from devices.uuids import (
    BATTERY_LEVEL,
    PAMS_GENERAL_ACTIVITY_INSTANTANEOUS,
    PAMS_STEP_COUNTER_SUMMARY,
)

EXPERIMENTAL = True

ACTIVITY_TYPES: dict[int, str] = {
    0: "unspecified", 1: "other", 2: "sit", 3: "lie", 4: "stand", 5: "walk", 6: "shuffle",
    7: "run", 8: "cycle_indoor", 9: "cycle_outdoor", 0x0A: "cycle", 0x0B: "aerobic_workout",
    0x0C: "elliptical", 0x0D: "sports", 0x0E: "swim", 0xFF: "unknown",
}
"""PAMS v1.0 Table 3.7 as one secondary source gives it (❓: verify on a device)."""

_SCASD_FIELDS = ("normal_steps", "intensity_steps", "floor_steps", "distance", "worn_s")
# (bit, name, size in bytes, signed)
_GAID_FIELDS: tuple[tuple[int, str, int, bool], ...] = (
    (0, "normal_walking_energy_per_hour", 2, False),
    (1, "intensity_energy_per_hour", 2, False),
    (2, "total_energy_per_hour", 2, False),
    (3, "fat_burned_per_hour", 2, False),
    (4, "met", 1, False),
    (5, "speed", 2, False),
    (6, "cadence", 2, False),
    (7, "elevation", 3, True),
    (8, "activity_count_per_min", 2, False),
    (9, "activity_level", 2, False),
    (10, "activity_type", 2, False),
)
_KNOWN_GAID_BITS = sum(1 << b for b, *_ in _GAID_FIELDS) | (1 << 23)
DEVICE_WORN_BIT = 23


@dataclass(frozen=True, slots=True)
class PamsHeader:
    """The prefix every PAMS data value starts with."""

    header: int
    session: int
    sub_session: int
    time_s: int
    sequence: int


@dataclass(frozen=True, slots=True)
class StepSummary:
    """Step Counter Activity Summary Data: the counts of a (sub-)session so far."""

    ids: PamsHeader
    normal_steps: int | None = None
    intensity_steps: int | None = None
    floor_steps: int | None = None
    distance: int | None = None
    worn_s: int | None = None


@dataclass(frozen=True, slots=True)
class ActivityNow:
    """General Activity Instantaneous Data: the fields present, by name."""

    ids: PamsHeader
    fields: dict[str, int]
    worn: bool

    @property
    def activity_type(self) -> str | None:
        code = self.fields.get("activity_type")
        return None if code is None else ACTIVITY_TYPES.get(code, f"code {code}")


def _prefix(uuid: str, data: bytes, flag_size: int) -> tuple[int, PamsHeader, int]:
    need = 1 + flag_size + 12
    if len(data) < need:
        raise DecodeError(uuid, data, f"a PAMS value starts with {need} bytes of ids")
    flags = int.from_bytes(data[1: 1 + flag_size], "little")
    session, sub, t, seq = struct.unpack_from("<HHII", data, 1 + flag_size)
    return flags, PamsHeader(data[0], session, sub, t, seq), need


def decode_step_summary(payload: bytes | bytearray) -> StepSummary:
    """One Step Counter Activity Summary Data value (0x2B40)."""
    data, uuid = bytes(payload), PAMS_STEP_COUNTER_SUMMARY
    flags, ids, offset = _prefix(uuid, data, 1)
    if flags & ~0x1F:
        raise DecodeError(uuid, data, f"flags 0x{flags:02x} set reserved bits 5-7")
    values: dict[str, int] = {}
    for bit, name in enumerate(_SCASD_FIELDS):
        if flags & (1 << bit):
            if len(data) < offset + 3:
                raise DecodeError(uuid, data, f"flags announce {name} but the value ends")
            values[name] = int.from_bytes(data[offset: offset + 3], "little")
            offset += 3
    if offset != len(data):
        raise DecodeError(uuid, data, f"flags 0x{flags:02x} announce exactly {offset} bytes")
    return StepSummary(ids, **values)


def decode_activity(payload: bytes | bytearray) -> ActivityNow:
    """One General Activity Instantaneous Data value (0x2B3C)."""
    data, uuid = bytes(payload), PAMS_GENERAL_ACTIVITY_INSTANTANEOUS
    flags, ids, offset = _prefix(uuid, data, 3)
    if flags & ~_KNOWN_GAID_BITS:
        raise DecodeError(uuid, data, f"flags 0x{flags:06x} use bits this driver cannot size")
    fields: dict[str, int] = {}
    for bit, name, size, signed in _GAID_FIELDS:
        if flags & (1 << bit):
            if len(data) < offset + size:
                raise DecodeError(uuid, data, f"flags announce {name} but the value ends")
            fields[name] = int.from_bytes(data[offset: offset + size], "little", signed=signed)
            offset += size
    if offset != len(data):
        raise DecodeError(uuid, data, f"flags 0x{flags:06x} announce exactly {offset} bytes")
    return ActivityNow(ids, fields, worn=bool(flags & (1 << DEVICE_WORN_BIT)))


def decode(characteristic_uuid: str, payload: bytes | bytearray) -> list[Reading]:
    """Readings of a PAMS value for the connection manager.

    Experimental. A step summary's normal walking steps are a running count
    for its session, reported as a ``StepCount`` (``devices.counter`` makes
    deltas of it; a new session counting from zero reads as a counter reset).
    The activity type is checked (a bad value raises ``DecodeError``) but gives
    no reading: ``devices.readings`` has no posture reading yet.
    """
    uuid = char_uuid(characteristic_uuid)
    if uuid == PAMS_STEP_COUNTER_SUMMARY:
        summary = decode_step_summary(payload)
        return [] if summary.normal_steps is None else [StepCount(summary.normal_steps)]
    if uuid == PAMS_GENERAL_ACTIVITY_INSTANTANEOUS:
        decode_activity(payload)
        return []
    if uuid == BATTERY_LEVEL:
        return [battery.decode_level(payload)]
    raise unknown(uuid, bytes(payload), "PAMS")
