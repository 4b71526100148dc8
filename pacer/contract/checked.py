"""The reader's side of the contract: what a reader of a daemon's messages
(the clinic's collector and web app) accepts, and reads back from its
database: the summaries, the alert bodies (v1 and v2), the audit events and
the command replies, as far as a reader uses them. ``payloads`` builds them;
tests/pacer/contract/test_contract.py holds the two to each other.

Every payload is first read as *safe JSON* (``load``): UTF-8, a JSON object,
at most ``MAX_PAYLOAD`` bytes and ``MAX_DEPTH`` levels, no NaN or infinite
number, no string with a NUL or a lone surrogate (PostgreSQL's text cannot
hold them, UTF-8 cannot encode them), strings and lists of bounded size. Then
the fields the clinic reads are checked against their model here: types
(``true`` is not a number, ``"many"`` is not a count), ranges and formats
(a date is a date, a time an ISO time). Fields the clinic does not know are
kept as published: a newer pacer may send more.

The collector refuses what fails (a dead letter, see ``collector``); the web
app reads every stored row through the same check, so a row that is somehow
wrong (stored by an older clinic, or edited by hand) marks its patient's data
unreadable instead of breaking the page for every patient.
"""

from __future__ import annotations

import json
import math
import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

MAX_PAYLOAD = 256 * 1024  # the shipped broker's message_size_limit
MAX_DEPTH = 12
MAX_STRING = 10_000
MAX_ITEMS = 20_000  # values in one payload, all levels
MAX_KEY = 128


class Unreadable(ValueError):  # noqa: N818 - a reason, not a failure of the program
    """A payload or stored row that breaks the contract; the reason says how."""


# --- safe JSON -------------------------------------------------------------------------


def _no_constant(name: str) -> Any:
    raise Unreadable(f"{name} is not a JSON number")


def _text_ok(text: str) -> str | None:
    """Why ``text`` cannot be stored, or None."""
    if len(text) > MAX_STRING:
        return f"a string of {len(text)} characters (at most {MAX_STRING})"
    if "\x00" in text:
        return "a string with a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "a string with a lone surrogate"
    return None


def check_json(value: Any) -> None:
    """Raise ``Unreadable`` unless ``value`` (parsed JSON) is safe to store,
    serve and show; iterative, so no depth can exhaust the stack."""
    todo: list[tuple[Any, int]] = [(value, 1)]
    seen = 0
    while todo:
        item, depth = todo.pop()
        seen += 1
        if seen > MAX_ITEMS:
            raise Unreadable(f"more than {MAX_ITEMS} values")
        if isinstance(item, str):
            why = _text_ok(item)
            if why:
                raise Unreadable(why)
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            if abs(item) >= 2**63:
                raise Unreadable("an integer beyond 64 bits")
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise Unreadable("a number that is not finite")
        elif isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise Unreadable(f"nested deeper than {MAX_DEPTH} levels")
            if isinstance(item, dict):
                for key, sub in item.items():
                    if not isinstance(key, str) or len(key) > MAX_KEY:
                        raise Unreadable("a key that is too long")
                    why = _text_ok(key)
                    if why:
                        raise Unreadable(f"a key: {why}")
                    todo.append((sub, depth + 1))
            else:
                todo.extend((sub, depth + 1) for sub in item)
        else:
            raise Unreadable(f"a {type(item).__name__} value")


def load(payload: bytes | str) -> dict[str, Any]:
    """A payload (or a stored body) as a safe JSON object; raises ``Unreadable``."""
    if len(payload) > MAX_PAYLOAD:
        raise Unreadable(f"{len(payload)} bytes (at most {MAX_PAYLOAD})")
    try:
        text = payload.decode("utf-8") if isinstance(payload, bytes) else payload
        data = json.loads(text, parse_constant=_no_constant)
    except Unreadable:
        raise
    except UnicodeDecodeError:
        raise Unreadable("not UTF-8") from None
    except RecursionError:
        raise Unreadable(f"nested deeper than {MAX_DEPTH} levels") from None
    except (ValueError, TypeError):
        raise Unreadable("not JSON") from None
    if not isinstance(data, dict):
        raise Unreadable("not a JSON object")
    check_json(data)
    return data


