"""What each prompt says: written for a person in pain.

Calm, specific, no blame, no alarm (except a red flag), and never a diagnosis.
Every text is built from the prompt's own ``reason``, so it always says why it
fired. The overactivity prompts rest on heuristics with no validated threshold,
and their texts speak of the plan, not of harm.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pacer.engine.model import Level, PromptKind
from pacer.engine.rules import SafetyRules
from pacer.engine.safety import first_line, said

NOT_A_DIAGNOSIS = "pacer cannot diagnose anything; this advice is based on what you reported."


@dataclass(frozen=True, slots=True)
class Wording:
    level: Level
    title: str
    text: str
    actions: tuple[str, ...]


R = Mapping[str, Any]
NUDGE_ACTIONS = ("done", "snooze", "dismiss")
INFO_ACTIONS = ("dismiss",)
RED_FLAG_ACTIONS = ("seen",)  # "seen", or "seen" with resume: I was told I can carry on


def _steps(n: Any) -> str:
    return f"{int(n):,}"


def _sitting_break(r: R) -> Wording:
    minutes = r["bout_min"]
    if r["repeat"] == 0:
        text = (
            f"You have been sitting for about {minutes} minutes. A couple of minutes of "
            "standing or easy walking can help your back settle. If now is not a good time, "
            "snooze this and come back to it."
        )
    else:
        text = (
            f"Still sitting, about {minutes} minutes now. Whenever it suits you, stand up, "
            "shift your weight or take a few easy steps; even a short change helps."
        )
    return Wording("nudge", "Time for a movement break", text, NUDGE_ACTIONS)


def _walk_reminder(r: R) -> Wording:
    done, due = r["walks_done"], r["walks_due"]
    so_far = "no walks yet today" if done == 0 else f"{done} of your walks so far"
    text = (
        f"A short, easy walk is on today's plan ({so_far}; {due} planned by now). "
        "Go at a comfortable pace and stop while it still feels fine."
    )
    return Wording("nudge", "A short walk?", text, NUDGE_ACTIONS)


def _pace_ease_off(r: R) -> Wording:
    text = (
        f"You are well ahead of today's plan: {_steps(r['steps'])} steps, where about "
        f"{_steps(r['expected'])} would be on track for {_steps(r['quota'])} by evening. "
        "Good days are welcome; easing off now helps avoid paying for it later. "
        "(A pacing guide, not a medical limit.)"
    )
    return Wording("nudge", "Ahead of plan: time to ease off", text, ("done", "dismiss"))


def _ceiling_reached(r: R) -> Wording:
    text = (
        f"You have reached today's upper limit of {_steps(r['ceiling'])} steps "
        f"({_steps(r['steps'])} so far). Bank the rest for tomorrow: steady days build "
        "capacity better than big ones. (A pacing guide, not a medical limit.)"
    )
    return Wording("info", "Today's activity is done", text, INFO_ACTIONS)


def _long_bout_rest(r: R) -> Wording:
    text = (
        f"You have been on your feet and moving for about {r['bout_min']} minutes. A few "
        "minutes' rest, sitting or lying comfortably, before you carry on. "
        "(A pacing guide, not a medical limit.)"
    )
    return Wording("nudge", "Time for a short rest", text, ("done", "dismiss"))


def _floor_nudge(r: R) -> Wording:
    text = (
        f"Today has been quiet so far ({_steps(r['steps'])} steps; the plan's lower mark is "
        f"{_steps(r['floor'])}). If you feel up to it, one short, easy walk would keep the "
        "plan steady. If today is a bad day, that is fine too. (A pacing guide, not a "
        "medical limit.)"
    )
    return Wording("nudge", "A little movement, if you can", text, NUDGE_ACTIONS)


def _boom_followup(r: R) -> Wording:
    text = (
        f"Yesterday was a big day ({_steps(r['yesterday_steps'])} steps against a plan of "
        f"{_steps(r['quota'])}). Keep today to plan, even if you feel good: that is how "
        "the boom-bust cycle is broken. (A pacing guide, not a medical limit.)"
    )
    return Wording("info", "Yesterday was big: keep today to plan", text, INFO_ACTIONS)


def _settle_plan(r: R) -> Wording:
    quota = r.get("quota")
    target = f"a lighter target of {_steps(quota)} steps" if quota else "no step target"
    text = (
        f"Thank you for letting pacer know. Until {str(r['until'])[:16].replace('T', ' ')} "
        f"the plan settles: {target}, movement breaks every {r['sitting_limit_min']} minutes "
        "of sitting, and three short walks of about 5 minutes. Flare-ups usually settle; "
        "gentle movement helps. If the pain escalates or worries you, contact your "
        "physiotherapist or GP."
    )
    return Wording("warning", "Settle plan for the next few days", text, INFO_ACTIONS)


def _review_suggested(r: R) -> Wording:
    days = r.get("red_days") or 0
    why = (f"you have reported red symptoms on {days} days in a row" if days >= 3
           else "your reported pain has risen day after day")
    text = (
        f"Because {why}, it would be good to see your physiotherapist or GP to review how "
        f"things are going. Your physiotherapist has been told. {NOT_A_DIAGNOSIS}"
    )
    return Wording("warning", "Time to check in with your physio or GP", text, INFO_ACTIONS)


def _clock(stamp: str) -> str:
    """``2026-03-30T02:05:41+01:00`` as a person writes it: ``2:05``."""
    at = datetime.fromisoformat(stamp)
    return f"{at.hour}:{at.minute:02d}"


def red_flag(r: R, safety: SafetyRules) -> Wording:
    """The action first, for the highest tier reported; then what the person
    reported; then that pacer cannot diagnose (pacing-rules.md section 7)."""
    tier = r["tier"]
    number = safety.emergency_number
    flags = [str(f) for f in r["flags"]]
    lines = [first_line(tier, number, safety.urgent_service)]
    if tier == "urgent":
        lines.append(f"If it gets much worse, call {number}.")
    reported = r.get("reported")
    when = f" at {_clock(str(reported))}" if r.get("repeat") and reported else ""
    earlier = [str(f) for f in r.get("earlier", ())]
    also = f" (and earlier: {said(earlier)})" if earlier else ""
    lines.append(f"You reported{when}: {said(flags)}{also}.")
    if tier == "emergency":
        lines.append("With back pain this can be a sign of a serious problem that needs "
                     "checking straight away.")
    else:
        lines.append("With back pain this needs checking by a doctor soon.")
    lines.append("Your other pacing prompts are paused. Once you have been seen, "
                 'tap "I\'ve been seen".')
    lines.append(NOT_A_DIAGNOSIS)
    title = (f"Call {number} or go to the emergency department now" if tier == "emergency"
             else "Get medical advice today")
    return Wording("urgent", title, " ".join(lines), RED_FLAG_ACTIONS)


def _plan_update(r: R) -> Wording:
    old, new, why = r["old_quota"], r["new_quota"], r["why"]
    if old is None and new is not None:
        change = f"Your daily step plan starts at {_steps(new)} steps."
    elif new is None:
        change = "Your plan has changed."
    elif old == new:
        change = f"Your daily plan stays at {_steps(new)} steps."
    else:
        change = f"Your daily plan changes from {_steps(old)} to {_steps(new)} steps."
    return Wording("info", "Your plan", f"{change} Why: {why}.", INFO_ACTIONS)


_WORDINGS: dict[str, Callable[[R], Wording]] = {
    "sitting_break": _sitting_break,
    "walk_reminder": _walk_reminder,
    "pace_ease_off": _pace_ease_off,
    "ceiling_reached": _ceiling_reached,
    "long_bout_rest": _long_bout_rest,
    "floor_nudge": _floor_nudge,
    "boom_followup": _boom_followup,
    "settle_plan": _settle_plan,
    "review_suggested": _review_suggested,
    "plan_update": _plan_update,
}


def wording(kind: PromptKind, reason: R, safety: SafetyRules) -> Wording:
    if kind == "red_flag":
        return red_flag(reason, safety)
    return _WORDINGS[kind](reason)
