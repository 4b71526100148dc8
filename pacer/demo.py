"""``pacer demo``: the real pipeline, no setup.

A private broker on a free loopback port; a virtual InfiniTime watch on a
virtual Bluetooth link (bumble), walking a scripted desk day; the daemon (the
same code as ``pacer run``) connected to it through ordinary bleak code at an
accelerated clock; and an ordinary MQTT subscriber printing what a phone would
receive. Prompts also buzz the virtual watch. Without the virtual-device
extra the demo falls back to a replay device (the same day from a file).

Before the daemon starts, the store gets the person's previous week (a
simulated desk worker, stored as ``pacer replay --store`` stores it): the daemon
resumes from it, the baseline completes overnight, and the day opens when the
person gets up at 06:30 with one morning message giving the first step plan.

``wearable="thigh"``: instead of the watch, a virtual WitMotion IMU on the
thigh streams acceleration synthesised from the same day (at 10 Hz, so the
clock runs at most ``THIGH_MAX_SPEED`` times real time), and the daemon
measures sitting from it with the IMU pipeline. The clock starts in the night:
the wearer walks to the bathroom and back to bed (the pipeline learns how the
sensor is strapped on from walking), lies in bed, and sits up at 06:30, which
for a posture device opens the day.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pacer import replay
from pacer.config import Config, parse_config
from pacer.contract import payloads
from pacer.contract.topics import Topics
from pacer.daemon.app import Daemon
from pacer.daemon.clock import Clock
from pacer.engine.core import Engine
from pacer.engine.model import DaySummary, Epoch, Prompt, Summary
from pacer.extras import install_hint
from pacer.mqtt.broker import PrivateBroker
from pacer.mqtt.client import Incoming, MqttLink
from pacer.personas import PERSONAS
from pacer.store import Store

log = logging.getLogger(__name__)

DEMO_USER = "demo"
DEMO_TZ = "Europe/London"
DAY_START = (6, 30)

# A desk worker's day, as (minutes, posture, steps per minute); the times in the
# comments are what the engine's default rules (v2) make of it on the watch. The
# window opens at getting up (the first minute with >= 20 steps), and the morning
# message gives the first step plan, from the week of history seeded before the
# day. Each bout gets its prompt at 40 minutes and one repeat 15 minutes later;
# the day's budget is 10 nudges, and once 3 are left they are kept for the first
# prompt of a bout (no repeats).
SCRIPT: tuple[tuple[int, str, int], ...] = (
    (4, "walking", 45),     # 06:30 up, to the kitchen: the window opens; plan at 06:31
    (26, "standing", 12),   # 06:34 making breakfast
    (50, "sitting", 0),     # 07:00 breakfast and news: prompt at 07:40, taken at 07:50
    (8, "walking", 95),     # 07:50 walk to the station
    (1, "standing", 6),
    (29, "sitting", 0),     # 07:59 train
    (12, "walking", 100),   # 08:28 walk to the office
    (55, "sitting", 0),     # 08:40 desk: prompt at 09:20, repeat at 09:35
    (3, "standing", 10),    # 09:35 stands up after the repeat
    (36, "sitting", 0),     # 09:38 desk
    (2, "walking", 70),     # 10:14 natural break: coffee
    (76, "sitting", 0),     # 10:16 desk: prompt at 10:56, repeat at 11:11, then silence
    (4, "walking", 80),     # 11:32
    (38, "sitting", 0),     # 11:36
    (20, "walking", 105),   # 12:14 a walk to lunch: ahead of the plan's pace, ease off at 12:22
    (20, "sitting", 0),     # 12:34 lunch
    (6, "standing", 15),
    (110, "sitting", 0),    # 13:00 meeting: 13:40, then the budget keeps its last 3
    (10, "walking", 90),    # 14:50
    (70, "sitting", 0),     # 15:00 prompt at 15:40
    (5, "standing", 12),    # 16:10
    (60, "sitting", 0),     # 16:15 prompt at 16:55
    (15, "walking", 100),   # 17:15 walk home
    (20, "standing", 14),   # 17:30 cooking
    (30, "sitting", 0),     # 17:50 dinner
    (10, "standing", 10),
    (130, "sitting", 0),    # 18:30 sofa: 19:10, the day's 10th nudge
    (8, "walking", 60),     # 20:40
    (42, "sitting", 0),     # 20:48 40 minutes at 21:28, but the budget is spent
    (40, "lying", 0),       # 21:30 bed time: the window closes, no prompts
)


WEARABLES = ("watch", "thigh")
THIGH_MAX_SPEED = 240.0
"""10 Hz of acceleration at 240x is 2,400 samples a real second through bleak."""
PRE_ROLL_S = 5 * 60  # the daemon's clock starts this early, to connect before the day
# The thigh's night: a trip to the bathroom at 05:22 (before day.wake -
# day.wake_early_min, 05:30, so it does not open the window; the pipeline learns
# how the sensor is strapped on from it), then lying in bed until 06:30, when the
# wearer sits up on the edge of the bed: for a posture device sitting counts as up.
THIGH_NIGHT_WALK_S = 6 * 60
THIGH_PRE_ROLL_S = 68 * 60
HISTORY_DAYS = 7  # plan.baseline_days: the baseline completes the night before the demo
HISTORY_PERSONA = "desk_worker"


def posture_script() -> tuple[tuple[int, str, int], ...]:
    """The script as a posture device sees it: the person sits up on the edge of
    the bed at 06:30, which opens the window at once (a posture device's walking
    before day.wake counts only after 5 minutes of it: a night trip to the
    toilet is not getting up), then walks to the kitchen."""
    (minutes, posture, steps), *rest = SCRIPT
    return ((1, "sitting", 0), (minutes - 1, posture, steps), *rest)


def thigh_segments() -> list[Any]:
    """The script as an activity timeline, after the night (``THIGH_PRE_ROLL_S``)."""
    from devices.imu.synth import Segment  # noqa: PLC0415

    segments = [Segment("walking", THIGH_NIGHT_WALK_S, 100),
                Segment("lying", THIGH_PRE_ROLL_S - THIGH_NIGHT_WALK_S, 0.0)]
    for minutes, posture, steps in posture_script():
        cadence = float(steps) if posture == "walking" else 0.0
        segments.append(Segment(posture, minutes * 60, cadence))
    return segments


def script_rows(day: date, tz: ZoneInfo) -> Iterator[str]:
    t = datetime(day.year, day.month, day.day, *DAY_START, tzinfo=tz)
    for minutes, posture, steps in posture_script():  # the file gives the posture
        for _ in range(minutes):
            yield f"{t.isoformat()},{steps},{posture}"
            t += timedelta(minutes=1)


def write_script(path: Path, day: date, tz: ZoneInfo) -> int:
    rows = list(script_rows(day, tz))
    path.write_text("time,steps,posture\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return len(rows)


def _settings(workdir: Path) -> dict[str, Any]:
    """The person and the store: the rules are the defaults."""
    return {"user": {"id": DEMO_USER, "timezone": DEMO_TZ},
            "storage": {"path": str(workdir / "pacer.sqlite3")}}


def demo_config(workdir: Path, broker: PrivateBroker, device: dict[str, Any]) -> Config:
    return parse_config(
        {
            **_settings(workdir),
            "devices": [device],
            "mqtt": {"url": broker.url, "protocol": broker.protocol},
        },
        source="demo",
    )


def seed_history(workdir: Path, today: date, until: int) -> list[int]:
    """The person's previous week (a simulated desk worker, pacer.personas) into
    the demo's store, as ``pacer replay --store`` stores it: every minute with
    the engine state after it; then the night, as a daemon with the wearable out
    of reach takes it: unknown minutes until ``until``, the minute the daemon's
    clock starts at. The baseline completes at the day's rollover in that night,
    so the first step plan waits for the morning message. The daemon resumes
    from the stored state. Returns the steps of each day of the week.

    Done before the daemon's clock starts (it takes a few real seconds), and
    the night too: a daemon catching up on it as it starts (a durable commit a
    minute) would take clock minutes from finding the watch at 1200x."""
    config = parse_config(_settings(workdir), source="demo")  # the daemon's rules
    persona = dataclasses.replace(PERSONAS[HISTORY_PERSONA],
                                  start=today - timedelta(days=HISTORY_DAYS))
    recording = persona.generate(weeks=1)  # HISTORY_DAYS whole pacing days
    engine = Engine(config.rules, user=config.user.id, timezone=config.user.zone_name())
    days: list[int] = []

    def keep(out: Prompt | Summary) -> None:  # the prompts of last week are not news
        if isinstance(out, Summary) and isinstance(out.body, DaySummary):
            days.append(out.body.steps)

    # Not synced minute by minute, as a replay: the demo's store is thrown away.
    with Store.open(config.storage.path, durable=False) as store:
        replay.run(engine, recording.epochs, (), keep, store=store)
        for minute in range(recording.end_minute, until):
            epoch = Epoch.unknown(minute)
            outputs = engine.advance(epoch)
            store.commit_minute(config.user.id, epoch, "none", outputs, engine.snapshot(),
                                outbox=())
    return days


def _virtual_available() -> bool:
    try:
        import bumble  # noqa: F401, PLC0415
    except ImportError:
        return False
    return True


async def _walk_the_day(watch: Any, clock: Clock, day: date, tz: ZoneInfo) -> None:
    """The watch counts the script's steps, in the middle of each minute."""
    t = datetime(day.year, day.month, day.day, *DAY_START, tzinfo=tz).timestamp()
    for minutes, _posture, steps in SCRIPT:
        for _ in range(minutes):
            await clock.sleep_until(t + 30)
            if steps:
                await watch.walk(steps, per_notification=max(steps, 1))
            t += 60


