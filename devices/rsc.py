"""Steps from a foot pod's cadence (pure, plain-data state).

An RSC foot pod reports cadence, not steps (ble-protocols.md §3.1), about once
a second while it moves. Steps are the integral of cadence over time: each
reported cadence holds until the next notification, so the steps between two
notifications are ``cadence * dt / 60``, times a per-device ``calibration``
(2.0 for a pod that reports strides rather than foot-falls; otherwise fitted
by walking a counted 100 steps).

A gap longer than ``max_gap_s`` between notifications is not integrated: the
pod was out of reach or asleep, and the last cadence says nothing about that
time. Fractions of a step are carried over, so no step is lost to rounding.
"""

from __future__ import annotations

from dataclasses import dataclass

from devices.samples import Cadence, StepDelta

DEFAULT_MAX_GAP_S = 5.0


@dataclass(frozen=True, slots=True)
class CadenceState:
    """The last notification's time and calibrated cadence, and the step fraction carried."""

    at: float | None = None
    steps_per_min: float = 0.0
    carry: float = 0.0

    def to_dict(self) -> dict[str, float | None]:
        """Plain data for storage (JSON-friendly)."""
        return {"at": self.at, "steps_per_min": self.steps_per_min, "carry": self.carry}

    @classmethod
    def from_dict(cls, data: dict[str, float | None]) -> CadenceState:
        """The state ``to_dict`` gave."""
        at = data.get("at")
        return cls(
            at=None if at is None else float(at),
            steps_per_min=float(data.get("steps_per_min") or 0.0),
            carry=float(data.get("carry") or 0.0),
        )


def integrate(
    state: CadenceState,
    cadence_spm: float,
    at: float,
    *,
    calibration: float = 1.0,
    max_gap_s: float = DEFAULT_MAX_GAP_S,
) -> tuple[CadenceState, int]:
    """Apply one cadence notification: the new state and the whole steps completed."""
    if cadence_spm < 0:
        raise ValueError(f"cadence is never negative (got {cadence_spm})")
    calibrated = cadence_spm * calibration
    carry = state.carry
    if state.at is not None and 0 < at - state.at <= max_gap_s:
        carry += state.steps_per_min * (at - state.at) / 60
    # Rounding a hair below a whole step (e.g. 0.9999999 from float sums) would
    # hold a step back until the next notification; a tiny epsilon avoids that.
    steps = int(carry + 1e-9)
    return CadenceState(at=at, steps_per_min=calibrated, carry=max(carry - steps, 0.0)), steps


class CadenceSteps:
    """Cadence samples and step deltas for one foot pod."""

    def __init__(
        self,
        device: str,
        *,
        calibration: float = 1.0,
        max_gap_s: float = DEFAULT_MAX_GAP_S,
        state: CadenceState | None = None,
    ) -> None:
        if calibration <= 0:
            raise ValueError(f"calibration must be positive (got {calibration})")
        self.device = device
        self.calibration = calibration
        self.max_gap_s = max_gap_s
        self.state = state if state is not None else CadenceState()

    def update(self, cadence_spm: float, at: float) -> tuple[Cadence, StepDelta | None]:
        """The cadence sample for one notification, and the steps it completes."""
        since = self.state.at
        self.state, steps = integrate(
            self.state, cadence_spm, at, calibration=self.calibration, max_gap_s=self.max_gap_s
        )
        cadence = Cadence(at=at, device=self.device, steps_per_min=self.state.steps_per_min)
        if steps <= 0:
            return cadence, None
        return cadence, StepDelta(at=at, device=self.device, steps=steps, since=since)

    def gap(self) -> None:
        """Forget the last cadence: the link dropped, so the next notification starts afresh."""
        self.state = CadenceState(carry=self.state.carry)
