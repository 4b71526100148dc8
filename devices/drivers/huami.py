"""Huami bands (Xiaomi Mi Band 4, 5, 6, Amazfit Band 5): decoders and encoders.

What is relied on, and where it comes from (Gadgetbridge's Huami support:
``HuamiService``, ``InitOperation``, ``HuamiSupport``, ``HuamiBatteryInfo``,
``AbstractFetchOperation``, ``FetchActivityOperation``; the test vectors in
``tests/devices/test_devices_huami.py`` are our own):

* services 0xFEE0 and 0xFEE1; the band's own characteristics are
  ``0000XXXX-0000-3512-2118-0009af100700`` (``huami_uuid``);
* auth ``...0009`` (write, notify). The band needs a 16-byte key that only the
  vendor's app gets from the vendor's server at pairing (Gadgetbridge's "Huami
  Server Pairing" page tells how people obtain it). Mi Band 4 and later use
  "crypt flags" 0x80 (``MiBand4Support``, which the later bands' supports
  extend) and "auth flags" 0x00 (``MiBand3Support``): the phone asks for a random number
  with ``82 00 02 01 00``, the band answers ``10 82 01`` + 16 random bytes, the
  phone sends ``83 00`` + the number encrypted with AES-128-ECB under the key,
  and the band answers ``10 83 01`` (success) or ``10 83 xx`` with another
  status (refused: the key is wrong);
* realtime steps ``...0007`` (notify, read): 13 bytes, ``0C``, steps uint16 LE
  at 1, then distance and calories (uint32 LE at 5 and 9, not used). The count
  is the band's steps *today*: it restarts at the band's midnight and on a
  reboot;
* battery ``...0006`` (notify, read): byte 1 the level in percent, byte 2 the
  state (0 normal, 1 charging), then dates of the last charges (not used);
* activity log: the phone writes ``01 01`` + a start time to ``...0004``
  (notify); the band answers ``10 01 01``, a uint32, and the time of its first
  record (15 bytes), then sends the records on ``...0005`` after the phone
  writes ``02``, and ``10 02 01`` on ``...0004`` when done. The request's time
  is year (uint16 LE), month, day, hour, minute, then ``00`` and the UTC offset
  in quarter hours (int8) (``getTimeBytes`` to the minute); the band's is
  year, month, day, hour, minute, second, quarter hours. Each ``...0005``
  notification is a packet counter byte and 4-byte records, one per minute in
  order from the first record's time: raw kind, intensity, steps (uint8),
  heart rate (255 or 0: none);
* raw kinds (as Gadgetbridge's ``MiBand2SampleProvider`` reads them, and
  ``pacer import gadgetbridge`` from its database): the low four bits; 3 not
  worn, 6 on the charger, 9 and 11 light and deep sleep, 0 and 10 "as the
  minute before" (``raw_kind``, from ``devices.huami_kinds``);
* the band's clock, set at every connect as Gadgetbridge does: Current Time
  0x2A2B, year (uint16 LE), month, day, hour, minute, second, day of the week
  (1 Monday .. 7 Sunday), 1/256 s (0), then ``00`` and the quarter hours
  (``encode_current_time``);
* prompts, as Gadgetbridge sends an SMS to these bands (``sendNotificationNew``
  with the extra header of ``MiBand4Support``, ``writeToChunked``): category 5
  (SMS/MMS), four 0 bytes, count 1, ``title NUL text``, then a stand-in
  source name ``NUL space NUL``, at most 230 bytes before the name, written to
  the chunked characteristic ``...0020`` in pieces of at most 17 bytes (the
  default ATT MTU 23 less 6), each after three bytes: 0, flags (0x40 a piece
  after the first, 0x80 the last, both for a single piece) and the piece's
  number (``encode_chunked_alert``); the band buzzes and shows it. A band
  without that characteristic gets the standard services instead: Immediate
  Alert 0x2A06 ``02`` (high alert: it vibrates) and a New Alert 0x2A46 in the
  SIG layout, category 5, count 1, ``title NUL text`` (``encode_alert``).

Every decoder raises only ``DecodeError``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from devices.drivers import battery
from devices.drivers._common import char_uuid, need_length, unknown
from devices.errors import DecodeError, DeviceError
from devices.readings import BatteryLevel, ChargeState, LogMark, LogRecords, Reading, StepCount
from devices.uuids import BATTERY_LEVEL


def huami_uuid(short: int) -> str:
    """A band characteristic in the vendor's base UUID."""
    return f"{short:08x}-0000-3512-2118-0009af100700"


