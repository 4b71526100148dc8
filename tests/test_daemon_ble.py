"""The daemon on BLE wearables: a virtual InfiniTime watch on a virtual link,
real bleak code, the real daemon (in-process, at an accelerated clock), a
private mosquitto and a real SQLite file.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from daemon_helpers import run_daemon, until

pytest.importorskip("bumble", reason="the virtual wearables need the 'virtual' extra")

from devices.virtual import VirtualWatch, virtual_world
from pacer.config import Config, parse_config
from pacer.daemon.app import Daemon
from pacer.daemon.clock import Clock
from pacer.demo import _demo
from pacer.mqtt.broker import PrivateBroker
from pacer.mqtt.testing import Collector

TZ = ZoneInfo("Europe/London")
START = datetime(2026, 6, 10, 8, 55, tzinfo=TZ)  # a Wednesday
SPEED = 240.0  # a clock minute every 0.25 s


def config_for(tmp: Path, broker: PrivateBroker, watch: VirtualWatch) -> Config:
    return parse_config({
        "user": {"id": "alice", "timezone": "Europe/London"},
        "devices": [{"kind": "infinitime", "address": watch.address, "placement": "wrist"}],
        "mqtt": {"url": broker.url},
        "storage": {"path": str(tmp / "pacer.sqlite3")},
        "walks": {"per_day": 0, "times": []},
    })


def stored_steps(db: Path) -> tuple[int, list[tuple[int, int, str]]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT minute, steps, posture FROM epochs ORDER BY minute").fetchall()
    return sum(r[1] for r in rows), rows



def test_steps_stored_exactly_across_drops_and_a_restart_and_prompts_buzz_the_watch(
    tmp_path: Path,
) -> None:
    """The watch walks while connected, while out of reach and across a daemon
    restart; every step it counted is stored exactly once, and the sitting
    prompt reaches both the phone (MQTT) and the watch (New Alert)."""
    walked = 0

    async def scenario() -> dict[str, Any]:
        nonlocal walked
        with PrivateBroker() as broker:
            phone = Collector(broker.host, broker.port, "pacer/alice/prompt")
            try:
                async with virtual_world(watches=1) as world:
                    watch = world.watches[0]
                    config = config_for(tmp_path, broker, watch)
                    clock = Clock(speed=SPEED, origin=START.timestamp())

                    async def first(daemon: Daemon) -> None:
                        nonlocal walked
                        await until(lambda: bool(daemon.ble and daemon.ble.devices()[0][
                            "connected"]), 10, "the watch to connect")
                        await watch.walk(120, per_notification=30)
                        walked += 120
                        await asyncio.sleep(1.0)
                        await watch.drop_link()
                        await watch.walk(45)  # out of reach: counted by the watch
                        walked += 45
                        await until(lambda: bool(daemon.ble and daemon.ble.devices()[0][
                            "connected"]), 15, "the watch to reconnect")
                        await asyncio.sleep(1.0)
                        # Sitting from here on: a prompt after 40 clock minutes (10 s).
                        await phone.wait_for_async(1, timeout=30)
                        await until(lambda: bool(watch.shown_alerts), 10, "the watch to buzz")

                    await run_daemon(config, world, clock, first)
                    # The daemon is down: the watch keeps counting.
                    await watch.walk(70)
                    walked += 70
                    clock2 = Clock(speed=SPEED, origin=clock.now())

                    async def second(daemon: Daemon) -> None:
                        await until(lambda: bool(daemon.ble and daemon.ble.devices()[0][
                            "connected"]), 10, "the watch to connect again")
                        await asyncio.sleep(1.5)

                    await run_daemon(config, world, clock2, second)
                    alerts = [a.title for a in watch.shown_alerts]
                    counted = watch.steps_per_day
                prompts = [json.loads(m.payload) for m in phone.messages]
            finally:
                phone.close()
        return {"alerts": alerts, "counted": counted, "prompts": prompts}

    result = asyncio.run(asyncio.wait_for(scenario(), 120))
    total, rows = stored_steps(tmp_path / "pacer.sqlite3")
    assert result["counted"][-1] == walked == 235
    assert total == walked  # nothing lost across the drop and the restart, nothing twice
    minutes = [m for m, _, _ in rows]
    assert minutes == list(range(minutes[0], minutes[0] + len(minutes)))
    prompt = result["prompts"][0]
    assert prompt["kind"] == "sitting_break"
    assert prompt["title"] in result["alerts"]


def test_no_wearable_in_reach_gives_unknown_minutes_and_no_crash(tmp_path: Path) -> None:
    async def scenario() -> list[tuple[int, int, str]]:
        with PrivateBroker() as broker:
            async with virtual_world(watches=1) as world:
                watch = world.watches[0]
                await watch.go_away()
                config = config_for(tmp_path, broker, watch)
                clock = Clock(speed=SPEED, origin=START.timestamp())

                async def body(daemon: Daemon) -> None:
                    await until(lambda: (daemon.engine.next_minute or 0) * 60
                                >= START.timestamp() + 10 * 60, 20, "ten minutes")

                await run_daemon(config, world, clock, body)
        return stored_steps(tmp_path / "pacer.sqlite3")[1]

    rows = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert len(rows) >= 10
    assert {p for _, _, p in rows} == {"unknown"}


def test_demo_opens_the_day_at_getting_up_with_one_morning_message() -> None:
    """``pacer demo``, its first 90 minutes: the store is seeded with a week, so
    the baseline completes in the night; the watch's first minute with 20 steps
    (06:30, walking to the kitchen) opens the day, and the first prompt is the
    one morning message with the first step plan, as that minute ends; then the
    07:00 breakfast sitting is prompted at 40 minutes."""
    out = io.StringIO()
    assert asyncio.run(asyncio.wait_for(_demo(1200.0, 1.5, out), 90)) == 0
    text = out.getvalue()
    assert re.search(r"^Seeded 7 days of history .*median [\d,]+ steps.*$", text,
                     flags=re.MULTILINE), text
    # The watch counts each minute's steps in its middle, 25 ms real at 1200x: on
    # a busy machine they can land in the next minute, so a minute either way.
    opened = re.findall(r"^  day opened at 06:3(\d): you are up$", text, flags=re.MULTILINE)
    assert opened in (["0"], ["1"]), text
    up = int(opened[0])
    prompts = re.findall(r"^  (\d\d:\d\d)  \[(\w+)\]", text, flags=re.MULTILINE)
    assert [k for _, k in prompts] == ["plan_update", "sitting_break"], text
    assert prompts[0][0] == f"06:3{up + 1}", text  # at the end of the window's first minute
    assert prompts[1][0] in ("07:40", "07:41"), text
    lines = text.splitlines()
    morning = lines.index(next(x for x in lines if "[plan_update]" in x))
    assert lines[morning - 1].startswith("  day opened at "), text  # the opening comes first
    assert "(parts=first_quota, old_quota=None, new_quota=" in lines[morning]
    assert lines[morning + 1].strip().startswith("Your daily step plan starts at "), text
    assert "The watch buzzed 2 time(s)" in text
