"""The daemon on a Bangle.js 2: the virtual Bangle.js on a virtual link, real
bleak code, the real daemon (in-process, at an accelerated clock), a private
mosquitto and a real SQLite file. The watch's firmware ends a 10-minute block
on the daemon's clock (``VirtualBangle.keep_time``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from helpers.daemon import SPEED, START, connected, run_daemon, until, virtual_rig, wearable_config

pytest.importorskip("bumble", reason="the virtual wearables need the 'virtual' extra")


from devices.virtual import virtual_world
from pacer.daemon.app import Daemon
from pacer.daemon.clock import Clock
from pacer.mqtt.broker import PrivateBroker


def stored(db: Path) -> list[tuple[int, int, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT minute, steps, posture FROM epochs ORDER BY minute"
                            ).fetchall()


def stored_steps(db: Path) -> int:
    return sum(r[1] for r in stored(db))


class Clocks:
    """The daemon's clock of the moment, for the watch to read across restarts."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def __call__(self) -> float:
        return self.clock.now()


def test_steps_stored_exactly_across_a_drop_and_a_restart_and_a_prompt_buzzes(
    tmp_path: Path,
) -> None:
    """Steps walked while connected, out of reach and while the daemon is down
    are each stored once; the sitting prompt reaches the phone and buzzes the
    watch with its title."""
    db = tmp_path / "pacer.sqlite3"
    walked = 0

    async def scenario() -> dict[str, Any]:
        nonlocal walked
        async with virtual_rig() as (broker, phone, world):
            clocks = Clocks(Clock(speed=SPEED, origin=START.timestamp()))
            watch = await world.add_bangle(clock=clocks)
            firmware = asyncio.create_task(watch.keep_time())
            config = wearable_config(tmp_path, broker, "bangle", watch.address)

            async def first(daemon: Daemon) -> None:
                nonlocal walked
                await until(lambda: connected(daemon) and watch.realtime_s == 30, 10,
                            "the watch to connect")
                for _ in range(4):
                    await watch.walk(30)
                walked += 120
                await watch.drop_link()
                await watch.walk(45)  # out of reach: in the block only
                walked += 45
                await until(lambda: len(watch.clock_set) == 2, 15,
                            "the watch to reconnect")
                await until(lambda: stored_steps(db) == walked, 20,
                            "the steps walked away stored at the block's end")
                # Sitting from here on: a prompt after 40 clock minutes (10 s).
                await phone.wait_for_async(1, timeout=30)
                await until(lambda: watch.buzzes >= 1, 10, "the watch to buzz")

            await run_daemon(config, world, clocks.clock, first)
            await watch.walk(70)  # the daemon is down: the watch keeps counting
            walked += 70
            clocks.clock = Clock(speed=SPEED, origin=clocks.clock.now())

            async def second(daemon: Daemon) -> None:
                await until(lambda: connected(daemon), 10, "the watch to connect again")
                await until(lambda: stored_steps(db) == walked, 20,
                            "the steps walked while pacer was down")

            await run_daemon(config, world, clocks.clock, second)
            firmware.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await firmware
            shown = watch.shown
            counted = watch.steps_per_day
            buzzes = watch.buzzes
        prompts = [json.loads(m.payload) for m in phone.messages]
        return {"shown": shown, "counted": counted, "prompts": prompts, "buzzes": buzzes}

    result = asyncio.run(asyncio.wait_for(scenario(), 150))
    rows = stored(db)
    assert result["counted"] == [walked] == [235]
    assert sum(r[1] for r in rows) == walked  # nothing lost, nothing twice
    minutes = [m for m, _, _ in rows]
    assert minutes == list(range(minutes[0], minutes[0] + len(minutes)))
    prompt = result["prompts"][0]
    assert prompt["kind"] == "sitting_break"
    assert prompt["title"] in [title for title, _ in result["shown"]]
    assert result["buzzes"] == len(result["shown"])


def test_on_its_charger_the_minutes_are_not_worn(tmp_path: Path) -> None:
    """The watch says it is charging: those minutes are stored not worn, and
    the ones after it comes off are not."""
    db = tmp_path / "pacer.sqlite3"

    async def scenario() -> tuple[int, int]:
        with PrivateBroker() as broker:
            async with virtual_world() as world:
                clock = Clock(speed=SPEED, origin=START.timestamp())
                watch = await world.add_bangle(clock=clock.now)
                config = wearable_config(tmp_path, broker, "bangle", watch.address)
                marks: dict[str, int] = {}

                async def body(daemon: Daemon) -> None:
                    await until(lambda: connected(daemon), 10, "the watch to connect")
                    await watch.charge(True)
                    marks["on"] = int(clock.now() // 60)
                    await until(lambda: clock.now() // 60 >= marks["on"] + 12, 10,
                                "twelve minutes on the charger")
                    marks["off"] = int(clock.now() // 60)  # it comes off from here
                    await watch.charge(False)
                    await until(lambda: any(m > marks["off"] + 2 for m, _, _ in stored(db)),
                                10, "minutes after the charger stored")

                await run_daemon(config, world, clock, body)
                return marks["on"], marks["off"]

    on, off = asyncio.run(asyncio.wait_for(scenario(), 60))
    postures = {m: p for m, _, p in stored(db)}
    assert all(postures[m] == "not_worn" for m in range(on + 1, off))
    assert all(postures[m] != "not_worn" for m in postures if m > off + 1 or m < on)
