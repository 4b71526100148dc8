"""The seconds before the mount was known, labelled again once it is.

A new thigh or waist sensor says ``unknown`` for every still second until its
wearer has walked ``reference.MIN_WALK_S`` seconds. What those seconds need to
be labelled later is small: each one's window features (gravity direction,
covariance, moving, periodic), about 100 bytes a second, not its samples.
``Unlabelled`` holds them, ``relabel`` gives their raw labels with the mount
learnt since, and ``revise`` the smoothed labels of a span that was already
given out, so a consumer (``pacer epochs``, the daemon's stored minutes) can
replace what it had. Steps are not revised: they were counted from the
stride, which needs no mount.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from devices.imu import classify, smooth
from devices.imu.classify import Features
from devices.imu.labels import Label

Float = NDArray[np.float64]
Codes = NDArray[np.int8]

MAX_UNLABELLED_S = 24 * 3600
"""Seconds kept for a revision (98 bytes each: 8.5 MB): older ones stay unknown."""


@dataclass(frozen=True, slots=True)
class Unlabelled:
    """Window features of consecutive seconds, from second ``start`` on."""

    start: int
    direction: Float
    """(n, 3) unit gravity direction."""
    cov: Float
    """(n, 3, 3) covariance, g^2."""
    moving: NDArray[np.bool_]
    periodic: NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.moving)

    @staticmethod
    def of(start: int, f: Features) -> Unlabelled:
        """The features a revision needs, from a run of seconds starting at ``start``."""
        return Unlabelled(start, f.direction, f.cov, f.moving, f.periodic)

    @staticmethod
    def join(parts: list[Unlabelled], limit: int = MAX_UNLABELLED_S) -> Unlabelled:
        """Consecutive parts as one, keeping the last ``limit`` seconds."""
        end = parts[-1].start + len(parts[-1])
        start = max(parts[0].start, end - limit)
        cut = start - parts[0].start

        def cat(arrays: list[NDArray[np.generic]]) -> NDArray[np.generic]:
            return np.concatenate(arrays)[cut:]

        return Unlabelled(start, np.asarray(cat([p.direction for p in parts]), np.float64),
                          np.asarray(cat([p.cov for p in parts]), np.float64),
                          np.asarray(cat([p.moving for p in parts]), np.bool_),
                          np.asarray(cat([p.periodic for p in parts]), np.bool_))


def relabel(seconds: Unlabelled, placement: str, up: Float, forward: Float) -> Codes:
    """Raw (unsmoothed) labels of ``seconds`` read against one mount reference.

    Parameters
    ----------
    seconds : Unlabelled
    placement : {"thigh", "waist"}
    up, forward : ndarray, shape (3,)
        The learnt unit upright and (thigh) forward axes.
    """
    n = len(seconds)
    f = Features(seconds.direction, seconds.cov, seconds.moving, seconds.periodic, None)
    ups, ready = np.broadcast_to(up, (n, 3)), np.ones(n, dtype=bool)
    if placement == "thigh":
        return classify.thigh(f, ups, np.broadcast_to(forward, (n, 3)), ready)
    if placement == "waist":
        return classify.waist(f, ups, ready)
    raise ValueError(f"only a thigh or a waist learns a mount, not a {placement!r}")


def revise(raw: Codes, given: int, carry: int = int(Label.UNKNOWN)) -> Codes:
    """The smoothed labels of the first ``given`` seconds of relabelled ``raw``.

    ``raw`` runs from the first second to revise to the newest second classified
    (at least ``smooth.LOOK`` past ``given`` on a stream, as the smoother waits
    that long); ``carry`` is the final label of the second before it.
    """
    return smooth.smooth_block(raw, carry)[:given]
