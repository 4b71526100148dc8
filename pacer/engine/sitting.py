"""Sitting bouts and breaks (docs/pacing-rules.md section 2), as a small state machine.

The tracker only follows postures; when to prompt, and what the outcome of a
prompt was, is decided by the engine from what the tracker reports.
"""

from __future__ import annotations

from dataclasses import dataclass

from pacer.engine.model import UNKNOWN_POSTURES, Epoch, Posture
from pacer.engine.rules import SittingRules
from pacer.timebase import Minute


@dataclass(slots=True)
class Bout:
    """A sitting bout in progress."""

    start: Minute
    sedentary_min: int = 0  # bout length: its sedentary epochs only
    window_min: int = 0  # sedentary epochs inside the waking window, for summaries
    unknown_run: int = 0  # unknown epochs in a row, tolerated up to gap_tolerance_min
    move_run: int = 0  # non-sedentary epochs in a row: a break once long enough
    move_start: Minute = 0  # first epoch of that run: the start of a break
    prompts: int = 0  # sitting prompts delivered in this bout
    next_due: Minute | None = None  # earliest time of the next sitting prompt
    held_since: Minute | None = None  # a due prompt held back by the rate limits since
    held: str | None = None  # why a due prompt is held (quiet hours, DND, snooze), logged once
    inferred: bool = False  # some of its sitting was inferred from zero steps ("still")
    first_only: bool = False  # a person who ignores prompts gets the first one only


@dataclass(frozen=True, slots=True)
class BoutEnd:
    """A bout ended: by a break (``break_start`` is the first epoch of the
    break) or by an unknown gap longer than the tolerance (``break_start``
    is None: no prompt, no outcome)."""

    bout: Bout
    break_start: Minute | None


def observe(
    bout: Bout | None, epoch: Epoch, rules: SittingRules
) -> tuple[Bout | None, BoutEnd | None]:
    """Follow one epoch. Returns the bout now in progress (a new one, the same
    one updated in place, or None) and how a bout ended, if one did."""
    posture = epoch.posture
    if bout is None:
        if posture is Posture.SEDENTARY and epoch.steps < rules.break_steps:
            return Bout(start=epoch.start, sedentary_min=1), None
        return None, None

    # One minute with enough steps is a break whatever its posture (section 11.9).
    if epoch.steps >= rules.break_steps:
        moving = bout.move_run and posture is not Posture.SEDENTARY
        start = bout.move_start if moving else epoch.start
        return None, BoutEnd(bout, start)

    if posture is Posture.SEDENTARY:
        bout.sedentary_min += 1
        bout.unknown_run = 0
        bout.move_run = 0
        return bout, None

    if posture in UNKNOWN_POSTURES:
        # Unknown neither ends nor extends a bout while short, and breaks the
        # run of moving minutes (a break needs known movement).
        bout.move_run = 0
        bout.unknown_run += 1
        if bout.unknown_run > rules.gap_tolerance_min:
            return None, BoutEnd(bout, None)
        return bout, None

    bout.unknown_run = 0
    if bout.move_run == 0:
        bout.move_start = epoch.start
    bout.move_run += 1
    if bout.move_run >= rules.break_min:
        return None, BoutEnd(bout, bout.move_start)
    return bout, None
