"""Per-second activity labels, stored as small integer codes in arrays."""

from __future__ import annotations

from enum import IntEnum

import numpy as np
from numpy.typing import NDArray


class Label(IntEnum):
    """What one second was. ``SEDENTARY`` is the wrist's "still" (sit or stand unknown)."""

    UNKNOWN = 0
    SITTING = 1
    LYING = 2
    STANDING = 3
    WALKING = 4
    RUNNING = 5
    SEDENTARY = 6


LABELS: tuple[str, ...] = tuple(label.name.lower() for label in Label)
"""Label names by code: ``LABELS[Label.SITTING] == "sitting"``."""


def majority(codes: NDArray[np.int8]) -> Label:
    """The most frequent label of a run of seconds (ties: the lower code; none: unknown).

    Parameters
    ----------
    codes : ndarray of int8, shape (n,)
    """
    if len(codes) == 0:
        return Label.UNKNOWN
    counts = np.bincount(codes.astype(np.int64), minlength=len(Label))
    return Label(int(np.argmax(counts)))
