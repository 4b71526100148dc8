"""Property tests for the Bangle.js decoder: 10,000 random lines each way give
readings or ``DecodeError``, nothing else, and the framer stays bounded.

Random bytes reach the UTF-8 and JSON checks; random JSON objects with the
protocol's message types and keys (values of any JSON type) reach the field
checks behind them.
"""

from __future__ import annotations

import json
import random
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from test_devices_fuzz import BATCH, FUZZ, check_error

from devices import uuids
from devices.drivers import bangle
from devices.errors import DecodeError
from devices.readings import ActivityReport, BatteryLevel, ChargeState, HistoryMark, Reading

KEYS = ("stp", "hrm", "mov", "rt", "ts", "act", "bat", "chg", "state", "count")
TYPES = ("act", "status", "actfetch", "ver", "notify")


def _value(rng: random.Random, depth: int = 0) -> Any:
    """Any JSON value, mostly numbers near the fields' limits."""
    pick = rng.randrange(10 if depth < 2 else 8)
    if pick < 3:
        return rng.choice([0, 1, -1, 100, 101, 255, 256, 3000, 3001, 2**31, 2**32, -(2**31)])
    if pick == 3:
        return rng.randint(-(2**40), 2**40)
    if pick == 4:
        return rng.choice([0.5, 1.0, -2.0, 1e300, 3000.0, 1e20])
    if pick == 5:
        return rng.choice([None, True, False])
    if pick in (6, 7):
        return rng.choice(["", "start", "end", "WALKING", "é", "act", "1"])
    if pick == 8:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(3))]
    return {rng.choice(KEYS): _value(rng, depth + 1) for _ in range(rng.randrange(3))}


def random_message(rng: random.Random) -> bytes:
    """A JSON object with a protocol type (mostly) and some of its keys."""
    message: dict[str, Any] = {"t": rng.choice(TYPES) if rng.random() < 0.9 else _value(rng)}
    for key in rng.sample(KEYS, rng.randrange(len(KEYS) + 1)):
        message[key] = _value(rng)
    return json.dumps(message).encode()


# Hypothesis draws a seed; the batch is built from it (drawing 100 nested JSON
# objects through Hypothesis itself would take minutes).
json_lines = st.integers(0, 2**64).map(
    lambda seed: [random_message(rng) for rng in [random.Random(seed)] for _ in range(BATCH)])
raw_line = st.one_of(st.binary(max_size=40), st.binary(max_size=300))


def check(readings: list[Reading]) -> None:
    for r in readings:
        match r:
            case ActivityReport(steps, realtime, end_ms, bpm, movement, activity, reset):
                assert 0 <= steps <= bangle.MAX_REPORT_STEPS
                assert not (reset and steps)
                assert realtime or not reset
                assert end_ms is None or (end_ms > 0 and not realtime)
                assert bpm is None or 0 <= bpm <= 255
                assert movement is None or movement >= 0
                assert activity is None or isinstance(activity, str)
            case BatteryLevel(percent):
                assert 0 <= percent <= 100
            case ChargeState(charging):
                assert isinstance(charging, bool)
            case HistoryMark(_done, count):
                assert count is None or count >= 0
            case _:
                raise AssertionError(f"unexpected reading {r!r}")


def run(lines: list[bytes]) -> None:
    for line in lines:
        try:
            readings = bangle.decode(uuids.NORDIC_UART_TX, line)
        except DecodeError as error:
            check_error(error, line)
        else:
            check(readings)


@FUZZ
@given(lines=st.lists(raw_line, min_size=BATCH, max_size=BATCH))
def test_fuzz_bangle_random_bytes(lines: list[bytes]) -> None:
    run(lines)


@FUZZ
@given(lines=json_lines)
def test_fuzz_bangle_random_messages(lines: list[bytes]) -> None:
    run(lines)


@FUZZ
@given(lines=json_lines, noise=st.lists(st.binary(max_size=20), min_size=BATCH, max_size=BATCH),
       cut=st.integers(1, 40))
def test_fuzz_bangle_stream(lines: list[bytes], noise: list[bytes], cut: int) -> None:
    """Messages and random bytes interleaved and cut anywhere: the framer's lines
    decode or fail cleanly, and it never holds more than its limit."""
    stream = b"".join(line + b"\r\n" + junk for line, junk in zip(lines, noise, strict=True))
    framer = bangle.LineFramer(limit=256)
    for piece in (stream[i : i + cut] for i in range(0, len(stream), cut)):
        run(framer.feed(piece))
        assert len(framer.buffer.pending) <= 256


def _messages(line: bytes) -> dict[str, Any]:
    parsed = json.loads(line[4:-2])
    assert isinstance(parsed, dict)
    return parsed


@FUZZ
@given(title=st.text(max_size=80), body=st.text(max_size=400), ident=st.integers(0, 2**40))
def test_notify_is_one_ascii_line_that_round_trips(title: str, body: str, ident: int) -> None:
    line = bangle.encode_notify(ident, title, body)
    assert max(line) < 0x80
    assert line.count(b"\n") == 1
    assert line.count(b"\x10") == 1
    got = _messages(line)
    assert got["id"] == ident & 0x7FFFFFFF
    for key, sent, limit in (("title", title, bangle.TITLE_MAX), ("body", body, bangle.BODY_MAX)):
        if len(sent) <= limit:
            assert got[key] == sent
        else:
            assert got[key] == sent[: limit - 3] + "..."
