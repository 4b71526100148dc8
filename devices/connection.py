"""One wearable's connection: find it, connect, subscribe, read, and reconnect for ever.

``DeviceLink.run`` is the loop of one device task. Each round scans for the
device (by address, or by advertised name when no address is configured),
connects, subscribes to the kind's characteristics, reads the current values
(a step count and a battery level only arrive as notifications when they
change, so after a reconnect they must be read), then waits until the link is
lost or the manager stops. Any failure (device absent, link lost, no adapter,
no BlueZ) is logged with the device's identity and retried after a capped,
jittered exponential backoff; none ends the loop.

Log levels are chosen for a device that may be away for hours: the first
failure of a streak is a WARNING, then every 10th attempt an INFO line saying
how long it has been, the rest DEBUG.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.exc import BleakError

from devices import uuids
from devices.backoff import backoff_delay
from devices.drivers import Decoder
from devices.drivers.infinitime import encode_new_alert
from devices.drivers.witmotion import Reassembler
from devices.errors import DecodeError, ImplausibleReading
from devices.failures import DeviceAbsentError, describe
from devices.profiles import Framer, Profile, SetupError, Translator
from devices.samples import Link, Sample

logger = logging.getLogger(__name__)

LOG_EVERY_ATTEMPTS = 10
DECODE_ERRORS_LOGGED = 10
"""Decode errors logged one by one per device before only every 100th is."""


@dataclass(frozen=True, slots=True)
class Timing:
    """How long to scan and connect, and how to back off between attempts."""

    scan_s: float = 10.0
    connect_s: float = 20.0
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 60.0
    write_s: float = 10.0
    refresh_poll_s: float = 1.0
    """How often (real seconds) the clock is looked at for a profile's ``refresh_s``."""


@dataclass(slots=True)
class DeviceStatus:
    """What the manager knows about one device right now (a snapshot when returned)."""

    label: str
    kind: str
    connected: bool = False
    connects: int = 0
    """Successful connections so far."""
    failures: int = 0
    """Failed attempts in the current streak (0 while connected)."""
    decode_errors: int = 0
    last_error: str | None = None
    down_since: float | None = None
    """When the device was last seen connected (or the manager started), while it is not."""


class _MissingCharacteristicError(BleakError):
    pass


class _LinkControl:
    """``profiles.Control`` on a connected client: writes, and the replies queued for it."""

    def __init__(self, client: BleakClient, replies: asyncio.Queue[bytes], write_s: float,
                 lock: asyncio.Lock | None = None) -> None:
        self.client, self.replies, self.write_s = client, replies, write_s
        self.lock = lock or asyncio.Lock()

    async def write(self, uuid: str, value: bytes) -> None:
        char = self.client.services.get_characteristic(uuid)
        if char is None:
            raise _MissingCharacteristicError(f"the device has no characteristic {uuid}")
        await asyncio.wait_for(self.client.write_gatt_char(char, value, response=True),
                               self.write_s)

    async def send(self, uuid: str, value: bytes, chunk: int) -> None:
        # One line's pieces must not interleave with another's (a prompt sent
        # while the session's first lines are still going out).
        async with self.lock:
            for i in range(0, len(value), chunk):
                await self.write(uuid, value[i : i + chunk])

    def has(self, uuid: str) -> bool:
        return self.client.services.get_characteristic(uuid) is not None

    async def reply(self, timeout_s: float) -> bytes:
        try:
            return await asyncio.wait_for(self.replies.get(), timeout_s)
        except TimeoutError:
            raise SetupError(f"no reply within {timeout_s:g} s") from None


