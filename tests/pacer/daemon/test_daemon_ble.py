"""The daemon on BLE wearables: a virtual InfiniTime watch on a virtual link,
real bleak code, the real daemon (in-process, at an accelerated clock), a
private mosquitto and a real SQLite file.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from helpers.daemon import (
    SPEED,
    START,
    run_daemon,
    stored_steps,
    until,
    virtual_rig,
    wearable_config,
)

pytest.importorskip("bumble", reason="the virtual wearables need the 'virtual' extra")


from devices.virtual import virtual_world
from pacer.daemon.app import Daemon
from pacer.daemon.clock import Clock
from pacer.demo import _demo
from pacer.mqtt.broker import PrivateBroker


def test_steps_stored_exactly_across_drops_and_a_restart_and_prompts_buzz_the_watch(
    tmp_path: Path,
) -> None:
    """The watch walks while connected, while out of reach and across a daemon
    restart; every step it counted is stored exactly once, and the sitting
    prompt reaches both the phone (MQTT) and the watch (New Alert)."""
    walked = 0

    async def scenario() -> dict[str, Any]:
        nonlocal walked
        async with virtual_rig(watches=1) as (broker, phone, world):
            watch = world.watches[0]
            config = wearable_config(tmp_path, broker, "infinitime", watch.address)
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
                config = wearable_config(tmp_path, broker, "infinitime", watch.address)
                clock = Clock(speed=SPEED, origin=START.timestamp())

                async def body(daemon: Daemon) -> None:
                    await until(lambda: (daemon.engine.next_minute or 0) * 60
                                >= START.timestamp() + 10 * 60, 20, "ten minutes")

                await run_daemon(config, world, clock, body)
        return stored_steps(tmp_path / "pacer.sqlite3")[1]

    rows = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert len(rows) >= 10
    assert {p for _, _, p in rows} == {"unknown"}


DEMO_HOURS = 1.25  # to 07:45: the morning message and the first sitting prompt
DEMO_SPEEDS = (600.0, 1200.0, 100_000.0)  # the last above the cap: said, and capped


def _demo_day(text: str) -> str:
    """The demo's output from its first prompt on: the day as the phone and
    the physiotherapist see it (the header names the broker's port and the
    speed; a last note may say how fast the machine kept up)."""
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("  day opened at "))
    last = max(i for i, line in enumerate(lines) if line.startswith("  "))
    return "\n".join(lines[first:last + 1])


def test_demo_is_the_same_day_at_any_speed_and_stops_at_its_end() -> None:
    """``pacer demo`` at three speeds: the watch's day runs in lock-step with
    the daemon's clock, so the prompts (with their times) and the summary are
    the same at each, nothing is printed past the end (07:45), and everything
    is said in words, not ``key=value``. The store is seeded with a week, so
    the baseline completes in the night; the watch's first minute with 20
    steps (06:30, walking to the kitchen) opens the day, and the first prompt
    is the one morning message with the first step plan, as that minute ends;
    then the 07:00 breakfast sitting is prompted at 40 minutes."""
    texts = []
    for speed in DEMO_SPEEDS:
        out = io.StringIO()
        assert asyncio.run(asyncio.wait_for(_demo(speed, DEMO_HOURS, out), 90)) == 0
        texts.append(out.getvalue())
    days = [_demo_day(text) for text in texts]
    assert days[0] == days[1] == days[2], "\n\n".join(texts)
    text = texts[2]
    assert "3000x at most, not 100000x; the day is the same at any speed" in text, text
    assert "at 600x real time" in texts[0], texts[0]
    assert re.search(r"^Seeded 7 days of history .*median [\d,]+ steps.*$", text,
                     flags=re.MULTILINE), text
    day = days[0]
    assert not re.search(r"\w=\S", day), day  # no Python reprs: key=value
    times = re.findall(r"^  (\d\d:\d\d)  ", day, flags=re.MULTILINE)
    assert times == ["06:31", "07:40"], day
    lines = day.splitlines()
    assert lines[0] == "  day opened at 06:30: you are up", day  # before the morning message
    assert lines[1] == "  06:31  Your plan  (step plan 6,456)", day
    assert lines[2].strip().startswith("Your daily step plan starts at 6,456 steps"), day
    assert lines[3] == "  07:40  Time for a movement break  (no steps for 40 min, limit 40)"
    assert "The watch buzzed 2 time(s), once for each prompt above." in day
    assert "(the demo ended before the waking day did: figures so far)" in day
    # 07:40's prompt is still open at 07:45: its outcome is not counted yet.
    assert re.search(r"^  sitting prompts +1$", day, flags=re.MULTILINE), day
    assert ("0 taken / 0 ignored / 0 snoozed / 0 dismissed; 1 still open (an outcome "
            "is decided 15 min after the prompt)") in day
    assert re.search(r"^  prompts sent +2: 1 plan message, 1 sitting break$", day,
                     flags=re.MULTILINE), day
