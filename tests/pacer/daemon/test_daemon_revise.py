"""The whole day labelled (issue 18 item 3, the daemon's half): a thigh sensor's
minutes before its first walk, given live as sitting inferred from no steps,
are relabelled once the walk has taught the mount. The engine corrects today's
figures without a prompt about the past (``Engine.revise``), the store rewrites
the minutes, the daemon logs it; and the minutes stored end up as ``pacer
epochs`` gives them for the same samples.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import sqlite3
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from helpers.daemon import START, thigh_daemon, thigh_minute, until
from helpers.engine import LONDON, Day, Driver, sitting_rules

pytest.importorskip("bumble", reason="the virtual wearables need the 'virtual' extra")

from helpers.minutes import RATE, T0, live, offline
from helpers.mqtt import Collector
from test_not_worn import M0, book_with, stream

from devices.imu.synth import Segment, synthesise
from devices.virtual import virtual_world
from devices.virtual.imu import TURNED
from pacer.config import DayRules
from pacer.daemon.ble import MinuteBook, Relabelled, relabel_line
from pacer.engine.model import DaySummary, Epoch, Posture, Prompt, Summary
from pacer.lockstep import StepClock
from pacer.mqtt.broker import PrivateBroker
from pacer.store import Store

SIT, UP, LIE = Posture.SEDENTARY, Posture.UPRIGHT, Posture.LYING


# --- the engine on its own ----------------------------------------------------------------


def morning(driver: Driver, day: Day) -> None:
    """07:00-07:45 zero steps (sitting inferred: a bout, prompted at 40), 07:45-07:48 a walk."""
    driver.feed([Epoch.from_steps(m, 0) for m in range(day.at("07:00"), day.at("07:45"))])
    driver.feed([Epoch.from_steps(m, 100) for m in range(day.at("07:45"), day.at("07:48"))])


def revised(day: Day, start: str, end: str, posture: Posture) -> list[tuple[Epoch, Epoch]]:
    return [(Epoch.from_steps(m, 0), Epoch(m, 0, posture))
            for m in range(day.at(start), day.at(end))]


def test_revise_moves_todays_minutes_to_their_new_posture_and_decides_nothing() -> None:
    day = Day(date(2026, 6, 10), LONDON)
    rules = sitting_rules(day=DayRules(wake_early_min=0, wake_late_min=0, wake=time(7, 0)))
    driver = Driver(rules=rules, zone=LONDON)
    wake = day.at("07:00")
    morning(driver, day)
    tally = driver.engine.state.tally
    assert tally is not None
    assert tally.opened == wake
    before = (tally.known_min, tally.steps, list(tally.bouts), tally.sedentary_min)
    assert tally.sedentary_min == tally.sedentary_inferred_min == 45
    prompts = [o for o in driver.outputs if isinstance(o, Prompt)]
    assert [(day.clock(p.time), p.kind) for p in prompts] == [("07:40", "sitting_break")]

    changes = (revised(day, "06:50", "07:00", SIT)  # before the window: not counted
               + revised(day, "07:00", "07:30", SIT) + revised(day, "07:30", "07:40", UP)
               + revised(day, "07:40", "07:45", LIE))
    out = driver.engine.revise(changes)

    assert out == []  # the window is open: no summary yet, and never a prompt
    assert (tally.sedentary_min, tally.sedentary_inferred_min) == (30, 0)
    assert (tally.upright_min, tally.lying_min) == (10, 5)
    # Known minutes, steps and the bouts the prompt was about stay as they were.
    assert (tally.known_min, tally.steps, tally.bouts) == before[:3]
    # The trail was relabelled too: minutes taken back as not worn later leave
    # the figures under their new posture.
    driver.engine.not_worn(day.at("07:35"), day.at("07:42"))
    assert (tally.sedentary_min, tally.upright_min, tally.lying_min) == (30, 5, 3)
    driver.feed([Epoch.from_steps(m, 100) for m in range(day.at("07:48"), day.at("07:50"))])
    assert [o for o in driver.outputs if isinstance(o, Prompt)] == prompts


def test_revise_after_the_window_closed_gives_the_corrected_provisional_summary() -> None:
    day = Day(date(2026, 6, 10), LONDON)
    rules = sitting_rules(day=DayRules(wake_early_min=0, wake_late_min=0, wake=time(7, 0),
                                       sleep=time(9, 0), min_known_hours=1))
    driver = Driver(rules=rules, zone=LONDON)
    morning(driver, day)
    driver.feed([Epoch.from_steps(m, 0) for m in range(day.at("07:48"), day.at("09:10"))])
    closing = [o for o in driver.outputs if isinstance(o, Summary) and o.period == "day"]
    assert [(s.final, day.clock(s.time)) for s in closing] == [(False, "09:00")]
    was = closing[0].body

    # Minutes after the close (09:00-09:10) are outside the window: no change, no summary.
    assert driver.engine.revise(revised(day, "09:02", "09:08", SIT)) == []
    out = driver.engine.revise(revised(day, "07:00", "07:30", SIT)
                               + revised(day, "08:00", "08:20", LIE))
    assert len(out) == 1
    summary = out[0]
    assert isinstance(summary, Summary)
    assert (summary.final, summary.key, summary.time) == (False, "2026-06-10", day.at("09:10"))
    body = summary.body
    assert isinstance(body, DaySummary)
    assert isinstance(was, DaySummary)
    assert body.sedentary_min == was.sedentary_min - 20
    assert body.sedentary_inferred_min == was.sedentary_inferred_min - 50
    assert body.lying_min == was.lying_min + 20
    assert body.known_min == was.known_min
    assert body.longest_sitting_bout_min == was.longest_sitting_bout_min
    # Nothing changed, nothing republished.
    assert driver.engine.revise([(Epoch(m, 0, SIT), Epoch(m, 0, SIT))
                                 for m in range(day.at("07:00"), day.at("07:10"))]) == []


# --- the MinuteBook against pacer epochs ---------------------------------------------------


COLD_DAY = [Segment("sitting", 20 * 60), Segment("standing", 6 * 60), Segment("lying", 5 * 60),
            Segment("walking", 150, 104), Segment("sitting", 6 * 60),
            Segment("walking", 90, 110), Segment("standing", 4 * 60)]
"""A sensor put on fresh: sitting, standing and lying before its first walk."""


def test_the_minutes_revised_live_are_the_minutes_pacer_epochs_gives(tmp_path: Path) -> None:
    """The same raw samples through the daemon's MinuteBook (each minute taken
    when the daemon takes it, those before the walk relabelled once it has
    taught the mount) and through ``pacer epochs``: the same minutes."""
    array, _ = synthesise(COLD_DAY, RATE, "thigh", rotation=TURNED, seed=5)
    xyz = [(float(a), float(b), float(c)) for a, b, c in array]
    book = MinuteBook()
    taken = {e.start: e for e in live(xyz, book)}
    as_given = dict(taken)
    assert len(book.relabelled) == 1
    (rel,) = book.relabelled
    for old, new in rel.changes:
        assert taken[old.start] == old
        taken[new.start] = new
    minutes = [taken[m] for m in sorted(taken)]
    offline_minutes = offline(tmp_path, xyz)
    assert len(minutes) >= len(offline_minutes) - 1
    assert minutes == offline_minutes[:len(minutes)]
    # Live, the 31 minutes before the walk were guessed from no steps; now measured.
    first = int(T0 // 60)
    assert all(as_given[m].inferred for m in range(first + 1, first + 30))
    got = [minutes[m - first].posture for m in range(first + 1, first + 30)]
    assert got == [SIT] * 19 + [UP] * 6 + [LIE] * 4
    assert not any(e.inferred for e in minutes)
    assert len(rel.changes) >= 29
    # Once the mount is known nothing more is kept for a revision.
    assert book.given == {}
    assert all(len(t.kept_labels) == 0 for t in book.tracks.values())


def test_minutes_a_still_run_took_back_are_not_relabelled() -> None:
    """The sensor lay on a table (not worn, ``book.runs``) before it was put on:
    the walk relabels the minutes worn before it, never the table's."""
    book = book_with("witmotion", "thigh")
    table = stream(book, 20, noise_g=0.003)  # 14 minutes taken back, then not worn
    assert book.runs == [(M0, M0 + 14)]
    assert [e.posture for e in table[14:]] == [Posture.NOT_WORN] * 6
    array, _ = synthesise([Segment("sitting", 10 * 60), Segment("walking", 150, 104),
                           Segment("standing", 150)], RATE, "thigh", rotation=TURNED, seed=2)
    track = book.tracks["thigh"]
    start = T0 + 20 * 60
    for i in range(0, len(array), RATE):
        at = start + i / RATE + 0.95
        for x, y, z in array[i:i + RATE].tolist():
            book.motion(track, "thigh", "witmotion", at, (x, y, z))
        if (i // RATE) % 60 == 59:
            book.take(M0 + 20 + i // (60 * RATE))
    minutes = [old.start for rel in book.relabelled for old, _ in rel.changes]
    assert minutes, "the sitting before the walk was relabelled"
    assert min(minutes) >= M0 + 20
    assert set(range(M0 + 21, M0 + 30)) <= set(minutes)
    assert all(new.posture is SIT and not new.inferred
               for rel in book.relabelled for old, new in rel.changes
               if old.start < M0 + 30)


def test_the_log_tells_an_upright_taken_for_now_from_a_mount_learnt() -> None:
    """A waist that moved without a stride relabels with a provisional upright,
    which is no learnt mount (devices.imu.pipeline's Revision.provisional)."""
    at = START.replace(hour=9, minute=42, second=30).timestamp()
    zone = START.tzinfo
    assert zone is not None
    changed = ((Epoch.from_steps(M0, 0), Epoch(M0, 0, SIT)),)
    learnt = relabel_line(Relabelled("F0:01", "waist", at, 300, changed), zone)
    assert learnt.startswith("waist sensor F0:01: mount learnt by 09:42; 300 earlier seconds")
    for_now = relabel_line(Relabelled("F0:01", "waist", at, 300, changed, provisional=True),
                           zone)
    assert for_now.startswith("waist sensor F0:01: upright taken for now from its moving "
                              "seconds, no walk yet, by 09:42; 300 earlier seconds"), for_now
    assert "mount learnt" not in for_now


# --- end to end: the daemon with a virtual thigh sensor ------------------------------------


# In lock-step (helpers.daemon.thigh_minute): the clock moves a minute once the
# daemon has its samples; the minute job looks every 20 ms.
LOCKSTEP_SPEED = 3000.0


def desk_then_walk(tmp_path: Path, day: dict[str, Any], sit_min: int) -> dict[str, Any]:
    """The daemon in lock-step with a virtual thigh sensor just put on:
    ``sit_min`` minutes at the desk from 45 s into a clock minute, then a
    3-minute walk, then sitting; run until 5 minutes after the walk began. The prompts and day
    summaries published, and the engine's figures at the end."""

    async def scenario() -> dict[str, Any]:
        with PrivateBroker() as broker:
            phone = Collector(broker.host, broker.port, "pacer/alice/prompt")
            clinic = Collector(broker.host, broker.port, "pacer/alice/summary/day")
            try:
                async with virtual_world() as world:
                    clock = StepClock(speed=LOCKSTEP_SPEED, origin=START.timestamp())
                    async with thigh_daemon(tmp_path, broker, world, clock,
                                            day) as (thigh, daemon):
                        first = math.floor(clock.now() / 60) + 1
                        starts = first * 60.0 + 45
                        walks = starts + sit_min * 60
                        thigh.play([Segment("sitting", sit_min * 60),
                                    Segment("walking", 180, 105),
                                    Segment("sitting", 600)], at=starts)
                        minute = first - 1
                        while (daemon.engine.next_minute or 0) * 60 < walks + 300:
                            await thigh_minute(daemon, thigh, clock, minute)
                            minute += 1
                        tally = daemon.engine.state.tally
                        assert tally is not None
                        figures = (tally.opened, tally.sedentary_min,
                                   tally.sedentary_inferred_min, daemon.engine.next_minute)
                        await until(lambda: daemon.store.outbox_pending() == [], 10,
                                    "the outbox to be sent")
                prompts = [json.loads(m.payload) for m in phone.messages]
                summaries = [json.loads(m.payload) for m in clinic.messages]
            finally:
                phone.close()
                clinic.close()
        return {"starts": starts, "walks": walks, "prompts": prompts, "figures": figures,
                "address": thigh.address, "summaries": summaries}

    return asyncio.run(asyncio.wait_for(scenario(), 180))


def test_a_desk_morning_before_the_first_walk_is_stored_as_measured_sitting(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    """45 minutes at the desk with a thigh sensor just put on (sitting can only
    be inferred from no steps: a sitting prompt at 40, decided live), then a
    walk teaches the mount: the stored minutes before it become measured
    sitting, the day's figures count them so, the revision is logged, and no
    prompt is sent about them afterwards."""
    caplog.set_level(logging.INFO, logger="pacer.daemon.app")
    # The window open all morning (else it opens at the walk: inferred sitting
    # shows no one up).
    result = desk_then_walk(tmp_path, {"wake": "07:00", "wake_late_min": 60}, 45)
    with sqlite3.connect(tmp_path / "pacer.sqlite3") as conn:
        rows = conn.execute("SELECT minute, posture, inferred FROM epochs ORDER BY minute"
                            ).fetchall()
    by_minute = {m: (posture, inferred) for m, posture, inferred in rows}
    desk = range(int(result["starts"] // 60) + 1, int(result["walks"] // 60))
    assert [by_minute[m] for m in desk] == [("sedentary", 0)] * len(desk)

    # The day's figures are the stored minutes'.
    opened, sedentary, inferred, upto = result["figures"]
    window = [(p, i) for m, p, i in rows if opened <= m < upto]
    assert sedentary == sum(1 for p, _ in window if p == "sedentary") >= len(desk)
    assert inferred == sum(1 for p, i in window if p == "sedentary" and i) <= 2

    # The sitting prompt at 40 minutes went out live; none came after the walk.
    breaks = [p for p in result["prompts"] if p["kind"] == "sitting_break"]
    times = [datetime.fromisoformat(p["time"]).timestamp() for p in breaks]
    assert len(breaks) == 1
    assert times[0] < result["walks"]

    lines = [r.getMessage() for r in caplog.records if "stored minutes relabelled" in
             r.getMessage()]
    assert len(lines) == 1, [r.getMessage() for r in caplog.records]
    assert lines[0].startswith(f"thigh sensor {result['address']}: mount learnt by "), lines
    found = re.search(r"; (\d+) stored minutes relabelled \d\d:\d\d-\d\d:\d\d: (\d+) sitting"
                      r"(, .*)? \(were (\d+) sitting \(inferred\)", lines[0])
    assert found, lines[0]
    assert int(found[1]) >= int(found[2]) >= len(desk)
    assert int(found[4]) >= len(desk)
    assert result["summaries"] == []  # the window is still open


def test_a_revision_after_the_window_closed_publishes_the_day_summary_again(
    tmp_path: Path,
) -> None:
    """The window closes at 09:20 while the sensor still infers the sitting: the
    day's summary says so; the walk at about 09:30 relabels the minutes and the
    summary is published again, measured, and stored in place of the first."""
    day = {"wake": "07:00", "wake_late_min": 60, "sleep": "09:20", "min_known_hours": 1}
    result = desk_then_walk(tmp_path, day, 30)
    first, *later = result["summaries"]
    assert not first["final"]
    assert first["sedentary_inferred_min"] >= 20
    assert len(later) == 1
    again = later[0]
    assert not again["final"]
    assert again["date"] == first["date"]
    assert again["sedentary_min"] == first["sedentary_min"]
    assert again["sedentary_inferred_min"] <= 2
    assert again["known_min"] == first["known_min"]
    with sqlite3.connect(tmp_path / "pacer.sqlite3") as conn:
        (stored,) = conn.execute("SELECT payload FROM summaries WHERE period = 'day'"
                                 ).fetchone()
    assert json.loads(stored)["sedentary_inferred_min"] == again["sedentary_inferred_min"]


def test_the_store_rewrites_revised_minutes_with_the_minute_that_revised_them(
    tmp_path: Path,
) -> None:
    m0 = 29_000_000
    with Store.open(tmp_path / "pacer.sqlite3") as store:
        store.commit_minute("alice", Epoch.from_steps(m0, 0), "ble", [], {}, [])
        store.commit_minute("alice", Epoch.not_worn(m0 + 1), "ble", [], {}, [])
        store.commit_minute("alice", Epoch.unknown(m0 + 2), "ble", [], {}, [])
        store.commit_minute("alice", Epoch.from_steps(m0 + 3, 12), "ble", [], {}, [])
        store.commit_minute("bob", Epoch.from_steps(m0, 0), "ble", [], {}, [])
        store.commit_minute("alice", Epoch.from_steps(m0 + 4, 0), "ble", [], {}, [],
                            revised=[Epoch(m0, 0, SIT), Epoch(m0 + 1, 0, SIT),
                                     Epoch(m0 + 2, 0, UP), Epoch(m0 + 3, 12, LIE)])
        got = [(e.start - m0, e.steps, e.posture, e.inferred)
               for e in store.epochs("alice", m0, m0 + 5)]
        # A minute stored not worn or unknown stays so; steps are never rewritten.
        assert got == [(0, 0, SIT, False), (1, 0, Posture.NOT_WORN, False),
                       (2, 0, Posture.UNKNOWN, False), (3, 12, LIE, False),
                       (4, 0, SIT, True)]
        assert [(e.posture, e.inferred) for e in store.epochs("bob", m0, m0 + 1)] == [
            (SIT, True)]
