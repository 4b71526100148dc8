"""WitMotion, Polar PMD and PAMS decoders: the vectors of ble-protocols.md §§2, 4, 5.1,
their error messages, and 10,000 random payloads per decoder (a value or a
``DecodeError``, nothing else), as tests/devices/test_devices_fuzz.py does for part 1.
"""

from __future__ import annotations

import math
import random
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_devices_fuzz import BATCH, FUZZ, check_error, foreign
from test_devices_fuzz import payload as anything
from test_devices_fuzz import run as fuzz_run

from devices import uuids
from devices.drivers import Decoder, pams, polar, witmotion
from devices.drivers.pams import ActivityNow, StepSummary
from devices.drivers.polar import AccFrame, ControlResponse
from devices.drivers.witmotion import Reassembler, RegisterReply, WitPacket
from devices.errors import DecodeError
from devices.readings import Acceleration, BatteryLevel, HeartRateReading, Reading, StepCount


def h(text: str) -> bytes:
    return bytes.fromhex(text)


# --- WitMotion §5.1 ------------------------------------------------------------------

WIT_UP = "55 61 00 00 00 00 00 08 00 00 00 00 00 00 00 00 00 00 00 40"
WIT_PITCH = "55 61 00 08 00 00 00 00 00 00 00 00 00 00 00 00 00 c0 00 00"


def test_witmotion_packet_vectors() -> None:
    assert witmotion.decode_packets(h(WIT_UP)) == [
        WitPacket(acc=(0.0, 0.0, 1.0), gyro=(0.0, 0.0, 0.0), roll=0.0, pitch=0.0, yaw=90.0)
    ]
    assert witmotion.decode_packets(h(WIT_PITCH)) == [
        WitPacket(acc=(1.0, 0.0, 0.0), gyro=(0.0, 0.0, 0.0), roll=0.0, pitch=-90.0, yaw=0.0)
    ]
    # Back to back in one notification, and as the connection manager sees them.
    assert witmotion.decode(uuids.WITMOTION_NOTIFY, h(WIT_UP + WIT_PITCH)) == [
        Acceleration(0.0, 0.0, 1.0), Acceleration(1.0, 0.0, 0.0)
    ]
    assert witmotion.decode(uuids.BATTERY_LEVEL, b"\x50") == [BatteryLevel(80)]


def test_witmotion_register_reply_gives_no_reading() -> None:
    reply = h("55 71 3a 00") + struct.pack("<8h", 120, -240, 360, 0, 0, 0, 0, 0)
    assert witmotion.decode_packets(reply) == [
        RegisterReply(reg=0x3A, values=(120, -240, 360, 0, 0, 0, 0, 0))
    ]
    assert witmotion.decode(uuids.WITMOTION_NOTIFY, reply + h(WIT_UP)) == [
        Acceleration(0.0, 0.0, 1.0)
    ]


def test_witmotion_commands() -> None:
    assert witmotion.encode_rate(50) == h("ff aa 03 08 00")  # the vendor's own example
    assert [witmotion.encode_rate(hz)[3] for hz in (1, 5, 10, 50, 100, 200)] == [
        3, 5, 6, 8, 9, 11
    ]
    assert witmotion.encode_read(0x51) == h("ff aa 27 51 00")
    assert h("ff aa 69 88 b5") == witmotion.UNLOCK
    assert h("ff aa 00 00 00") == witmotion.SAVE
    with pytest.raises(ValueError, match="WitMotion rates: 1, 5, 10, 50, 100, 200 Hz"):
        witmotion.encode_rate(25)


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ("", "whole 20-byte packets"),
        (WIT_UP[:-3], "whole 20-byte packets"),
        ("55 62" + WIT_UP[5:], "packet at byte 0 does not start 55 61 or 55 71"),
        (WIT_UP + " 00" + WIT_UP[2:], "packet at byte 20 does not start"),
    ],
)
def test_witmotion_bad_packets(payload: str, problem: str) -> None:
    with pytest.raises(DecodeError, match=problem) as caught:
        witmotion.decode(uuids.WITMOTION_NOTIFY, h(payload))
    assert caught.value.characteristic == uuids.WITMOTION_NOTIFY
    assert caught.value.payload == h(payload)


