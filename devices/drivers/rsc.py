"""SIG RSC Measurement 0x2A53 (ble-protocols.md §3.1), plus Battery Level.

Layout: flags u8 (bit 0 stride length present, bit 1 total distance present,
bit 2 running; bits 3-7 reserved and ignored), speed u16 in 1/256 m/s, cadence
u8 in 1/min, then stride length u16 in 1/100 m and total distance u32 in
1/10 m when their flags are set. Nothing may follow.
"""

from __future__ import annotations

import struct

from devices.drivers import battery
from devices.drivers._common import char_uuid, unknown
from devices.errors import DecodeError
from devices.readings import Reading, RscReading
from devices.uuids import BATTERY_LEVEL, RSC_MEASUREMENT

_STRIDE = 0x01
_DISTANCE = 0x02
_RUNNING = 0x04


def decode_measurement(payload: bytes | bytearray) -> RscReading:
    """One RSC Measurement value."""
    data = bytes(payload)
    uuid = RSC_MEASUREMENT
    if not data:
        raise DecodeError(uuid, data, "an RSC measurement needs at least 4 bytes")
    flags = data[0]
    expected = 4 + (2 if flags & _STRIDE else 0) + (4 if flags & _DISTANCE else 0)
    if len(data) != expected:
        raise DecodeError(uuid, data, f"flags 0x{flags:02x} announce exactly {expected} bytes")
    speed_raw, cadence = struct.unpack_from("<HB", data, 1)
    offset = 4
    stride: float | None = None
    if flags & _STRIDE:
        (stride_raw,) = struct.unpack_from("<H", data, offset)
        stride = stride_raw / 100
        offset += 2
    distance: float | None = None
    if flags & _DISTANCE:
        (distance_raw,) = struct.unpack_from("<I", data, offset)
        distance = distance_raw / 10
    return RscReading(
        speed_mps=speed_raw / 256,
        cadence_spm=cadence,
        running=bool(flags & _RUNNING),
        stride_m=stride,
        distance_m=distance,
    )


def decode(characteristic_uuid: str, payload: bytes | bytearray) -> list[Reading]:
    """Decode a foot pod's RSC Measurement or Battery Level."""
    uuid = char_uuid(characteristic_uuid)
    if uuid == RSC_MEASUREMENT:
        return [decode_measurement(payload)]
    if uuid == BATTERY_LEVEL:
        return [battery.decode_level(payload)]
    raise unknown(uuid, bytes(payload), "RSC")
