"""Impossible step counts are refused, not stored (issue 21, item 4).

A minute holds at most ``devices.plausible.MAX_STEPS_PER_MINUTE`` (300, an
elite sprinter's cadence): a minutes CSV row above it is refused with its line
number, on the reader's fast path and its slow one; a wearable's impossible
reading (a rise faster than that over the time it covers) is a counted bad
value; a watch catching up after a gap keeps every step it plausibly counted."""

from __future__ import annotations

import logging
import struct
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from helpers.daemon import until
from helpers.devices import Collector, ManualClock

from devices import uuids
from devices.counter import CounterEvent, CounterState, StepCounter, count
from devices.drivers import infinitime
from devices.errors import DecodeError, ImplausibleReading
from devices.plausible import MAX_STEPS_PER_DAY, MAX_STEPS_PER_MINUTE, most_steps
from devices.readings import StepCount
from devices.samples import Link, StepDelta
from devices.spec import DeviceSpec
from devices.virtual import VirtualWorld, run_in_world
from pacer.cli import main
from pacer.daemon.ble import MinuteBook
from pacer.errors import InputFileError
from pacer.io.minutes import MAX_STEPS, read_minutes
from pacer.store import Store

ZONE = ZoneInfo("Australia/Sydney")
HEADER = "time,steps,posture\n"
IMPOSSIBLE = ["100000000000000000000", "99999999999", "9200000000000000000", "1000", "301"]


def csv(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "m.csv"
    path.write_text(HEADER + "".join(f"{row}\n" for row in rows), encoding="utf-8")
    return path


def test_the_limit_is_a_sprinters_cadence() -> None:
    assert MAX_STEPS == MAX_STEPS_PER_MINUTE == 300
    assert MAX_STEPS_PER_DAY == 300 * 1440


@pytest.mark.parametrize("steps", IMPOSSIBLE)
def test_a_first_row_beyond_it_is_refused_with_its_line(tmp_path: Path, steps: str) -> None:
    # The first row always takes the slow path (no row before it to match).
    path = csv(tmp_path, f"2026-11-23T09:00:00+11:00,{steps},walking")
    with pytest.raises(InputFileError, match=f"more than {MAX_STEPS:,}") as info:
        list(read_minutes(path))
    assert info.value.line == 2


@pytest.mark.parametrize("steps", IMPOSSIBLE)
@pytest.mark.parametrize("posture", ["walking", ""])
def test_a_common_row_beyond_it_is_refused_too(tmp_path: Path, steps: str, posture: str) -> None:
    # The second row is written as the first but for HH:MM: the fast path's row.
    path = csv(tmp_path, "2026-11-23T09:00:00+11:00,10,walking",
               f"2026-11-23T09:01:00+11:00,{steps},{posture}")
    with pytest.raises(InputFileError, match=f"more than {MAX_STEPS:,}") as info:
        list(read_minutes(path))
    assert info.value.line == 3


def test_the_limit_itself_is_taken_on_both_paths(tmp_path: Path) -> None:
    path = csv(tmp_path, "2026-11-23T09:00:00+11:00,300,running",
               "2026-11-23T09:01:00+11:00,300,running", "2026-11-23T09:02:00+11:00,0300,")
    assert [e.steps for e in read_minutes(path)] == [300, 300, 300]


@pytest.mark.parametrize("steps", IMPOSSIBLE)
def test_replay_store_refuses_and_stores_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], steps: str) -> None:
    path = csv(tmp_path, "2026-11-23T09:00:00+11:00,10,", f"2026-11-23T09:01:00+11:00,{steps},")
    db = tmp_path / "out.sqlite3"
    code = main(["--log-level", "WARNING", "replay", "--input", str(path), "--store", str(db)])
    out, err = capsys.readouterr()
    assert code == 2
    assert err.startswith(f"pacer: {path}:3: steps ")
    assert "Traceback" not in err
    assert steps not in out
    with Store.open(db) as store:  # the minute before the bad one, nothing of it
        assert [e.steps for e in store.epochs("me", 0, 2**40)] == [10]


# --- a wearable ------------------------------------------------------------------------


def t(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE).timestamp()