def _show(msg: Incoming, out: Any) -> dict[str, Any] | None:
    try:
        data = json.loads(msg.payload)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    if data.get("type") == "prompt":
        clock = data["time"][11:16]
        # "why" is said in the text already (a morning message's whole paragraph)
        reason = ", ".join(f"{k}={'+'.join(map(str, v)) if isinstance(v, list) else v}"
                           for k, v in data["reason"].items() if k != "why")
        print(f"  {clock}  [{data['kind']}] {data['title']}  ({reason})", file=out)
        print(f"         {data['text']}", file=out)
    return data


def _edge(window: dict[str, Any], which: str) -> str:
    """``06:30 (detected)``: when the window opened or closed, and how."""
    stamp = window.get(which)
    return "-" if stamp is None else f"{stamp[11:16]} ({window.get(which + '_by')})"


def _print_summary(s: dict[str, Any], out: Any) -> None:
    b = s["breaks"]
    w = s.get("window") or {}
    plan = s["plan"]
    print(f"\nSummary for {s['date']} ({s['timezone']}), as the physiotherapist sees it:",
          file=out)
    rows = [
        ("waking window", f"{_edge(w, 'opened')} to {_edge(w, 'closed')}"),
        ("steps", s["steps"]),
        ("step plan (floor - ceiling)", f"{plan['quota']} ({plan['floor']} - {plan['ceiling']})"),
        ("known minutes (waking day)", s["known_min"]),
        ("sedentary / upright / stepping min",
         f"{s['sedentary_min']} / {s['upright_min']} / {s['stepping_min']}"),
        ("sitting bouts >= 30 / >= 60 min", f"{s['sitting_bouts_30']} / {s['sitting_bouts_60']}"),
        ("longest sitting bout", f"{s['longest_sitting_bout_min']} min"),
        ("sit-to-stand transitions", s["sit_to_stand"]),
        ("sitting prompts", b["prompted"]),
        ("  taken / ignored / snoozed", f"{b['taken']} / {b['ignored']} / {b['snoozed']}"),
        ("  median response", f"{b['median_response_min']} min"),
        ("natural breaks", b["natural"]),
        ("nudges over the daily budget", s.get("prompts_dropped", {}).get("budget", 0)),
    ]
    for label, value in rows:
        print(f"  {label:<36} {value}", file=out)


