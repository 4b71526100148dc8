"""The demo's lock-step clock (pacer/lockstep.py), on its own; the demo runs
on it in tests/pacer/daemon/test_daemon_ble.py and tests/test_daemon_imu.py."""

from __future__ import annotations

import asyncio
import time

import pytest

from pacer.lockstep import MINUTE_STALL_S, DemoStalled, StepClock, until

ORIGIN = 1_772_432_700.0  # 2026-03-02 06:25 UTC


def test_the_clock_reads_what_it_was_moved_to_and_never_goes_back() -> None:
    clock = StepClock(speed=1200.0, origin=ORIGIN)
    assert clock.now() == ORIGIN
    clock.move_to(ORIGIN + 90)
    assert clock.now() == ORIGIN + 90
    clock.move_to(ORIGIN + 30)  # a late caller cannot turn it back
    assert clock.now() == ORIGIN + 90


def test_a_prompt_expires_no_sooner_than_the_slowest_pace_could_reach_it() -> None:
    """In lock-step a clock minute may take up to MINUTE_STALL_S real seconds,
    so the outbox must not drop a prompt before then (at 1200x it would have
    15 clock minutes = 0.75 real seconds)."""
    clock = StepClock(speed=1200.0, origin=ORIGIN)
    before = time.time()
    deadline = clock.real_deadline(ORIGIN + 15 * 60)
    assert deadline >= before + 15 * MINUTE_STALL_S
    assert clock.real_deadline(ORIGIN - 60) >= before  # already past: still not at once


def test_sleep_until_returns_once_the_clock_is_moved_there() -> None:
    async def scenario() -> list[str]:
        clock = StepClock(speed=1200.0, origin=ORIGIN)
        seen: list[str] = []

        async def sleeper() -> None:
            await clock.sleep_until(ORIGIN + 60)
            seen.append("woke")

        task = asyncio.create_task(sleeper())
        # Not woken while the clock stands, however long (a bounded wait for
        # what must not happen: real time alone does not move this clock).
        try:
            await asyncio.wait_for(asyncio.shield(task), 0.1)
            seen.append("woke too soon")
        except TimeoutError:
            seen.append("still asleep")
        clock.move_to(ORIGIN + 60)
        await asyncio.wait_for(task, 5)
        return seen

    assert asyncio.run(scenario()) == ["still asleep", "woke"]


def test_a_wait_that_times_out_tells_the_operator_what_to_do() -> None:
    with pytest.raises(DemoStalled, match=r"waited 0\.05 s for the watch.*lower --speed"):
        asyncio.run(until(lambda: False, "the watch", timeout=0.05))


def test_a_wait_shows_the_error_of_what_died_rather_than_a_timeout() -> None:
    def alive() -> None:
        raise RuntimeError("the daemon failed: broker refused us")

    with pytest.raises(RuntimeError, match="broker refused us"):
        asyncio.run(until(lambda: False, "the watch", timeout=5, alive=alive))
