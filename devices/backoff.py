"""Reconnect delays: capped exponential backoff with jitter (pure).

A wearable out of reach for hours must not be hammered, and several devices
that dropped together (the person walked out of the room) must not retry in
lock-step; jitter spreads them. Half of each delay is fixed so a retry never
comes immediately after a failure.
"""

from __future__ import annotations

import random

DEFAULT_BASE_S = 1.0
DEFAULT_CAP_S = 60.0
# Wearables come back into reach without warning; a minute's wait at most
# keeps the first minutes after a person returns covered.


def backoff_delay(
    attempt: int,
    rng: random.Random,
    *,
    base_s: float = DEFAULT_BASE_S,
    cap_s: float = DEFAULT_CAP_S,
) -> float:
    """Seconds to wait before retry number ``attempt`` (0 for the first retry).

    The ceiling doubles from ``base_s`` per attempt up to ``cap_s``; the delay
    is uniform between half the ceiling and the ceiling.
    """
    if attempt < 0:
        raise ValueError(f"attempt must be >= 0 (got {attempt})")
    if base_s < 0 or cap_s < 0:
        raise ValueError("base_s and cap_s must not be negative")
    # Clamp the exponent: 2.0 ** 1100 overflows a float.
    ceiling = min(cap_s, base_s * 2.0 ** min(attempt, 64))
    return ceiling / 2 + rng.uniform(0.0, ceiling / 2)
