"""The daemon's clock: real time, or real time sped up (replay devices, demos).

Every duration in the rules is in this clock; only MQTT message expiry and
the broker's keepalive are in real seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class Clock:
    def __init__(
        self,
        *,
        speed: float = 1.0,
        origin: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        """``origin`` is the clock's reading (unix seconds) now; None means
        the wall clock. At speed 1 with no origin it simply is the wall clock,
        so a suspend or an NTP step is seen as it happened."""
        self.speed = speed
        self._wall = wall
        self._monotonic = monotonic
        self._real = origin is None and speed == 1.0
        self._origin = wall() if origin is None else origin
        self._start = monotonic()

    def now(self) -> float:
        if self._real:
            return self._wall()
        return self._origin + (self._monotonic() - self._start) * self.speed

    def to_real(self, clock_seconds: float) -> float:
        """A clock duration in real seconds."""
        return clock_seconds / self.speed

    def real_deadline(self, clock_time: float) -> float:
        """The wall-clock time (unix seconds) when the clock reads ``clock_time``."""
        return self._wall() + self.to_real(clock_time - self.now())

    async def sleep_until(self, clock_time: float) -> None:
        while True:
            delay = self.to_real(clock_time - self.now())
            if delay <= 0:
                return
            # Sleep in slices so a wall-clock jump at speed 1 is noticed.
            await asyncio.sleep(min(delay, 5.0))
