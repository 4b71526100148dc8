"""When a prompt may be sent (docs/pacing-rules.md section 8 and 11).

``Gate.verdict`` answers for one prompt kind at one minute; the engine decides
what a "not now" means for that kind (hold, delay, drop) and calls ``sent``
after each delivery so the limits see it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import Enum

from pacer.engine.rules import PromptRules
from pacer.timebase import Minute


class Verdict(Enum):
    SEND = "send"
    QUIET = "outside the waking window"
    DND = "do not disturb"
    SNOOZED = "snoozed"
    LIMITED = "rate limit"


@dataclass(slots=True)
class GateState:
    dnd_until: Minute | None = None  # the first minute do-not-disturb no longer holds
    dnd_until_s: float | None = None  # its end in unix seconds, only to publish (never compared)
    snooze_until: dict[str, Minute] = field(default_factory=dict)  # by prompt kind, as dnd_until
    sent: deque[Minute] = field(default_factory=deque)  # times of counted prompts, last hour


class Gate:
    def __init__(self, state: GateState) -> None:
        self.state = state

    def verdict(self, kind: str, now: Minute, window_open: bool, rules: PromptRules) -> Verdict:
        """``window_open``: the person's waking window is open at ``now``."""
        if kind == "red_flag":
            return Verdict.SEND  # any hour, never limited, never silenced
        if not window_open:
            return Verdict.QUIET
        st = self.state
        if st.dnd_until is not None and now < st.dnd_until:
            return Verdict.DND
        until = st.snooze_until.get(kind)
        if until is not None and now < until:
            return Verdict.SNOOZED
        if not self._within_limits(now, rules):
            return Verdict.LIMITED
        return Verdict.SEND

    def _within_limits(self, now: Minute, rules: PromptRules) -> bool:
        sent = self.state.sent
        # The sliding hour is (now - 60, now]: prompts exactly 60 minutes apart
        # do not share a window (section 11.2).
        while sent and sent[0] <= now - 60:
            sent.popleft()
        if len(sent) >= rules.max_per_hour:
            return False
        return not (sent and now - sent[-1] < rules.min_gap_min)

    def sent_prompt(self, kind: str, now: Minute) -> None:
        if kind != "red_flag":  # red flags do not count toward the limits
            self.state.sent.append(now)

    def set_dnd(self, until: Minute | None, until_s: float | None) -> None:
        """Do not disturb until the minute ``until`` (None: off); ``until_s``
        is its end in unix seconds, as published."""
        self.state.dnd_until = until
        self.state.dnd_until_s = until_s

    def snooze(self, kind: str, until: Minute) -> None:
        self.state.snooze_until[kind] = until

    def expire(self, now: Minute) -> None:
        """Forget snoozes and do-not-disturb that have ended."""
        st = self.state
        if st.dnd_until is not None and st.dnd_until <= now:
            st.dnd_until = st.dnd_until_s = None
        for kind in [k for k, until in st.snooze_until.items() if until <= now]:
            del st.snooze_until[kind]
