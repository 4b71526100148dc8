"""Per-second activity labels, stored as small integer codes in arrays."""

from __future__ import annotations

from enum import IntEnum


class Label(IntEnum):
    """What one second was. ``SEDENTARY`` is the wrist's "still" (sit or stand unknown)."""

    UNKNOWN = 0
    SITTING = 1
    LYING = 2
    STANDING = 3
    WALKING = 4
    RUNNING = 5
    SEDENTARY = 6


LABELS: tuple[str, ...] = tuple(label.name.lower() for label in Label)
"""Label names by code: ``LABELS[Label.SITTING] == "sitting"``."""
