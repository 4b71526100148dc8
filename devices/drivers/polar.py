"""Polar Measurement Data (PMD) accelerometer: H10, Verity Sense, OH1 (ble-protocols.md §4).

Control point ``FB005C81-...`` (write; responses notified): ``encode_get_settings``,
``encode_start`` (``02 | type | TLVs``), ``encode_stop``; ``decode_control``
reads a response ``F0 | opcode | type | status | more | params`` (or the
device's own ``01 types...`` "measurement stopped"), ``decode_settings`` its
TLV parameters. Data ``FB005C82-...`` (notify): ``decode_frame`` gives the
samples of one frame, in mG, with their timestamps (ns since
2000-01-01T00:00:00 UTC; the frame's stamp is its last sample's).

ACC frame types: raw 0x00 (int8 x 3), 0x01 (int16 x 3, mG: H10), 0x02
(int24 x 3); delta-compressed 0x80 (values in G x FACTOR) and 0x81 (mG x
FACTOR; Verity Sense). A compressed frame is a reference sample, then blocks
``width u8 | count u8 | count x 3 deltas of width bits``, packed LSB first.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from dataclasses import dataclass

from devices.drivers import battery, heart_rate
from devices.drivers._common import char_uuid, unknown
from devices.errors import DecodeError
from devices.readings import Acceleration, Reading
from devices.uuids import BATTERY_LEVEL, HEART_RATE_MEASUREMENT, PMD_CONTROL_POINT, PMD_DATA

ACC = 2
GET_SETTINGS, START, STOP = 1, 2, 3
RESPONSE = 0xF0
STOPPED = 0x01
SAMPLE_RATE, RESOLUTION, RANGE, RANGE_MILLIUNIT, CHANNELS, FACTOR, SECURITY = range(7)
_SETTING_SIZE = {SAMPLE_RATE: 2, RESOLUTION: 2, RANGE: 2, RANGE_MILLIUNIT: 4, CHANNELS: 1,
                 FACTOR: 4, SECURITY: 16}
EPOCH_2000_UNIX_S = 946_684_800
COMPRESSED = 0x80
_RAW_WIDTH = {0x00: 1, 0x01: 2, 0x02: 3}


@dataclass(frozen=True, slots=True)
class ControlResponse:
    """A control point response; ``stopped`` lists the types the device stopped itself."""

    opcode: int
    measurement: int
    status: int
    more: bool
    params: bytes
    stopped: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class AccFrame:
    """One ACC data frame: samples in mG (x, y, z), stamped in ns since 2000 (last sample)."""

    timestamp_ns: int
    frame_type: int
    samples: tuple[tuple[float, float, float], ...]


def encode_get_settings(measurement: int = ACC) -> bytes:
    """Ask which settings a measurement supports (``01 02`` for ACC)."""
    return bytes([GET_SETTINGS, measurement])


def encode_start(rate_hz: int, resolution: int = 16, range_g: int = 8,
                 channels: int | None = None, measurement: int = ACC) -> bytes:
    """Start: ``02 type`` then one-value TLVs (rate, resolution, range[, channels])."""
    out = bytearray([START, measurement])
    for kind, value in ((SAMPLE_RATE, rate_hz), (RESOLUTION, resolution), (RANGE, range_g)):
        out += struct.pack("<BBH", kind, 1, value)
    if channels is not None:
        out += bytes([CHANNELS, 1, channels])
    return bytes(out)


def encode_stop(measurement: int = ACC) -> bytes:
    """Stop a measurement (``03 02`` for ACC)."""
    return bytes([STOP, measurement])


def decode_control(payload: bytes | bytearray) -> ControlResponse:
    """A control point notification."""
    data = bytes(payload)
    if data[:1] == bytes([STOPPED]) and len(data) >= 2:
        return ControlResponse(STOPPED, data[1], 0, False, b"", stopped=tuple(data[1:]))
    if len(data) < 5 or data[0] != RESPONSE:
        raise DecodeError(PMD_CONTROL_POINT, data,
                          "a PMD response is F0 opcode type status more [params]")
    return ControlResponse(data[1], data[2], data[3], data[4] != 0, data[5:])


def decode_settings(params: bytes | bytearray) -> dict[int, tuple[float, ...]]:
    """Settings TLVs (``type count values...``) by type; FACTOR as a float."""
    data = bytes(params)
    out: dict[int, tuple[float, ...]] = {}
    i = 0
    while i < len(data):
        if len(data) - i < 2:
            raise DecodeError(PMD_CONTROL_POINT, data, f"a setting at byte {i} is cut short")
        kind, count = data[i], data[i + 1]
        size = _SETTING_SIZE.get(kind)
        if size is None:
            raise DecodeError(PMD_CONTROL_POINT, data, f"unknown setting type {kind}")
        end = i + 2 + size * count
        if end > len(data):
            raise DecodeError(PMD_CONTROL_POINT, data, f"setting type {kind} is cut short")
        raw = data[i + 2: end]
        if kind == FACTOR:
            values: tuple[float, ...] = struct.unpack(f"<{count}f", raw)
            if not all(math.isfinite(v) for v in values):
                # A NaN or infinite factor would turn every sample into one.
                raise DecodeError(PMD_CONTROL_POINT, data,
                                  f"FACTOR at byte {i} is not a finite number")
        elif size in (1, 2, 4):
            fmt = {1: "B", 2: "H", 4: "I"}[size]
            values = tuple(float(v) for v in struct.unpack(f"<{count}{fmt}", raw))
        else:
            values = tuple(float(b) for b in raw)
        out[kind] = values
        i = end
    return out


def _signed(value: int, bits: int) -> int:
    return value - (1 << bits) if value & (1 << (bits - 1)) else value


def _compressed(data: bytes, offset: int, factor: float) -> list[tuple[float, float, float]]:
    width = 2  # both compressed ACC types carry a 16-bit reference sample
    if len(data) < offset + 3 * width:
        raise DecodeError(PMD_DATA, data, "a compressed frame needs its reference sample")
    ref = [int.from_bytes(data[offset + k * width: offset + (k + 1) * width], "little",
                          signed=True) for k in range(3)]
    samples = [tuple(ref)]
    i = offset + 3 * width
    while i < len(data):
        if len(data) - i < 2:
            raise DecodeError(PMD_DATA, data, f"a delta block header at byte {i} is cut short")
        bits, count = data[i], data[i + 1]
        if not 1 <= bits <= 32:
            raise DecodeError(PMD_DATA, data, f"delta width {bits} bits is not 1..32")
        size = math.ceil(bits * count * 3 / 8)
        block = data[i + 2: i + 2 + size]
        if len(block) < size:
            raise DecodeError(PMD_DATA, data, f"a delta block at byte {i} is cut short")
        stream = int.from_bytes(block, "little")
        mask = (1 << bits) - 1
        for n in range(count):
            prev = samples[-1]
            samples.append(tuple(
                prev[k] + _signed((stream >> ((n * 3 + k) * bits)) & mask, bits)
                for k in range(3)))
        i += 2 + size
    return [(s[0] * factor, s[1] * factor, s[2] * factor) for s in samples]


def decode_frame(payload: bytes | bytearray, *, factor: float = 1.0) -> AccFrame:
    """One ACC data frame. ``factor``: the FACTOR of the start response (compressed frames).

    Compressed type 0x80 is in G x FACTOR and is returned in mG (x 1000).
    """
    data = bytes(payload)
    if len(data) < 10:
        raise DecodeError(PMD_DATA, data, "a PMD frame has a 10-byte header")
    if data[0] & 0x3F != ACC:
        raise DecodeError(PMD_DATA, data, f"measurement type {data[0] & 0x3F} is not ACC (2)")
    (ts,) = struct.unpack_from("<Q", data, 1)
    frame_type = data[9]
    if frame_type & COMPRESSED:
        if frame_type == 0x80:
            samples = _compressed(data, 10, factor * 1000.0)
        elif frame_type == 0x81:
            samples = _compressed(data, 10, factor)
        else:
            raise DecodeError(PMD_DATA, data, f"compressed ACC frame type 0x{frame_type:02x}")
    else:
        width = _RAW_WIDTH.get(frame_type)
        if width is None:
            raise DecodeError(PMD_DATA, data, f"raw ACC frame type 0x{frame_type:02x}")
        body = data[10:]
        if not body or len(body) % (3 * width):
            raise DecodeError(PMD_DATA, data,
                              f"raw frame type {frame_type} is samples of 3 x {width} bytes")
        vals = [int.from_bytes(body[j: j + width], "little", signed=True)
                for j in range(0, len(body), width)]
        samples = [(float(vals[j]), float(vals[j + 1]), float(vals[j + 2]))
                   for j in range(0, len(vals), 3)]
    return AccFrame(ts, frame_type, tuple(samples))


def sample_times_ns(frame_ts: int, count: int, *, previous_ts: int | None = None,
                    rate_hz: float | None = None) -> list[int]:
    """Timestamps (ns since 2000) of a frame's samples, the last being ``frame_ts``.

    Spaced by ``(frame_ts - previous_ts) / count`` after an earlier frame, else by
    ``1 / rate_hz``; truncated to whole ns.
    """
    if count <= 0:
        return []
    if previous_ts is not None:
        step = (frame_ts - previous_ts) / count
        return [int(previous_ts + step * (i + 1)) for i in range(count - 1)] + [frame_ts]
    if rate_hz is None or rate_hz <= 0:
        raise ValueError("the first frame needs the sample rate")
    step = 1e9 / rate_hz
    return [int(frame_ts - step * (count - 1 - i)) for i in range(count)]


def unix_seconds(timestamp_ns: int) -> float:
    """A PMD timestamp as unix seconds (meaningless if the device clock was never set)."""
    return EPOCH_2000_UNIX_S + timestamp_ns / 1e9


def decode(characteristic_uuid: str, payload: bytes | bytearray) -> list[Reading]:
    """Acceleration readings (g) of a PMD data frame; a control response gives none.

    Compressed frames are read with FACTOR 1; ``decoder`` gives the decoder for
    the FACTOR a start response announced.
    """
    return _decode(characteristic_uuid, payload, 1.0)


def decoder(factor: float) -> Callable[[str, bytes | bytearray], list[Reading]]:
    """``decode``, with compressed frames scaled by ``factor`` (the start response's FACTOR)."""
    if not (math.isfinite(factor) and factor > 0):
        raise ValueError(f"FACTOR must be a positive number, not {factor!r}")

    def decode_scaled(characteristic_uuid: str, payload: bytes | bytearray) -> list[Reading]:
        return _decode(characteristic_uuid, payload, factor)

    return decode_scaled


def _decode(characteristic_uuid: str, payload: bytes | bytearray, factor: float
            ) -> list[Reading]:
    uuid = char_uuid(characteristic_uuid)
    if uuid == PMD_DATA:
        frame = decode_frame(payload, factor=factor)
        return [Acceleration(x / 1000, y / 1000, z / 1000) for x, y, z in frame.samples]
    if uuid == PMD_CONTROL_POINT:
        decode_control(payload)
        return []
    if uuid == HEART_RATE_MEASUREMENT:  # H10 and OH1 also send heart rate over 0x180D
        return [heart_rate.decode_measurement(payload)]
    if uuid == BATTERY_LEVEL:
        return [battery.decode_level(payload)]
    raise unknown(uuid, bytes(payload), "Polar PMD")
