"""What a report takes from the store, checked before any page uses it.

The store keeps the summaries and prompts the daemon published as JSON text.
A damaged file, or one another program wrote, can hold anything there: each
body read is checked for the keys and JSON types the HTML, CSV and FHIR use,
and a problem raises ``Damaged`` saying which key, for the loader to name the
store and the summary. Values are not range-checked: the figures are shown as
stored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from pacer.timebase import zone


class Damaged(ValueError):  # noqa: N818 - what the stored body is
    """A stored body is not what pacer writes."""


Check = tuple[Callable[[Any], bool], str]


def _whole(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _strings(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def _counts(v: Any) -> bool:
    return isinstance(v, dict) and all(_whole(x) for x in v.values())


def _or_null(check: Check) -> Check:
    test, what = check
    return (lambda v: v is None or test(v)), f"{what} or null"


WHOLE: Check = (_whole, "a whole number")
NUMBER: Check = (_number, "a number")
TEXT: Check = (lambda v: isinstance(v, str), "a string")
TRUTH: Check = (lambda v: isinstance(v, bool), "true or false")
OBJECT: Check = (lambda v: isinstance(v, dict), "an object")
LIST: Check = (lambda v: isinstance(v, list), "a list")
STRINGS: Check = (_strings, "a list of strings")
COUNTS: Check = (_counts, "an object of whole numbers")

DAY: dict[str, Check] = {
    "date": TEXT, "timezone": TEXT, "final": TRUTH, "valid": TRUTH,
    **dict.fromkeys(("known_min", "steps", "stepping_min", "upright_min", "sedentary_min",
                     "sitting_bouts_30", "sitting_bouts_60", "longest_sitting_bout_min",
                     "sit_to_stand", "walks", "walk_min"), WHOLE),
    "sedentary_inferred": TRUTH, "prompts": COUNTS, "breaks": OBJECT, "plan": OBJECT,
    "flags": STRINGS, "symptoms": LIST,
}
BREAKS: dict[str, Check] = {
    **dict.fromkeys(("prompted", "taken", "natural", "ignored", "snoozed", "dismissed"), WHOLE),
    "median_response_min": _or_null(NUMBER),
}
BREAKS_V2: dict[str, Check] = {"ignored_streak": WHOLE}
PLAN: dict[str, Check] = {
    "phase": TEXT, "quota": _or_null(WHOLE), "floor": _or_null(WHOLE),
    "ceiling": _or_null(WHOLE), "achievement": _or_null(NUMBER),
}
DAY_V2: dict[str, Check] = {
    **dict.fromkeys(("sedentary_inferred_min", "worn_min", "not_worn_min", "lying_min"), WHOLE),
    "window": (lambda v: v is None or isinstance(v, dict), "an object or null"),
    "walk_lengths": (lambda v: isinstance(v, list) and all(_whole(x) for x in v),
                     "a list of whole numbers"),
    "walk_target_min": _or_null(WHOLE), "prompts_dropped": COUNTS, "exercise": OBJECT,
}
"""Version 2's additions (interfaces.md section 8.5): checked when present, as
a store written by version 1 holds days without them."""
WINDOW: dict[str, Check] = dict.fromkeys(("opened", "closed", "opened_by", "closed_by"),
                                         _or_null(TEXT))
EXERCISE: dict[str, Check] = {"sessions": WHOLE, "minutes": WHOLE}
WEEK_EXERCISE: dict[str, Check] = {"sessions": WHOLE, "target": WHOLE}
SYMPTOM: dict[str, Check] = {"level": TEXT}
SYMPTOM_OPTIONAL: dict[str, Check] = {
    "time": TEXT, "pain": NUMBER, "red_flags": STRINGS, "tier": _or_null(TEXT),
}
WEEK: dict[str, Check] = {
    "week": TEXT, "days": LIST, "boom_bust_cycles": WHOLE,
    "cv_daily_steps_14d": _or_null(NUMBER), "adherence": _or_null(NUMBER),
    "plan_changes": LIST,
}
WEEK_V2: dict[str, Check] = {"valid_days": WHOLE, "exercise": OBJECT}
PLAN_CHANGE: dict[str, Check] = {"time": TEXT, "by": TEXT, "why": TEXT}
PROMPT: dict[str, Check] = {"time": WHOLE, "kind": TEXT, "title": TEXT, "text": TEXT}


def day(stored: Any) -> Mapping[str, Any]:
    """A stored daily summary, checked."""
    body = _keys(stored, DAY)
    _keys(body["breaks"], BREAKS, "breaks.")
    _keys(body["breaks"], BREAKS_V2, "breaks.", optional=True)
    _keys(body["plan"], PLAN, "plan.")
    _keys(body, DAY_V2, optional=True)
    if body.get("window") is not None:
        _keys(body["window"], WINDOW, "window.", optional=True)
    if "exercise" in body:
        _keys(body["exercise"], EXERCISE, "exercise.")
    for i, entry in enumerate(body["symptoms"]):
        where = f"symptoms[{i}]."
        _keys(entry, SYMPTOM, where)
        _keys(entry, SYMPTOM_OPTIONAL, where, optional=True)
    try:
        date.fromisoformat(body["date"])
        zone(body["timezone"])
    except ValueError as exc:
        raise Damaged(str(exc)) from None
    return body


def week(stored: Any) -> Mapping[str, Any]:
    """A stored weekly summary, checked, with its plan changes' times."""
    body = _keys(stored, WEEK)
    _keys(body, WEEK_V2, optional=True)
    if "exercise" in body:
        _keys(body["exercise"], WEEK_EXERCISE, "exercise.")
    for i, change in enumerate(body["plan_changes"]):
        where = f"plan_changes[{i}]."
        _keys(change, PLAN_CHANGE, where)
        _keys(change, {"set": OBJECT}, where, optional=True)
        when = change["time"]
        try:
            aware = datetime.fromisoformat(when).utcoffset() is not None
        except ValueError:
            aware = False
        if not aware:
            raise Damaged(f"'{where}time' {when!r} is not an ISO 8601 time with a UTC offset")
    return body


def prompt(body: Any) -> Mapping[str, Any]:
    """A stored prompt, checked."""
    return _keys(body, PROMPT)


def _keys(body: Any, checks: Mapping[str, Check], where: str = "", *,
          optional: bool = False) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise Damaged(f"{where.rstrip('.') or 'it'} is not a JSON object")
    for key, (test, what) in checks.items():
        if key not in body:
            if optional:
                continue
            raise Damaged(f"it has no key '{where}{key}'")
        if not test(body[key]):
            raise Damaged(f"'{where}{key}' is not {what}")
    return body
