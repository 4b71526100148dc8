"""Decoders against every test vector in ble-protocols.md, and their error messages."""

from __future__ import annotations

import pytest

from devices import uuids
from devices.drivers import DECODERS, battery, heart_rate, infinitime, rsc
from devices.drivers.infinitime import (
    Alert,
    decode_new_alert,
    encode_immediate_alert,
    encode_new_alert,
)
from devices.errors import DecodeError
from devices.readings import (
    Acceleration,
    BatteryLevel,
    HeartRateReading,
    RscReading,
    StepCount,
)


def h(text: str) -> bytes:
    return bytes.fromhex(text)


# --- InfiniTime §1.1 motion service ---------------------------------------------


@pytest.mark.parametrize(
    ("payload", "total"),
    # 432,000 (80 97 06 00) is the most a person steps in a day: more, up to
    # ff ff ff ff, is a DecodeError (tests/devices/test_plausible_steps.py).
    [("10 27 00 00", 10000), ("00 00 00 00", 0), ("80 97 06 00", 432_000)],
)
def test_infinitime_step_count_vectors(payload: str, total: int) -> None:
    assert infinitime.decode(uuids.STEP_COUNT, h(payload)) == [StepCount(total)]


@pytest.mark.parametrize(
    ("payload", "xyz"),
    [
        ("00 00 00 00 00 04", (0.0, 0.0, 1.0)),
        ("00 fc 40 00 c0 ff", (-1.0, 0.0625, -0.0625)),
    ],
)
def test_infinitime_raw_motion_vectors(payload: str, xyz: tuple[float, float, float]) -> None:
    assert infinitime.decode(uuids.RAW_MOTION, h(payload)) == [Acceleration(*xyz)]


def test_uuid_spelling_does_not_matter() -> None:
    upper = uuids.STEP_COUNT.upper()
    assert infinitime.decode(upper, h("10 27 00 00")) == [StepCount(10000)]
    assert heart_rate.decode("2a37", h("00 48")) == [HeartRateReading(bpm=72)]
    assert battery.decode("2A19", b"\x50") == [BatteryLevel(80)]


@pytest.mark.parametrize("payload", ["", "10 27 00", "10 27 00 00 00"])
def test_infinitime_step_count_wrong_length(payload: str) -> None:
    with pytest.raises(DecodeError) as caught:
        infinitime.decode(uuids.STEP_COUNT, h(payload))
    message = str(caught.value)
    assert uuids.STEP_COUNT in message
    assert "4 byte(s)" in message
    assert caught.value.characteristic == uuids.STEP_COUNT
    assert caught.value.payload == h(payload)


def test_infinitime_raw_motion_wrong_length() -> None:
    with pytest.raises(DecodeError, match=r"00030002-.*raw motion .* 6 byte\(s\).*got 5 byte"):
        infinitime.decode(uuids.RAW_MOTION, h("00 00 00 00 00"))


# --- InfiniTime §1.2 heart rate -------------------------------------------------


def test_infinitime_heart_rate_vector() -> None:
    assert infinitime.decode(uuids.HEART_RATE_MEASUREMENT, h("00 48")) == [
        HeartRateReading(bpm=72)
    ]


def test_infinitime_battery() -> None:
    assert infinitime.decode(uuids.BATTERY_LEVEL, b"\x64") == [BatteryLevel(100)]


def test_unknown_characteristic_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="not a characteristic the InfiniTime driver decodes"):
        infinitime.decode(uuids.RSC_MEASUREMENT, h("00 00 02 78"))
    with pytest.raises(DecodeError, match="not a characteristic"):
        rsc.decode("not a uuid at all", b"")


# --- InfiniTime §1.3 prompts ------------------------------------------------------


def test_new_alert_vector() -> None:
    expected = h("00 01 00 4d 6f 76 65 21 00 53 61 74 20 35 30 20 6d 69 6e")
    assert encode_new_alert("Move!", "Sat 50 min") == expected
    assert decode_new_alert(expected) == Alert(category=0, title="Move!", body="Sat 50 min")


def test_incoming_call_vector_from_doc() -> None:
    assert decode_new_alert(b"\x03\x01\x00Mary") == Alert(category=3, title="Mary", body="")


def test_short_alert_packets_are_ignored_by_the_watch() -> None:
    assert decode_new_alert(b"\x00\x01\x00") is None
    assert decode_new_alert(b"") is None


def test_immediate_alert_vector() -> None:
    assert encode_immediate_alert("high") == h("02")
    assert encode_immediate_alert("mild") == h("01")


def test_new_alert_fits_the_watch_and_keeps_the_title() -> None:
    payload = encode_new_alert("Time to move", "x" * 500)
    assert len(payload) == 3 + 99
    alert = decode_new_alert(payload)
    assert alert is not None
    assert alert.title == "Time to move"
    assert alert.body.endswith("...")
    assert len(alert.body) == 99 - len("Time to move") - 1


def test_new_alert_never_splits_a_character() -> None:
    # 3-byte and 4-byte characters at every offset across the cut.
    for pad in range(4):
        payload = encode_new_alert("Pause", "a" * pad + "€😀" * 60)
        assert len(payload) <= 3 + 99
        message = payload[3:]
        title, _, body = message.partition(b"\0")
        assert title == b"Pause"
        body.decode("utf-8")  # strict: raises if a character was cut
        assert body.endswith(b"...")


