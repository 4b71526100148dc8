"""Property tests: random bytes into every decoder give readings or DecodeError, nothing else.

10,000 payloads per decoder, weighted towards the lengths the layouts use (so
the flag combinations are all reached), at any of the characteristics the
decoder knows plus UUIDs it does not.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices import uuids
from devices.drivers import Decoder, battery, heart_rate, infinitime, rsc
from devices.drivers.infinitime import decode_new_alert, encode_new_alert
from devices.errors import DecodeError
from devices.readings import (
    Acceleration,
    BatteryLevel,
    HeartRateReading,
    Reading,
    RscReading,
    StepCount,
)

# Hypothesis spends most of its time per example, not per byte: 100 examples of
# 100 payloads each give the 10,000 payloads per decoder in well under a second
# (one payload per example would take 3 s per decoder). A failing batch still
# shrinks to one minimal payload.
BATCHES = 100
BATCH = 100
FUZZ = settings(
    max_examples=BATCHES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

payload = st.one_of(st.binary(max_size=12), st.binary(max_size=64))
foreign = st.sampled_from([uuids.RSC_FEATURE, uuids.NEW_ALERT, "2a00", "", "zz-not-a-uuid"])


def batch(known: list[str]) -> st.SearchStrategy[list[tuple[str, bytes]]]:
    """BATCH (characteristic, payload) pairs, mostly at the decoder's own characteristics."""
    uuid = st.one_of(st.sampled_from(known), st.sampled_from(known), foreign)
    return st.lists(st.tuples(uuid, payload), min_size=BATCH, max_size=BATCH)


def check_valid(readings: list[Reading]) -> None:
    assert len(readings) == 1
    (r,) = readings
    match r:
        case StepCount(total):
            assert 0 <= total < 2**32
        case Acceleration(x, y, z):
            assert all(-32.0 <= v < 32.0 for v in (x, y, z))
        case HeartRateReading(bpm, _contact, energy, rr):
            assert 0 <= bpm < 2**16
            assert energy is None or 0 <= energy < 2**16
            assert all(0 <= v < 64 for v in rr)
        case RscReading(speed, cadence, _running, stride, distance):
            assert 0 <= speed < 256
            assert 0 <= cadence < 256
            assert stride is None or 0 <= stride < 656
            assert distance is None or (distance >= 0 and math.isfinite(distance))
        case BatteryLevel(percent):
            assert 0 <= percent <= 100


def check_error(error: DecodeError, data: bytes) -> None:
    """The message names the characteristic and what was wrong."""
    shown = error.characteristic or "(no UUID)"
    assert str(error).startswith(f"characteristic {shown}: {error.problem}")
    assert error.payload == data


def run(decode: Decoder, pairs: list[tuple[str, bytes]],
        check: Callable[[list[Reading]], None] = check_valid) -> int:
    """Decode every pair: readings that pass ``check``, or a ``DecodeError``
    that says what was wrong; the number that decoded."""
    good = 0
    for uuid, data in pairs:
        try:
            readings = decode(uuid, data)
        except DecodeError as error:
            check_error(error, data)
        else:
            good += 1
            check(readings)
    return good


@FUZZ
@given(
    pairs=batch(
        [uuids.STEP_COUNT, uuids.RAW_MOTION, uuids.HEART_RATE_MEASUREMENT, uuids.BATTERY_LEVEL]
    )
)
def test_fuzz_infinitime(pairs: list[tuple[str, bytes]]) -> None:
    run(infinitime.decode, pairs)


@FUZZ
@given(pairs=batch([uuids.RSC_MEASUREMENT, uuids.BATTERY_LEVEL]))
def test_fuzz_rsc(pairs: list[tuple[str, bytes]]) -> None:
    run(rsc.decode, pairs)


@FUZZ
@given(pairs=batch([uuids.HEART_RATE_MEASUREMENT, uuids.BATTERY_LEVEL]))
def test_fuzz_heart_rate(pairs: list[tuple[str, bytes]]) -> None:
    run(heart_rate.decode, pairs)


@FUZZ
@given(pairs=batch([uuids.BATTERY_LEVEL]))
def test_fuzz_battery(pairs: list[tuple[str, bytes]]) -> None:
    run(battery.decode, pairs)


@settings(max_examples=500, deadline=None, database=None)
@given(title=st.text(max_size=120), text=st.text(max_size=300))
def test_new_alert_always_fits_and_round_trips_when_short(title: str, text: str) -> None:
    payload = encode_new_alert(title, text)
    assert len(payload) <= 3 + 99
    payload[3:].split(b"\0", 1)[1].decode("utf-8")  # never a cut character
    alert = decode_new_alert(payload)
    assert alert is not None
    clean_title, clean_text = title.replace("\0", " "), text.replace("\0", " ")
    if len(clean_title.encode()) + 1 + len(clean_text.encode()) <= 99:
        assert (alert.title, alert.body) == (clean_title, clean_text)
    else:
        assert alert.title.endswith("...") or alert.body.endswith("...") or alert.body == ""
