"""A virtual Xiaomi Mi Band 5 (the Huami protocol), scriptable from Python.

GATT as ``devices.drivers.huami`` describes the band: service 0xFEE0 with the
fetch control ``...0004`` (write, notify), activity data ``...0005``
(notify), battery info ``...0006`` and realtime steps ``...0007`` (read,
notify); service 0xFEE1 with auth ``...0009`` (write, notify); Immediate
Alert 0x2A06, New Alert 0x2A46 and Current Time 0x2A2B (write, recorded in
``clock_set``); with ``chunked`` (the default, as on a Mi Band 4 or later)
the chunked characteristic ``...0020`` (write), where a message buzzes the
band and is shown. It advertises its name (``Mi Smart Band 5``) and 0xFEE0.

The band holds its ``key``: a connection is authenticated once the phone
answers its random number with the number encrypted under that key (then
``10 83 01``), refused otherwise (``10 83 04``, counted in ``refusals``).
Before that, steps and battery cannot be read and nothing is notified on
them; a new connection starts unauthenticated.

The script, on the band's ``clock`` (injected, as the daemon's): ``walk(n)``
adds to the counter (steps today) and to the log's record of the current
minute, and notifies the new count if someone authenticated is connected;
``midnight()`` restarts the counter (not the log); ``reboot()`` drops the
link and restarts the counter (the log is in flash and survives);
``wear(kind)`` sets the raw kind this minute and the coming ones are logged
with (1 worn and active, 3 not worn, 6 charging, 9 light and 11 deep sleep;
a minute with steps is logged active); ``set_battery``.

The log: every minute from ``born`` (the clock when the band was made, to the
minute) to the minute before the clock's, the steps walked in it and its kind.
A fetch sends those from the asked start time (or the first, if later).
``vibrations`` counts the buzzes (a chunked message, an Immediate Alert),
``shown`` the (title, text) of each chunked message or New Alert;
``steps_per_day`` is the truth the tests compare against.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Coroutine
from typing import Any

from bumble.device import Connection
from bumble.gatt import Characteristic, CharacteristicValue, Service
from bumble.link import LocalLink

from devices import uuids
from devices.drivers import huami
from devices.errors import DecodeError
from devices.minute_log import MINUTE_S, minute_of
from devices.virtual.peripheral import (
    NOTIFY,
    READ,
    READABLE,
    WRITE,
    WRITEABLE,
    VirtualPeripheral,
    advertising_data,
    gatt_uuid,
    not_readable,
    write_only,
)

ACTIVE = 1
NOT_WORN = 3
CHARGING = 6
LIGHT_SLEEP = 9
DEEP_SLEEP = 11
MAX_RECORD_STEPS = 255
"""A record's steps are one byte."""
RECORDS_PER_PACKET = 4
"""1 + 4 x 4 bytes: within a 20-byte notification (the default ATT MTU)."""


