"""Per device kind: what to subscribe to, what to read after each connect, and how
readings become samples.

``Profile`` is static data per kind. ``Translator`` holds one device's
trackers (the step counter for InfiniTime, cadence integration for a foot pod)
and turns each decoded reading into the samples the daemon gets.

Some devices stream only once told to: ``Profile.start`` runs after
subscribing, through a ``Control`` (writes, and the replies notified on a
control characteristic), and returns the acceleration rate now in force (and,
for Polar, a decoder with the FACTOR the sensor announced);
``Profile.stop`` runs before a clean disconnect. WitMotion is set to
``WITMOTION_RATE_HZ``; a Polar sensor is asked for its ACC settings and
started at the lowest rate the IMU pipeline can use, then stopped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import tzinfo
from typing import Protocol

from bleak.exc import BleakError

from devices import uuids
from devices.counter import CounterState, StepCounter
from devices.drivers import DECODERS, Decoder, polar, witmotion
from devices.errors import DecodeError, DeviceError
from devices.readings import (
    Acceleration,
    BatteryLevel,
    HeartRateReading,
    Reading,
    RscReading,
    StepCount,
)
from devices.rsc import CadenceState, CadenceSteps
from devices.samples import Battery, HeartRate, Motion, Sample

WITMOTION_RATE_HZ = 10.0
"""The IMU pipeline works on 10 Hz bins: more samples would only cost radio time."""
POLAR_MIN_RATE_HZ = 10.0
POLAR_RANGE_G = 8
REPLY_TIMEOUT_S = 5.0


class SetupError(DeviceError, BleakError):
    """A device refused or ignored the commands that make it stream (logged, retried)."""


class Control(Protocol):
    """What a profile's start and stop hooks may do on the connected device."""

    async def write(self, uuid: str, value: bytes) -> None:
        """Write with response."""
        ...

    async def reply(self, timeout_s: float) -> bytes:
        """The next notification on the profile's ``replies`` characteristic."""
        ...


@dataclass(frozen=True, slots=True)
class Started:
    """What a start hook set up: the acceleration rate, and a decoder for this session."""

    rate_hz: float | None = None
    decode: Decoder | None = None
    """Replaces the profile's decoder until the link goes (None: the profile's)."""


Start = Callable[[Control], Awaitable[Started]]
Stop = Callable[[Control], Awaitable[None]]


async def _witmotion_start(control: Control) -> Started:
    # Unlocked, the rate applies until power off; not saved, so the flash is
    # not rewritten at every connect.
    await control.write(uuids.WITMOTION_WRITE, witmotion.UNLOCK)
    await control.write(uuids.WITMOTION_WRITE, witmotion.encode_rate(WITMOTION_RATE_HZ))
    return Started(WITMOTION_RATE_HZ)


async def _polar_reply(control: Control, opcode: int) -> polar.ControlResponse:
    """The response to ``opcode`` (with its continuation packets), or SetupError."""
    try:
        async with asyncio.timeout(REPLY_TIMEOUT_S):
            while True:
                response = polar.decode_control(await control.reply(REPLY_TIMEOUT_S))
                if response.stopped:
                    continue  # a stop notice from before the start
                params = response.params
                while response.more:
                    more = await control.reply(REPLY_TIMEOUT_S)
                    params += more[5:]
                    response = polar.decode_control(more)
                if response.opcode == opcode:
                    break
    except TimeoutError:
        raise SetupError(f"no PMD response to command {opcode} within "
                         f"{REPLY_TIMEOUT_S:g} s") from None
    if response.status != 0:
        raise SetupError(f"PMD command {opcode} refused with status {response.status}")
    return polar.ControlResponse(response.opcode, response.measurement, response.status,
                                 False, params)


