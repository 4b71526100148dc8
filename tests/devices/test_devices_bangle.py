"""Bangle.js 2: the line framer, the decoder, the encoders and the block ledger
(pure), then end to end through real bleak on the virtual Bangle.js.

The test vectors are written here from the protocol notes in
``devices/drivers/bangle.py`` (the Android Integration app's messages).
"""

from __future__ import annotations

import json
import logging
import tomllib
from zoneinfo import ZoneInfo

import pytest
from helpers.daemon import until
from helpers.devices import Collector, ManualClock, Watched

from devices import blocks, uuids
from devices.connection import Timing
from devices.drivers import bangle
from devices.errors import DecodeError
from devices.manager import DeviceManager
from devices.profiles import Translator
from devices.readings import ActivityReport, BatteryLevel, ChargeState, HistoryMark
from devices.samples import Battery, Charging, Link, StepDelta
from devices.scan import Found, recognise, scan
from devices.spec import DeviceSpec
from devices.virtual import VirtualBangle, VirtualWorld, run_in_world
from pacer.config import BleDevice, parse_config
from pacer.daemon.ble import device_spec
from pacer.scan import devices_table

ZONE = ZoneInfo("Australia/Sydney")
FAST = Timing(scan_s=0.2, connect_s=1.0, backoff_base_s=0.01, backoff_cap_s=0.05)

# --- lines ---------------------------------------------------------------------------


def lines_of(stream: bytes, size: int, limit: int = bangle.LINE_MAX) -> tuple[list[bytes], int]:
    framer = bangle.LineFramer(limit)
    out: list[bytes] = []
    for i in range(0, len(stream), size):
        out += framer.feed(stream[i : i + size])
    return out, framer.dropped


@pytest.mark.parametrize("size", [1, 3, 20, 1000])
def test_lines_are_whole_whatever_the_cuts(size: int) -> None:
    stream = ('\r\n{"t":"act","stp":12,"hrm":0,"rt":1}\r\n\r\n{"t":"info","msg":"café ☕"}\r\n'
              "\n").encode()
    got, dropped = lines_of(stream, size)
    assert got == [b'{"t":"act","stp":12,"hrm":0,"rt":1}', '{"t":"info","msg":"café ☕"}'.encode()]
    assert dropped == 0


def test_a_line_too_long_is_dropped_and_counted_and_the_next_one_kept() -> None:
    stream = b"x" * 50 + b"\r\n" + b"y" * 500 + b"\n{}\nabc\n"
    got, dropped = lines_of(stream, 7, limit=40)
    assert got == [b"{}", b"abc"]
    assert dropped == 2


def test_the_buffer_never_holds_more_than_the_limit() -> None:
    buffer = bangle.LineBuffer()
    for _ in range(1000):
        buffer, lines, _ = bangle.feed_lines(buffer, b"z" * 20, limit=64)
        assert lines == []
        assert len(buffer.pending) <= 64
    buffer, lines, dropped = bangle.feed_lines(buffer, b"tail\nok\n", limit=64)
    assert (lines, dropped) == ([b"ok"], 0)  # the long line ended at its newline


