"""Per-second raw labels by placement, from 2-s window features.

Thresholds (imu-algorithms.md):

* thigh, Acti4/ActiPASS (Skotte 2014): inclination to the walking reference
  > 45 degrees is sitting, and lying when the thigh is rolled about its long
  axis by more than 65 degrees (thigh-only lying rule); otherwise running when
  the SD along the long axis is > 0.72 g, walking when moving (SD > 0.1 g)
  with a periodic stride, else standing;
* waist, APE (Vähä-Ypyä 2018): angle to the walking gravity >= 64.9 degrees
  lying, >= 11.6 sitting, else standing; moving (SD > 0.1 g) while upright
  (APE < 11.6) is walking, as Acti4 takes an upright thigh that moves, and so
  is a periodic stride up to ``WAIST_GAIT_DEG`` (stairs, slopes: the trunk
  leans); running above ``WAIST_RUN_G`` along the upright axis;
* wrist: ENMO over the window < 44.8 mg (Hildebrand, sedentary) is
  ``sedentary`` (still; sitting or standing unknown), walking and running by
  periodicity, anything else ``unknown``. A wrist never says sit or stand.

Until the reference is learnt (``reference.MIN_WALK_S`` of walking) thigh and
waist seconds that are not walking or running are ``unknown`` (a waist that has
moved without a stride is read against a provisional upright: ``pipeline``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from devices.imu.labels import Label
from devices.imu.reference import cross_rows

Float = NDArray[np.float64]
Bools = NDArray[np.bool_]

SIT_DEG = 45.0
LIE_ROLL_DEG = 65.0
MOVE_G = 0.1
RUN_G = 0.72
APE_LIE_DEG = 64.9
APE_SIT_DEG = 11.6
WAIST_GAIT_DEG = 30.0
"""Waist: a periodic stride with the trunk leant up to this far from its walking
gravity is still walking (stairs and slopes lean it some 10-20 degrees); past it a
rhythm is not taken for a walk (a seated person rocking or pedalling)."""
WAIST_RUN_G = 0.414 / 0.798
"""Waist running: the SD whose mean amplitude deviation is 414 mg (6 MET at the hip,
Vähä-Ypyä 2015) for a normal signal (MAD = SD * sqrt(2 / pi))."""
WRIST_SEDENTARY_G = 0.0448
WRIST_RUN_ENMO_G = 0.4288


@dataclass(frozen=True, slots=True)
class Features:
    """Per-second features (arrays of shape (s,) unless said)."""

    direction: Float
    """(s, 3) unit gravity direction."""
    cov: Float
    """(s, 3, 3) covariance of the window's bins, g^2."""
    moving: Bools
    periodic: Bools
    enmo: Float | None
    """Mean ENMO in g (wrist only)."""


def _angle(a: Float, b: Float) -> Float:
    cos: Float = np.clip(np.einsum("ij,ij->i", a, b), -1.0, 1.0)
    return np.asarray(np.degrees(np.arccos(cos)), dtype=np.float64)


_cross = cross_rows  # the mount's own (np.cross to the bit, 5x faster)


def _sd_along(cov: Float, axis: Float) -> Float:
    """SD along each unit ``axis``: sqrt(a' C a), from the six distinct terms of the
    symmetric ``cov`` (six times faster than a three-operand einsum)."""
    x, y, z = axis[:, 0], axis[:, 1], axis[:, 2]
    var = (x * x * cov[:, 0, 0] + y * y * cov[:, 1, 1] + z * z * cov[:, 2, 2]
           + 2.0 * (x * y * cov[:, 0, 1] + x * z * cov[:, 0, 2] + y * z * cov[:, 1, 2]))
    return np.asarray(np.sqrt(np.maximum(var, 0.0)), dtype=np.float64)


def _gait(f: Features, sd_long: Float, run_g: float) -> tuple[Bools, Bools]:
    gait = f.moving & f.periodic
    return gait & (sd_long > run_g), gait & ~(sd_long > run_g)


def thigh(f: Features, up: Float, forward: Float, ready: Bools) -> NDArray[np.int8]:
    """Thigh labels (int8 codes of ``Label``), shape (s,)."""
    total = np.sqrt(np.trace(f.cov, axis1=1, axis2=2))
    sd_long = np.where(ready, _sd_along(f.cov, up), total)
    running, walking = _gait(f, sd_long, RUN_G)
    incl = _angle(f.direction, up)
    side = _cross(up, forward)
    g_fwd = np.einsum("ij,ij->i", f.direction, forward)
    g_side = np.einsum("ij,ij->i", f.direction, side)
    roll = np.degrees(np.arctan2(np.abs(g_side), np.abs(g_fwd)))
    out = np.full(len(total), Label.UNKNOWN, dtype=np.int8)
    out[ready] = Label.STANDING
    out[walking] = Label.WALKING
    out[running] = Label.RUNNING
    sit = ready & (incl > SIT_DEG)
    out[sit] = Label.SITTING
    out[sit & (roll > LIE_ROLL_DEG)] = Label.LYING
    return out


def waist(f: Features, up: Float, ready: Bools) -> NDArray[np.int8]:
    """Waist labels (APE), shape (s,)."""
    total = np.sqrt(np.trace(f.cov, axis1=1, axis2=2))
    sd_long = np.where(ready, _sd_along(f.cov, up), total)
    running, walking = _gait(f, sd_long, WAIST_RUN_G)
    ape = _angle(f.direction, up)
    out = np.full(len(total), Label.UNKNOWN, dtype=np.int8)
    out[ready] = Label.STANDING
    out[ready & (ape >= APE_SIT_DEG)] = Label.SITTING
    out[ready & (ape >= APE_LIE_DEG)] = Label.LYING
    # Ready, the angle decides what counts as gait; not ready, only a stride does.
    upright = ~ready | (ape < APE_SIT_DEG)
    stride = ~ready | (ape < WAIST_GAIT_DEG)
    out[(walking & stride) | (ready & f.moving & upright & ~running)] = Label.WALKING
    out[running & stride] = Label.RUNNING
    return out


def wrist(f: Features) -> NDArray[np.int8]:
    """Wrist labels: sedentary (still), walking, running or unknown, shape (s,)."""
    assert f.enmo is not None
    out = np.full(len(f.moving), Label.UNKNOWN, dtype=np.int8)
    out[f.enmo < WRIST_SEDENTARY_G] = Label.SEDENTARY
    gait = f.moving & f.periodic
    out[gait] = Label.WALKING
    out[gait & (f.enmo >= WRIST_RUN_ENMO_G)] = Label.RUNNING
    return out
