"""Synthetic labelled acceleration for tests, virtual wearables and the benchmark.

Not a model of anyone's gait: a stylised signal with the features the
pipeline uses. In the body frame of each placement (axes: long/vertical,
forward, side), a still sensor reads +1 g along "up"; walking swings the
thigh +-20 degrees about the side axis once per stride (a wrist +-25 degrees)
and adds a vertical bounce once per step (0.25 g; running: 35 degrees and 1.2 g at
the thigh, 0.9 g elsewhere). ``rotation`` turns the body frame into the sensor's axes (a sensor
strapped on upside down or turned), and a little noise is added.

Activities: ``sitting lying standing walking running``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from devices.imu.labels import Label

Float = NDArray[np.float64]

ACTIVITIES: tuple[str, ...] = ("sitting", "lying", "standing", "walking", "running")
NOISE_G = 0.01

# "Up" in the body frame (long/vertical, forward, side) per placement and still posture.
_UP: dict[str, dict[str, tuple[float, float, float]]] = {
    "thigh": {"standing": (1, 0, 0), "sitting": (0, 1, 0), "lying": (0, 0.2, 0.98)},
    "waist": {"standing": (1, 0, 0), "sitting": (0.8, 0.6, 0), "lying": (0, 1, 0)},
    "wrist": {"standing": (-0.9, 0.3, 0.3), "sitting": (-0.2, 0.3, 0.93),
              "lying": (0, 0, 1)},
}


@dataclass(frozen=True, slots=True)
class Segment:
    """``seconds`` of one activity; ``cadence_spm`` steps/min for walking and running."""

    activity: str
    seconds: float
    cadence_spm: float = 0.0

    def __post_init__(self) -> None:
        if self.activity not in ACTIVITIES:
            raise ValueError(f"activity must be one of {', '.join(ACTIVITIES)}")


def random_rotation(rng: np.random.Generator) -> Float:
    """A uniformly random proper rotation matrix, shape (3, 3)."""
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return np.asarray(q, dtype=np.float64)


def body_signal(t: Float, activity: str, cadence_spm: float, placement: str) -> Float:
    """Noise-free body-frame acceleration (g), shape (len(t), 3), at times ``t`` (s)."""
    n = len(t)
    if activity in ("walking", "running"):
        stride_hz = cadence_spm / 120.0
        run = activity == "running"
        swing = np.radians(35.0 if run else 20.0) * np.sin(2 * np.pi * stride_hz * t)
        amp = (1.2 if placement == "thigh" else 0.9) if run else 0.25
        bounce = amp * np.sin(2 * np.pi * 2 * stride_hz * t)
        out = np.zeros((n, 3))
        if placement == "thigh":
            out[:, 0], out[:, 1] = np.cos(swing), np.sin(swing)
        elif placement == "waist":
            out[:, 0], out[:, 1] = 1.0, 0.15 * np.sin(2 * np.pi * 2 * stride_hz * t + 1.0)
        else:
            base = np.array(_UP["wrist"]["standing"])
            wide = 1.25 * swing
            out[:] = base
            out[:, 0] = base[0] * np.cos(wide) - base[1] * np.sin(wide)
            out[:, 1] = base[0] * np.sin(wide) + base[1] * np.cos(wide)
        out[:, 0] += bounce
        return out
    up = np.array(_UP[placement][activity], dtype=np.float64)
    return np.tile(up / np.linalg.norm(up), (n, 1))


def synthesise(segments: list[Segment], rate: float, placement: str, *,
               rotation: Float | None = None, seed: int = 0) -> tuple[Float, NDArray[np.int8]]:
    """Samples and the true label of each whole second.

    Parameters
    ----------
    segments : list of Segment
    rate : float
        Sampling rate, Hz.
    placement : {"thigh", "waist", "wrist"}
    rotation : ndarray, shape (3, 3), optional
        Body frame to sensor axes (default: identity).
    seed : int

    Returns
    -------
    xyz : ndarray, shape (n, 3)
        Acceleration in g in the sensor's axes.
    truth : ndarray of int8, shape (seconds,)
        ``Label`` code of the activity at the start of each second.
    """
    rng = np.random.default_rng(seed)
    total = sum(s.seconds for s in segments)
    n = int(total * rate)
    t = np.arange(n) / rate
    out = np.empty((n, 3))
    truth = np.empty(int(total), dtype=np.int8)
    edge = 0.0
    for seg in segments:
        lo, hi = np.searchsorted(t, [edge, edge + seg.seconds])
        out[lo:hi] = body_signal(t[lo:hi], seg.activity, seg.cadence_spm, placement)
        truth[int(np.ceil(edge)): int(np.ceil(edge + seg.seconds))] = Label[seg.activity.upper()]
        edge += seg.seconds
    out += rng.normal(scale=NOISE_G, size=out.shape)
    if rotation is not None:
        out = out @ rotation.T
    return out, truth
