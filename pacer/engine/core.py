"""The pacing engine: minutes and commands in, prompts, outcomes and summaries out.

It never reads a clock or touches I/O. The daemon and ``pacer replay`` both feed
it every minute in order (``advance``) and the person's commands with the time
they arrived (``command``); everything it decides is in what it returns. Its
whole state is plain data (``snapshot``/``restore``), so the daemon can store it
with each minute and carry on after a restart exactly where it was.
"""

from __future__ import annotations

import copy
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from pacer.commands import apply_settings
from pacer.config import Rules
from pacer.engine.delivery import Gate, GateState, Verdict
from pacer.engine.model import (
    SNOOZE_DEFAULT_MIN,
    Ack,
    Command,
    Dnd,
    Dropped,
    Epoch,
    Outcome,
    OutcomeName,
    Output,
    PlanChange,
    Posture,
    Prompt,
    PromptKind,
    Reply,
    Summary,
    Symptom,
)
from pacer.engine.sitting import Bout, BoutEnd, observe
from pacer.engine.tally import DayTally
from pacer.engine.texts import wording
from pacer.errors import CommandRejected
from pacer.timebase import (
    DayBounds,
    DayCalendar,
    Minute,
    iso,
    iso_seconds,
    to_datetime,
    zone,
)

STATE_VERSION = 1
RECENT_PROMPTS = 64  # prompts an `ack` may name by id


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
class EngineState:
    next_minute: Minute | None = None
    seq: int = 0
    bout: Bout | None = None
    pending: Pending | None = None
    gate: GateState = field(default_factory=GateState)
    recent: list[Recent] = field(default_factory=list)
    tally: DayTally | None = None
    overrides: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["gate"]["sent"] = list(self.gate.sent)
        data["v"] = STATE_VERSION
        return data

    @classmethod
    def from_json(cls, snapshot: dict[str, Any]) -> EngineState:
        data = copy.deepcopy(snapshot)  # the state must not share lists with its source
        if data.get("v") != STATE_VERSION:
            raise ValueError(f"engine state version {data.get('v')!r} is not {STATE_VERSION}")
        gate = data["gate"]
        return cls(
            next_minute=data["next_minute"],
            seq=data["seq"],
            bout=Bout(**data["bout"]) if data["bout"] else None,
            pending=Pending(**data["pending"]) if data["pending"] else None,
            gate=GateState(
                dnd_until=gate["dnd_until"],
                snooze_until=dict(gate["snooze_until"]),
                sent=deque(gate["sent"]),
            ),
            recent=[Recent(**r) for r in data["recent"]],
            tally=DayTally(**data["tally"]) if data["tally"] else None,
            overrides=dict(data["overrides"]),
        )