async def _demo_thigh(speed: float, hours: float, out: Any, *, workdir: Path,
                      broker: PrivateBroker, today: date, tz: ZoneInfo, history: list[int],
                      origin: float) -> tuple[dict[str, Any] | None, Daemon]:
    from devices.virtual import virtual_world  # noqa: PLC0415

    if speed > THIGH_MAX_SPEED:
        print(f"(the thigh sensor streams 10 samples a second: {THIGH_MAX_SPEED:g}x at most, "
              f"not {speed:g}x)", file=out)
        speed = THIGH_MAX_SPEED
    clock = Clock(speed=speed, origin=origin)
    async with virtual_world() as world:
        thigh = await world.add_witmotion(clock=clock.now)
        thigh.play(thigh_segments())
        device = {"kind": "witmotion", "address": thigh.address, "placement": "thigh"}
        config = demo_config(workdir, broker, device)
        print(f"pacer demo: private {broker.backend} broker at {broker.url}; a virtual "
              f"WitMotion IMU on the thigh ({thigh.address}) streams the acceleration of a "
              f"scripted desk day over a virtual Bluetooth link at {speed:g}x real time "
              f"({DEMO_TZ}); pacer measures sitting from it", file=out)
        return await _run(config, out, hours, today, tz, history=history, clock=clock,
                          world=world)


