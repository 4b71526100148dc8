"""Processed minutes written a run at a time, for offline work (``pacer
replay --store``, ``pacer import``, the demo's seeded history).

Each run goes in one transaction (``Store.commit_minutes``) with the engine
state after its last minute. The state of a lived-in engine costs more to
write than the minute it follows, and offline work has nothing to resume in
the middle of a run: stopped half-way, the store keeps whole runs, each with
the state that goes with it. The daemon commits minute by minute instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pacer.engine.model import Epoch, Output
from pacer.store.sqlite import Store

RUN_MIN = 24 * 60
"""Minutes a run holds: a day."""


@dataclass(slots=True)
class MinuteBatch:
    """Minutes for ``user`` from ``source``; ``state`` gives the engine's state
    as it is when a run is written."""

    store: Store
    user: str
    source: str
    state: Callable[[], Mapping[str, Any]]
    size: int = RUN_MIN
    minutes: list[tuple[Epoch, Sequence[Output]]] = field(default_factory=list)

    def add(self, epoch: Epoch, outputs: Sequence[Output]) -> None:
        """One minute as the engine took it; a full run is written."""
        self.minutes.append((epoch, outputs))
        if len(self.minutes) >= self.size:
            self.flush()

    def flush(self) -> None:
        """The minutes so far, all or nothing (before anything stored after them)."""
        if self.minutes:
            self.store.commit_minutes(self.user, self.minutes, self.source, self.state())
            self.minutes.clear()
