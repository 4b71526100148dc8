"""``pacer demo``: the real pipeline, no setup.

A private broker on a free loopback port; a virtual InfiniTime watch on a
virtual Bluetooth link (bumble), walking a scripted desk day; the daemon (the
same code as ``pacer run``) connected to it through ordinary bleak code at an
accelerated clock; and an ordinary MQTT subscriber printing what a phone would
receive. Prompts also buzz the virtual watch. Without the virtual-device
extra the demo falls back to a replay device (the same day from a file).

``wearable="thigh"``: instead of the watch, a virtual WitMotion IMU on the
thigh streams acceleration synthesised from the same day (at 10 Hz, so the
clock runs at most ``THIGH_MAX_SPEED`` times real time), and the daemon
measures sitting from it with the IMU pipeline. The wearer walks for the few
minutes before the day starts: the pipeline learns how the sensor is strapped
on from walking.
"""

from __future__ import annotations

import asyncio
import contextlib
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

from pacer.config import Config, parse_config
from pacer.contract import payloads
from pacer.contract.topics import Topics
from pacer.daemon.app import Daemon
from pacer.daemon.clock import Clock
from pacer.mqtt.broker import PrivateBroker
from pacer.mqtt.client import Incoming, MqttLink
from pacer.store import Store

log = logging.getLogger(__name__)

DEMO_USER = "demo"
DEMO_TZ = "Europe/London"
DAY_START = (6, 30)

# A desk worker's day, as (minutes, posture, steps per minute). Sitting stretches
# long enough for prompts, breaks taken after some of them, a lunch walk, a long
# meeting that reaches the repeat cap, an evening on the sofa.
SCRIPT: tuple[tuple[int, str, int], ...] = (
    (30, "standing", 12),   # 06:30 up and about
    (50, "sitting", 0),     # 07:00 breakfast and news: prompt at 07:40
    (8, "walking", 95),     # 07:50 walk to the station
    (1, "standing", 6),
    (29, "sitting", 0),     # 07:59 train
    (12, "walking", 100),   # 08:28 walk to the office
    (55, "sitting", 0),     # 08:40 desk: prompt at 09:20, repeat at 09:35
    (3, "standing", 10),    # 09:35 stands up after the repeat
    (36, "sitting", 0),     # 09:38 desk
    (2, "walking", 70),     # 10:14 natural break: coffee
    (76, "sitting", 0),     # 10:16 desk: prompt at 10:56, taken at 11:00
    (4, "walking", 80),     # 11:32
    (38, "sitting", 0),     # 11:36
    (40, "walking", 105),   # 12:14 lunch walk
    (6, "standing", 15),
    (110, "sitting", 0),    # 13:00 meeting: 13:40, 13:55, 14:10, then silence
    (10, "walking", 90),    # 14:50
    (70, "sitting", 0),     # 15:00
    (5, "standing", 12),    # 16:10
    (60, "sitting", 0),     # 16:15
    (15, "walking", 100),   # 17:15 walk home
    (20, "standing", 14),   # 17:30 cooking
    (30, "sitting", 0),     # 17:50 dinner
    (10, "standing", 10),
    (130, "sitting", 0),    # 18:30 sofa: 19:10, 19:25, 19:40
    (8, "walking", 60),     # 20:40
    (42, "sitting", 0),     # 20:48 until the end of the waking day
    (40, "lying", 0),       # 21:30 quiet hours: no prompts
)


WEARABLES = ("watch", "thigh")
THIGH_MAX_SPEED = 240.0
"""10 Hz of acceleration at 240x is 2,400 samples a real second through bleak."""
PRE_ROLL_S = 5 * 60  # the daemon's clock starts this early, to connect before the day


def thigh_segments() -> list[Any]:
    """The script as an activity timeline, after a walk to learn the mount."""
    from devices.imu.synth import Segment  # noqa: PLC0415

    segments = [Segment("walking", PRE_ROLL_S, 100)]
    for minutes, posture, steps in SCRIPT:
        cadence = float(steps) if posture == "walking" else 0.0
        segments.append(Segment(posture, minutes * 60, cadence))
    return segments


def script_rows(day: date, tz: ZoneInfo) -> Iterator[str]:
    t = datetime(day.year, day.month, day.day, *DAY_START, tzinfo=tz)
    for minutes, posture, steps in SCRIPT:
        for _ in range(minutes):
            yield f"{t.isoformat()},{steps},{posture}"
            t += timedelta(minutes=1)


