"""SIG Heart Rate Measurement 0x2A37 (ble-protocols.md §3.2), plus Battery Level.

Layout: flags u8, then the heart rate (u8, or u16 when flags bit 0 is set),
energy expended u16 in kJ when bit 3 is set, then RR intervals (u16 each, in
1/1024 s) filling the rest when bit 4 is set. Bits 1-2 are the sensor contact
status; bits 5-7 are reserved and ignored, as the specification asks.
"""

from __future__ import annotations

import struct

from devices.drivers import battery
from devices.drivers._common import char_uuid, unknown
from devices.errors import DecodeError
from devices.readings import HeartRateReading, Reading
from devices.uuids import BATTERY_LEVEL, HEART_RATE_MEASUREMENT

_HR_U16 = 0x01
_CONTACT_SUPPORTED = 0x04
_CONTACT_DETECTED = 0x02
_ENERGY = 0x08
_RR = 0x10


def decode_measurement(payload: bytes | bytearray) -> HeartRateReading:
    """One Heart Rate Measurement value."""
    data = bytes(payload)
    uuid = HEART_RATE_MEASUREMENT
    if not data:
        raise DecodeError(uuid, data, "a heart rate measurement needs at least 2 bytes")
    flags = data[0]
    hr_size = 2 if flags & _HR_U16 else 1
    fixed = 1 + hr_size + (2 if flags & _ENERGY else 0)
    if len(data) < fixed:
        raise DecodeError(
            uuid, data, f"flags 0x{flags:02x} announce at least {fixed} bytes"
        )
    if hr_size == 2:
        (bpm,) = struct.unpack_from("<H", data, 1)
    else:
        bpm = data[1]
    energy: int | None = None
    if flags & _ENERGY:
        (energy,) = struct.unpack_from("<H", data, 1 + hr_size)
    rest = data[fixed:]
    rr: tuple[float, ...] = ()
    if flags & _RR:
        if len(rest) % 2:
            raise DecodeError(uuid, data, "RR intervals must be whole 2-byte values")
        rr = tuple(v / 1024 for (v,) in struct.iter_unpack("<H", rest))
    elif rest:
        raise DecodeError(
            uuid, data, f"{len(rest)} byte(s) after the fields that flags 0x{flags:02x} announce"
        )
    contact: bool | None = None
    if flags & _CONTACT_SUPPORTED:
        contact = bool(flags & _CONTACT_DETECTED)
    return HeartRateReading(bpm=bpm, contact=contact, energy_kj=energy, rr_s=rr)


def decode(characteristic_uuid: str, payload: bytes | bytearray) -> list[Reading]:
    """Decode a heart rate strap's Heart Rate Measurement or Battery Level."""
    uuid = char_uuid(characteristic_uuid)
    if uuid == HEART_RATE_MEASUREMENT:
        return [decode_measurement(payload)]
    if uuid == BATTERY_LEVEL:
        return [battery.decode_level(payload)]
    raise unknown(uuid, bytes(payload), "heart rate")