class VirtualMiBand(VirtualPeripheral):
    """A Mi Band 5 on a bumble link."""

    def __init__(self, link: LocalLink, *, address: str, key: bytes,
                 name: str = "Mi Smart Band 5", clock: Callable[[], float] | None = None,
                 offset_s: float = 0.0, chunked: bool = True) -> None:
        self.key = key
        self.clock = clock or (lambda: 0.0)
        self.offset_s = offset_s
        """The band's UTC offset, as the times it sends carry it."""
        self.born = minute_of(self.clock())
        self.counter = 0
        self.days: list[int] = []
        self.walked_today = 0
        self.log: dict[float, int] = {}
        """Minute start -> steps walked in it."""
        self.kinds: list[tuple[float, int]] = [(self.born, ACTIVE)]
        """From which minute on the band logs which raw kind (``wear``)."""
        self.battery = 62
        self.charging = False
        self.authenticated = False
        self.refusals = 0
        self.auths = 0
        self.fetches: list[float] = []
        self.refuse_fetch = False
        """Answer fetch requests with a refusal (``10 01 02``), as a busy band might."""
        self.vibrations = 0
        self.clock_set: list[float] = []
        """The times the phone set the band's clock to (it keeps the injected clock)."""
        self.shown: list[tuple[str, str]] = []
        self.reboots = 0
        self._random = b""
        self._pending: list[tuple[int, int]] = []
        self._pieces: list[bytes] = []
        self._tasks: set[asyncio.Task[None]] = set()

        def guarded(read: Callable[[], bytes]) -> CharacteristicValue[bytes]:
            def value(_connection: Connection) -> bytes:
                if not self.authenticated:
                    from bumble import att  # noqa: PLC0415 - only for this refusal

                    raise att.ATT_Error(att.ErrorCode.INSUFFICIENT_AUTHENTICATION)
                return read()

            return CharacteristicValue(read=value)

        def char(short: int, props: Characteristic.Properties,
                 value: CharacteristicValue[bytes]) -> Characteristic[bytes]:
            return Characteristic(gatt_uuid(huami.huami_uuid(short)), props,
                                  READABLE | WRITEABLE, value)

        fee0 = Service(gatt_uuid(huami.SERVICE_FEE0), [
            char(0x0004, WRITE | NOTIFY, write_only(self._on_fetch)),
            char(0x0005, NOTIFY, not_readable()),
            char(0x0006, READ | NOTIFY, guarded(
                lambda: huami.encode_battery(self.battery, self.charging))),
            char(0x0007, READ | NOTIFY, guarded(lambda: huami.encode_realtime(self.counter))),
            *([char(0x0020, WRITE, write_only(self._on_piece))] if chunked else []),
        ])
        fee1 = Service(gatt_uuid(huami.SERVICE_FEE1), [
            char(0x0009, WRITE | NOTIFY, write_only(self._on_auth)),
        ])
        immediate = Service(gatt_uuid(uuids.IMMEDIATE_ALERT_SERVICE), [
            Characteristic(gatt_uuid(uuids.IMMEDIATE_ALERT), WRITE, WRITEABLE,
                           write_only(self._on_buzz)),
        ])
        alerts = Service(gatt_uuid(uuids.ALERT_NOTIFICATION_SERVICE), [
            Characteristic(gatt_uuid(uuids.NEW_ALERT), WRITE, WRITEABLE,
                           write_only(self._on_alert)),
        ])
        current_time = Service(gatt_uuid(uuids.CURRENT_TIME_SERVICE), [
            Characteristic(gatt_uuid(uuids.CURRENT_TIME), WRITE, WRITEABLE,
                           write_only(self._on_time)),
        ])
        super().__init__(
            link, name=name, address=address,
            services=[fee0, fee1, immediate, alerts, current_time],
            advertisement=advertising_data(name, uuids16=[0xFEE0]),
        )
        self.device.on("connection", self._on_connection)

    @property
    def steps_per_day(self) -> list[int]:
        """Steps walked on each band day so far, the current day last."""
        return [*self.days, self.walked_today]

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_connection(self, _connection: Connection) -> None:
        self.authenticated = False  # every connection authenticates anew

    # --- what the phone writes -------------------------------------------------------

    def _on_auth(self, value: bytes) -> None:
        if value == huami.AUTH_REQUEST:
            self._random = os.urandom(huami.KEY_BYTES)
            self._spawn(self.notify(huami.AUTH, huami.AUTH_RANDOM_REPLY + self._random))
        elif value[:2] == huami.AUTH_ANSWER and self._random:
            right = value[2:] == huami.encrypt(self.key, self._random)
            self._random = b""
            self.authenticated = right
            if right:
                self.auths += 1
            else:
                self.refusals += 1
            self._spawn(self.notify(huami.AUTH, huami.AUTH_OK[:2] + (b"\x01" if right
                                                                      else b"\x04")))
        else:
            self._spawn(self.notify(huami.AUTH, bytes((0x10, value[:1][0] if value else 0, 0x02))))

    def _on_fetch(self, value: bytes) -> None:
        if not self.authenticated:
            self._spawn(self.notify(huami.FETCH, bytes((0x10, 0x01, 0x04))))
            return
        if value == huami.FETCH_GO:
            self._spawn(self._send_log())
            return
        try:
            since = huami.decode_fetch(value)
        except DecodeError:
            since = None
        if since is None or self.refuse_fetch:
            self._spawn(self.notify(huami.FETCH, bytes((0x10, 0x01, 0x02))))
            return
        self.fetches.append(since)
        first = max(minute_of(since), self.born)
        end = minute_of(self.clock())
        minutes = [first + i * MINUTE_S for i in range(int(max(end - first, 0) // MINUTE_S))]
        self._pending = [(self.kind_at(m), self.log.get(m, 0)) for m in minutes]
        self._spawn(self.notify(huami.FETCH, huami.encode_fetch_start(
            len(self._pending), first, self.offset_s)))

    async def _send_log(self) -> None:
        records, self._pending = self._pending, []
        for i in range(0, len(records), RECORDS_PER_PACKET):
            packet = huami.encode_records(i // RECORDS_PER_PACKET,
                                          records[i : i + RECORDS_PER_PACKET])
            await self.notify(huami.ACTIVITY_DATA, packet)
        await self.notify(huami.FETCH, huami.FETCH_DONE)

    def _on_buzz(self, value: bytes) -> None:
        if value[:1] in (b"\x01", b"\x02"):
            self.vibrations += 1

    def _on_time(self, value: bytes) -> None:
        with contextlib.suppress(DecodeError):
            self.clock_set.append(huami.decode_current_time(value))

    def _on_piece(self, value: bytes) -> None:
        if len(value) < 3 or value[2] != len(self._pieces):
            self._pieces = []  # out of order: the band drops the message
            return
        self._pieces.append(value)
        if value[1] & 0x80:  # the last piece: the band buzzes and shows it
            pieces, self._pieces = self._pieces, []
            with contextlib.suppress(DecodeError):
                self.shown.append(huami.decode_chunked_alert(pieces))
                self.vibrations += 1

    def _on_alert(self, value: bytes) -> None:
        with contextlib.suppress(DecodeError):
            self.shown.append(huami.decode_alert(value))

    # --- the script ---------------------------------------------------------------------

    def kind_at(self, minute: float) -> int:
        """The raw kind logged for ``minute``: active if it has steps."""
        if self.log.get(minute, 0):
            return ACTIVE
        return [kind for since, kind in self.kinds if since <= minute][-1]

    async def walk(self, steps: int) -> None:
        """Walk ``steps`` now (the clock's minute); notified if someone authenticated
        is connected."""
        minute = minute_of(self.clock())
        if self.log.get(minute, 0) + steps > MAX_RECORD_STEPS:
            raise ValueError(f"a minute's record holds at most {MAX_RECORD_STEPS} steps")
        self.log[minute] = self.log.get(minute, 0) + steps
        self.counter += steps
        self.walked_today += steps
        if self.connected and self.authenticated:
            await self.notify(huami.REALTIME_STEPS, huami.encode_realtime(self.counter))

    def wear(self, kind: int) -> None:
        """The raw kind this minute and the coming ones are logged with."""
        self.kinds.append((minute_of(self.clock()), kind))

    async def midnight(self) -> None:
        """The band's midnight: a new day, the counter from 0."""
        self.days.append(self.walked_today)
        self.walked_today = 0
        self.counter = 0

    async def reboot(self, *, back: bool = True) -> None:
        """Restart: the link drops, the counter restarts; the log survives."""
        self.reboots += 1
        await self.go_away()
        self.counter = 0
        if back:
            await self.come_back()

    async def set_battery(self, percent: int, charging: bool = False) -> None:
        self.battery, self.charging = percent, charging
        if self.connected and self.authenticated:
            await self.notify(huami.BATTERY_INFO, huami.encode_battery(percent, charging))

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await super().close()