# --- decoding ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "readings"),
    [
        ('{"t":"act","stp":87,"hrm":64}', [ActivityReport(87, bpm=64)]),
        ('{"t":"act","stp":5,"hrm":0,"rt":1}', [ActivityReport(5, realtime=True, bpm=0)]),
        ('{"t":"act","stp":-4200,"hrm":0,"rt":1}',
         [ActivityReport(0, realtime=True, bpm=0, reset=True)]),
        ('{"t":"act","ts":1795400400000,"stp":310,"hrm":71,"mov":812,"act":"WALKING"}',
         [ActivityReport(310, end_ms=1795400400000, bpm=71, movement=812, activity="WALKING")]),
        ('{"t":"act","stp":3000.0}', [ActivityReport(3000)]),
        ('{"t":"status","bat":64,"chg":0}', [BatteryLevel(64), ChargeState(False)]),
        ('{"t":"status","bat":100,"chg":true}', [BatteryLevel(100), ChargeState(True)]),
        ('{"t":"status","bat":9}', [BatteryLevel(9)]),
        ('{"t":"actfetch","state":"start"}', [HistoryMark(False)]),
        ('{"t":"actfetch","state":"end","count":144}', [HistoryMark(True, 144)]),
        ('{"t":"ver","fw":"2v25","hw":"BANGLEJS2"}', []),
        ('{"t":"music","n":"play"}', []),
    ],
)
def test_decode(line: str, readings: list[object]) -> None:
    assert bangle.decode(uuids.NORDIC_UART_TX, line.encode()) == readings


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b'\xff{"t":"act"}', "not UTF-8"),
        (b"=undefined", "not a JSON object line"),
        (b'{"t":"act","stp":12', "not JSON"),
        (b'{"t":"act","stp":NaN}', "not JSON"),
        (b'{"t":"act","stp":Infinity}', "not JSON"),
        (b'{"stp":12}', "a message is a JSON object with a text 't'"),
        (b'{"t":7}', "a message is a JSON object with a text 't'"),
        (b'{"t":"act","stp":"12"}', "'stp' must be a number, got str"),
        (b'{"t":"act","stp":true}', "'stp' must be a number, got bool"),
        (b'{"t":"act","stp":1.5}', "'stp' must be a whole number"),
        (b'{"t":"act","stp":-3}', "a block cannot hold -3 steps"),
        (b'{"t":"act","stp":3001}', "3,001 steps is more than anyone takes in 10 minutes"),
        (b'{"t":"act","stp":1,"rt":1,"ts":5}', "a realtime report has no block time"),
        (b'{"t":"act","stp":1,"act":3}', "'act' must be text"),
        (b'{"t":"act","stp":1,"hrm":400}', "'hrm' 400 is outside 0..255"),
        (b'{"t":"status","bat":101}', "'bat' 101 is outside 0..100"),
        (b'{"t":"status","bat":50,"chg":2}', "'chg' 2 is outside 0..1"),
        (b'{"t":"actfetch","state":"middle"}', "actfetch state must be"),
        (b"{" * 3000, "not JSON"),
    ],
)
def test_decode_errors_say_what_is_wrong(line: bytes, problem: str) -> None:
    with pytest.raises(DecodeError) as caught:
        bangle.decode(uuids.NORDIC_UART_TX, line)
    assert problem in caught.value.problem
    assert caught.value.payload == line


def test_decode_refuses_other_characteristics() -> None:
    with pytest.raises(DecodeError, match=r"not a characteristic the Bangle\.js driver decodes"):
        bangle.decode(uuids.NORDIC_UART_RX, b'{"t":"status","bat":5}')


# --- encoding ------------------------------------------------------------------------


def test_a_prompt_arrives_intact_as_ascii_json() -> None:
    title = 'Time to "move"'
    body = "Stand up\nwalk — 2 min \\ café ☕ 🙂 \x10 end"
    line = bangle.encode_notify(1795400412, title, body)
    assert line.startswith(b"\x10GB({")
    assert line.endswith(b"})\n")
    assert line.count(b"\n") == 1
    assert line.count(b"\x10") == 1
    assert max(line) < 0x80  # pure ASCII: no byte the watch could take for UTF-8 or DLE
    message = json.loads(line[4:-2])
    assert message == {"t": "notify", "id": 1795400412, "src": "pacer",
                       "title": title, "body": body}
    command = bangle.parse_command(line.rstrip(b"\n"))
    assert command is not None
    assert command.message == message


def test_a_long_prompt_is_cut_on_whole_characters() -> None:
    line = bangle.encode_notify(1, "T" * 100, "é" * 1000)
    message = json.loads(line[4:-2])
    assert message["title"] == "T" * 57 + "..."
    assert message["body"] == "é" * 277 + "..."
    assert len(line) < 2000


