"""``pacer demo``: the real pipeline, no setup.

A private broker on a free loopback port; a virtual InfiniTime watch on a
virtual Bluetooth link (bumble), walking a scripted desk day; the daemon (the
same code as ``pacer run``) connected to it through ordinary bleak code; and an
ordinary MQTT subscriber printing what a phone would receive. Prompts also
buzz the virtual watch. Without the virtual-device extra the demo falls back
to a replay device (the same day from a file).

The day runs in lock-step (``pacer.lockstep``): the daemon's clock moves a
minute at a time, once the wearable's samples of that minute are in the
daemon, and the next minute begins once the minute's messages have reached
the phone. So the prompts and the summary are the same
at every speed and on every run (the day is always ``DEMO_DAY``, the week
before it a seeded persona); ``--speed`` only paces the minutes, up to
``WATCH_MAX_SPEED`` (what this machine keeps up with) or, for the thigh,
``THIGH_MAX_SPEED``. Without the virtual extra the replay device's day runs
in lock-step the same way.

Before the daemon starts, the store gets the person's previous week (a
simulated desk worker, seeded): the daemon
resumes from it, the baseline completes overnight, and the day opens when the
person gets up at 06:30 with one morning message giving the first step plan.

``wearable="thigh"``: instead of the watch, a virtual WitMotion IMU on the
thigh streams acceleration synthesised from the same day (at 10 Hz, so the
day runs at most ``THIGH_MAX_SPEED`` times real time), and the daemon
measures sitting from it with the IMU pipeline. The clock starts in the night:
the wearer walks to the bathroom and back to bed (the pipeline learns how the
sensor is strapped on from walking), lies in bed, and sits up at 06:30, which
for a posture device opens the day.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
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
from pacer.demo_words import buzz_line, prompt_lines, summary_rows
from pacer.engine.core import Engine
from pacer.engine.model import DaySummary, Epoch, Summary
from pacer.extras import install_hint
from pacer.lockstep import (
    MINUTE_STALL_S,
    DemoStalled,
    StepClock,
    imu_samples,
    step_count,
    taken,
    until,
)
from pacer.mqtt.broker import PrivateBroker
from pacer.mqtt.client import Incoming, MqttLink
from pacer.personas import PERSONAS
from pacer.store import Store
from pacer.store.batch import MinuteBatch
from pacer.timebase import iso

log = logging.getLogger(__name__)

DEMO_USER = "demo"
DEMO_TZ = "Europe/London"
DEMO_DAY = date(2026, 3, 2)
"""The demo's day, every run: a Monday, its week of history well clear of a
clock change. A run does not depend on the date it is run on."""
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
    (130, "sitting", 0),    # 18:30 sofa, the watch off on the side table (WATCH_OFF): no prompt
    (8, "walking", 60),     # 20:40 the watch back on
    (42, "sitting", 0),     # 20:48 40 minutes at 21:28: the day's 10th nudge
    (40, "lying", 0),       # 21:30 bed time: the window closes, no prompts
)


# The watch comes off for the evening on the sofa (18:30 to 20:40, minutes after
# the day's first at 06:30): laid on the side table, still, it is not worn, so
# the sofa gets no sitting prompt about it (docs/pacing-rules.md section 1), its
# minutes are stored not worn, and after wear.silent_min the person is told once
# that the watch has gone quiet.
WATCH_OFF = (12 * 60, 12 * 60 + 130)
TABLE_READINGS = 60  # raw motion readings a minute on the table (InfiniTime: up to 10 a second)

WEARABLES = ("watch", "thigh")
WATCH_MAX_SPEED = 3000.0
"""The lock-step pace at most (the watch, the replay device): bench/demo_pace.py
measures what this machine keeps up with (bench/README.md); above it a minute
waits on the pipeline."""
CONNECT_S = 30.0  # real seconds for the daemon to find and connect to the virtual wearable
SYNC_TOPIC = "pacer-demo/sync"  # the phone's own marker: the minute's messages are all in
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
    the demo's store: every minute and what the engine made of it; then the
    night, as a daemon with the wearable out of reach takes it: unknown minutes
    until ``until``, the minute the daemon's clock starts at. The baseline
    completes at the day's rollover in that night, so the first step plan waits
    for the morning message. The daemon resumes from the stored state. Returns
    the steps of each day of the week.

    Done before the daemon's clock starts, and the night too: a daemon catching
    up on it as it starts (a durable commit a minute) would take clock minutes
    from finding the watch. Stored a day at a time (``pacer.store.batch``, as an
    import and ``pacer replay --store`` store theirs): a state a minute took
    most of the demo's start-up."""
    config = parse_config(_settings(workdir), source="demo")  # the daemon's rules
    persona = dataclasses.replace(PERSONAS[HISTORY_PERSONA],
                                  start=today - timedelta(days=HISTORY_DAYS))
    recording = persona.generate(weeks=1)  # HISTORY_DAYS whole pacing days
    engine = Engine(config.rules, user=config.user.id, timezone=config.user.zone_name())
    days: list[int] = []
    # Not synced, as a replay: the demo's store is thrown away.
    with Store.open(config.storage.path, durable=False) as store:
        night = (Epoch.unknown(m) for m in range(recording.end_minute, until))
        for epochs, source in ((recording.epochs, replay.REPLAY_SOURCE), (night, "none")):
            batch = MinuteBatch(store, config.user.id, source, engine.snapshot)
            for epoch in epochs:
                outputs = engine.advance(epoch)
                batch.add(epoch, outputs)
                # The prompts of last week are not news; its days' steps are.
                days.extend(out.body.steps for out in outputs
                            if isinstance(out, Summary) and out.final
                            and isinstance(out.body, DaySummary))
            batch.flush()
    return days


