"""A virtual Bangle.js 2 running the "Android Integration" app, scriptable from Python.

GATT as on the real watch: the Nordic UART service, TX (notify) and RX (write,
with or without response); it advertises its name (``Bangle.js xxxx``) and the
service. Everything it sends is a line as the app writes it (an empty line,
then the JSON, each ending ``\\r\\n``), cut into notifications of 20 bytes; what
the phone writes is read as lines, ``\\x10GB({...})`` or ``setTime(..);
E.setTimeZone(..)`` (``devices.drivers.bangle``), anything else is kept in
``unparsed``.

What it does with them, as the app does:

* ``notify``: the message is shown (``messages``) and the watch buzzes
  (``buzzes``), unless ``quiet``;
* ``act`` with ``stp``: realtime reports from now on, ``stp`` = the counter minus
  at the previous report. The script's ``walk`` stands for the interval: each
  walk sends one report while connected; while not, the interval still runs,
  so the steps walked then are in no report (only in the block);
* ``actfetch``: ``start``, one ``act`` with ``ts`` (the block's end, ms) for each
  stored block ending at or after ``ts``, then ``end`` with the count;
* ``setTime``: recorded (``clock_set``); the watch keeps the injected clock.

The script: ``walk(n)``; ``end_block()`` is the firmware's ``health`` event at a
block's end (``clock`` must be there): the block is stored and, if connected,
sent as ``{"t":"act","stp":N,"hrm":0}``; ``midnight()`` restarts the step
counter (the firmware's daily reset) but not the blocks; ``reboot()`` drops the
link, restarts the counter and ends the realtime reports, and loses the block in
progress (RAM); stored blocks survive (flash). ``charge(on)`` and
``set_battery`` send a ``status`` line, as the app does on every change.
``activity`` is the mark the blocks ended from now on carry in ``act`` (as
the Sleep Log app sets ``LIGHT_SLEEP`` or ``DEEP_SLEEP`` on the ``health``
event; None: no ``act``, as without it), live and in the history.
``keep_time()`` runs ``end_block`` at every block end of a running clock (a
daemon's accelerated one), as the firmware does, until cancelled.
``steps_per_day`` is the truth the tests compare against.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from bumble.gatt import Characteristic, CharacteristicValue, Service
from bumble.link import LocalLink

from devices import uuids
from devices.drivers.bangle import BLOCK_S, CHUNK, parse_command
from devices.virtual.peripheral import (
    NOTIFY,
    READABLE,
    WRITE,
    WRITEABLE,
    VirtualPeripheral,
    advertising_data,
    gatt_uuid,
    not_readable,
)

WRITE_WITHOUT_RESPONSE = Characteristic.Properties.WRITE_WITHOUT_RESPONSE
STATUS_DELAY_S = 0.05
"""Real seconds after a subscription before the status line (the app: 2 s)."""


class VirtualBangle(VirtualPeripheral):
    """A Bangle.js 2 with the Android Integration app, on a bumble link."""

    def __init__(self, link: LocalLink, *, address: str, name: str = "Bangle.js 7a3c",
                 clock: Callable[[], float] | None = None) -> None:
        self.clock = clock or (lambda: 0.0)
        self.counter = 0
        """``Bangle.getStepCount()``: since the last reboot or midnight."""
        self.block_steps = 0
        self.blocks: dict[int, int] = {}
        """Stored blocks: end (unix s) -> steps."""
        self.activity: str | None = None
        """The ``act`` of blocks ended from now on (the Sleep Log app's mark)."""
        self.marks: dict[int, str] = {}
        """Stored blocks' ``act``: end (unix s) -> activity kind."""
        self.days: list[int] = []
        self.walked_today = 0
        self.battery = 70
        self.charging = False
        self.quiet = False
        self.realtime_s: int | None = None
        self._reported = 0  # the counter at the previous realtime report
        self.messages: list[dict[str, Any]] = []
        self.buzzes = 0
        self.clock_set: list[tuple[int, float]] = []
        self.fetches: list[int] = []
        self.unparsed: list[bytes] = []
        self.largest_write = 0
        self.reboots = 0
        self._rx = b""
        self._tasks: set[asyncio.Task[None]] = set()
        self._send_lock = asyncio.Lock()
        tx: Characteristic[bytes] = Characteristic(
            gatt_uuid(uuids.NORDIC_UART_TX), NOTIFY, READABLE, not_readable())
        tx.on("subscription", self._on_subscription)
        rx: Characteristic[bytes] = Characteristic(
            gatt_uuid(uuids.NORDIC_UART_RX), WRITE | WRITE_WITHOUT_RESPONSE, WRITEABLE,
            CharacteristicValue(write=lambda _connection, value: self._on_write(bytes(value))),
        )
        super().__init__(
            link,
            name=name,
            address=address,
            services=[Service(gatt_uuid(uuids.NORDIC_UART_SERVICE), [tx, rx])],
            advertisement=advertising_data(name, uuids128=[uuids.NORDIC_UART_SERVICE]),
        )

    @property
    def steps_per_day(self) -> list[int]:
        """Steps walked on each watch day so far, the current day last."""
        return [*self.days, self.walked_today]

    @property
    def shown(self) -> list[tuple[str, str]]:
        """(title, body) of every message shown, oldest first."""
        return [(str(m.get("title", "")), str(m.get("body", ""))) for m in self.messages]

    # --- what the watch sends -------------------------------------------------------

    async def send(self, message: dict[str, Any]) -> None:
        """One message as the app writes it, in 20-byte notifications (lost unless
        someone is connected and subscribed, as on the watch)."""
        data = b"\r\n" + json.dumps(message, separators=(",", ":")).encode() + b"\r\n"
        await self.send_raw(data)

    async def send_raw(self, data: bytes) -> None:
        """Bytes as they are, in 20-byte notifications (a test's garbage too)."""
        if not self.connected:
            return
        async with self._send_lock:  # one line's pieces are never interleaved
            for i in range(0, len(data), CHUNK):
                await self.notify(uuids.NORDIC_UART_TX, data[i : i + CHUNK])

    def _spawn(self, work: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_subscription(self, _bearer: object, notify: bool, _indicate: bool) -> None:
        if notify:
            self._spawn(self._status_soon())

    async def _status_soon(self) -> None:
        await asyncio.sleep(STATUS_DELAY_S)
        await self.send_status()

    async def send_status(self) -> None:
        await self.send({"t": "status", "bat": self.battery, "chg": 1 if self.charging else 0})

    # --- what the phone writes -------------------------------------------------------

    def _on_write(self, value: bytes) -> None:
        self.largest_write = max(self.largest_write, len(value))
        *lines, self._rx = (self._rx + value).split(b"\n")
        for line in lines:
            self._command(line)

    def _command(self, line: bytes) -> None:
        command = parse_command(line)
        if command is None:
            self.unparsed.append(line)
            return
        if command.set_time is not None:
            self.clock_set.append(command.set_time)
            return
        message = command.message or {}
        match message.get("t"):
            case "notify":
                self.messages.append(message)
                if not self.quiet:
                    self.buzzes += 1
            case "act":
                self.realtime_s = int(message.get("int", 1)) if message.get("stp") else None
                self._reported = self.counter
            case "actfetch":
                since = int(message.get("ts", 0))
                self.fetches.append(since)
                self._spawn(self._history(since))
            case _:
                self.unparsed.append(line)

    async def _history(self, since_ms: int) -> None:
        records = [(end, n) for end, n in sorted(self.blocks.items()) if end * 1000 >= since_ms]
        await self.send({"t": "actfetch", "state": "start"})
        for end, steps in records:
            await self.send({"t": "act", "ts": end * 1000, "stp": steps, "hrm": 0,
                             "mov": 40 if steps else 0, **self._mark(end)})
        await self.send({"t": "actfetch", "state": "end", "count": len(records)})

    # --- the script ---------------------------------------------------------------------

    async def walk(self, steps: int) -> None:
        """Walk ``steps``: counted, then (the interval passing) reported if realtime
        reports are on and someone is connected."""
        self.counter += steps
        self.block_steps += steps
        self.walked_today += steps
        if self.realtime_s is None:
            return
        report, self._reported = self.counter - self._reported, self.counter
        if self.connected:
            await self.send({"t": "act", "stp": report, "hrm": 0, "rt": 1})

    async def end_block(self, end: float | None = None) -> int:
        """The ``health`` event: the block ending at ``end`` (default: the clock's
        nearest block end) is stored (and sent if connected); its end is returned."""
        end = round((self.clock() if end is None else end) / BLOCK_S) * BLOCK_S
        steps, self.block_steps = self.block_steps, 0
        self.blocks[end] = steps
        if self.activity is not None:
            self.marks[end] = self.activity
        await self.send({"t": "act", "stp": steps, "hrm": 0, **self._mark(end)})
        return end

    def _mark(self, end: int) -> dict[str, str]:
        activity = self.marks.get(end)
        return {} if activity is None else {"act": activity}

    async def keep_time(self, tick_s: float = 0.01) -> None:
        """``end_block`` whenever ``clock`` passes a block end (``tick_s``: real
        seconds between looks at the clock)."""
        next_end = (self.clock() // BLOCK_S + 1) * BLOCK_S
        while True:
            if self.clock() >= next_end:
                await self.end_block(next_end)
                next_end += BLOCK_S
            else:
                await asyncio.sleep(tick_s)

    async def midnight(self) -> None:
        """The watch's midnight: a new day and the step counter from 0 (call
        ``end_block`` first: midnight ends a block too)."""
        self.days.append(self.walked_today)
        self.walked_today = 0
        self.counter = 0

    async def reboot(self, *, back: bool = True) -> None:
        """Restart: the link drops, the counter restarts, the realtime reports end
        and the block in progress is lost; with ``back=False`` the watch stays out
        of reach until ``come_back()``."""
        self.reboots += 1
        await self.go_away()
        self.counter = 0
        self._reported = 0
        self.realtime_s = None
        self.block_steps = 0
        if back:
            await self.come_back()

    async def set_battery(self, percent: int) -> None:
        self.battery = percent
        await self.send_status()

    async def charge(self, on: bool) -> None:
        """On (or off) the charger: the app sends its status at once."""
        self.charging = on
        await self.send_status()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await super().close()