def test_session_commands() -> None:
    assert bangle.encode_realtime(30) == b'\x10GB({"t":"act","hrm":false,"stp":true,"int":30})\n'
    assert bangle.encode_fetch(1795400400001) == b'\x10GB({"t":"actfetch","ts":1795400400001})\n'
    assert bangle.encode_set_time(1795400412, 10.5) == (
        b"\x10setTime(1795400412);E.setTimeZone(10.5)\n")
    assert bangle.chunks(b"a" * 45) == [b"a" * 20, b"a" * 20, b"a" * 5]
    with pytest.raises(ValueError, match=r"1\.\.600"):
        bangle.encode_realtime(0)


# --- the block ledger ----------------------------------------------------------------

T0 = 1_795_400_400.0  # a block end (a multiple of 600 s)


def test_realtime_steps_count_at_once_and_the_block_total_adds_the_rest() -> None:
    state = blocks.BlockState(settled=T0)
    state, counted = blocks.live(state, 40, T0 + 100).state, 40
    update = blocks.live(state, 25, T0 + 300)
    state, counted = update.state, counted + update.steps
    update = blocks.total(state, 90, T0 + 600)  # 25 steps no report carried
    assert (counted + update.steps, update.state) == (90, blocks.BlockState(settled=T0 + 600))
    # The same block again (a live report, then the fetch): nothing more.
    assert blocks.total(update.state, 90, T0 + 600).steps == 0
    assert blocks.total(update.state, 90, T0).steps == 0


def test_a_block_with_fewer_steps_than_reported_counts_nothing_more() -> None:
    state = blocks.live(blocks.BlockState(settled=T0), 50, T0 + 10).state
    assert blocks.total(state, 30, T0 + 600).steps == 0


def test_a_report_at_a_settled_blocks_time_goes_to_the_next_block() -> None:
    state = blocks.BlockState(settled=T0 + 600)
    state = blocks.live(state, 12, T0 + 599).state  # the watch's clock a second ahead
    assert state.provisional == ((T0 + 1200, 12),)


def test_resume_settles_history_before_pacer_then_asks_from_the_last_block() -> None:
    state, since = blocks.resume(blocks.BlockState(), T0 + 250)
    assert (state.settled, since) == (T0, None)
    state = blocks.total(state, 10, T0 + 600).state
    assert blocks.resume(state, T0 + 5000) == (state, int((T0 + 600) * 1000) + 1)


def test_block_state_round_trips_and_ignores_garbage() -> None:
    state = blocks.BlockState(settled=T0, provisional=((T0 + 600, 4), (T0 + 1200, 9)))
    assert blocks.BlockState.from_dict(json.loads(json.dumps(state.to_dict()))) == state
    assert blocks.BlockState.from_dict({"settled": "x", "provisional": [[1, "a"], 3]}) == (
        blocks.BlockState())


# --- end to end through bleak -----------------------------------------------------------


def manager_for(world: VirtualWorld, watch: VirtualBangle, clock: ManualClock) -> DeviceManager:
    return DeviceManager(
        [DeviceSpec(kind="bangle", address=watch.address)],
        clock=clock,
        zone=ZONE,
        backend=world.backend,
        scanner_backend=world.scanner_backend,
        timing=FAST,
    )


