"""Steps from a watch that reports 10-minute blocks and realtime deltas (Bangle.js),
each step counted once (pure, plain-data state).

The watch says two things about the same steps (``devices.drivers.bangle``):

* realtime reports: the steps since its previous one, every few seconds while
  connected. They are what makes a step count in the minute it was taken, so
  they are counted at once, and noted against the block they fall in (its
  *provisional* count);
* the block's total, at the end of each 10-minute block (live) or from the
  history the phone asks for after a reconnect. This is the watch's own record
  and the truth: a block counts ``max(0, total - provisional)`` more, the steps
  that no realtime report carried (walked out of reach, before the reports were
  asked for, or lost to a counter restart).

A block is settled once its total has counted: ``settled`` is the end of the
last one, and a total for a block at or before it (the same block again, from
a second fetch or a live report seen after the fetch) counts nothing. Totals
arrive in time order (live ones as blocks end, fetched ones oldest first), so
one watermark is enough. A watch that reboots or passes midnight restarts its
step counter but not its blocks, so neither needs a rule here.

Where the realtime report's block is a guess: it is the block that holds its
arrival time by our clock, and never one already settled. The phone sets the
watch's clock at every connect, so the two clocks agree to about a second; a
report that straddles a block's end is noted against the later block. The
earlier block's remainder then counts its steps again, and the later block's
remainder is that much smaller, so the sum stays exact unless the later block
has fewer steps than the report carried. The counted total over a run of
blocks is the sum of ``max(total, provisional)``.

A block that ended before the local day of its arrival began (fetched after a
night out of reach) is settled but not counted (``devices.profiles``): its
steps would land in today's minute and swell today's figures. A block ending
exactly at midnight counts, in the first minute of the new day.

Not recovered: the steps of the block in progress when the watch reboots (the
firmware keeps the running block in RAM) that no realtime report carried.
``MAX_PENDING`` bounds the provisional counts kept (two days of blocks).

Asleep: a block's ``act`` is the health record's activity kind (BangleApps'
``health`` library: ``UNKNOWN``, ``NOT_WORN``, ``WALKING``, ``EXERCISE``,
``LIGHT_SLEEP``, ``DEEP_SLEEP``). The firmware (2v26 on) sets only the first
four; the two sleep kinds are written by the Sleep Log app (``sleeplog``),
which sets them on the ``health`` event from the block's movement (and heart
rate, if asked). Its listener goes first (``prependListener``), so both the
live block the Android Integration app sends and the block the Health app
stores (the history) carry them. A block
marked asleep, without steps, is a ``SleepRun`` of its ten minutes
(``sleep_run``). ``NOT_WORN`` is not used: the firmware guesses it from a
10-minute average of movement and the watch's temperature, with no threshold
pacer can check.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from devices import provisional as unsettled
from devices.samples import SleepRun, StepDelta

BLOCK_S = 600
MAX_PENDING = 288
"""Unsettled blocks whose provisional counts are kept at most (two days)."""


@dataclass(frozen=True, slots=True)
class BlockState:
    """The end of the last settled block (unix s), and provisional counts of later ones."""

    settled: float | None = None
    provisional: tuple[tuple[float, int], ...] = ()

    def to_dict(self) -> dict[str, object]:
        """Plain data for storage (JSON-friendly)."""
        return {"settled": self.settled, "provisional": unsettled.to_lists(self.provisional)}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> BlockState:
        """The state ``to_dict`` gave (anything malformed is left out)."""
        return cls(settled=unsettled.number(data.get("settled")),
                   provisional=unsettled.from_lists(data.get("provisional"), MAX_PENDING))


@dataclass(frozen=True, slots=True)
class BlockUpdate:
    """The new state and the steps to count now."""

    state: BlockState
    steps: int


SLEEP_KINDS = frozenset(("LIGHT_SLEEP", "DEEP_SLEEP"))
"""The health record's activity kinds that say the wearer slept."""


def sleep_run(device: str, activity: str | None, steps: int, end: float, at: float
              ) -> SleepRun | None:
    """The block ending at ``end``, told at ``at``, as a ``SleepRun`` if the
    watch marked it asleep and it has no steps (a step is someone awake)."""
    if activity not in SLEEP_KINDS or steps:
        return None
    return SleepRun(at=at, device=device, start=end - BLOCK_S, end=end)


def block_ending_near(t: float) -> float:
    """The block end nearest ``t``: a live block total arrives just after its end."""
    return round(t / BLOCK_S) * BLOCK_S


def _holding(state: BlockState, at: float) -> float:
    end = float(math.ceil(at / BLOCK_S) * BLOCK_S)
    if state.settled is not None and end <= state.settled:
        end = state.settled + BLOCK_S
    return end


def live(state: BlockState, steps: int, at: float) -> BlockUpdate:
    """A realtime report of ``steps`` arriving at ``at``: counted now, noted
    against its block."""
    if steps <= 0:
        return BlockUpdate(state, 0)
    end = _holding(state, at)
    pending = dict(state.provisional)
    pending[end] = pending.get(end, 0) + steps
    kept = tuple(sorted(pending.items())[-MAX_PENDING:])
    return BlockUpdate(replace(state, provisional=kept), steps)


def total(state: BlockState, steps: int, end: float) -> BlockUpdate:
    """A block's ``steps`` in all, the block ending at ``end``: what no realtime
    report counted yet, unless the block is settled already."""
    if state.settled is not None and end <= state.settled:
        return BlockUpdate(state, 0)
    pending = dict(state.provisional)
    counted = pending.pop(end, 0)
    kept = tuple((e, n) for e, n in sorted(pending.items()) if e > end)
    return BlockUpdate(BlockState(settled=end, provisional=kept), max(steps - counted, 0))


def resume(state: BlockState, now: float) -> tuple[BlockState, int | None]:
    """At a connect: the history to ask for (blocks ending after the last settled
    one, in unix ms), or None on the first connect, which settles the blocks
    before now (the watch's history before pacer is not pacer's)."""
    if state.settled is None:
        return replace(state, settled=float(math.floor(now / BLOCK_S) * BLOCK_S)), None
    return state, int(state.settled * 1000) + 1


class BlockSteps:
    """``live``/``total``/``resume`` with one watch's state, giving ``StepDelta``s."""

    def __init__(self, device: str, *, state: BlockState | None = None) -> None:
        self.device = device
        self.state = state if state is not None else BlockState()
        self._last_live: float | None = None

    def live(self, steps: int, at: float) -> StepDelta | None:
        result = live(self.state, steps, at)
        self.state = result.state
        since, self._last_live = self._last_live, at
        if result.steps <= 0:
            return None
        return StepDelta(at=at, device=self.device, steps=result.steps, since=since)

    def total(self, steps: int, end: float, at: float) -> StepDelta | None:
        result = total(self.state, steps, end)
        self.state = result.state
        if result.steps <= 0:
            return None
        return StepDelta(at=at, device=self.device, steps=result.steps,
                         since=min(end - BLOCK_S, at))

    def resume(self, now: float) -> int | None:
        self.state, since_ms = resume(self.state, now)
        self._last_live = None
        return since_ms
