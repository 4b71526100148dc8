"""InfiniTime's daily step counter turned into step deltas (pure, plain-data state).

The watch reports one number, its steps *today* (ble-protocols.md §1.1), in a
notification whenever it changes and in the read the connection manager makes
after every (re)connect. This module turns that series into ``StepDelta``s:

* a rise counts the difference;
* the same value again (the read after a reconnect, or a notification and a
  read of one value) counts nothing;
* a drop is a counter that restarted from zero, so the new value counts in
  full. If a local midnight lies near the last change and this reading (within
  ``tolerance_s`` either side, for the watch's clock drifting from ours), it is
  the daily reset; otherwise the watch rebooted (the count is not persisted),
  which is logged;
* a rise seen more than ``tolerance_s`` after a local midnight that passed since
  the last change also counts from zero: the watch reset at midnight and has
  already counted more than yesterday's last value;
* a rise larger than anyone can step in the time since the last reading
  (``devices.plausible.most_steps``: 300 a minute, plus a minute's slack) is
  implausible: it counts nothing, and the reading is the new baseline, so a
  counter that jumped keeps counting from where it is. ``StepCounter`` raises
  ``ImplausibleReading`` for it, which the connection counts as a bad value.
  Steps the watch counted while out of reach are a plausible rise over the
  time away, and count (the daemon caps what one minute takes: ``pacer.daemon.ble``).

Known limits, because InfiniTime keeps no history readable over BLE:

* steps the watch counts while disconnected arrive as one delta at the
  reconnect (``since`` tells the daemon over which interval);
* steps counted between the last reading before midnight and the reset are
  lost when the link is down across midnight, and so are steps counted before a
  reboot that happened while disconnected;
* a reboot while disconnected, after which the watch counted *more* than
  before, looks like a rise: only the difference is counted.

``count`` is the pure rule; ``StepCounter`` wraps it with its state and the
log lines. The state is a frozen dataclass of three numbers, with
``to_dict``/``from_dict`` for the daemon's store.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, replace
from datetime import date, datetime, tzinfo

from devices.errors import ImplausibleReading
from devices.plausible import MAX_STEPS_PER_MINUTE, most_steps
from devices.samples import StepDelta

logger = logging.getLogger(__name__)

DEFAULT_TOLERANCE_S = 15 * 60.0
"""How far the watch's midnight may be from ours (its clock is set over CTS,
but drifts, and old firmware defers the reset to its next motion update)."""


class CounterEvent(enum.StrEnum):
    """What one counter reading meant."""

    FIRST = "first"
    SAME = "same"
    RISE = "rise"
    MIDNIGHT_RESET = "midnight_reset"
    REBOOT = "reboot"
    IMPLAUSIBLE = "implausible"


@dataclass(frozen=True, slots=True)
class CounterState:
    """What the counter remembers: the last value, when it was read, when it last changed."""

    total: int | None = None
    at: float | None = None
    changed_at: float | None = None

    def to_dict(self) -> dict[str, int | float | None]:
        """Plain data for storage (JSON-friendly)."""
        return {"total": self.total, "at": self.at, "changed_at": self.changed_at}

    @classmethod
    def from_dict(cls, data: dict[str, int | float | None]) -> CounterState:
        """The state ``to_dict`` gave."""
        total = data.get("total")
        at = data.get("at")
        changed_at = data.get("changed_at")
        return cls(
            total=None if total is None else int(total),
            at=None if at is None else float(at),
            changed_at=None if changed_at is None else float(changed_at),
        )


@dataclass(frozen=True, slots=True)
class CounterUpdate:
    """The result of one reading: the new state, the steps to count, and why."""

    state: CounterState
    steps: int
    event: CounterEvent
    since: float | None


def _local_date(t: float, zone: tzinfo) -> date:
    return datetime.fromtimestamp(t, zone).date()


def _midnight_in(start: float, end: float, zone: tzinfo) -> bool:
    """Whether a local midnight falls in (start, end]."""
    return end > start and _local_date(end, zone) > _local_date(start, zone)


def count(
    state: CounterState,
    total: int,
    at: float,
    *,
    zone: tzinfo,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> CounterUpdate:
    """Apply one counter reading ``total`` read at ``at`` (unix seconds) to ``state``."""
    if total < 0:
        raise ValueError(f"a step counter reading is never negative (got {total})")
    if state.total is None or state.changed_at is None:
        new = CounterState(total=total, at=at, changed_at=at)
        return CounterUpdate(new, total, CounterEvent.FIRST, None)
    previous_at = state.at
    if total == state.total:
        # Keep changed_at: a repeated value says the counter has not moved, so
        # a midnight since the last change is still "pending" (old firmware
        # resets only at its next motion update).
        return CounterUpdate(replace(state, at=at), 0, CounterEvent.SAME, previous_at)
    new = CounterState(total=total, at=at, changed_at=at)
    if total < state.total:
        near_midnight = _midnight_in(state.changed_at - tolerance_s, at + tolerance_s, zone)
        event = CounterEvent.MIDNIGHT_RESET if near_midnight else CounterEvent.REBOOT
        return CounterUpdate(new, total, event, None)
    if _midnight_in(state.changed_at, at - tolerance_s, zone):
        return CounterUpdate(new, total, CounterEvent.MIDNIGHT_RESET, None)
    rise = total - state.total
    if previous_at is not None and rise > most_steps(at - previous_at):
        return CounterUpdate(new, 0, CounterEvent.IMPLAUSIBLE, previous_at)
    return CounterUpdate(new, rise, CounterEvent.RISE, previous_at)


class StepCounter:
    """Step deltas for one watch, from its daily counter; logs resets and reboots.

    ``zone`` is the watch's time zone (the one its clock is set to; the
    daemon's configured zone). ``state`` restores what ``state`` gave before.
    ``who`` prefixes the log lines (default: the device label).
    """

    def __init__(
        self,
        device: str,
        *,
        zone: tzinfo,
        tolerance_s: float = DEFAULT_TOLERANCE_S,
        state: CounterState | None = None,
        who: str | None = None,
    ) -> None:
        self.device = device
        self.who = who or device
        self.zone = zone
        self.tolerance_s = tolerance_s
        self.state = state if state is not None else CounterState()

    def update(self, total: int, at: float) -> StepDelta | None:
        """The delta for one reading, or None when it adds no steps;
        ``ImplausibleReading`` (the state taken) for a rise no person makes."""
        before = self.state.total
        result = count(self.state, total, at, zone=self.zone, tolerance_s=self.tolerance_s)
        self.state = result.state
        if result.event is CounterEvent.REBOOT:
            logger.warning(
                "%s: step counter dropped from %s to %d away from midnight: "
                "the watch restarted; counting %d steps from zero",
                self.who, before, total, total,
            )
        elif result.event is CounterEvent.MIDNIGHT_RESET:
            logger.info(
                "%s: step counter reset for the new day (%s -> %d)", self.who, before, total
            )
        elif result.event is CounterEvent.IMPLAUSIBLE:
            seconds = at - (result.since if result.since is not None else at)
            raise ImplausibleReading(
                f"step counter rose from {before} to {total} in {seconds:.0f} s, more than "
                f"{MAX_STEPS_PER_MINUTE} steps a minute can explain; not counted, and "
                f"{total} is the new baseline"
            )
        if result.steps <= 0:
            return None
        return StepDelta(at=at, device=self.device, steps=result.steps, since=result.since)