class Engine:
    def __init__(
        self, rules: Rules, *, user: str, timezone: str, state: EngineState | None = None
    ) -> None:
        self.base_rules = rules
        self.user = user
        self.timezone = timezone
        self.tz = zone(timezone)
        self.state = state if state is not None else EngineState()
        self.rules = apply_settings(rules, self.state.overrides) if self.state.overrides else rules
        self.calendar = DayCalendar(self.tz, rules.day.start, rules.day.wake, rules.day.sleep)
        self.gate = Gate(self.state.gate)
        self._day: DayBounds | None = None

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
        if expected is not None:
            for minute in range(expected, epoch.start):
                self._step(Epoch.unknown(minute), out)
        self._step(epoch, out)
        return out

    def close_day(self) -> list[Summary]:
        """The current day's summary as final (the end of a replay)."""
        st = self.state
        if st.tally is None or st.next_minute is None:
            return []
        return [self._summary(final=True, now=st.next_minute)]

    def _step(self, epoch: Epoch, out: list[Output]) -> None:
        st = self.state
        t = epoch.start
        now = t + 1
        day = self._enter_day(t, out)
        tally = st.tally
        assert tally is not None
        in_window = day.wake <= t < day.sleep
        tally.count_epoch(epoch, in_window)
        self.gate.expire(now)

        bout, end = observe(st.bout, epoch, self.rules.sitting)
        if bout is not None and in_window and epoch.posture is Posture.SEDENTARY:
            bout.window_min += 1
        st.bout = bout
        if end is not None:
            self._bout_ended(end, now, out)
        self._close_response_window(t, now, out)
        self._sitting_prompt(epoch, now, day, out)

        st.next_minute = now
        if now == day.sleep:
            out.append(self._summary(final=False, now=now))

    def _enter_day(self, t: Minute, out: list[Output]) -> DayBounds:
        day = self._day
        if day is not None and day.start <= t < day.end:
            return day
        day = self.calendar.bounds_of(t)
        self._day = day
        st = self.state
        key = day.day.isoformat()
        if st.tally is not None and st.tally.day != key:
            # Day rollover: the bout in progress counts toward the day it sat in.
            if st.bout is not None and st.bout.window_min:
                st.tally.bouts.append(st.bout.window_min)
                st.bout.window_min = 0
            old = self.calendar.bounds(date.fromisoformat(st.tally.day))
            out.append(self._summary(final=True, now=old.end))
            st.tally = None
        if st.tally is None:
            st.tally = DayTally(day=key)
        return day

    # --- sitting (pacing-rules.md section 2) ----------------------------------------

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

    def _sitting_prompt(self, epoch: Epoch, now: Minute, day: DayBounds, out: list[Output]) -> None:
        bout = self.state.bout
        rules = self.rules.sitting
        # Decided on a sedentary epoch only (section 11.8).
        if (
            bout is None
            or epoch.posture is not Posture.SEDENTARY
            or bout.sedentary_min < rules.limit_min
            or bout.prompts >= 1 + rules.max_repeats
            or (bout.next_due is not None and now < bout.next_due)
        ):
            return
        verdict = self.gate.verdict("sitting_break", now, day, self.rules.prompts)
        max_delay = self.rules.prompts.max_delay_min
        if bout.held_since is not None and now - bout.held_since > max_delay and verdict in (
            Verdict.SEND, Verdict.LIMITED
        ):
            out.append(Dropped("sitting_break", now, "held back by the rate limits for "
                               f"more than {max_delay} min"))
            bout.held_since = None
            bout.next_due = now + rules.repeat_min
            return
        if verdict is Verdict.SEND:
            pending = self.state.pending
            if pending is not None:
                # A newer prompt supersedes one still undecided: the person did
                # not take the earlier one.
                self._decide(pending.prompt_id, "ignored", now, out)
            reason = {"bout_min": bout.sedentary_min, "limit_min": rules.limit_min,
                      "repeat": bout.prompts}
            prompt = self._emit("sitting_break", now, reason, now + rules.repeat_min, out)
            self.state.pending = Pending(prompt.id, now, bout.start)
            bout.prompts += 1
            bout.next_due = now + rules.repeat_min
            bout.held_since = None
        elif verdict is Verdict.LIMITED:
            if bout.held_since is None:
                bout.held_since = now
        else:
            # Quiet hours, do-not-disturb and snooze hold the prompt; one
            # fires when they end if the bout is still going (section 11.5).
            bout.held_since = None

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
        words = wording(kind, reason)
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
        assert st.tally is not None
        st.tally.count_prompt(kind)
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
        out.append(Outcome(prompt_id, recent.kind, outcome, now, latency, self_reported))

    def _find(self, prompt_id: str) -> Recent | None:
        for recent in reversed(self.state.recent):
            if recent.id == prompt_id:
                return recent
        return None

    # --- commands ---------------------------------------------------------------------

    def command(self, cmd: Command, at: float) -> Reply:
        """Apply a command received at ``at`` (unix seconds)."""
        now = int(at // 60)
        if self.state.tally is None:
            self._enter_day(now, [])
        if isinstance(cmd, Ack):
            return self._ack(cmd, at, now)
        if isinstance(cmd, Dnd):
            self.gate.set_dnd(at + cmd.minutes * 60 if cmd.minutes else None)
            return Reply(True)
        if isinstance(cmd, Symptom):
            return self._symptom(cmd, at)
        return self._plan(cmd)

    def _ack(self, cmd: Ack, at: float, now: Minute) -> Reply:
        st = self.state
        target = st.recent[-1] if cmd.prompt == "last" and st.recent else None
        if cmd.prompt != "last":
            target = self._find(cmd.prompt)
        if target is None:
            what = "no prompt has been sent yet" if cmd.prompt == "last" else (
                f"no recent prompt has the id {cmd.prompt!r}")
            return Reply(False, f"cannot {cmd.action} that: {what}")
        out: list[Output] = []
        if cmd.action == "snooze":
            minutes = cmd.minutes if cmd.minutes is not None else SNOOZE_DEFAULT_MIN
            self.gate.snooze(target.kind, at + minutes * 60)
            self._decide(target.id, "snoozed", now, out)
        elif cmd.action == "dismiss":
            self._decide(target.id, "dismissed", now, out)
        else:
            latency = max(0, now - target.time)
            self._decide(target.id, "taken", now, out, latency=latency, self_reported=True)
            bout = st.bout
            if target.kind == "sitting_break" and bout is not None and bout.prompts:
                # The person says they moved: trust them (a wrist cannot see
                # standing still) and start counting afresh.
                if bout.window_min and st.tally is not None:
                    st.tally.bouts.append(bout.window_min)
                st.bout = None
        return Reply(True, outputs=tuple(out))

    def _symptom(self, cmd: Symptom, at: float) -> Reply:
        assert self.state.tally is not None
        entry: dict[str, Any] = {"time": iso_seconds(at, self.tz), "level": cmd.level}
        if cmd.pain is not None:
            entry["pain"] = cmd.pain
        if cmd.red_flags:
            entry["red_flags"] = list(cmd.red_flags)
        self.state.tally.symptoms.append(entry)
        return Reply(True)

    def _plan(self, cmd: PlanChange) -> Reply:
        if cmd.set:
            merged = {**self.state.overrides, **cmd.set}
            try:
                rules = apply_settings(self.base_rules, merged)
            except CommandRejected as exc:
                return Reply(False, str(exc))
            self.state.overrides = merged
            self.rules = rules
        return Reply(True)

    # --- summaries ---------------------------------------------------------------------

    def _summary(self, *, final: bool, now: Minute) -> Summary:
        st = self.state
        tally = st.tally
        assert tally is not None
        open_bout = st.bout.window_min if st.bout is not None else 0
        body = tally.body(
            user=self.user,
            timezone=self.timezone,
            final=final,
            min_known_min=round(self.rules.day.min_known_hours * 60),
            open_bout_min=open_bout,
            plan={"phase": "baseline", "quota": None, "floor": None, "ceiling": None,
                  "achievement": None},
        )
        return Summary("day", tally.day, final, now, body)

