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
from pacer.engine.numbers import grouped
from pacer.engine.rules import SafetyRules
from pacer.engine.safety import first_line, said

GUIDE = "(A pacing guide, not a medical limit.)"
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
    return grouped(int(n))


_BREAKS = {
    "walk": "A couple of minutes of standing or easy walking can help your back settle.",
    "extension": "Stand up and gently lean back a few times, hands on your hips, then move "
                 "about a little.",
    "position": "Change position for a few minutes: stand, walk a little or lie down, "
                "whatever feels easiest.",
}


def _break(r: R) -> str:
    advice = r.get("advice", "walk")
    if advice == "custom" and r.get("break_text"):
        return str(r["break_text"])
    return _BREAKS.get(advice, _BREAKS["walk"])


def _sitting_break(r: R) -> Wording:
    minutes = r["bout_min"]
    # A wrist cannot tell sitting from standing still: say only what is known.
    doing = "been still" if r.get("inferred") else "been sitting"
    advice = _break(r)
    if r["repeat"] == 0:
        text = (f"You have {doing} for about {minutes} minutes. {advice} If now is not "
                "a good time, snooze this and come back to it.")
    else:
        text = (f"Still going: about {minutes} minutes now. Whenever it suits you, "
                f"{advice[0].lower()}{advice[1:]}")
    return Wording("nudge", "Time for a movement break", text, NUDGE_ACTIONS)


def _standing_break(r: R) -> Wording:
    text = (f"You have been standing for about {r['bout_min']} minutes. Sit down, walk a "
            "little or lie down for a few minutes to give your back a change.")
    return Wording("nudge", "Time to change position", text, NUDGE_ACTIONS)


def _walk_reminder(r: R) -> Wording:
    done, due = r["walks_done"], r["walks_due"]
    target = r.get("target_min")
    covered = r.get("coverage", 1.0) >= 0.8
    if done:
        so_far = f"{done} walk{'s' if done != 1 else ''} so far"
    elif covered:
        so_far = "no walks yet today"
    else:
        # The wearable missed part of the day: pacer may have missed a walk.
        so_far = "no walk recorded so far, though pacer may have missed one"
    length = f" of about {target} minutes" if target else ""
    text = (f"A short, easy walk{length} is on today's plan ({so_far}; {due} planned by "
            "now). Go at a comfortable pace and stop while it still feels fine.")
    return Wording("nudge", "A short walk?", text, NUDGE_ACTIONS)


def _pace_ease_off(r: R) -> Wording:
    text = (
        f"You are well ahead of today's plan: {_steps(r['steps'])} steps since you got up, "
        f"where about {_steps(r['expected'])} would be on track for {_steps(r['quota'])} "
        "by evening. Good days are welcome; a slower pace for a while helps avoid paying "
        "for it later. (A pacing guide, not a medical limit.)"
    )
    return Wording("nudge", "Ahead of plan: an easier pace for a while?", text,
                   ("done", "dismiss"))


def _ceiling_reached(r: R) -> Wording:
    text = (
        f"A good day: {_steps(r['steps'])} steps, past the top of today's range "
        f"({_steps(r['ceiling'])}). Keep the rest of the day light and bank the rest for "
        "tomorrow: steady days build capacity better than big ones. (A pacing guide, not a "
        "medical limit.)"
    )
    return Wording("info", "A good day: keep the rest of it light", text, INFO_ACTIONS)


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


def _exercise_reminder(r: R) -> Wording:
    done, target = r["sessions_week"], r["target"]
    text = (f"Your plan has {target} strength or mobility sessions a week, and {done} "
            f"{'is' if done == 1 else 'are'} done this week. If you can, do today's "
            'exercises at an easy level, then tap "Done my exercises".')
    return Wording("nudge", "Time for your exercises?", text, NUDGE_ACTIONS)


def _wearable_silent(r: R) -> Wording:
    since = r.get("since")
    when = f" since {_clock(str(since))}" if since else " today"
    text = (f"pacer has had no data from your wearable{when}. Is it on and charged? Prompts "
            "about sitting and walking wait until it is back.")
    return Wording("info", "Is your wearable on?", text, INFO_ACTIONS)


def when_written(stamp: str) -> str:
    """``2026-03-30T09:40:00+01:00`` as a person writes it: ``Monday at 9:40``."""
    return f"{datetime.fromisoformat(stamp).strftime('%A')} at {_clock(stamp)}"


def _settle_plan(r: R) -> Wording:
    quota = r.get("quota")
    target = f"a lighter target of {_steps(quota)} steps" if quota else "no step target"
    walks, minutes = r.get("walks", 3), r.get("walk_min", 5)
    walk_text = (f"{walks} short walk{'s' if walks != 1 else ''} of about {minutes} minutes"
                 if walks else "no planned walks")
    advice = " ".join(str(line) for line in r.get("advice", ()))
    text = (
        f"Thank you for letting pacer know. Until {when_written(str(r['until']))} the plan "
        f"settles: {target}, a movement break every {r['sitting_limit_min']} minutes of "
        f"sitting, and {walk_text}. {advice} Flare-ups usually settle; gentle movement "
        "helps. If the pain escalates or worries you, contact your physiotherapist or GP."
    ).replace("  ", " ")
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
    reported; then that pacer cannot diagnose (docs/pacing-rules.md section 7)."""
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
    """One message about the plan; a morning one says each of its parts in turn
    (its ``why`` joins them)."""
    old, new, why = r["old_quota"], r["new_quota"], r["why"]
    if old is None and new is not None:
        change = f"Your daily step plan starts at {_steps(new)} steps."
    elif new is None:
        change = "Your plan has changed."
    elif old == new:
        change = f"Your daily plan stays at {_steps(new)} steps."
    else:
        change = f"Your daily plan changes from {_steps(old)} to {_steps(new)} steps."
    said = ". ".join(part[:1].upper() + part[1:].rstrip(".!? ")
                     for part in str(why).split("; ") if part)
    parts = r.get("parts", ())
    if "boom_followup" in parts:
        said += f". {GUIDE}"
    title = "Good morning: your plan today" if len(parts) > 1 or "boom_followup" in parts \
        else "Your plan"
    end = "" if said.endswith((".", ")")) else "."
    return Wording("info", title, f"{change} {said}{end}", INFO_ACTIONS)


_WORDINGS: dict[str, Callable[[R], Wording]] = {
    "sitting_break": _sitting_break,
    "walk_reminder": _walk_reminder,
    "pace_ease_off": _pace_ease_off,
    "ceiling_reached": _ceiling_reached,
    "long_bout_rest": _long_bout_rest,
    "floor_nudge": _floor_nudge,
    "standing_break": _standing_break,
    "exercise_reminder": _exercise_reminder,
    "wearable_silent": _wearable_silent,
    "settle_plan": _settle_plan,
    "review_suggested": _review_suggested,
    "plan_update": _plan_update,
}


def wording(kind: PromptKind, reason: R, safety: SafetyRules) -> Wording:
    if kind == "red_flag":
        return red_flag(reason, safety)
    return _WORDINGS[kind](reason)