def test_witmotion_unknown_characteristic() -> None:
    with pytest.raises(DecodeError, match="not a characteristic the WitMotion driver decodes"):
        witmotion.decode(uuids.PMD_DATA, h(WIT_UP))


def test_reassembler_joins_split_packets_and_resynchronises() -> None:
    r = Reassembler()
    stream = h("00 ff 55") + h(WIT_UP) + h(WIT_PITCH)  # junk first, as after a reconnect
    assert r.feed(stream[:10]) == b""
    assert r.feed(stream[10:30]) == h(WIT_UP)
    assert r.feed(stream[30:42]) == b""
    assert r.feed(stream[42:]) == h(WIT_PITCH)
    assert r.feed(b"") == b""


def test_reassembler_any_cut_gives_the_same_packets() -> None:
    rng = random.Random(5)
    packets = [h("55 61") + rng.randbytes(18) for _ in range(30)]
    stream = b"".join(packets)
    for _ in range(50):
        r = Reassembler()
        out = b""
        i = 0
        while i < len(stream):
            n = rng.randint(1, 45)
            out += r.feed(stream[i: i + n])
            i += n
        assert out == stream


# --- Polar PMD §4 ----------------------------------------------------------------------


def test_polar_command_vectors() -> None:
    assert polar.encode_get_settings() == h("01 02")
    assert polar.encode_start(200) == h("02 02 00 01 c8 00 01 01 10 00 02 01 08 00")  # H10
    assert polar.encode_start(52, channels=3) == h(
        "02 02 00 01 34 00 01 01 10 00 02 01 08 00 04 01 03"  # Verity Sense
    )
    assert polar.encode_stop() == h("03 02")


def test_polar_settings_vector_official() -> None:
    params = h("00 01 34 00 01 01 10 00 02 04 f5 00 f4 01 e8 03 d0 07 04 01 03")
    assert polar.decode_settings(params) == {
        polar.SAMPLE_RATE: (52.0,),
        polar.RESOLUTION: (16.0,),
        polar.RANGE: (245.0, 500.0, 1000.0, 2000.0),
        polar.CHANNELS: (3.0,),
    }


def test_polar_settings_factor() -> None:
    params = bytes([polar.FACTOR, 1]) + struct.pack("<f", 2.44e-4)
    (factor,) = polar.decode_settings(params)[polar.FACTOR]
    assert factor == pytest.approx(2.44e-4)


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ("00", "a setting at byte 0 is cut short"),
        ("00 02 34 00", "setting type 0 is cut short"),
        ("09 01 00", "unknown setting type 9"),
        ("05 01 00 00 c0 7f", "FACTOR .* is not a finite number"),
    ],
)
def test_polar_bad_settings(params: str, problem: str) -> None:
    with pytest.raises(DecodeError, match=problem):
        polar.decode_settings(h(params))


def test_polar_control_responses() -> None:
    assert polar.decode_control(h("F0 01 02 00 00 FF FF FF")) == ControlResponse(
        opcode=1, measurement=2, status=0, more=False, params=h("ff ff ff")
    )
    assert polar.decode_control(h("F0 02 02 00 00")) == ControlResponse(2, 2, 0, False, b"")
    # The device stopped ACC and PPG itself.
    stopped = polar.decode_control(h("01 02 01"))
    assert stopped.opcode == polar.STOPPED
    assert stopped.stopped == (2, 1)
    with pytest.raises(DecodeError, match="a PMD response is F0 opcode type status more"):
        polar.decode_control(h("F0 02 02"))
    assert polar.decode(uuids.PMD_CONTROL_POINT, h("F0 02 02 00 00")) == []
    assert polar.decode(uuids.BATTERY_LEVEL, b"\x50") == [BatteryLevel(80)]
    assert polar.decode(uuids.HEART_RATE_MEASUREMENT, h("16 48 a0 03 cc 03")) == [
        HeartRateReading(bpm=72, contact=True, rr_s=(928 / 1024, 972 / 1024))
    ]


