"""The demo's lock-step clock: the daemon's clock moves only when the demo moves it.

A free-running accelerated clock (``pacer.daemon.clock.Clock``) lets the
machine's load decide which minute a step lands in: at high speeds the same
script gave different days, and prompts past the end. In lock-step the demo
sets the clock to the middle of a minute, lets the virtual wearable deliver
that minute's samples, waits until the daemon has them, then moves the clock
to the minute's end and waits until the daemon has taken the minute and its
messages are out. The result is the same at every speed; the speed only paces
how soon the next minute begins.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pacer.daemon.clock import Clock
from pacer.errors import PacerError

if TYPE_CHECKING:
    from pacer.daemon.app import Daemon

POLL_S = 0.002
"""How often a wait in lock-step looks again (real seconds)."""
MINUTE_STALL_S = 20.0
"""Real seconds one simulated minute may take before the demo gives up."""


class DemoStalled(PacerError):  # noqa: N818 - named like pacer.errors
    """The daemon did not get through a step of the demo in time."""


class StepClock(Clock):
    """A ``Clock`` that reads what it was last moved to. ``speed`` says how
    often the daemon's minute job looks at it: every ``60 / speed`` real
    seconds (at least ``pacer.daemon.app.MIN_TICK_S``); the demo keeps its own
    pace, at most that."""

    def __init__(self, *, speed: float, origin: float) -> None:
        super().__init__(speed=speed, origin=origin)
        self._at = origin

    def now(self) -> float:
        return self._at

    def move_to(self, clock_time: float) -> None:
        """Move the clock on (never back)."""
        self._at = max(self._at, clock_time)

    def real_deadline(self, clock_time: float) -> float:
        # A prompt's expiry in real time: the clock cannot reach it sooner than
        # the demo's slowest pace allows, so a message never expires in the
        # outbox while its minute is still being shown.
        minutes = max(0.0, clock_time - self._at) / 60
        return time.time() + (minutes + 1) * MINUTE_STALL_S

    async def sleep_until(self, clock_time: float) -> None:
        while self._at < clock_time:
            await asyncio.sleep(POLL_S)


async def until(check: Callable[[], Any], what: str, *,
                timeout: float = MINUTE_STALL_S,
                alive: Callable[[], None] | None = None) -> None:
    """Wait until ``check()`` is true; ``alive()`` raises if what should make
    it true has died (the daemon's task), so its error is shown, not a timeout."""
    deadline = time.monotonic() + timeout
    while not check():
        if alive is not None:
            alive()
        if time.monotonic() > deadline:
            raise DemoStalled(
                f"the demo waited {timeout:g} s for {what}; the machine may be too busy: "
                "run it again, at a lower --speed")
        await asyncio.sleep(POLL_S)


# --- what a lock-stepped script waits on, read from the daemon --------------------------------


def step_count(daemon: Daemon) -> int | None:
    """The first wearable's step count as the daemon last read it (None: not
    connected yet)."""
    ble = daemon.ble
    if ble is None or not ble.devices()[0]["connected"]:
        return None
    state = ble.manager.counter_state(next(iter(ble.labels)))
    return None if state is None else state.total


def imu_samples(daemon: Daemon) -> int | None:
    """Samples of the first wearable's IMU the daemon has (None: not connected yet)."""
    ble = daemon.ble
    if ble is None or not ble.devices()[0]["connected"]:
        return None
    track = ble.book.tracks.get(next(iter(ble.labels)))
    return 0 if track is None else track.first + len(track.offsets)


def taken(daemon: Daemon, minute: int) -> Callable[[], bool]:
    """Whether the daemon has taken ``minute``."""
    return lambda: (daemon.engine.next_minute or 0) > minute
