"""End to end: a virtual watch walks 1,000 steps over two days through the real stack.

Virtual InfiniTime (bumble peripheral) -> bumble link -> bumble central -> bleak
with the bumble backend -> DeviceManager -> StepCounter -> StepDelta samples.

The script: 150 steps already on the watch when the daemon starts, three link
drops with steps walked while out of reach, one reboot (the counter restarts at
0, with steps walked while the watch boots), and the watch's own midnight reset.
No drop spans midnight: InfiniTime keeps no history readable over BLE, so steps
counted between the last reading before midnight and the reset would be lost
(devices/counter.py). The deltas stamped before midnight must add up to
exactly what the watch counted that day, and those after to the next day.
"""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from helpers.daemon import until
from helpers.devices import Collector, ManualClock

from devices.connection import Timing
from devices.manager import DeviceManager
from devices.samples import Link, StepDelta
from devices.spec import DeviceSpec
from devices.virtual import VirtualWatch, VirtualWorld, run_in_world

ZONE = ZoneInfo("Australia/Sydney")
FAST = Timing(scan_s=0.2, connect_s=1.0, backoff_base_s=0.01, backoff_cap_s=0.05)


def test_thousand_steps_across_drops_a_reboot_and_midnight(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="devices")
    clock = ManualClock(0)
    clock.set_local("2026-11-23 21:00:00", ZONE)
    midnight = ManualClock(0)
    midnight.set_local("2026-11-24 00:00:00", ZONE)

    async def scenario(world: VirtualWorld) -> Collector:
        watch = world.watches[0]
        await watch.set_steps(150)  # counted today before the daemon started
        m = DeviceManager(
            [DeviceSpec(kind="infinitime", address=watch.address)],
            clock=clock,
            zone=ZONE,
            backend=world.backend,
            scanner_backend=world.scanner_backend,
            timing=FAST,
        )
        async with Collector().draining(m.queue) as got, m:

            def counted(n: int, what: str) -> Coroutine[Any, Any, None]:
                return until(lambda: got.steps() == n, what=f"{n} steps counted ({what})")

            def connects(n: int) -> Coroutine[Any, Any, None]:
                return until(lambda: m.status()[watch.address].connects == n,
                             what=f"connection {n}")

            async def away_walking(steps: int, *, reboot: bool = False) -> None:
                lost = len(got.links())
                if reboot:
                    await watch.reboot(back=False)
                else:
                    await watch.go_away()
                await until(lambda: len(got.links()) == lost + 1, what="the link-lost sample")
                clock.now += 300
                await watch.walk(steps)  # nobody subscribed: counted on the watch only
                await watch.come_back()

            await counted(150, "the first read")
            clock.now += 600
            await watch.walk(200)
            await counted(350, "walking")

            await away_walking(50)  # drop 1
            await connects(2)
            await counted(400, "the read after drop 1")
            await watch.walk(100)
            await counted(500, "walking")

            clock.set_local("2026-11-23 22:30:00", ZONE)
            await away_walking(40, reboot=True)  # the counter restarts at 0
            await connects(3)
            await counted(540, "the read after the reboot")
            await watch.walk(60)
            await counted(600, "walking")

            await away_walking(30)  # drop 2
            await connects(4)
            await counted(630, "the read after drop 2")

            clock.set_local("2026-11-23 23:59:50", ZONE)
            await watch.walk(20)
            await counted(650, "the last steps of the day")

            clock.set_local("2026-11-24 00:00:02", ZONE)
            await watch.midnight()  # notifies 0
            await until(lambda: counter_total(m, watch.address) == 0, what="the reset")
            await watch.walk(100)
            await counted(750, "the new day")

            clock.set_local("2026-11-24 07:30:00", ZONE)
            await away_walking(80)  # drop 3
            await connects(5)
            await counted(830, "the read after drop 3")
            await watch.walk(170)
            await counted(1000, "the rest")
        check_watch(watch)
        return got

    got = run_in_world(scenario, watches=1, timeout_s=30)
    deltas = [s for s in got.samples if isinstance(s, StepDelta)]
    day1 = sum(d.steps for d in deltas if d.at < midnight.now)
    day2 = sum(d.steps for d in deltas if d.at >= midnight.now)
    assert [day1, day2] == [650, 350]
    assert all(d.steps > 0 for d in deltas)

    # Steps walked while away arrive as one delta, from the read after each (re)connect.
    assert reconnect_reads(got) == [150, 50, 40, 30, 80]
    reasons = [(x.connected, x.reason) for x in got.links()]
    assert reasons == [(True, "connected"), (False, "link lost")] * 4 + [
        (True, "connected"),
        (False, "stopped"),
    ]
    # The counter restarted at the reboot, so at midnight it showed 150, not 650.
    assert (
        "infinitime F0:00:00:00:00:01: step counter dropped from 500 to 40 away from midnight"
        in caplog.text
    )
    assert "infinitime F0:00:00:00:00:01: step counter reset for the new day (150 -> 0)" in (
        caplog.text
    )


def counter_total(m: DeviceManager, label: str) -> int | None:
    state = m.counter_state(label)
    return None if state is None else state.total


def reconnect_reads(got: Collector) -> list[int]:
    """The first step delta after each connection, if it came before any notification."""
    out = []
    after_connect = False
    for sample in got.samples:
        if isinstance(sample, Link):
            after_connect = sample.connected
        elif isinstance(sample, StepDelta):
            if after_connect:
                out.append(sample.steps)
            after_connect = False
    return out


def check_watch(watch: VirtualWatch) -> None:
    """The truth the test compares against: what the watch itself counted per day."""
    assert watch.steps_per_day == [650, 350]
    assert sum(watch.steps_per_day) == 1000
    assert watch.reboots == 1