def test_a_daily_count_no_one_can_step_is_a_decode_error() -> None:
    ok = infinitime.decode(uuids.STEP_COUNT, struct.pack("<I", MAX_STEPS_PER_DAY))
    assert ok == [StepCount(MAX_STEPS_PER_DAY)]
    for total in (MAX_STEPS_PER_DAY + 1, 2**32 - 1):
        with pytest.raises(DecodeError, match="more than anyone can step in a day"):
            infinitime.decode(uuids.STEP_COUNT, struct.pack("<I", total))


def test_a_rise_faster_than_anyone_steps_is_implausible_and_the_new_baseline() -> None:
    c = StepCounter("watch", zone=ZONE)
    c.update(1000, t("2026-11-23 10:00"))
    with pytest.raises(ImplausibleReading, match="rose from 1000 to 50000 in 60 s"):
        c.update(50_000, t("2026-11-23 10:01"))
    assert c.state.total == 50_000  # a counter that jumped counts on from where it is
    delta = c.update(50_040, t("2026-11-23 10:02"))
    assert delta is not None
    assert delta.steps == 40


def test_a_catch_up_after_a_gap_is_plausible_over_the_time_away() -> None:
    state = CounterState(1000, t("2026-11-23 10:00"), t("2026-11-23 10:00"))
    # 90 minutes away: up to 300 a minute (+ a minute's slack) is a person.
    limit = most_steps(90 * 60)
    assert limit == 300 * 91
    result = count(state, 1000 + limit, t("2026-11-23 11:30"), zone=ZONE)
    assert (result.event, result.steps) == (CounterEvent.RISE, limit)
    result = count(state, 1001 + limit, t("2026-11-23 11:30"), zone=ZONE)
    assert (result.event, result.steps) == (CounterEvent.IMPLAUSIBLE, 0)


def test_impossible_readings_are_counted_as_bad_values(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="devices")

    async def scenario(world: VirtualWorld) -> None:
        from devices.manager import DeviceManager  # noqa: PLC0415

        watch = world.watches[0]
        await watch.set_steps(100)
        clock = ManualClock(t("2026-11-23 10:00"))
        m = DeviceManager([DeviceSpec(kind="infinitime", address=watch.address)],
                          clock=clock, zone=ZONE, backend=world.backend,
                          scanner_backend=world.scanner_backend)
        async with Collector().draining(m.queue) as got, m:
            await until(lambda: got.steps() == 100, what="the first reading")
            await watch.send_garbage(uuids.STEP_COUNT, struct.pack("<I", 2**32 - 1))
            clock.now += 60
            await watch.send_garbage(uuids.STEP_COUNT, struct.pack("<I", 100_100))
            await until(lambda: m.status()[watch.address].decode_errors == 2, what="two bad values")
            # The watch's own count goes on from 100: below the implausible
            # baseline, so a restart's count from zero (110): a one-off glitch
            # costs at most what the watch counted today, in one capped minute,
            # where refusing every later reading would lose the rest of the day.
            await watch.walk(10)
            await until(lambda: got.steps() == 100 + 110, what="the steps after the bad values")
            assert m.status()[watch.address].decode_errors == 2
            assert m.status()[watch.address].connected

    run_in_world(scenario, watches=1)
    bad = [r.getMessage() for r in caplog.records if "ignored a bad value" in r.getMessage()]
    assert "more than anyone can step in a day" in bad[0]
    assert "rose from 100 to 100100 in 60 s" in bad[1]


def test_steps_a_watch_caught_up_after_a_gap_are_all_kept() -> None:
    """4,200 steps over 90 minutes out of reach are plausible (47 a minute):
    they go into the minute they arrive in, so the day loses none (the soak
    test holds the daemon to it across drops and a restart)."""
    minute = int(t("2026-11-23 11:30") // 60)
    book = MinuteBook()
    book.note("infinitime", Link(minute * 60 - 5, "watch", connected=True, reason="connected"))
    book.note("infinitime", StepDelta(at=minute * 60 + 1, device="watch", steps=4_200,
                                      since=minute * 60 - 90 * 60))
    assert book.take(minute).steps == 4_200
    assert book.take(minute + 1).steps == 0  # not spread over the minutes after
