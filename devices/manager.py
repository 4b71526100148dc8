"""The connection manager: every configured wearable, one asyncio task each, samples out.

    manager = DeviceManager(config.devices, clock=time.time, zone=zone)
    async with manager:
        while True:
            sample = await manager.queue.get()
            ...
        await manager.notify_watch("Time to move", "You have sat for 40 min")

One task per device (``pacer-ble:<label>``), each under a small supervisor
that restarts it should it ever die of a bug (it logs and retries every
expected failure itself). Samples go to one bounded ``SampleQueue`` that drops
motion first when the consumer falls behind. Nothing here reads a clock: the
injected ``clock`` stamps every sample and drives the trackers, so the daemon
and tests decide what time it is. ``backend``/``scanner_backend`` are bleak
backend classes (None = the platform's own, BlueZ on Linux); tests and the
demo pass the bumble ones from ``devices.virtual``.

Device labels are the configured address, or the name when no address is
given; they must be unique. A kind without a profile (none of ``BleKind``
today) is logged and skipped, not fatal. PAMS is experimental: its protocol
notes are unconfirmed on a real device, and the connect log line says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, tzinfo
from types import TracebackType

from bleak.backends.client import BaseBleakClient
from bleak.backends.scanner import BaseBleakScanner

from devices.backoff import backoff_delay
from devices.blocks import BlockState
from devices.connection import DeviceLink, DeviceStatus, Timing
from devices.counter import CounterState
from devices.minute_log import LogState
from devices.profiles import Translator, profile_for
from devices.rsc import CadenceState
from devices.sample_queue import SampleQueue
from devices.samples import Sample
from devices.spec import DeviceSpec, device_label

logger = logging.getLogger(__name__)

STOP_TIMEOUT_S = 10.0


def _local_zone() -> tzinfo:
    zone = datetime.now().astimezone().tzinfo
    assert zone is not None
    return zone


class DeviceManager:
    """Connects to every configured wearable and keeps them connected."""

    def __init__(
        self,
        devices: Sequence[DeviceSpec],
        *,
        clock: Callable[[], float] = time.time,
        zone: tzinfo | None = None,
        backend: type[BaseBleakClient] | None = None,
        scanner_backend: type[BaseBleakScanner] | None = None,
        queue_size: int = 10_000,
        motion: bool = True,
        calibration: Mapping[str, float] | None = None,
        counter_states: Mapping[str, CounterState] | None = None,
        cadence_states: Mapping[str, CadenceState] | None = None,
        block_states: Mapping[str, BlockState] | None = None,
        log_states: Mapping[str, LogState] | None = None,
        timing: Timing | None = None,
        rng: random.Random | None = None,
    ) -> None:
        """
        ``zone`` is the watches' time zone (their midnight resets the step counter;
        default: this machine's). ``motion`` subscribes to InfiniTime's raw
        acceleration. ``calibration`` maps a foot pod's label to its steps per
        reported cadence unit. ``counter_states`` / ``cadence_states`` /
        ``block_states`` restore the trackers from ``counter_state()`` /
        ``cadence_state()`` / ``block_state()`` after a restart.
        """
        self.clock = clock
        self.queue = SampleQueue(queue_size)
        self.timing = timing or Timing()
        self._rng = rng or random.Random()
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.links: dict[str, DeviceLink] = {}
        self.unsupported: list[str] = []
        zone = zone or _local_zone()
        calibration = calibration or {}
        counter_states = counter_states or {}
        cadence_states = cadence_states or {}
        block_states = block_states or {}
        log_states = log_states or {}
        for device in devices:
            label = device_label(device)
            profile = profile_for(device)
            if profile is None:
                logger.error(
                    "%s %s: no driver for this kind yet; the device is ignored", device.kind, label
                )
                self.unsupported.append(label)
                continue
            if label in self.links:
                raise ValueError(f"two devices share the label {label!r}; give each an address")
            translator = Translator(
                label,
                device.kind,
                zone=zone,
                calibration=calibration.get(label, 1.0),
                counter_state=counter_states.get(label),
                cadence_state=cadence_states.get(label),
                block_state=block_states.get(label),
                log_state=log_states.get(label),
            )
            self.links[label] = DeviceLink(
                label=label,
                kind=device.kind,
                address=device.address,
                name=device.name,
                profile=profile,
                translator=translator,
                emit=self.queue.put_nowait,
                clock=clock,
                backend=backend,
                scanner_backend=scanner_backend,
                timing=self.timing,
                rng=self._rng,
                motion=motion,
            )

    # --- life cycle ------------------------------------------------------------------

    async def start(self) -> None:
        """Start one task per device (in the running loop)."""
        if self._tasks:
            raise RuntimeError("the device manager is already running")
        self._stop.clear()
        for label, link in self.links.items():
            self._tasks.append(
                asyncio.create_task(self._supervise(link), name=f"pacer-ble:{label}")
            )

    async def stop(self) -> None:
        """Disconnect every device and end the tasks."""
        self._stop.set()
        tasks, self._tasks = self._tasks, []
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=STOP_TIMEOUT_S)
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def __aenter__(self) -> DeviceManager:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _supervise(self, link: DeviceLink) -> None:
        restarts = 0
        while not self._stop.is_set():
            try:
                await link.run(self._stop)
            except Exception:
                # A bug, not a Bluetooth failure (those are handled in run()).
                logger.exception("%s: connection task failed; restarting it", link.who)
                delay = backoff_delay(restarts, self._rng, cap_s=self.timing.backoff_cap_s)
                restarts += 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)
            else:
                return

    # --- what the daemon asks -------------------------------------------------------

    async def get(self) -> Sample:
        """The next sample (same as ``queue.get()``)."""
        return await self.queue.get()

    async def notify_watch(self, title: str, text: str) -> bool:
        """Show a prompt on every connected watch (InfiniTime, Bangle.js); True if at
        least one showed it."""
        watches = [link for link in self.links.values()
                   if link.profile.kind == "infinitime" or link.profile.alert is not None]
        if not watches:
            return False
        results = await asyncio.gather(*(w.notify_watch(title, text) for w in watches))
        return any(results)

    def status(self) -> dict[str, DeviceStatus]:
        """A snapshot of every device's connection state and error counts."""
        return {label: replace(link.status) for label, link in self.links.items()}

    def counter_state(self, label: str) -> CounterState | None:
        """The step counter state of an InfiniTime watch, for the daemon to store."""
        counter = self.links[label].translator.counter
        return None if counter is None else counter.state

    def block_state(self, label: str) -> BlockState | None:
        """The settled blocks and provisional counts of a Bangle.js, for the daemon to store."""
        tracker = self.links[label].translator.blocks
        return None if tracker is None else tracker.state

    def log_state(self, label: str) -> LogState | None:
        """The activity log position and live counts of a Huami band, for the daemon
        to store."""
        log = self.links[label].translator.minute_log
        return None if log is None else log.state

    def cadence_state(self, label: str) -> CadenceState | None:
        """The cadence integration state of a foot pod, for the daemon to store."""
        cadence = self.links[label].translator.cadence
        return None if cadence is None else cadence.state