async def _demo(speed: float, hours: float, out: Any, wearable: str = "watch") -> int:
    if wearable not in WEARABLES:
        raise ValueError(f"wearable must be one of {', '.join(WEARABLES)}")
    tz = ZoneInfo(DEMO_TZ)
    today = datetime.now(tz).date()
    with tempfile.TemporaryDirectory(prefix="pacer-demo-") as tmp, PrivateBroker() as broker:
        workdir = Path(tmp)
        thigh = wearable == "thigh" and _virtual_available()
        start = datetime(today.year, today.month, today.day, *DAY_START, tzinfo=tz)
        # The daemon's clock starts a few minutes early, to find and connect to
        # the wearable before the day begins (for the thigh, in the night).
        origin = start.timestamp() - (THIGH_PRE_ROLL_S if thigh else PRE_ROLL_S)
        history = seed_history(workdir, today, until=int(origin // 60))
        if thigh:
            summary, daemon = await _demo_thigh(speed, hours, out, workdir=workdir,
                                                broker=broker, today=today, tz=tz,
                                                history=history, origin=origin)
        elif _virtual_available():
            from devices.virtual import virtual_world  # noqa: PLC0415

            async with virtual_world(watches=1) as world:
                watch = world.watches[0]
                device = {"kind": "infinitime", "address": watch.address,
                          "placement": "wrist"}
                config = demo_config(workdir, broker, device)
                print(f"pacer demo: private {broker.backend} broker at {broker.url}; a virtual "
                      f"InfiniTime watch ({watch.address}) on a virtual Bluetooth link walks a "
                      f"scripted desk day at {speed:g}x real time ({DEMO_TZ})", file=out)
                clock = Clock(speed=speed, origin=origin)
                summary, daemon = await _run(config, out, hours, today, tz,
                                             history=history, clock=clock,
                                             world=world, walker=lambda: _walk_the_day(
                                                 watch, clock, today, tz))
                buzzed = len(watch.shown_alerts)
            print(f"\nThe watch buzzed {buzzed} time(s) with the prompts' titles.", file=out)
        else:
            write_script(workdir / "day.csv", today, tz)
            source = {"kind": "replay", "path": str(workdir / "day.csv"), "speed": speed}
            config = demo_config(workdir, broker, source)
            print(f"pacer demo: private {broker.backend} broker at {broker.url}; a scripted "
                  f"desk day from a replay device at {speed:g}x real time ({DEMO_TZ}); "
                  "to run it on a virtual watch over Bluetooth, install the 'virtual' "
                  f"extra: {install_hint('virtual')}", file=out)
            summary, daemon = await _run(config, out, hours, today, tz, history=history)
        if summary is None:
            so_far = daemon.engine.close_day()
            if so_far:
                summary = payloads.summary(so_far[0])
                print("\n(the demo ended before the waking day did: figures so far)", file=out)
        if summary is not None:
            _print_summary(summary, out)
    return 0


async def _run(
    config: Config,
    out: Any,
    hours: float,
    today: date,
    tz: ZoneInfo,
    *,
    history: list[int],
    clock: Clock | None = None,
    world: Any = None,
    walker: Any = None,
) -> tuple[dict[str, Any] | None, Daemon]:
    print(f"Seeded {len(history)} days of history (a simulated desk worker's previous week, "
          f"median {sorted(history)[len(history) // 2]:,} steps): the baseline completes "
          "overnight", file=out)
    topics = Topics(config.mqtt.topic_prefix, DEMO_USER)
    print(f"Subscribed to {topics.tree} ; prompts as they arrive:\n", file=out)
    phone = MqttLink(config.mqtt, client_id="pacer-demo-phone",
                     status_topic=topics.phone_status)
    await phone.start()
    await phone.wait_connected(10)
    await phone.subscribe(topics.tree)
    with Store.open(config.storage.path) as store:
        daemon = Daemon(
            config, store=store, clock=clock,
            ble_backend=world.backend if world else None,
            ble_scanner_backend=world.scanner_backend if world else None,
        )
        runner = asyncio.create_task(daemon.run(), name="daemon")
        walking = asyncio.create_task(walker(), name="walker") if walker else None
        # Two clock minutes of grace: the day's summary is made at the end of
        # the waking window, after the minute that ends it.
        end_clock = datetime(today.year, today.month, today.day, *DAY_START,
                             tzinfo=tz).timestamp() + hours * 3600 + 120
        summary = await _watch(phone, daemon, end_clock, out, today)
        if walking is not None:
            walking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await walking
        daemon.stop()
        await runner
    await phone.stop(publish_offline=False)
    return summary, daemon


class _Window:
    """Prints the waking window opening and closing, from the daemon's state
    payload (its ``window``). Read from the daemon rather than the retained
    state topic, which goes out at most every 30 real seconds (10 clock hours at
    1200x); read before each message is shown, so the opening comes before the
    morning message it brings."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.open = False

    def show(self, out: Any) -> None:
        engine = self.daemon.engine
        window = payloads.state(engine.status(), user=DEMO_USER, tz=engine.tz).get("window")
        if window is None or window["open"] == self.open or window["since"] is None:
            return
        self.open = window["open"]
        at = window["since"][11:16]
        if not self.open:
            print(f"  day closed at {at}", file=out)
            return
        # How it opened is in the day's summary, not the state: the engine's tally.
        tally = engine.state.tally
        up = tally is not None and tally.opened_by in ("detected", "event")
        print(f"  day opened at {at}{': you are up' if up else ''}", file=out)


async def _watch(
    phone: MqttLink, daemon: Daemon, end_clock: float, out: Any, today: date
) -> dict[str, Any] | None:
    summary: dict[str, Any] | None = None
    window = _Window(daemon)
    while daemon.clock.now() < end_clock:
        try:
            msg = await asyncio.wait_for(phone.messages.get(), timeout=0.2)
        except TimeoutError:
            window.show(out)
            continue
        window.show(out)
        data = _show(msg, out)
        # Today's: never an earlier day's, should the daemon publish one.
        if (data and data.get("type") == "summary" and data.get("period") == "day"
                and data.get("date") == today.isoformat()):
            summary = data
            break
    # Let the last messages of the run arrive.
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:
        with contextlib.suppress(TimeoutError):
            msg = await asyncio.wait_for(phone.messages.get(), timeout=0.1)
            _show(msg, out)
    return summary


def run_demo(*, speed: float, hours: float, wearable: str = "watch") -> int:
    for name in ("pacer", "devices"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # The virtual link warns of the notifications still in flight when the demo ends.
    logging.getLogger("bumble").setLevel(logging.ERROR)
    return asyncio.run(_demo(speed, hours, sys.stdout, wearable))
