"""Huami bands (Mi Band 4-6, Amazfit Band 5): the decoder, the encoders, the auth
key and the minute log (pure), then end to end through real bleak on the
virtual Mi Band 5.

The test vectors are written here from the protocol notes in
``devices/drivers/huami.py``; the AES one is FIPS-197's (Appendix C.1).
"""

from __future__ import annotations

import json
import logging
import struct
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from helpers.daemon import until
from helpers.devices import Collector, ManualClock, Watched

from devices import huami_kinds, minute_log, uuids
from devices.connection import Timing
from devices.drivers import huami
from devices.errors import DecodeError, ImplausibleReading
from devices.manager import DeviceManager
from devices.minute_log import LogState, MinuteLog
from devices.profiles import HUAMI_REFRESH_S
from devices.readings import BatteryLevel, ChargeState, LogMark, LogRecords, StepCount
from devices.samples import Battery, Charging, NotWornRun, StepDelta
from devices.scan import Found, recognise, scan
from devices.spec import DeviceSpec
from devices.virtual import VirtualWorld, run_in_world
from devices.virtual.miband import ACTIVE, NOT_WORN, VirtualMiBand

ZONE = ZoneInfo("Europe/Madrid")
FAST = Timing(scan_s=0.2, connect_s=1.0, backoff_base_s=0.01, backoff_cap_s=0.05)
KEY = bytes.fromhex("8f1d2c3b4a5968778695a4b3c2d1e0f0")
WRONG = bytes.fromhex("00112233445566778899aabbccddeeff")
T0 = 1_795_400_400.0  # a whole minute

# --- the auth key and the handshake ---------------------------------------------------


def test_aes_matches_the_standards_vector() -> None:
    key = bytes(range(16))
    block = bytes.fromhex("00112233445566778899aabbccddeeff")
    assert huami.encrypt(key, block).hex() == "69c4e0d86a7b0430d8cdb78070b4c55a"


@pytest.mark.parametrize("text", ["8f1d2c3b4a5968778695a4b3c2d1e0f0",
                                  "0x8F1D2C3B4A5968778695A4B3C2D1E0F0\n",
                                  "  0X8f1d2c3b4a5968778695a4b3c2d1e0f0  "])
def test_parse_key(text: str) -> None:
    assert huami.parse_key(text) == KEY


@pytest.mark.parametrize(("text", "problem"), [
    ("", "32 hex digits"), ("8f1d2c3b", "32 hex digits"),
    ("0x8f1d2c3b4a5968778695a4b3c2d1e0f0ff", "32 hex digits"),
    ("zz1d2c3b4a5968778695a4b3c2d1e0f0", "hex digits 0-9 and a-f only"),
])
def test_a_bad_key_says_what_is_wrong_without_showing_it(text: str, problem: str) -> None:
    with pytest.raises(huami.AuthKeyError) as caught:
        huami.parse_key(text)
    assert problem in str(caught.value)
    if len(text) > 8:
        assert text.strip()[4:12] not in str(caught.value)


def test_handshake_bytes() -> None:
    number = bytes(range(100, 116))
    reply = huami.AUTH_RANDOM_REPLY + number
    assert bytes.fromhex("8200020100") == huami.AUTH_REQUEST
    assert huami.auth_answer(KEY, reply) == bytes.fromhex("8300") + huami.encrypt(KEY, number)
    assert huami.auth_accepted(bytes.fromhex("108301")) is True
    assert huami.auth_accepted(bytes.fromhex("108304")) is False
    with pytest.raises(DecodeError):
        huami.auth_answer(KEY, bytes.fromhex("108204"))  # the band would not say
    with pytest.raises(DecodeError):
        huami.auth_accepted(bytes.fromhex("1082"))


# --- decoding -------------------------------------------------------------------------


