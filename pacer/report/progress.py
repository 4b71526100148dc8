"""A progress bar on stderr for long reports, and silence otherwise.

A few lines of our own rather than a dependency: the report only needs "n of
total, what now" redrawn on one line. It draws only when the stream is a
terminal, so logs, pipes and tests see nothing.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Self, TextIO

WIDTH = 28


class Progress:
    """``with Progress(total, "days") as p: p.step("2026-03-09")``."""

    def __init__(self, total: int, what: str, stream: TextIO | None = None) -> None:
        self.total = max(total, 1)
        self.what = what
        self.done = 0
        self._stream = stream if stream is not None else sys.stderr
        self.enabled = self._stream.isatty()

    def step(self, label: str = "") -> None:
        self.done = min(self.done + 1, self.total)
        if not self.enabled:
            return
        filled = WIDTH * self.done // self.total
        bar = "#" * filled + "-" * (WIDTH - filled)
        # \r and a cleared line end: one line, redrawn in place.
        self._stream.write(f"\r[{bar}] {self.done}/{self.total} {self.what} {label}\x1b[K")
        self._stream.flush()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.enabled and self.done:
            self._stream.write("\n")
            self._stream.flush()