def choose_polar_settings(offered: Mapping[int, tuple[float, ...]]) -> tuple[int, int, int]:
    """Rate, resolution and range to start ACC with, from the settings offered.

    The lowest rate of at least ``POLAR_MIN_RATE_HZ`` (the fastest when none is),
    16 bits when offered, ``POLAR_RANGE_G`` when offered, else the widest range.
    """
    rates = sorted(int(r) for r in offered.get(polar.SAMPLE_RATE, ()))
    if not rates:
        raise SetupError("the sensor offers no ACC sample rate")
    usable = [r for r in rates if r >= POLAR_MIN_RATE_HZ]
    rate = usable[0] if usable else rates[-1]
    resolutions = [int(r) for r in offered.get(polar.RESOLUTION, (16,))]
    resolution = 16 if 16 in resolutions else resolutions[0]
    ranges = sorted(int(r) for r in offered.get(polar.RANGE, (POLAR_RANGE_G,)))
    range_g = POLAR_RANGE_G if POLAR_RANGE_G in ranges else ranges[-1]
    return rate, resolution, range_g


async def _polar_start(control: Control) -> Started:
    await control.write(uuids.PMD_CONTROL_POINT, polar.encode_get_settings())
    got = await _polar_reply(control, polar.GET_SETTINGS)
    try:
        offered = polar.decode_settings(got.params)
    except DecodeError as error:
        raise SetupError(f"unreadable ACC settings: {error}") from None
    rate, resolution, range_g = choose_polar_settings(offered)
    channels = 3 if polar.CHANNELS in offered else None
    await control.write(uuids.PMD_CONTROL_POINT,
                        polar.encode_start(rate, resolution, range_g, channels))
    started = await _polar_reply(control, polar.START)
    # The response may carry the FACTOR that compressed frames are scaled by.
    try:
        factor = polar.decode_settings(started.params).get(polar.FACTOR, ())
    except DecodeError:
        factor = ()
    if factor and factor[0] > 0 and factor[0] != 1.0:
        return Started(float(rate), polar.decoder(factor[0]))
    return Started(float(rate))


async def _polar_stop(control: Control) -> None:
    await control.write(uuids.PMD_CONTROL_POINT, polar.encode_stop())


@dataclass(frozen=True, slots=True)
class Profile:
    """How to talk to one kind of device."""

    kind: str
    decode: Decoder
    notify: tuple[str, ...]
    """Characteristics to subscribe to, in order; those missing on a device are skipped..."""
    required: frozenset[str]
    """...except these: without them the device is not what the config says it is."""
    read_after_connect: tuple[str, ...]
    """Read after every (re)connect: notifications only come on change."""
    start: Start | None = None
    """Run after subscribing; says the acceleration rate in force (Hz) and may give
    the session's decoder."""
    stop: Stop | None = None
    """Run before a clean disconnect."""
    replies: str | None = None
    """The characteristic whose notifications ``Control.reply`` returns."""
    stream: str | None = None
    """A characteristic whose notifications are a byte stream cut anywhere: they
    go through ``witmotion.Reassembler`` before decoding."""
    rate_hz: float | None = None
    """The acceleration rate the device sends at when ``start`` does not say."""
    experimental: bool = False
    """The protocol notes are unconfirmed on a real device (logged at connect)."""


