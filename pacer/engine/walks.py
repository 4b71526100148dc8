"""Runs of stepping minutes: walks (docs/pacing-rules.md section 3) and long
stepping bouts (section 5, ``long_bout_rest``).

A run is stepping minutes in a row; a single non-stepping minute between two
stepping ones is tolerated (it neither ends the run nor counts toward it), two
in a row end it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pacer.engine.model import Epoch, Posture
from pacer.timebase import Minute


@dataclass(slots=True)
class StepRun:
    start: Minute
    minutes: int = 0  # stepping minutes
    window_min: int = 0  # of those, inside the waking window (summaries count these)
    steps: int = 0  # steps in those minutes
    gap: bool = False  # the last minute was the tolerated non-stepping one
    rest_prompted: bool = False  # long_bout_rest already due for this run

    @property
    def walking_now(self) -> bool:
        """Moving this minute (not in the one tolerated pause)."""
        return not self.gap

    def is_walk(self, min_minutes: int, min_cadence: int) -> bool:
        return self.minutes >= min_minutes and self.steps >= min_cadence * self.minutes


def follow(run: StepRun | None, epoch: Epoch, in_window: bool) -> tuple[StepRun | None,
                                                                        StepRun | None]:
    """Returns the run in progress and the run that just ended, if any."""
    if epoch.posture is Posture.STEPPING:
        if run is None:
            run = StepRun(start=epoch.start)
        run.minutes += 1
        if in_window:
            run.window_min += 1
        run.steps += epoch.steps
        run.gap = False
        return run, None
    if run is None:
        return None, None
    if run.gap:
        return None, run
    run.gap = True
    return run, None
