"""The bands' own sleep marks used live (issue 20): minutes a Huami band's
activity log (or a Bangle.js block its Sleep Log app marked) says its wearer
slept are stored as lying, by the revision an IMU's learnt mount makes
(``Engine.revise``): today's figures corrected in the same transaction as the
stored minutes, no prompt about the past, one INFO line. A minute another
wearable measured, or with steps, stays as it was; the log is history, so the
minute in progress is never marked."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from datetime import date, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from helpers.daemon import SPEED, START, connected, run_daemon, until, wearable_config
from helpers.devices import Collector, ManualClock
from helpers.engine import LONDON, Day, Driver, sitting_rules

from devices import blocks
from devices.connection import Timing
from devices.manager import DeviceManager
from devices.minute_log import MinuteLog, minute_of
from devices.samples import Link, NotWornRun, SleepRun, StepDelta
from devices.spec import DeviceSpec
from devices.virtual import VirtualWorld, run_in_world, virtual_world
from pacer.config import DayRules
from pacer.daemon.app import Daemon
from pacer.daemon.ble import (
    MinuteBook,
    SleepMarked,
    asleep_may_relabel,
    relabel_line,
    sleep_changes,
)
from pacer.daemon.clock import Clock
from pacer.engine.model import Epoch, Posture, Prompt
from pacer.mqtt.broker import PrivateBroker

T0 = 1_800_000_000.0  # a whole minute
M0 = int(T0 // 60)
ACTIVE, NOT_WORN, LIGHT, DEEP, SAME = 1, 3, 9, 11, 0
LIE = Posture.LYING
FAST = Timing(scan_s=0.2, connect_s=1.0, backoff_base_s=0.01, backoff_cap_s=0.05)


# --- the band's log: runs of sleep minutes ---------------------------------------------------


def fetched(log: MinuteLog, records: list[tuple[int, int]], at: float
            ) -> list[StepDelta | NotWornRun | SleepRun]:
    log.begin(T0)
    return log.records(records, at) + log.finish(at)


def test_the_logs_sleep_kinds_make_runs_without_steps_and_end_at_the_last_minute() -> None:
    log = MinuteLog("band")
    log.connected(T0)
    # light, deep, "as before", a minute with steps (awake), deep again to the end
    out = fetched(log, [(LIGHT, 0), (DEEP, 0), (SAME, 0), (LIGHT, 12), (DEEP, 0), (DEEP, 0),
                        (NOT_WORN, 0), (DEEP, 0)], T0 + 600)
    assert [r for r in out if isinstance(r, SleepRun)] == [
        SleepRun(at=T0 + 600, device="band", start=T0, end=T0 + 180),
        SleepRun(at=T0 + 600, device="band", start=T0 + 240, end=T0 + 360),
        SleepRun(at=T0 + 600, device="band", start=T0 + 420, end=T0 + 480)]
    assert [r for r in out if isinstance(r, NotWornRun)] == [
        NotWornRun(at=T0 + 600, device="band", start=T0 + 360, end=T0 + 420)]
    assert [r.steps for r in out if isinstance(r, StepDelta)] == [12]


def test_minutes_fetched_before_are_not_marked_again() -> None:
    log = MinuteLog("band")
    log.connected(T0)
    first = fetched(log, [(LIGHT, 0)] * 3, T0 + 200)
    again = fetched(log, [(LIGHT, 0)] * 5, T0 + 320)  # the band sent from T0 again
    assert [(r.start, r.end) for r in first if isinstance(r, SleepRun)] == [(T0, T0 + 180)]
    assert [(r.start, r.end) for r in again if isinstance(r, SleepRun)] == [
        (T0 + 180, T0 + 300)]


# --- the mark -> revision mapping (pure) --------------------------------------------------------


def test_only_sitting_inferred_from_no_steps_becomes_lying() -> None:
    given = {
        M0: Epoch.from_steps(M0, 0),  # a wrist's guess: the band knows better
        M0 + 1: Epoch(M0 + 1, 0, Posture.UPRIGHT),  # an IMU measured standing
        M0 + 2: Epoch(M0 + 2, 0, Posture.SEDENTARY),  # an IMU measured sitting
        M0 + 3: Epoch.from_steps(M0 + 3, 4),  # steps from another wearable
        M0 + 4: Epoch.from_steps(M0 + 4, 60),  # walking
        M0 + 5: Epoch.not_worn(M0 + 5),
        M0 + 6: Epoch.unknown(M0 + 6),
        M0 + 7: Epoch(M0 + 7, 0, LIE),  # lying already
        M0 + 9: Epoch.from_steps(M0 + 9, 0),  # outside the mark
    }
    changes = sleep_changes(M0, M0 + 9, given)  # M0 + 8 was never given
    assert changes == [(Epoch.from_steps(M0, 0), Epoch(M0, 0, LIE))]
    assert changes[0][1].inferred is False  # measured, by the band
    assert [m for m, e in given.items() if asleep_may_relabel(e)] == [M0, M0 + 9]


# --- the daemon's book -------------------------------------------------------------------------


def band_book() -> MinuteBook:
    book = MinuteBook()
    book.note("huami", Link(T0, "band", connected=True, reason="connected"))
    return book


def test_the_book_revises_minutes_given_and_takes_later_ones_as_lying() -> None:
    book = band_book()
    book.note("rsc", Link(T0, "pod", connected=True, reason="connected"))
    book.note("rsc", StepDelta(T0 + 130, "pod", 6))  # minute 2: a foot pod's steps
    given = [book.take(M0 + i) for i in range(8)]
    assert given[1] == Epoch.from_steps(M0 + 1, 0)
    # Fetched at 08:09:30 (minute 9 in progress): minutes 1-12 marked asleep.
    book.note("huami", SleepRun(T0 + 570, "band", start=T0 + 60, end=T0 + 720))
    (marked,) = book.relabelled
    assert isinstance(marked, SleepMarked)
    assert marked.what == "band"
    assert [(old.start, new) for old, new in marked.changes] == [
        (M0 + m, Epoch(M0 + m, 0, LIE)) for m in (1, 3, 4, 5, 6, 7)]
    assert (marked.first, marked.end, marked.kept, marked.ahead) == (M0 + 1, M0 + 9, 1, 1)
    assert book.take(M0 + 8) == Epoch(M0 + 8, 0, LIE)  # marked before it was taken
    assert book.take(M0 + 9) == Epoch.from_steps(M0 + 9, 0)  # in progress: no mark
    # A mark on minutes already revised changes nothing more.
    book.relabelled.clear()
    book.note("huami", SleepRun(T0 + 640, "band", start=T0 + 60, end=T0 + 480))
    assert book.relabelled == []


def test_a_mark_after_a_restart_revises_the_minutes_stored_before_it() -> None:
    book = band_book()
    for i in range(5):
        book.take(M0 + i)
    saved = json.loads(json.dumps(book.wear_state()))
    assert saved["quiet"] == [[M0, M0 + 5]]
    again = band_book()
    again.open_minute = M0 + 5
    again.restore_wear(saved, {"band": "huami"})
    again.note("huami", SleepRun(T0 + 330, "band", start=T0 + 120, end=T0 + 300))
    assert [old.start for old, _ in again.relabelled[0].changes] == [M0 + 2, M0 + 3, M0 + 4]


def test_a_watchs_mark_is_logged_as_the_watchs() -> None:
    book = MinuteBook()
    book.note("bangle", Link(T0, "w", connected=True, reason="connected"))
    for i in range(12):
        book.take(M0 + i)
    book.note("bangle", SleepRun(T0 + 721, "w", start=T0 + 60, end=T0 + 660))
    (marked,) = book.relabelled
    assert isinstance(marked, SleepMarked)
    assert (marked.what, len(marked.changes)) == ("watch", 10)


def test_minutes_taken_back_as_not_worn_are_not_revised() -> None:
    book = band_book()
    for i in range(6):
        book.take(M0 + i)
    book.note("huami", NotWornRun(T0 + 370, "band", start=T0, end=T0 + 180))
    book.note("huami", SleepRun(T0 + 370, "band", start=T0, end=T0 + 360))
    (marked,) = book.relabelled
    assert [old.start for old, _ in marked.changes] == [M0 + 3, M0 + 4, M0 + 5]


def test_the_log_line_says_what_the_stored_minutes_became() -> None:
    zone = ZoneInfo("Europe/London")
    start = int(START.timestamp() // 60)
    changes = tuple((Epoch.from_steps(m, 0), Epoch(m, 0, LIE)) for m in range(start, start + 3))
    line = relabel_line(SleepMarked("C1:D2", START.timestamp() + 300, start, start + 4,
                                    changes, kept=1), zone)
    assert line == ("band C1:D2: its log marks 08:55-08:59 asleep; 3 stored minutes are "
                    "lying now, from the band's sleep mark (were 3 sitting (inferred)); "
                    "1 left as they were (not sitting inferred from no steps: steps, a "
                    "posture another wearable measured, lying, not worn or unknown)")
    watch = SleepMarked("F0:01", 0.0, start, start + 1, changes[:1], what="watch")
    assert relabel_line(watch, zone).startswith(
        "watch F0:01: its log marks 08:55-08:56 asleep; 1 stored minutes are lying now, "
        "from the watch's sleep mark")


# --- the engine: today's figures --------------------------------------------------------------


def _morning() -> tuple[Day, Driver]:
    """The engine on a day whose window opens at 07:00 sharp."""
    day = Day(date(2026, 6, 10), LONDON)
    rules = sitting_rules(day=DayRules(wake_early_min=0, wake_late_min=0, wake=time(7, 0)))
    return day, Driver(rules=rules, zone=LONDON)


def _sat(day: Day, driver: Driver, until: str) -> dict[int, Epoch]:
    """Sitting inferred from no steps from 07:00 to ``until``, fed live; the
    minutes as given, for ``sleep_changes``."""
    given = {m: Epoch.from_steps(m, 0) for m in range(day.at("07:00"), day.at(until))}
    driver.feed(list(given.values()))
    return given


def test_the_days_sitting_no_longer_counts_the_sleep_and_nothing_is_prompted() -> None:
    day, driver = _morning()
    driver.feed([Epoch.from_steps(m, 0) for m in range(day.at("07:00"), day.at("07:30"))])
    driver.feed([Epoch.from_steps(m, 80) for m in range(day.at("07:30"), day.at("07:33"))])
    tally = driver.engine.state.tally
    assert tally is not None
    assert (tally.sedentary_min, tally.lying_min) == (30, 0)
    book = {m: Epoch.from_steps(m, 0) for m in range(day.at("07:00"), day.at("07:30"))}
    out = driver.engine.revise(sleep_changes(day.at("07:00"), day.at("07:25"), book))
    assert out == []
    assert (tally.sedentary_min, tally.sedentary_inferred_min, tally.lying_min) == (5, 5, 25)
    assert not [o for o in driver.outputs if isinstance(o, Prompt)]


def test_a_night_of_sleep_marks_never_lets_a_bout_grow_and_waking_starts_afresh() -> None:
    day = Day(date(2026, 6, 9), LONDON)
    # Asleep on the sofa before bedtime, the window still open: the bout is cut
    # at each fetch of the band's marks, so no sitting prompt while asleep.
    rules = sitting_rules(day=DayRules(wake=time(7, 0), sleep=time(23, 30),
                                       wake_early_min=0, wake_late_min=0))
    driver = Driver(rules=rules, zone=LONDON)
    driver.feed([Epoch.from_steps(m, 30) for m in range(day.at("22:00"), day.at("22:05"))])
    tally = driver.engine.state.tally
    assert tally is not None
    assert tally.open
    sofa, asleep = day.at("22:05"), day.at("22:25")
    driver.feed([Epoch.from_steps(m, 0) for m in range(sofa, asleep)])
    for block in range(asleep, day.at("23:25"), 10):  # the window closes at 23:30
        minutes = range(block, block + 10)
        driver.feed([Epoch.from_steps(m, 0) for m in minutes])
        given = {m: Epoch.from_steps(m, 0) for m in minutes}
        assert driver.engine.revise(sleep_changes(block, block + 10, given)) == []
        assert driver.engine.state.bout is None  # the sleep broke it
    assert tally.bouts == [20]  # the sofa's, as it was followed
    assert (tally.sedentary_min, tally.lying_min) == (20, 60)
    assert not [o for o in driver.outputs if isinstance(o, Prompt)]


def test_sitting_after_the_marked_sleep_is_a_bout_of_its_own() -> None:
    # 07:00-07:35 inferred sitting live; the band's marks (fetched at 07:35)
    # say 07:10-07:30 was sleep: the bout is 07:30-07:35 now, and its prompt
    # comes 40 minutes after 07:30, not at 07:40.
    day, driver = _morning()
    given = _sat(day, driver, "07:35")
    driver.engine.revise(sleep_changes(day.at("07:10"), day.at("07:30"), given))
    bout = driver.engine.state.bout
    assert bout is not None
    assert (bout.start, bout.sedentary_min, bout.inferred) == (day.at("07:30"), 5, True)
    tally = driver.engine.state.tally
    assert tally is not None
    assert tally.bouts == [10]
    driver.feed([Epoch.from_steps(m, 0) for m in range(day.at("07:35"), day.at("08:20"))])
    prompts = [day.clock(o.time) for o in driver.outputs if isinstance(o, Prompt)]
    assert prompts == ["08:10"]


def test_a_lying_minute_or_two_leaves_the_bout_without_breaking_it() -> None:
    day, driver = _morning()
    given = _sat(day, driver, "07:30")
    driver.engine.revise(sleep_changes(day.at("07:10"), day.at("07:11"), given))
    bout = driver.engine.state.bout
    assert bout is not None
    assert (bout.start, bout.sedentary_min) == (day.at("07:00"), 29)
    # The next fetch marks 07:11 too: two minutes lying in a row, a break.
    driver.engine.revise(sleep_changes(day.at("07:11"), day.at("07:12"), given))
    bout = driver.engine.state.bout
    assert bout is not None
    assert (bout.start, bout.sedentary_min) == (day.at("07:12"), 18)
    tally = driver.engine.state.tally
    assert tally is not None
    assert tally.bouts == [10]


# --- Bangle.js: blocks the Sleep Log app marked ---------------------------------------------


def test_a_block_marked_asleep_without_steps_is_a_sleep_run_of_its_ten_minutes() -> None:
    end = T0 + 600
    assert blocks.sleep_run("w", "LIGHT_SLEEP", 0, end, end + 2) == SleepRun(
        at=end + 2, device="w", start=T0, end=end)
    assert blocks.sleep_run("w", "DEEP_SLEEP", 0, end, end + 2) is not None
    assert blocks.sleep_run("w", "DEEP_SLEEP", 3, end, end + 2) is None  # someone stepped
    for other in (None, "UNKNOWN", "NOT_WORN", "WALKING", "EXERCISE", "sleep"):
        assert blocks.sleep_run("w", other, 0, end, end + 2) is None


def test_the_watchs_sleep_marks_arrive_live_and_from_its_history_through_bleak() -> None:
    zone = ZoneInfo("Europe/London")
    clock = ManualClock(0)
    clock.set_local("2026-06-09 22:55:00", zone)

    async def scenario(world: VirtualWorld) -> Collector:
        watch = await world.add_bangle(clock=clock)
        manager = DeviceManager([DeviceSpec(kind="bangle", address=watch.address)],
                                clock=clock, zone=zone, backend=world.backend,
                                scanner_backend=world.scanner_backend, timing=FAST)
        async with Collector().draining(manager.queue) as got, manager:
            await until(lambda: watch.realtime_s is not None, what="the first connect")
            watch.activity = "LIGHT_SLEEP"  # the Sleep Log app's verdict from here on
            clock.set_local("2026-06-09 23:00:00", zone)
            await watch.end_block()  # live
            await until(lambda: bool(got.of(SleepRun)), what="the live block's mark")
            await watch.go_away()
            await until(lambda: len(got.links()) == 2, what="the drop")
            for at in ("23:10", "23:20", "23:30"):
                clock.set_local(f"2026-06-09 {at}:00", zone)
                if at == "23:20":
                    await watch.walk(12)  # up in the night: not asleep
                await watch.end_block()
            watch.activity = None
            clock.set_local("2026-06-09 23:40:00", zone)
            await watch.end_block()
            await watch.come_back()
            await until(lambda: len(got.of(SleepRun)) == 3, what="the history's marks")
        return got

    got = run_in_world(scenario)
    runs = [(r.start, r.end) for r in got.samples if isinstance(r, SleepRun)]
    day = Day(date(2026, 6, 9), LONDON)
    assert runs == [(day.at(a) * 60, day.at(b) * 60)
                    for a, b in (("22:50", "23:00"), ("23:00", "23:10"), ("23:20", "23:30"))]


# --- through real bleak: the virtual Mi Band 5 and the daemon ---------------------------------


KEY_HEX = "8f1d2c3b4a5968778695a4b3c2d1e0f0"


def test_a_bands_sleep_is_stored_lying_and_leaves_the_days_sitting(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    db = tmp_path / "pacer.sqlite3"
    caplog.set_level(logging.INFO, logger="pacer.daemon.app")

    def rows() -> list[tuple[int, int, str, int]]:
        if not db.exists():
            return []
        with sqlite3.connect(db) as conn:
            return conn.execute("SELECT minute, steps, posture, inferred FROM epochs"
                                " ORDER BY minute").fetchall()

    async def scenario() -> dict[str, Any]:
        with PrivateBroker() as broker:
            async with virtual_world() as world:
                clock = Clock(speed=SPEED, origin=START.timestamp())
                band = await world.add_miband(bytes.fromhex(KEY_HEX), clock=clock.now,
                                              offset_s=3600)
                band.wear(LIGHT)  # in bed since before the daemon started
                (tmp_path / "band.key").write_text(KEY_HEX + "\n", encoding="utf-8")
                # The window open from 08:00 (a morning in bed inside it).
                config = wearable_config(tmp_path, broker, "huami", band.address,
                                         auth_key_file=str(tmp_path / "band.key"),
                                         day={"wake": "08:00", "wake_early_min": 0,
                                              "wake_late_min": 0})
                woke: dict[str, int] = {}

                async def body(daemon: Daemon) -> None:
                    await until(lambda: connected(daemon), 10, "the band to connect")
                    await until(lambda: clock.now() >= START.timestamp() + 20 * 60, 15,
                                "twenty clock minutes in bed")
                    band.wear(DEEP)
                    # Past the sitting limit (40): a bout grown through the sleep
                    # would buzz the band.
                    await until(lambda: clock.now() >= START.timestamp() + 50 * 60, 25,
                                "thirty more, in deep sleep")
                    band.wear(ACTIVE)  # up, and sitting still: no steps
                    woke["minute"] = wake = int(minute_of(clock.now()) // 60)
                    assert daemon.ble is not None
                    label = next(iter(daemon.ble.labels))

                    def past_waking() -> bool:
                        assert daemon.ble is not None
                        state = daemon.ble.manager.log_state(label)
                        return state is not None and (state.fetched or 0) > (wake + 2) * 60

                    await until(past_waking, 20, "a fetch of the minutes after waking")
                    now = int(clock.now() // 60)
                    await until(lambda: bool(rows()) and rows()[-1][0] > now, 10,
                                "the revision stored with a minute")

                await run_daemon(config, world, clock, body)
                woke["buzzes"] = band.vibrations
        return woke

    woke = asyncio.run(asyncio.wait_for(scenario(), 120))
    wake = woke["minute"]
    stored = rows()
    asleep = [(m, p, i) for m, _, p, i in stored if m < wake and p != "unknown"]
    assert len(asleep) >= 45
    assert {(p, i) for _, p, i in asleep} == {("lying", 0)}
    awake = [(p, i) for m, _, p, i in stored if wake < m <= wake + 2]
    assert awake == [("sedentary", 1)] * 2
    with sqlite3.connect(db) as conn:
        (state,) = conn.execute("SELECT state FROM engine_state").fetchone()
        # Where the lying came from stays on record: the band's own marks, raw.
        (marks,) = conn.execute("SELECT count(*) FROM samples WHERE kind = 'SleepRun'"
                                ).fetchone()
        prompts = conn.execute("SELECT kind FROM prompts").fetchall()
    assert marks >= 4
    assert prompts == []  # nothing about the sleep, nor during it
    assert woke["buzzes"] == 0
    tally = json.loads(state)["tally"]
    in_window = [p for m, _, p, _ in stored if m >= tally["opened"]]
    assert tally["lying_min"] == in_window.count("lying") >= 45
    assert tally["sedentary_min"] == in_window.count("sedentary")
    lines = [r.getMessage() for r in caplog.records if "asleep" in r.getMessage()]
    assert lines
    assert "from the band's sleep mark" in lines[0]