SERVICE_FEE0 = "0000fee0-0000-1000-8000-00805f9b34fb"
SERVICE_FEE1 = "0000fee1-0000-1000-8000-00805f9b34fb"
FETCH = huami_uuid(0x0004)
ACTIVITY_DATA = huami_uuid(0x0005)
BATTERY_INFO = huami_uuid(0x0006)
REALTIME_STEPS = huami_uuid(0x0007)
AUTH = huami_uuid(0x0009)

KEY_BYTES = 16
AUTH_REQUEST = bytes((0x82, 0x00, 0x02, 0x01, 0x00))
AUTH_RANDOM_REPLY = bytes((0x10, 0x82, 0x01))
AUTH_ANSWER = bytes((0x83, 0x00))
AUTH_OK = bytes((0x10, 0x83, 0x01))
FETCH_ACTIVITY = bytes((0x01, 0x01))
FETCH_STARTED = bytes((0x10, 0x01, 0x01))
FETCH_GO = bytes((0x02,))
FETCH_DONE = bytes((0x10, 0x02, 0x01))
RECORD_BYTES = 4
STEPS_MARK = 0x0C
SMS_CATEGORY = 0x05
HIGH_ALERT = bytes((0x02,))
ALERT_TEXT_MAX = 230
"""Bytes of ``title NUL text`` sent (Gadgetbridge's limit for these bands)."""
CHUNKED = huami_uuid(0x0020)
CHUNK_DATA = 17
"""Bytes of data in one chunked write: the default ATT MTU (23) less 6."""
CHUNKED_HEADER = bytes((SMS_CATEGORY, 0, 0, 0, 0, 1))
CHUNKED_SUFFIX = b"\0 \0"
"""A stand-in source name: without one the band does not show an SMS."""
TITLE_MAX = 32
"""Characters of the title Gadgetbridge keeps."""
NO_HEART_RATE = (0, 255)


class AuthKeyError(DeviceError, ValueError):
    """An auth key that is not 16 bytes in hex (the message never holds the key)."""


def parse_key(text: str) -> bytes:
    """The 16-byte key from its hex form: 32 hex digits, an optional ``0x``,
    surrounding white space ignored."""
    s = text.strip()
    if s[:2].lower() == "0x":
        s = s[2:]
    if len(s) != 2 * KEY_BYTES:
        raise AuthKeyError(f"the auth key must be {2 * KEY_BYTES} hex digits "
                        f"(an optional 0x before them), not {len(s)} characters")
    try:
        return bytes.fromhex(s)
    except ValueError:
        raise AuthKeyError("the auth key must be hex digits 0-9 and a-f only") from None


def encrypt(key: bytes, number: bytes) -> bytes:
    """AES-128-ECB of one 16-byte block: the answer to the band's random number."""
    if len(key) != KEY_BYTES or len(number) != KEY_BYTES:
        raise ValueError("AES-128 needs a 16-byte key and a 16-byte block")
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # noqa: S305 - the band's protocol
    return encryptor.update(number) + encryptor.finalize()


def auth_random(reply: bytes) -> bytes:
    """The random number in the band's reply to ``AUTH_REQUEST``."""
    if reply[:3] != AUTH_RANDOM_REPLY or len(reply) != 3 + KEY_BYTES:
        raise DecodeError(AUTH, reply, "not the band's random number (10 82 01 + 16 bytes)")
    return reply[3:]


def auth_answer(key: bytes, reply: bytes) -> bytes:
    """What to write after the band's random number."""
    return AUTH_ANSWER + encrypt(key, auth_random(reply))


def auth_accepted(reply: bytes) -> bool:
    """Whether the band's last auth reply says the answer was right."""
    if len(reply) < 3 or reply[:2] != AUTH_OK[:2]:
        raise DecodeError(AUTH, reply, "not the band's verdict on the answer (10 83 xx)")
    return reply[2] == AUTH_OK[2]


# --- times --------------------------------------------------------------------------


def encode_time(at: float, offset_s: float) -> bytes:
    """A start time to the minute: year, month, day, hour, minute, 0, quarter hours."""
    local = datetime.fromtimestamp(at, UTC) + timedelta(seconds=offset_s)
    return struct.pack("<HBBBBBb", local.year, local.month, local.day, local.hour,
                       local.minute, 0, round(offset_s / 900))


