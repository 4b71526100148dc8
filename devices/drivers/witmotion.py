"""WitMotion BWT901BLE5.0 / WT901BLECL (ble-protocols.md §5.1).

Notifications on ``0000ffe4-...9a34fb`` carry 20-byte packets, little-endian:

* ``55 61`` + 9 x int16: acceleration x, y, z (x 16/32768 g), angular rate
  (x 2000/32768 deg/s), roll, pitch, yaw (x 180/32768 deg);
* ``55 71 reg 00`` + 16 bytes: a register read back (``encode_read``).

A notification may hold several packets back to back; the decoder takes
whole packets only (``Reassembler`` joins packets split across
notifications, resynchronising on ``55 61`` / ``55 71`` as the vendor SDK
does). Commands are 5 bytes ``FF AA reg lo hi`` written to ``...ffe9``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from devices.drivers import battery
from devices.drivers._common import char_uuid, unknown
from devices.errors import DecodeError
from devices.readings import Acceleration, Reading
from devices.uuids import BATTERY_LEVEL, WITMOTION_NOTIFY

PACKET = 20
DATA = 0x61
REGISTER = 0x71
ACC_G = 16 / 32768
GYRO_DPS = 2000 / 32768
ANGLE_DEG = 180 / 32768

RATE_REGISTER = 0x03
RATE_CODES: dict[float, int] = {1: 3, 5: 5, 10: 6, 50: 8, 100: 9, 200: 11}
"""Output rate (Hz) -> value of register 0x03 (vendor SDK ``SetRRate``)."""
DEFAULT_RATE_HZ = 10.0
"""The rate a BWT901BLE5.0 sends at unless told otherwise."""

UNLOCK = bytes.fromhex("ff aa 69 88 b5")
SAVE = bytes.fromhex("ff aa 00 00 00")


@dataclass(frozen=True, slots=True)
class WitPacket:
    """One ``55 61`` packet: acceleration (g), angular rate (deg/s), angles (deg)."""

    acc: tuple[float, float, float]
    gyro: tuple[float, float, float]
    roll: float
    pitch: float
    yaw: float


@dataclass(frozen=True, slots=True)
class RegisterReply:
    """One ``55 71`` packet: register ``reg`` and the eight int16 that follow it."""

    reg: int
    values: tuple[int, ...]


def decode_packets(payload: bytes | bytearray) -> list[WitPacket | RegisterReply]:
    """Every packet of a notification made of whole 20-byte packets."""
    data = bytes(payload)
    uuid = WITMOTION_NOTIFY
    if not data or len(data) % PACKET:
        raise DecodeError(uuid, data, "WitMotion notifications are whole 20-byte packets")
    out: list[WitPacket | RegisterReply] = []
    for i in range(0, len(data), PACKET):
        head, kind = data[i], data[i + 1]
        if head != 0x55 or kind not in (DATA, REGISTER):
            raise DecodeError(uuid, data, f"packet at byte {i} does not start 55 61 or 55 71")
        if kind == DATA:
            v = struct.unpack_from("<9h", data, i + 2)
            out.append(WitPacket(
                acc=(v[0] * ACC_G, v[1] * ACC_G, v[2] * ACC_G),
                gyro=(v[3] * GYRO_DPS, v[4] * GYRO_DPS, v[5] * GYRO_DPS),
                roll=v[6] * ANGLE_DEG, pitch=v[7] * ANGLE_DEG, yaw=v[8] * ANGLE_DEG,
            ))
        else:
            values = struct.unpack_from("<8h", data, i + 4)
            out.append(RegisterReply(reg=data[i + 2], values=values))
    return out


def decode(characteristic_uuid: str, payload: bytes | bytearray) -> list[Reading]:
    """Acceleration readings of a WitMotion notification (register replies give none)."""
    uuid = char_uuid(characteristic_uuid)
    if uuid == WITMOTION_NOTIFY:
        return [Acceleration(*p.acc) for p in decode_packets(payload) if isinstance(p, WitPacket)]
    if uuid == BATTERY_LEVEL:
        return [battery.decode_level(payload)]
    raise unknown(uuid, bytes(payload), "WitMotion")


def encode_command(reg: int, value: int) -> bytes:
    """``FF AA reg lo hi`` (value a uint16)."""
    if not (0 <= reg <= 0xFF and 0 <= value <= 0xFFFF):
        raise ValueError("register is one byte, value two")
    return bytes([0xFF, 0xAA, reg, value & 0xFF, value >> 8])


def encode_rate(hz: float) -> bytes:
    """The command that sets the output rate (send ``UNLOCK`` first, ``SAVE`` after)."""
    code = RATE_CODES.get(hz)
    if code is None:
        raise ValueError(f"WitMotion rates: {', '.join(f'{r:g}' for r in RATE_CODES)} Hz")
    return encode_command(RATE_REGISTER, code)


def encode_read(reg: int) -> bytes:
    """Ask for register ``reg`` (the reply is a ``55 71`` packet)."""
    return encode_command(0x27, reg)


class Reassembler:
    """Whole packets from a byte stream cut anywhere (bytes before a header are dropped)."""

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, data: bytes | bytearray) -> bytes:
        """Add bytes; return the whole packets now complete, back to back."""
        buf = self._buf + bytes(data)
        out = bytearray()
        i = 0
        while len(buf) - i >= 2:
            if buf[i] == 0x55 and buf[i + 1] in (DATA, REGISTER):
                if len(buf) - i < PACKET:
                    break
                out += buf[i: i + PACKET]
                i += PACKET
            else:
                i += 1
        self._buf = buf[i:]
        return bytes(out)
