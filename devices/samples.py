"""What wearables produce, as frozen values for the daemon.

Every sample carries ``at`` (unix seconds, from the clock injected into the
connection manager, never read here) and ``device`` (the stable label of the
device it came from: its configured address, or its name when no address is
configured). Samples are plain values: the daemon may store, compare and
replay them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StepDelta:
    """New steps since the previous ``StepDelta`` of this device; never negative.

    Steps the device counted while it was out of reach arrive as one delta when
    it reconnects, stamped with the reconnect time. ``since`` is the time of the
    reading before, so the steps were taken in (``since``, ``at``]; None when
    that is not known (the first reading of a device, or a count from zero
    after a reboot or the daily reset).
    """

    at: float
    device: str
    steps: int
    since: float | None = None

    def __post_init__(self) -> None:
        if self.steps < 0:
            raise ValueError(f"a step delta is never negative (got {self.steps})")


@dataclass(frozen=True, slots=True)
class Cadence:
    """Instantaneous cadence, in steps (foot-falls) per minute, as calibrated."""

    at: float
    device: str
    steps_per_min: float


@dataclass(frozen=True, slots=True)
class HeartRate:
    """Heart rate in beats per minute, and the sensor's skin contact.

    ``contact`` is the Heart Rate Measurement's sensor contact status (flags
    bit 1) when the sensor supports it (bit 2), else None. A strap without skin
    contact may send ``bpm`` 0: it is not worn, and says so.
    """

    at: float
    device: str
    bpm: int
    contact: bool | None = None


@dataclass(frozen=True, slots=True)
class Battery:
    """Battery level, 0..100 %."""

    at: float
    device: str
    percent: int


@dataclass(frozen=True, slots=True)
class Motion:
    """One acceleration reading in g, in the device's own axes."""

    at: float
    device: str
    x: float
    y: float
    z: float


@dataclass(frozen=True, slots=True)
class Link:
    """The device connected (``connected=True``) or its link ended, and why."""

    at: float
    device: str
    connected: bool
    reason: str


@dataclass(frozen=True, slots=True)
class Charging:
    """The wearable said it is on its charger (``charging``) or came off it."""

    at: float
    device: str
    charging: bool


@dataclass(frozen=True, slots=True)
class NotWornRun:
    """The wearable's own record says it was not worn (off the wrist, or on the
    charger) from ``start`` to ``end`` (unix s, whole minutes), with no steps;
    told at ``at``, after the fact (a Huami band's activity log)."""

    at: float
    device: str
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class SleepRun:
    """The wearable's own record says its wearer slept from ``start`` to ``end``
    (unix s, whole minutes), with no steps; told at ``at``, after the fact (a
    Huami band's activity log, a Bangle.js block its Sleep Log app marked)."""

    at: float
    device: str
    start: float
    end: float


Sample = (StepDelta | Cadence | HeartRate | Battery | Motion | Link | Charging | NotWornRun
          | SleepRun)
"""Any sample the connection manager puts on its queue."""
