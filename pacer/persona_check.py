"""How the engine treats a simulated persona (pacer/personas.py): run it, then
judge the prompts against the ground truth with pure functions.

The detectors follow docs/pacing-rules.md version 2: nudges per day against the
daily budget (section 8), prompts while the person slept (section 1: no
prompt outside the waking window except ``red_flag``), contradictions
(section 8: nothing asks for more and for less within 120 minutes), weekly
progressions (section 4), morning plan messages (section 8: one), and sitting
bouts longer than the person had been up (section 1: nothing carries over the
night). They read prompts only, so they judge version 1 and version 2 alike;
reason keys are read tolerantly, since the engine is being changed.
"""

from __future__ import annotations

import bisect
import statistics
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock
from typing import Any

from pacer.engine.core import Engine
from pacer.engine.model import Dropped, Outcome, Prompt, Summary
from pacer.engine.rules import Rules
from pacer.engine.settings import apply_settings
from pacer.personas import Recording
from pacer.simulate import TimedEvent
from pacer.timebase import Minute, zone

NUDGE_KINDS = frozenset((
    "sitting_break", "standing_break", "walk_reminder", "pace_ease_off", "ceiling_reached",
    "long_bout_rest", "floor_nudge", "exercise_reminder", "wearable_silent",
))
MORE = frozenset(("walk_reminder", "floor_nudge"))  # ask for more activity
LESS = frozenset(("pace_ease_off", "ceiling_reached"))  # ask for less
PLAN_KINDS = frozenset(("plan_update", "boom_followup", "settle_plan", "review_suggested"))
SITTING_KINDS = frozenset(("sitting_break",))
COHERENCE_MIN = 120  # prompts.coherence_min's default
MORNING_MIN = 120  # a plan message up to this long after getting up is a morning one


# --- pure detectors ------------------------------------------------------------------


def pacing_date(minute: Minute, timezone: str, day_start: clock = clock(4, 0)) -> date:
    """The pacing day a minute belongs to (a day starts at ``day.start``)."""
    local = datetime.fromtimestamp(minute * 60, zone(timezone))
    if local.time() < day_start:
        return local.date() - timedelta(days=1)
    return local.date()


def nudges_per_day(prompts: Iterable[Prompt], timezone: str, dates: Sequence[date],
                   day_start: clock = clock(4, 0)) -> dict[date, int]:
    """Nudges by the pacing date of the prompt's time; every date in ``dates``
    appears (a day without nudges counts as 0)."""
    counts = dict.fromkeys(dates, 0)
    for p in prompts:
        if p.kind in NUDGE_KINDS:
            d = pacing_date(p.time, timezone, day_start)
            counts[d] = counts.get(d, 0) + 1
    return counts


def _asleep_at(minute: Minute, sleep: Sequence[tuple[Minute, Minute]]) -> bool:
    i = bisect.bisect_right(sleep, (minute, float("inf"))) - 1
    return i >= 0 and sleep[i][0] <= minute < sleep[i][1]


def prompts_asleep(prompts: Iterable[Prompt],
                   sleep: Sequence[tuple[Minute, Minute]]) -> list[Prompt]:
    """Prompts other than ``red_flag`` whose minute lies in a sleep interval
    [from, until) (``sleep`` in order, not overlapping)."""
    return [p for p in prompts if p.kind != "red_flag" and _asleep_at(p.time, sleep)]