def test_decode_vectors() -> None:
    steps = bytes.fromhex("0c" "d204" "0000" "e8030000" "2a000000")  # 1234 steps
    assert huami.decode(huami.REALTIME_STEPS, steps) == [StepCount(1234)]
    battery = bytes.fromhex("0f" "3a" "01") + bytes(17)
    assert huami.decode(huami.BATTERY_INFO, battery) == [BatteryLevel(58), ChargeState(True)]
    assert huami.decode(huami.BATTERY_INFO, bytes.fromhex("0f6400")) == [
        BatteryLevel(100), ChargeState(False)]
    data = bytes.fromhex("07" "01 20 55 5a" "03 00 00 ff" "59 05 00 00")
    assert huami.decode(huami.ACTIVITY_DATA, data) == [
        LogRecords(((0x01, 0x55), (0x03, 0), (0x59, 0)))]
    assert huami.decode_records(data)[1][0] == huami.Record(1, 0x20, 0x55, 0x5A)
    assert huami.decode(huami.FETCH, huami.FETCH_DONE) == [LogMark()]
    assert huami.decode(huami.FETCH, bytes.fromhex("100104")) == []  # refused: the hook's
    assert huami.decode(huami.AUTH, huami.AUTH_OK) == []


@pytest.mark.parametrize(("uuid", "payload", "problem"), [
    (huami.REALTIME_STEPS, bytes(12), "13 byte(s)"),
    (huami.REALTIME_STEPS, bytes(13), "start with 0c"),
    (huami.BATTERY_INFO, bytes.fromhex("0f65"), "at least 3"),
    (huami.BATTERY_INFO, bytes.fromhex("0f6500"), "101% is over 100"),
    (huami.ACTIVITY_DATA, bytes.fromhex("0701020304ff"), "4-byte records"),
    (huami.ACTIVITY_DATA, bytes.fromhex("07"), "4-byte records"),
    (huami.FETCH, b"", "starts with 10"),
    (uuids.HEART_RATE_MEASUREMENT, b"\x00\x40", "not a characteristic the huami driver"),
])
def test_decode_errors(uuid: str, payload: bytes, problem: str) -> None:
    with pytest.raises(DecodeError) as caught:
        huami.decode(uuid, payload)
    assert problem in str(caught.value)


def test_fetch_request_and_start_vectors() -> None:
    # 2026-11-23 21:07 in Madrid (UTC+1: 4 quarter hours)
    at = datetime(2026, 11, 23, 21, 7, tzinfo=ZONE).timestamp()
    request = huami.encode_fetch(at, 3600)
    assert request == bytes.fromhex("0101" "ea07" "0b" "17" "15" "07" "00" "04")
    assert huami.decode_fetch(request) == at
    start = bytes.fromhex("100101" "a0050000" "ea07" "0b" "17" "15" "07" "00" "04")
    assert huami.decode_fetch_start(start) == huami.FetchStart(1440, at)
    assert huami.decode(huami.FETCH, start) == [LogMark(at, 1440)]
    assert huami.encode_fetch_start(1440, at, 3600) == start
    with pytest.raises(DecodeError, match="no date"):
        huami.decode_fetch_start(start[:9] + b"\x0d" + start[10:])  # month 13
    with pytest.raises(DecodeError, match="not a fetch start"):
        huami.decode_fetch_start(bytes.fromhex("100102"))


def test_current_time_vector() -> None:
    at = datetime(2026, 11, 23, 21, 7, 5, tzinfo=ZONE).timestamp()  # a Monday
    value = huami.encode_current_time(at + 0.9, 3600)
    assert value == bytes.fromhex("ea07" "0b" "17" "15" "07" "05" "01" "00" "00" "04")
    assert huami.decode_current_time(value) == at
    sunday = datetime(2026, 11, 29, 23, 59, 59, tzinfo=ZONE).timestamp()
    assert huami.encode_current_time(sunday, 3600)[7] == 7
    with pytest.raises(DecodeError):
        huami.decode_current_time(value[:10])


