"""Cadence from the spectrum of a few seconds of bins (rotation invariant).

The spectrum of each window is the sum over the three axes of the power of
the detrended, Hann-tapered signal (for the thigh: a rotation of the sensor
leaves it unchanged) or the power of the vector magnitude (waist, wrist). A
candidate frequency ``f`` is scored over the band of the placement: the thigh
swings once per stride, so its band is the stride band 0.4-1.8 Hz, the score
``P(f) + P(2 f)`` (fundamental plus the step bounce, as Acti4's harmonic
scoring does with four harmonics) and steps are twice the frequency found; at
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
PAD_S = 25  # zero padding to at least 25 s (then a power of two): <= 1/25 Hz per bin
PERIODIC_SHARE = 0.3
STRIDE_BAND_HZ = (0.4, 1.8)
STEP_BAND_HZ = (0.8, 3.2)
TOTAL_BAND_LOW_HZ = 0.3


def cadence(windows: Float, bins: int, *, stride: bool) -> tuple[Float, NDArray[np.bool_]]:
    """Steps per second and periodicity of each window.

    Parameters
    ----------
    windows : ndarray, shape (m, WINDOW_S * bins, 3) or (m, WINDOW_S * bins)
        Bin means in g (three axes) or vector magnitudes in g, at ``bins`` Hz.
    bins : int
        Bins per second (the window's sampling rate, Hz).
    stride : bool
        The signal beats once per stride (thigh): search the stride band, steps = 2 f.

    Returns
    -------
    steps_per_s : ndarray, shape (m,)
        Estimated cadence in steps/s (0 where not periodic).
    periodic : ndarray of bool, shape (m,)
    """
    m = windows.shape[0]
    if m == 0:
        return np.zeros(0), np.zeros(0, dtype=bool)
    n = windows.shape[1]
    taper = np.hanning(n)
    detrended = windows - windows.mean(axis=1, keepdims=True)
    nfft = 1 << int(np.ceil(np.log2(PAD_S * bins)))  # a power of two: fast FFTs
    if detrended.ndim == 3:
        spec = np.fft.rfft(detrended * taper[None, :, None], n=nfft, axis=1)
        power = (spec.real**2 + spec.imag**2).sum(axis=2)
    else:
        spec = np.fft.rfft(detrended * taper[None, :], n=nfft, axis=1)
        power = spec.real**2 + spec.imag**2
    freqs = np.arange(power.shape[1]) * bins / nfft
    low, high = STRIDE_BAND_HZ if stride else STEP_BAND_HZ
    band = np.flatnonzero((freqs >= low) & (freqs <= high))
    harmonic = np.minimum(2 * band, power.shape[1] - 1)
    score = power[:, band]
    if stride:  # the thigh's step bounce sits at 2 f: count it for the stride
        score = score + np.where(2 * band < power.shape[1], power[:, harmonic], 0.0)
    best = np.argmax(score, axis=1)
    peak = band[best]
    total = power[:, freqs >= TOTAL_BAND_LOW_HZ].sum(axis=1)
    # Zero padding spreads each line over nfft / n bins: scale back (Parseval).
    share = score[np.arange(m), best] * (nfft / n) / np.maximum(total, 1e-12)
    # Parabolic interpolation around the peak bin for a finer frequency.
    lo = power[np.arange(m), np.maximum(peak - 1, 0)]
    mid = power[np.arange(m), peak]
    hi = power[np.arange(m), np.minimum(peak + 1, power.shape[1] - 1)]
    denom = lo - 2 * mid + hi
    shift = np.where(np.abs(denom) > 1e-12, 0.5 * (lo - hi) / np.where(denom == 0, 1, denom), 0)
    freq = (peak + np.clip(shift, -0.5, 0.5)) * bins / nfft
    periodic = (share >= PERIODIC_SHARE) & (total > 1e-9)
    steps = np.where(periodic, freq * (2.0 if stride else 1.0), 0.0)
    return steps, periodic
