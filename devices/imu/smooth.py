"""Minimum bout lengths on per-second labels (Acti4: median filters of 2 b - 1).

For each label in ``PASSES`` with its minimum bout ``b`` seconds, a centred
window of ``2 b - 1`` seconds decides by majority: a second inside such a
majority takes the label (short gaps in a bout are filled), a second of that
label outside any majority is a blip, replaced at the end by the label before
it. Windows never reach past the data (the edges count as "not this label").

``Smoother`` does this on a stream: a second is final once ``LOOK`` seconds
after it have arrived (the passes chain, so their half windows add up), and
the result does not depend on how the stream was cut.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from devices.imu.labels import Label

Codes = NDArray[np.int8]
Ints = NDArray[np.int64]

PASSES: tuple[tuple[Label, int], ...] = (
    (Label.LYING, 5),
    (Label.SITTING, 5),
    (Label.STANDING, 2),
    (Label.WALKING, 2),
    (Label.RUNNING, 2),
    (Label.SEDENTARY, 5),
)
LOOK = sum(b - 1 for _, b in PASSES)
"""Seconds of context each side that decide a second's smoothed label."""


def _window_sum(ind: NDArray[np.bool_], half: int) -> Ints:
    """Sum of ``ind`` over the centred window ``[i - half, i + half]`` (zero outside)."""
    c = np.concatenate([np.zeros(half + 1, np.int64), np.cumsum(ind, dtype=np.int64),
                        np.full(half, int(ind.sum()), np.int64)])
    n = len(ind)
    out: Ints = c[2 * half + 1: 2 * half + 1 + n] - c[:n]
    return out


def passes(labels: Codes) -> tuple[Codes, NDArray[np.bool_]]:
    """The bout passes over a block, before blips are filled.

    Parameters
    ----------
    labels : ndarray of int8, shape (n,)
        Raw label codes.

    Returns
    -------
    labels : ndarray of int8, shape (n,)
        After the passes.
    blip : ndarray of bool, shape (n,)
        Seconds to take the label of the second before them.
    """
    out = labels.copy()
    blip = np.zeros(len(out), dtype=bool)
    for code, bout in PASSES:
        ind = out == code
        if not ind.any():
            continue
        majority = _window_sum(ind, bout - 1) >= bout
        out[majority] = code
        blip |= ind & ~majority
        blip &= ~majority
    return out, blip


def fill(labels: Codes, blip: NDArray[np.bool_], carry: int) -> Codes:
    """Each blip takes the label of the nearest second before it that is not one.

    ``carry`` is the final label of the second before the block.
    """
    if not blip.any():
        return labels
    idx = np.where(blip, -1, np.arange(len(labels)))
    last = np.maximum.accumulate(idx)
    filled = np.where(last >= 0, labels[np.maximum(last, 0)], carry)
    return np.where(blip, filled, labels).astype(np.int8)


def smooth_block(labels: Codes, carry: int = int(Label.UNKNOWN)) -> Codes:
    """Smoothed labels of a whole recording (shape (n,) int8 in and out)."""
    out, blip = passes(labels)
    return fill(out, blip, carry)


@dataclass(slots=True)
class Smoother:
    """Streaming ``smooth_block``: labels (and each second's steps) in, final seconds out."""

    _labels: Codes = field(default_factory=lambda: np.zeros(0, np.int8))
    _steps: Ints = field(default_factory=lambda: np.zeros(0, np.int64))
    _start: int = 0  # index in the buffers of the first second not yet final
    carry: int = int(Label.UNKNOWN)
    """The final label of the last second given out (the blips after it take it)."""

    def replace(self, labels: Codes) -> None:
        """Relabel the last ``len(labels)`` raw seconds pushed (those still kept: the
        seconds not final yet and the ones before them that decide their bouts)."""
        keep = min(len(labels), len(self._labels))
        if keep:
            self._labels = self._labels.copy()
            self._labels[len(self._labels) - keep:] = labels[len(labels) - keep:]

    def push(self, labels: Codes, steps: Ints, *, final: bool = False) -> tuple[Codes, Ints]:
        """Add seconds; return the labels and steps of the seconds now final.

        Parameters
        ----------
        labels : ndarray of int8, shape (s,)
        steps : ndarray of int64, shape (s,)
        final : bool
            No more seconds will come: every second is final.
        """
        lab = np.concatenate([self._labels, labels.astype(np.int8)])
        stp = np.concatenate([self._steps, steps.astype(np.int64)])
        end = len(lab) if final else max(self._start, len(lab) - LOOK)
        if end <= self._start:
            self._labels, self._steps = lab, stp
            return np.zeros(0, np.int8), np.zeros(0, np.int64)
        lo = max(0, self._start - LOOK)
        done, blip = passes(lab[lo:])
        cut = slice(self._start - lo, end - lo)
        out = fill(done[cut], blip[cut], self.carry)
        out_steps = stp[self._start: end]
        self.carry = int(out[-1])
        keep = max(0, end - LOOK)
        self._labels, self._steps = lab[keep:], stp[keep:]
        self._start = end - keep
        return out, out_steps
