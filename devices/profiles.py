"""Per device kind: what to subscribe to, what to read after each connect, and how
readings become samples.

``Profile`` is static data per kind. ``Translator`` holds one device's
trackers (the step counter for InfiniTime, cadence integration for a foot pod)
and turns each decoded reading into the samples the daemon gets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

from devices import uuids
from devices.counter import CounterState, StepCounter
from devices.drivers import DECODERS, Decoder
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
            if kind == "infinitime"
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
            case HeartRateReading(bpm):
                # 0 means "not measuring" (InfiniTime outside its HR app), not a heart rate.
                return [] if bpm == 0 else [HeartRate(at=at, device=self.label, bpm=bpm)]
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
