"""Virtual IMU wearables that stream acceleration from a scripted activity timeline.

    thigh = await world.add_witmotion(clock=clock.now)
    thigh.play([Segment("walking", 60, 110), Segment("sitting", 3000)])

``VirtualWitMotion`` is a BWT901BLE5.0-like sensor (ble-protocols.md §5.1):
it streams ``55 61`` packets on ``...ffe4`` once subscribed to, at the rate
set by ``FF AA 03 code`` on ``...ffe9`` after the unlock command, many
packets per notification and, with ``notify_bytes`` not a multiple of 20,
packets cut across notifications. ``VirtualPolar`` is a Polar H10-like PMD
sensor (§4): it answers GET_SETTINGS, START and STOP on the control point
and, once started, sends raw int16 ACC frames (type 0x01, mG; with
``factor``, delta-compressed 0x81 frames in units of ``factor`` mG, the
FACTOR announced in the start response) stamped in ns since 2000 by its
clock; a link loss stops it, as on the real sensor.

The signal comes from ``devices.imu.synth`` (the pipeline's test signals) in
the body frame of ``placement``, turned by ``rotation`` (the way the sensor
is strapped on). Time is the injected ``clock`` (an accelerated daemon clock
in tests): the sensor sends ``rate`` samples per clock second, in bursts every
``TICK_S`` real seconds, and sends nothing for the time it was not streaming.
After the last segment of a timeline the last activity goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import struct
import time
from collections.abc import Awaitable, Callable

import numpy as np
from bumble.device import Connection
from bumble.gatt import Characteristic, CharacteristicValue, Service
from bumble.link import LocalLink
from numpy.typing import NDArray

from devices import uuids
from devices.drivers import polar, witmotion
from devices.errors import DecodeError
from devices.imu.synth import NOISE_G, Segment, body_signal
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
    readable,
    write_only,
)

Float = NDArray[np.float64]
TICK_S = 0.05
"""Real seconds between bursts of notifications."""
MAX_NOTIFY = 244
"""ATT MTU 247 minus the 3-byte header: the longest notification."""
TURNED = np.array([[0.0, 0.0, 1.0], [0.0, -1.0, 0.0], [1.0, 0.0, 0.0]])
"""The default mount: the sensor's z along the thigh, y reversed (not the identity,
so the pipeline has to learn the orientation)."""
TABLE_NOISE_G = 0.003
"""A sensor laid on a table moves by its noise floor alone (a few mg)."""


class Timeline:
    """Activities from a clock time on; the signal of any run of samples."""

    def __init__(self, placement: str, rotation: Float, seed: int) -> None:
        self.placement = placement
        self.rotation = rotation
        self._rng = np.random.default_rng(seed)
        self._segments: list[tuple[float, Segment]] = [(-math.inf, Segment("sitting", 1.0))]
        self.off: list[tuple[float, float, tuple[float, float, float]]] = []
        """Clock times [start, end) the sensor lies still on a table, not worn, and
        which way up (gravity in its own axes)."""

    def play(self, segments: list[Segment], at: float) -> None:
        """From clock time ``at``, these activities (the timeline before ``at`` is kept)."""
        if not segments:
            raise ValueError("a timeline needs at least one segment")
        kept = [(t, s) for t, s in self._segments if t < at]
        edge = at
        for seg in segments:
            kept.append((edge, seg))
            edge += seg.seconds
        self._segments = kept

    def activity_at(self, t: float) -> Segment:
        current = self._segments[0][1]
        for start, seg in self._segments:
            if start > t:
                break
            current = seg
        return current

    def samples(self, times: Float) -> Float:
        """Acceleration (g, sensor axes) at clock ``times`` (increasing)."""
        out = np.empty((len(times), 3))
        starts = np.array([t for t, _ in self._segments])
        which = np.searchsorted(starts, times, side="right") - 1
        for k in np.unique(which):
            sel = which == k
            seg = self._segments[int(k)][1]
            out[sel] = body_signal(times[sel], seg.activity, seg.cadence_spm, self.placement)
        out += self._rng.normal(scale=NOISE_G, size=out.shape)
        out = out @ self.rotation.T
        for start, end, up in self.off:
            sel = (times >= start) & (times < end)
            if sel.any():
                out[sel] = up
                out[sel] += self._rng.normal(scale=TABLE_NOISE_G, size=(int(sel.sum()), 3))
        return np.asarray(out, dtype=np.float64)


class _Streamer:
    """Sends ``rate`` samples per clock second while ``active``, in real-time bursts."""

    def __init__(self, clock: Callable[[], float], rate: float,
                 send: Callable[[Float], Awaitable[None]]) -> None:
        self.clock, self.rate = clock, rate
        self._send = send
        self._next: float | None = None  # clock time of the next sample
        self._task: asyncio.Task[None] | None = None
        self.sent = 0
        self.busy = False  # a burst is being sent

    def caught_up(self) -> bool:
        """Whether every sample due by the clock has been sent (a lock-stepped
        demo moves the clock on only then); True while not streaming."""
        if self._task is None or self._next is None:
            return True
        return not self.busy and int((self.clock() - self._next) * self.rate) <= 0

    def start(self) -> None:
        if self._task is None:
            self._next = self.clock()
            self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            assert self._next is not None
            now = self.clock()
            n = int((now - self._next) * self.rate)
            if n <= 0:
                continue
            times = self._next + np.arange(n) / self.rate
            self._next += n / self.rate
            self.sent += n
            self.busy = True
            try:
                await self._send(times)
            finally:
                self.busy = False


class _ImuPeripheral(VirtualPeripheral):
    """What both virtual IMUs share: the timeline, the clock and the stream."""

    def __init__(self, link: LocalLink, *, address: str, name: str, services: list[Service],
                 advertisement: bytes, clock: Callable[[], float] | None, rate: float,
                 placement: str, rotation: Float | None, seed: int) -> None:
        self.clock = clock or time.time
        self.timeline = Timeline(placement, TURNED if rotation is None else rotation, seed)
        self.battery = 85
        self.streamer = _Streamer(self.clock, rate, self._send)
        self._tasks: set[asyncio.Future[None]] = set()
        super().__init__(link, name=name, address=address, services=services,
                         advertisement=advertisement)
        self.device.on("connection", self._on_connection)

    def play(self, segments: list[Segment], at: float | None = None) -> None:
        """From clock time ``at`` (default now, on the device clock), these activities."""
        self.timeline.play(segments, self.clock() if at is None else at)

    def take_off(self, seconds: float, at: float | None = None,
                 up: tuple[float, float, float] = (0.0, 0.0, 1.0)) -> None:
        """Taken off and laid still on a table from clock time ``at`` (default
        now) for ``seconds``, flat (``up``: gravity in the sensor's axes, z up by
        default); the timeline plays on underneath."""
        start = self.clock() if at is None else at
        self.timeline.off.append((start, start + seconds, up))

    async def _send(self, times: Float) -> None:
        raise NotImplementedError

    def _spawn(self, work: Awaitable[None]) -> None:
        """Run ``work`` from a bumble callback (which cannot await), keeping a reference."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_connection(self, connection: Connection) -> None:
        connection.on("disconnection", lambda _reason: self._spawn(self._link_down()))
        self._link_up()

    def _link_up(self) -> None:
        """A central connected."""

    async def _link_down(self) -> None:
        await self.streamer.stop()

    async def close(self) -> None:
        await self.streamer.stop()
        await super().close()


