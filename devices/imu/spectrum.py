"""Cadence from the spectrum of a few seconds of bins (rotation invariant).

The spectrum of each window is the sum over the three axes of the power of
the detrended, Hann-tapered signal (for the thigh: a rotation of the sensor
leaves it unchanged) or the power of the vector magnitude (waist, wrist). A
candidate frequency ``f`` is scored over the band of the placement: the thigh
swings once per stride, so its band is the stride band 0.4-1.8 Hz, the score
``P(f) + P(2 f)`` (fundamental plus the step bounce, as Acti4's harmonic
scoring does with four harmonics; below 0.5 Hz, within the main lobe of its
own harmonic, only where ``P`` peaks at ``f``, else a bin on the slope below a
plain swing at ``2 f`` would take that swing's power as its bounce and halve
the cadence) and steps are twice the frequency found; at
the waist and the wrist the magnitude beats once per step, band 0.8-3.2 Hz,
score ``P(f)``. A window is
periodic when the best score, as the share of an unpadded spectrum's bin,
is at least ``PERIODIC_SHARE`` of the power between 0.3 Hz and Nyquist.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Float = NDArray[np.float64]

WINDOW_S = 4
PAD_S = 6.4
"""Zero padding to at least this (then a power of two; 10 Hz: 64 bins, 0.156 Hz apart).
The 4-s Hann window's main lobe is 1 Hz wide, 6.4 such bins, and the peak is refined by
a parabola through the log power of the peak bin and its neighbours (Gaussian
interpolation: the log of a Hann lobe is nearly a parabola; one through the plain power
read a 110-spm minute as 111 at this spacing). At 12.8 s (128 bins) the walking-heavy
day of bench/imu_pipeline.py took a third longer, for steps within 0.1 % of these (the
synthetic day: 14,971 against 14,969 of 15,005); the coarser grid loses more of an
off-bin peak's power (Hann scalloping), so a little less motion is periodic: figures
in bench/README.md."""
PERIODIC_SHARE = 0.3
STRIDE_BAND_HZ = (0.4, 1.8)
STEP_BAND_HZ = (0.8, 3.2)
TOTAL_BAND_LOW_HZ = 0.3
BLOCK = 512  # windows per pass (a few MB of spectra)


def cadence(windows: Float, bins: int, *, stride: bool, rows: NDArray[np.intp] | None = None
            ) -> tuple[Float, NDArray[np.bool_]]:
    """Steps per second and periodicity of each window.

    Parameters
    ----------
    windows : ndarray, shape (m, 3, WINDOW_S * bins) or (m, WINDOW_S * bins)
        Bin means in g (three axes, time last) or vector magnitudes in g, at ``bins`` Hz;
        any strides (a sliding-window view of the bins: nothing is copied but the rows used).
    bins : int
        Bins per second (the window's sampling rate, Hz).
    stride : bool
        The signal beats once per stride (thigh): search the stride band, steps = 2 f.
    rows : ndarray of int, optional
        Only these windows (default: all); the results are for them, in order.

    Returns
    -------
    steps_per_s : ndarray, shape (m,)
        Estimated cadence in steps/s (0 where not periodic).
    periodic : ndarray of bool, shape (m,)
    """
    if rows is None:
        rows = np.arange(windows.shape[0])
    m = len(rows)
    n = windows.shape[-1]
    nfft = 1 << int(np.ceil(np.log2(PAD_S * bins)))  # a power of two: fast FFTs
    half = nfft // 2 + 1
    freqs = np.arange(half) * bins / nfft
    low, high = STRIDE_BAND_HZ if stride else STEP_BAND_HZ
    band = np.flatnonzero((freqs >= low) & (freqs <= high))
    if m == 0 or len(band) == 0:  # none asked, or a band above Nyquist (a step at 1 Hz)
        return np.zeros(m), np.zeros(m, dtype=bool)
    first_total = int(np.searchsorted(freqs, TOTAL_BAND_LOW_HZ))
    # Only the bins from here up are looked at (the band, its neighbours, the total).
    lo = max(0, min(first_total, int(band[0]) - 1))
    full = _power(windows, rows, nfft, lo)  # (m, bins lo .. nfft / 2)
    b0, b1 = int(band[0]) - lo, int(band[-1]) + 1 - lo
    score = full[:, b0:b1]
    if stride:  # the thigh's step bounce sits at 2 f: count it for the stride
        # The band is a run of bins, so their harmonics are every other bin from 2 f0;
        # those of its first `inner` bins are below Nyquist.
        inner = int(np.count_nonzero(2 * band < half))
        h0 = 2 * int(band[0]) - lo
        score = score.copy()
        score[:, :inner] += full[:, h0: h0 + 2 * inner: 2]
        # Below 2 / WINDOW_S Hz (the band's first `lobe` bins) a candidate lies within
        # its own harmonic's main lobe: there it must be a peak of its own, or a bin on
        # the slope below a plain swing (half its frequency) would take that swing's
        # power as its step bounce.
        lobe = int(np.count_nonzero(freqs[band] < 2.0 / WINDOW_S))
        here = full[:, b0: b0 + lobe]
        peak_here = (here >= full[:, b0 - 1: b0 - 1 + lobe]) \
            & (here >= full[:, b0 + 1: b0 + 1 + lobe])
        score[:, :lobe][~peak_here] = 0.0
    best = np.argmax(score, axis=1)
    peak = band[best]
    each = np.arange(m)
    total = full[:, first_total - lo:].sum(axis=1)
    # Zero padding spreads each line over nfft / n bins: scale back (Parseval).
    share = score[each, best] * (nfft / n) / np.maximum(total, 1e-12)
    periodic = (share >= PERIODIC_SHARE) & (total > 1e-9)
    # A parabola through the log power around the peak bin for a finer frequency (of
    # the periodic windows: the others have no cadence).
    on = np.flatnonzero(periodic)
    at = peak[on] - lo
    below, mid, above = (np.log(np.maximum(full[on, k], 1e-300)) for k in (
        np.maximum(at - 1, 0), at, np.minimum(at + 1, half - 1 - lo)))
    denom = below - 2 * mid + above
    shift = np.where(np.abs(denom) > 1e-12,
                     0.5 * (below - above) / np.where(denom == 0, 1, denom), 0)
    steps = np.zeros(m)
    steps[on] = (peak[on] + np.clip(shift, -0.5, 0.5)) * bins / nfft * (2.0 if stride else 1.0)
    return steps, periodic


def _power(windows: Float, rows: NDArray[np.intp], nfft: int, lo: int) -> Float:
    """Power of bins ``lo .. nfft / 2`` of each chosen window (summed over the axes).

    Each window is detrended, Hann-tapered and zero-padded to ``nfft``, a block of
    ``BLOCK`` windows at a time into one reused buffer (rfft padding a short input
    itself is far slower), so a block's spectra stay in cache; each window's numbers
    do not depend on the others, so the cut changes nothing. Three axes are laid out
    axis by axis, so the sum over them adds contiguous rows.
    """
    m, n = len(rows), windows.shape[-1]
    axes = windows.ndim == 3
    out = np.empty((m, nfft // 2 + 1 - lo))
    size = min(m, BLOCK)
    padded = np.zeros((3, size, nfft) if axes else (size, nfft))
    taper = np.hanning(n)
    for a in range(0, m, BLOCK):
        k = min(BLOCK, m - a)
        picked = windows[rows[a: a + k]]  # a contiguous copy of these windows
        mean = np.add.reduce(picked, axis=-1, keepdims=True)  # then / n: the mean's own
        mean /= n
        if axes:  # (3, k, n): time last, axis first
            picked, mean, signal = picked.transpose(1, 0, 2), mean.transpose(1, 0, 2), \
                padded[:, :k]
        else:
            signal = padded[:k]
        body = signal[..., :n]  # the rest stays zero
        np.subtract(picked, mean, out=body)
        body *= taper
        flat = np.fft.rfft(signal, axis=-1).view(np.float64)  # re, im interleaved
        np.multiply(flat, flat, out=flat)
        sq = flat[..., 2 * lo:]
        if axes:
            both = sq[0] + sq[1]
            sq = np.add(both, sq[2], out=both)
        np.add(sq[:, 0::2], sq[:, 1::2], out=out[a: a + k])
    return out