def _virtual_available() -> bool:
    try:
        import bumble  # noqa: F401, PLC0415
    except ImportError:
        return False
    return True


def walk_plan(start_minute: int) -> dict[int, int]:
    """The script's steps by minute (unix minutes, the day's first at
    ``start_minute``); minutes without steps are left out."""
    plan: dict[int, int] = {}
    minute = start_minute
    for minutes, _posture, steps in SCRIPT:
        for _ in range(minutes):
            if steps:
                plan[minute] = steps
            minute += 1
    return plan


def _parse(msg: Incoming) -> dict[str, Any] | None:
    try:
        data = json.loads(msg.payload)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


class _Phone:
    """What the phone received, printed as it comes: each prompt, counted; the
    day's summary kept, not printed. ``end``: the clock time the demo stops at."""

    def __init__(self, out: Any, day: date, end: float) -> None:
        self.out = out
        self.day = day
        self.end = end
        self.prompts = 0
        self.summary: dict[str, Any] | None = None
        self.notes: list[str] = []
        """Lines for after the summary: how the run went, not what the day was."""

    def show(self, data: dict[str, Any]) -> None:
        if data.get("type") == "prompt":
            for line in prompt_lines(data):
                print(line, file=self.out)
            self.prompts += 1
        elif (self.summary is None and data.get("type") == "summary"
              and data.get("period") == "day" and data.get("date") == self.day.isoformat()):
            self.summary = data  # today's: never an earlier day's


def _print_summary(s: dict[str, Any], out: Any, response_window_min: int) -> None:
    print(f"\nSummary for {s['date']} ({s['timezone']}), as the physiotherapist sees it:",
          file=out)
    for label, value in summary_rows(s, response_window_min):
        print(f"  {label:<36} {value}", file=out)


Body = Callable[[MqttLink, Daemon, "asyncio.Task[None]"], Awaitable[None]]
"""What the demo does while the daemon runs: (phone, daemon, the daemon's task)."""


