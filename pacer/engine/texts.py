"""What each prompt says: written for a person in pain.

Calm, specific, no blame, no alarm (except a red flag), and never a diagnosis.
Every text is built from the prompt's own ``reason``, so it always says why it
fired.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pacer.engine.model import Level, PromptKind


@dataclass(frozen=True, slots=True)
class Wording:
    level: Level
    title: str
    text: str
    actions: tuple[str, ...]


def _sitting_break(r: Mapping[str, Any]) -> Wording:
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
    return Wording("nudge", "Time for a movement break", text, ("done", "snooze", "dismiss"))


_WORDINGS: dict[str, Callable[[Mapping[str, Any]], Wording]] = {
    "sitting_break": _sitting_break,
}


def wording(kind: PromptKind, reason: Mapping[str, Any]) -> Wording:
    try:
        build = _WORDINGS[kind]
    except KeyError:
        raise NotImplementedError(f"no wording for prompt kind {kind!r}") from None
    return build(reason)
