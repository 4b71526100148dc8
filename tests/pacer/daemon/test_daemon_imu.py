"""Sitting measured from raw motion: a virtual thigh IMU (WitMotion-like) on a virtual
link, real bleak code, the real daemon in lock-step with the sensor, the streaming IMU
pipeline, a private mosquitto and a real SQLite file.

The person walks, sits for 50 minutes (a ``sitting_break`` at 40 of them), then
stands up and walks: the bout ends. Also the MinuteBook's posture on its own.
"""

from __future__ import annotations

import asyncio
import io
import json
import math
import re
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from helpers.daemon import START, thigh_daemon, thigh_minute, virtual_rig

pytest.importorskip("bumble", reason="the virtual wearables need the 'virtual' extra")

from devices.imu.synth import Segment, synthesise
from devices.samples import Link, Motion
from devices.virtual.imu import TURNED
from pacer.config import parse_config
from pacer.contract import payloads
from pacer.daemon.ble import BleSource, MinuteBook
from pacer.daemon.imu_track import ImuTrack
from pacer.demo import _demo
from pacer.engine.model import Epoch, Posture
from pacer.lockstep import StepClock

TZ = ZoneInfo("Europe/London")
LOCKSTEP_SPEED = 3000.0  # in lock-step the minute job looks every 20 ms; the stream sets the pace


