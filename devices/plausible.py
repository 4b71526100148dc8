"""How many steps a person can take: the limit beyond which a count is a fault.

``MAX_STEPS_PER_MINUTE`` is 300. Walking stays under about 140 steps a minute
(a brisk walk is 100 to 130: Tudor-Locke et al., "How fast is fast enough?
Walking cadence (steps/min) as a practical estimate of intensity in adults",
Br J Sports Med 2018; 52:776) and everyday running under about 200. The
highest cadence measured in people is an elite sprinter's, 4.5 to 5 steps a
second (270 to 300 a minute: Salo et al., Med Sci Sports Exerc 2011;
43:1055), kept up for a few seconds, never a minute. So no minute of a person
holds more than 300 steps: a count above it is a sensor, firmware or file
fault, not activity. The limit is set at the sprint and not at the ~250 where
walking and running end, so that a real minute of fast running is never
thrown away; anything above it is refused (a minutes CSV) or counted as an
anomaly (a wearable).

``MAX_STEPS_PER_DAY`` is that cadence for all 1,440 minutes of a day
(432,000): a daily counter reading above it is garbage, whatever the day.
"""

from __future__ import annotations

MAX_STEPS_PER_MINUTE = 300
"""The most steps one minute of a person can hold (see the module docstring)."""
MAX_STEPS_PER_DAY = MAX_STEPS_PER_MINUTE * 24 * 60
"""The most steps a daily counter can read: the sprint cadence all day."""


def most_steps(seconds: float) -> int:
    """The most steps a person can take in ``seconds``, plus a minute's worth
    for a reading that arrived late: a counter that rose by more between two
    readings this far apart did not count steps."""
    return int(MAX_STEPS_PER_MINUTE * (max(seconds, 0.0) / 60 + 1))
