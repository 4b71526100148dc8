"""Red flags in the physiotherapist's words, for the report and the clinic.

Names and tiers come from the engine's table (``pacer.engine.safety``): a
flag is named by its wire name in words (``saddle_numbness`` is "saddle
numbness"), so a name the table does not know stays readable; its tier is the
one the message states, or else the table's (an unknown flag counts as an
emergency, as in the engine's advice).

A clearing is told with who and how: ``how`` is ``physiotherapist`` (a plan
editor's plan change), ``local`` (``pacer alert clear`` on the daemon's
machine; ``by`` is ``local:<unix user>``) or ``person`` (the person said a
clinician had seen them and told them they can carry on; ``by`` is their user
id). The plan history holds ``by`` only, so ``how_of`` works ``how`` out from
it as the engine decides it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Literal

from pacer.engine.safety import TIERS, Tier, tier_of

How = Literal["physiotherapist", "local", "person"]
HOWS: tuple[How, ...] = ("physiotherapist", "local", "person")

ADVICE: dict[Tier, str] = {
    "emergency": "to call the emergency number or go to the emergency department now",
    "urgent": "to get medical advice the same day",
}


def name(flag: str) -> str:
    """A flag's name in words, whether the engine's table knows it or not."""
    return str(flag).replace("_", " ").strip() or "a red flag"


def names(flags: Iterable[str]) -> str:
    return ", ".join(name(f) for f in flags) or "a red flag"


def tier(flags: Iterable[str], stated: object = None) -> Tier:
    """The tier a message states, or else the engine table's for ``flags``
    (with no flag named at all, an emergency: when in doubt, the stronger)."""
    for t in TIERS:
        if stated == t:
            return t
    named = [str(f) for f in flags]
    return tier_of(named) if named else "emergency"


def tier_rank(value: Tier) -> int:
    """0 for emergency, 1 for urgent: most urgent first."""
    return TIERS.index(value)


def how_of(by: str, user: str) -> How:
    """How a clearing was made, from who made it (the plan history's ``by``)."""
    if by == user:
        return "person"
    if by.startswith("local:"):
        return "local"
    return "physiotherapist"


HOW_LABELS: dict[str, str] = {
    "physiotherapist": "physiotherapist",
    "local": "on the pacer machine",
    "person": "the person, after being seen",
}


def clearing(by: str | None, how: object, why: str | None) -> str:
    """Who cleared an alert and how, with why: the end of "Cleared ... ".

    ``by physio.jones (physiotherapist): seen in clinic``; ``on the patient's
    pacer machine by pi (pacer alert clear): ...``; ``by the person (alice):
    a clinician had seen them and told them they can carry on``."""
    reason = f": {why}" if why else ""
    if how == "person":
        who = f" ({by})" if by else ""
        return (f"by the person{who}: a clinician had seen them and told them they "
                "can carry on")
    if how == "local":
        who = by.removeprefix("local:") if by else "someone"
        return f"on the patient's pacer machine by {who} (pacer alert clear){reason}"
    if how == "physiotherapist":
        return f"by {by or 'a plan editor'} (physiotherapist){reason}"
    if by:
        return f"by {by}{f' ({how})' if how else ''}{reason}"
    return "(who and how were not reported)"


def at(value: datetime | None) -> str:
    """``Tue 24 Nov 08:00``, or an en dash for no time."""
    return "\u2013" if value is None else f"{value:%a %d %b %H:%M}"


def when(text: object) -> datetime | None:
    """An ISO time from a message, or None; a time without an offset counts as UTC."""
    if not isinstance(text, str) or not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