def test_polar_compressed_type_1_official() -> None:
    frame = polar.decode_frame(h("02 65 00 00 00 00 00 00 00 81 f1 ff 14 00 f0 03 06 01 7b 0f 08"))
    assert frame == AccFrame(101, 0x81, ((-15.0, 20.0, 1008.0), (-20.0, 17.0, 1008.0)))
    assert polar.sample_times_ns(frame.timestamp_ns, 2, previous_ts=100) == [100, 101]


def test_polar_raw_type_1_official() -> None:
    raw = h("02 00 94 35 77 00 00 00 00 01 f7 ff ff ff e7 03 f8 ff fe ff e5 03")
    frame = polar.decode_frame(raw)
    assert frame == AccFrame(2_000_000_000, 0x01, ((-9.0, -1.0, 999.0), (-8.0, -2.0, 997.0)))
    assert polar.decode(uuids.PMD_DATA, raw) == [
        Acceleration(-0.009, -0.001, 0.999), Acceleration(-0.008, -0.002, 0.997)
    ]


def test_polar_compressed_type_0_derived() -> None:
    frame = polar.decode_frame(
        h("02 00 94 35 77 00 00 00 00 80 71 07 f0 6a 9e 8d 0a 01 be 5c be ba"), factor=2.44e-4
    )
    assert frame.frame_type == 0x80
    assert [tuple(int(v) for v in s) for s in frame.samples] == [
        (464, 6679, -7144), (511, 6654, -7165)
    ]


def test_polar_raw_types_0_and_2() -> None:
    head = "02 00 00 00 00 00 00 00 00"
    assert polar.decode_frame(h(head + " 00 ff 01 7f")).samples == ((-1.0, 1.0, 127.0),)
    assert polar.decode_frame(h(head + " 02 ff ff ff 00 00 01 e8 03 00")).samples == (
        (-1.0, 65536.0, 1000.0),
    )


def test_polar_timestamps() -> None:
    # The first frame: spaced by the sample rate, the last sample at the frame's stamp.
    assert polar.sample_times_ns(1_000_000_000, 3, rate_hz=50) == [
        960_000_000, 980_000_000, 1_000_000_000
    ]
    assert polar.sample_times_ns(2_000, 4, previous_ts=1_000) == [1_250, 1_500, 1_750, 2_000]
    assert polar.sample_times_ns(5, 0, rate_hz=50) == []
    with pytest.raises(ValueError, match="the first frame needs the sample rate"):
        polar.sample_times_ns(5, 2)
    # PMD time counts from 2000-01-01T00:00:00 UTC.
    assert polar.unix_seconds(0) == 946_684_800
    assert polar.unix_seconds(86_400 * 10**9 + 5 * 10**8) == 946_684_800 + 86_400.5


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ("02 00 00", "a PMD frame has a 10-byte header"),
        ("01 00 00 00 00 00 00 00 00 01 00 00 00 00 00 00", "measurement type 1 is not ACC"),
        ("02 00 00 00 00 00 00 00 00 01 00 00 00", "raw frame type 1 is samples of 3 x 2"),
        ("02 00 00 00 00 00 00 00 00 01", "raw frame type 1 is samples of 3 x 2"),
        ("02 00 00 00 00 00 00 00 00 03 00 00 00", "raw ACC frame type 0x03"),
        ("02 00 00 00 00 00 00 00 00 82 00 00 00 00 00 00", "compressed ACC frame type 0x82"),
        ("02 00 00 00 00 00 00 00 00 81 00 00", "needs its reference sample"),
        ("02 00 00 00 00 00 00 00 00 81 00 00 00 00 00 00 06", "delta block header at byte 16"),
        ("02 00 00 00 00 00 00 00 00 81 00 00 00 00 00 00 00 01", "delta width 0 bits"),
        ("02 00 00 00 00 00 00 00 00 81 00 00 00 00 00 00 06 02 ff", "delta block at byte 16"),
    ],
)
def test_polar_bad_frames(payload: str, problem: str) -> None:
    with pytest.raises(DecodeError, match=problem) as caught:
        polar.decode(uuids.PMD_DATA, h(payload))
    assert caught.value.characteristic == uuids.PMD_DATA


