"""Motion too still for a living wrist, thigh or waist: the wearable is not
worn (docs/pacing-rules.md section 1, v2: ``wear.still_min``).

The research-grade reference is GGIR's non-wear rule (van Hees et al. 2011,
2013): a window is non-wear when, on at least two of the three axes, the
standard deviation of the acceleration is under 13 mg and its range (max - min)
under 50 mg, over 60-minute windows. GGIR reads a recording afterwards; the
daemon must decide while it streams, and the rules' window is
``wear.still_min`` minutes (default 15). What is chosen here, and why:

* The test is made on each whole minute: a minute is *still* when at least two
  axes have a standard deviation under ``STILL_SD_G`` (13 mg) **and** a range
  under ``STILL_RANGE_G`` (50 mg), both GGIR's values, and a run is
  ``still_min`` still minutes in a row. Per-minute windows can be decided as
  the stream goes, with no hour of samples kept; any one movement in any
  minute breaks the run. What they do not see is a slow drift between minutes
  (a limb settling by less than 50 mg each minute), which a 60-minute window
  would: a known weakness, small beside a run of 15 minutes.
* Both criteria, not the SD alone: the SD alone cannot tell a table from a
  thigh sitting very still with a noisy sensor (the synthetic IMUs in
  ``devices.imu.synth`` add 10 mg of white noise, an SD under 13 mg, yet a
  range of 61 mg a minute at 10 Hz and 71 mg at 50 Hz (medians over 1000
  simulated minutes; the lowest 49 and 60 mg), so a synthetic desk day keeps
  its sitting); a sensor on a table moves by its noise floor alone (a few mg
  for the WitMotion and Polar accelerometers: 3 mg of noise gives a range of
  18-22 mg a minute from 10 to 100 Hz, medians again, under 50 mg with room
  to spare).
* A verdict needs readings enough: at least ``MIN_SAMPLES``, and from an IMU
  streaming at a known rate half a minute's worth (``HALF_MINUTE``: 300 at
  10 Hz). The range of few readings is small whatever the limb does: white
  noise of 10 mg spans a median 40 mg in 30 readings, 50 mg in 100, 57 mg in
  300 and 61 mg in 600, and two of three axes pass both criteria in 97 %,
  53 %, 1 % and none of 4000 simulated minutes each, so a minute a stalled
  stream cut short would look still. A minute with fewer readings while the
  sensor was connected throughout (a stalled stream) gives no verdict and
  ends the run: a device that cannot tell is trusted as worn. A minute it was not connected
  throughout (out of reach, the daemon restarting) with too few readings for a
  verdict pauses the run: it neither counts towards ``still_min`` nor ends the
  run, so a restart in the middle of a run keeps it (``state``/``restore``).
* The wrist (InfiniTime's raw motion, 1 g = 1024, notified as its values
  change, up to 10 a second) uses the same two criteria and values. GGIR
  applies its 13 mg to wrist data too, and a living wrist is the least still
  of the three places: at a desk it types, reaches and turns, far beyond 50 mg
  within any minute, let alone 15 in a row. A lower wrist threshold would only
  make a still sleeper's wrist look not worn sooner; a higher one would call a
  still worn wrist not worn, the worse mistake (its sitting would go unseen).
* Until a run reaches ``still_min`` it is a candidate: ``candidate`` gives its
  first minute, and the engine holds a sitting prompt that needs the run's
  minutes while one is open (``Engine.still``), so no prompt goes out about
  minutes later found not worn.
* Once a run reaches ``still_min`` minutes it is not worn from its first
  minute: the daemon tells the engine (``Engine.not_worn``) about the minutes
  it already took, and the run's later minutes are ``not_worn`` epochs until
  the sensor moves again.

Not measured on real recordings yet (none at hand without a wearer): the values
are GGIR's, checked only against the synthetic streams (``tests/pacer/daemon/test_not_worn.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from pacer.timebase import Minute

STILL_SD_G = 0.013
"""GGIR: standard deviation under 13 mg."""
STILL_RANGE_G = 0.050
"""GGIR: range (max - min) under 50 mg."""
STILL_AXES = 2
"""Axes of three that must be still (GGIR: two)."""
MIN_SAMPLES = 30
"""Readings a minute needs for a verdict (a few Hz for 10 s at the least)."""
HALF_MINUTE = 30.0
"""Seconds' worth of readings a minute needs from a device of known rate."""


def min_samples(rate_hz: float | None) -> int:
    """Readings a minute needs for a verdict from a sensor sending ``rate_hz``
    (None: it notifies on change, as InfiniTime's raw motion)."""
    if rate_hz is None:
        return MIN_SAMPLES
    return max(MIN_SAMPLES, int(rate_hz * HALF_MINUTE))


@dataclass(slots=True)
class _Acc:
    n: int = 0
    s: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    ss: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    lo: list[float] = field(default_factory=lambda: [math.inf] * 3)
    hi: list[float] = field(default_factory=lambda: [-math.inf] * 3)

    def add(self, xyz: tuple[float, float, float]) -> None:
        self.n += 1
        for i, v in enumerate(xyz):
            self.s[i] += v
            self.ss[i] += v * v
            self.lo[i] = min(self.lo[i], v)
            self.hi[i] = max(self.hi[i], v)

    def still(self) -> bool:
        axes = 0
        for i in range(3):
            mean = self.s[i] / self.n
            sd = math.sqrt(max(self.ss[i] / self.n - mean * mean, 0.0))
            if sd < STILL_SD_G and self.hi[i] - self.lo[i] < STILL_RANGE_G:
                axes += 1
        return axes >= STILL_AXES


@dataclass(slots=True)
class Stillness:
    """One sensor's still run, minute by minute."""

    still_min: int = 15
    needs: int = MIN_SAMPLES  # readings a minute needs for a verdict (``min_samples``)
    minutes: dict[Minute, _Acc] = field(default_factory=dict)
    first: Minute | None = None  # the first minute of the current still run
    length: int = 0  # its still minutes (paused ones not counted)

    def add(self, minute: Minute, xyz: tuple[float, float, float]) -> None:
        acc = self.minutes.get(minute)
        if acc is None:
            acc = self.minutes[minute] = _Acc()
        acc.add(xyz)

    def close(self, minute: Minute, *, whole: bool = True
              ) -> tuple[bool, tuple[Minute, Minute] | None]:
        """Whether ``minute`` is not worn, and the earlier minutes ``[first, end)``
        of the run that became not worn with it (once, when the run reaches
        ``still_min``). ``whole`` False: the sensor was not connected throughout
        the minute, and too few readings pause the run instead of ending it."""
        acc = self.minutes.pop(minute, None)
        for old in [m for m in self.minutes if m < minute]:
            del self.minutes[old]
        few = acc is None or acc.n < self.needs
        if few and not whole:
            return False, None
        if acc is None or few or not acc.still():
            self.first, self.length = None, 0
            return False, None
        if self.first is None:
            self.first = minute
        self.length += 1
        if self.length < self.still_min:
            return False, None
        if self.length == self.still_min:
            return True, (self.first, minute)
        return True, None

    @property
    def candidate(self) -> Minute | None:
        """The first minute of a run not yet long enough to be not worn."""
        return self.first if 0 < self.length < self.still_min else None

    def state(self) -> list[int] | None:
        """The run, stored with each minute (None: no run)."""
        return None if self.first is None else [self.first, self.length]

    def restore(self, saved: object) -> None:
        if (isinstance(saved, list) and len(saved) == 2
                and all(isinstance(v, int) for v in saved)):
            self.first, self.length = saved[0], saved[1]
