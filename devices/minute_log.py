"""Steps from a band with a daily live counter and a per-minute activity log
(Huami), each step counted once (pure, plain-data state).

Which source owns which steps:

* the live counter (steps today, notified while connected) owns the minutes
  *while connected*: each rise is counted at once and noted against the minute
  it arrived in (that minute's *provisional* count). The first reading of a
  connection only sets the baseline: what the band counted while out of reach
  is the log's. A fall is the band's midnight (or a reboot seen live): the new
  count is steps since then;
* the activity log, fetched after every connect from the first minute not yet
  fetched, owns every *past* minute: a record counts ``max(0, steps -
  provisional)`` more, the steps no live reading carried (walked out of reach,
  before the baseline, across a reboot or midnight). ``fetched`` then moves past
  the record, and a record before it (fetched again) counts nothing.

So a minute's steps are counted ``max(log, live)`` times once: exact, unless the
band's clock and ours put a live rise in different minutes (then the sum over
a run of minutes still holds as long as no minute's live steps exceed its log).
The minute in progress at a fetch is not in the log yet. Its steps before the
baseline are counted when the fetch ends, as the rise of the counter across the
gap less what the log gave for the gap, when the counter did not restart in
between (no midnight or reboot out of reach); otherwise they come with the
next fetch (the next reconnect), as the log's. ``fetched`` is kept
across restarts (the daemon stores ``LogState``), so a restart never fetches
into doubled steps; the first connect ever starts the log at that minute (the
band's history before pacer is ``pacer import gadgetbridge``'s).

The log's minutes also carry the band's raw kind (``devices.huami_kinds``):
runs of new minutes it marked not worn (or charging), without steps, are told
as ``NotWornRun``, and runs it marked asleep (light or deep), without steps,
as ``SleepRun``. "As before" follows the minute before in the same fetch
(unknown at a fetch's first minute: taken as worn and awake). The log is
history: a run ends at the last minute fetched, never in the minute in
progress.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from devices import provisional as unsettled
from devices.errors import ImplausibleReading
from devices.huami_kinds import raw_kind
from devices.plausible import most_steps
from devices.samples import NotWornRun, SleepRun, StepDelta

MINUTE_S = 60
MAX_PENDING = 2880
"""Minutes whose provisional counts are kept at most (two days)."""


@dataclass(frozen=True, slots=True)
class LogState:
    """The start of the first minute not yet fetched (unix s), and the live steps
    counted in later minutes."""

    fetched: float | None = None
    provisional: tuple[tuple[float, int], ...] = ()

    def to_dict(self) -> dict[str, object]:
        """Plain data for storage (JSON-friendly)."""
        return {"fetched": self.fetched, "provisional": unsettled.to_lists(self.provisional)}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> LogState:
        """The state ``to_dict`` gave (anything malformed is left out)."""
        return cls(fetched=unsettled.number(data.get("fetched")),
                   provisional=unsettled.from_lists(data.get("provisional"), MAX_PENDING))


def minute_of(t: float) -> float:
    return float(math.floor(t / MINUTE_S) * MINUTE_S)


def note_live(state: LogState, steps: int, at: float) -> LogState:
    """Live steps counted at ``at``, noted against their minute (never one fetched)."""
    if steps <= 0:
        return state
    minute = minute_of(at)
    if state.fetched is not None and minute < state.fetched:
        minute = state.fetched
    pending = dict(state.provisional)
    pending[minute] = pending.get(minute, 0) + steps
    return replace(state, provisional=tuple(sorted(pending.items())[-MAX_PENDING:]))


def record(state: LogState, minute: float, steps: int) -> tuple[LogState, int]:
    """The log's ``steps`` for the minute starting at ``minute``: the new state
    and the steps no live reading counted (0 for a minute fetched before)."""
    if state.fetched is not None and minute < state.fetched:
        return state, 0
    pending = dict(state.provisional)
    counted = pending.pop(minute, 0)
    kept = tuple((m, n) for m, n in sorted(pending.items()) if m > minute)
    return LogState(fetched=minute + MINUTE_S, provisional=kept), max(steps - counted, 0)


def start(state: LogState, now: float) -> LogState:
    """At a connect: the first connect ever starts the log at the current minute."""
    if state.fetched is None:
        return replace(state, fetched=minute_of(now))
    return state


class MinuteLog:
    """One band's live counter and log, giving ``StepDelta``s."""

    def __init__(self, device: str, *, state: LogState | None = None) -> None:
        self.device = device
        self.state = state if state is not None else LogState()
        self._last: tuple[int, float] | None = None  # live total and when, this connection
        self._held: int | None = None  # the last live total before the link dropped
        self._gap: int | None = None  # the counter's rise across the gap, until the fetch ends
        self._new = 0  # steps the log gave in this fetch
        self._next: float | None = None  # the minute of the next record, during a fetch
        self._off: float | None = None  # where a run of not-worn minutes began, in a fetch
        self._asleep: float | None = None  # where a run of sleep minutes began, in a fetch
        self._kind = "activity"  # the kind of the fetch's minute before
        self.late = 0
        """Steps of an earlier day's minutes, fetched after its end: not counted."""

    def link_lost(self) -> None:
        """The link dropped: the next live reading is a baseline."""
        if self._last is not None:
            self._held = self._last[0]
        self._last = None
        self._next = None
        self._gap = None

    def connected(self, now: float) -> float:
        """A new connection (after its first live reading): where the log is to
        be fetched from (unix s)."""
        self.state = start(self.state, now)
        assert self.state.fetched is not None
        return self.state.fetched

    def live(self, total: int, at: float) -> StepDelta | None:
        """A live reading of the band's steps today."""
        last, self._last = self._last, (total, at)
        if last is None:  # the baseline
            held, self._held = self._held, None
            self._gap = total - held if held is not None and total >= held else None
            return None
        before, then = last
        steps = total - before if total >= before else total  # a fall: midnight
        if steps > most_steps(at - then):
            raise ImplausibleReading(
                f"the band's step count rose by {steps:,} in {at - then:.0f} s, more "
                "than anyone steps; not counted")
        if steps <= 0:
            return None
        self.state = note_live(self.state, steps, at)
        return StepDelta(at=at, device=self.device, steps=steps, since=then)

    def begin(self, first: float) -> None:
        """A fetch whose first record is the minute starting at ``first``."""
        self._next = minute_of(first)
        self._new = 0
        self._off = self._asleep = None
        self._kind = "activity"

    def records(self, records: list[tuple[int, int]], at: float, day_start: float | None = None
                ) -> list[StepDelta | NotWornRun | SleepRun]:
        """Records (raw kind, steps) in order, from the fetch's next minute on:
        the steps no live reading counted, and the not-worn and sleep runs that ended.
        Steps of minutes before ``day_start`` (an earlier day: counted now they
        would swell today's figures) are settled but not counted (``late``)."""
        if self._next is None:
            return []  # not asked for: no minute to put them in
        new = 0
        first = self._next
        runs: list[StepDelta | NotWornRun | SleepRun] = []
        for kind, n in records:
            fresh = self.state.fetched is None or self._next >= self.state.fetched
            self.state, more = record(self.state, self._next, n)
            if day_start is not None and self._next < day_start:
                self.late += more
                more = 0
            new += more
            said = raw_kind(kind)
            self._kind = self._kind if said == "same" else said
            # A minute with steps is worn and awake, whatever its kind says.
            marked = self._kind if fresh and n == 0 else "activity"
            if marked != "not_worn":
                runs += self._run_ends(at)
            if marked != "sleep":
                runs += self._sleep_ends(at)
            if marked == "not_worn" and self._off is None:
                self._off = self._next
            elif marked == "sleep" and self._asleep is None:
                self._asleep = self._next
            self._next += MINUTE_S
        self._new += new
        if new > 0:
            runs.insert(0, StepDelta(at=at, device=self.device, steps=new,
                                     since=min(first, at)))
        return runs

    def _run_ends(self, at: float) -> list[StepDelta | NotWornRun | SleepRun]:
        start, self._off = self._off, None
        if start is None or self._next is None:
            return []
        return [NotWornRun(at=at, device=self.device, start=start, end=self._next)]

    def _sleep_ends(self, at: float) -> list[StepDelta | NotWornRun | SleepRun]:
        start, self._asleep = self._asleep, None
        if start is None or self._next is None:
            return []
        return [SleepRun(at=at, device=self.device, start=start, end=self._next)]

    def abandon(self) -> None:
        """The band would not send its log: what it holds stays for the next fetch."""
        self._next = None
        self._gap = None
        self._off = self._asleep = None

    def finish(self, at: float) -> list[StepDelta | NotWornRun | SleepRun]:
        """The fetch ended (or had nothing): a not-worn or sleep run up to its
        last minute, and the counter's rise across the gap that the log did not
        hold yet, counted now against this minute."""
        out = self._run_ends(at) + self._sleep_ends(at)
        self._next = None
        gap, self._gap = self._gap, None
        new, self._new = self._new, 0
        if gap is not None and gap - new > 0:
            self.state = note_live(self.state, gap - new, at)
            out.append(StepDelta(at=at, device=self.device, steps=gap - new,
                                 since=minute_of(at)))
        return out