def test_new_alert_long_title_leaves_room_for_nothing_else() -> None:
    payload = encode_new_alert("T" * 200, "body")
    assert len(payload) == 3 + 99
    alert = decode_new_alert(payload)
    assert alert is not None
    assert alert.title == "T" * 95 + "..."
    assert alert.body == ""


def test_new_alert_nul_cannot_cut_the_title() -> None:
    alert = decode_new_alert(encode_new_alert("Stand\0up", "now\0please"))
    assert alert == Alert(category=0, title="Stand up", body="now please")


def test_new_alert_short_text_is_exact() -> None:
    assert encode_new_alert("Hi", "") == b"\x00\x01\x00Hi\x00"
    exact = encode_new_alert("a" * 40, "b" * 58)  # 40 + 1 + 58 = 99 bytes
    assert exact[3:] == b"a" * 40 + b"\0" + b"b" * 58


# --- SIG RSC Measurement §3.1 ---------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "reading"),
    [
        ("00 00 02 78", RscReading(speed_mps=2.0, cadence_spm=120, running=False)),
        (
            "03 80 01 6e 46 00 e8 03 00 00",
            RscReading(
                speed_mps=1.5, cadence_spm=110, running=False, stride_m=0.70, distance_m=100.0
            ),
        ),
        ("04 00 03 5a", RscReading(speed_mps=3.0, cadence_spm=90, running=True)),
    ],
)
def test_rsc_vectors(payload: str, reading: RscReading) -> None:
    assert rsc.decode(uuids.RSC_MEASUREMENT, h(payload)) == [reading]


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        ("", "at least 4 bytes"),
        ("00 00 02", "exactly 4 bytes"),
        ("01 00 02 78", "flags 0x01 announce exactly 6 bytes"),
        ("03 80 01 6e 46 00 e8 03 00", "exactly 10 bytes"),
        ("00 00 02 78 00", "exactly 4 bytes"),
    ],
)
def test_rsc_malformed(payload: str, why: str) -> None:
    with pytest.raises(DecodeError, match=why):
        rsc.decode(uuids.RSC_MEASUREMENT, h(payload))


def test_rsc_reserved_flag_bits_are_ignored() -> None:
    assert rsc.decode(uuids.RSC_MEASUREMENT, h("f8 00 02 78")) == [
        RscReading(speed_mps=2.0, cadence_spm=120, running=False)
    ]


# --- SIG Heart Rate Measurement §3.2 --------------------------------------------


@pytest.mark.parametrize(
    ("payload", "reading"),
    [
        ("00 48", HeartRateReading(bpm=72)),
        (
            "16 48 a0 03 cc 03",
            HeartRateReading(bpm=72, contact=True, rr_s=(928 / 1024, 972 / 1024)),
        ),
        ("09 48 00 2d 01", HeartRateReading(bpm=72, energy_kj=301)),
    ],
)
def test_heart_rate_vectors(payload: str, reading: HeartRateReading) -> None:
    assert heart_rate.decode(uuids.HEART_RATE_MEASUREMENT, h(payload)) == [reading]


def test_heart_rate_rr_values_in_seconds() -> None:
    (reading,) = heart_rate.decode(uuids.HEART_RATE_MEASUREMENT, h("16 48 a0 03 cc 03"))
    assert isinstance(reading, HeartRateReading)
    assert reading.rr_s == pytest.approx((0.906, 0.949), abs=1e-3)


def test_heart_rate_contact_supported_but_lost() -> None:
    assert heart_rate.decode(uuids.HEART_RATE_MEASUREMENT, h("04 48")) == [
        HeartRateReading(bpm=72, contact=False)
    ]


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        ("", "at least 2 bytes"),
        ("00", "at least 2 bytes"),
        ("01 48", "at least 3 bytes"),
        ("08 48 00", "at least 4 bytes"),
        ("10 48 a0", "whole 2-byte values"),
        ("00 48 00", "1 byte\\(s\\) after the fields"),
    ],
)
def test_heart_rate_malformed(payload: str, why: str) -> None:
    with pytest.raises(DecodeError, match=why):
        heart_rate.decode(uuids.HEART_RATE_MEASUREMENT, h(payload))


# --- Battery Level 0x2A19 -------------------------------------------------------


@pytest.mark.parametrize("level", [0, 1, 57, 100])
def test_battery_levels(level: int) -> None:
    assert battery.decode(uuids.BATTERY_LEVEL, bytes([level])) == [BatteryLevel(level)]


@pytest.mark.parametrize(("payload", "why"), [("", "1 byte"), ("50 00", "1 byte"), ("65", "above")])
def test_battery_malformed(payload: str, why: str) -> None:
    with pytest.raises(DecodeError, match=why):
        battery.decode(uuids.BATTERY_LEVEL, h(payload))


def test_every_driver_decodes_battery_and_kinds_are_named() -> None:
    assert set(DECODERS) == {"infinitime", "rsc", "heart_rate", "witmotion", "polar", "pams",
                             "bangle", "huami"}
    for decode in DECODERS.values():
        assert decode(uuids.BATTERY_LEVEL, b"\x2a") == [BatteryLevel(42)]


def test_bytearray_payloads_as_bleak_delivers_them() -> None:
    assert infinitime.decode(uuids.STEP_COUNT, bytearray(h("10 27 00 00"))) == [StepCount(10000)]


def test_long_garbage_is_shown_shortened_in_the_message() -> None:
    with pytest.raises(DecodeError) as caught:
        battery.decode(uuids.BATTERY_LEVEL, bytes(100))
    assert "got 100 byte(s)" in str(caught.value)
    assert str(caught.value).endswith("...)")