# --- PAMS §2 -------------------------------------------------------------------------------


def test_pams_step_summary_vectors() -> None:
    one = pams.decode_step_summary(h("03 01 0100 0000 100e0000 05000000 e80300"))
    assert one == StepSummary(pams.PamsHeader(3, 1, 0, 3600, 5), normal_steps=1000)
    two = pams.decode_step_summary(h("03 19 0200 0100 3c000000 07000000 881300 2c0100 100e00"))
    assert two == StepSummary(pams.PamsHeader(3, 2, 1, 60, 7), normal_steps=5000,
                              distance=300, worn_s=3600)
    assert pams.decode(uuids.PAMS_STEP_COUNTER_SUMMARY, h(
        "03 01 0100 0000 100e0000 05000000 e80300")) == [StepCount(1000)]
    # No walking steps announced: nothing for the step counter.
    assert pams.decode(uuids.PAMS_STEP_COUNTER_SUMMARY, h(
        "03 10 0100 0000 100e0000 05000000 100e00")) == []


def test_pams_activity_vector() -> None:
    now = pams.decode_activity(h("03 400080 0100 0000 3c000000 01000000 5a00"))
    assert now == ActivityNow(pams.PamsHeader(3, 1, 0, 60, 1), {"cadence": 90}, worn=True)
    assert now.activity_type is None
    sitting = pams.decode_activity(h("03 000400 0100 0000 3c000000 01000000 0200"))
    assert sitting.activity_type == "sit"
    assert not sitting.worn
    odd = pams.decode_activity(h("03 000400 0100 0000 3c000000 01000000 4000"))
    assert odd.activity_type == "code 64"
    assert pams.decode(uuids.PAMS_GENERAL_ACTIVITY_INSTANTANEOUS, h(
        "03 400080 0100 0000 3c000000 01000000 5a00")) == []
    assert pams.EXPERIMENTAL is True


@pytest.mark.parametrize(
    ("uuid", "payload", "problem"),
    [
        (uuids.PAMS_STEP_COUNTER_SUMMARY, "03 01 0100", "starts with 14 bytes of ids"),
        (uuids.PAMS_STEP_COUNTER_SUMMARY, "03 20 0100 0000 100e0000 05000000",
         "flags 0x20 set reserved bits 5-7"),
        (uuids.PAMS_STEP_COUNTER_SUMMARY, "03 01 0100 0000 100e0000 05000000 e803",
         "flags announce normal_steps but the value ends"),
        (uuids.PAMS_STEP_COUNTER_SUMMARY, "03 01 0100 0000 100e0000 05000000 e80300 00",
         "flags 0x01 announce exactly 17 bytes"),
        (uuids.PAMS_GENERAL_ACTIVITY_INSTANTANEOUS, "03 000800 0100 0000 3c000000 01000000",
         "flags 0x000800 use bits this driver cannot size"),
        (uuids.PAMS_GENERAL_ACTIVITY_INSTANTANEOUS, "03 400000 0100 0000 3c000000 01000000 5a",
         "flags announce cadence but the value ends"),
        (uuids.RSC_MEASUREMENT, "00", "not a characteristic the PAMS driver decodes"),
    ],
)
def test_pams_bad_values(uuid: str, payload: str, problem: str) -> None:
    with pytest.raises(DecodeError, match=problem) as caught:
        pams.decode(uuid, h(payload))
    assert caught.value.characteristic == uuid


