"""What a setting or a command field accepts, said for a person:
'a whole number from 1 to 120'. Shared by the engine's settings checks, the
config loader and the command parser, so all three word a value alike."""

from __future__ import annotations

import json
from datetime import time
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

from annotated_types import Ge, Gt, Le, Lt
from pydantic.fields import FieldInfo


def show_value(value: Any, limit: int = 60) -> str:
    """A value as the sender wrote it (JSON), shortened if long."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    # A lone surrogate (JSON "\udcff") cannot go out as UTF-8: show it escaped.
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- what a field accepts, in words --------------------------------------------------


def _num(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def describe(info: FieldInfo) -> str:
    """What a field accepts, for a person: 'a whole number from 1 to 120'."""
    if info.description:
        return info.description
    return _describe_type(info.annotation, info.metadata)


def _describe_type(annotation: Any, metadata: list[Any]) -> str:
    origin = get_origin(annotation)
    if origin is Union or origin is UnionType:  # X | None: null is refused anyway
        (annotation,) = (a for a in get_args(annotation) if a is not type(None))
        return _describe_type(annotation, metadata)
    if origin is Literal:
        return "one of " + ", ".join(show_value(a) for a in get_args(annotation))
    if origin is tuple or origin is list:
        item, _ = unwrap(get_args(annotation)[0])
        if item is time:
            return 'a list of clock times "HH:MM"'
        return "a list, each " + _describe_type(item, [])
    if annotation is bool:
        return "true or false"
    if annotation is time:
        return 'a clock time "HH:MM"'
    if annotation is str:
        return "a string"
    text = {int: "a whole number", float: "a number"}.get(annotation, str(annotation))
    lower = next((m for m in metadata if isinstance(m, Ge | Gt)), None)
    upper = next((m for m in metadata if isinstance(m, Le | Lt)), None)
    if isinstance(lower, Ge) and isinstance(upper, Le):
        return f"{text} from {_num(lower.ge)} to {_num(upper.le)}"
    words = []
    if lower is not None:
        words.append(f"of at least {_num(lower.ge)}" if isinstance(lower, Ge) else (
            f"above {_num(lower.gt)}"))
    if upper is not None:
        words.append(f"at most {_num(upper.le)}" if isinstance(upper, Le) else (
            f"below {_num(upper.lt)}"))
    return " ".join([text, " and ".join(words)]) if words else text


def unwrap(annotation: Any) -> tuple[Any, list[Any]]:
    # Annotated[time, BeforeValidator(...)] -> (time, [BeforeValidator(...)])
    meta = getattr(annotation, "__metadata__", None)
    if meta is not None:
        return annotation.__origin__, list(meta)
    return annotation, []