def encode_current_time(at: float, offset_s: float) -> bytes:
    """The band's clock (Current Time 0x2A2B) set to ``at`` in the given offset."""
    local = datetime.fromtimestamp(int(at), UTC) + timedelta(seconds=offset_s)
    return struct.pack("<HBBBBBBBBb", local.year, local.month, local.day, local.hour,
                       local.minute, local.second, local.isoweekday(), 0, 0,
                       round(offset_s / 900))


def decode_current_time(payload: bytes) -> float:
    """The time ``encode_current_time`` set (for the virtual band)."""
    if len(payload) != 11:
        raise DecodeError("2a2b", payload, "a band's current time is 11 bytes")
    year, month, day, hour, minute, second, _, _, _, quarters = struct.unpack(
        "<HBBBBBBBBb", payload)
    try:
        zone = timezone(timedelta(minutes=15 * quarters))
        return datetime(year, month, day, hour, minute, second, tzinfo=zone).timestamp()
    except (ValueError, OverflowError):
        raise DecodeError("2a2b", payload, "the time is no date") from None


def decode_time(data: bytes) -> float:
    """Unix time of year, month, day, hour, minute, second, quarter hours (8 bytes)."""
    if len(data) != 8:
        raise ValueError("a band time is 8 bytes")
    year, month, day, hour, minute, second, quarters = struct.unpack("<HBBBBBb", data)
    zone = timezone(timedelta(minutes=15 * quarters))
    return datetime(year, month, day, hour, minute, second, tzinfo=zone).timestamp()


def encode_fetch(since: float, offset_s: float) -> bytes:
    """Ask for the activity log from ``since`` (unix s; the band's zone offset)."""
    return FETCH_ACTIVITY + encode_time(since, offset_s)


@dataclass(frozen=True, slots=True)
class FetchStart:
    """The band will send ``count`` (as it counts) from its record at ``first`` (unix s)."""

    count: int
    first: float


def decode_fetch_start(reply: bytes) -> FetchStart:
    """The band's answer to ``encode_fetch``."""
    if len(reply) != 15 or reply[:3] != FETCH_STARTED:
        raise DecodeError(FETCH, reply, "not a fetch start (10 01 01, uint32, a time)")
    try:
        first = decode_time(reply[7:])
    except (ValueError, OverflowError, OSError):
        raise DecodeError(FETCH, reply, "the first record's time is no date") from None
    (count,) = struct.unpack_from("<I", reply, 3)
    return FetchStart(count, first)


# --- readings -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Record:
    """One minute of the band's activity log."""

    kind: int
    intensity: int
    steps: int
    bpm: int | None


def decode_records(payload: bytes) -> tuple[int, tuple[Record, ...]]:
    """A ``...0005`` notification: the packet counter and its minutes."""
    data = bytes(payload)
    if len(data) < 1 + RECORD_BYTES or (len(data) - 1) % RECORD_BYTES:
        raise DecodeError(ACTIVITY_DATA, data,
                          "activity data must be a counter byte and 4-byte records")
    records = tuple(
        Record(kind, intensity, steps, None if bpm in NO_HEART_RATE else bpm)
        for kind, intensity, steps, bpm in struct.iter_unpack("<BBBB", data[1:])
    )
    return data[0], records


def decode(characteristic_uuid: str, payload: bytes | bytearray) -> list[Reading]:
    """Decode one value from a Huami band (the log's records: ``decode_records``)."""
    uuid = char_uuid(characteristic_uuid)
    data = bytes(payload)
    if uuid == REALTIME_STEPS:
        need_length(uuid, data, 13, "realtime steps")
        if data[0] != STEPS_MARK:
            raise DecodeError(uuid, data, "realtime steps start with 0c")
        (total,) = struct.unpack_from("<H", data, 1)
        return [StepCount(total)]
    if uuid == BATTERY_INFO:
        if len(data) < 3:
            raise DecodeError(uuid, data, "battery info needs at least 3 bytes")
        level, state = data[1], data[2]
        if level > 100:
            raise DecodeError(uuid, data, f"a battery level of {level}% is over 100")
        return [BatteryLevel(level), ChargeState(state == 1)]
    if uuid == ACTIVITY_DATA:
        _, records = decode_records(data)
        return [LogRecords(tuple((r.kind, r.steps) for r in records))]
    if uuid in (FETCH, AUTH):
        if not data or data[0] != 0x10:
            raise DecodeError(uuid, data, "a band reply starts with 10")
        if uuid == FETCH and data[:3] == FETCH_STARTED:
            start = decode_fetch_start(data)
            return [LogMark(start.first, start.count)]
        if uuid == FETCH and data == FETCH_DONE:
            return [LogMark()]
        return []  # the auth replies, a refused fetch: the session's hooks read them
    if uuid == BATTERY_LEVEL:  # the SIG Battery Level, where a band has it too
        return battery.decode(uuid, data)
    raise unknown(uuid, data, "huami")


