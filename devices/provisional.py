"""Stored step counts not yet settled by a wearable's own history.

Bangle.js blocks (``devices.blocks``) and a Huami band's activity log
(``devices.minute_log``) both count live steps at once and settle them later
against the band's record of the same period; until then each keeps
``(period start, live steps)`` pairs, saved with the daemon's state.
"""

from __future__ import annotations

Pairs = tuple[tuple[float, int], ...]


def to_lists(pairs: Pairs) -> list[list[float | int]]:
    """The pairs as plain JSON lists."""
    return [list(p) for p in pairs]


def from_lists(value: object, keep: int) -> Pairs:
    """The last ``keep`` pairs that ``to_lists`` gave; anything malformed (a
    state edited by hand, or from another version) is left out."""
    pairs: list[tuple[float, int]] = []
    if isinstance(value, list):
        for item in value:
            if (isinstance(item, list) and len(item) == 2
                    and isinstance(item[0], int | float) and not isinstance(item[0], bool)
                    and isinstance(item[1], int) and not isinstance(item[1], bool)):
                pairs.append((float(item[0]), item[1]))
    return tuple(pairs[-keep:])


def number(value: object) -> float | None:
    """A stored time, or None when it is missing or not a number."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None