def test_chunked_alert_vectors() -> None:
    assert huami.encode_chunked_alert("Hi", "x") == [
        bytes.fromhex("00c000" "050000000001") + b"Hi\0x\0 \0"]
    data = bytes.fromhex("050000000001") + b"Move\0Sat 40 min for a while\0 \0"  # 41 bytes
    assert huami.encode_chunked_alert("Move", "Sat 40 min for a while") == [
        bytes.fromhex("000000") + data[:17],
        bytes.fromhex("004001") + data[17:34],
        bytes.fromhex("008002") + data[34:],
    ]
    writes = huami.encode_chunked_alert("T" * 40, "é" * 300)
    assert all(len(w) <= 3 + huami.CHUNK_DATA for w in writes)
    assert huami.decode_chunked_alert(writes) == ("T" * 32, "é" * ((230 - 6 - 33) // 2))
    with pytest.raises(DecodeError):
        huami.decode_chunked_alert([b"\x00\xc0\x00\x03\x00"])


def test_alert_vector() -> None:
    assert huami.encode_alert("Move", "Sat 40 min") == b"\x05\x01Move\x00Sat 40 min"
    long = huami.encode_alert("T", "é" * 300)
    assert len(long) <= 2 + huami.ALERT_TEXT_MAX
    assert huami.decode_alert(long)[1] == "é" * ((huami.ALERT_TEXT_MAX - 2) // 2)


@pytest.mark.parametrize(("raw", "kind"), [
    (0x01, "activity"), (0x03, "not_worn"), (0x06, "not_worn"), (0x09, "sleep"),
    (0x0B, "sleep"), (0x00, "same"), (0x0A, "same"), (0x73, "not_worn"), (0x5A, "same"),
    (0x11, "activity"), (0x7F, "activity"),
])
def test_raw_kinds(raw: int, kind: str) -> None:
    assert huami_kinds.raw_kind(raw) == kind


# --- the minute log (pure) ------------------------------------------------------------


def test_live_then_log_counts_each_step_once() -> None:
    log = MinuteLog("band")
    assert log.live(500, T0 + 5) is None  # the baseline
    assert log.connected(T0 + 5) == T0
    first = log.live(530, T0 + 20)
    assert first == StepDelta(at=T0 + 20, device="band", steps=30, since=T0 + 5)
    assert log.live(540, T0 + 70) is not None
    assert log.state.provisional == ((T0, 30), (T0 + 60, 10))
    log.link_lost()
    assert log.live(900, T0 + 400) is None  # a new baseline: the gap is the log's
    log.begin(T0)
    got = log.records(walked(35, 10, 0, 200, 160), T0 + 401)  # 5 more in the first minute
    assert got == [StepDelta(at=T0 + 401, device="band", steps=5 + 0 + 0 + 200 + 160,
                             since=T0)]
    assert log.state == LogState(fetched=T0 + 300)
    assert log.finish(T0 + 401) == []  # the gap (360) was all in the log
    log.begin(T0 + 240)
    again = log.records(walked(160, 0), T0 + 402)  # a minute fetched before, then a new one
    assert again == []
    assert log.state.fetched == T0 + 360


def test_the_current_minute_before_the_baseline_counts_when_the_fetch_ends() -> None:
    log = MinuteLog("band")
    log.live(100, T0 + 5)
    log.connected(T0 + 5)
    log.link_lost()
    assert log.live(190, T0 + 130) is None  # 90 more: 60 in the log, 30 this minute
    log.begin(T0)
    assert log.records(walked(0, 60), T0 + 131) == [
        StepDelta(at=T0 + 131, device="band", steps=60, since=T0)]
    assert log.finish(T0 + 132) == [StepDelta(at=T0 + 132, device="band", steps=30,
                                             since=T0 + 120)]
    log.begin(T0 + 120)
    assert log.records(walked(30), T0 + 200) == []  # the minute's record, counted already
    assert log.finish(T0 + 200) == []


def test_a_restart_out_of_reach_leaves_the_current_minute_to_the_log() -> None:
    log = MinuteLog("band")
    log.live(100, T0 + 5)
    log.connected(T0 + 5)
    log.link_lost()
    assert log.live(20, T0 + 130) is None  # rebooted (or midnight): the rise is unknown
    log.begin(T0)
    log.records(walked(0, 0), T0 + 131)
    assert log.finish(T0 + 132) == []


def walked(*steps: int) -> list[tuple[int, int]]:
    """Records of a band worn and active (raw kind 1)."""
    return [(1, n) for n in steps]


def test_not_worn_runs_of_the_log_are_told_once_each() -> None:
    log = MinuteLog("band")
    log.live(0, T0 + 5)
    log.connected(T0 + 5)
    log.link_lost()
    log.live(0, T0 + 900)
    log.begin(T0)
    off, charging, same, asleep = 0x03, 0x16, 0x0A, 0x09
    first = log.records([(1, 4), (off, 0), (same, 0)], T0 + 901)
    second = log.records([(charging, 0), (off, 3), (asleep, 0), (off, 0), (same, 0)], T0 + 901)
    end = log.finish(T0 + 902)
    assert [r for r in first + second if isinstance(r, NotWornRun)] == [
        NotWornRun(at=T0 + 901, device="band", start=T0 + 60, end=T0 + 240)]
    assert end == [NotWornRun(at=T0 + 902, device="band", start=T0 + 360, end=T0 + 480)]
    log.begin(T0 + 360)  # minutes fetched already: no run again
    assert log.records([(off, 0), (off, 0), (off, 0)], T0 + 903) == []
    assert log.finish(T0 + 903) == [
        NotWornRun(at=T0 + 903, device="band", start=T0 + 480, end=T0 + 540)]


def test_an_earlier_days_minutes_fetched_late_are_settled_not_counted() -> None:
    log = MinuteLog("band")
    log.live(0, T0 - 120)
    log.connected(T0 - 120)
    log.link_lost()
    log.live(0, T0 + 600)
    log.begin(T0 - 120)
    got = log.records(walked(40, 50, 7, 0), T0 + 601, day_start=T0)  # midnight at T0
    assert got == [StepDelta(at=T0 + 601, device="band", steps=7, since=T0 - 120)]
    assert log.late == 90
    assert log.state.fetched == T0 + 120


def test_out_of_reach_across_midnight_nothing_is_counted_twice() -> None:
    """The band reset at midnight and counted past yesterday's last value while
    out of reach: the counter's rise across the gap looks small, never too
    large; today's steps come from the log, this minute's with the next fetch."""
    midnight = T0 + 7200
    log = MinuteLog("band")
    log.live(5000, midnight - 7200)
    log.connected(midnight - 7200)
    log.link_lost()
    log.live(5500, midnight + 2410)  # 1,000 more yesterday; 5,500 today, 100 this minute
    log.begin(midnight - 7200)
    yesterday = walked(*[0] * 115, *[200] * 5)
    today = walked(*[135] * 40)
    got = log.records(yesterday + today, midnight + 2411, day_start=midnight)
    got += log.finish(midnight + 2412)
    assert sum(d.steps for d in got if isinstance(d, StepDelta)) == 5400
    assert log.late == 1000  # yesterday's, fetched today: not counted
    log.begin(midnight + 2400)
    more = log.records(walked(100), midnight + 2500, day_start=midnight)
    assert [d.steps for d in more if isinstance(d, StepDelta)] == [100]


def test_midnight_while_connected_counts_the_new_day() -> None:
    log = MinuteLog("band")
    log.live(9000, T0)
    assert log.live(12, T0 + 30) == StepDelta(at=T0 + 30, device="band", steps=12, since=T0)


def test_an_impossible_rise_is_refused_and_becomes_the_baseline() -> None:
    log = MinuteLog("band")
    log.live(100, T0)
    with pytest.raises(ImplausibleReading):
        log.live(5000, T0 + 10)
    assert log.live(5010, T0 + 20) is not None


def test_live_steps_never_go_to_a_fetched_minute() -> None:
    state = minute_log.note_live(LogState(fetched=T0 + 120), 7, T0 + 30)
    assert state.provisional == ((T0 + 120, 7),)


def test_log_state_round_trips_and_ignores_garbage() -> None:
    state = LogState(fetched=T0, provisional=((T0 + 60, 4), (T0 + 120, 9)))
    assert LogState.from_dict(json.loads(json.dumps(state.to_dict()))) == state
    assert LogState.from_dict({"fetched": "x", "provisional": [[1, "a"], 3]}) == LogState()


# --- end to end through bleak ---------------------------------------------------------


def manager_for(world: VirtualWorld, band: VirtualMiBand, clock: ManualClock, *,
                key: bytes | None = KEY, state: LogState | None = None,
                refresh_poll_s: float = 1.0) -> DeviceManager:
    return DeviceManager(
        [DeviceSpec(kind="huami", address=band.address, auth_key=key,
                    auth_key_source="/etc/pacer/miband.key")],
        clock=clock,
        zone=ZONE,
        backend=world.backend,
        scanner_backend=world.scanner_backend,
        timing=replace(FAST, refresh_poll_s=refresh_poll_s),
        log_states={band.address: state} if state is not None else None,
    )


def test_the_right_key_authenticates_steps_battery_and_a_prompt_buzz(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    clock = ManualClock(T0 + 12)
    title, text = "Time for a movement break", "You have sat for 40 min — café ☕"

    async def scenario(world: VirtualWorld) -> tuple[VirtualMiBand, Collector, list[bool]]:
        band = await world.add_miband(KEY, clock=clock)
        m = manager_for(world, band, clock)
        async with Collector().draining(m.queue) as got, m:
            await until(lambda: m.status()[band.address].connected, what="the connect")
            assert band.auths == 1
            await band.walk(25)
            await until(lambda: got.steps() == 25, what="the realtime steps")
            await band.set_battery(40, charging=True)
            await until(lambda: len(got.of(Battery)) == 2, what="the battery notification")
            shown = [await m.notify_watch(title, text)]
            await band.go_away()
            await until(lambda: not m.status()[band.address].connected, what="the drop")
            shown.append(await m.notify_watch(title, text))
        return band, got, shown

    band, got, shown = run_in_world(scenario)
    assert shown == [True, False]
    assert band.vibrations == 1
    assert band.shown == [(title, text)]
    assert band.clock_set == [T0 + 12]
    assert [s.percent for s in got.samples if isinstance(s, Battery)] == [62, 40]
    assert [s.charging for s in got.samples if isinstance(s, Charging)] == [False, True]
    assert KEY.hex() not in caplog.text.lower()


def test_a_band_without_the_chunked_characteristic_gets_a_buzz_and_a_new_alert() -> None:
    clock = ManualClock(T0 + 12)

    async def scenario(world: VirtualWorld) -> tuple[VirtualMiBand, bool]:
        band = await world.add_miband(KEY, clock=clock, chunked=False)
        m = manager_for(world, band, clock)
        async with m:
            await until(lambda: m.status()[band.address].connected, what="the connect")
            return band, await m.notify_watch("Move", "Sat 40 min")

    band, shown = run_in_world(scenario)
    assert shown
    assert band.vibrations == 1  # the Immediate Alert
    assert band.shown == [("Move", "Sat 40 min")]  # the New Alert


def test_a_wrong_key_is_refused_and_says_what_to_do(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    clock = ManualClock(T0 + 12)

    async def scenario(world: VirtualWorld) -> tuple[VirtualMiBand, Collector, str | None]:
        band = await world.add_miband(KEY, clock=clock)
        m = manager_for(world, band, clock, key=WRONG)
        async with Collector().draining(m.queue) as got, m:
            await until(lambda: band.refusals >= 2, what="two refusals (it keeps retrying)")
            await band.walk(40)
            status = m.status()[band.address]
            assert status.connects == 0
            assert not status.connected
            return band, got, status.last_error

    band, got, error = run_in_world(scenario)
    assert band.auths == 0
    assert got.steps() == 0
    assert got.links() == []
    assert error is not None
    assert "refused the auth key in /etc/pacer/miband.key" in error
    assert "get the band's key again" in error
    assert "refused the auth key in /etc/pacer/miband.key" in caplog.text
    assert WRONG.hex() not in caplog.text.lower()
    assert KEY.hex() not in caplog.text.lower()


def test_thousand_steps_across_drops_a_reboot_and_midnight() -> None:
    """Live steps while connected, the activity log for the minutes they missed
    (walked out of reach, while rebooting, before each baseline), fetched at each
    reconnect: every step once, each on its day; a restart from the saved state
    fetches nothing twice."""
    clock = ManualClock(0)
    clock.set_local("2026-11-23 21:00:00", ZONE)
    midnight = ManualClock(0)
    midnight.set_local("2026-11-24 00:00:00", ZONE)
    saved: list[LogState | None] = []

    async def scenario(world: VirtualWorld) -> tuple[VirtualMiBand, Collector]:
        band = await world.add_miband(KEY, clock=clock, offset_s=3600)
        await band.walk(150)  # this minute, before pacer connects
        m = manager_for(world, band, clock)
        async with Collector().draining(m.queue) as got, m:
            seen = Watched(m, got, band, clock, ZONE)
            counted, connected = seen.counted, seen.connects
            at, away, away_walking = seen.at, seen.away, seen.away_walking

            await connected(1)
            await at("2026-11-23 21:01:00")
            await band.walk(200)
            await counted(200, "live")
            await at("2026-11-23 21:05:00")
            await away_walking(50, "2026-11-23 21:10:00")  # drop 1
            await connected(2)
            await counted(400, "the log: the 150 before pacer and the 50 walked away")
            await band.walk(100)
            await counted(500, "live after drop 1")

            await at("2026-11-23 22:30:00")
            await away_walking(40, reboot=True)  # the counter restarts; walked while it boots
            await connected(3)
            await band.walk(60)
            await counted(560, "live after the reboot")
            await at("2026-11-23 22:35:00")
            await away_walking(30, "2026-11-23 22:55:00")  # drop 2
            await connected(4)
            await counted(630, "the log: the 40 while booting, the 30 walked away")

            await at("2026-11-23 23:59:50")
            await band.walk(20)
            await counted(650, "the last steps of the day")
            await at("2026-11-24 00:00:00")
            await band.midnight()  # the counter restarts
            await at("2026-11-24 00:00:02")
            await band.walk(10)
            await band.walk(90)
            await counted(750, "live after midnight")

            await at("2026-11-24 07:30:00")
            await away()  # drop 3
            band.wear(NOT_WORN)  # on the table, out of reach
            await at("2026-11-24 07:40:00")
            band.wear(ACTIVE)
            await band.walk(80)
            await at("2026-11-24 07:45:10")
            await band.walk(10)  # this minute, out of reach: not in the log yet
            await band.come_back()
            await connected(5)
            await counted(840, "the log after a night, and the counter's rise for this minute")
            await band.walk(160)
            await counted(1000, "the rest")
            assert m.status()[band.address].decode_errors == 0
            saved.append(m.log_state(band.address))

        await at("2026-11-24 08:00:00")
        m2 = manager_for(world, band, clock, state=saved[0])  # the daemon restarted
        async with Collector().draining(m2.queue) as again, m2:
            await until(lambda: m2.status()[band.address].connects == 1,
                        what="the restart's connect")
            await band.walk(5)
            await until(lambda: again.steps() == 5, what="live after the restart")
        assert again.steps() == 5  # the log since the last fetch holds nothing new
        return band, got

    band, got = run_in_world(scenario, timeout_s=60)
    assert band.steps_per_day == [650, 355]
    assert band.reboots == 1
    assert len(band.fetches) == 6  # one at every connect
    assert len(band.clock_set) == 6  # and the band's clock set to ours
    deltas = [s for s in got.samples if isinstance(s, StepDelta)]
    day1 = sum(d.steps for d in deltas if d.at < midnight.now)
    day2 = sum(d.steps for d in deltas if d.at >= midnight.now)
    assert [day1, day2] == [650, 350]
    assert all(d.steps > 0 for d in deltas)
    table = ManualClock(0)
    table.set_local("2026-11-24 07:30:00", ZONE)
    runs = [(r.start, r.end) for r in got.samples if isinstance(r, NotWornRun)]
    assert runs == [(table.now, table.now + 600)]  # the band's own mark, told once


def test_garbage_from_the_band_is_counted_and_the_link_carries_on() -> None:
    clock = ManualClock(T0 + 12)

    async def scenario(world: VirtualWorld) -> tuple[int, int]:
        band = await world.add_miband(KEY, clock=clock)
        m = manager_for(world, band, clock)
        async with Collector().draining(m.queue) as got, m:
            await until(lambda: m.status()[band.address].connected, what="the connect")
            await band.send_garbage(huami.REALTIME_STEPS, b"\x0c\x01")
            await band.send_garbage(huami.BATTERY_INFO, struct.pack("<BBB", 15, 250, 0))
            await band.walk(7)
            await until(lambda: got.steps() == 7, what="the next steps")
            return m.status()[band.address].decode_errors, got.steps()

    assert run_in_world(scenario) == (2, 7)


def test_scan_recognises_huami_bands() -> None:
    async def scenario(world: VirtualWorld) -> list[Found]:
        await world.add_miband(KEY)
        return await scan(0.2, backend=world.scanner_backend)

    assert run_in_world(scenario) == [
        Found(kind="huami", address="F0:00:00:00:00:01", name="Mi Smart Band 5", rssi=-50)]
    for name in ("Mi Smart Band 4", "Mi Band 4", "Mi Smart Band 6", "Amazfit Band 5"):
        assert recognise(name, []) == "huami"
    assert recognise(None, [huami.SERVICE_FEE0]) == "huami"
    assert recognise("Mi Band 3", []) is None


def test_a_band_without_a_key_is_not_asked_and_says_what_to_do() -> None:
    clock = ManualClock(T0 + 12)

    async def scenario(world: VirtualWorld) -> tuple[VirtualMiBand, str | None]:
        band = await world.add_miband(KEY, clock=clock)
        m = manager_for(world, band, clock, key=None)
        async with m:
            await until(lambda: m.status()[band.address].failures >= 2, what="two attempts")
            return band, m.status()[band.address].last_error

    band, error = run_in_world(scenario)
    assert band.auths + band.refusals == 0  # nothing sent that could lock the band
    assert error is not None
    assert "no auth key for this band" in error
    assert "auth_key_file" in error


def test_a_band_refusing_its_log_keeps_the_link_and_the_next_fetch_has_the_steps(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = ManualClock(T0 + 12)

    async def scenario(world: VirtualWorld) -> int:
        band = await world.add_miband(KEY, clock=clock)
        m = manager_for(world, band, clock)
        async with Collector().draining(m.queue) as got, m:
            await until(lambda: m.status()[band.address].connects == 1, what="the connect")
            await band.go_away()
            clock.now += 60
            await band.walk(30)  # out of reach
            clock.now += 60
            band.refuse_fetch = True
            await band.come_back()
            await until(lambda: m.status()[band.address].connects == 2, what="the reconnect")
            await band.walk(5)
            await until(lambda: got.steps() == 5, what="live steps on the same link")
            connects = m.status()[band.address].connects
            band.refuse_fetch = False
            await band.drop_link()
            await until(lambda: got.steps() == 35, what="the 30 from the next fetch")
        return connects

    connects = run_in_world(scenario)
    assert connects == 2  # the refusal did not drop the link
    assert "refused to send its activity log (status 02)" in caplog.text


def test_a_connected_band_is_asked_for_its_log_again_and_its_not_worn_marks_come() -> None:
    """Left on the table within reach: the log fetched every ``HUAMI_REFRESH_S``
    brings the band's not-worn minutes without a reconnect."""
    clock = ManualClock(T0 + 12)

    async def scenario(world: VirtualWorld) -> Collector:
        band = await world.add_miband(KEY, clock=clock)
        m = manager_for(world, band, clock, refresh_poll_s=0.01)
        async with Collector().draining(m.queue) as got, m:
            await until(lambda: m.status()[band.address].connects == 1, what="the connect")
            clock.now = T0 + 60
            await band.walk(30)
            await until(lambda: got.steps() == 30, what="live steps")
            clock.now = T0 + 120
            band.wear(NOT_WORN)  # put down on the table, still in reach
            clock.now = T0 + 60 + HUAMI_REFRESH_S
            await until(lambda: len(band.fetches) == 2, what="the log fetched again")
            await until(lambda: bool(got.of(NotWornRun)), what="the band's not-worn minutes")
            assert m.status()[band.address].connects == 1  # on the same link
        return got

    got = run_in_world(scenario)
    assert got.steps() == 30  # the walked minute's record counted nothing twice
    (run,) = [r for r in got.samples if isinstance(r, NotWornRun)]
    assert (run.start, run.end) == (T0 + 120, T0 + 60 + HUAMI_REFRESH_S)  # to this minute
