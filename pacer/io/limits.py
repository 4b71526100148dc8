"""Bounded reads of the files an operator names.

A path can name a file that never ends (``/dev/zero``, a pipe left open) or
holds one line without end; reading it whole, or line by line with no limit,
grows until the machine kills the process. Every input pacer reads goes
through a limit, and going past it is ``TooLarge``, for the caller to turn
into a message naming the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

MQTT_PASSWORD_BYTES = 65_535
"""The longest password MQTT can carry (a two-byte length)."""


class TooLarge(ValueError):  # noqa: N818 - it says what the file is
    """A file, or one of its lines, is longer than its limit."""

    def __init__(self, limit: int, line: int | None = None) -> None:
        self.limit = limit
        self.line = line
        super().__init__(f"longer than {limit:,}")


def read_bytes(path: Path, limit: int) -> bytes:
    """The whole file, if it has at most ``limit`` bytes; ``TooLarge`` if it
    has more (after reading ``limit + 1`` of them). ``OSError`` as ``open``."""
    with path.open("rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(limit)
    return data


def read_text(path: Path, limit: int, encoding: str = "utf-8") -> str:
    """The whole file as text with universal newlines (as ``Path.read_text``),
    if it has at most ``limit`` characters; ``TooLarge`` otherwise.
    ``UnicodeDecodeError`` and ``OSError`` as ``Path.read_text``."""
    with path.open(encoding=encoding) as f:
        text = f.read(limit + 1)
    if len(text) > limit:
        raise TooLarge(limit)
    return text


def lines(f: BinaryIO, limit: int) -> Iterator[bytes]:
    """The lines of ``f``, each with its end of line; ``TooLarge`` (with the
    1-based line number) for a line of more than ``limit`` bytes, end of line
    included, after reading ``limit + 1`` bytes of it."""
    number = 0
    while raw := f.readline(limit + 1):
        number += 1
        if len(raw) > limit:
            raise TooLarge(limit, number)
        yield raw
