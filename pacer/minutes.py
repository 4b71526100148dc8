"""Samples to one-minute epochs: one rule, for the live daemon (``daemon.ble``)
and for ``pacer epochs`` offline, so a replay of a recording and the daemon that
streamed it agree minute by minute (docs/pacing-rules.md section 1).

A minute's posture comes from the seconds an IMU labelled in it: with at least
``POSTURE_MIN_S`` seconds of known posture it takes their majority (ties: the
lower label code) as measured; otherwise, or with no IMU, it is derived from the
minute's steps as for a step-only device, and sedentary time is marked inferred.
A wrist's "still" (label ``sedentary``) is no posture: a wrist cannot tell
sitting from standing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pacer.engine.model import Epoch
from pacer.io.minutes import POSTURES
from pacer.timebase import Minute

POSTURE_MIN_S = 30
"""Seconds of known posture a minute needs for the IMU's majority to count."""
NO_POSTURE = frozenset(("unknown", "sedentary"))


def minute_posture(seconds: Mapping[int, int], names: Sequence[str]) -> str | None:
    """The posture name a minute takes from its seconds by label code (``names[code]``
    is the label's name), or None when too little of it is known."""
    known = {code: n for code, n in seconds.items() if n > 0 and names[code] not in NO_POSTURE}
    if sum(known.values()) < POSTURE_MIN_S:
        return None
    return names[min(known, key=lambda code: (-known[code], code))]


def minute_epoch(minute: Minute, steps: int, posture: str | None, *, known: bool) -> Epoch:
    """The epoch of a minute: unknown without data, measured posture if any, else
    derived from the steps."""
    if not known:
        return Epoch.unknown(minute)
    if posture is not None:
        return Epoch(minute, steps, POSTURES[posture])
    return Epoch.from_steps(minute, steps)