# --- 10,000 random payloads per decoder -------------------------------------------------------

def _with_head(head: bytes, size: int) -> st.SearchStrategy[bytes]:
    """Payloads that pass the first checks (a header), so the deeper paths are reached."""
    return st.binary(max_size=size).map(lambda tail: head + tail)


def _pmd_frame() -> st.SearchStrategy[bytes]:
    frame_type = st.sampled_from([0x00, 0x01, 0x02, 0x80, 0x81, 0x03, 0x82])
    ts = st.binary(min_size=8, max_size=8)
    ref = st.binary(min_size=6, max_size=6)
    block = st.tuples(st.integers(0, 33), st.integers(0, 12), st.binary(max_size=40)).map(
        lambda b: bytes([b[0], b[1]]) + b[2])
    return st.tuples(st.sampled_from([0x02, 0x42, 0x01]), ts, frame_type, ref,
                     st.lists(block, max_size=3)).map(
        lambda f: bytes([f[0]]) + f[1] + bytes([f[2]]) + f[3] + b"".join(f[4]))


def _pams_value(flag_size: int) -> st.SearchStrategy[bytes]:
    sized = st.integers(0, 0x7FF).map(lambda f: f | (1 << 23)) if flag_size == 3 else \
        st.integers(0, 0xFF)
    flags = st.one_of(st.integers(0, 0x1F), st.integers(0, 2 ** (8 * flag_size) - 1), sized)
    return st.tuples(st.binary(min_size=1, max_size=1), flags, st.binary(min_size=12,
                                                                        max_size=12),
                     st.binary(max_size=30)).map(
        lambda v: v[0] + v[1].to_bytes(flag_size, "little") + v[2] + v[3])


def batch(known: list[str], payload: st.SearchStrategy[bytes]
          ) -> st.SearchStrategy[list[tuple[str, bytes]]]:
    uuid = st.one_of(st.sampled_from(known), st.sampled_from(known), foreign)
    return st.lists(st.tuples(uuid, st.one_of(payload, payload, anything)),
                    min_size=BATCH, max_size=BATCH)


def check_reading(r: Reading) -> None:
    match r:
        case Acceleration(x, y, z):
            assert all(isinstance(v, float) and math.isfinite(v) for v in (x, y, z))
        case StepCount(total):
            assert 0 <= total < 2**24
        case BatteryLevel(percent):
            assert 0 <= percent <= 100
        case HeartRateReading(bpm):
            assert 0 <= bpm < 2**16
        case _:
            raise AssertionError(f"unexpected reading {r!r}")


def check_readings(readings: list[Reading]) -> None:
    for r in readings:
        check_reading(r)


def run(decode: Decoder, pairs: list[tuple[str, bytes]]) -> int:
    """Decode every pair; the number that decoded (the rest raised DecodeError)."""
    return fuzz_run(decode, pairs, check_readings)


wit_payload = st.one_of(
    st.lists(st.binary(min_size=18, max_size=18).map(lambda b: h("55 61") + b),
             min_size=1, max_size=3).map(b"".join),
    _with_head(h("55 71"), 18),
    _with_head(h("55"), 30),
)


@FUZZ
@given(pairs=batch([uuids.WITMOTION_NOTIFY, uuids.BATTERY_LEVEL], wit_payload))
def test_fuzz_witmotion(pairs: list[tuple[str, bytes]]) -> None:
    run(witmotion.decode, pairs)


