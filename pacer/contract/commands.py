"""Strict parsing of the commands a person or a physiotherapist sends.

One parser serves the MQTT command topics (``cmd/ack``, ``cmd/symptom``,
``cmd/dnd``, ``cmd/plan``, and since v2 ``cmd/day`` and ``cmd/exercise``) and
the replay events file (interfaces.md sections 3, 6, 7.3 and 8.2). Parsing is
strict on purpose: a command that is not exactly right is refused with a
message for a person, never guessed at.

- exact JSON types: ``"60"`` is not 60, ``true`` is not 1, ``1.0`` is not a
  whole number; ``null`` is never a value (leave the key out instead);
- unknown keys, unknown red-flag names and repeated JSON keys are refused;
- numbers outside their range are refused, not clamped;
- a payload must be a UTF-8 JSON object of 1 to 16384 bytes (checked before
  the JSON is parsed);
- every string in it, keys and values at any depth, must be Unicode text: a
  JSON escape of a lone surrogate (``"\\ud800"``) decodes to a string that
  cannot be written as UTF-8 (to a log, a reply or the store), so it is refused
  with the field named;
- the free texts that reach a screen (an exercise's ``what``, a plan's
  ``message``) are plain text: no control characters (a terminal escape or a
  NUL would reach the phone, the clinic and the report), except a line break
  in a message.

A plan change's ``set`` names rule settings as ``table.key``; each value is
checked by the engine's model of its table (``check_settings``,
pacer/engine/settings.py), so the ranges live in one place. Checks that relate
two settings of a table (``walks.times`` against ``walks.per_day``, ``day.wake``
before ``day.sleep``) depend on the rules in force, so the engine makes them
when it applies the change (``apply_settings``).
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo

from pacer.engine.describe import describe, show_value
from pacer.engine.model import (
    DND_MAX_MIN,
    EXERCISE_TEXT_MAX,
    SNOOZE_MAX_MIN,
    Ack,
    AckAction,
    Command,
    DayEvent,
    DayEventName,
    Dnd,
    Exercise,
    PlanChange,
    Symptom,
    SymptomLevel,
)
from pacer.engine.safety import RED_FLAGS
from pacer.engine.settings import check_settings
from pacer.errors import CommandRejected

MAX_PAYLOAD_BYTES = 16 * 1024
"""Largest command payload accepted (interfaces.md section 7.3); larger ones
are refused before any JSON parsing."""

ID_MAX_LEN = 128
"""Longest command id or prompt id accepted (ours are far shorter)."""

EXERCISE_MAX_MIN = 600
"""Longest exercise session accepted, in minutes (ten hours: a typo beyond)."""

PLAN_MESSAGE_MAX = 500
"""Longest plan-change message accepted: a few sentences on a phone screen."""

CommandKind = Literal["ack", "symptom", "dnd", "plan", "day", "exercise"]
COMMAND_KINDS: tuple[CommandKind, ...] = get_args(CommandKind)


@dataclass(frozen=True, slots=True)
class ParsedCommand:
    """A command, and the id its sender gave it for de-duplication (if any)."""

    command: Command
    cmd_id: str | None = None


# --- JSON ---------------------------------------------------------------------------


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise CommandRejected(f"the key {show_value(key)} appears twice; give each key once")
        out[key] = value
    return out


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise CommandRejected(f"the number {text} is too large")
    return value


def _not_a_number(text: str) -> Any:
    raise CommandRejected(f"{text} is not a JSON number; use a plain number")


def decode_object(text: str | bytes, what: str = "the payload") -> dict[str, Any]:
    """One JSON object from UTF-8 text, strictly: no repeated keys, no NaN or
    Infinity. Raises ``CommandRejected`` saying what is wrong with ``what``."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise CommandRejected(f"{what} is not UTF-8 text") from None
    if not text.strip():
        raise CommandRejected(f"{what} is empty; send a JSON object")
    try:
        value = json.loads(
            text,
            object_pairs_hook=_no_repeats,
            parse_float=_finite,
            parse_constant=_not_a_number,
        )
    except json.JSONDecodeError as exc:
        raise CommandRejected(
            f"{what} is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    except RecursionError:
        raise CommandRejected(f"{what} is nested too deeply") from None
    except ValueError as exc:  # e.g. an integer with thousands of digits
        raise CommandRejected(f"{what} is not usable JSON ({exc})") from None
    if not isinstance(value, dict):
        raise CommandRejected(
            f"{what} must be a JSON object ({{...}}), got {_json_kind(value)}"
        )
    check_text(value, what)
    return value


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _key(key: str) -> str:
    """A key as a message may show it: JSON with escapes, so always printable."""
    return json.dumps(key, ensure_ascii=True)


def check_text(value: object, what: str = "the payload") -> None:
    """Raise ``CommandRejected`` naming the field if any string in ``value`` (keys
    and values, nested to any depth) is not Unicode text: a lone surrogate, which
    the JSON escape ``"\\ud800"`` decodes to and which cannot be written as UTF-8."""
    stack: list[tuple[object, str]] = [(value, "")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if not _is_text(item):
                raise CommandRejected(
                    f"{path or what} is not valid Unicode text (it holds a lone surrogate, "
                    "such as the escape \\ud800 alone); send UTF-8 text")
        elif isinstance(item, Mapping):
            children = []
            for key, sub in item.items():
                if isinstance(key, str) and not _is_text(key):
                    where = f"a key in {path}" if path else f"a key of {what}"
                    raise CommandRejected(
                        f"{where} is not valid Unicode text ({_key(key)}: it holds a lone "
                        "surrogate); send UTF-8 text")
                name = str(key)
                children.append((sub, f"{path}[{_key(name)}]" if path else name))
            stack.extend(reversed(children))  # the first bad field is the one named
        elif isinstance(item, list | tuple):
            stack.extend(reversed([(sub, f"{path}[{i}]") for i, sub in enumerate(item)]))


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "true/false"
    if value is None:
        return "null"
    return "a number"


def _problems(exc: ValidationError, model: type[BaseModel], prefix: str = "") -> list[str]:
    """pydantic's errors as sentences naming the key and what it accepts."""
    fields = _fields(model)
    out = []
    for err in exc.errors():
        loc = err["loc"]
        name = str(loc[0]) if loc else ""
        info = fields.get(name)
        if err["type"] == "extra_forbidden":
            out.append(
                f"unknown key {show_value(name)}; {prefix or 'this command'} takes "
                + ", ".join(k for k in fields if k != "id")
            )
        elif err["type"] == "value_error" or info is None:
            # our own validators write whole sentences
            out.append(str(err["msg"]).removeprefix("Value error, "))
        elif err["type"] == "missing":
            out.append(f"{name} is required: {describe(info)}")
        else:
            out.append(f"{name} must be {describe(info)}, got {show_value(err['input'])}")
    return out


# --- command models ------------------------------------------------------------------


class _Cmd(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    id: str | None = Field(
        None,
        min_length=1,
        max_length=ID_MAX_LEN,
        description=f"a string of 1 to {ID_MAX_LEN} characters (the command's id)",
    )


class _AckIn(_Cmd):
    prompt: str = Field(
        min_length=1,
        max_length=ID_MAX_LEN,
        description='a prompt id, or "last" for the most recent prompt',
    )
    action: AckAction
    minutes: int | None = Field(
        None,
        ge=1,
        le=SNOOZE_MAX_MIN,
        description=f"a whole number from 1 to {SNOOZE_MAX_MIN} (the snooze length)",
    )

    resume: bool | None = Field(
        None, description='true or false, only with action "seen" (true: I was told I can '
        "carry on, which clears the red-flag alert)")

    @model_validator(mode="after")
    def _snooze_only(self) -> _AckIn:
        if self.minutes is not None and self.action != "snooze":
            raise ValueError(
                f'minutes goes only with action "snooze" (it is the snooze length), '
                f"not with {show_value(self.action)}"
            )
        if self.resume is not None and self.action != "seen":
            raise ValueError(
                f'resume goes only with action "seen" (I have been seen), '
                f"not with {show_value(self.action)}"
            )
        return self


_FLAG_LIST = ", ".join(RED_FLAGS)


class _SymptomIn(_Cmd):
    level: SymptomLevel
    red_flags: list[str] = Field(
        default_factory=list, description=f"a list of red-flag names ({_FLAG_LIST})"
    )
    pain: int | None = Field(None, ge=0, le=10)

    @field_validator("red_flags")
    @classmethod
    def _known_flags(cls, flags: list[str]) -> list[str]:
        unknown = [f for f in flags if f not in RED_FLAGS]
        if unknown:
            names = ", ".join(show_value(f) for f in unknown)
            raise ValueError(f"unknown red flag {names}; the red flags are: {_FLAG_LIST}")
        return list(dict.fromkeys(flags))  # a flag named twice counts once


class _DndIn(_Cmd):
    minutes: int = Field(
        ge=0,
        le=DND_MAX_MIN,
        description=f"a whole number from 0 to {DND_MAX_MIN} (0 ends do-not-disturb now)",
    )


def _not_blank(value: str, what: str) -> str:
    if not value.strip():
        raise ValueError(f"{what} must not be empty")
    return value


def _plain(value: str, what: str, *, newlines: bool = False) -> str:
    """``value`` if it has no control characters (``newlines``: but line breaks)."""
    for ch in value:
        if unicodedata.category(ch) == "Cc" and not (newlines and ch == "\n"):
            allowed = " (a line break is allowed)" if newlines else ""
            raise ValueError(
                f"{what} must be plain text, without control characters{allowed}; it holds "
                f"{json.dumps(ch)}")
    return value


class _DayIn(_Cmd):
    event: DayEventName = Field(
        description='"up" (I am up) or "bed" (I am going to bed)')


class _ExerciseIn(_Cmd):
    minutes: int | None = Field(
        None,
        ge=1,
        le=EXERCISE_MAX_MIN,
        description=f"a whole number from 1 to {EXERCISE_MAX_MIN} (the session's length)",
    )
    what: str | None = Field(
        None,
        min_length=1,
        max_length=EXERCISE_TEXT_MAX,
        description=f"text of 1 to {EXERCISE_TEXT_MAX} characters (what you did)",
    )

    @field_validator("what")
    @classmethod
    def _what(cls, v: str) -> str:
        return _plain(_not_blank(v, "what (what you did)"), "what (what you did)")


class _PlanIn(_Cmd):
    by: str = Field(description="a non-empty string naming who made the change")
    why: str = Field(description="a non-empty string saying why")
    settings: dict[str, Any] = Field(
        default_factory=dict,
        alias="set",
        description='an object of settings, e.g. {"sitting.limit_min": 30}',
    )
    clear_alert: bool = False
    message: str | None = Field(
        None,
        min_length=1,
        max_length=PLAN_MESSAGE_MAX,
        description=f"text of 1 to {PLAN_MESSAGE_MAX} characters (shown to the person)",
    )

    @field_validator("message")
    @classmethod
    def _message(cls, v: str) -> str:
        what = "message (shown to the person)"
        return _plain(_not_blank(v, what), what, newlines=True)

    @field_validator("by")
    @classmethod
    def _by(cls, v: str) -> str:
        return _not_blank(v, "by (who made the change)")

    @field_validator("why")
    @classmethod
    def _why(cls, v: str) -> str:
        return _not_blank(v, "why (the reason for the change)")

    @model_validator(mode="after")
    def _does_something(self) -> _PlanIn:
        if not self.settings and not self.clear_alert:
            raise ValueError(
                'a plan change needs "set" (an object of settings) or "clear_alert": true'
            )
        return self


_MODELS: dict[str, tuple[type[_Cmd], str]] = {
    "ack": (_AckIn, "an ack"),
    "symptom": (_SymptomIn, "a symptom report"),
    "dnd": (_DndIn, "a dnd command"),
    "plan": (_PlanIn, "a plan change"),
    "day": (_DayIn, "a day event"),
    "exercise": (_ExerciseIn, "an exercise session"),
}


# --- fields ---------------------------------------------------------------------------


@cache
def _fields(model: type[BaseModel]) -> dict[str, FieldInfo]:
    """A model's fields by the name the sender writes (its alias, if any)."""
    return {(f.alias or name): f for name, f in model.model_fields.items()}


# --- the parser ----------------------------------------------------------------------


def parse_command(kind: str, payload: bytes | str | Mapping[str, Any]) -> ParsedCommand:
    """Parse one command of ``kind`` (one of ``COMMAND_KINDS``).

    ``payload`` is the raw MQTT payload (bytes or text) or an already decoded
    JSON object (a replay event without its ``time`` and ``type``). Raises
    ``CommandRejected`` with a message for a person."""
    if kind not in _MODELS:
        raise CommandRejected(
            f"unknown command {show_value(kind)}; the commands are: {', '.join(COMMAND_KINDS)}"
        )
    model, what = _MODELS[kind]
    if isinstance(payload, bytes | str):
        if isinstance(payload, str):
            try:
                payload = payload.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate
                raise CommandRejected("the payload is not UTF-8 text") from None
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise CommandRejected(
                f"the payload is {len(payload)} bytes; at most {MAX_PAYLOAD_BYTES} (16 KiB) "
                "are accepted"
            )
        data = decode_object(payload)
    else:
        if not all(isinstance(k, str) for k in payload):
            raise CommandRejected("every key of a command must be a string")
        check_text(payload, "the command")
        data = dict(payload)

    fields = _fields(model)
    nulls = [
        f"{k} must be {describe(fields[k])}, got null (leave the key out instead)"
        for k, v in data.items()
        if v is None and k in fields
    ]
    if nulls:
        raise CommandRejected("; ".join(nulls))
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        raise CommandRejected("; ".join(_problems(exc, model, what))) from None
    return ParsedCommand(_to_command(parsed), parsed.id)


def _to_command(parsed: _Cmd) -> Command:
    if isinstance(parsed, _AckIn):
        return Ack(prompt=parsed.prompt, action=parsed.action, minutes=parsed.minutes,
                   resume=bool(parsed.resume))
    if isinstance(parsed, _SymptomIn):
        return Symptom(level=parsed.level, red_flags=tuple(parsed.red_flags), pain=parsed.pain)
    if isinstance(parsed, _DndIn):
        return Dnd(minutes=parsed.minutes)
    if isinstance(parsed, _DayIn):
        return DayEvent(event=parsed.event)
    if isinstance(parsed, _ExerciseIn):
        return Exercise(minutes=parsed.minutes, what=parsed.what)
    assert isinstance(parsed, _PlanIn)
    return PlanChange(
        by=parsed.by,
        why=parsed.why,
        set=check_settings(parsed.settings),
        clear_alert=parsed.clear_alert,
        message=parsed.message,
    )
