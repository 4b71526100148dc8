"""What ``pacer demo`` prints, for a person: pure functions of the payloads.

A prompt as time, title, a plain reason ("no steps for 40 min, limit 40")
and its text; the day's summary as rows; counts that do not add up (outcomes
of the sitting prompts, buzzes of the watch) said with why.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

KIND_WORDS: Mapping[str, tuple[str, str]] = {
    "sitting_break": ("sitting break", "sitting breaks"),
    "standing_break": ("standing break", "standing breaks"),
    "walk_reminder": ("walk reminder", "walk reminders"),
    "pace_ease_off": ("ease-off", "ease-offs"),
    "ceiling_reached": ("upper limit reached", "upper limits reached"),
    "long_bout_rest": ("rest after a long walk", "rests after a long walk"),
    "floor_nudge": ("lower-mark nudge", "lower-mark nudges"),
    "exercise_reminder": ("exercise reminder", "exercise reminders"),
    "wearable_silent": ("wearable silent", "wearable silent"),
    "settle_plan": ("settling plan", "settling plans"),
    "review_suggested": ("review suggested", "reviews suggested"),
    "red_flag": ("red flag", "red flags"),
    "plan_update": ("plan message", "plan messages"),
}
DROP_WORDS: Mapping[str, str] = {
    "budget": "over the daily budget",
    "limits": "held back too long by the prompt limits",
    "dnd": "do not disturb",
    "coverage": "too little data to judge",
    "coherence": "would contradict a recent prompt",
}


def _n(value: Any) -> str:
    """A count as a person reads it: 6,456."""
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def _bout(r: Mapping[str, Any], doing: str) -> str:
    repeat = r.get("repeat") or 0
    text = f"{doing} {_n(r.get('bout_min'))} min, limit {_n(r.get('limit_min'))}"
    return text + ("; a reminder" if repeat else "")


def _plan(r: Mapping[str, Any]) -> str:
    old, new = r.get("old_quota"), r.get("new_quota")
    if old is None or old == new:
        return f"step plan {_n(new)}"
    return f"step plan {_n(old)} -> {_n(new)}"


def reason_words(kind: str, reason: Mapping[str, Any]) -> str:
    """Why a prompt fired, in a few plain words ('' when its text says it all)."""
    r = reason
    match kind:
        case "sitting_break":
            # A watch counts steps only: sitting is inferred from none.
            return _bout(r, "no steps for" if r.get("inferred") else "sitting")
        case "standing_break":
            return _bout(r, "standing")
        case "walk_reminder":
            return f"{_n(r.get('walks_done'))} of {_n(r.get('walks_due'))} walks done by now"
        case "pace_ease_off":
            return (f"{_n(r.get('steps'))} steps where about {_n(r.get('expected'))} "
                    f"are on track for {_n(r.get('quota'))}")
        case "ceiling_reached":
            return f"{_n(r.get('steps'))} steps, the day's upper limit is {_n(r.get('ceiling'))}"
        case "long_bout_rest":
            return (f"on your feet {_n(r.get('bout_min'))} min, "
                    f"at most {_n(r.get('max_bout_min'))}")
        case "floor_nudge":
            return f"{_n(r.get('steps'))} steps, the plan's lower mark is {_n(r.get('floor'))}"
        case "exercise_reminder":
            return (f"{_n(r.get('sessions_week'))} of {_n(r.get('target'))} "
                    "exercise sessions this week")
        case "plan_update":
            return _plan(r)
        case _:
            return ""


def prompt_lines(data: Mapping[str, Any]) -> list[str]:
    """A prompt payload (interfaces.md section 4) as the demo prints it."""
    why = reason_words(str(data.get("kind")), data.get("reason") or {})
    head = f"  {str(data['time'])[11:16]}  {data['title']}"
    return [head + (f"  ({why})" if why else ""), f"         {data['text']}"]


def _edge(window: Mapping[str, Any], which: str) -> str:
    """``06:30 (detected)``: when the window opened or closed, and how."""
    stamp = window.get(which)
    return "-" if stamp is None else f"{stamp[11:16]} ({window.get(which + '_by')})"


def _by_kind(prompts: Mapping[str, int]) -> str:
    parts = [f"{n} {KIND_WORDS.get(k, (k, k))[n != 1]}" for k, n in prompts.items() if n]
    return f"{sum(prompts.values())}" + (f": {', '.join(parts)}" if parts else "")


def outcomes(breaks: Mapping[str, Any], response_window_min: int) -> str:
    """The sitting prompts' outcomes, and why they fall short of the prompts if
    they do: an outcome is decided when the response window closes."""
    names = ("taken", "ignored", "snoozed", "dismissed")
    text = " / ".join(f"{_n(breaks.get(k, 0))} {k}" for k in names)
    open_ = int(breaks.get("prompted", 0)) - sum(int(breaks.get(k, 0)) for k in names)
    if open_ > 0:
        text += (f"; {open_} still open (an outcome is decided {response_window_min} min "
                 "after the prompt)")
    return text


def summary_rows(s: Mapping[str, Any], response_window_min: int) -> list[tuple[str, str]]:
    """The day's summary payload (interfaces.md section 5) as labelled rows."""
    b = s["breaks"]
    w = s.get("window") or {}
    plan = s["plan"]
    dropped = {k: v for k, v in (s.get("prompts_dropped") or {}).items() if v}
    median = b.get("median_response_min")
    return [
        ("waking window", f"{_edge(w, 'opened')} to {_edge(w, 'closed')}"),
        ("steps", _n(s["steps"])),
        ("step plan", f"{_n(plan['quota'])} (lower mark {_n(plan['floor'])}, "
                      f"upper limit {_n(plan['ceiling'])})"),
        ("known minutes (waking day)", _n(s["known_min"])
         + (f"; {_n(s['not_worn_min'])} not worn (the watch was off)"
            if s.get("not_worn_min") else "")),
        ("sedentary / upright / stepping min",
         f"{s['sedentary_min']} / {s['upright_min']} / {s['stepping_min']}"),
        ("sitting bouts >= 30 / >= 60 min", f"{s['sitting_bouts_30']} / {s['sitting_bouts_60']}"),
        ("longest sitting bout", f"{s['longest_sitting_bout_min']} min"),
        ("sit-to-stand transitions", _n(s["sit_to_stand"])),
        ("prompts sent", _by_kind(s.get("prompts") or {})),
        ("sitting prompts", _n(b["prompted"])),
        ("  their outcomes", outcomes(b, response_window_min)),
        ("  median time to a break", "-" if median is None else f"{median:g} min"),
        ("breaks without a prompt", _n(b["natural"])),
        ("nudges due but not sent",
         "0" if not dropped else f"{sum(dropped.values())}: " + ", ".join(
             f"{n} {DROP_WORDS.get(k, k)}" for k, n in dropped.items())),
    ]


def buzz_line(buzzed: int, prompts: int) -> str:
    """How often the watch buzzed, against the prompts printed."""
    if buzzed == prompts:
        return f"The watch buzzed {buzzed} time(s), once for each prompt above."
    return (f"The watch buzzed {buzzed} time(s) for the {prompts} prompt(s) above: "
            f"{abs(prompts - buzzed)} "
            + ("did not reach it (it buzzes only while connected)." if buzzed < prompts
               else "more than the phone received."))
