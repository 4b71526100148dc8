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


@dataclass(frozen=True, slots=True)
class ActivityReport:
    """Steps a watch counted over an interval it names (Bangle.js ``act``).

    ``realtime``: steps since the watch's previous realtime report (``reset``
    when its counter restarted in between, so the count is unknown and 0);
    otherwise the steps of one 10-minute block, ending at ``end_ms`` (the
    watch's clock, unix milliseconds) when it says, else just now.
    """

    steps: int
    realtime: bool = False
    end_ms: int | None = None
    bpm: int | None = None
    movement: int | None = None
    activity: str | None = None
    reset: bool = False


@dataclass(frozen=True, slots=True)
class ChargeState:
    """Whether the wearable says it is on its charger."""

    charging: bool


@dataclass(frozen=True, slots=True)
class HistoryMark:
    """The start (``done`` False) or end of a history transfer, and its record count."""

    done: bool
    count: int | None = None


@dataclass(frozen=True, slots=True)
class LogRecords:
    """Minutes of a band's activity log, in order, each (raw kind, steps) (Huami)."""

    records: tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class LogMark:
    """A band's activity log transfer begins (``first``: its first minute, unix s,
    and ``count`` records) or ends (both None) (Huami)."""

    first: float | None = None
    count: int | None = None


Reading = (StepCount | Acceleration | HeartRateReading | RscReading | BatteryLevel
           | ActivityReport | ChargeState | HistoryMark | LogRecords | LogMark)