@FUZZ
@given(chunks=st.lists(st.one_of(wit_payload, anything), min_size=BATCH, max_size=BATCH))
def test_fuzz_reassembler_gives_only_whole_packets(chunks: list[bytes]) -> None:
    r = Reassembler()
    for chunk in chunks:
        out = r.feed(chunk)
        if out:
            witmotion.decode_packets(out)  # whole, well-headed packets: never raises
        assert len(r._buf) < witmotion.PACKET  # bounded, whatever arrives


@FUZZ
@given(pairs=batch([uuids.PMD_DATA, uuids.PMD_CONTROL_POINT, uuids.HEART_RATE_MEASUREMENT,
                    uuids.BATTERY_LEVEL], _pmd_frame()))
def test_fuzz_polar(pairs: list[tuple[str, bytes]]) -> None:
    run(polar.decode, pairs)


@FUZZ
@given(params=st.lists(st.one_of(
    anything,
    st.tuples(st.integers(0, 7), st.integers(0, 5), st.binary(max_size=20)).map(
        lambda t: bytes([t[0], t[1]]) + t[2]),
), min_size=BATCH, max_size=BATCH), factor=st.floats(1e-6, 1.0))
def test_fuzz_polar_settings_control_and_frames(params: list[bytes], factor: float) -> None:
    for data in params:
        try:
            settings_ = polar.decode_settings(data)
        except DecodeError as error:
            check_error(error, data)
        else:
            assert all(math.isfinite(v) for vs in settings_.values() for v in vs)
        try:
            response = polar.decode_control(data)
        except DecodeError as error:
            check_error(error, data)
        else:
            assert 0 <= response.opcode <= 0xFF
        try:
            frame = polar.decode_frame(h("02 00 00 00 00 00 00 00 00 80") + data, factor=factor)
        except DecodeError:
            pass
        else:
            assert all(math.isfinite(v) for s in frame.samples for v in s)


@FUZZ
@given(rate=st.integers(1, 0xFFFF), resolution=st.integers(1, 0xFFFF),
       range_g=st.integers(1, 0xFFFF), channels=st.one_of(st.none(), st.integers(1, 255)))
def test_polar_start_settings_round_trip(rate: int, resolution: int, range_g: int,
                                         channels: int | None) -> None:
    command = polar.encode_start(rate, resolution, range_g, channels)
    assert command[:2] == h("02 02")
    expect = {polar.SAMPLE_RATE: (float(rate),), polar.RESOLUTION: (float(resolution),),
              polar.RANGE: (float(range_g),)}
    if channels is not None:
        expect[polar.CHANNELS] = (float(channels),)
    assert polar.decode_settings(command[2:]) == expect


@FUZZ
@given(pairs=batch([uuids.PAMS_STEP_COUNTER_SUMMARY, uuids.PAMS_GENERAL_ACTIVITY_INSTANTANEOUS,
                    uuids.BATTERY_LEVEL],
                   st.one_of(_pams_value(1), _pams_value(3))))
def test_fuzz_pams(pairs: list[tuple[str, bytes]]) -> None:
    run(pams.decode, pairs)
    for _uuid, data in pairs:
        try:
            now = pams.decode_activity(data)
        except DecodeError as error:
            check_error(error, data)
        else:
            assert now.activity_type is None or isinstance(now.activity_type, str)


def test_fuzz_reaches_values_not_only_errors() -> None:
    """The generators are not all rejected at the first check: a seeded run of
    each decoder decodes a good share of its payloads."""
    rng = random.Random(1)
    wit = [(uuids.WITMOTION_NOTIFY, h("55 61") + rng.randbytes(18)) for _ in range(200)]
    assert run(witmotion.decode, wit) == 200
    pmd = [(uuids.PMD_DATA, h("02") + rng.randbytes(8) + h("01") + rng.randbytes(6 * 3))
           for _ in range(200)]
    assert run(polar.decode, pmd) == 200
    steps = [(uuids.PAMS_STEP_COUNTER_SUMMARY, h("03 01") + rng.randbytes(15))
             for _ in range(200)]
    assert run(pams.decode, steps) == 200
