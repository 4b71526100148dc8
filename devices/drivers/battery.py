"""Battery Level 0x2A19: one unsigned byte, 0..100 %."""

from __future__ import annotations

from devices.drivers._common import char_uuid, need_length, unknown
from devices.errors import DecodeError
from devices.readings import BatteryLevel, Reading
from devices.uuids import BATTERY_LEVEL


def decode_level(payload: bytes | bytearray) -> BatteryLevel:
    """The level in one Battery Level value."""
    data = bytes(payload)
    need_length(BATTERY_LEVEL, data, 1, "a battery level")
    if data[0] > 100:
        raise DecodeError(BATTERY_LEVEL, data, f"battery level {data[0]} % is above 100 %")
    return BatteryLevel(data[0])


def decode(characteristic_uuid: str, payload: bytes | bytearray) -> list[Reading]:
    """Decode a Battery Level value; any other characteristic is an error."""
    uuid = char_uuid(characteristic_uuid)
    if uuid != BATTERY_LEVEL:
        raise unknown(uuid, bytes(payload), "battery")
    return [decode_level(payload)]
