"""A Mi Band 5 through the whole daemon: its steps stored exactly once across a
link drop and a daemon restart (the activity log's position saved with the
minutes), and a sitting prompt arriving on the band as a vibrating text alert
as well as on the phone (MQTT); the band's own not-worn marks in the daemon's
minutes (``MinuteBook``)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from helpers.daemon import (
    SPEED,
    START,
    connected,
    run_daemon,
    stored_steps,
    until,
    virtual_rig,
    wearable_config,
)

from devices.minute_log import MINUTE_S, minute_of
from devices.samples import Link, NotWornRun, StepDelta
from devices.virtual.miband import VirtualMiBand
from pacer.config import Config
from pacer.daemon.app import Daemon
from pacer.daemon.ble import MinuteBook
from pacer.daemon.clock import Clock
from pacer.engine.model import Epoch
from pacer.mqtt.broker import PrivateBroker

KEY_HEX = "8f1d2c3b4a5968778695a4b3c2d1e0f0"


def config_for(tmp: Path, broker: PrivateBroker, band: VirtualMiBand) -> Config:
    """The band with its auth key in a file in ``tmp``."""
    (tmp / "band.key").write_text(KEY_HEX + "\n", encoding="utf-8")
    return wearable_config(tmp, broker, "huami", band.address,
                           auth_key_file=str(tmp / "band.key"))


def test_band_steps_stored_exactly_across_a_drop_and_a_restart_and_prompts_buzz_it(
    tmp_path: Path,
) -> None:
    db = tmp_path / "pacer.sqlite3"

    def stored() -> int:
        return stored_steps(db)[0] if db.exists() else 0

    async def scenario() -> dict[str, Any]:
        async with virtual_rig() as (broker, phone, world):
            clock = Clock(speed=SPEED, origin=START.timestamp())
            band = await world.add_miband(bytes.fromhex(KEY_HEX), clock=clock.now,
                                          offset_s=3600)
            config = config_for(tmp_path, broker, band)

            async def first(daemon: Daemon) -> None:
                await until(lambda: connected(daemon), 10, "the band to connect")
                await band.walk(120)
                await until(lambda: stored() == 120, 15, "the live steps stored")
                await band.go_away()
                await band.walk(45)  # out of reach: in the band's log only
                await band.come_back()
                await until(lambda: stored() == 165, 15, "the log's steps stored")
                # Sitting from here on: a prompt after 40 clock minutes (10 s).
                await phone.wait_for_async(1, timeout=30)
                await until(lambda: bool(band.shown), 10, "the band to show it")

            await run_daemon(config, world, clock, first)
            await band.walk(70)  # the daemon is down: the band keeps counting
            walked_at = clock.now()
            await until(lambda: clock.now() >= minute_of(walked_at) + MINUTE_S, 5,
                        "that minute to end (the log has whole minutes)")
            clock2 = Clock(speed=SPEED, origin=clock.now())
            band.clock = clock2.now

            async def second(daemon: Daemon) -> None:
                await until(lambda: connected(daemon), 10, "the band to connect again")
                await until(lambda: stored() == 235, 15, "the restart's fetch stored")

            await run_daemon(config, world, clock2, second)
            result = {"shown": band.shown, "vibrations": band.vibrations,
                      "fetches": len(band.fetches), "days": band.steps_per_day}
        result["prompts"] = [json.loads(m.payload) for m in phone.messages]
        return result

    result = asyncio.run(asyncio.wait_for(scenario(), 120))
    total, rows = stored_steps(db)
    assert result["days"] == [235]
    assert total == 235  # nothing lost across the drop and the restart, nothing twice
    minutes = [m for m, _, _ in rows]
    assert minutes == list(range(minutes[0], minutes[0] + len(minutes)))
    assert result["fetches"] >= 3  # at each connect, and every 10 clock minutes
    prompt = result["prompts"][0]
    assert prompt["kind"] == "sitting_break"
    assert result["vibrations"] >= 1
    assert prompt["title"] in [title for title, _ in result["shown"]]


def test_the_bands_not_worn_run_takes_back_minutes_given_and_marks_the_rest() -> None:
    t0 = 1_800_000_000.0  # a whole minute
    m0 = int(t0 // 60)
    book = MinuteBook()
    book.note("huami", Link(t0, "band", connected=True, reason="connected"))
    book.note("rsc", Link(t0, "pod", connected=True, reason="connected"))
    book.note("rsc", StepDelta(t0 + 190, "pod", 20))  # minute 3: a foot pod walked
    given = [book.take(m0 + i) for i in range(10)]
    assert given[1] == Epoch.from_steps(m0 + 1, 0)  # inferred sitting, for now
    book.note("huami", NotWornRun(t0 + 605, "band", start=t0 + 60, end=t0 + 720))
    assert book.runs == [(m0 + 1, m0 + 3), (m0 + 4, m0 + 10)]  # not the pod's minute
    assert book.take(m0 + 10) == Epoch.not_worn(m0 + 10)
    assert book.take(m0 + 11) == Epoch.not_worn(m0 + 11)
    assert book.take(m0 + 12) == Epoch.from_steps(m0 + 12, 0)
