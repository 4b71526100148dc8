"""The pacing engine: minutes and commands in, prompts, outcomes and summaries out.

It never reads a clock and never touches I/O. The daemon and ``pacer replay``
both feed it every minute in order (``advance``) and the person's commands with
the time they arrived (``command``); everything it decides is in what it
returns. Its whole state is plain data (``snapshot``/``restore``), so the daemon
can store it with each minute and carry on after a restart exactly where it was.
"""

from __future__ import annotations

import copy
from collections import deque
from dataclasses import dataclass, field, fields, is_dataclass, replace
from datetime import date, timedelta
from enum import Enum
from typing import Any

from pacer.engine import plan as pl
from pacer.engine.delivery import Gate, GateState, Verdict
from pacer.engine.model import (
    DELIVERY_ORDER,
    NUDGES,
    SNOOZE_DEFAULT_MIN,
    UNKNOWN_POSTURES,
    Ack,
    Alert,
    AlertCleared,
    Command,
    DayEvent,
    DaySummary,
    Dnd,
    Dropped,
    Epoch,
    Exercise,
    Outcome,
    OutcomeName,
    Output,
    PlanChange,
    PlanFigures,
    Posture,
    Prompt,
    PromptKind,
    RedFlagAlert,
    Reply,
    ReviewAlert,
    Status,
    Summary,
    Symptom,
    Window,
)
from pacer.engine.plan import DayRecord, PlanState
from pacer.engine.rules import MESSAGE_EXPIRY_MIN, WEEKDAYS, Rules, SittingRules
from pacer.engine.safety import tier_of
from pacer.engine.settings import PLAN_VALUES, apply_settings
from pacer.engine.sitting import Bout, BoutEnd, observe
from pacer.engine.tally import DayTally
from pacer.engine.texts import when_written, wording
from pacer.engine.walks import StepRun, follow
from pacer.engine.weekly import WeekBook, stored_day, week_key
from pacer.errors import CommandRejected
from pacer.timebase import (
    DayBounds,
    DayCalendar,
    Minute,
    iso,
    iso_seconds,
    parse_clock,
    to_datetime,
    zone,
)

STATE_VERSION = 5
# Restored too: 3 (version 1's) with the v2 fields at their defaults; 3 and 4
# kept the settle period, do-not-disturb and snoozes in unix seconds.
OLD_STATE_VERSIONS = (3, 4)
V1_STATE_VERSION = 3
SEDENTARY = Posture.SEDENTARY  # enum member lookups cost on the per-minute path
STEPPING = Posture.STEPPING
UPRIGHT = Posture.UPRIGHT
LYING = Posture.LYING
UNKNOWN = Posture.UNKNOWN
UP_RUN_MIN = 5  # a posture device shows the person up after this many minutes not lying
BED_LYING_MIN = 60  # lying this long near bedtime is going to bed (section 1)
BED_LYING_BEFORE_MIN = 120  # ... when it begins at most this long before day.sleep
FLOOR_AFTER_UP_MIN = 510  # the floor check comes 8.5 hours after getting up at the earliest
COVERAGE = 0.8  # the share of the window known that prompts about steps need
EXERCISE_GAP_DAYS = 2  # an exercise reminder after this many days without a session
WALK_QUIET_MIN = 30  # no walk reminder when the wearable sent nothing for this long
RECENT_PROMPTS = 64  # prompts an `ack` may name by id
ORDER = {kind: i for i, kind in enumerate(DELIVERY_ORDER)}
DEFAULT_SETTLE_TIMES = ("10:00", "14:00", "17:00")
MORE = frozenset(("walk_reminder", "floor_nudge"))  # prompts that ask for more activity
LESS = frozenset(("pace_ease_off", "ceiling_reached"))  # ... and for less
BOUT_FIRST = frozenset(("sitting_break", "standing_break"))  # may use the budget's reserve
TRAIL_MIN = 120  # wear.still_min's largest value: how far back "not worn" may reach
TRAIL_OUT = {Posture.SEDENTARY: "s", Posture.LYING: "l", Posture.UPRIGHT: "u",
             Posture.STEPPING: "p", Posture.UNKNOWN: "x", Posture.NOT_WORN: "n"}
TRAIL_IN = {posture: letter.upper() for posture, letter in TRAIL_OUT.items()}
BUDGET_HELD = "daily budget"
COVERAGE_KINDS = frozenset(("pace_ease_off", "ceiling_reached", "floor_nudge"))
# The morning message's parts, in the order it says them (section 8, v2).
MORNING_PARTS = ("alert_cleared", "settle_end", "first_quota", "weekly_review", "amber_day",
                 "plan_change", "boom_followup")


@dataclass(slots=True)
class Pending:
    """The latest sitting prompt whose outcome is not decided yet."""

    prompt_id: str
    time: Minute
    bout_start: Minute


@dataclass(slots=True)
class Recent:
    id: str
    kind: PromptKind
    time: Minute
    decided: bool = False


@dataclass(slots=True)
class Queued:
    """A prompt waiting for a minute it may be sent in. Plan messages carry
    their reason; a nudge's reason is worked out when it goes out (its
    numbers are those of that minute, and None means it no longer applies)."""

    kind: PromptKind
    due: Minute
    reason: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Arrival:
    """When a command arrived, as engine minutes: converted once, where it
    enters (``Engine.command``)."""

    minute: Minute  # the minute it arrived in
    edge: Minute  # the first whole minute at or after it: N minutes from it hold until edge + N
    seconds: float  # unix seconds: only for what is published with its seconds


@dataclass(slots=True)
class EngineState:
    next_minute: Minute | None = None
    seq: int = 0
    bout: Bout | None = None
    pending: Pending | None = None
    run: StepRun | None = None
    sit_catchup: Minute | None = None  # a snooze or do-not-disturb ends here
    gate: GateState = field(default_factory=GateState)
    recent: list[Recent] = field(default_factory=list)
    queue: list[Queued] = field(default_factory=list)
    tally: DayTally | None = None
    plan: PlanState = field(default_factory=PlanState)
    week: WeekBook | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    posture: str = Posture.UNKNOWN.value  # of the last epoch, for the state topic
    last_data: Minute | None = None  # the end of the last minute a worn wearable gave data for
    still_since: Minute | None = None  # a still run, not yet known not worn, began here
    ignored_streak: int = 0  # sitting prompts in a row ignored or dismissed
    morning: list[dict[str, Any]] = field(default_factory=list)  # parts for the next morning
    stand: list[int] = field(default_factory=lambda: [0, 0, 0])  # standing: run, break run,
    # prompts in this run (posture devices)
    tap: list[Any] | None = None  # [minute, "up"|"bed"]: a tap for a minute not reached yet
    from_v1: bool = False  # restored from a state version 1 wrote (not stored)
    # The last minutes' postures, one letter each (capital: in the window), so
    # a late "not worn" can take them back out of the figures.
    trail: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = _plain(self)
        data["gate"]["sent"] = list(self.gate.sent)
        data["trail"] = "".join(self.trail[-TRAIL_MIN:])
        del data["from_v1"]
        week = data["week"]
        if week is not None:
            week["days"] = [{**d, "flags": list(d["flags"]), "symptoms": list(d["symptoms"]),
                             "walk_lengths": list(d["walk_lengths"])} for d in week["days"]]
        data["v"] = STATE_VERSION
        return data

    @classmethod
    def from_json(cls, snapshot: dict[str, Any]) -> EngineState:
        data = copy.deepcopy(snapshot)  # the state must not share lists with its source
        if data.get("v") != STATE_VERSION and data.get("v") not in OLD_STATE_VERSIONS:
            raise ValueError(f"engine state version {data.get('v')!r} is not {STATE_VERSION}")
        if data["v"] in OLD_STATE_VERSIONS:
            _seconds_to_minutes(data)
        gate = data["gate"]
        plan = data["plan"]
        plan["history"] = [DayRecord(**r) for r in plan["history"]]
        tally = data["tally"]
        if tally is not None and tally["plan_at_sleep"] is not None:
            tally["plan_at_sleep"] = PlanFigures(**tally["plan_at_sleep"])
        week = data["week"]
        if week is not None:
            week["days"] = [stored_day(r) for r in week["days"]]

        def opt(kind: Any, value: Any) -> Any:
            return kind(**value) if value else None

        return cls(
            next_minute=data["next_minute"],
            seq=data["seq"],
            bout=opt(Bout, data["bout"]),
            pending=opt(Pending, data["pending"]),
            run=opt(StepRun, data["run"]),
            sit_catchup=data["sit_catchup"],
            gate=GateState(
                dnd_until=gate["dnd_until"],
                dnd_until_s=gate["dnd_until_s"],
                snooze_until=dict(gate["snooze_until"]),
                sent=deque(gate["sent"]),
            ),
            recent=[Recent(**r) for r in data["recent"]],
            queue=[Queued(**q) for q in data["queue"]],
            tally=opt(DayTally, data["tally"]),
            plan=PlanState(**plan),
            week=opt(WeekBook, data["week"]),
            overrides=dict(data["overrides"]),
            posture=data["posture"],
            last_data=data.get("last_data"),
            still_since=data.get("still_since"),
            ignored_streak=data.get("ignored_streak", 0),
            morning=list(data.get("morning", [])),
            stand=list(data.get("stand", [0, 0, 0])),
            trail=list(data.get("trail", "")),
            tap=data.get("tap"),
            from_v1=data["v"] == V1_STATE_VERSION,
        )