WITMOTION_PACKET = 20
"""Bytes of one ``55 61`` packet: one sample."""


def witmotion_packet(acc: Float) -> bytes:
    """One ``55 61`` packet for acceleration ``acc`` (g), no rotation rate, angles from gravity."""
    ax, ay, az = (float(v) for v in acc)
    roll = math.degrees(math.atan2(ay, az))
    pitch = math.degrees(math.atan2(-ax, math.hypot(ay, az)))

    def q(value: float, scale: float) -> int:
        return max(-32768, min(32767, round(value / scale)))

    return b"\x55\x61" + struct.pack(
        "<9h", q(ax, witmotion.ACC_G), q(ay, witmotion.ACC_G), q(az, witmotion.ACC_G),
        0, 0, 0, q(roll, witmotion.ANGLE_DEG), q(pitch, witmotion.ANGLE_DEG), 0)


class VirtualWitMotion(_ImuPeripheral):
    """A WitMotion BWT901BLE5.0-like IMU on a bumble link."""

    def __init__(self, link: LocalLink, *, address: str, name: str = "WT901BLE68",
                 clock: Callable[[], float] | None = None, placement: str = "thigh",
                 rotation: Float | None = None, notify_bytes: int = 240, seed: int = 0) -> None:
        self.commands: list[bytes] = []
        self.unlocked = False
        self.rate = witmotion.DEFAULT_RATE_HZ
        self.notify_bytes = notify_bytes
        self._pending = b""
        services = [
            Service(
                gatt_uuid(uuids.WITMOTION_SERVICE),
                [
                    Characteristic(gatt_uuid(uuids.WITMOTION_NOTIFY), NOTIFY, READABLE,
                                   not_readable()),
                    Characteristic(gatt_uuid(uuids.WITMOTION_WRITE), WRITE, WRITEABLE,
                                   write_only(self._command)),
                ],
            ),
            Service(
                gatt_uuid(uuids.BATTERY_SERVICE),
                [Characteristic(gatt_uuid(uuids.BATTERY_LEVEL), READ | NOTIFY, READABLE,
                                readable(lambda: bytes((self.battery,)), self))],
            ),
        ]
        super().__init__(link, address=address, name=name, services=services,
                         advertisement=advertising_data(name), clock=clock, rate=self.rate,
                         placement=placement, rotation=rotation, seed=seed)
        self.characteristic(uuids.WITMOTION_NOTIFY).on("subscription", self._subscribed)

    def _command(self, value: bytes) -> None:
        self.commands.append(value)
        if value == witmotion.UNLOCK:
            self.unlocked = True
        elif len(value) == 5 and value[:3] == bytes([0xFF, 0xAA, witmotion.RATE_REGISTER]):
            rates = {code: hz for hz, code in witmotion.RATE_CODES.items()}
            hz = rates.get(value[3])
            if self.unlocked and hz is not None:
                self.rate = hz
                self.streamer.rate = hz

    def _subscribed(self, _bearer: object, notify: bool, _indicate: bool) -> None:
        # Counted from the subscription: what was "sent" before it reached nobody.
        if notify:
            self._pending = b""
            self.streamer.start()

    @property
    def notified(self) -> int:
        """Samples in the notifications sent so far: the end of a burst waits
        for the next one to fill a notification."""
        return self.streamer.sent - -(-len(self._pending) // WITMOTION_PACKET)

    async def _send(self, times: Float) -> None:
        data = self._pending + b"".join(witmotion_packet(a) for a in self.timeline.samples(times))
        step = min(self.notify_bytes, MAX_NOTIFY)
        for i in range(0, len(data) - step + 1, step):
            if not self.connected:
                return  # the link went in the middle of a burst
            await self.notify(uuids.WITMOTION_NOTIFY, data[i: i + step])
        self._pending = data[len(data) - len(data) % step:]


H10_SETTINGS = bytes.fromhex("00 04 19 00 32 00 64 00 c8 00 01 01 10 00 02 03 02 00 04 00 08 00")
"""ACC settings as an H10 offers them: 25/50/100/200 Hz, 16 bit, +-2/4/8 g."""
FRAME_SAMPLES = (MAX_NOTIFY - 10) // 6
"""int16 x 3 samples in one frame that fits a notification."""
COMPRESSED_SAMPLES = 30
"""Samples in a delta-compressed frame: a reference and 29 deltas of up to 17 bits fit."""


def compressed_frame(timestamp_ns: int, samples: NDArray[np.int64]) -> bytes:
    """A delta-compressed ACC frame of type 0x81 (ble-protocols.md §4.3): the first
    sample as int16 x 3, then one block of the deltas, LSB first."""
    deltas = np.diff(samples, axis=0)
    biggest = int(np.abs(deltas).max()) if len(deltas) else 0
    width = max(biggest.bit_length() + 1, 1)  # two's complement, sign bit included
    stream = 0
    for n, value in enumerate(deltas.reshape(-1)):
        stream |= (int(value) & ((1 << width) - 1)) << (n * width)
    size = -(-width * deltas.size // 8)
    return (bytes([polar.ACC]) + struct.pack("<Q", timestamp_ns) + b"\x81"
            + struct.pack("<3h", *(int(v) for v in samples[0]))
            + bytes([width, len(deltas)]) + stream.to_bytes(size, "little"))


class VirtualPolar(_ImuPeripheral):
    """A Polar H10-like PMD accelerometer on a bumble link."""

    def __init__(self, link: LocalLink, *, address: str, name: str = "Polar H10 0A1B2C3D",
                 clock: Callable[[], float] | None = None, placement: str = "waist",
                 rotation: Float | None = None, settings: bytes = H10_SETTINGS,
                 factor: float | None = None, seed: int = 0) -> None:
        """``factor``: send delta-compressed frames (0x81) in units of ``factor`` mG, and
        announce the FACTOR in the start response, as a Verity Sense does."""
        self.commands: list[bytes] = []
        self.settings = settings
        self.factor = factor
        self.started: dict[int, tuple[float, ...]] | None = None
        services = [
            Service(
                gatt_uuid(uuids.PMD_SERVICE),
                [
                    Characteristic(gatt_uuid(uuids.PMD_CONTROL_POINT), READ | WRITE | NOTIFY,
                                   READABLE | WRITEABLE, self._control_value()),
                    Characteristic(gatt_uuid(uuids.PMD_DATA), NOTIFY, READABLE,
                                   not_readable()),
                ],
            ),
            Service(
                gatt_uuid(uuids.BATTERY_SERVICE),
                [Characteristic(gatt_uuid(uuids.BATTERY_LEVEL), READ | NOTIFY, READABLE,
                                readable(lambda: bytes((self.battery,)), self))],
            ),
        ]
        super().__init__(link, address=address, name=name, services=services,
                         advertisement=advertising_data(name), clock=clock, rate=25.0,
                         placement=placement, rotation=rotation, seed=seed)

    def _control_value(self) -> CharacteristicValue[bytes]:
        def write(_connection: Connection, value: bytes) -> None:
            self.commands.append(bytes(value))
            self._spawn(self._answer(bytes(value)))

        # Feature read: ECG and ACC (ble-protocols.md §4.2).
        return CharacteristicValue(read=lambda _connection: bytes([0x0F, 0x05, 0x00]),
                                   write=write)

    async def _reply(self, opcode: int, status: int, params: bytes = b"") -> None:
        await self.notify(uuids.PMD_CONTROL_POINT,
                          bytes([polar.RESPONSE, opcode, polar.ACC, status, 0]) + params)

    async def _answer(self, command: bytes) -> None:
        opcode = command[0] if command else 0
        if len(command) < 2 or command[1] != polar.ACC:
            await self._reply(opcode, 2)  # invalid measurement type
        elif opcode == polar.GET_SETTINGS:
            await self._reply(opcode, 0, self.settings)
        elif opcode == polar.START:
            (status,) = self._start(command[2:])
            params = b""
            if status == 0 and self.factor is not None:
                params = bytes([polar.FACTOR, 1]) + struct.pack("<f", self.factor)
            await self._reply(opcode, status, params)
        elif opcode == polar.STOP:
            await self.streamer.stop()
            self.started = None
            await self._reply(opcode, 0)
        else:
            await self._reply(opcode, 1)  # invalid opcode

    def _start(self, tlvs: bytes) -> tuple[int]:
        if self.started is not None:
            return (6,)  # already in state
        try:
            asked = polar.decode_settings(tlvs)
            offered = polar.decode_settings(self.settings)
        except DecodeError:
            return (5,)  # invalid parameter
        for kind, status in ((polar.SAMPLE_RATE, 8), (polar.RESOLUTION, 7), (polar.RANGE, 9)):
            value = asked.get(kind)
            if value is None or len(value) != 1 or value[0] not in offered.get(kind, ()):
                return (status,)
        self.started = asked
        self.streamer.rate = asked[polar.SAMPLE_RATE][0]
        self.streamer.start()
        return (0,)

    async def _link_down(self) -> None:
        self.started = None  # the sensor stops streaming when the link goes
        await super()._link_down()

    async def _send(self, times: Float) -> None:
        acc = self.timeline.samples(times)
        if self.factor is not None:
            units = np.round(acc * 1000 / self.factor).astype(np.int64)
            for i in range(0, len(times), COMPRESSED_SAMPLES):
                block = units[i: i + COMPRESSED_SAMPLES]
                last = float(times[i + len(block) - 1])
                ts = max(round((last - polar.EPOCH_2000_UNIX_S) * 1e9), 0)
                if not self.connected:
                    return
                await self.notify(uuids.PMD_DATA, compressed_frame(ts, block))
            return
        for i in range(0, len(times), FRAME_SAMPLES):
            part = acc[i: i + FRAME_SAMPLES]
            ts = round((float(times[i + len(part) - 1]) - polar.EPOCH_2000_UNIX_S) * 1e9)
            mg = np.clip(np.round(part * 1000), -32768, 32767).astype("<i2")
            frame = bytes([polar.ACC]) + struct.pack("<Q", max(ts, 0)) + b"\x01" + mg.tobytes()
            if not self.connected:
                return
            await self.notify(uuids.PMD_DATA, frame)