async def _demo_watch(speed: float, out: Any, *, workdir: Path, broker: PrivateBroker,
                      history: list[int], origin: float, start: float,
                      shown: _Phone) -> Daemon:
    from devices.virtual import virtual_world  # noqa: PLC0415

    pace = min(speed, WATCH_MAX_SPEED)
    clock = StepClock(speed=pace, origin=origin)
    first = int(start // 60)
    plan = walk_plan(first)
    async with virtual_world(watches=1) as world:
        watch = world.watches[0]
        device = {"kind": "infinitime", "address": watch.address, "placement": "wrist"}
        config = demo_config(workdir, broker, device)
        print(f"pacer demo: private {broker.backend} broker at {broker.url}; a virtual "
              f"InfiniTime watch ({watch.address}) on a virtual Bluetooth link walks a "
              f"scripted desk day ({_day_words()}, {DEMO_TZ}) minute by minute in lock-step "
              f"with the daemon's clock, at {pace:g}x real time", file=out)
        if speed > pace:
            print(f"(a minute waits for the watch, the daemon and the broker: {pace:g}x at "
                  f"most, not {speed:g}x; the day is the same at any speed)", file=out)

        async def body(phone: MqttLink, daemon: Daemon, runner: asyncio.Task[None]) -> None:
            alive = _alive(runner)

            async def feed(minute: int) -> None:
                """The minute's steps, in its middle, counted by the daemon; or,
                while the watch is off, its stillness on the table, read."""
                if first + WATCH_OFF[0] <= minute < first + WATCH_OFF[1]:
                    await on_table(minute)
                    return
                if watch.on_table:
                    await watch.put_on()
                    print(f"  {_hhmm(minute)}  (the watch goes back on)", file=out)
                steps = plan.get(minute, 0)
                if steps:
                    clock.move_to(minute * 60 + 30)
                    await watch.walk(steps, per_notification=steps)
                    await until(lambda: step_count(daemon) == watch.steps,
                                f"the daemon to count the steps of {_hhmm(minute)}",
                                alive=alive)

            async def on_table(minute: int) -> None:
                ble = daemon.ble
                assert ble is not None
                if not watch.on_table:
                    watch.lay_down()
                    print(f"  {_hhmm(minute)}  (the watch is taken off and laid on the "
                          "side table)", file=out)
                clock.move_to(minute * 60 + 30)
                want = ble.book.readings + TABLE_READINGS
                await watch.table_noise(TABLE_READINGS)
                await until(lambda: ble.book.readings >= want,
                            f"the daemon to read the watch lying still at {_hhmm(minute)}",
                            alive=alive)

            await _lockstep(phone, daemon, runner, clock=clock, pace=pace, shown=shown,
                            ready=lambda: step_count(daemon) is not None, feed=feed,
                            buzzes=lambda: len(watch.alerts))

        daemon = await _run(config, out, history=history, clock=clock, world=world, body=body)
        buzzed = len(watch.shown_alerts)
    print(f"\n{buzz_line(buzzed, shown.prompts)}", file=out)
    return daemon


def _day_words() -> str:
    return f"{DEMO_DAY:%A} {DEMO_DAY.day} {DEMO_DAY:%B %Y}"


def _hhmm(minute: int) -> str:
    return iso(minute, ZoneInfo(DEMO_TZ))[11:16]


async def _sync(phone: MqttLink, n: int) -> list[dict[str, Any]]:
    """Every message the phone received before its own marker ``n`` came back:
    the broker hands a subscriber its messages in the order it took them, so
    with the marker back, everything the broker took before it is in."""
    token = str(n).encode()
    await phone.publish(SYNC_TOPIC, token, qos=1)
    got: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(MINUTE_STALL_S):
            while True:
                msg = await phone.messages.get()
                if msg.topic == SYNC_TOPIC:
                    if msg.payload == token:
                        return got
                    continue
                data = _parse(msg)
                if data is not None:
                    got.append(data)
    except TimeoutError:
        raise DemoStalled(f"the demo's phone did not hear back from the broker in "
                          f"{MINUTE_STALL_S:g} s; run it again, at a lower --speed") from None


def _alive(runner: asyncio.Task[None]) -> Callable[[], None]:
    def check() -> None:
        if runner.done():
            runner.result()  # the daemon's own error, if it failed
            raise DemoStalled("the daemon stopped before the demo's end")
    return check


async def _lockstep(phone: MqttLink, daemon: Daemon, runner: asyncio.Task[None], *,
                    clock: StepClock, pace: float, shown: _Phone, ready: Callable[[], bool],
                    feed: Callable[[int], Awaitable[None]],
                    buzzes: Callable[[], int] | None = None) -> None:
    """The day a minute at a time, once the wearable is ``ready``: ``feed`` puts
    the minute's samples into the daemon; then the clock goes to the minute's
    end (and the IMU pipeline's settling time), and the minute is taken, its
    messages at the broker and at the phone (printed), its prompts on the watch
    (``buzzes``); then the next minute, no sooner than ``pace`` allows."""
    alive = _alive(runner)
    await until(ready, "the daemon to connect to the virtual wearable", timeout=CONNECT_S,
                alive=alive)
    settle = daemon.ble.settle_s if daemon.ble is not None else 0.0
    window = _Window(daemon)
    pace_s = 60 / pace
    minute = int(clock.now() // 60)
    first, began = minute, time.monotonic()
    while (minute + 1) * 60 <= shown.end and shown.summary is None:
        begun = time.monotonic()
        at = _hhmm(minute)
        await feed(minute)
        clock.move_to((minute + 1) * 60 + settle)
        await until(taken(daemon, minute), f"the daemon to take the minute {at}", alive=alive)
        await until(lambda: not daemon.store.outbox_pending(limit=1),
                    f"the messages of {at} to reach the broker", alive=alive)
        received = await _sync(phone, minute)
        window.show(shown.out)
        for data in received:
            shown.show(data)
        if buzzes is not None:
            await until(lambda: buzzes() >= shown.prompts,
                        f"the watch to buzz with the prompts of {at}", alive=alive)
        minute += 1
        await asyncio.sleep(max(0.0, begun + pace_s - time.monotonic()))
    kept_up = (minute - first) * 60 / max(time.monotonic() - began, 1e-9)
    if minute > first and kept_up < 0.9 * pace:
        shown.notes.append(f"(this machine kept up with about {kept_up:.0f}x, not the "
                           f"{pace:g}x asked: the same day, only slower)")


async def _nothing(_minute: int) -> None:
    """The replay device's feed: the daemon reads the minute from its file."""


async def _demo_thigh(speed: float, out: Any, *, workdir: Path, broker: PrivateBroker,
                      history: list[int], origin: float, shown: _Phone) -> Daemon:
    from devices.virtual import virtual_world  # noqa: PLC0415

    pace = min(speed, THIGH_MAX_SPEED)
    if speed > pace:
        print(f"(the thigh sensor streams 10 samples a second: {pace:g}x at most, "
              f"not {speed:g}x)", file=out)
    # The daemon's minute job looks at the clock as often as for the watch;
    # the sensor's stream sets the pace.
    clock = StepClock(speed=WATCH_MAX_SPEED, origin=origin)
    async with virtual_world() as world:
        thigh = await world.add_witmotion(clock=clock.now)
        thigh.play(thigh_segments())
        device = {"kind": "witmotion", "address": thigh.address, "placement": "thigh"}
        config = demo_config(workdir, broker, device)
        print(f"pacer demo: private {broker.backend} broker at {broker.url}; a virtual "
              f"WitMotion IMU on the thigh ({thigh.address}) streams the acceleration of a "
              f"scripted desk day ({_day_words()}, {DEMO_TZ}) over a virtual Bluetooth link, "
              f"minute by minute in lock-step with the daemon's clock, at {pace:g}x real "
              "time; pacer measures sitting from it", file=out)

        async def body(phone: MqttLink, daemon: Daemon, runner: asyncio.Task[None]) -> None:
            alive = _alive(runner)
            settle = daemon.ble.settle_s if daemon.ble is not None else 0.0

            async def feed(minute: int) -> None:
                """The minute's samples and the pipeline's look-ahead past its end,
                all in the daemon, the clock a second short of taking the minute."""
                clock.move_to((minute + 1) * 60 + settle - 1)
                await until(lambda: thigh.streamer.caught_up()
                            and imu_samples(daemon) == thigh.notified,
                            f"the daemon to have the thigh's samples of {_hhmm(minute)}",
                            alive=alive)

            await _lockstep(phone, daemon, runner, clock=clock, pace=pace, shown=shown,
                            ready=lambda: imu_samples(daemon) is not None, feed=feed)

        return await _run(config, out, history=history, clock=clock, world=world, body=body)


async def _demo(speed: float, hours: float, out: Any, wearable: str = "watch") -> int:
    if wearable not in WEARABLES:
        raise ValueError(f"wearable must be one of {', '.join(WEARABLES)}")
    tz = ZoneInfo(DEMO_TZ)
    day = DEMO_DAY
    with tempfile.TemporaryDirectory(prefix="pacer-demo-") as tmp, PrivateBroker() as broker:
        workdir = Path(tmp)
        virtual = _virtual_available()
        thigh = wearable == "thigh" and virtual
        start = datetime(day.year, day.month, day.day, *DAY_START, tzinfo=tz).timestamp()
        # The demo ends after the last whole minute of --hours.
        shown = _Phone(out, day, start + round(hours * 60) * 60)
        # The daemon's clock starts a few minutes early, to find and connect to
        # the wearable before the day begins (for the thigh, in the night).
        origin = start - (THIGH_PRE_ROLL_S if thigh else PRE_ROLL_S)
        history = seed_history(workdir, day, until=int(origin // 60))
        if thigh:
            daemon = await _demo_thigh(speed, out, workdir=workdir, broker=broker,
                                       history=history, origin=origin, shown=shown)
        elif virtual:
            daemon = await _demo_watch(speed, out, workdir=workdir, broker=broker,
                                       history=history, origin=origin, start=start,
                                       shown=shown)
        else:
            write_script(workdir / "day.csv", day, tz)
            pace = min(speed, WATCH_MAX_SPEED)
            source = {"kind": "replay", "path": str(workdir / "day.csv"), "speed": pace}
            config = demo_config(workdir, broker, source)
            print(f"pacer demo: private {broker.backend} broker at {broker.url}; a scripted "
                  f"desk day ({_day_words()}, {DEMO_TZ}) from a replay device, minute by "
                  f"minute in lock-step with the daemon's clock, at {pace:g}x real time; "
                  "to run it on a virtual watch over Bluetooth, install the 'virtual' "
                  f"extra: {install_hint('virtual')}", file=out)
            if speed > pace:
                print(f"(a minute waits for the daemon and the broker: {pace:g}x at most, "
                      f"not {speed:g}x; the day is the same at any speed)", file=out)
            # The replay device reads each minute from the file as the daemon takes it.
            clock = StepClock(speed=pace, origin=origin)

            async def body(phone: MqttLink, daemon: Daemon, runner: asyncio.Task[None]) -> None:
                await _lockstep(phone, daemon, runner, clock=clock, pace=pace, shown=shown,
                                ready=lambda: True, feed=_nothing)

            daemon = await _run(config, out, history=history, clock=clock, body=body)
        summary = shown.summary
        if summary is None:
            so_far = daemon.engine.close_day()
            if so_far:
                summary = payloads.summary(so_far[0])
                print("\n(the demo ended before the waking day did: figures so far)", file=out)
        if summary is not None:
            _print_summary(summary, out, daemon.config.rules.sitting.response_window_min)
        for note in shown.notes:
            print(note, file=out)
    return 0


async def _run(config: Config, out: Any, *, history: list[int], body: Body,
               clock: Clock | None = None, world: Any = None) -> Daemon:
    print(f"Seeded {len(history)} days of history (a simulated desk worker's previous week, "
          f"median {sorted(history)[len(history) // 2]:,} steps): the baseline completes "
          "overnight", file=out)
    topics = Topics(config.mqtt.topic_prefix, DEMO_USER)
    print(f"Subscribed to {topics.tree} ; prompts as they arrive:\n", file=out)
    phone = MqttLink(config.mqtt, client_id="pacer-demo-phone",
                     status_topic=topics.phone_status)
    await phone.start()
    try:
        await phone.wait_connected(10)
        await phone.subscribe(topics.tree)
        await phone.subscribe(SYNC_TOPIC)
        with Store.open(config.storage.path) as store:
            daemon = Daemon(
                config, store=store, clock=clock,
                ble_backend=world.backend if world else None,
                ble_scanner_backend=world.scanner_backend if world else None,
            )
            runner = asyncio.create_task(daemon.run(), name="daemon")
            try:
                await body(phone, daemon, runner)
            finally:
                daemon.stop()
                await runner
    finally:
        await phone.stop(publish_offline=False)
    return daemon


class _Window:
    """Prints the waking window opening and closing, from the daemon's state
    payload (its ``window``). Read from the daemon rather than the retained
    state topic, which goes out at most every 30 real seconds (10 clock hours at
    1200x); read before each minute's messages are shown, so the opening comes
    before the morning message it brings."""

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


def run_demo(*, speed: float, hours: float, wearable: str = "watch") -> int:
    for name in ("pacer", "devices"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # The virtual link warns of the notifications still in flight when the demo
    # ends; the scheduler, of a minute job still running when the next is due
    # (it runs again as soon as it can).
    for name in ("bumble", "apscheduler"):
        logging.getLogger(name).setLevel(logging.ERROR)
    return asyncio.run(_demo(speed, hours, sys.stdout, wearable))
