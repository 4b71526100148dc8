"""Stage 1: samples to 10 Hz bin means, whole seconds at a time.

Each second is cut into ``bins_per_second`` bins (10, or the rate itself for
whole rates below 10 Hz) and each bin is replaced by the mean of its samples:
a boxcar low-pass with its first zero at 10 Hz, the cheap stand-in for
Acti4's 5 Hz Butterworth (imu-algorithms.md §1). Everything after this stage
works on the bins, so the cost per sample is one ``np.add.reduceat``.

Sample ``i`` (counted from the first sample ever given) is at ``i / rate`` s and
falls in bin ``floor(i * B / rate)``; with ``rate = p / q`` this is computed in
integers, so a chunk boundary never moves a sample into another bin.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
from numpy.typing import NDArray

BINS_PER_SECOND = 10
Float = NDArray[np.float64]


def bins_per_second(rate: float) -> int:
    """Bins per second for a sampling rate in Hz.

    Raises
    ------
    ValueError
        For a rate below 1 Hz, or a rate below 10 Hz that is not a whole number.
    """
    if not np.isfinite(rate) or rate < 1:
        raise ValueError(f"the sampling rate must be at least 1 Hz (got {rate})")
    if rate >= BINS_PER_SECOND:
        return BINS_PER_SECOND
    if rate != int(rate):
        raise ValueError(f"a sampling rate below 10 Hz must be a whole number (got {rate})")
    return int(rate)


@dataclass(slots=True)
class Binner:
    """Streaming stage 1: push samples, get the bins of every second completed.

    Parameters
    ----------
    rate : float
        Sampling rate in Hz (>= 1; whole below 10 Hz).
    wrist : bool
        Also keep each bin's mean ENMO, ``max(0, |a| - 1)`` in g, from the raw samples.
    """

    rate: float
    wrist: bool = False
    bins: int = 0
    _p: int = 0
    _q: int = 1
    _consumed: int = 0  # samples taken into completed seconds
    _seconds: int = 0  # seconds completed
    _left: Float = field(default_factory=lambda: np.empty((0, 3)))

    def __post_init__(self) -> None:
        self.bins = bins_per_second(self.rate)
        frac = Fraction(self.rate).limit_denominator(1000)
        self._p, self._q = frac.numerator, frac.denominator

    def _first_sample(self, second: int) -> int:
        """Index of the first sample of ``second``: ceil(second * rate)."""
        return -(-second * self._p // self._q)

    def push(self, xyz: Float) -> tuple[Float, Float | None]:
        """Add samples; return the bins of the seconds they complete.

        Parameters
        ----------
        xyz : ndarray, shape (n, 3)
            Acceleration in g, in time order, continuing the previous push.

        Returns
        -------
        means : ndarray, shape (s, bins, 3)
            Mean acceleration (g) per bin of each of the ``s`` seconds completed (any
            strides: at a whole number of samples per bin, a view of the bins laid out
            axis by axis, so ``means.transpose(2, 0, 1)`` is contiguous).
        enmo : ndarray, shape (s, bins) or None
            Mean ENMO (g) per bin; only for ``wrist``.
        """
        new = np.ascontiguousarray(np.asarray(xyz, dtype=np.float64).reshape(-1, 3))
        buf = np.concatenate([self._left, new]) if len(self._left) else new
        total = self._consumed + len(buf)
        # Seconds whose samples have all arrived: ceil(s * p / q) <= total.
        done = total * self._q // self._p
        return self._cut(buf, done)

    def flush(self) -> tuple[Float, Float | None]:
        """Bins of the last, incomplete second (dropped when under half full)."""
        buf = self._left
        need = self._first_sample(self._seconds + 1) - self._consumed
        if len(buf) == 0 or len(buf) * 2 < need:
            self._left = np.empty((0, 3))
            return np.empty((0, self.bins, 3)), (np.empty((0, self.bins)) if self.wrist else None)
        # Repeat the last sample to complete the second.
        pad = np.repeat(buf[-1:], need - len(buf), axis=0)
        return self._cut(np.concatenate([buf, pad]), self._seconds + 1)

    def _cut(self, buf: Float, done: int) -> tuple[Float, Float | None]:
        n_sec = done - self._seconds
        b = self.bins
        if n_sec <= 0:
            self._left = buf
            return np.empty((0, b, 3)), (np.empty((0, b)) if self.wrist else None)
        end = self._first_sample(done) - self._consumed
        take = buf[:end]
        if self._q == 1 and self._p % b == 0 and not self.wrist:
            # A whole number of samples per bin (50 Hz: 5): the bins are a reshape. They
            # are stored axis by axis (what the features read), given as a view.
            k = self._p // b
            axes = np.empty((3, n_sec * b))  # C order (einsum's own output need not be)
            np.einsum("nki->in", take.reshape(n_sec * b, k, 3), out=axes)
            axes /= k
            self._left = buf[end:].copy()
            self._consumed += end
            self._seconds = done
            return axes.reshape(3, n_sec, b).transpose(1, 2, 0), None
        edges = np.arange(self._seconds * b, done * b, dtype=np.int64)
        starts = -(-edges * self._p // (self._q * b)) - self._consumed
        counts = np.diff(np.append(starts, end)).astype(np.float64)
        means = np.add.reduceat(take, starts, axis=0) / counts[:, None]
        enmo = None
        if self.wrist:
            vm = np.sqrt(np.einsum("ij,ij->i", take, take))
            enmo = (np.add.reduceat(np.maximum(vm - 1.0, 0.0), starts) / counts).reshape(n_sec, b)
        self._left = buf[end:].copy()  # not a view: the caller's array may be large
        self._consumed += end
        self._seconds = done
        return means.reshape(n_sec, b, 3), enmo
