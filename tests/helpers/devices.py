"""Helpers for tests that drive the connection manager against virtual devices."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable
from datetime import datetime, tzinfo
from typing import Protocol

from devices.manager import DeviceManager
from devices.sample_queue import SampleQueue
from devices.samples import Link, Sample, StepDelta
from helpers.daemon import until


class ManualClock:
    """A clock the test sets; pass the instance itself as the manager's ``clock``."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def set_local(self, text: str, zone: tzinfo) -> None:
        """Set the time from a local ISO time such as ``"2026-11-23 23:59:50"``."""
        self.now = datetime.fromisoformat(text).replace(tzinfo=zone).timestamp()


class Collector:
    """Drains a sample queue into ``samples`` in a background task."""

    def __init__(self) -> None:
        self.samples: list[Sample] = []

    def steps(self, device: str | None = None) -> int:
        return sum(
            s.steps
            for s in self.samples
            if isinstance(s, StepDelta) and (device is None or s.device == device)
        )

    def links(self, device: str | None = None) -> list[Link]:
        return [
            s
            for s in self.samples
            if isinstance(s, Link) and (device is None or s.device == device)
        ]

    def of(self, kind: type[Sample]) -> list[Sample]:
        return [s for s in self.samples if isinstance(s, kind)]

    @contextlib.asynccontextmanager
    async def draining(self, queue: SampleQueue) -> AsyncIterator[Collector]:
        async def drain() -> None:
            while True:
                self.samples.append(await queue.get())

        task = asyncio.create_task(drain(), name="sample-collector")
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            while not queue.empty():
                self.samples.append(queue.get_nowait())


class Roaming(Protocol):
    """A virtual wearable that walks, goes out of reach and comes back, and reboots."""

    @property
    def address(self) -> str: ...

    async def walk(self, steps: int) -> None: ...

    async def go_away(self) -> None: ...

    async def come_back(self) -> None: ...

    async def reboot(self, *, back: bool = True) -> None: ...


class Watched:
    """One wearable as its connection manager reports it, for scenarios that
    walk it across drops on a clock the scenario sets: waits for its steps, its
    connections and its drops."""

    def __init__(self, manager: DeviceManager, got: Collector, wearable: Roaming,
                 clock: ManualClock, zone: tzinfo) -> None:
        self.manager = manager
        self.got = got
        self.wearable = wearable
        self.address = wearable.address
        self.clock = clock
        self.zone = zone

    async def at(self, local: str) -> None:
        """The clock at a local time such as ``"2026-11-23 21:10:00"``."""
        self.clock.set_local(local, self.zone)

    async def counted(self, n: int, what: str) -> None:
        await until(lambda: self.got.steps() == n, what=f"{n} steps counted ({what})")

    async def connects(self, n: int) -> None:
        await until(lambda: self.manager.status()[self.address].connects == n,
                    what=f"connection {n}")

    async def dropped(self, leaving: Awaitable[None]) -> None:
        """Await ``leaving`` (the wearable going out of reach, or rebooting),
        then the link-lost sample it causes."""
        lost = len(self.got.links())
        await leaving
        await until(lambda: len(self.got.links()) == lost + 1,
                    what="the link-lost sample")

    async def away(self) -> None:
        """Out of reach, and the link-lost sample it causes."""
        await self.dropped(self.wearable.go_away())

    async def away_walking(self, steps: int, back_at: str | None = None, *,
                           reboot: bool = False) -> None:
        """Out of reach (or rebooting) while ``steps`` are walked, then back
        (at the local time ``back_at``)."""
        wearable = self.wearable
        await self.dropped(wearable.reboot(back=False) if reboot else wearable.go_away())
        await wearable.walk(steps)
        if back_at is not None:
            await self.at(back_at)
        await wearable.come_back()
