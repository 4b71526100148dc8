"""Where the daemon's minutes come from.

For now the ``replay`` device: a minutes CSV fed as if live, the daemon's clock
running ``speed`` times faster than real time. BLE wearables arrive as further
sources with the same shape: asked for the epoch of a minute once it is over.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

from pacer.engine.model import Epoch
from pacer.io.minutes import fill_gaps, read_minutes
from pacer.timebase import Minute

log = logging.getLogger(__name__)


class ReplayFeed:
    """Minutes from a file, in order; minutes before ``resume_at`` (already
    stored) are skipped, and minutes after the end of the file are unknown."""

    def __init__(self, path: Path, *, resume_at: Minute | None = None) -> None:
        self.path = path
        # Check every row before the daemon starts: a bad row is a clear
        # error at start-up, not a surprise hours later.
        count = sum(1 for _ in read_minutes(path))
        self._rows: Iterator[Epoch] = fill_gaps(read_minutes(path))
        self._head: Epoch | None = next(self._rows, None)
        while self._head is not None and resume_at is not None and self._head.start < resume_at:
            self._head = next(self._rows, None)
        log.info("replay device: %s, %d rows", path, count)

    def first_minute(self) -> Minute | None:
        return None if self._head is None else self._head.start

    def epoch(self, minute: Minute) -> Epoch:
        while self._head is not None and self._head.start < minute:
            self._head = next(self._rows, None)
        if self._head is not None and self._head.start == minute:
            epoch = self._head
            self._head = next(self._rows, None)
            return epoch
        return Epoch.unknown(minute)