def _minute_after(seconds: float) -> Minute:
    """The first whole minute at or after ``seconds`` (unix): where a period
    that ends then stops holding whole minutes."""
    return -int(-seconds // 60)


def _seconds_to_minutes(data: dict[str, Any]) -> None:
    """A state before version 5: its settle period, do-not-disturb and snoozes
    ended at unix seconds; each becomes the first minute it no longer holds
    (what the seconds meant minute by minute), the ends that are published keep
    their seconds, and the settle period's start its minute."""
    gate = data["gate"]
    dnd = gate["dnd_until"]
    gate["dnd_until"] = None if dnd is None else _minute_after(dnd)
    gate["dnd_until_s"] = dnd
    gate["snooze_until"] = {kind: _minute_after(until)
                            for kind, until in gate["snooze_until"].items()}
    plan = data["plan"]
    until, start = plan["settle_until"], plan["settle_from"]
    plan["settle_until"] = None if until is None else _minute_after(until)
    plan["settle_until_s"] = until
    plan["settle_from"] = None if start is None else int(start // 60)


_ATOMS = (int, float, str, bool, type(None), Enum)
_FIELDS: dict[type, tuple[str, ...]] = {}


def _plain(value: Any) -> Any:
    """What ``dataclasses.asdict`` gives, about five times faster: the state is
    stored with every minute, and asdict deep-copies each leaf on the way."""
    if isinstance(value, _ATOMS):
        return value
    kind = type(value)
    if kind is list or kind is deque:
        return [_plain(v) for v in value]
    if kind is tuple:
        return tuple(_plain(v) for v in value)
    if kind is dict:
        return {_plain(k): _plain(v) for k, v in value.items()}
    names = _FIELDS.get(kind)
    if names is None:
        if not is_dataclass(value):
            return copy.deepcopy(value)
        names = _FIELDS[kind] = tuple(f.name for f in fields(value))
    return {name: _plain(getattr(value, name)) for name in names}


class Engine:
    def __init__(
        self, rules: Rules, *, user: str, timezone: str, state: EngineState | None = None
    ) -> None:
        self.base_rules = rules
        self.user = user
        self.timezone = timezone
        self.tz = zone(timezone)
        # History (minutes from before pacer, ``pacer import``): the days' figures
        # and the plan learn from them, but no prompt is decided, so none is
        # counted as sent, ignored or taken on a day when nobody was asked.
        self.history = False
        self._take_state(state if state is not None else EngineState())

    def rewind(self, snapshot: dict[str, Any]) -> None:
        """Go back to a state taken earlier (``snapshot``): what the shell does
        when it could not store what followed, so nothing is applied that was
        not recorded."""
        self._take_state(EngineState.from_json(snapshot))

    def _take_state(self, state: EngineState) -> None:
        self.state = state
        rules = self.base_rules
        self.rules = apply_settings(rules, state.overrides) if state.overrides else rules
        self.gate = Gate(self.state.gate)
        self._day: DayBounds | None = None
        self._schedule: dict[Minute, list[str]] = {}
        # The sitting rules in force, worked out once (``_sitting_rules``) and
        # forgotten whenever the rules, the grown limit or a settle period change.
        self._sit: SittingRules | None = None
        # Until this minute the live conditions cannot change unless steps
        # arrive (an optimisation only: 0 means "check").
        self._quiet_until: Minute = 0
        self._rules_changed()
        self._new_calendar()
        if self.state.from_v1:
            self._from_v1()

    def _from_v1(self) -> None:
        """A state written by version 1 knew only the fixed window: the day it
        was in keeps that window, its morning already said (v1 spoke at
        day.wake); later days follow version 2."""
        st = self.state
        st.from_v1 = False
        tally, now = st.tally, st.next_minute
        if tally is None or now is None or tally.opened is not None:
            return
        day = self.calendar.bounds(date.fromisoformat(tally.day))
        if now <= day.wake:
            return  # the window has not opened yet: version 2 opens it
        tally.opened, tally.opened_by, tally.morning_done = day.wake, "configured", True
        tally.since, tally.close_due = day.wake, day.sleep
        tally.window_min = min(now, day.sleep) - day.wake
        if now < day.sleep:
            tally.open = True
        else:
            tally.closed, tally.closed_by, tally.since = day.sleep, "configured", day.sleep
        self._schedule = self._day_schedule(day)

    def _new_calendar(self) -> None:
        day = self.rules.day
        own = {i: day.times(i) for i in range(7) if day.has_own_times(i)}
        self.calendar = DayCalendar(self.tz, day.start, day.wake, day.sleep, own)
        self._day = None

    # --- persistence ------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return self.state.to_json()

    @classmethod
    def restore(
        cls, rules: Rules, *, user: str, timezone: str, snapshot: dict[str, Any]
    ) -> Engine:
        return cls(rules, user=user, timezone=timezone, state=EngineState.from_json(snapshot))

    @property
    def next_minute(self) -> Minute | None:
        """The next minute the engine expects (None before the first)."""
        return self.state.next_minute

    # --- minutes ------------------------------------------------------------------

    def advance(self, epoch: Epoch) -> list[Output]:
        """Take the next epoch; minutes skipped since the last one count as
        unknown. Everything decided is stamped with the epoch's end."""
        expected = self.state.next_minute
        if expected is not None and epoch.start < expected:
            raise ValueError(
                f"epoch {iso(epoch.start, self.tz)} was already processed; "
                f"the engine expects {iso(expected, self.tz)} or later"
            )
        out: list[Output] = []
        if expected is not None and expected != epoch.start:
            for minute in range(expected, epoch.start):
                self._step(Epoch.unknown(minute), out)
        self._step(epoch, out)
        return out

    def close_day(self) -> list[Summary]:
        """The current day's and week's summaries as final (the end of a replay)."""
        st = self.state
        if st.tally is None or st.next_minute is None:
            return []
        now = st.next_minute
        day = self._day_summary(final=True, now=now)
        book = self._book()
        book.add(day)
        today = self._record(st.tally, day)
        return [Summary("day", day.date, True, now, day),
                self._week_summary(book, now, today=today)]

    def _step(self, epoch: Epoch, out: list[Output]) -> None:
        st = self.state
        t = epoch.start
        now = t + 1
        day = self._day
        if day is None or not day.start <= t < day.end:
            day = self._enter_day(t, out)
        tally = st.tally
        assert tally is not None
        plan = st.plan
        posture = epoch.posture
        if posture not in UNKNOWN_POSTURES:
            st.last_data = now  # a wearable not worn is as quiet as one not heard
        if not tally.open and tally.opened is None and day.start <= t < day.sleep:
            late = day.wake + self._late
            if t >= late:
                # Nothing said the person was up by then (or pacer saw nothing
                # before): the window opened at the configured time.
                self._open(late, "configured", now, day)
            elif t >= day.wake - self._early and self._is_up(epoch, tally, t >= day.wake):
                # the minute that shows the person up (for a posture device the
                # first of the run that did)
                first = t - tally.up_run + 1 if not epoch.inferred else t
                self._open(first, "detected", now, day)
                if first < t:
                    self._count_back(first, t)
        in_window = tally.open
        if in_window:
            tally.window_min += 1

        if plan.settle_until is not None:
            if t < plan.settle_until:
                tally.settling = True  # this minute lay inside the settle period
            if now >= plan.settle_until:
                self._end_settle(now)  # decided when the minute it ends in is over
        steps = epoch.steps
        bout = st.bout
        sitting = in_window and posture is SEDENTARY
        if sitting:
            # The commonest minute, counted as count_epoch would, without the call.
            tally.steps += steps
            tally.known_min += 1
            tally.sedentary_min += 1
            if epoch.inferred:
                tally.sedentary_inferred_min += 1
            tally.last_posture = posture
        else:
            tally.count_epoch(epoch, in_window)
        if steps and in_window and tally.opened is not None:
            slot = (t - tally.opened) // pl.SLOT_MIN
            if 0 <= slot < len(tally.slot_steps):
                tally.slot_steps[slot] += steps
        gate = st.gate
        if gate.dnd_until is not None or gate.snooze_until:
            self.gate.expire(now)

        # Only minutes inside the window make a sitting bout: nothing carries
        # over the night (section 2, v2).
        if sitting and bout is not None and (
                steps < (self._sit or self._sitting_rules()).break_steps):
            # One more sitting minute of a bout, as sitting.observe counts it.
            bout.sedentary_min += 1
            bout.unknown_run = bout.move_run = 0
            bout.window_min += 1
            if epoch.inferred:
                bout.inferred = True
        elif in_window and (bout is not None or posture is SEDENTARY):
            bout, end = observe(bout, epoch, self._sitting_rules())
            if bout is not None:
                if posture is SEDENTARY:
                    bout.window_min += 1
                    if epoch.inferred:
                        bout.inferred = True
                if bout.start == t and bout.sedentary_min == 1:
                    streak = self.rules.sitting.ignored_streak
                    bout.first_only = bool(streak) and st.ignored_streak >= streak
            st.bout = bout
            if end is not None:
                self._bout_ended(end, now, out)
                st.sit_catchup = None
        elif not in_window and st.bout is not None:
            self._bout_cut(st.bout)
        if st.pending is not None:
            self._close_response_window(t, now, out)
        if self._standing_limit and not epoch.inferred:
            self._standing(epoch, in_window, now)

        if st.run is not None or posture is STEPPING:
            run, ended = follow(st.run, epoch, in_window)
            st.run = run
            if ended is not None:
                self._run_ended(ended)

        if posture is LYING:
            self._lying(t, in_window, now, day, out)
        elif tally.lying_from is not None:
            tally.lying_from = None

        # A tap for a later minute than the engine had reached, once it is reached.
        if st.tap is not None and now >= st.tap[0]:
            minute, event = st.tap
            st.tap = None
            self._tapped(event, minute, day, out)
        # The configured edges of the window, at the end of this minute.
        if not tally.open:
            if tally.opened is None and day.wake + self._late <= now < day.sleep:
                self._open(now, "configured", now, day)
        elif now >= tally.close_due:
            self._close(tally.close_due, "configured", now, out)

        if now in self._schedule:
            for job in self._schedule[now]:
                self._job(job, now, day, out)
        if steps or now >= self._quiet_until:
            self._conditions(now, day)
        elif st.run is not None and not st.run.rest_prompted:
            self._long_bout(now)
        if tally.open and not tally.silent_sent and (
                st.last_data is None or now - st.last_data >= self._silent_min):
            self._silent(now)
        bout = st.bout
        if st.queue or (bout is not None and (st.sit_catchup is not None or (
                bout.held != BUDGET_HELD and self._sitting_may_come(bout)))):
            self._deliver(epoch, now, day, out)

        st.next_minute = now
        st.posture = posture  # a StrEnum: its own name as a string
        trail = st.trail
        # "I": a sitting minute of the window inferred from zero steps
        trail.append("I" if sitting and epoch.inferred else
                     (TRAIL_IN if in_window else TRAIL_OUT)[posture])
        if len(trail) > 2 * TRAIL_MIN:
            del trail[:-TRAIL_MIN]

    # --- the waking window (docs/pacing-rules.md section 1, v2) -------------------------

    def _rules_changed(self) -> None:
        """Values read every minute, taken from the rules once."""
        rules = self.rules
        self._early = rules.day.wake_early_min
        self._late = rules.day.wake_late_min
        self._silent_min = rules.wear.silent_min
        self._standing_limit = rules.standing.limit_min
        self._sit = None

    @staticmethod
    def _is_up(epoch: Epoch, tally: DayTally, after_wake: bool) -> bool:
        """A minute that shows the person up: for a step-only device a stepping
        minute; for a posture device any posture but lying (a person seen
        sitting at their desk is up), except that before ``day.wake`` standing
        and walking count after ``UP_RUN_MIN`` minutes in a row (a trip to the
        toilet in the night is not getting up)."""
        posture = epoch.posture
        if epoch.inferred:
            return posture is STEPPING
        if posture is LYING or posture in UNKNOWN_POSTURES:
            tally.up_run = 0
            return False
        tally.up_run += 1
        return after_wake or posture is SEDENTARY or tally.up_run >= UP_RUN_MIN

    def _count_back(self, first: Minute, t: Minute) -> None:
        """The minutes of the run that showed the person up, before the one that
        decided it, join the window's figures."""
        st = self.state
        tally = st.tally
        assert tally is not None
        trail = st.trail
        run = st.run
        for minute in range(first, t):
            i = len(trail) - (t - minute)
            if i < 0:
                continue
            letter = trail[i]  # standing or walking: lying and sitting end the run
            tally.known_min += 1
            tally.window_min += 1
            if letter == "u":
                tally.upright_min += 1
            elif letter == "p":
                tally.stepping_min += 1
                if run is not None and minute >= run.start:
                    run.window_min += 1  # a walk that got the person up counts whole
        for i in range(max(0, len(trail) - (t - first)), len(trail)):
            trail[i] = trail[i].upper()

    def _open(self, minute: Minute, by: str, now: Minute, day: DayBounds) -> None:
        """The window opens at ``minute`` (its first minute); decided at ``now``."""
        st = self.state
        tally = st.tally
        assert tally is not None
        if tally.opened is None:
            tally.opened, tally.opened_by = minute, by
        tally.open = True
        tally.closed = tally.closed_by = None
        tally.since = minute
        # A window the person opened with a tap lasts at least as long as a
        # configured one, so a night worker's evening "I'm up" is not closed at
        # the configured bedtime; the day's end closes any window.
        due = day.sleep
        if by == "event":
            due = max(due, minute + (day.sleep - day.wake))
        tally.close_due = min(due, day.end)
        self._quiet_until = 0
        if not tally.morning_done:
            tally.morning_done = True
            self._schedule = self._day_schedule(day)
            self._morning(now, day)
        self._flush_morning(now)

    def _close(self, minute: Minute, by: str, now: Minute, out: list[Output]) -> None:
        """The window closes at ``minute``; its figures so far are summarised."""
        st = self.state
        tally = st.tally
        assert tally is not None
        tally.open = False
        tally.closed, tally.closed_by = minute, by
        tally.since = minute
        if st.bout is not None:
            self._bout_cut(st.bout)
        self._flag_boom(now)
        tally.plan_at_sleep = self._plan_figures(now)
        tally.walks_planned, tally.walk_target, _ = self._walk_plan(now)
        out.append(Summary("day", tally.day, False, now, self._day_summary(final=False, now=now)))

    def _lying(self, t: Minute, in_window: bool, now: Minute, day: DayBounds,
               out: list[Output]) -> None:
        """Lying for an hour that began near bedtime is going to bed: the
        window closes when the lying began (posture devices)."""
        tally = self.state.tally
        assert tally is not None
        if tally.lying_from is None:
            tally.lying_from, tally.lying_window = t, 0
        if in_window:
            tally.lying_window += 1
        if (
            now - tally.lying_from < BED_LYING_MIN
            or tally.lying_from < day.sleep - BED_LYING_BEFORE_MIN
        ):
            return
        if tally.open:
            tally.uncount_lying(tally.lying_window)
            self._close(tally.lying_from, "detected", now, out)
        elif tally.closed_by == "configured" and tally.closed is not None \
                and tally.lying_from < tally.closed:
            # Bed came before the configured bedtime that closed the window.
            tally.uncount_lying(tally.lying_window)
            tally.closed, tally.closed_by = tally.lying_from, "detected"
        tally.lying_window = 0

    def _day_event(self, cmd: DayEvent, now: Minute) -> Reply:
        """A tap is always believed, at any hour (section 1)."""
        st = self.state
        tally = st.tally
        assert tally is not None
        out: list[Output] = []
        if st.next_minute is not None and now > st.next_minute:
            # Minutes before the tap are still to come: it takes effect from its
            # own minute on.
            st.tap = [now, cmd.event]
            return Reply(True)
        self._tapped(cmd.event, now, self._current_day(), out)
        return Reply(True, outputs=tuple(out))

    def _tapped(self, event: str, minute: Minute, day: DayBounds, out: list[Output]) -> None:
        tally = self.state.tally
        assert tally is not None
        if event == "up":
            if not tally.open:
                self._open(minute, "event", minute, day)
        elif tally.open:
            self._close(minute, "event", minute, out)

    def not_worn(self, first: Minute, end: Minute) -> None:
        """A wearable found out that minutes [first, end) it gave were not worn
        (a still run): they become unknown after the fact, leaving the sitting
        bout and the day's figures (docs/pacing-rules.md section 1, v2). Only minutes
        of today's window in the last ``TRAIL_MIN`` count; later ones are told
        as ``not_worn`` epochs."""
        st = self.state
        tally = st.tally
        if tally is None or st.next_minute is None:
            return
        trail = st.trail
        base = st.next_minute - len(trail)
        bout = st.bout
        reach = max(first, base, st.next_minute - TRAIL_MIN, tally.opened or base)
        for minute in range(reach, min(end, st.next_minute)):
            i = minute - base
            letter = trail[i]
            if not letter.isupper():
                continue  # outside the window: counted for steps only
            trail[i] = "N"
            if letter in "XN":
                continue
            tally.known_min -= 1
            tally.not_worn_min += 1
            if letter in "SI":
                tally.sedentary_min -= 1
                if letter == "I":
                    tally.sedentary_inferred_min -= 1
                if bout is not None and minute >= bout.start and bout.sedentary_min:
                    bout.sedentary_min -= 1
                    bout.window_min -= 1
            elif letter == "L":
                tally.lying_min -= 1
            elif letter == "U":
                tally.upright_min -= 1
            else:
                tally.stepping_min -= 1
        if bout is not None and bout.sedentary_min <= 0:
            st.bout = None  # the whole bout was the wearable lying still
        if st.last_data is not None and st.last_data > first:
            st.last_data = first  # no worn data since the run began
        if st.still_since is not None and st.still_since < end:
            st.still_since = None

    def still(self, first: Minute | None) -> None:
        """A wearable's motion has been still since minute ``first``, a run not
        yet long enough to call it not worn (None: no such run). Until the run
        breaks (the sitting prompt then goes out, late by up to
        ``wear.still_min`` minutes) or is found not worn (``not_worn``: its
        minutes leave the bout), no sitting prompt is sent that needs the run's
        minutes to be due, so none is ever about minutes later found not worn
        (docs/pacing-rules.md section 1, v2): a bout at its limit before the
        run began gets its first prompt."""
        self.state.still_since = first

    def revise(self, changes: list[tuple[Epoch, Epoch]]) -> list[Output]:
        """Minutes given before, each ``(as given, as revised)``, relabelled after
        the fact (a thigh or waist sensor that has learnt its mount labels the
        minutes before it). Only minutes of today's window count: the day's
        sedentary, upright, stepping and lying minutes (and the inferred ones)
        move from the old posture to the new; steps stay. Nothing is decided
        about the past: no prompt, and the sitting bouts stay as they were
        followed live (the longest bout and the bouts of 30 and 60 minutes are
        those prompts were about; a morning of sitting first inferred from no
        steps was a bout live already), but for the bout still running: its
        minutes revised from sitting to lying leave it (``_lying_in_bout``: a
        band's sleep mark arrives while its wearer sleeps on). The window stays
        where it opened and closed; a day already closed keeps its final
        summary. With the window closed for the day, the corrected provisional
        summary is given again."""
        st = self.state
        tally = st.tally
        if tally is None or st.next_minute is None:
            return []
        now = st.next_minute
        trail = st.trail
        base = now - len(trail)
        opened = now if tally.opened is None else tally.opened
        end = now if tally.open or tally.closed is None else tally.closed
        counted = False
        for old, new in changes:
            minute = old.start
            i = minute - base
            if 0 <= i < len(trail):  # the trail says exactly what was counted
                letter = trail[i]
                if letter in "XNxn":
                    continue  # taken back as not worn, or unknown then
                if not letter.isupper():
                    trail[i] = TRAIL_OUT[new.posture]  # for a window opened later
                    continue
                if minute < opened:
                    continue  # the day before's window
                trail[i] = "I" if new.posture is SEDENTARY and new.inferred \
                    else TRAIL_IN[new.posture]
            elif not opened <= minute < end:
                continue
            if old.posture in UNKNOWN_POSTURES or new.posture in UNKNOWN_POSTURES:
                continue
            _recount(tally, old, -1)
            _recount(tally, new, 1)
            counted = counted or old != new
        if st.bout is not None:
            self._lying_in_bout([old.start for old, new in changes
                                 if old.posture is SEDENTARY and new.posture is LYING])
        if not counted or tally.open or tally.closed is None:
            return []
        return [Summary("day", tally.day, False, now, self._day_summary(final=False, now=now))]

    def _lying_in_bout(self, minutes: list[Minute]) -> None:
        """Minutes the running bout counted as sitting, revised to lying (the
        trail has them as ``L`` now): lying is no sitting, so they leave the
        bout's length; and ``sitting.break_min`` of them in a row are a break
        the live stream could not see. The bout then ends where the latest such
        run began, counted as far as it was sitting, with no outcome decided
        (nothing about the past), and the sitting after the run, if any, is a
        bout of its own from its first minute. So a band's sleep marks, each
        fetched a few minutes late, never let a bout grow through a nap or a
        night in an open window."""
        st = self.state
        bout = st.bout
        now = st.next_minute
        if bout is None or now is None:
            return
        trail = st.trail
        base = now - len(trail)
        lying = sorted({m for m in minutes
                        if bout.start <= m < now and m >= base and trail[m - base] == "L"})
        if not lying:
            return
        # The latest run of lying in the bout, with a minute just revised in it,
        # long enough for a break (lying given live or revised before counts too).
        need = self._sitting_rules().break_min
        run: tuple[Minute, Minute] | None = None
        oldest = max(bout.start, base)
        minute = now - 1
        while minute >= oldest and run is None:
            if trail[minute - base] == "L":
                end = minute + 1
                while minute > oldest and trail[minute - 1 - base] == "L":
                    minute -= 1
                if end - minute >= need and any(minute <= m < end for m in lying):
                    run = (minute, end)
            minute -= 1
        if run is None:
            bout.sedentary_min -= len(lying)
            bout.window_min -= len(lying)
            if bout.sedentary_min <= 0:
                st.bout = None
            return
        after = [m for m in range(run[1], now) if trail[m - base] in "SI"]
        later = len([m for m in lying if m >= run[0]]) + len(after)
        earlier = len([m for m in lying if m < run[0]])
        bout.sedentary_min -= later + earlier
        bout.window_min -= later + earlier
        if bout.sedentary_min > 0:
            self._bout_cut(bout)
        st.bout = None
        st.sit_catchup = None
        if after:
            st.bout = Bout(start=after[0], sedentary_min=len(after), window_min=len(after),
                           inferred=any(trail[m - base] == "I" for m in after))

    def _bout_cut(self, bout: Bout) -> None:
        """A bout the window's close ends: counted, with no break and no outcome."""
        tally = self.state.tally
        assert tally is not None
        if bout.window_min:
            tally.bouts.append(bout.window_min)
        self.state.bout = None

    def _standing(self, epoch: Epoch, in_window: bool, now: Minute) -> None:
        """Upright too long without a break (posture devices, section 2, v2):
        the sitting rules' repeats and break apply."""
        st = self.state
        run, moving, prompts = st.stand
        posture = epoch.posture
        if not in_window or posture in UNKNOWN_POSTURES:
            st.stand = [0, 0, 0] if not in_window else [run, 0, prompts]
            return
        sitting = self._sitting_rules()
        if posture is UPRIGHT and epoch.steps < sitting.break_steps:
            run, moving = run + 1, 0
        else:
            moving += 1
            if moving >= sitting.break_min or epoch.steps >= sitting.break_steps:
                run, moving, prompts = 0, 0, 0
        limit = self._standing_limit
        if run >= limit and prompts < 1 + sitting.max_repeats and (
            (run - limit) % sitting.repeat_min == 0
        ):
            self._queue("standing_break", now, {"bout_min": run, "limit_min": limit,
                                                "repeat": prompts})
            prompts += 1
        st.stand = [run, moving, prompts]

    def _silent(self, now: Minute) -> None:
        """The wearable went quiet inside the window (section 8, v2)."""
        st = self.state
        tally = st.tally
        assert tally is not None
        assert tally.opened is not None
        since = max(st.last_data or 0, tally.since or tally.opened)
        if now - since >= self._silent_min:
            tally.silent_sent = True
            self._queue("wearable_silent", now, {
                "since": iso(st.last_data, self.tz) if st.last_data is not None else None})

    # --- days ------------------------------------------------------------------------

    def _enter_day(self, t: Minute, out: list[Output]) -> DayBounds:
        day = self._day
        if day is not None and day.start <= t < day.end:
            return day
        day = self.calendar.bounds_of(t)
        self._day = day
        st = self.state
        key = day.day.isoformat()
        carry = False
        if st.tally is not None and st.tally.day != key:
            old = st.tally
            # A window the person opened with a tap runs on into the new day
            # (a night worker's shift across day.start); any other closes.
            carry = old.open and old.opened_by == "event"
            if old.open:
                self._close(min(old.close_due, day.start), "day_end", day.start, out)
            self._finish_day(old, out)
            st.tally = None
        if st.tally is None:
            slots = -(-(day.end - day.start) // pl.SLOT_MIN)
            st.tally = DayTally(day=key, slot_steps=[0] * slots)
            st.stand = [0, 0, 0]
        tally = st.tally
        tally.walks_planned, tally.walk_target, _ = self._walk_plan(day.start)
        self._schedule = self._day_schedule(day)
        if carry:
            self._open(day.start, "event", day.start, day)
        return day

    def _finish_day(self, tally: DayTally, out: list[Output]) -> None:
        """Day rollover: the final summary, the day's record, the baseline."""
        st = self.state
        plan = st.plan
        if st.bout is not None:
            self._bout_cut(st.bout)
        old = self.calendar.bounds(date.fromisoformat(tally.day))
        summary = self._day_summary(final=True, now=old.end)
        out.append(Summary("day", summary.date, True, old.end, summary))
        record = self._record(tally, summary)
        pl.remember(plan, record)
        book = self._book()
        book.add(summary)
        next_day = date.fromisoformat(tally.day) + timedelta(days=1)
        if week_key(next_day) != book.week:
            out.append(self._week_summary(book, old.end))
            st.week = None
        if plan.quota is None and record.valid and not record.settling:
            plan.baseline_steps.append(record.steps)
            if len(plan.baseline_steps) >= self.rules.plan.baseline_days:
                self._complete_baseline(next_day)

    def _record(self, tally: DayTally, day: DaySummary) -> DayRecord:
        figures = day.plan
        return DayRecord(
            day=tally.day,
            steps=tally.steps,
            valid=day.valid,
            quota=figures.quota,
            floor=figures.floor,
            ceiling=figures.ceiling,
            baseline=figures.phase == "baseline" or self.state.plan.quota is None,
            boom="boom" in day.flags,
            bust="bust" in day.flags,
            red=tally.red,
            amber=tally.amber,
            settling=tally.settling,
            prompted=tally.prompted,
            taken=tally.taken,
            walks=tally.walks,
            walks_planned=tally.walks_planned,
            profile=pl.cumulative_shares(tally.slot_steps),
        )

    def _complete_baseline(self, first_day: date) -> None:
        plan = self.state.plan
        rules = self.rules.plan
        plan.baseline = pl.baseline_of(plan.baseline_steps)
        plan.baseline80 = pl.percentile(plan.baseline_steps, 0.8)
        plan.quota = round(plan.baseline * rules.start_factor)
        plan.phase = "progressing"
        plan.completed_on = first_day.isoformat()
        why = (f"the baseline is complete: the median of {len(plan.baseline_steps)} days was "
               f"{plan.baseline:,} steps, and the plan starts at "
               f"{round(rules.start_factor * 100)}% of it")
        fitted = self._fit_walks(plan.quota)
        if fitted:
            why += f"; {fitted}"
        wake = self.calendar.bounds(first_day).wake
        self._plan_update(None, plan.quota, why, wake, by="pacer", part="first_quota")

    def _day_schedule(self, day: DayBounds) -> dict[Minute, list[str]]:
        """Clock-time jobs of one day once its window has opened, keyed by the
        minute they run (their evaluation time)."""
        tally = self.state.tally
        jobs: dict[Minute, list[str]] = {}
        if tally is None or tally.opened is None:
            return jobs

        def add(minute: Minute, job: str) -> None:
            jobs.setdefault(minute, []).append(job)

        up = tally.opened
        for i, minute in enumerate(self._walk_times(day, up)):
            add(minute, f"walk:{i + 1}")
        floor_at = max(day.at(self.rules.pacing.floor_check_time, self.tz),
                       up + FLOOR_AFTER_UP_MIN)
        add(floor_at, "floor")
        if self.rules.exercise.per_week:
            add(max(day.at(self.rules.exercise.reminder, self.tz), up + 1), "exercise")
        return jobs

    def _walk_times(self, day: DayBounds, up: Minute) -> list[Minute]:
        """The day's walk reminders in the order they fall (section 3, v2): one
        that falls before getting up moves to ``walks.after_up_min`` after it,
        or is dropped when the next reminder comes sooner."""
        _, _, times = self._walk_plan(day.start)
        minutes = sorted(day.at(clock, self.tz) for clock in times)
        moved = up + self.rules.walks.after_up_min
        out: list[Minute] = []
        for i, clock_minute in enumerate(minutes):
            minute = clock_minute
            if minute <= up:
                later = minutes[i + 1] if i + 1 < len(minutes) else None
                if later is not None and later <= moved:
                    continue
                minute = moved
            if not out or minute > out[-1]:
                out.append(minute)
        return out

    def _walk_plan(self, now: Minute) -> tuple[int, int, tuple[Any, ...]]:
        """(walks per day, target minutes per walk, reminder times) in force at ``now``."""
        plan = self.state.plan
        walks = self.rules.walks
        if plan.settling(now):
            settle = self.rules.settle
            count = plan.settle_walks if plan.settle_walks is not None else settle.walks_per_day
            minutes = plan.settle_walk_min if plan.settle_walk_min is not None else (
                settle.walk_min)
            times = walks.times if len(walks.times) >= count else tuple(
                parse_clock(t) for t in DEFAULT_SETTLE_TIMES)
            return count, minutes, tuple(times[:count])
        count = plan.walks_per_day if plan.walks_per_day is not None else walks.per_day
        minutes = plan.walk_min if plan.walk_min is not None else walks.start_min
        return count, minutes, tuple(walks.times[:count])

    # --- clock-time jobs ---------------------------------------------------------------

    def _job(self, job: str, now: Minute, day: DayBounds, out: list[Output]) -> None:
        if job == "floor":
            tally = self.state.tally
            assert tally is not None
            quota = pl.quota_in_force(self.state.plan, self.rules, tally.day, now)
            floor, _ = self._band(quota, now)
            if floor is not None and tally.steps < floor and not tally.ceiling_hit:
                self._queue("floor_nudge", now)
        elif job == "exercise":
            reason = self._exercise_reason(now, day)
            if reason is not None:
                self._queue("exercise_reminder", now, reason)
        else:
            self._queue("walk_reminder", now, {"walks_due": int(job.split(":")[1])})

    def _morning(self, now: Minute, day: DayBounds) -> None:
        """What pacer has to say at the first minute of the day's window: the
        red-flag repeat, and the parts of the one morning plan message."""
        st = self.state
        plan = st.plan
        key = day.day.isoformat()
        yesterday = (day.day - timedelta(days=1)).isoformat()
        # An open red flag is repeated at the first minute of each waking window,
        # the morning after a night report included, until the person says they
        # have been seen (section 7, edge case 15).
        alert = plan.alert
        tally = st.tally
        first = tally.opened if tally is not None and tally.opened is not None else now
        if alert is not None and alert.get("seen") is None and alert["raised"] < first:
            self._queue("red_flag", now, {
                "flags": list(alert["flags"]), "tier": tier_of(alert["flags"]),
                "repeat": True, "reported": alert["time"]})
        if WEEKDAYS[day.day.weekday()] == self.rules.plan.review_day:
            self._weekly_review(now, day)
        if key in plan.amber_days and plan.quota is not None and not plan.settling(now):
            new = pl.quota_in_force(plan, self.rules, key, now)
            why = (f"you reported an amber day yesterday, so today's target is "
                   f"{round(self.rules.traffic.amber_reduction * 100)}% lower")
            self._plan_update(plan.quota, new, why, now, by="pacer",
                              changes={"quota_today": new}, part="amber_day")
        record = plan.history[-1] if plan.history and plan.history[-1].day == yesterday else None
        if record is not None and record.boom:
            self._part({"part": "boom_followup", "yesterday_steps": record.steps,
                        "quota": record.quota,
                        "why": f"yesterday was a big day ({record.steps:,} steps); keep "
                               "today to plan, even if you feel good"})

    def _weekly_review(self, now: Minute, day: DayBounds) -> None:
        plan = self.state.plan
        if plan.quota is None or plan.completed_on is None or plan.baseline is None:
            return
        if (day.day - date.fromisoformat(plan.completed_on)).days < 7:
            return  # the first review comes at least 7 days after the baseline
        first = (day.day - timedelta(days=7)).isoformat()
        week = [r for r in plan.history if first <= r.day < day.day.isoformat()]
        review = pl.weekly_review(week, self.rules)
        if plan.settling(now):
            review = pl.Review(False, "the plan holds while the settle plan lasts")
        old = plan.quota
        why = review.why
        changes: dict[str, Any] = {}
        if review.progress:
            plan.quota = old + round(plan.baseline * self.rules.plan.weekly_increment)
            changes["plan.quota"] = plan.quota
            walks = self.rules.walks
            minutes = plan.walk_min if plan.walk_min is not None else walks.start_min
            grown = min(minutes + walks.growth_min, walks.max_duration_min)
            if grown != minutes:
                plan.walk_min = grown
                changes["walks.target_min"] = grown
                why += f"; your walks grow to about {grown} minutes each"
            sitting = self.rules.sitting
            limit = plan.sitting_limit if plan.sitting_limit is not None else sitting.limit_min
            longer = min(limit + sitting.limit_growth_min, sitting.target_min)
            if longer > limit:
                plan.sitting_limit = longer
                self._sit = None
                changes["sitting.limit_min"] = longer
                why += f"; movement breaks now come after {longer} minutes of sitting"
            fitted = self._fit_walks(plan.quota)
            if fitted:
                why += f"; {fitted}"
            plan.phase = "progressing"
        else:
            plan.phase = "holding"
        self._plan_update(old, plan.quota, why, now, by="pacer",
                          changes=changes or {"plan.quota": plan.quota}, part="weekly_review")

    def _end_settle(self, now: Minute) -> None:
        plan = self.state.plan
        assert plan.settle_until is not None
        old = pl.quota_in_force(plan, self.rules, self._day_key(), plan.settle_until - 1)
        plan.settle_until = plan.settle_until_s = None
        plan.settle_from = None
        plan.settle_walks = plan.settle_walk_min = None
        self._sit = None
        if plan.pre_red_quota is not None:
            plan.quota = round(plan.pre_red_quota * pl.RESUME_FACTOR)
            plan.pre_red_quota = None
            why = ("the settle period is over; the plan resumes at "
                   f"{round(pl.RESUME_FACTOR * 100)}% of the target before the flare-up")
            self._plan_update(old, plan.quota, why, now, by="pacer", part="settle_end")
        self._schedule = self._day_schedule(self._current_day())

    # --- sitting (docs/pacing-rules.md section 2) ----------------------------------------

    def _sitting_may_come(self, bout: Bout) -> bool:
        """The bout is at its limit and below its cap: a sitting prompt may be
        due (``_sitting_due`` decides)."""
        rules = self._sit or self._sitting_rules()
        cap = 1 if bout.first_only else 1 + rules.max_repeats
        return bout.sedentary_min >= rules.limit_min and bout.prompts < cap

    def _sitting_rules(self) -> SittingRules:
        """The sitting rules in force: the limit as it has grown, and a settle
        period shortens it."""
        if self._sit is not None:
            return self._sit
        settling = self.state.plan.settle_until is not None
        rules = self.rules.sitting
        grown = self.state.plan.sitting_limit
        if grown is not None and grown != rules.limit_min:
            rules = rules.model_copy(update={"limit_min": grown})
        settle_limit = self.rules.settle.sitting_limit_min
        if settling and rules.limit_min > settle_limit:
            rules = rules.model_copy(update={"limit_min": settle_limit})
        self._sit = rules
        return rules

    def _fit_walks(self, quota: int | None) -> str:
        """Planned walks must not by themselves pass half the quota (section 3,
        v2): shorten them, then plan fewer, never below one walk of the
        minimum. Returns what changed, in words, or ""."""
        plan = self.state.plan
        if quota is None:
            return ""
        walks = self.rules.walks
        settling = plan.settle_until is not None
        # the settle plan's walks while one runs (its last minute), else the usual ones
        count, minutes, _ = self._walk_plan(plan.settle_until - 1 if plan.settle_until is not None
                                            else 0)
        start = (count, minutes)
        budget = quota / 2
        cadence = walks.min_cadence
        while count * minutes * cadence > budget and minutes > walks.min_duration_min:
            minutes -= 1
        while count * minutes * cadence > budget and count > 1:
            count -= 1
        if (count, minutes) == start:
            return ""
        if settling:
            plan.settle_walks, plan.settle_walk_min = count, minutes
        else:
            plan.walks_per_day, plan.walk_min = count, minutes
        self._schedule = self._day_schedule(self._current_day())
        return (f"so that the planned walks fit the step plan, the plan has "
                f"{count} walk{'s' if count != 1 else ''} of about {minutes} minutes a day")

    def _bout_ended(self, end: BoutEnd, now: Minute, out: list[Output]) -> None:
        st = self.state
        tally = st.tally
        assert tally is not None
        bout = end.bout
        if bout.window_min:
            tally.bouts.append(bout.window_min)
        if end.break_start is None:
            return  # an unknown gap: no break, a pending prompt waits for its window
        if bout.prompts == 0:
            tally.natural += 1
        pending = st.pending
        if pending is not None and pending.bout_start == bout.start:
            latency = end.break_start - pending.time
            if latency <= self.rules.sitting.response_window_min:
                self._decide(pending.prompt_id, "taken", now, out, latency=latency)
            else:
                self._decide(pending.prompt_id, "ignored", now, out)

    def _close_response_window(self, t: Minute, now: Minute, out: list[Output]) -> None:
        pending = self.state.pending
        if pending is None:
            return
        closes = pending.time + self.rules.sitting.response_window_min
        if t < closes:
            return
        bout = self.state.bout
        if (
            bout is not None
            and bout.start == pending.bout_start
            and bout.move_run
            and bout.move_start <= closes
        ):
            return  # a break that started in time may still complete
        self._decide(pending.prompt_id, "ignored", now, out)

    def _sitting_due(self, epoch: Epoch, now: Minute) -> bool:
        st = self.state
        bout = st.bout
        rules = self._sitting_rules()
        catchup = st.sit_catchup is not None and now >= st.sit_catchup
        if (
            bout is None
            or not rules.enabled
            or bout.sedentary_min < rules.limit_min
            or bout.prompts >= (1 if bout.first_only else 1 + rules.max_repeats)
            or bout.held == BUDGET_HELD
        ):
            if catchup:
                st.sit_catchup = None  # the hold ended with nothing to catch up (11.5)
            return False
        if st.still_since is not None and st.still_since <= epoch.start:
            # The wearable may be lying still, not worn (Engine.still): a first
            # prompt waits if the bout reaches the limit only with the still
            # run's minutes (at most one a minute since it began), a repeat
            # whenever a run is open.
            run = epoch.start - max(st.still_since, bout.start) + 1
            if bout.prompts or bout.sedentary_min - run < rules.limit_min:
                return False
        if epoch.posture is not SEDENTARY:
            return False  # decided on a sedentary epoch only (11.8)
        if bout.next_due is None or now >= bout.next_due:
            return True
        # A snooze or do-not-disturb that ends gets one prompt then (sections 2, 8).
        return catchup

    def _send_sitting(self, now: Minute, verdict: Verdict, out: list[Output]) -> None:
        st = self.state
        bout = st.bout
        assert bout is not None
        rules = self._sitting_rules()
        max_delay = self.rules.prompts.max_delay_min
        if verdict is Verdict.SEND or verdict is Verdict.LIMITED:
            bout.held = None
            if bout.held_since is not None and now - bout.held_since > max_delay:
                out.append(Dropped("sitting_break", now, "held back by the rate limits for "
                                   f"more than {max_delay} min"))
                bout.held_since = None
                bout.next_due = now + rules.repeat_min
                return
        if verdict is Verdict.SEND and not self._budget_allows("sitting_break",
                                                                bout.prompts == 0):
            # The rest of this bout stays silent: the budget is kept for
            # the first prompt of a bout, and this one has had it or missed it.
            bout.held = BUDGET_HELD
            self._drop("sitting_break", now, "the daily prompt budget is used up", "budget", out)
            return
        if verdict is Verdict.SEND:
            pending = st.pending
            if pending is not None:
                # A newer prompt supersedes one still undecided: the person did
                # not take the earlier one.
                self._decide(pending.prompt_id, "ignored", now, out)
            tally = st.tally
            assert tally is not None
            sitting = self.rules.sitting
            reason: dict[str, Any] = {
                "bout_min": bout.sedentary_min, "limit_min": rules.limit_min,
                "repeat": bout.prompts, "inferred": bout.inferred,
                # after ceiling_reached a break never asks for walking
                "advice": "position" if tally.ceiling_sent else sitting.break_advice}
            if reason["advice"] == "custom":
                reason["break_text"] = sitting.break_text
            prompt = self._emit("sitting_break", now, reason, now + rules.repeat_min, out)
            st.pending = Pending(prompt.id, now, bout.start)
            bout.prompts += 1
            bout.next_due = now + rules.repeat_min
            bout.held_since = None
            st.sit_catchup = None
        elif verdict is Verdict.LIMITED:
            if bout.held_since is None:
                bout.held_since = now
        elif bout.held != verdict.value:
            # Quiet hours, do-not-disturb and snooze hold the prompt; one fires
            # when they end if the bout is still going (section 11.5).
            bout.held = verdict.value
            bout.held_since = None
            counted = "dnd" if verdict is Verdict.DND else None
            self._drop("sitting_break", now, f"held: {verdict.value}", counted, out)

    # --- walks and long stepping bouts --------------------------------------------------

    def _run_ended(self, run: StepRun) -> None:
        """A walk counts from the fixed minimum (section 3, v2); the plan's
        length is a target, and each walk's length goes in the summary."""
        tally = self.state.tally
        assert tally is not None
        walks = self.rules.walks
        if run.window_min and run.is_walk(walks.min_duration_min, walks.min_cadence):
            tally.walks += 1
            tally.walk_min += run.window_min
            tally.walk_lengths.append(run.window_min)

    # --- overactivity (section 5, heuristics) and other live conditions --------------

    def _long_bout(self, now: Minute) -> None:
        run = self.state.run
        if run is not None and not run.rest_prompted and (
            run.minutes >= self.rules.pacing.max_bout_min
        ):
            run.rest_prompted = True
            self._queue("long_bout_rest", now)

    def _band(self, quota: int | None, now: Minute) -> tuple[int | None, int | None]:
        """(floor, ceiling) in force: the usual good day counts except while settling."""
        plan = self.state.plan
        usual = None if plan.settling(now) else plan.baseline80
        return pl.band(quota, self.rules, usual)

    def _conditions(self, now: Minute, day: DayBounds) -> None:
        """Live conditions: a long stepping bout, and the quota-based ones.
        Sets ``_quiet_until``: none of the latter can change before then
        without new steps (expected-by-now only grows)."""
        self._long_bout(now)
        st = self.state
        tally = st.tally
        assert tally is not None
        plan = st.plan
        quota = pl.quota_in_force(plan, self.rules, tally.day, now)
        self._quiet_until = self._next_change(now, day)
        if quota is None or plan.quota is None:
            return  # nothing that needs a quota during the baseline
        _, ceiling = self._band(quota, now)
        assert ceiling is not None
        self._flag_boom(now)
        if tally.steps >= ceiling:
            tally.ceiling_hit = True
            if not tally.ceiling_queued:
                tally.ceiling_queued = True
                self._queue("ceiling_reached", now)
            return
        if plan.settling(now) or not tally.open:
            return
        if self._ease_off_reason(now, day) is None:
            return
        # At most once per cooldown, counted from the last one sent; one that
        # could not be sent (do-not-disturb, limits) is not retried before the
        # cooldown has passed either.
        cooldown = self.rules.pacing.ease_off_cooldown_min
        last = tally.last_ease_off
        not_before = max(last + cooldown if last is not None else now,
                         tally.ease_off_retry or now)
        if now < not_before:
            self._quiet_until = not_before
        elif not any(q.kind == "pace_ease_off" for q in st.queue):
            tally.ease_off_retry = now + cooldown
            self._queue("pace_ease_off", now)
            self._quiet_until = min(self._quiet_until, tally.ease_off_retry)

    def _flag_boom(self, now: Minute) -> None:
        """A boom is measured against the person's own baseline, never below it."""
        st = self.state
        tally = st.tally
        assert tally is not None
        quota = pl.quota_in_force(st.plan, self.rules, tally.day, now)
        if quota is not None and st.plan.quota is not None and (
            tally.steps >= max(quota, st.plan.baseline or 0) * self.rules.boom.factor
        ):
            tally.flag("boom")

    def _next_change(self, now: Minute, day: DayBounds) -> Minute:
        """The next minute at which the quota or the window may change by
        itself: the window's edges, the end of the settle-in time after getting
        up, the end of the day or of a settle period."""
        tally = self.state.tally
        assert tally is not None
        edges = [day.end]
        if tally.open:
            edges.append(tally.close_due)
            if tally.opened is not None:
                settled = tally.opened + self.rules.pacing.settle_in_min
                if now < settled:
                    edges.append(settled)
        until = self.state.plan.settle_until
        if until is not None:
            edges.append(until)
        return min(edges)

    def _expected(self, quota: int, now: Minute, day: DayBounds) -> int:
        """E(t): from getting up to the configured bedtime (section 5, v2)."""
        tally = self.state.tally
        assert tally is not None
        assert tally.opened is not None
        up = tally.opened
        share = pl.expected_share(self.state.plan.profile, now - up, max(1, day.sleep - up))
        return round(quota * share)

    def _window_steps(self) -> int:
        """Steps since getting up: steps before it are not counted against the pace."""
        tally = self.state.tally
        assert tally is not None
        return sum(tally.slot_steps)

    def _coverage(self, now: Minute, day: DayBounds) -> float:
        """The share of the window so far that is known, counted from day.wake
        or the window's opening, whichever is earlier (section 8)."""
        tally = self.state.tally
        assert tally is not None
        first = min(day.wake, tally.opened if tally.opened is not None else day.wake)
        span = now - first
        return 1.0 if span <= 0 else min(1.0, tally.known_min / span)

    def _ease_off_reason(self, now: Minute, day: DayBounds) -> dict[str, Any] | None:
        st = self.state
        tally = st.tally
        assert tally is not None
        quota = pl.quota_in_force(st.plan, self.rules, tally.day, now)
        if quota is None or tally.ceiling_hit or st.plan.settling(now):
            return None
        if tally.opened is None or now - tally.opened < self.rules.pacing.settle_in_min:
            return None
        steps = self._window_steps()
        expected = self._expected(quota, now, day)
        margin = 1 + self.rules.pacing.ahead_margin
        if steps >= expected * margin and steps >= quota * pl.EASE_OFF_MIN_SHARE:
            return {"steps": steps, "expected": expected, "quota": quota}
        return None

    def _exercise_reason(self, now: Minute, day: DayBounds) -> dict[str, Any] | None:
        """A reminder on a day without a session, when the week can no longer
        reach its target without one today, or after two days without one;
        never while settling or with an alert open (section 12)."""
        st = self.state
        tally = st.tally
        assert tally is not None
        target = self.rules.exercise.per_week
        if not target or tally.exercise_sessions or st.plan.settling(now):
            return None
        if st.plan.alert is not None:
            return None
        week = self._week_sessions()
        days_left = 7 - day.day.weekday()  # today included
        last = st.plan.last_exercise
        gap = (day.day - date.fromisoformat(last)).days if last else None
        behind = week + days_left - 1 < target
        if week >= target or not (behind or gap is None or gap >= EXERCISE_GAP_DAYS):
            return None
        return {"sessions_week": week, "target": target}

    def _week_sessions(self) -> int:
        tally = self.state.tally
        assert tally is not None
        book = self._book()
        return sum(d.exercise_sessions for d in book.days if d.date != tally.day) + (
            tally.exercise_sessions)

    def _nudge_reason(self, q: Queued, now: Minute, day: DayBounds) -> dict[str, Any] | None:
        """The reason a queued nudge goes out with, or None if it no longer applies."""
        st = self.state
        tally = st.tally
        assert tally is not None
        if q.kind == "walk_reminder":
            assert q.reason is not None
            due = q.reason["walks_due"]
            # A run in progress, paused for its one tolerated minute or not, is
            # walking right now; one already long enough counts as done.
            run = st.run
            done = tally.walks
            walks = self.rules.walks
            if run is not None and run.is_walk(walks.min_duration_min, walks.min_cadence):
                done += 1
            quiet = st.last_data is None or now - st.last_data >= WALK_QUIET_MIN
            if done >= due or run is not None or tally.ceiling_hit or quiet:
                return None
            _, target, _ = self._walk_plan(now)
            return {"walks_done": done, "walks_due": due, "target_min": target,
                    "coverage": round(self._coverage(now, day), 2)}
        if q.kind == "pace_ease_off":
            return self._ease_off_reason(now, day)
        if q.kind == "long_bout_rest":
            run = st.run
            if run is None or not run.walking_now:
                return None
            return {"bout_min": run.minutes, "max_bout_min": self.rules.pacing.max_bout_min}
        if q.kind == "exercise_reminder":
            return self._exercise_reason(now, day)
        if q.kind in ("wearable_silent", "standing_break"):
            assert q.reason is not None
            return q.reason  # decided when queued
        quota = pl.quota_in_force(st.plan, self.rules, tally.day, now)
        floor, ceiling = self._band(quota, now)
        if q.kind == "ceiling_reached":
            if ceiling is None or tally.steps < ceiling:
                return None
            return {"steps": tally.steps, "ceiling": ceiling}
        # floor_nudge
        if floor is None or tally.steps >= floor or tally.ceiling_hit or st.plan.settling(now):
            return None
        return {"steps": tally.steps, "floor": floor}

    # --- delivery (section 8) ---------------------------------------------------------

    def _queue(self, kind: PromptKind, due: Minute, reason: dict[str, Any] | None = None) -> None:
        queue = self.state.queue
        if kind in NUDGES and any(q.kind == kind for q in queue):
            return  # one of a kind waiting is enough
        queue.append(Queued(kind, due, reason))

    def _deliver(self, epoch: Epoch, now: Minute, day: DayBounds, out: list[Output]) -> None:
        st = self.state
        queue = st.queue
        if self.history:
            queue.clear()  # nobody was there to ask: nothing waits for later either
            return
        sitting = st.bout is not None and self._sitting_due(epoch, now)
        ready = [q for q in queue if q.due <= now] if queue else []
        if not ready and not sitting:
            return
        if sitting:
            # The sitting prompt is decided from the bout each minute, not queued.
            ready.append(Queued("sitting_break", now))
        ready.sort(key=lambda q: ORDER[q.kind])
        prompts = self.rules.prompts
        alert_open = st.plan.alert is not None
        tally = st.tally
        assert tally is not None
        is_open = tally.open
        for q in ready:
            if alert_open and q.kind != "red_flag":
                self._suppress(q, now, out)
                continue
            verdict = self.gate.verdict(q.kind, now, is_open, prompts)
            if q.kind == "sitting_break":
                self._send_sitting(now, verdict, out)
                continue
            if q.kind in NUDGES:
                self._deliver_nudge(q, verdict, now, day, out)
            elif verdict is Verdict.SEND:
                queue.remove(q)
                self._emit(q.kind, now, self._plan_reason(q, now), self._expiry(q.kind, now), out)

    def _budget_allows(self, kind: str, first_of_bout: bool) -> bool:
        """The daily budget (section 8, v2): its last ``prompts.reserve``
        nudges are kept for the first prompt of a sitting or standing bout."""
        tally = self.state.tally
        assert tally is not None
        rules = self.rules.prompts
        left = rules.max_per_day - tally.nudges
        if kind in BOUT_FIRST and first_of_bout:
            return left > 0
        return left > rules.reserve

    def _incoherent(self, kind: str, now: Minute) -> bool:
        """Never ask for more and for less within ``prompts.coherence_min``
        (section 8, v2); after ``ceiling_reached`` never ask for more that day."""
        tally = self.state.tally
        assert tally is not None
        gap = self.rules.prompts.coherence_min
        if kind in LESS:
            return tally.last_more is not None and now - tally.last_more < gap
        if kind in MORE:
            if tally.ceiling_sent:
                return True
            last = tally.last_ease_off
            return last is not None and now - last < gap
        return False

    def _drop(self, kind: PromptKind, now: Minute, why: str, counted: str | None,
              out: list[Output]) -> None:
        out.append(Dropped(kind, now, why))
        if counted is not None:
            tally = self.state.tally
            assert tally is not None
            tally.count_drop(counted)

    def _deliver_nudge(
        self, q: Queued, verdict: Verdict, now: Minute, day: DayBounds, out: list[Output]
    ) -> None:
        queue = self.state.queue
        max_delay = self.rules.prompts.max_delay_min
        if verdict in (Verdict.SEND, Verdict.LIMITED) and now - q.due > max_delay:
            queue.remove(q)
            self._drop(q.kind, now, "held back by the rate limits for more than "
                       f"{max_delay} min", "limits", out)
            return
        if verdict is Verdict.SEND:
            if self._incoherent(q.kind, now):
                tally = self.state.tally
                assert tally is not None
                if q.kind == "ceiling_reached" and tally.last_more is not None:
                    # Still true later: said once the coherence time has passed.
                    q.due = tally.last_more + self.rules.prompts.coherence_min
                    return
                queue.remove(q)
                self._drop(q.kind, now, "would contradict a recent prompt", "coherence", out)
                return
            queue.remove(q)
            if q.kind in COVERAGE_KINDS and self._coverage(now, day) < COVERAGE:
                self._drop(q.kind, now, "too little of today is known", "coverage", out)
                return
            reason = self._nudge_reason(q, now, day)
            if reason is None:
                out.append(Dropped(q.kind, now, "no longer applies"))
            elif not self._budget_allows(q.kind, first_of_bout=True):
                self._drop(q.kind, now, "the daily prompt budget is used up", "budget", out)
            else:
                self._emit(q.kind, now, reason, self._expiry(q.kind, now), out)
        elif verdict is not Verdict.LIMITED:
            queue.remove(q)  # nudges due in quiet hours, do-not-disturb or a snooze
            counted = "dnd" if verdict is Verdict.DND else None
            self._drop(q.kind, now, verdict.value, counted, out)

    def _suppress(self, q: Queued, now: Minute, out: list[Output]) -> None:
        """A red-flag alert is open: only the red-flag advice goes out."""
        st = self.state
        if q.kind == "sitting_break":
            bout = st.bout
            if bout is not None and bout.held != "red-flag alert open":
                bout.held = "red-flag alert open"
                out.append(Dropped(q.kind, now, "red-flag alert open"))
            return
        st.queue.remove(q)
        if q.kind not in NUDGES:
            st.plan.plan_held = True  # replaced by one plan_update when cleared
            if q.kind == "plan_update":
                st.morning = []
        out.append(Dropped(q.kind, now, "red-flag alert open"))

    def _plan_reason(self, q: Queued, now: Minute) -> dict[str, Any]:
        if q.kind == "settle_plan":
            return self._settle_reason()
        if q.kind == "plan_update" and q.reason is None:
            return self._morning_reason(now)
        assert q.reason is not None
        return q.reason

    def _settle_reason(self) -> dict[str, Any]:
        plan = self.state.plan
        assert plan.settle_until is not None
        quota = pl.quota_in_force(plan, self.rules, self._day_key(), plan.settle_until - 1)
        walks, walk_min, _ = self._walk_plan(plan.settle_until - 1)
        return {
            "until": self._settle_end(),
            "quota": quota,
            "sitting_limit_min": self._sitting_rules().limit_min,
            "walks": walks,
            "walk_min": walk_min,
            "advice": list(self.rules.settle.advice),
        }

    def _settle_end(self) -> str:
        """The settle period's end as the person is told it: to the second of
        the report that began it (the period holds minutes up to the one it
        ends in)."""
        seconds = self.state.plan.settle_until_s
        assert seconds is not None
        return iso_seconds(seconds, self.tz)

    def _expiry(self, kind: str, now: Minute) -> Minute | None:
        """How long a prompt stays worth showing; red flags never expire."""
        if kind == "red_flag":
            return None
        if kind == "settle_plan":
            # The minute its end second falls in, as always published: the
            # period's last minute when the end is not on a whole minute.
            until = self.state.plan.settle_until_s
            return int(until // 60) if until is not None else now + MESSAGE_EXPIRY_MIN
        if kind in ("review_suggested", "plan_update"):
            return now + MESSAGE_EXPIRY_MIN
        return now + self.rules.expiry.minutes(kind)

    def _plan_update(self, old: int | None, new: int | None, why: str, due: Minute, *,
                     part: str, by: str | None = None,
                     changes: dict[str, Any] | None = None) -> None:
        """A change to the plan to tell the person: a part of the next morning
        message, or one message now when the window is open (section 8, v2)."""
        self._part({"part": part, "old_quota": old, "new_quota": new, "why": why})
        self._quiet_until = 0  # the quota may have changed: check the live conditions
        if by is not None:
            self._record_change(due, by, why, changes or {"plan.quota": new})
        tally = self.state.tally
        if tally is not None and tally.open:
            self._flush_morning(due)

    def _part(self, part: dict[str, Any]) -> None:
        parts = self.state.morning
        parts[:] = [p for p in parts if p["part"] != part["part"]] + [part]

    def _flush_morning(self, now: Minute) -> None:
        """The parts gathered so far go out as one plan_update, made when it is
        sent (parts added while it waits join it)."""
        if self.state.morning and not any(q.kind == "plan_update" for q in self.state.queue):
            self._queue("plan_update", now)

    def _morning_reason(self, now: Minute) -> dict[str, Any]:
        parts = self.state.morning
        order = {name: i for i, name in enumerate(MORNING_PARTS)}
        parts.sort(key=lambda p: order[p["part"]])
        quotas = [p for p in parts if "new_quota" in p]
        tally = self.state.tally
        in_force = pl.quota_in_force(self.state.plan, self.rules,
                                     tally.day if tally is not None else "", now)
        reason: dict[str, Any] = {
            "parts": [p["part"] for p in parts],
            "old_quota": quotas[0]["old_quota"] if quotas else in_force,
            # the plan in force when the message goes out, whatever came between
            "new_quota": in_force,
            "why": "; ".join(p["why"] for p in parts),
        }
        for p in parts:
            if p["part"] == "boom_followup":
                reason["yesterday_steps"] = p["yesterday_steps"]
            if p.get("message"):
                reason["message"] = p["message"]
        self.state.morning = []
        return reason

    def _record_change(self, minute: Minute, by: str, why: str, changes: dict[str, Any]) -> None:
        plan = self.state.plan
        plan.changes.append({"time": iso(minute, self.tz), "by": by, "why": why,
                             "set": dict(changes)})
        del plan.changes[:-50]

    # --- prompts and outcomes ------------------------------------------------------------

    def _emit(
        self,
        kind: PromptKind,
        now: Minute,
        reason: dict[str, Any],
        expires: Minute | None,
        out: list[Output],
    ) -> Prompt:
        st = self.state
        st.seq += 1
        stamp = to_datetime(now, self.tz).strftime("%Y%m%dT%H%M")
        words = wording(kind, reason, self.rules.safety)
        prompt = Prompt(
            id=f"{self.user}-{stamp}-{kind}-{st.seq}",
            kind=kind,
            level=words.level,
            time=now,
            expires=expires,
            title=words.title,
            text=words.text,
            actions=words.actions,
            reason=reason,
        )
        self.gate.sent_prompt(kind, now)
        tally = st.tally
        if tally is not None:
            tally.count_prompt(kind)
            if kind in NUDGES:
                tally.nudges += 1
            if kind == "pace_ease_off":
                tally.last_ease_off = now
            elif kind in MORE:
                tally.last_more = now
            elif kind == "ceiling_reached":
                tally.ceiling_sent = True
        st.recent.append(Recent(prompt.id, kind, now))
        del st.recent[:-RECENT_PROMPTS]
        out.append(prompt)
        return prompt

    def _decide(
        self,
        prompt_id: str,
        outcome: OutcomeName,
        now: Minute,
        out: list[Output],
        *,
        latency: int | None = None,
        self_reported: bool = False,
    ) -> None:
        recent = self._find(prompt_id)
        st = self.state
        if st.pending is not None and st.pending.prompt_id == prompt_id:
            st.pending = None
        if recent is None or recent.decided:
            return
        recent.decided = True
        if recent.kind == "sitting_break" and st.tally is not None:
            st.tally.count_outcome(outcome, latency)
            # A person who does not answer gets fewer prompts (section 2, v2).
            if outcome == "taken":
                st.ignored_streak = 0
            elif outcome in ("ignored", "dismissed"):
                st.ignored_streak += 1
        out.append(Outcome(prompt_id, recent.kind, outcome, now, latency, self_reported))

    def _find(self, prompt_id: str) -> Recent | None:
        for recent in reversed(self.state.recent):
            if recent.id == prompt_id:
                return recent
        return None

    # --- commands ---------------------------------------------------------------------

    def command(self, cmd: Command, at: float) -> Reply:
        """Apply a command received at ``at`` (unix seconds, the engine's one
        input in seconds: from here on it counts minutes)."""
        arrival = Arrival(int(at // 60), _minute_after(at), at)
        now = arrival.minute
        rolled: list[Output] = []
        if self.state.tally is None:
            self._enter_day(now, rolled)
        elif now == self.state.next_minute:
            # The command lies in the minute the engine is about to take: if that
            # minute begins a new day, the command belongs to the new day.
            self._enter_day(now, rolled)
        reply = self._command(cmd, arrival)
        if rolled:
            return Reply(reply.ok, reply.error, (*rolled, *reply.outputs))
        return reply

    def _command(self, cmd: Command, arrival: Arrival) -> Reply:
        now = arrival.minute
        if isinstance(cmd, Ack):
            return self._ack(cmd, arrival)
        if isinstance(cmd, Dnd):
            gate = self.state.gate
            was_on = gate.dnd_until is not None and now < gate.dnd_until
            if cmd.minutes:
                until: Minute | None = arrival.edge + cmd.minutes
                self.gate.set_dnd(until, arrival.seconds + cmd.minutes * 60)
            else:
                until = None
                self.gate.set_dnd(None, None)
            # Ending do-not-disturb early is an end like any other.
            self._hold_sitting(until if until is not None else (arrival.edge if was_on else None))
            return Reply(True)
        if isinstance(cmd, Symptom):
            return self._symptom(cmd, arrival)
        if isinstance(cmd, DayEvent):
            return self._day_event(cmd, now)
        if isinstance(cmd, Exercise):
            return self._exercise(cmd)
        return self._plan(cmd, now)

    def _exercise(self, cmd: Exercise) -> Reply:
        """A strength or mobility session the person did (section 12)."""
        st = self.state
        tally = st.tally
        assert tally is not None
        tally.exercise_sessions += 1
        tally.exercise_min += cmd.minutes or 0
        st.plan.last_exercise = tally.day
        return Reply(True)

    def _hold_sitting(self, until: Minute | None) -> None:
        """A sitting prompt is due when a snooze or do-not-disturb ends."""
        self.state.sit_catchup = until

    def _ack(self, cmd: Ack, arrival: Arrival) -> Reply:
        st = self.state
        now = arrival.minute
        if cmd.action == "seen":
            return self._seen(cmd, arrival)
        target = st.recent[-1] if cmd.prompt == "last" and st.recent else None
        if cmd.prompt != "last":
            target = self._find(cmd.prompt)
        if target is None:
            what = "no prompt has been sent yet" if cmd.prompt == "last" else (
                f"no recent prompt has the id {cmd.prompt!r}")
            doing = {"done": "mark a prompt as done", "snooze": "snooze a prompt",
                     "dismiss": "dismiss a prompt"}[cmd.action]
            return Reply(False, f"cannot {doing}: {what}")
        if target.kind == "red_flag":
            return Reply(False, f'a red-flag prompt takes only "seen" (not {cmd.action!r}): '
                         "once you have been seen by a clinician")
        out: list[Output] = []
        current = st.pending is not None and st.pending.prompt_id == target.id
        if cmd.action == "snooze":
            minutes = cmd.minutes if cmd.minutes is not None else SNOOZE_DEFAULT_MIN
            self.gate.snooze(target.kind, arrival.edge + minutes)
            if target.kind == "sitting_break":
                self._hold_sitting(arrival.edge + minutes)
            self._decide(target.id, "snoozed", now, out)
        elif cmd.action == "dismiss":
            self._decide(target.id, "dismissed", now, out)
        else:
            latency = max(0, now - target.time)
            self._decide(target.id, "taken", now, out, latency=latency, self_reported=True)
            bout = st.bout
            if target.kind == "sitting_break" and current and bout is not None:
                # The person says they moved: trust them (a wrist cannot see
                # standing still) and start counting afresh.
                if bout.window_min and st.tally is not None:
                    st.tally.bouts.append(bout.window_min)
                st.bout = None
        return Reply(True, outputs=tuple(out))

    def _seen(self, cmd: Ack, arrival: Arrival) -> Reply:
        """The person says a clinician has seen them about the open red flag: the
        morning repeats stop; with ``resume`` ("I was told I can carry on") the
        alert is cleared too. Either way it is recorded with who and when."""
        st = self.state
        now = arrival.minute
        alert = st.plan.alert
        if cmd.prompt != "last":
            target = self._find(cmd.prompt)
            if target is None:
                return Reply(False, f"cannot mark as seen: no recent prompt has the id "
                             f"{cmd.prompt!r}")
            if target.kind != "red_flag":
                return Reply(False, f'"seen" answers a red-flag prompt, and {cmd.prompt!r} '
                             f"is a {target.kind} prompt")
        if alert is None:
            return Reply(False, "there is no open red-flag alert to mark as seen")
        out: list[Output] = []
        if alert.get("seen") is None:
            alert["seen"] = iso_seconds(arrival.seconds, self.tz)
            self._record_change(now, self.user, "seen by a clinician", {"alert_seen": True})
        if cmd.resume:
            self._clear_alert(now, self.user, "seen by a clinician and told to carry on",
                              "person", out)
        else:
            out.append(Alert(now, self._alert_body()))
        return Reply(True, outputs=tuple(out))

    def _symptom(self, cmd: Symptom, arrival: Arrival) -> Reply:
        st = self.state
        now = arrival.minute
        tally = st.tally
        assert tally is not None
        plan = st.plan
        entry: dict[str, Any] = {"time": iso_seconds(arrival.seconds, self.tz),
                                 "level": cmd.level}
        if cmd.pain is not None:
            entry["pain"] = cmd.pain
        if cmd.red_flags:
            entry["red_flags"] = list(cmd.red_flags)
            entry["tier"] = tier_of(cmd.red_flags)
        tally.symptoms.append(entry)
        out: list[Output] = []
        key = tally.day
        if cmd.red_flags:
            self._raise_red_flag(cmd.red_flags, arrival, out)
        if cmd.level == "amber":
            tally.amber = True
            tomorrow = (date.fromisoformat(key) + timedelta(days=1)).isoformat()
            if tomorrow not in plan.amber_days:
                plan.amber_days.append(tomorrow)
                del plan.amber_days[:-7]
        elif cmd.level == "red":
            tally.red = True
            self._settle(arrival)
            if key not in plan.red_days:
                plan.red_days.append(key)
                del plan.red_days[:-7]
        if cmd.pain is not None:
            plan.pain[key] = max(cmd.pain, plan.pain.get(key, 0))
            for old in sorted(plan.pain)[:-7]:
                del plan.pain[old]
        self._check_review(key, now, out)
        return Reply(True, outputs=tuple(out))

    def _raise_red_flag(self, flags: tuple[str, ...], arrival: Arrival,
                        out: list[Output]) -> None:
        st = self.state
        plan = st.plan
        old = plan.alert
        known = list(old["flags"]) if old is not None else []
        merged = known + [f for f in flags if f not in known]
        now = arrival.minute
        stamp = iso_seconds(arrival.seconds, self.tz)
        plan.alert = {"raised": old["raised"] if old else now,
                      "first": old.get("first", old["time"]) if old else stamp,
                      "time": stamp, "flags": merged,
                      # a new flag after "I've been seen" needs seeing again
                      "seen": old.get("seen") if old and set(merged) == set(known) else None}
        assert st.tally is not None
        st.tally.flag("red_flag")
        # At once, at any hour, never limited (section 7). The advice follows the
        # highest tier of the open alert: an urgent flag never softens an emergency.
        reason: dict[str, Any] = {"flags": list(flags), "tier": tier_of(merged)}
        earlier = [f for f in known if f not in flags]
        if earlier:
            reason["earlier"] = earlier
        self._emit("red_flag", now, reason, None, out)
        out.append(Alert(now, self._alert_body()))

    def _settle(self, arrival: Arrival) -> None:
        plan = self.state.plan
        now = arrival.minute
        hours = self.rules.settle.hours
        if not plan.settling(now):
            plan.pre_red_quota = plan.quota
            plan.settle_from = now
        # A later red report lengthens the period, never shortens it; its end
        # is said with the report's seconds.
        plan.settle_until = max(arrival.edge + hours * 60, plan.settle_until or 0)
        plan.settle_until_s = max(arrival.seconds + hours * 3600, plan.settle_until_s or 0.0)
        self._quiet_until = 0
        assert self.state.tally is not None
        self.state.tally.settling = True
        self._queue("settle_plan", now)
        settle_quota = pl.quota_in_force(plan, self.rules, self._day_key(), now)
        self._record_change(now, "pacer", "a red symptom report: settle plan until "
                            f"{when_written(self._settle_end())}",
                            {"quota": settle_quota,
                             "sitting.limit_min": min(self.rules.sitting.limit_min,
                                                      self.rules.settle.sitting_limit_min)})
        self._sit = None
        self._fit_walks(settle_quota)
        self._schedule = self._day_schedule(self._current_day())
        bout = self.state.bout
        if bout is not None:
            bout.next_due = None  # the shorter limit applies at once, to this bout too

    def _check_review(self, key: str, now: Minute, out: list[Output]) -> None:
        plan = self.state.plan
        if plan.review is not None:
            return
        d = date.fromisoformat(key)
        last3 = [(d - timedelta(days=i)).isoformat() for i in (2, 1, 0)]
        red_days = 0
        while (d - timedelta(days=red_days)).isoformat() in plan.red_days:
            red_days += 1
        pains = [plan.pain[k] for k in last3 if k in plan.pain]
        # v2 (11.16): each day at least as high as the day before, +2 overall
        rising = len(pains) == 3 and pains[0] <= pains[1] <= pains[2] and (
            pains[2] - pains[0] >= 2)
        if red_days < 3 and not rising:
            return
        reason: dict[str, Any] = {"red_days": red_days}
        if rising:
            reason["pain"] = pains
        plan.review = {"raised": now, "time": iso(now, self.tz), "reason": reason}
        assert self.state.tally is not None
        self.state.tally.flag("review_suggested")
        self._queue("review_suggested", now, reason)
        out.append(Alert(now, self._alert_body()))

    def _alert_body(self) -> RedFlagAlert | ReviewAlert | None:
        plan = self.state.plan
        alert = plan.alert
        if alert is not None:
            return RedFlagAlert(time=alert["time"], raised=alert.get("first", alert["time"]),
                                flags=tuple(alert["flags"]), tier=tier_of(alert["flags"]),
                                seen=alert.get("seen"), review_suggested=plan.review is not None)
        if plan.review is not None:
            return ReviewAlert(time=plan.review["time"], reason=dict(plan.review["reason"]))
        return None

    def _plan(self, cmd: PlanChange, now: Minute) -> Reply:
        st = self.state
        plan = st.plan
        out: list[Output] = []
        if cmd.clear_alert and plan.alert is None and plan.review is None:
            return Reply(False, "there is no open alert to clear")
        if cmd.set:
            rule_values = {k: v for k, v in cmd.set.items() if k not in PLAN_VALUES}
            merged = {**st.overrides, **rule_values}
            try:
                rules = apply_settings(self.base_rules, merged)
            except CommandRejected as exc:
                return Reply(False, str(exc))
            quota = cmd.set.get("plan.quota")
            if quota is not None and plan.baseline is None:
                return Reply(False, "the quota cannot be set before the baseline is complete "
                             f"({len(plan.baseline_steps)} of "
                             f"{self.rules.plan.baseline_days} valid days so far)")
            old = pl.quota_in_force(plan, self.rules, self._day_key(), now)
            if quota is not None:
                plan.quota = int(quota)
            # What the physiotherapist sets is in force from now: a limit or a walk
            # plan the engine had grown or fitted gives way (and grows on from it).
            if cmd.set.keys() & {"sitting.limit_min", "sitting.limit_target_min"}:
                plan.sitting_limit = None
            if cmd.set.keys() & {"walks.target_min", "walks.min_duration_min"}:
                plan.walk_min = None
            if "walks.per_day" in cmd.set:
                plan.walks_per_day = None
            st.overrides = merged
            self.rules = rules
            self._rules_changed()
            self._quiet_until = 0
            self._new_calendar()
            self._record_change(now, cmd.by, cmd.why, dict(cmd.set))
            # The why is for the record; the person sees the message, if any.
            said = cmd.message or "your physiotherapist has updated your plan"
            walk_keys = cmd.set.keys() & {"walks.target_min", "walks.min_duration_min",
                                          "walks.per_day"}
            fitted = self._fit_walks(plan.quota) if quota is not None or walk_keys else ""
            new = pl.quota_in_force(plan, self.rules, self._day_key(), now)
            self._plan_update(old, new, f"{said}; {fitted}" if fitted else said, now,
                              part="plan_change")
            if cmd.message:
                self.state.morning[-1]["message"] = cmd.message
        if cmd.clear_alert:
            how = "local" if cmd.by.startswith("local:") else "physiotherapist"
            self._clear_alert(now, cmd.by, cmd.why, how, out)
        return Reply(True, outputs=tuple(out))

    def _clear_alert(self, now: Minute, by: str, why: str, how: str,
                     out: list[Output]) -> None:
        """Close the open alert, recorded with who, how and why (section 7)."""
        plan = self.state.plan
        alert = plan.alert
        cleared = AlertCleared(
            time=now, kind="red_flag" if alert is not None else "review_suggested",
            by=by, how=how, why=why,
            flags=tuple(alert["flags"]) if alert is not None else (),
            tier=tier_of(alert["flags"]) if alert is not None else None,
            seen=alert.get("seen") if alert is not None else None,
        )
        plan.alert = None
        plan.review = None
        self._record_change(now, by, why, {"clear_alert": True})
        out.append(Alert(now, None, cleared))
        if alert is not None and plan.plan_held:
            plan.plan_held = False
            quota = pl.quota_in_force(plan, self.rules, self._day_key(), now)
            who = "you" if how == "person" else "your physiotherapist"
            why = f"the alert was cleared by {who}; this is the plan in force"
            if plan.settling(now):
                settle = self._settle_reason()
                walks = settle["walks"]
                why += (f"; a settle plan runs until {when_written(settle['until'])}: a "
                        f"movement break every {settle['sitting_limit_min']} minutes of "
                        f"sitting and {walks} short walk{'s' if walks != 1 else ''} of about "
                        f"{settle['walk_min']} minutes; " + "; ".join(
                            line.rstrip(".") for line in settle["advice"]))
            self._plan_update(quota, quota, why, now, part="alert_cleared")

    def status(self) -> Status:
        """What the state topic shows: today so far and the plan in force."""
        st = self.state
        now = st.next_minute
        if st.tally is None or now is None:
            return Status(time=None, steps_today=0, sitting_min=0, sedentary_min_today=0,
                          posture=Posture.UNKNOWN.value, plan=None, walks=0, alert=False,
                          dnd_until=None)
        gate = st.gate
        return Status(
            time=now,
            steps_today=st.tally.steps,
            sitting_min=st.bout.sedentary_min if st.bout is not None else 0,
            sedentary_min_today=st.tally.sedentary_min,
            posture=st.posture,
            plan=self._plan_figures(now),
            walks=st.tally.walks,
            alert=st.plan.alert is not None,
            dnd_until=gate.dnd_until_s if gate.dnd_until is not None and now < gate.dnd_until
            else None,
            last_data=st.last_data,
            window_open=st.tally.open,
            window_since=st.tally.since,
            alert_seen=st.plan.alert is not None and st.plan.alert.get("seen") is not None,
            budget_left=max(0, self.rules.prompts.max_per_day - st.tally.nudges),
        )

    def clear_alert(self, *, by: str, why: str, at: float) -> Reply:
        """``pacer alert clear`` on the daemon's own machine."""
        return self.command(PlanChange(by=by, why=why, clear_alert=True), at)

    # --- summaries ---------------------------------------------------------------------

    def _day_key(self) -> str:
        tally = self.state.tally
        assert tally is not None
        return tally.day

    def _current_day(self) -> DayBounds:
        if self._day is None:
            self._day = self.calendar.bounds(date.fromisoformat(self._day_key()))
        return self._day

    def _plan_figures(self, now: Minute) -> PlanFigures:
        st = self.state
        plan = st.plan
        tally = st.tally
        assert tally is not None
        quota = pl.quota_in_force(plan, self.rules, tally.day, now)
        floor, ceiling = self._band(quota, now)
        phase = "settling" if plan.settling(now) else plan.phase
        achievement = round(tally.steps / quota, 2) if quota else None
        return PlanFigures(phase=phase, quota=quota, floor=floor, ceiling=ceiling,
                           achievement=achievement)

    def _day_summary(self, *, final: bool, now: Minute) -> DaySummary:
        st = self.state
        tally = st.tally
        assert tally is not None
        figures = tally.plan_at_sleep or self._plan_figures(now)
        if tally.plan_at_sleep is None:
            # the plan in force at the window's close, or now while it is open
            tally.walks_planned, tally.walk_target, _ = self._walk_plan(now)
        if tally.plan_at_sleep and figures.quota:
            figures = replace(figures, achievement=round(tally.steps / figures.quota, 2))
        flags = list(tally.flags)
        if st.plan.alert is not None and "red_flag" not in flags:
            flags.append("red_flag")  # open all day
        if tally.settling and "settling" not in flags:
            flags.append("settling")
        plan = st.plan
        prev = plan.history[-1] if plan.history else None
        floor = figures.floor
        if (
            prev is not None
            and prev.boom
            and prev.day == (date.fromisoformat(tally.day) - timedelta(days=1)).isoformat()
            and floor is not None
            and tally.steps < floor
        ):
            flags.append("bust")
        open_bout = st.bout.window_min if st.bout is not None else 0
        return tally.summary(
            user=self.user,
            timezone=self.timezone,
            final=final,
            min_known_min=self._min_known(tally, now),
            open_bout_min=open_bout,
            plan=figures,
            flags=flags,
            window=Window(tally.opened, tally.opened_by, tally.closed, tally.closed_by),
            ignored_streak=st.ignored_streak,
        )

    def _min_known(self, tally: DayTally, now: Minute) -> int:
        """Known minutes a valid day needs: min_known_hours, or 80 % of a
        window that was shorter (section 1). A window still open counts to when
        it is due to close: a day whose data end early is not a short window."""
        need = round(self.rules.day.min_known_hours * 60)
        length = tally.window_min + (max(0, tally.close_due - now) if tally.open else 0)
        if 0 < length < need:
            return max(1, round(length * COVERAGE))
        return need

    def _book(self) -> WeekBook:
        st = self.state
        key = week_key(date.fromisoformat(self._day_key()))
        if st.week is None or st.week.week != key:
            st.week = WeekBook(week=key)
        return st.week

    def _week_summary(self, book: WeekBook, now: Minute, *,
                      today: DayRecord | None = None) -> Summary:
        """``today``: a day not finished yet (the end of a replay) counts too."""
        plan = self.state.plan
        changes = [c for c in plan.changes if week_key(date.fromisoformat(c["time"][:10]))
                   == book.week]
        history = [*plan.history, today] if today is not None else plan.history
        body = book.summary(user=self.user, timezone=self.timezone, history=history,
                            changes=changes)
        return Summary("week", book.week, True, now, body)


def _recount(tally: DayTally, epoch: Epoch, sign: int) -> None:
    """Add (``sign`` 1) or take away (-1) a known minute's posture in the window's
    figures (``Engine.revise``): known minutes and steps stay as they are."""
    posture = epoch.posture
    if posture is SEDENTARY:
        tally.sedentary_min += sign
        if epoch.inferred:
            tally.sedentary_inferred_min += sign
    elif posture is LYING:
        tally.lying_min += sign
    elif posture is UPRIGHT:
        tally.upright_min += sign
    else:
        tally.stepping_min += sign