def encode_alert(title: str, text: str) -> bytes:
    """A New Alert (0x2A46): SMS category, one alert, ``title NUL text`` cut to fit."""
    return bytes((SMS_CATEGORY, 1)) + _fit(title.encode() + b"\0" + text.encode(),
                                           ALERT_TEXT_MAX)


def encode_chunked_alert(title: str, text: str) -> list[bytes]:
    """The writes (in order) that show ``title`` and ``text`` on a Mi Band 4 or later."""
    message = _fit((title[:TITLE_MAX] + "\0" + text).encode(),
                   ALERT_TEXT_MAX - len(CHUNKED_HEADER))
    data = CHUNKED_HEADER + message + CHUNKED_SUFFIX
    pieces = [data[i : i + CHUNK_DATA] for i in range(0, len(data), CHUNK_DATA)]
    writes = []
    for n, piece in enumerate(pieces):
        last = n == len(pieces) - 1
        flags = (0x80 | (0x40 if n == 0 else 0)) if last else (0x40 if n else 0)
        writes.append(bytes((0, flags, n & 0xFF)) + piece)
    return writes


def decode_chunked_alert(writes: list[bytes]) -> tuple[str, str]:
    """The title and text of ``encode_chunked_alert``'s writes (for the virtual band)."""
    data = b"".join(w[3:] for w in writes)
    if len(data) < len(CHUNKED_HEADER) or data[0] != SMS_CATEGORY:
        raise DecodeError(CHUNKED, data, "not an SMS alert (05 and a header)")
    body = data[len(CHUNKED_HEADER) :].removesuffix(CHUNKED_SUFFIX)
    title, _, text = body.decode("utf-8", "replace").partition("\0")
    return title, text


def _fit(data: bytes, limit: int) -> bytes:
    """``data`` cut to ``limit`` bytes at a whole UTF-8 character."""
    return data[:limit].decode("utf-8", "ignore").encode()


def decode_alert(payload: bytes) -> tuple[str, str]:
    """The title and text of a New Alert ``encode_alert`` made (for the virtual band)."""
    if len(payload) < 2:
        raise DecodeError("2a46", payload, "a New Alert has a category and a count")
    title, _, text = payload[2:].decode("utf-8", "replace").partition("\0")
    return title, text


# --- the band's side (for the virtual band and the test vectors) ----------------------


def decode_fetch(payload: bytes) -> float:
    """The start time (unix s) of a fetch request ``encode_fetch`` made."""
    if len(payload) != 10 or payload[:2] != FETCH_ACTIVITY:
        raise DecodeError(FETCH, payload, "not a fetch request (01 01 and a time)")
    year, month, day, hour, minute, _, quarters = struct.unpack("<HBBBBBb", payload[2:])
    try:
        zone = timezone(timedelta(minutes=15 * quarters))
        return datetime(year, month, day, hour, minute, tzinfo=zone).timestamp()
    except (ValueError, OverflowError):
        raise DecodeError(FETCH, payload, "the start time is no date") from None


def encode_fetch_start(count: int, first: float, offset_s: float) -> bytes:
    """The band's answer to a fetch request: ``count`` records from ``first``."""
    local = datetime.fromtimestamp(first, UTC) + timedelta(seconds=offset_s)
    return FETCH_STARTED + struct.pack("<IHBBBBBb", count, local.year, local.month, local.day,
                                       local.hour, local.minute, local.second,
                                       round(offset_s / 900))


def encode_records(counter: int, records: list[tuple[int, int]]) -> bytes:
    """One activity data packet: the counter and (raw kind, steps) minutes, no heart rate."""
    return bytes((counter & 0xFF,)) + b"".join(
        bytes((kind, 0, steps, 255)) for kind, steps in records)


def encode_realtime(total: int) -> bytes:
    """A realtime steps value: steps today (distance and calories 0)."""
    return bytes((STEPS_MARK,)) + struct.pack("<HHII", total & 0xFFFF, 0, 0, 0)


def encode_battery(level: int, charging: bool) -> bytes:
    """A battery info value (the last-charge dates left 0)."""
    return bytes((0x0F, level, 1 if charging else 0)) + bytes(17)