def contradictions(prompts: Iterable[Prompt], timezone: str, *,
                   coherence_min: int = COHERENCE_MIN,
                   day_start: clock = clock(4, 0)) -> list[tuple[Prompt, Prompt]]:
    """(earlier, later) pairs that ask for more and for less (section 8):
    ease-off or ceiling less than ``coherence_min`` after a walk reminder or
    floor nudge; a walk reminder or floor nudge less than ``coherence_min``
    after an ease-off, or at any time later the same pacing day after
    ``ceiling_reached``. Exactly ``coherence_min`` apart is allowed."""
    relevant = sorted((p for p in prompts if p.kind in MORE or p.kind in LESS),
                      key=lambda p: p.time)
    found = []
    for j, later in enumerate(relevant):
        for earlier in relevant[:j]:
            gap = later.time - earlier.time
            if ((later.kind in LESS and earlier.kind in MORE)
                    or (later.kind in MORE and earlier.kind == "pace_ease_off")):
                bad = gap < coherence_min
            elif later.kind in MORE and earlier.kind == "ceiling_reached":
                bad = (pacing_date(earlier.time, timezone, day_start)
                       == pacing_date(later.time, timezone, day_start))
            else:
                bad = False
            if bad:
                found.append((earlier, later))
    return found


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _parts(reason: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """A morning message's parts as (name, details): ``parts`` may list names,
    or objects naming themselves by ``part``, ``kind`` or ``name``."""
    raw = reason.get("parts")
    if not isinstance(raw, (list, tuple)):
        return []
    out: list[tuple[str, Mapping[str, Any]]] = []
    for part in raw:
        if isinstance(part, str):
            out.append((part, {}))
        elif isinstance(part, Mapping):
            name = next((part[k] for k in ("part", "kind", "name") if isinstance(
                part.get(k), str)), "")
            out.append((name, part))
    return out


def is_progression(prompt: Prompt) -> bool:
    """A ``plan_update`` that raises the quota at a weekly review. Version 2
    names the review among ``reason["parts"]``; version 1 has only
    ``old_quota``/``new_quota`` and a ``why`` that speaks of the week."""
    if prompt.kind != "plan_update":
        return False
    reason = prompt.reason
    parts = _parts(reason)
    if parts:
        for name, details in parts:
            if name != "weekly_review":
                continue
            old = _int(details.get("old_quota", reason.get("old_quota")))
            new = _int(details.get("new_quota", reason.get("new_quota")))
            if old is not None and new is not None:
                return new > old
            return details.get("progress") is True or details.get("outcome") == "progress"
        return False
    old, new = _int(reason.get("old_quota")), _int(reason.get("new_quota"))
    why = str(reason.get("why", ""))
    return old is not None and new is not None and new > old and "week" in why


def progressions(prompts: Iterable[Prompt]) -> list[Prompt]:
    return [p for p in prompts if is_progression(p)]


def _last_up(minute: Minute, sleep: Sequence[tuple[Minute, Minute]]) -> Minute:
    """When the person last got up at ``minute`` (the minute itself while asleep)."""
    i = bisect.bisect_right(sleep, (minute, float("inf"))) - 1
    if i < 0:
        return minute
    until = sleep[i][1]
    return minute if minute < until else until


def bouts_over_time_up(prompts: Iterable[Prompt],
                       sleep: Sequence[tuple[Minute, Minute]]) -> list[Prompt]:
    """Sitting prompts whose ``reason["bout_min"]`` is more than the minutes
    the person had been up: a bout carried over the night (or made of sleep)."""
    out = []
    for p in prompts:
        if p.kind not in SITTING_KINDS:
            continue
        bout = _int(p.reason.get("bout_min"))
        if bout is not None and bout > p.time - _last_up(p.time, sleep):
            out.append(p)
    return out


def morning_plan_messages(prompts: Iterable[Prompt],
                          sleep: Sequence[tuple[Minute, Minute]]) -> list[int]:
    """For each getting-up, the plan messages sent from the night before it
    to ``MORNING_MIN`` after it (version 2 promises at most one)."""
    mornings = [(start, until) for start, until in sleep[:-1]]
    counts = [0] * len(mornings)
    for p in prompts:
        if p.kind not in PLAN_KINDS:
            continue
        for i, (start, up) in enumerate(mornings):
            if start <= p.time < up + MORNING_MIN:
                counts[i] += 1
                break
    return counts


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the detectors found in one persona's run."""

    days: int
    nudges: dict[date, int]
    asleep: list[Prompt]  # while asleep after going to bed with a tap or seen lying
    asleep_untold: list[Prompt]  # while asleep after a bed the person did not tell
    contradictions: list[tuple[Prompt, Prompt]]
    progressions: list[Prompt]
    bouts_over_up: list[Prompt]
    mornings: list[int]  # plan messages per morning

    @property
    def nudges_max(self) -> int:
        return max(self.nudges.values(), default=0)

    @property
    def nudges_mean(self) -> float:
        return statistics.fmean(self.nudges.values()) if self.nudges else 0.0


def judge(prompts: Sequence[Prompt], truth: Recording, *,
          day_start: clock = clock(4, 0)) -> Verdict:
    return Verdict(
        days=truth.days,
        nudges=nudges_per_day(prompts, truth.timezone, truth.dates(), day_start),
        asleep=prompts_asleep(prompts, [s for s in truth.sleep
                                          if s[0] not in truth.untold_beds]),
        asleep_untold=prompts_asleep(prompts, [s for s in truth.sleep
                                                if s[0] in truth.untold_beds]),
        contradictions=contradictions(prompts, truth.timezone, day_start=day_start),
        progressions=progressions(prompts),
        bouts_over_up=bouts_over_time_up(prompts, truth.sleep),
        mornings=morning_plan_messages(prompts, truth.sleep),
    )


# --- running the engine --------------------------------------------------------------


@dataclass(slots=True)
class Run:
    """The engine's outputs for one recording, and what went wrong feeding it."""

    recording: Recording
    prompts: list[Prompt] = field(default_factory=list)
    summaries: list[Summary] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    # Commands the engine refused or raised on (an engine without day or
    # exercise commands yet), with why; the run goes on without them.
    rejected: list[tuple[TimedEvent, str]] = field(default_factory=list)
    settings_error: str | None = None  # the persona's settings, refused
    engine_error: str | None = None  # advance() raised: the run stopped there
    minutes: int = 0  # minutes the engine took
    seconds: float = 0.0

    @property
    def day_start(self) -> clock:
        value = self.recording.settings.get("day.start", clock(4, 0))
        return value if isinstance(value, clock) else clock.fromisoformat(str(value))

    def verdict(self) -> Verdict:
        return judge(self.prompts, self.recording, day_start=self.day_start)


def persona_rules(recording: Recording, base: Rules | None = None) -> Rules:
    """The rules with the persona's settings applied (raises CommandRejected)."""
    rules = base if base is not None else Rules()
    return apply_settings(rules, recording.settings) if recording.settings else rules


def run(recording: Recording) -> Run:
    """The recording through the engine as ``bench/replay_year.py`` feeds it:
    each command due by the end of a minute before that minute, every output
    kept. The person never answers a prompt: the recording cannot react."""
    result = Run(recording)
    try:
        rules = persona_rules(recording)
    except Exception as exc:  # a setting this engine does not know yet: run without them
        result.settings_error = str(exc)
        rules = Rules()
    engine = Engine(rules, user=recording.persona, timezone=recording.timezone)
    events = recording.events
    nxt = 0
    t0 = time.perf_counter()

    def take(outputs: Iterable[object]) -> None:
        for out in outputs:
            if isinstance(out, Prompt):
                result.prompts.append(out)
            elif isinstance(out, Summary):
                result.summaries.append(out)
            elif isinstance(out, Dropped):
                result.dropped.append(out)
            elif isinstance(out, Outcome):
                result.outcomes.append(out)

    def send(event: TimedEvent) -> None:
        try:
            reply = engine.command(event.command, event.at)
        except Exception as exc:  # the engine cannot take this command yet
            result.rejected.append((event, f"{type(exc).__name__}: {exc}"))
            return
        if not reply.ok:
            result.rejected.append((event, reply.error or "refused"))
        take(reply.outputs)

    try:
        for epoch in recording.epochs:
            limit = (epoch.start + 1) * 60
            while nxt < len(events) and events[nxt].at <= limit:
                send(events[nxt])
                nxt += 1
            take(engine.advance(epoch))
            result.minutes += 1
        take(engine.close_day())
    except Exception as exc:  # report it in the table rather than lose the other personas
        result.engine_error = f"{type(exc).__name__}: {exc}"
    result.seconds = time.perf_counter() - t0
    return result