PROFILES: dict[str, Profile] = {
    "infinitime": Profile(
        kind="infinitime",
        decode=DECODERS["infinitime"],
        notify=(
            uuids.STEP_COUNT,
            uuids.HEART_RATE_MEASUREMENT,
            uuids.BATTERY_LEVEL,
            # Also keeps InfiniTime <= 1.15 counting steps while its screen is off
            # (ble-protocols.md §1.1, issue #2271).
            uuids.RAW_MOTION,
        ),
        required=frozenset({uuids.STEP_COUNT}),
        read_after_connect=(uuids.STEP_COUNT, uuids.BATTERY_LEVEL),
    ),
    "rsc": Profile(
        kind="rsc",
        decode=DECODERS["rsc"],
        notify=(uuids.RSC_MEASUREMENT, uuids.BATTERY_LEVEL),
        required=frozenset({uuids.RSC_MEASUREMENT}),
        read_after_connect=(uuids.BATTERY_LEVEL,),
    ),
    "heart_rate": Profile(
        kind="heart_rate",
        decode=DECODERS["heart_rate"],
        notify=(uuids.HEART_RATE_MEASUREMENT, uuids.BATTERY_LEVEL),
        required=frozenset({uuids.HEART_RATE_MEASUREMENT}),
        read_after_connect=(uuids.BATTERY_LEVEL,),
    ),
    "witmotion": Profile(
        kind="witmotion",
        decode=DECODERS["witmotion"],
        notify=(uuids.WITMOTION_NOTIFY, uuids.BATTERY_LEVEL),
        required=frozenset({uuids.WITMOTION_NOTIFY, uuids.WITMOTION_WRITE}),
        read_after_connect=(uuids.BATTERY_LEVEL,),
        start=_witmotion_start,
        stream=uuids.WITMOTION_NOTIFY,
        rate_hz=witmotion.DEFAULT_RATE_HZ,
    ),
    "polar": Profile(
        kind="polar",
        decode=DECODERS["polar"],
        # The SDK enables both before any command (ble-protocols.md §4.1).
        notify=(uuids.PMD_CONTROL_POINT, uuids.PMD_DATA, uuids.HEART_RATE_MEASUREMENT,
                uuids.BATTERY_LEVEL),
        required=frozenset({uuids.PMD_CONTROL_POINT, uuids.PMD_DATA}),
        read_after_connect=(uuids.BATTERY_LEVEL,),
        start=_polar_start,
        stop=_polar_stop,
        replies=uuids.PMD_CONTROL_POINT,
    ),
    "pams": Profile(
        kind="pams",
        decode=DECODERS["pams"],
        notify=(uuids.PAMS_STEP_COUNTER_SUMMARY, uuids.PAMS_GENERAL_ACTIVITY_INSTANTANEOUS,
                uuids.BATTERY_LEVEL),
        required=frozenset({uuids.PAMS_STEP_COUNTER_SUMMARY}),
        read_after_connect=(uuids.BATTERY_LEVEL,),
        experimental=True,
    ),
}


class Translator:
    """One device's readings -> samples, with its step tracker."""

    def __init__(
        self,
        label: str,
        kind: str,
        *,
        zone: tzinfo,
        calibration: float = 1.0,
        counter_state: CounterState | None = None,
        cadence_state: CadenceState | None = None,
    ) -> None:
        self.label = label
        self.counter = (
            StepCounter(label, zone=zone, state=counter_state, who=f"{kind} {label}")
            if kind in ("infinitime", "pams")
            else None
        )
        self.cadence = (
            CadenceSteps(label, calibration=calibration, state=cadence_state)
            if kind == "rsc"
            else None
        )

    def samples(self, reading: Reading, at: float) -> list[Sample]:
        """The samples one reading gives (possibly none)."""
        match reading:
            case StepCount(total) if self.counter is not None:
                delta = self.counter.update(total, at)
                return [] if delta is None else [delta]
            case Acceleration(x, y, z):
                return [Motion(at=at, device=self.label, x=x, y=y, z=z)]
            case HeartRateReading(bpm, contact):
                # 0 means "not measuring" (InfiniTime outside its HR app), not a heart
                # rate; but a strap that says it has no skin contact is heard (not worn).
                if bpm == 0 and contact is not False:
                    return []
                return [HeartRate(at=at, device=self.label, bpm=bpm, contact=contact)]
            case RscReading(cadence_spm=spm) if self.cadence is not None:
                cadence, delta = self.cadence.update(spm, at)
                return [cadence] if delta is None else [cadence, delta]
            case BatteryLevel(percent):
                return [Battery(at=at, device=self.label, percent=percent)]
            case _:
                return []

    def link_lost(self) -> None:
        """The link dropped: cadence must not be integrated across the gap."""
        if self.cadence is not None:
            self.cadence.gap()