def stored(db: Path) -> list[tuple[int, int, str, int]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT minute, steps, posture, inferred FROM epochs ORDER BY minute").fetchall()



def test_thigh_imu_sits_50_minutes_gets_a_break_prompt_at_40_and_walking_ends_the_bout(
    tmp_path: Path,
) -> None:
    state: list[dict[str, Any]] = []  # the engine's status (the state topic's body) by minute

    async def scenario() -> dict[str, Any]:
        async with virtual_rig() as (broker, phone, world):
            # In lock-step: the clock moves a minute once the daemon has its samples.
            clock = StepClock(speed=LOCKSTEP_SPEED, origin=START.timestamp())
            async with thigh_daemon(tmp_path, broker, world, clock) as (thigh, daemon):
                # Every activity changes 45 s into a clock minute: the minute the
                # walk ends in is then mostly walking, and the state read at the
                # first whole minute after the walk shows one minute of sitting.
                first = math.floor(clock.now() / 60) + 1
                starts = first * 60.0 + 45
                sat_at = starts + 180
                thigh.play([
                    Segment("walking", 180, 105),  # the mount is learnt here
                    Segment("sitting", 50 * 60),
                    Segment("standing", 60),
                    Segment("walking", 8 * 60, 110),
                    Segment("sitting", 3600),
                ], at=starts)
                walk_ends = sat_at + 50 * 60 + 60 + 8 * 60

                minute = first - 1
                while (daemon.engine.next_minute or 0) * 60 < walk_ends + 60:
                    await thigh_minute(daemon, thigh, clock, minute)
                    minute += 1
                    status = payloads.state(daemon.engine.status(), user=daemon.user,
                                            tz=daemon.engine.tz)
                    if status["time"] and (not state or state[-1]["time"] != status["time"]):
                        state.append(status)
                bout = daemon.engine.state.bout
        prompts = [json.loads(m.payload) for m in phone.messages]
        return {"sat_at": sat_at, "prompts": prompts, "states": state, "bout": bout}

    result = asyncio.run(asyncio.wait_for(scenario(), 180))
    rows = stored(tmp_path / "pacer.sqlite3")
    by_minute = {m: (steps, posture, inferred) for m, steps, posture, inferred in rows}
    sat_minute = int(result["sat_at"] // 60)

    # Sitting measured from the thigh, not guessed from zero steps. (The walk's last
    # seconds, final 15 s later, may still bring a few steps into the minute after.)
    sitting = [by_minute[m] for m in range(sat_minute + 1, sat_minute + 49)]
    assert all(p == "sedentary" and inferred == 0 for _, p, inferred in sitting), sitting
    assert all(steps == 0 for steps, _, _ in sitting[1:]), sitting
    # The walk before and after: stepping minutes with the pipeline's steps (a
    # minute's edges move by the 15-s look-ahead and by how late the notifications
    # came on a loaded machine: at 120x a stall of 0.25 s is 30 clock seconds).
    sat_at = result["sat_at"]
    walks = ((sat_at - 180, sat_at), (sat_at + 51 * 60, sat_at + 59 * 60))
    inside = [m for lo, hi in walks for m in range(int(lo // 60), int(hi // 60) + 1)
              if m * 60 >= lo + 40 and (m + 1) * 60 <= hi - 40]
    assert len(inside) >= 4
    for m in inside:
        steps, posture, _ = by_minute[m]
        assert posture == "stepping"
        assert 70 <= steps <= 140, (m, steps)
    walked = sum(by_minute[m][0] for m in range(sat_minute + 50, sat_minute + 61))
    assert 0.92 * 880 <= walked <= 1.05 * 880  # 8 minutes at 110 steps/min

    breaks = [p for p in result["prompts"] if p["kind"] == "sitting_break"]
    assert len(breaks) == 1  # 50 minutes: one prompt, the repeat would be at 55
    body = breaks[0]
    assert body["reason"]["bout_min"] == 40
    bout_start = min(m for m in range(sat_minute - 1, sat_minute + 2)
                     if by_minute[m][1] == "sedentary")
    prompt_minute = int(datetime.fromisoformat(body["time"]).timestamp() // 60)
    assert prompt_minute == bout_start + 40

    # Standing up and walking ended the bout: the state says so, the engine and the store too.
    sitting_min = [s["sitting_min"] for s in result["states"]]
    assert max(sitting_min) >= 49
    peak = sitting_min.index(max(sitting_min))
    assert 0 in sitting_min[peak:]
    assert sitting_min[-1] <= 1  # sat down again just now, at most
    assert result["bout"] is None or result["bout"].start > sat_minute + 50
    with sqlite3.connect(tmp_path / "pacer.sqlite3") as conn:
        (saved,) = conn.execute("SELECT state FROM engine_state").fetchone()
    bout = json.loads(saved)["bout"]
    assert bout is None or bout["start"] > sat_minute + 50


def test_minute_book_takes_the_majority_posture_of_the_pipeline_seconds() -> None:
    """The book alone: 10 Hz thigh samples stamped a second apart in tens."""
    book = MinuteBook()
    xyz, _ = synthesise([Segment("walking", 120, 100), Segment("sitting", 300),
                         Segment("standing", 240)], 10, "thigh", rotation=TURNED)
    t0 = 1_800_000_000.0  # on a whole minute
    assert t0 % 60 == 0
    track = book.track("thigh", "thigh", 10.0)
    epochs: list[Epoch] = []
    minute = int(t0 // 60)
    for i in range(0, len(xyz), 10):
        at = t0 + i / 10
        if int(at // 60) > minute:
            epochs.append(book.take(minute))
            minute += 1
        for row in xyz[i: i + 10]:
            book.motion(track, "thigh", "witmotion", at, (float(row[0]), float(row[1]),
                                                          float(row[2])))
    epochs.append(book.take(minute))
    postures = [e.posture for e in epochs]
    assert postures[:2] == [Posture.STEPPING, Posture.STEPPING]
    assert postures[2:7] == [Posture.SEDENTARY] * 5
    assert postures[7:10] == [Posture.UPRIGHT] * 3
    assert not any(e.inferred for e in epochs)
    # The pipeline's 15-s look-ahead carries the walk's last seconds into minute 2.
    assert 90 <= epochs[1].steps <= 110
    assert epochs[2].steps <= 30
    assert 190 <= sum(e.steps for e in epochs) <= 205  # 2 min at 100 steps/min
    assert sum(e.steps for e in epochs[3:]) <= 2  # a blip where the posture changes
    assert [e.start for e in epochs] == list(range(minute - len(epochs) + 1, minute + 1))


def test_demo_on_a_virtual_thigh_sensor_measures_the_morning_sitting(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``pacer demo --wearable thigh``, its night and the first 78 minutes of its
    day, in lock-step with the daemon's clock (each minute's samples and the
    pipeline's look-ahead in the daemon before it takes the minute), so to the
    minute: lying in bed, the wearer sits up at 06:30, which opens the day
    (sitting counts as up for a posture device); the seeded week's baseline
    gives the morning message; the 07:00 breakfast sitting, measured from the
    thigh's acceleration, is prompted at 40 min."""

    out = io.StringIO()
    assert asyncio.run(asyncio.wait_for(_demo(1200.0, 1.3, out, wearable="thigh"), 150)) == 0
    text = out.getvalue()
    assert "a virtual WitMotion IMU on the thigh" in text
    assert "240x at most, not 1200x" in text
    assert "Seeded 7 days of history" in text
    # The bathroom walk at 05:22 is before day.wake - wake_early_min: not up yet.
    opened = re.findall(r"^  day opened at (\d\d:\d\d): you are up$", text, flags=re.MULTILINE)
    assert opened == ["06:30"], text
    prompts = re.findall(r"^  (\d\d:\d\d)  (.+?)  \((.+)\)$", text, flags=re.MULTILINE)
    assert [title for _, title, _ in prompts][:1] == ["Your plan"], text  # the first thing said
    assert prompts[0][2] == "step plan 6,456", text
    assert "Your daily step plan starts at" in text
    assert [title for _, title, _ in prompts].count("Your plan") == 1, text
    # Sitting measured from the thigh, not inferred from no steps.
    sitting = [(t, why) for t, title, why in prompts if title == "Time for a movement break"]
    assert sitting, text
    assert sitting[0][0] == "07:40", text
    assert sitting[0][1].startswith("sitting "), text
    assert not re.search(r"\w=\S", text), text  # no Python reprs: key=value
    assert max(t for t, _, _ in prompts) <= "07:48", text  # 06:30 + 1.3 h: nothing past it
    assert "sedentary / upright / stepping min" in text


def test_imu_track_times_samples_by_their_soonest_arrivals_and_restarts_at_a_reconnect() -> None:
    """Seconds are timed from the samples that came soonest: a burst after a stall
    keeps its true times, and after a reconnect the times start again."""
    track = ImuTrack("thigh", 10.0)
    t0 = 1_800_000_000.0
    xyz = (0.0, 1.0, 0.0)
    for i in range(600):  # 60 s on time
        track.add(t0 + i / 10, xyz)
    for _ in range(300):  # 30 s stuck, then all at once
        track.add(t0 + 95.0, xyz)
    placed = track.seconds()
    assert len(placed) == 90 - 15  # the pipeline's 15-s look-ahead
    assert [round(at - t0, 6) for at, _, _ in placed] == list(range(75))
    # Out of reach for 100 s: the samples after the reconnect are timed from it.
    track.gap()
    for j in range(600):
        track.add(t0 + 200 + j / 10, xyz)
    placed = track.seconds()
    times = [round(at - t0, 6) for at, _, _ in placed]
    assert times[:15] == list(range(75, 90))  # before the gap, as they were
    assert times[15:] == [200 + k for k in range(60 - 15)]


def test_the_learnt_mount_is_stored_with_the_minute_and_measures_sitting_after_a_restart(
) -> None:
    """Through BleSource's queue as the daemon uses it: a walk teaches the mount; a
    restarted source given the stored state measures sitting from its first minute,
    one without it can only infer sitting from zero steps."""
    thigh = parse_config({
        "user": {"id": "alice", "timezone": "Europe/London"},
        "devices": [{"kind": "witmotion", "address": "F0:00:00:00:00:01",
                     "placement": "thigh"}],
        "mqtt": {"url": "mqtt://127.0.0.1:1"},
        "storage": {"path": "unused.sqlite3"},
    }).devices
    t0 = 1_800_000_000.0
    label = "F0:00:00:00:00:01"

    def feed(source: BleSource, segments: list[Segment], start: float) -> list[Epoch]:
        xyz, _ = synthesise(segments, 10, "thigh", rotation=TURNED, seed=3)
        source.manager.queue.put_nowait(Link(at=start, device=label, connected=True,
                                             reason="connected"))
        epochs, minute = [], int(start // 60)
        for i, row in enumerate(xyz):
            at = start + i / 10
            if int(at // 60) > minute:
                epochs.append(source.epoch(minute))
                minute += 1
            source.manager.queue.put_nowait(Motion(at=at, device=label, x=float(row[0]),
                                                   y=float(row[1]), z=float(row[2])))
        return epochs

    first = BleSource(thigh, clock=lambda: t0, zone=TZ)  # type: ignore[arg-type]
    feed(first, [Segment("walking", 120, 100), Segment("sitting", 120)], t0)
    saved = json.loads(json.dumps(first.state()))  # as the store keeps it
    assert saved["mounts"][label]["walking_seconds"] >= 100

    sitting = [Segment("sitting", 240)]
    again = feed(BleSource(thigh, clock=lambda: t0, zone=TZ, saved=saved),  # type: ignore[arg-type]
                 sitting, t0 + 600)
    assert [(e.posture, e.inferred) for e in again[:3]] == [(Posture.SEDENTARY, False)] * 3
    fresh = feed(BleSource(thigh, clock=lambda: t0, zone=TZ), sitting,  # type: ignore[arg-type]
                 t0 + 600)
    assert [(e.posture, e.inferred) for e in fresh[:3]] == [(Posture.SEDENTARY, True)] * 3


def test_a_daemon_without_an_imu_does_not_load_numpy() -> None:
    """numpy and the pipeline cost about 12 MB of a Pi's memory: only a daemon
    with a thigh or waist IMU loads them (when its first motion arrives)."""
    probe = ("import sys\n"
             "import pacer.daemon.app, pacer.daemon.ble, devices.manager, devices.profiles\n"
             "import devices.virtual  # a daemon on a virtual watch: the demo, the benchmark\n"
             "print(sorted(m for m in ('numpy', 'devices.imu') if m in sys.modules))\n")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