def dumps(data: dict[str, Any]) -> str:
    """The text stored for a checked payload: compact, as published."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


# --- field types -----------------------------------------------------------------------

_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # a user id: one topic level
_WORD = re.compile(r"^[a-z][a-z0-9_]{0,63}$")  # a type, kind or flag name
_ZONE = re.compile(r"^[A-Za-z0-9_+\-/]{1,64}$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def _iso_time(value: str) -> str:
    if len(value) > 64:
        raise ValueError("a time has at most 64 characters")
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("not an ISO 8601 time") from None
    return value


def _iso_date(value: str) -> str:
    try:
        ok = len(value) == 10 and bool(date.fromisoformat(value))
    except ValueError:
        ok = False
    if not ok:
        raise ValueError("not a date written YYYY-MM-DD")
    return value


def _iso_week(value: str) -> str:
    found = _WEEK.match(value)
    try:
        ok = found is not None and bool(
            date.fromisocalendar(int(found.group(1)), int(found.group(2)), 1))
    except ValueError:
        ok = False
    if not ok:
        raise ValueError("not an ISO week written YYYY-Www")
    return value


def _pattern(rx: re.Pattern[str], what: str) -> AfterValidator:
    def check(value: str) -> str:
        if not rx.match(value):
            raise ValueError(f"not {what}")
        return value
    return AfterValidator(check)


Time = Annotated[str, AfterValidator(_iso_time)]
Day = Annotated[str, AfterValidator(_iso_date)]
IsoWeek = Annotated[str, AfterValidator(_iso_week)]
UserId = Annotated[str, _pattern(_ID, "a user id")]
Word = Annotated[str, _pattern(_WORD, "a lower-case name")]
Zone = Annotated[str, _pattern(_ZONE, "a time zone name")]
Text = Annotated[str, Field(max_length=2000)]
Short = Annotated[str, Field(max_length=200)]
Count = Annotated[int, Field(ge=0, le=10_000_000)]
Minutes = Annotated[int, Field(ge=0, le=100_000)]
Number = Annotated[float, Field(allow_inf_nan=False, ge=-1e12, le=1e12)]
Share = Annotated[float, Field(allow_inf_nan=False, ge=0, le=1)]
Flags = Annotated[list[Word], Field(max_length=64)]
Tier = Literal["emergency", "urgent"]


class _Model(BaseModel):
    """Strict types for the fields named; other fields kept as published."""

    model_config = ConfigDict(strict=True, extra="allow", frozen=True)

    v: Annotated[int, Field(ge=1, le=1000)] | None = None
    user: UserId | None = None


class Breaks(_Model):
    prompted: Count | None = None
    taken: Count | None = None
    natural: Count | None = None
    ignored: Count | None = None
    snoozed: Count | None = None
    dismissed: Count | None = None
    median_response_min: Number | None = None
    ignored_streak: Count | None = None  # v2


class Plan(_Model):
    phase: Short | None = None
    quota: Count | None = None
    floor: Count | None = None
    ceiling: Count | None = None
    achievement: Number | None = None


class Window(_Model):
    """The waking window: when it opened and closed (ISO times) and how."""

    opened: Short | None = None
    closed: Short | None = None
    opened_by: Short | None = None
    closed_by: Short | None = None


class DayExercise(_Model):
    sessions: Count | None = None
    minutes: Minutes | None = None


class WeekExercise(_Model):
    sessions: Count | None = None
    target: Count | None = None


class DaySummary(_Model):
    type: Literal["summary"] | None = None
    period: Literal["day"]
    date: Day
    final: bool = False
    timezone: Zone | None = None
    valid: bool | None = None
    known_min: Minutes | None = None
    steps: Count | None = None
    stepping_min: Minutes | None = None
    upright_min: Minutes | None = None
    sedentary_min: Minutes | None = None
    sedentary_inferred: bool | None = None
    sitting_bouts_30: Count | None = None
    sitting_bouts_60: Count | None = None
    longest_sitting_bout_min: Minutes | None = None
    sit_to_stand: Count | None = None
    walks: Count | None = None
    walk_min: Minutes | None = None
    prompts: dict[Word, Count] | None = None
    breaks: Breaks | None = None
    plan: Plan | None = None
    flags: Flags = []
    symptoms: Annotated[list[dict[str, Any]], Field(max_length=500)] = []
    # v2 (interfaces.md section 8.5); a v1 day has none of them
    sedentary_inferred_min: Minutes | None = None
    window: Window | None = None
    worn_min: Minutes | None = None
    not_worn_min: Minutes | None = None
    lying_min: Minutes | None = None
    walk_lengths: Annotated[list[Minutes], Field(max_length=500)] | None = None
    walk_target_min: Minutes | None = None
    prompts_dropped: dict[Word, Count] | None = None
    exercise: DayExercise | None = None


class WeekSummary(_Model):
    type: Literal["summary"] | None = None
    period: Literal["week"]
    week: IsoWeek
    final: bool = True
    timezone: Zone | None = None
    days: Annotated[list[DaySummary], Field(max_length=7)] = []
    boom_bust_cycles: Count | None = None
    cv_daily_steps_14d: Number | None = None
    adherence: Share | None = None
    plan_changes: Annotated[list[dict[str, Any]], Field(max_length=500)] = []
    valid_days: Count | None = None  # v2
    exercise: WeekExercise | None = None  # v2


class Event(_Model):
    type: Word
    time: Time
    command_id: Short | None = None
    prompt: Short | None = None
    kind: Word | None = None
    outcome: Word | None = None
    latency_min: Number | None = None
    self_reported: bool | None = None
    action: Word | None = None
    minutes: Minutes | None = None
    resume: bool | None = None
    level: Word | None = None
    red_flags: Flags | None = None
    pain: Annotated[int, Field(ge=0, le=10)] | None = None
    by: Short | None = None
    how: Word | None = None
    why: Text | None = None
    set: dict[Annotated[str, Field(max_length=MAX_KEY)], Any] | None = None
    clear_alert: bool | None = None
    flags: Flags | None = None
    tier: Tier | None = None
    seen: Time | None = None


class Alert(_Model):
    type: Literal["alert"] | None = None
    kind: Word
    time: Time
    flags: Flags = []
    review_suggested: bool | None = None
    raised: Time | None = None
    tier: Tier | None = None
    seen: Time | None = None
    reason: dict[str, Any] | None = None


class Reply(_Model):
    """A daemon's reply to a command (section 7.2)."""

    ok: bool
    error: Text | None = None


_KINDS: dict[str, type[_Model]] = {"day": DaySummary, "week": WeekSummary, "event": Event,
                                   "alert": Alert, "reply": Reply}
Kind = Literal["day", "week", "event", "alert", "reply"]


def check(kind: Kind, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` if it keeps the contract of ``kind``; raises ``Unreadable``."""
    try:
        _KINDS[kind].model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or kind
        raise Unreadable(f"{where}: {first['msg']}") from None
    except RecursionError:  # checked by load(); a caller's own dict, not parsed
        raise Unreadable("nested too deep") from None
    return data


def read(kind: Kind, text: str | bytes | None) -> dict[str, Any] | None:
    """A stored body of ``kind`` checked again, or None when it is unreadable."""
    if text is None:
        return None
    try:
        return check(kind, load(text))
    except Unreadable:
        return None
