"""Not worn -> unknown (pacing-rules.md section 1, v2): the signals a wearable
gives that it is not worn, from its bytes to the daemon's minutes
(``pacer.daemon.ble.MinuteBook``)."""

from __future__ import annotations

import asyncio
import json
import math
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from helpers.daemon import (
    START,
    connected,
    run_daemon,
    thigh_daemon,
    thigh_minute,
    until,
    virtual_rig,
    wearable_config,
)

from devices.drivers import heart_rate
from devices.profiles import Translator
from devices.samples import Battery, HeartRate, Link, StepDelta
from pacer.config import Config
from pacer.daemon.ble import MinuteBook
from pacer.daemon.wear import Stillness
from pacer.engine.model import Epoch, Posture
from pacer.lockstep import StepClock, step_count, taken
from pacer.mqtt.broker import PrivateBroker

T0 = 1_800_000_000.0  # on a whole minute
M0 = int(T0 // 60)


def book_with(kind: str, device: str) -> MinuteBook:
    book = MinuteBook()
    book.note(kind, Link(T0, device, connected=True, reason="connected"))
    return book


def test_a_strap_without_skin_contact_is_heard_even_at_0_bpm() -> None:
    strap = Translator("strap", "heart_rate", zone=UTC)
    # flags 0x04: contact supported, not detected; 0x06: detected.
    off = heart_rate.decode("2a37", bytes.fromhex("04 00"))[0]
    on = heart_rate.decode("2a37", bytes.fromhex("06 48"))[0]
    assert strap.samples(off, T0) == [HeartRate(T0, "strap", 0, contact=False)]
    assert strap.samples(on, T0) == [HeartRate(T0, "strap", 72, contact=True)]
    # No contact bit: 0 bpm is "not measuring" (InfiniTime), no sample, as before.
    none = heart_rate.decode("2a37", bytes.fromhex("00 00"))[0]
    assert strap.samples(none, T0) == []
    assert strap.samples(heart_rate.decode("2a37", bytes.fromhex("00 48"))[0], T0) == [
        HeartRate(T0, "strap", 72, contact=None)]


def test_a_minute_without_skin_contact_is_not_worn_unless_something_shows_wear() -> None:
    book = book_with("heart_rate", "strap")
    book.note("heart_rate", HeartRate(T0 + 5, "strap", 70, contact=True))
    assert book.take(M0) == Epoch.from_steps(M0, 0)  # worn, still: inferred sitting
    book.note("heart_rate", HeartRate(T0 + 65, "strap", 0, contact=False))
    assert book.take(M0 + 1) == Epoch.not_worn(M0 + 1)
    # No contact, but a foot pod counted steps in the same minute: worn.
    book.note("heart_rate", HeartRate(T0 + 125, "strap", 0, contact=False))
    book.note("rsc", StepDelta(T0 + 130, "pod", 30))
    assert book.take(M0 + 2) == Epoch.from_steps(M0 + 2, 30)
    # Contact lost and found in one minute: worn.
    book.note("heart_rate", HeartRate(T0 + 185, "strap", 0, contact=False))
    book.note("heart_rate", HeartRate(T0 + 190, "strap", 66, contact=True))
    assert book.take(M0 + 3) == Epoch.from_steps(M0 + 3, 0)
    assert book.seen["strap"].heart_rate == 66


def test_a_sensor_that_cannot_tell_contact_is_trusted_as_worn() -> None:
    book = book_with("heart_rate", "strap")
    book.note("heart_rate", HeartRate(T0 + 5, "strap", 70, contact=None))
    assert book.take(M0) == Epoch.from_steps(M0, 0)


def test_minutes_from_a_battery_rise_to_the_next_steps_are_not_worn() -> None:
    book = book_with("infinitime", "watch")
    at = T0 + 10
    for percent in (50, 49, 50):  # a level that wobbles up one point: no charger
        book.note("infinitime", Battery(at, "watch", percent))
    assert book.take(M0) == Epoch.from_steps(M0, 0)
    book.note("infinitime", Battery(T0 + 70, "watch", 51))  # 2 above the lowest, 49
    got = [book.take(M0 + i) for i in range(1, 6)]
    assert got == [Epoch.not_worn(M0 + i) for i in range(1, 6)]
    book.note("infinitime", Battery(T0 + 5 * 60 + 10, "watch", 100))
    book.note("infinitime", Battery(T0 + 6 * 60 + 10, "watch", 99))  # off the charger
    assert book.take(M0 + 6) == Epoch.not_worn(M0 + 6)  # on the table: not worn yet
    book.note("infinitime", StepDelta(T0 + 7 * 60 + 10, "watch", 12))
    assert book.take(M0 + 7) == Epoch.from_steps(M0 + 7, 12)  # put back on
    assert book.take(M0 + 8) == Epoch.from_steps(M0 + 8, 0)
    # Charging again needs a rise from the new lowest level.
    book.note("infinitime", Battery(T0 + 9 * 60, "watch", 100))
    assert book.take(M0 + 9) == Epoch.from_steps(M0 + 9, 0)


def test_a_charging_watch_out_of_reach_gives_unknown_not_not_worn() -> None:
    book = book_with("infinitime", "watch")
    book.note("infinitime", Battery(T0 + 1, "watch", 40))
    book.note("infinitime", Battery(T0 + 2, "watch", 45))
    book.note("infinitime", Link(T0 + 3, "watch", connected=False, reason="lost"))
    assert book.take(M0) == Epoch.not_worn(M0)
    assert book.take(M0 + 1) == Epoch.unknown(M0 + 1)


def stream(book: MinuteBook, minutes: int, noise_g: float, seed: int = 1,
           up: tuple[float, float, float] = (0.0, 1.0, 0.0)) -> list[Epoch]:
    """A thigh IMU at 10 Hz for ``minutes`` with white noise of ``noise_g`` on a
    fixed orientation, each minute taken as the daemon takes it."""
    np = pytest.importorskip("numpy")
    rng = np.random.default_rng(seed)
    track = book.track("thigh", "thigh", 10.0)
    out: list[Epoch] = []
    for m in range(minutes):
        for s in range(60):
            at = T0 + m * 60 + s + 0.95
            xyz = np.asarray(up) + rng.normal(scale=noise_g, size=(10, 3))
            for x, y, z in xyz:
                book.motion(track, "thigh", "witmotion", at, (float(x), float(y), float(z)))
        out.append(book.take(M0 + m))
    return out


def test_a_thigh_sensor_on_a_table_is_not_worn_from_the_first_still_minute() -> None:
    book = book_with("witmotion", "thigh")
    book.still_min = 15
    got = stream(book, 20, noise_g=0.003)  # a table: the sensor's noise floor only
    assert all(e.posture is not Posture.NOT_WORN for e in got[:14])
    assert got[14:] == [Epoch.not_worn(M0 + m) for m in range(14, 20)]
    assert book.runs == [(M0, M0 + 14)]  # for Engine.not_worn, once


def test_a_still_sitting_thigh_with_10_mg_noise_stays_worn() -> None:
    """The synthetic IMUs' noise (an SD under GGIR's 13 mg, a range over 50 mg)."""
    book = book_with("witmotion", "thigh")
    got = stream(book, 20, noise_g=0.010)
    assert not [e for e in got if e.posture is Posture.NOT_WORN]
    assert book.runs == []


def test_stillness_rule_counts_two_axes_of_three_and_a_moved_minute_ends_the_run() -> None:
    still = Stillness(still_min=5)
    for m in range(4):
        for i in range(60):  # x swings 100 mg; y and z still: two axes of three
            still.add(m, (0.1 * (i % 2), 1.0, 0.0))
        assert still.close(m) == (False, None)
    for i in range(60):  # y and x swing: one axis still, the run ends
        still.add(4, (0.1 * (i % 2), 0.1 * (i % 2), 0.0))
    assert still.close(4) == (False, None)
    for m in range(5, 10):
        for _ in range(60):
            still.add(m, (0.0, 1.0, 0.0))
    assert [still.close(m) for m in range(5, 10)] == [(False, None)] * 4 + [(True, (5, 9))]
    still.add(10, (0.0, 1.0, 0.0))  # too few readings for a verdict: trusted as worn
    assert still.close(10) == (False, None)


# --- end to end: the daemon on a virtual wearable ------------------------------------------


def stored_postures(tmp_path: Path) -> dict[int, str]:
    """The posture of each minute in the daemon's store in ``tmp_path``."""
    with sqlite3.connect(tmp_path / "pacer.sqlite3") as conn:
        return dict(conn.execute("SELECT minute, posture FROM epochs").fetchall())


def test_a_virtual_thigh_sensor_laid_on_a_table_is_not_worn_and_gets_no_sitting_prompt(
    tmp_path: Path,
) -> None:
    """Real bleak, the daemon in lock-step with the sensor, the IMU pipeline,
    mosquitto and SQLite: 10 minutes sitting, then the sensor lies on a table
    for 40 (a bout of 50 without not-worn detection, a sitting prompt at 40),
    then it is worn for a walk."""
    pytest.importorskip("bumble", reason="the virtual wearables need the 'virtual' extra")

    from devices.imu.synth import Segment  # noqa: PLC0415

    async def scenario() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        async with virtual_rig() as (broker, phone, world):
            # In lock-step: the clock moves a minute once the daemon has its
            # samples, so a loaded machine leaves no minute short of the 300
            # readings a stillness verdict needs.
            clock = StepClock(speed=3000.0, origin=START.timestamp())
            async with thigh_daemon(tmp_path, broker, world, clock) as (thigh, daemon):
                first = math.floor(clock.now() / 60) + 1
                begin = first * 60.0 + 45
                thigh.play([Segment("walking", 180, 105),
                            Segment("sitting", 50 * 60),
                            Segment("walking", 180, 105)], at=begin)
                off = seen["off"] = begin + 180 + 600
                # On its side, as a sitting thigh holds it (TURNED):
                # without not-worn detection the pipeline reads sitting.
                thigh.take_off(40 * 60, at=off, up=(0.0, -1.0, 0.0))
                done = off + 40 * 60 + 180
                minute = first - 1
                while (daemon.engine.next_minute or 0) * 60 < done:
                    await thigh_minute(daemon, thigh, clock, minute)
                    minute += 1
                tally = daemon.engine.state.tally
                seen["not_worn"] = tally.not_worn_min if tally is not None else -1
        return {**seen, "prompts": [json.loads(m.payload) for m in phone.messages]}

    result = asyncio.run(asyncio.wait_for(scenario(), 420))
    rows = stored_postures(tmp_path)
    first = int(result["off"] // 60) + 1  # the first whole minute on the table
    # The run is found at its 15th minute; those before were stored as taken,
    # the engine was told (Engine.not_worn); the later ones are stored not worn.
    table = [rows[m] for m in range(first + 15, first + 38)]
    assert set(table) == {"not_worn"}, table
    assert 36 <= result["not_worn"] <= 40, result["not_worn"]
    assert not [p for p in result["prompts"] if p["kind"] == "sitting_break"]


def test_a_virtual_watch_on_its_charger_is_not_worn_until_its_next_steps(
    tmp_path: Path,
) -> None:
    """Real bleak on the virtual InfiniTime watch and the daemon at 240x: its
    battery rises (the charger), and the minutes until it counts steps again
    are stored not worn."""
    pytest.importorskip("bumble", reason="the virtual wearables need the 'virtual' extra")

    from pacer.daemon.app import Daemon  # noqa: PLC0415
    from pacer.daemon.clock import Clock  # noqa: PLC0415

    marks: dict[str, float] = {}

    async def scenario() -> None:
        async with virtual_rig(watches=1) as (broker, _phone, world):
            watch = world.watches[0]
            config = wearable_config(tmp_path, broker, "infinitime", watch.address)
            clock = Clock(speed=240.0, origin=START.timestamp())

            async def clock_minutes(n: float) -> None:
                """Until ``n`` minutes of the daemon's clock have passed."""
                until_at = clock.now() + n * 60
                await until(lambda: clock.now() >= until_at, 10, f"{n:g} clock minutes")

            async def day(daemon: Daemon) -> None:
                await until(lambda: connected(daemon), 10, "the watch to connect")
                await watch.walk(30)
                await clock_minutes(4)
                await watch.set_battery(60)
                await clock_minutes(2)
                await watch.set_battery(63)  # on the charger
                marks["rise"] = clock.now()
                await clock_minutes(12)
                await watch.set_battery(100)
                await clock_minutes(4)
                marks["walk"] = clock.now()
                await watch.walk(40)  # worn again
                await clock_minutes(6)

            await run_daemon(config, world, clock, day)

    asyncio.run(asyncio.wait_for(scenario(), 120))
    rows = stored_postures(tmp_path)
    rise, walk = int(marks["rise"] // 60), int(marks["walk"] // 60)
    assert walk - rise >= 12
    assert {rows[m] for m in range(rise + 1, walk - 1)} == {"not_worn"}
    before = [rows[m] for m in range(rise - 3, rise)]
    assert "not_worn" not in before, before
    after = [rows[m] for m in range(walk + 2, max(rows) + 1)]
    assert after
    assert "not_worn" not in after, after


# --- the wrist (InfiniTime's raw motion) ---------------------------------------------------


def wrist(book: MinuteBook, minutes: int, noise_g: float, seed: int = 2,
          first: int = 0) -> list[Epoch]:
    """A watch's raw motion at 1 Hz (as the virtual watch sends it on a table),
    gravity on z plus white noise of ``noise_g``, each minute taken."""
    import random  # noqa: PLC0415

    rng = random.Random(seed)
    out: list[Epoch] = []
    for m in range(first, first + minutes):
        for s in range(60):
            xyz = (rng.gauss(0.0, noise_g), rng.gauss(0.0, noise_g), 1.0 + rng.gauss(0.0, noise_g))
            book.still("watch", "infinitime", T0 + m * 60 + s + 0.5, xyz)
        out.append(book.take(M0 + m))
    return out


def test_a_watch_laid_on_a_table_is_not_worn_and_a_living_wrist_is_worn() -> None:
    book = book_with("infinitime", "watch")
    got = wrist(book, 20, noise_g=3 / 1024)  # the BMA421's few counts of noise
    assert all(e.posture is not Posture.NOT_WORN for e in got[:14])
    assert got[14:] == [Epoch.not_worn(M0 + m) for m in range(14, 20)]
    assert book.runs == [(M0, M0 + 14)]
    # A wrist at a desk: typing and reaching, 40 mg and more within every minute.
    living = book_with("infinitime", "watch")
    assert not [e for e in wrist(living, 20, noise_g=0.04) if e.posture is Posture.NOT_WORN]
    assert living.runs == []


def test_a_candidate_run_is_told_until_it_is_long_enough() -> None:
    book = book_with("infinitime", "watch")
    book.still_min = 5
    wrist(book, 3, noise_g=3 / 1024)
    assert book.still_since() == M0
    wrist(book, 2, noise_g=3 / 1024, first=3)
    assert book.still_since() is None  # found not worn: no longer a candidate
    assert book.runs == [(M0, M0 + 4)]


def test_a_still_run_and_the_charger_survive_a_restart_and_a_gap_pauses_the_run() -> None:
    """What the daemon stores with each minute (``BleSource.state()["wear"]``),
    through JSON into a fresh book: a restart in the middle of a still run keeps
    it (the minutes the watch was not connected pause it), and a watch on its
    charger stays on it."""
    book = book_with("infinitime", "watch")
    book.still_min = 10
    book.note("infinitime", Battery(T0 + 5 * 60 + 5, "watch", 40))
    book.note("infinitime", Battery(T0 + 5 * 60 + 15, "watch", 43))  # charging
    got = wrist(book, 6, noise_g=3 / 1024)
    assert got[5] == Epoch.not_worn(M0 + 5)
    saved = json.loads(json.dumps(book.wear_state()))

    after = MinuteBook(still_min=10)
    after.restore_wear(saved, {"watch": "infinitime", "other": "rsc"})
    # Two minutes down (the restart): not connected, unknown; the run waits.
    assert [after.take(M0 + m) for m in (6, 7)] == [Epoch.unknown(M0 + 6),
                                                  Epoch.unknown(M0 + 7)]
    after.note("infinitime", Link(T0 + 8 * 60, "watch", connected=True, reason="connected"))
    got = wrist(after, 4, noise_g=3 / 1024, first=8)
    assert got == [Epoch.not_worn(M0 + m) for m in range(8, 12)]  # charger and stillness
    # 6 still minutes before, 4 after: the run reaches 10 and reaches back to M0.
    assert after.runs == [(M0, M0 + 11)]

    fresh = MinuteBook(still_min=10)  # what a daemon without the saved state knew
    fresh.note("infinitime", Link(T0 + 8 * 60, "watch", connected=True, reason="connected"))
    got = wrist(fresh, 4, noise_g=3 / 1024, first=8)
    assert fresh.runs == []
    assert Epoch.not_worn(M0 + 8) not in got


def test_a_minute_connected_throughout_without_readings_ends_the_run() -> None:
    book = book_with("infinitime", "watch")
    book.still_min = 5
    wrist(book, 3, noise_g=3 / 1024)
    assert book.take(M0 + 3) == Epoch.from_steps(M0 + 3, 0)  # a stalled stream
    assert book.still_since() is None


# --- the engine: a candidate still run holds the sitting prompt ----------------------------


def desk(driver: Any, day: Any, start: str, minutes: int, still_from: int | None = None,
         ) -> None:
    """Zero-step minutes (inferred sitting) from ``start``; from ``still_from``
    the daemon tells the engine a still run is open (``Engine.still``)."""
    first = day.at(start)
    for m in range(first, first + minutes):
        driver.engine.still(still_from if still_from is not None and m >= still_from else None)
        driver.feed([Epoch.from_steps(m, 0)])


def sitting_prompts(driver: Any, day: Any) -> list[tuple[str, int]]:
    return [(day.clock(p.time), p.reason["bout_min"]) for p in driver.finish().prompts
            if p.kind == "sitting_break"]


@pytest.mark.parametrize("found", [True, False])
def test_a_sitting_prompt_waits_while_a_still_run_may_be_the_watch_on_a_table(
    found: bool,
) -> None:
    """Sitting from 07:05 (limit 40, due 07:45); the watch lies still from 07:35.
    Found not worn at 07:50 (15 still minutes): its minutes leave the bout and
    no prompt ever went out about them; the watch worn again, the bout goes on
    from 30 minutes. Moved at 07:48 instead (it was worn): the held prompt goes
    out then, late, with the bout as it is."""
    from datetime import date  # noqa: PLC0415

    from helpers.engine import LONDON, Day, Driver  # noqa: PLC0415

    from pacer.config import Rules, WalkRules  # noqa: PLC0415

    day = Day(date(2026, 6, 10), LONDON)
    driver = Driver(rules=Rules(walks=WalkRules(per_day=0, times=())), zone=LONDON)
    driver.feed([Epoch.from_steps(m, 90) for m in range(day.at("07:00"), day.at("07:05"))])
    desk(driver, day, "07:05", 30)
    table = day.at("07:35")
    if found:
        desk(driver, day, "07:35", 15, still_from=table)
        driver.engine.not_worn(table, day.at("07:50"))
        desk(driver, day, "07:50", 15)
        assert sitting_prompts(driver, day) == [("08:00", 40)]
    else:
        desk(driver, day, "07:35", 13, still_from=table)
        desk(driver, day, "07:48", 5)
        assert sitting_prompts(driver, day) == [("07:49", 44)]


def test_without_the_still_run_told_the_prompt_goes_out_at_the_limit() -> None:
    """The control for the test above: the same minutes, nothing told."""
    from datetime import date  # noqa: PLC0415

    from helpers.engine import LONDON, Day, Driver  # noqa: PLC0415

    from pacer.config import Rules, WalkRules  # noqa: PLC0415

    day = Day(date(2026, 6, 10), LONDON)
    driver = Driver(rules=Rules(walks=WalkRules(per_day=0, times=())), zone=LONDON)
    driver.feed([Epoch.from_steps(m, 90) for m in range(day.at("07:00"), day.at("07:05"))])
    desk(driver, day, "07:05", 45)
    assert sitting_prompts(driver, day) == [("07:45", 40)]


def test_a_watch_off_for_two_hours_is_said_once_as_gone_quiet() -> None:
    """Not-worn minutes are no data for ``wearable_silent`` (wear.silent_min,
    90): the still run told late counts from its first minute."""
    from datetime import date  # noqa: PLC0415

    from helpers.engine import LONDON, Day, Driver  # noqa: PLC0415

    from pacer.config import Rules, WalkRules  # noqa: PLC0415

    day = Day(date(2026, 6, 10), LONDON)
    driver = Driver(rules=Rules(walks=WalkRules(per_day=0, times=())), zone=LONDON)
    driver.feed([Epoch.from_steps(m, 90) for m in range(day.at("07:00"), day.at("07:05"))])
    desk(driver, day, "07:05", 15)
    table = day.at("07:20")
    desk(driver, day, "07:20", 15, still_from=table)
    driver.engine.not_worn(table, day.at("07:35"))
    driver.feed([Epoch.not_worn(m) for m in range(day.at("07:35"), day.at("09:20"))])
    driver.feed([Epoch.from_steps(m, 90) for m in range(day.at("09:20"), day.at("09:30"))])
    prompts = driver.finish().prompts
    assert [(day.clock(p.time), p.kind) for p in prompts if p.kind != "plan_update"] == [
        ("08:50", "wearable_silent")]


def test_the_store_rewrites_minutes_found_not_worn_with_the_minute_that_found_them(
    tmp_path: Path,
) -> None:
    from pacer.errors import StoreError  # noqa: PLC0415
    from pacer.store import Store  # noqa: PLC0415

    path = tmp_path / "pacer.sqlite3"
    with Store.open(path) as store:
        for m in range(5):
            epoch = Epoch.unknown(M0 + m) if m == 2 else Epoch.from_steps(M0 + m, 0)
            store.commit_minute("alice", epoch, "ble", [], {}, [])
        store.commit_minute("bob", Epoch.from_steps(M0 + 1, 0), "ble", [], {}, [])
        # A minute already stored: nothing of the call is kept, the rewrite neither.
        with pytest.raises(StoreError):
            store.commit_minute("alice", Epoch.from_steps(M0 + 4, 0), "ble", [], {}, [],
                                not_worn=[(M0 + 1, M0 + 4)])
        assert Posture.NOT_WORN not in {e.posture for e in store.epochs("alice", M0, M0 + 5)}
        store.commit_minute("alice", Epoch.not_worn(M0 + 5), "ble", [], {}, [],
                            not_worn=[(M0 + 1, M0 + 4)])
        got = [(e.start - M0, e.posture, e.inferred) for e in store.epochs("alice", M0, M0 + 6)]
        # The minute out of reach in the middle of the run stays unknown.
        assert got == [(0, Posture.SEDENTARY, True), (1, Posture.NOT_WORN, False),
                       (2, Posture.UNKNOWN, False), (3, Posture.NOT_WORN, False),
                       (4, Posture.SEDENTARY, True), (5, Posture.NOT_WORN, False)]
        assert [e.posture for e in store.epochs("bob", M0, M0 + 5)] == [Posture.SEDENTARY]


# --- end to end: the virtual watch laid on a table ---------------------------------------


def watch_config(tmp_path: Path, address: str, broker: PrivateBroker) -> Config:
    """The daemon on the InfiniTime watch at ``address``; the window closes at 11:45."""
    return wearable_config(tmp_path, broker, "infinitime", address,
                           day={"sleep": "11:45", "min_known_hours": 3})


def test_a_virtual_watch_on_a_table_for_two_hours_of_a_desk_day(tmp_path: Path) -> None:
    """Real bleak on the virtual InfiniTime watch (its raw motion), the daemon,
    mosquitto and SQLite, in lock-step (``pacer.lockstep``: the clock moves a
    minute once the daemon has that minute's readings and has taken the one
    before, so a busy machine only slows the day down): sitting at a desk from
    08:56, the watch laid on a table 30 minutes into the bout for two hours,
    then worn again until the window closes at 11:45. Without wrist stillness
    the bout reaches its 40 minutes on the table and gets a sitting prompt;
    here none, the table's minutes are stored not worn (those before the run
    was found rewritten), the day summary counts them, and one
    wearable_silent says it went quiet."""
    pytest.importorskip("bumble", reason="the virtual wearables need the 'virtual' extra")

    from devices.virtual.watch import MOTION_HZ  # noqa: PLC0415
    from pacer.daemon.app import Daemon  # noqa: PLC0415
    from pacer.store import Store  # noqa: PLC0415

    marks: dict[str, float] = {}
    table_readings = round(60 * MOTION_HZ)  # a clock minute's raw motion on the table

    async def scenario() -> list[dict[str, Any]]:
        async with virtual_rig(watches=1) as (broker, phone, world):
            watch = world.watches[0]
            # The minute job looks every 20 ms; the script sets the pace.
            clock = StepClock(speed=3000.0, origin=START.timestamp())
            config = watch_config(tmp_path, watch.address, broker)

            async def day(daemon: Daemon) -> None:
                await until(lambda: connected(daemon), 10, "the watch to connect")
                ble = daemon.ble
                assert ble is not None
                await until(lambda: step_count(daemon) is not None, 10,
                            "the watch's first count")

                async def minute_of(minute: int, feed: Callable[[], Awaitable[None]]
                                    ) -> None:
                    """``feed`` in the middle of ``minute``, then the minute taken."""
                    clock.move_to(minute * 60 + 30)
                    await feed()
                    clock.move_to((minute + 1) * 60)
                    await until(taken(daemon, minute), 20, f"the daemon to take minute {minute}")

                async def walk(steps: int) -> None:
                    await watch.walk(steps)
                    await until(lambda: step_count(daemon) == watch.steps, 10,
                                "the steps counted")

                async def sit() -> None:
                    pass

                async def on_table() -> None:
                    if not watch.on_table:
                        watch.lay_down()
                    want = ble.book.readings + table_readings
                    await watch.table_noise(table_readings)
                    await until(lambda: ble.book.readings >= want, 10,
                                "the daemon to read the watch lying still")

                m = int(clock.now() // 60)  # 08:55: a few steps, then the desk
                await minute_of(m, lambda: walk(30))
                for i in range(1, 31):
                    await minute_of(m + i, sit)
                marks["off"] = (m + 31) * 60 + 5  # as taken off 5 s into the minute
                for i in range(31, 151):
                    await minute_of(m + i, on_table)
                await watch.put_on()
                await minute_of(m + 151, lambda: walk(40))
                i = 152
                while daemon.engine.state.tally is None or daemon.engine.state.tally.closed is None:
                    assert i < 240, "the window did not close"
                    await minute_of(m + i, sit)
                    i += 1

            await run_daemon(config, world, clock, day)
        return [json.loads(m.payload) for m in phone.messages]

    prompts = asyncio.run(asyncio.wait_for(scenario(), 150))
    rows = stored_postures(tmp_path)
    with Store.open(tmp_path / "pacer.sqlite3") as store:
        [summary] = store.summaries("alice", "day")
    first = int(marks["off"] // 60) + 1  # the first whole minute on the table
    table = [rows[m] for m in range(first, first + 119)]
    assert set(table) == {"not_worn"}, "".join(r[0] for r in table)
    before = [rows[m] for m in range(first - 25, first - 1)]
    assert "not_worn" not in before, before
    assert 119 <= summary["not_worn_min"] <= 121, summary["not_worn_min"]
    kinds = [p["kind"] for p in prompts]
    assert "sitting_break" not in kinds, prompts
    assert kinds.count("wearable_silent") == 1, kinds


def test_a_still_run_goes_on_across_a_daemon_restart(tmp_path: Path) -> None:
    """The virtual watch lies on a table; the daemon (240x) is stopped 7 still
    minutes into the run and started again 2 clock minutes later on the same
    store. The run goes on from its stored state, and when it reaches 15 still
    minutes the minutes stored before the restart are rewritten not worn (a
    daemon that forgot the run would start a new one after the restart)."""
    pytest.importorskip("bumble", reason="the virtual wearables need the 'virtual' extra")

    from pacer.daemon.app import Daemon  # noqa: PLC0415
    from pacer.daemon.clock import Clock  # noqa: PLC0415

    marks: dict[str, int] = {}

    async def scenario() -> None:
        async with virtual_rig(watches=1) as (broker, _phone, world):
            watch = world.watches[0]
            clock = Clock(speed=240.0, origin=START.timestamp())
            config = watch_config(tmp_path, watch.address, broker)

            def taken(daemon: Daemon, minute: int) -> bool:
                return (daemon.engine.next_minute or 0) > minute

            async def before(daemon: Daemon) -> None:
                await until(lambda: connected(daemon), 10, "the watch to connect")
                await watch.walk(30)
                off = (math.floor(clock.now() / 60) + 2) * 60.0
                marks["first"] = int(off // 60)
                watch.take_off(None, clock=clock.now, at=off)
                marks["stop"] = marks["first"] + 7
                await until(lambda: taken(daemon, marks["stop"] - 1), 30,
                            "7 minutes on the table")
                assert daemon.ble is not None
                [stillness] = daemon.ble.book.stills.values()
                run = stillness.state()
                assert run is not None
                assert run[0] == marks["first"], run

            async def after(daemon: Daemon) -> None:
                await until(lambda: connected(daemon), 10, "the watch to reconnect")
                end = int(clock.now() // 60) + 12
                await until(lambda: taken(daemon, end), 30, "the run to be found")

            await run_daemon(config, world, clock, before)
            down = clock.now() + 120
            await until(lambda: clock.now() >= down, 5, "2 clock minutes down")
            await run_daemon(config, world, clock, after)
            await watch.put_on()

    asyncio.run(asyncio.wait_for(scenario(), 90))
    rows = stored_postures(tmp_path)
    first, stop = marks["first"], marks["stop"]
    assert [rows[m] for m in range(first, stop)] == ["not_worn"] * (stop - first)
    assert rows[first - 2] != "not_worn"


def test_a_still_run_does_not_take_back_minutes_another_wearable_showed_worn() -> None:
    """The watch lies on the table while a foot pod counts a walk: the run is
    not worn for the watch, but the walk's minutes stay the person's."""
    book = book_with("infinitime", "watch")
    book.still_min = 6
    book.note("rsc", StepDelta(T0 + 2 * 60 + 30, "pod", 80))
    book.note("rsc", StepDelta(T0 + 3 * 60 + 30, "pod", 85))
    got = wrist(book, 8, noise_g=3 / 1024)
    assert [got[2], got[3]] == [Epoch.from_steps(M0 + 2, 80), Epoch.from_steps(M0 + 3, 85)]
    assert book.runs == [(M0, M0 + 2), (M0 + 4, M0 + 5)]
    assert got[5:] == [Epoch.not_worn(M0 + m) for m in range(5, 8)]


def test_the_virtual_watch_on_a_table_in_lock_step(tmp_path: Path) -> None:
    """A script that moves the daemon's clock itself (as the demo does) lays the
    watch down and sends each minute's readings with ``table_noise``: the 20
    minutes are all stored not worn, the first 14 rewritten when the run
    reached 15; steps walked meanwhile are not counted by the watch."""
    pytest.importorskip("bumble", reason="the virtual wearables need the 'virtual' extra")

    from pacer.daemon.app import Daemon  # noqa: PLC0415
    from pacer.daemon.clock import Clock  # noqa: PLC0415

    class HandClock(Clock):
        """The daemon's clock where the test puts it."""

        def __init__(self, at: float) -> None:
            super().__init__(speed=600.0, origin=at)
            self.at = at

        def now(self) -> float:
            return self.at

    origin = datetime(2026, 6, 10, 9, 0, tzinfo=ZoneInfo("Europe/London")).timestamp()
    clock = HandClock(origin)
    marks: dict[str, int] = {}

    async def scenario() -> None:
        async with virtual_rig(watches=1) as (broker, _phone, world):
            watch = world.watches[0]
            config = watch_config(tmp_path, watch.address, broker)

            async def body(daemon: Daemon) -> None:
                assert daemon.ble is not None
                book = daemon.ble.book
                await until(lambda: connected(daemon), 10, "the watch to connect")
                first = marks["first"] = int(clock.at // 60) + 2
                clock.at = first * 60.0
                watch.lay_down()
                await watch.walk(50)
                assert watch.steps == 0
                sent = book.readings

                def has(n: int) -> Callable[[], bool]:
                    return lambda: book.readings >= n

                def taken(m: int) -> Callable[[], bool]:
                    return lambda: (daemon.engine.next_minute or 0) > m

                for minute in range(first, first + 20):
                    clock.at = minute * 60 + 30.0
                    await watch.table_noise(60)
                    sent += 60
                    await until(has(sent), 10, "the readings")
                    clock.at = (minute + 1) * 60.0
                    await until(taken(minute), 10, "the minute to be taken")
                await watch.put_on()
                assert not watch.on_table

            await run_daemon(config, world, clock, body)

    asyncio.run(asyncio.wait_for(scenario(), 90))
    rows = stored_postures(tmp_path)
    first = marks["first"]
    assert [rows[m] for m in range(first, first + 20)] == ["not_worn"] * 20
    assert rows[first - 1] != "not_worn"


def test_a_bout_at_its_limit_before_the_still_run_began_gets_its_prompt() -> None:
    """Do-not-disturb holds the prompt due at 07:45 until 07:50; the watch lies
    still from 07:46. The bout was at its limit without the run's minutes: the
    prompt goes out when do-not-disturb ends, not after the run."""
    from datetime import date  # noqa: PLC0415

    from helpers.engine import LONDON, Day, Driver  # noqa: PLC0415

    from pacer.config import Rules, WalkRules  # noqa: PLC0415
    from pacer.engine.model import Dnd  # noqa: PLC0415

    day = Day(date(2026, 6, 10), LONDON)
    driver = Driver(rules=Rules(walks=WalkRules(per_day=0, times=())), zone=LONDON,
                    commands=[(day.seconds("07:30"), Dnd(20))])
    driver.feed([Epoch.from_steps(m, 90) for m in range(day.at("07:00"), day.at("07:05"))])
    desk(driver, day, "07:05", 41)
    desk(driver, day, "07:46", 14, still_from=day.at("07:46"))
    assert sitting_prompts(driver, day) == [("07:50", 45)]


def test_the_minutes_an_imu_measured_before_its_run_was_found_are_taken_back() -> None:
    """The still run's first minutes were measured as a posture (the table's,
    before the run was long enough): that is no sign of wear, they go back."""
    pytest.importorskip("numpy")
    from devices.imu import LABELS  # noqa: PLC0415

    book = book_with("witmotion", "thigh")
    book.still_min = 5
    book.track("thigh", "thigh", 10.0)  # a posture IMU
    sitting = LABELS.index("sitting")
    got = []
    for m in range(8):
        for i in range(60):
            book.still("thigh", "witmotion", T0 + m * 60 + i + 0.5, (0.0, 1.0, 0.002 * (i % 3)))
        book.postures[M0 + m] = {sitting: 60}  # what the pipeline measured
        got.append(book.take(M0 + m))
    assert book.runs == [(M0, M0 + 4)]
    assert got[4:] == [Epoch.not_worn(M0 + m) for m in range(4, 8)]


def test_a_minute_cut_short_gives_no_verdict_from_an_imu_of_known_rate() -> None:
    """A thigh IMU at 10 Hz whose stream stalled after 40 readings in a
    minute: few readings span little and look still whatever the thigh did
    (see ``pacer.daemon.wear``); under half a minute's worth gives no verdict,
    and no still run begins."""
    from pacer.daemon.wear import min_samples  # noqa: PLC0415

    assert (min_samples(None), min_samples(10.0), min_samples(50.0)) == (30, 300, 1500)
    np = pytest.importorskip("numpy")
    rng = np.random.default_rng(3)
    book = book_with("witmotion", "thigh")
    book.track("thigh", "thigh", 10.0)
    cut = rng.normal(scale=0.003, size=(40, 3)) + np.array([0.0, 1.0, 0.0])
    for i, (x, y, z) in enumerate(cut):
        book.still("thigh", "witmotion", T0 + i * 0.1, (float(x), float(y), float(z)),
                   rate=10.0)
    book.take(M0)
    assert book.still_since() is None
    # The same readings from a watch (no known rate, 30 suffice) are a verdict.
    watch = book_with("infinitime", "watch")
    for i, (x, y, z) in enumerate(cut):
        watch.still("watch", "infinitime", T0 + i, (float(x), float(y), float(z)))
    watch.take(M0)
    assert watch.still_since() == M0