def test_thousand_steps_across_drops_a_reboot_and_midnight(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Realtime reports while connected, block totals for what they missed
    (walked out of reach, while rebooting, the counter's midnight restart), the
    history fetched at each reconnect: every step once, each on its day."""
    caplog.set_level(logging.INFO, logger="devices")
    clock = ManualClock(0)
    clock.set_local("2026-11-23 21:00:00", ZONE)
    midnight = ManualClock(0)
    midnight.set_local("2026-11-24 00:00:00", ZONE)

    async def scenario(world: VirtualWorld) -> Collector:
        watch = await world.add_bangle(clock=clock)
        await watch.walk(150)  # in this block, before pacer connects
        m = manager_for(world, watch, clock)
        async with Collector().draining(m.queue) as got, m:
            seen = Watched(m, got, watch, clock, ZONE)
            counted = seen.counted
            at, away, away_walking = seen.at, seen.away, seen.away_walking

            async def connected(n: int) -> None:
                await seen.connects(n)
                await until(lambda: watch.realtime_s == 30, what="the realtime request")

            await connected(1)
            assert watch.fetches == []  # the first connect fetches no history
            await watch.walk(200)
            await counted(200, "a realtime report")
            await at("2026-11-23 21:10:00")
            await watch.end_block()
            await counted(350, "the block's total: the 150 before pacer")

            await away_walking(50, "2026-11-23 21:15:00")  # drop 1, within a block
            await connected(2)
            await watch.walk(100)
            await counted(450, "realtime after drop 1")
            await at("2026-11-23 21:20:00")
            await watch.end_block()
            await counted(500, "the block's total: the 50 walked away")

            await at("2026-11-23 22:30:00")
            await watch.end_block()  # a block with no steps
            # The counter restarts, realtime ends; walked while it boots: in the new block only.
            await away_walking(40, reboot=True)
            await connected(3)
            await watch.walk(60)
            await counted(560, "realtime after the reboot")
            await at("2026-11-23 22:40:00")
            await watch.end_block()
            await counted(600, "the block's total: the 40 walked while booting")

            await away()  # drop 2, across a block's end
            await watch.walk(30)
            await at("2026-11-23 22:50:00")
            await watch.end_block()  # stored on the watch, nobody to send it to
            await at("2026-11-23 22:55:00")
            await watch.come_back()
            await connected(4)
            await counted(630, "the history fetched at the reconnect")

            await at("2026-11-23 23:59:50")
            await watch.walk(20)
            await counted(650, "the last steps of the day")
            await at("2026-11-24 00:00:00")
            await watch.end_block()
            await watch.midnight()  # the counter restarts: the next report is negative
            await at("2026-11-24 00:00:02")
            await watch.walk(10)
            await watch.walk(90)
            await counted(740, "realtime after midnight")
            await at("2026-11-24 00:10:00")
            await watch.end_block()
            await counted(750, "the block's total: the 10 of the negative report")

            await at("2026-11-24 07:30:00")
            await watch.end_block()
            await away()  # drop 3
            await watch.walk(80)
            await at("2026-11-24 07:40:00")
            await watch.end_block()
            await at("2026-11-24 07:45:00")
            await watch.come_back()
            await connected(5)
            await counted(830, "the history fetched at the reconnect")
            await watch.walk(170)
            await at("2026-11-24 07:50:00")
            await watch.end_block()
            await counted(1000, "the rest")
            assert m.status()[watch.address].decode_errors == 0
        assert watch.steps_per_day == [650, 350]
        assert watch.reboots == 1
        assert len(watch.clock_set) == 5  # the clock set at every connect
        return got

    got = run_in_world(scenario, timeout_s=40)
    deltas = [s for s in got.samples if isinstance(s, StepDelta)]
    day1 = sum(d.steps for d in deltas if d.at < midnight.now)
    day2 = sum(d.steps for d in deltas if d.at >= midnight.now)
    assert [day1, day2] == [650, 350]
    assert all(d.steps > 0 for d in deltas)
    reasons = [(x.connected, x.reason) for x in got.links()]
    assert reasons == [(True, "connected"), (False, "link lost")] * 4 + [
        (True, "connected"),
        (False, "stopped"),
    ]


def test_a_prompt_buzzes_the_watch_and_charging_and_battery_arrive() -> None:
    clock = ManualClock(1_795_400_412.0)
    title = 'Time to "move"'
    body = "You have sat for 40 min —\nstand up, café ☕"

    async def scenario(world: VirtualWorld) -> tuple[VirtualBangle, Collector, list[bool]]:
        watch = await world.add_bangle(clock=clock)
        m = manager_for(world, watch, clock)
        async with Collector().draining(m.queue) as got, m:
            await until(lambda: m.status()[watch.address].connected, what="the connect")
            await until(lambda: bool(got.of(Battery)), what="the status line at connect")
            shown = [await m.notify_watch(title, body)]
            await until(lambda: watch.buzzes == 1, what="the buzz")
            await watch.charge(True)
            await until(lambda: len(got.of(Charging)) == 2, what="the charging status")
            await watch.go_away()
            await until(lambda: not m.status()[watch.address].connected, what="the drop")
            shown.append(await m.notify_watch(title, body))  # nobody to show it to
        return watch, got, shown

    watch, got, shown = run_in_world(scenario)
    assert shown == [True, False]
    assert watch.shown == [(title, body)]
    assert watch.messages[0]["src"] == "pacer"
    assert watch.largest_write <= bangle.CHUNK
    assert watch.unparsed == []
    assert [s.charging for s in got.samples if isinstance(s, Charging)] == [False, True]
    assert [s.percent for s in got.samples if isinstance(s, Battery)] == [70, 70]


def test_garbage_from_the_watch_is_counted_and_the_link_carries_on() -> None:
    clock = ManualClock(1_795_400_412.0)

    async def scenario(world: VirtualWorld) -> tuple[int, int]:
        watch = await world.add_bangle(clock=clock)
        m = manager_for(world, watch, clock)
        async with Collector().draining(m.queue) as got, m:
            await until(lambda: watch.realtime_s == 30, what="the realtime request")
            await watch.send_raw(b'\r\n{"t":"act","stp":"lots"}\r\n' + b"\xfe" * 5000 + b"\n")
            await watch.walk(7)
            await until(lambda: got.steps() == 7, what="the next report")
            return m.status()[watch.address].decode_errors, got.steps()

    assert run_in_world(scenario) == (2, 7)  # one bad line, one line too long


def test_scan_recognises_a_bangle() -> None:
    async def scenario(world: VirtualWorld) -> list[Found]:
        await world.add_bangle()
        return await scan(0.2, backend=world.scanner_backend)

    assert run_in_world(scenario) == [
        Found(kind="bangle", address="F0:00:00:00:00:01", name="Bangle.js 7a3c", rssi=-50)]
    assert recognise("Bangle.js 1f2e", []) == "bangle"
    assert recognise("Bangle custom", [uuids.NORDIC_UART_SERVICE]) == "bangle"
    assert recognise("Puck.js 1234", [uuids.NORDIC_UART_SERVICE]) is None


def test_links_reported() -> None:
    """The connect and a clean stop show as Link samples (the daemon's known minutes)."""
    clock = ManualClock(1_795_400_412.0)

    async def scenario(world: VirtualWorld) -> list[Link]:
        watch = await world.add_bangle(clock=clock)
        m = manager_for(world, watch, clock)
        async with Collector().draining(m.queue) as got, m:
            await until(lambda: m.status()[watch.address].connected, what="the connect")
        return got.links()

    assert [(x.connected, x.reason) for x in run_in_world(scenario)] == [
        (True, "connected"), (False, "stopped")]


def test_the_scan_table_is_a_valid_bangle_device() -> None:
    text = devices_table("bangle", "E9:1A:2B:3C:7A:3C")
    config = parse_config(tomllib.loads(text))
    (device,) = config.devices
    assert isinstance(device, BleDevice)
    assert (device.kind, device.address, device.placement) == (
        "bangle", "E9:1A:2B:3C:7A:3C", "wrist")
    assert device_spec(device) == DeviceSpec(kind="bangle", address="E9:1A:2B:3C:7A:3C")


def test_history_of_an_earlier_day_is_settled_but_not_counted() -> None:
    """Blocks fetched after a night out of reach: yesterday's would swell today."""
    clock = ManualClock(0)
    clock.set_local("2026-11-24 07:45:00", ZONE)
    midnight = ManualClock(0)
    midnight.set_local("2026-11-24 00:00:00", ZONE)
    translator = Translator("F0", "bangle", zone=ZONE, block_state=blocks.BlockState(
        settled=midnight.now - 3 * 600))
    got = []
    for end, steps in ((midnight.now - 600, 300), (midnight.now, 20), (midnight.now + 600, 45)):
        report = ActivityReport(steps, end_ms=int(end * 1000))
        got += translator.samples(report, clock.now)
    assert [s.steps for s in got if isinstance(s, StepDelta)] == [20, 45]
    assert translator.blocks is not None
    assert translator.blocks.state.settled == midnight.now + 600