class DeviceLink:
    """The connection loop of one configured device."""

    def __init__(
        self,
        *,
        label: str,
        kind: str,
        address: str | None,
        name: str | None,
        profile: Profile,
        translator: Translator,
        emit: Callable[[Sample], None],
        clock: Callable[[], float],
        backend: type[BaseBleakClient] | None,
        scanner_backend: type[BaseBleakScanner] | None,
        timing: Timing,
        rng: random.Random,
        motion: bool = True,
    ) -> None:
        self.label = label
        self.who = f"{kind} {label}"
        self.address = address
        self.name = name
        self.profile = profile
        self.translator = translator
        self.emit = emit
        self.clock = clock
        self.backend = backend
        self.scanner_backend = scanner_backend
        self.timing = timing
        self.rng = rng
        self.notify_uuids = tuple(
            u for u in profile.notify if motion or u != uuids.RAW_MOTION
        )
        self.status = DeviceStatus(label=label, kind=kind, down_since=clock())
        self.client: BleakClient | None = None
        self.rate_hz: float | None = profile.rate_hz
        """The acceleration rate in force (the start hook's answer once connected)."""
        self.decode: Decoder = profile.decode
        """The profile's decoder, or the one the start hook gave for this session."""
        self._replies: asyncio.Queue[bytes] | None = None
        self._reassembler: Reassembler | None = None
        self._framer: Framer | None = None
        self._send_lock = asyncio.Lock()

    # --- the loop ------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Connect and reconnect until ``stop`` is set."""
        while not stop.is_set():
            try:
                await self._stoppable_session(stop)
                self.status.failures = 0
            except Exception as error:  # every failure is logged and retried, never fatal
                self._failed(error)
            if stop.is_set():
                break
            delay = backoff_delay(
                self.status.failures,
                self.rng,
                base_s=self.timing.backoff_base_s,
                cap_s=self.timing.backoff_cap_s,
            )
            logger.debug("%s: next attempt in %.1f s", self.who, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)

    async def _stoppable_session(self, stop: asyncio.Event) -> None:
        """``_session``, abandoned at once if ``stop`` comes while scanning or connecting.

        A scan can take ``timing.scan_s`` (10 s by default); stopping the daemon
        should not wait for it. Once connected, the session sees ``stop`` itself
        and disconnects cleanly.
        """
        session = asyncio.create_task(self._session(stop), name=f"pacer-ble-session:{self.label}")
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({session, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not session.done() and self.client is None:
                session.cancel()
            await asyncio.wait({session})  # a connected session disconnects cleanly first
        finally:
            stopping.cancel()
            if not session.done():  # we are being cancelled ourselves: take the session along
                session.cancel()
                await asyncio.gather(session, return_exceptions=True)
        if not session.cancelled():
            session.result()  # re-raise what ended the session, for run() to log

    def _failed(self, error: BaseException) -> None:
        self.status.failures += 1
        failure = describe(error)
        self.status.last_error = failure.message
        n = self.status.failures
        down_min = (self.clock() - (self.status.down_since or self.clock())) / 60
        if n == 1:
            level = logging.WARNING
        elif n % LOG_EVERY_ATTEMPTS == 0:
            level = logging.INFO
        else:
            level = logging.DEBUG
        if level < logging.WARNING:
            logger.log(
                level, "%s: still unavailable after %d attempts (%.0f min): %s; retrying",
                self.who, n, down_min, failure.message,
            )
        else:
            logger.log(level, "%s: %s; will keep retrying", self.who, failure.message)
        if failure.kind == "unexpected":
            logger.debug("%s: details of the unexpected error", self.who, exc_info=error)

    async def _find(self) -> BLEDevice | None:
        address = self.address.lower() if self.address else None

        def wanted(device: BLEDevice, adv: AdvertisementData) -> bool:
            if address is not None:
                return device.address.lower() == address
            return self.name is not None and self.name in (adv.local_name, device.name)

        if self.scanner_backend is None:  # bleak's own choice for this platform
            return await BleakScanner.find_device_by_filter(wanted, timeout=self.timing.scan_s)
        return await BleakScanner.find_device_by_filter(
            wanted, timeout=self.timing.scan_s, backend=self.scanner_backend
        )

    async def _session(self, stop: asyncio.Event) -> None:
        device = await self._find()
        if device is None:
            what = f"address {self.address}" if self.address else f"name {self.name!r}"
            raise DeviceAbsentError(f"not found by {what} within a {self.timing.scan_s:g} s scan")
        lost = asyncio.Event()
        client = BleakClient(
            device,
            disconnected_callback=lambda _client: lost.set(),
            backend=self.backend,
            timeout=self.timing.connect_s,
        )
        await client.connect()
        ready = False
        reason = "link lost"
        try:
            self.decode = self.profile.decode
            self._replies = asyncio.Queue() if self.profile.replies else None
            self._reassembler = Reassembler() if self.profile.stream else None
            self._framer = self.profile.framer() if self.profile.framer else None
            await self._subscribe(client)
            if self.profile.start is not None:
                control = self._control(client)
                started = await self.profile.start(control)
                if started.rate_hz is not None:
                    self.rate_hz = started.rate_hz
                if started.decode is not None:
                    self.decode = started.decode
            self.client = client
            ready = True
            logger.info("%s: connected (%s)%s", self.who, device.name or device.address,
                        " (experimental driver: the protocol is unconfirmed on real devices)"
                        if self.profile.experimental else "")
            self.emit(Link(at=self.clock(), device=self.label, connected=True, reason="connected"))
            # Read only now: a value read before the Link sample would look older than it.
            await self._read_current(client)
            if self.profile.resume is not None:
                await self.profile.resume(self._control(client), self.translator, self.clock())
            # "connected" in the status means subscribed and up to date.
            self.status.connected = True
            self.status.connects += 1
            self.status.failures = 0
            self.status.last_error = None
            self.status.down_since = None
            waits: list[Coroutine[Any, Any, Any]] = [lost.wait(), stop.wait()]
            if self.profile.refresh_s is not None and self.profile.resume is not None:
                waits.append(self._refresh(client))
            await _first(*waits)
            if not lost.is_set():
                reason = "stopped"
                await self._stop_streaming(client)
        except BaseException as error:
            if isinstance(error, asyncio.CancelledError):
                reason = "stopped"
            else:
                reason = f"link lost during setup: {describe(error).message}"
            raise
        finally:
            self.client = None
            self.translator.link_lost()
            if client.is_connected:
                with contextlib.suppress(BleakError, OSError, TimeoutError):
                    await asyncio.wait_for(client.disconnect(), self.timing.connect_s)
            if ready:
                self.status.connected = False
                self.status.down_since = self.clock()
                self.emit(Link(at=self.clock(), device=self.label, connected=False, reason=reason))
                log = logger.info if reason == "stopped" else logger.warning
                log("%s: disconnected (%s)", self.who, reason)

    async def _refresh(self, client: BleakClient) -> None:
        """The profile's ``resume`` again every ``refresh_s`` of the clock while
        connected (a Huami band's log: its marks come in while it stays in reach);
        a failure is logged and tried again next time (a lost link ends the session)."""
        assert self.profile.resume is not None
        assert self.profile.refresh_s is not None
        last = self.clock()
        while True:
            await asyncio.sleep(self.timing.refresh_poll_s)
            now = self.clock()
            if now - last < self.profile.refresh_s:
                continue
            last = now
            try:
                await self.profile.resume(self._control(client), self.translator, now)
            except (BleakError, OSError, TimeoutError, SetupError) as error:
                logger.info("%s: could not refresh: %s", self.who, describe(error).message)

    def _control(self, client: BleakClient) -> _LinkControl:
        return _LinkControl(client, self._replies or asyncio.Queue(), self.timing.write_s,
                            self._send_lock)

    async def _stop_streaming(self, client: BleakClient) -> None:
        """The profile's stop hook before a clean disconnect (a failure is only logged)."""
        if self.profile.stop is None or not client.is_connected:
            return
        control = self._control(client)
        try:
            await self.profile.stop(control)
        except (BleakError, OSError, TimeoutError, SetupError) as error:
            logger.info("%s: could not stop the stream: %s", self.who, describe(error).message)

    async def _subscribe(self, client: BleakClient) -> None:
        for uuid in self.notify_uuids:
            char = client.services.get_characteristic(uuid)
            if char is None:
                if uuid in self.profile.required:
                    raise _MissingCharacteristicError(
                        f"the device has no characteristic {uuid}: is it really a "
                        f"{self.profile.kind} device?"
                    )
                logger.debug("%s: no characteristic %s, skipped", self.who, uuid)
                continue
            await client.start_notify(char, self._on_notification)

    async def _read_current(self, client: BleakClient) -> None:
        for uuid in self.profile.read_after_connect:
            char = client.services.get_characteristic(uuid)
            if char is None or "read" not in char.properties:
                continue
            self.handle(uuid, await client.read_gatt_char(char))

    # --- data ----------------------------------------------------------------------

    def _on_notification(self, char: BleakGATTCharacteristic, data: bytearray) -> None:
        uuid = char.uuid.lower()
        if self._replies is not None and (uuid == self.profile.replies
                                          or uuid in self.profile.more_replies):
            self._replies.put_nowait(bytes(data))
        if self._reassembler is not None and uuid == self.profile.stream:
            data = bytearray(self._reassembler.feed(data))
            if not data:
                return  # the rest of a packet is still to come
        if self._framer is not None and uuid == self.profile.framed:
            dropped = self._framer.dropped
            frames = self._framer.feed(data)
            if self._framer.dropped > dropped:
                self._bad(DecodeError(uuid, b"", f"{self._framer.dropped - dropped} frame(s) "
                                      "too long to be a message, dropped"))
            for frame in frames:
                self.handle(uuid, frame)
            return
        self.handle(uuid, data)

    def handle(self, uuid: str, data: bytes | bytearray) -> None:
        """Decode one value, feed the trackers and queue the samples; bad bytes
        and impossible values are counted (``decode_errors``)."""
        at = self.clock()
        try:
            readings = self.decode(uuid, data)
            samples = [s for r in readings for s in self.translator.samples(r, at)]
        except (DecodeError, ImplausibleReading) as error:
            # ImplausibleReading: decoded, but no person could have caused it.
            self._bad(error)
            return
        for sample in samples:
            self.emit(sample)

    def _bad(self, error: DecodeError | ImplausibleReading) -> None:
        self.status.decode_errors += 1
        n = self.status.decode_errors
        if n <= DECODE_ERRORS_LOGGED or n % 100 == 0:
            logger.warning("%s: ignored a bad value (%d so far): %s", self.who, n, error)

    async def notify_watch(self, title: str, text: str) -> bool:
        """Show a prompt on this watch (the profile's ``alert``, else a New Alert);
        False (logged) when not connected or it failed."""
        client = self.client
        if client is None or not client.is_connected:
            logger.info("%s: not connected, prompt %r not shown on the watch", self.who, title)
            return False
        if self.profile.alert is not None:
            try:
                await self.profile.alert(self._control(client), title, text, self.clock())
            except (BleakError, OSError, TimeoutError) as error:
                logger.warning("%s: could not show prompt %r: %s", self.who, title,
                               describe(error).message)
                return False
            logger.debug("%s: prompt %r shown", self.who, title)
            return True
        char = client.services.get_characteristic(uuids.NEW_ALERT)
        if char is None:
            logger.warning("%s: no New Alert characteristic, prompt not shown", self.who)
            return False
        try:
            await asyncio.wait_for(
                client.write_gatt_char(char, encode_new_alert(title, text), response=True),
                self.timing.write_s,
            )
        except (BleakError, OSError, TimeoutError) as error:
            logger.warning(
                "%s: could not show prompt %r: %s", self.who, title, describe(error).message
            )
            return False
        logger.debug("%s: prompt %r shown", self.who, title)
        return True


async def _first(*waits: Coroutine[Any, Any, Any]) -> None:
    """Wait until the first of the given coroutines finishes; cancel the others."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