def write_script(path: Path, day: date, tz: ZoneInfo) -> int:
    rows = list(script_rows(day, tz))
    path.write_text("time,steps,posture\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return len(rows)


def demo_config(workdir: Path, broker: PrivateBroker, device: dict[str, Any]) -> Config:
    return parse_config(
        {
            "user": {"id": DEMO_USER, "timezone": DEMO_TZ},
            "devices": [device],
            "mqtt": {"url": broker.url, "protocol": broker.protocol},
            "storage": {"path": str(workdir / "pacer.sqlite3")},
        },
        source="demo",
    )


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
        reason = ", ".join(f"{k}={v}" for k, v in data["reason"].items())
        print(f"  {clock}  [{data['kind']}] {data['title']}  ({reason})", file=out)
        print(f"         {data['text']}", file=out)
    return data


def _print_summary(s: dict[str, Any], out: Any) -> None:
    b = s["breaks"]
    print(f"\nSummary for {s['date']} ({s['timezone']}), as the physiotherapist sees it:",
          file=out)
    rows = [
        ("steps", s["steps"]),
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
    ]
    for label, value in rows:
        print(f"  {label:<36} {value}", file=out)


async def _demo_thigh(speed: float, hours: float, out: Any, *, workdir: Path,
                      broker: PrivateBroker, today: date, tz: ZoneInfo
                      ) -> tuple[dict[str, Any] | None, Daemon]:
    from devices.virtual import virtual_world  # noqa: PLC0415

    if speed > THIGH_MAX_SPEED:
        print(f"(the thigh sensor streams 10 samples a second: {THIGH_MAX_SPEED:g}x at most, "
              f"not {speed:g}x)", file=out)
        speed = THIGH_MAX_SPEED
    start = datetime(today.year, today.month, today.day, *DAY_START, tzinfo=tz)
    clock = Clock(speed=speed, origin=start.timestamp() - PRE_ROLL_S)
    async with virtual_world() as world:
        thigh = await world.add_witmotion(clock=clock.now)
        thigh.play(thigh_segments())
        device = {"kind": "witmotion", "address": thigh.address, "placement": "thigh"}
        config = demo_config(workdir, broker, device)
        print(f"pacer demo: private {broker.backend} broker at {broker.url}; a virtual "
              f"WitMotion IMU on the thigh ({thigh.address}) streams the acceleration of a "
              f"scripted desk day over a virtual Bluetooth link at {speed:g}x real time "
              f"({DEMO_TZ}); pacer measures sitting from it", file=out)
        return await _run(config, out, hours, today, tz, clock=clock, world=world)


async def _demo(speed: float, hours: float, out: Any, wearable: str = "watch") -> int:
    if wearable not in WEARABLES:
        raise ValueError(f"wearable must be one of {', '.join(WEARABLES)}")
    tz = ZoneInfo(DEMO_TZ)
    today = datetime.now(tz).date()
    with tempfile.TemporaryDirectory(prefix="pacer-demo-") as tmp, PrivateBroker() as broker:
        workdir = Path(tmp)
        if wearable == "thigh" and _virtual_available():
            summary, daemon = await _demo_thigh(speed, hours, out, workdir=workdir,
                                                broker=broker, today=today, tz=tz)
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
                start = datetime(today.year, today.month, today.day, *DAY_START, tzinfo=tz)
                # The daemon's clock starts a few minutes early, to find and connect
                # to the watch before the day begins.
                clock = Clock(speed=speed, origin=start.timestamp() - PRE_ROLL_S)
                summary, daemon = await _run(config, out, hours, today, tz, clock=clock,
                                             world=world, walker=lambda: _walk_the_day(
                                                 watch, clock, today, tz))
                buzzed = len(watch.shown_alerts)
            print(f"\nThe watch buzzed {buzzed} time(s) with the prompts' titles.", file=out)
        else:
            write_script(workdir / "day.csv", today, tz)
            replay = {"kind": "replay", "path": str(workdir / "day.csv"), "speed": speed}
            config = demo_config(workdir, broker, replay)
            print(f"pacer demo: private {broker.backend} broker at {broker.url}; a scripted "
                  f"desk day from a replay device at {speed:g}x real time ({DEMO_TZ}); "
                  "install the 'virtual' extra to run it on a virtual watch over "
                  "Bluetooth", file=out)
            summary, daemon = await _run(config, out, hours, today, tz)
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
    clock: Clock | None = None,
    world: Any = None,
    walker: Any = None,
) -> tuple[dict[str, Any] | None, Daemon]:
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
        summary = await _watch(phone, daemon, end_clock, out)
        if walking is not None:
            walking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await walking
        daemon.stop()
        await runner
    await phone.stop(publish_offline=False)
    return summary, daemon


async def _watch(
    phone: MqttLink, daemon: Daemon, end_clock: float, out: Any
) -> dict[str, Any] | None:
    summary: dict[str, Any] | None = None
    while daemon.clock.now() < end_clock:
        try:
            msg = await asyncio.wait_for(phone.messages.get(), timeout=0.2)
        except TimeoutError:
            continue
        data = _show(msg, out)
        if data and data.get("type") == "summary" and data.get("period") == "day":
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
