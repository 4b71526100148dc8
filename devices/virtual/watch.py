"""A virtual PineTime running InfiniTime, scriptable from Python.

GATT as on the real watch (ble-protocols.md §1): the motion service with step
count (read, notify) and raw motion (read, notify), Heart Rate (0x2A37 read,
notify), Battery Level (read, notify) and the Alert Notification service's New
Alert (write only), which records what was written and decodes it the way the
firmware does. Advertises its name and the Heart Rate service.

The script: ``walk(n)`` counts steps (and notifies, as the firmware does on
every change), ``midnight()`` is the watch's daily reset (notifies 0, as
InfiniTime >= 1.16 does), ``reboot()`` drops the link and restarts the counter
from 0 (it is not persisted), and the ``VirtualPeripheral`` methods drop the
link, take the watch out of reach and send garbage. ``steps_per_day`` is what
the watch counted on each of its days, the truth the tests compare against.

``take_off`` lays it flat on a table for a while (on an injected clock, an
accelerated daemon clock in tests): it counts no steps, and its raw motion is
gravity plus the accelerometer's noise floor, notified ``rate`` times a clock
second (the firmware notifies whenever a value changes, up to 10 times a second;
one a second is enough for the stillness rule's 30 readings a minute and is
what an accelerated test can carry); ``put_on`` (or the end of the time) puts
it back on the wrist, with a movement. A script that moves the clock itself (in
lock-step) calls ``lay_down`` and then, each minute, ``table_noise(60)``.
Worn, the virtual watch notifies motion only on ``move``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import struct
from collections.abc import Callable

from bumble.gatt import Characteristic, Service
from bumble.link import LocalLink

from devices import uuids
from devices.drivers.infinitime import Alert, decode_new_alert
from devices.virtual.peripheral import (
    NOTIFY,
    READ,
    READABLE,
    WRITE,
    WRITEABLE,
    VirtualPeripheral,
    advertising_data,
    gatt_uuid,
    readable,
    write_only,
)

TABLE_NOISE = 3
"""The noise floor of a watch lying still, in binary milli-g (1 g = 1024): a few
counts for the BMA421 at its +/-2 g range."""
MOTION_HZ = 1.0
"""Raw motion readings a clock second while laid on a table (see the module)."""
TICK_S = 0.05
"""Real seconds between bursts of raw motion notifications, at most."""
BURST_S = 5.0
"""Clock seconds a burst covers at most: at a fast clock the bursts come more
often, so each minute gets its share of readings, not one burst or none."""


class VirtualWatch(VirtualPeripheral):
    """An InfiniTime-like watch on a bumble link."""

    def __init__(self, link: LocalLink, *, address: str, name: str = "InfiniTime") -> None:
        self.steps = 0
        """The step counter as the watch shows it (steps today since the last reset)."""
        self.days: list[int] = []
        self.walked_today = 0
        self.bpm = 0
        self.battery = 80
        self.motion = (0, 0, 1024)
        self.alerts: list[bytes] = []
        self.reboots = 0
        self.on_table = False
        """Laid on a table (``take_off``): not worn, no steps counted."""
        self._table: asyncio.Task[None] | None = None
        self._rng = random.Random(len(address))
        services = [
            Service(
                gatt_uuid(uuids.MOTION_SERVICE),
                [
                    Characteristic(
                        gatt_uuid(uuids.STEP_COUNT), READ | NOTIFY, READABLE,
                        readable(lambda: struct.pack("<I", self.steps), self),
                    ),
                    Characteristic(
                        gatt_uuid(uuids.RAW_MOTION), READ | NOTIFY, READABLE,
                        readable(lambda: struct.pack("<hhh", *self.motion), self),
                    ),
                ],
            ),
            Service(
                gatt_uuid(uuids.HEART_RATE_SERVICE),
                [
                    Characteristic(
                        gatt_uuid(uuids.HEART_RATE_MEASUREMENT),
                        READ | NOTIFY,
                        READABLE,
                        readable(lambda: bytes((0, self.bpm)), self),
                    )
                ],
            ),
            Service(
                gatt_uuid(uuids.BATTERY_SERVICE),
                [
                    Characteristic(
                        gatt_uuid(uuids.BATTERY_LEVEL), READ | NOTIFY, READABLE,
                        readable(lambda: bytes((self.battery,)), self),
                    )
                ],
            ),
            Service(
                gatt_uuid(uuids.ALERT_NOTIFICATION_SERVICE),
                [
                    Characteristic(
                        gatt_uuid(uuids.NEW_ALERT),
                        WRITE,
                        WRITEABLE,
                        write_only(self.alerts.append),
                    )
                ],
            ),
        ]
        super().__init__(
            link,
            name=name,
            address=address,
            services=services,
            advertisement=advertising_data(name, uuids16=[0x180D]),
        )

    @property
    def steps_per_day(self) -> list[int]:
        """Steps walked on each watch day so far, the current day last."""
        return [*self.days, self.walked_today]

    @property
    def shown_alerts(self) -> list[Alert]:
        """The New Alerts written, as the watch displays them (ignored packets left out)."""
        return [a for a in map(decode_new_alert, self.alerts) if a is not None]

    async def walk(self, steps: int, *, per_notification: int = 10) -> None:
        """Count ``steps``, notifying the new count every ``per_notification``
        steps; none while it lies on a table (the person walks without it)."""
        if self.on_table:
            return
        left = steps
        while left > 0:
            chunk = min(per_notification, left)
            left -= chunk
            self.steps += chunk
            self.walked_today += chunk
            await self.notify(uuids.STEP_COUNT, struct.pack("<I", self.steps))

    async def set_steps(self, total: int) -> None:
        """Set the counter to ``total`` (counting the difference as walked today)."""
        self.walked_today += max(total - self.steps, 0)
        self.steps = total
        await self.notify(uuids.STEP_COUNT, struct.pack("<I", self.steps))

    async def midnight(self) -> None:
        """The watch's local midnight: a new day, the counter back to 0 (and notified)."""
        self.days.append(self.walked_today)
        self.walked_today = 0
        self.steps = 0
        await self.notify(uuids.STEP_COUNT, struct.pack("<I", 0))

    async def reboot(self, *, back: bool = True) -> None:
        """Restart the firmware: the link drops and the counter starts again from 0.

        With ``back=False`` the watch stays unreachable (still counting steps)
        until ``come_back()``, so a script can walk while it is "booting".
        """
        self.reboots += 1
        await self.go_away()
        self.steps = 0
        if back:
            await self.come_back()

    async def set_heart_rate(self, bpm: int) -> None:
        self.bpm = bpm
        await self.notify(uuids.HEART_RATE_MEASUREMENT, bytes((0, bpm)))

    async def set_battery(self, percent: int) -> None:
        self.battery = percent
        await self.notify(uuids.BATTERY_LEVEL, bytes((percent,)))

    async def move(self, x: float, y: float, z: float) -> None:
        """Report an acceleration in g (sent as binary milli-g, 1 g = 1024)."""
        self.motion = (round(x * 1024), round(y * 1024), round(z * 1024))
        await self.notify(uuids.RAW_MOTION, struct.pack("<hhh", *self.motion))

    def lay_down(self) -> None:
        """On the table from now, until ``put_on``: no steps are counted, and the
        script sends its raw motion with ``table_noise``."""
        self._stop_table()
        self.on_table = True

    async def table_noise(self, readings: int,
                          up: tuple[float, float, float] = (0.0, 0.0, 1.0)) -> None:
        """Notify ``readings`` raw motion readings of the watch lying still,
        ``up`` being gravity in its axes: its noise floor around it."""
        rest = [round(g * 1024) for g in up]
        for _ in range(readings):
            x, y, z = (v + round(self._rng.gauss(0.0, TABLE_NOISE)) for v in rest)
            self.motion = (x, y, z)
            await self.notify(uuids.RAW_MOTION, struct.pack("<hhh", x, y, z))

    def take_off(self, seconds: float | None, *, clock: Callable[[], float],
                 at: float | None = None, rate: float = MOTION_HZ,
                 up: tuple[float, float, float] = (0.0, 0.0, 1.0)) -> None:
        """Laid still on a table from ``clock`` time ``at`` (default now) for
        ``seconds`` (None: until ``put_on``), ``up`` being gravity in the watch's
        axes (face up by default); then back on the wrist."""
        if rate <= 0 or rate > 10:
            raise ValueError("InfiniTime notifies raw motion up to 10 times a second")
        self._stop_table()
        start = clock() if at is None else at
        end = None if seconds is None else start + seconds
        self._table = asyncio.ensure_future(self._lie(clock, start, end, rate, up))

    async def put_on(self) -> None:
        """Back on the wrist now (a movement is notified)."""
        self._stop_table()
        await self._lifted()

    def _stop_table(self) -> None:
        task, self._table = self._table, None
        if task is not None:
            task.cancel()
        self.on_table = False

    async def _lie(self, clock: Callable[[], float], start: float, end: float | None,
                   rate: float, up: tuple[float, float, float]) -> None:
        while clock() < start:
            await asyncio.sleep(TICK_S)
        self.on_table = True
        sent = 0  # readings since ``start``
        tick = TICK_S
        while end is None or start + sent / rate < end:
            before = clock()
            await asyncio.sleep(tick)
            now = clock()
            if now - before > BURST_S:
                tick = max(tick * BURST_S / (now - before), 0.002)
            if end is not None:
                now = min(now, end)
            due = max(int((now - start) * rate) - sent, 0)
            await self.table_noise(due, up)
            sent += due
        self.on_table = False
        self._table = None
        await self._lifted()

    async def _lifted(self) -> None:
        """Picked up and strapped on: a movement far beyond the noise floor."""
        await self.move(0.3, -0.4, 0.85)

    async def close(self) -> None:
        task = self._table
        self._stop_table()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await super().close()
