"""What the decoders return: one characteristic value, in physical units.

Readings are what the bytes say, nothing more: they carry no time and no
device (a decoder is a pure function of the bytes). The connection manager
stamps them and turns them into ``devices.samples`` (a daily step counter
reading becomes a ``StepDelta`` through ``devices.counter``, a cadence through
``devices.rsc``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StepCount:
    """InfiniTime's step counter: steps *today*, as the watch counts them."""

    total: int


@dataclass(frozen=True, slots=True)
class Acceleration:
    """Acceleration in g along the device's X, Y and Z axes."""

    x: float
    y: float
    z: float


@dataclass(frozen=True, slots=True)
class HeartRateReading:
    """A Heart Rate Measurement (0x2A37).

    ``contact`` is None when the sensor does not support contact detection;
    ``rr_s`` are the RR intervals in seconds, oldest first.
    """

    bpm: int
    contact: bool | None = None
    energy_kj: int | None = None
    rr_s: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class RscReading:
    """An RSC Measurement (0x2A53): speed in m/s, cadence in 1/min as sent."""

    speed_mps: float
    cadence_spm: int
    running: bool
    stride_m: float | None = None
    distance_m: float | None = None


@dataclass(frozen=True, slots=True)
class BatteryLevel:
    """Battery Level (0x2A19), 0..100 %."""

    percent: int


Reading = StepCount | Acceleration | HeartRateReading | RscReading | BatteryLevel
