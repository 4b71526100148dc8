"""One IMU's samples through the streaming pipeline, each second given a time
(used by ``pacer.daemon.ble`` for thigh and waist sensors; imported only when
one is configured, so a daemon without one does not load numpy)."""

from __future__ import annotations

import logging
import math
from array import array
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from devices.imu import Pipeline, Placement, Seconds
from devices.imu.reference import BadReference

log = logging.getLogger(__name__)

ANCHOR_S = 120.0
"""Seconds of samples whose soonest arrival anchors the sample times (``ImuTrack``)."""


@dataclass(slots=True)
class ImuTrack:
    """One IMU's samples through the streaming pipeline, each second given a time.

    A notification is stamped when it arrives, and arrives late when the link or
    the event loop stalls, with the samples of the stall in one burst. Sample
    ``i`` is taken to be at ``i / rate`` after an anchor, the least ``arrival -
    i / rate`` of the last ``ANCHOR_S`` seconds of samples (the samples that
    came soonest); a window, not all time, so a device clock a little off its
    nominal rate does not drift away. A reconnect (``gap``) starts a new window.
    """

    placement: Placement
    rate: float
    reference: dict[str, Any] | None = None
    """A mount reference saved before (``Pipeline.reference_state``), if any."""
    pipeline: Pipeline = field(init=False)
    buffer: list[tuple[float, float, float]] = field(default_factory=list)
    offsets: list[float] = field(default_factory=list)
    """``arrival - i / rate`` of each sample ``i`` from sample ``first`` on."""
    first: int = 0
    gaps: list[int] = field(default_factory=lambda: [0])
    """First samples after each reconnect (the last one at or before ``first`` kept)."""
    given: int = 0
    """Seconds handed out by ``seconds`` so far (the pipeline's index of the next)."""
    kept_from: int = 0
    kept_minutes: array[int] = field(default_factory=lambda: array("i"))
    kept_labels: array[int] = field(default_factory=lambda: array("b"))
    """The minute each second from ``kept_from`` on was counted in, and its label,
    while the pipeline may still relabel it (``keep``): 5 bytes a second, at most
    the pipeline's 25 h (about 450 kB) before the first walk."""
    provisional: bool = False
    """The last ``relabelled`` came from a waist's provisional upright only."""

    def __post_init__(self) -> None:
        try:
            self.pipeline = Pipeline(self.rate, self.placement, reference=self.reference)
        except BadReference as error:
            log.warning("the saved mount reference is not used (%s); it is learnt again "
                        "from the next walk", error)
            self.pipeline = Pipeline(self.rate, self.placement)

    def add(self, at: float, xyz: tuple[float, float, float]) -> None:
        index = self.first + len(self.offsets)
        self.buffer.append(xyz)
        self.offsets.append(at - index / self.rate)

    def gap(self) -> None:
        """The device reconnected: arrival times before now say nothing of the samples after."""
        self.gaps.append(self.first + len(self.offsets))

    def _since_gap(self, index: int) -> int:
        return max(g for g in self.gaps if g <= index)

    def seconds(self) -> list[tuple[float, int, int]]:
        """Push what is buffered; the seconds now final as (time, label code, steps)."""
        if not self.buffer:
            return []
        xyz = np.asarray(self.buffer, dtype=np.float64)
        self.buffer = []
        placed = self._placed(self.pipeline.push(xyz))
        self.given += len(placed)
        return placed

    def keep(self, start: int, minutes: list[int], labels: list[int]) -> None:
        """Where seconds ``start``, ``start + 1``... were counted, for a later
        revision (nothing is kept once no revision can come)."""
        if self.pipeline.revisable_from is None:
            self.kept_from, self.kept_minutes, self.kept_labels = start, array("i"), array("b")
            return
        if start != self.kept_from + len(self.kept_labels):
            self.kept_from, self.kept_minutes, self.kept_labels = start, array("i"), array("b")
        self.kept_minutes.extend(minutes)
        self.kept_labels.extend(labels)

    def relabelled(self) -> list[tuple[int, int, int]]:
        """The pipeline's revisions since the last call, for seconds kept: each
        second whose label changed as (minute it was counted in, old, new label)."""
        changes = []
        kept = self.kept_labels
        revisions = self.pipeline.revisions()
        # Only a waist's provisional upright (no walk yet) among them: said so.
        self.provisional = bool(revisions) and all(r.provisional for r in revisions)
        for revision in revisions:
            for i, new in enumerate(revision.labels.tolist()):
                k = revision.start + i - self.kept_from
                if 0 <= k < len(kept) and kept[k] != new:
                    changes.append((self.kept_minutes[k], kept[k], new))
                    kept[k] = new
        since = self.pipeline.revisable_from
        drop = len(kept) if since is None else max(0, since - self.kept_from)
        if drop:
            del self.kept_minutes[:drop]
            del kept[:drop]
            self.kept_from += drop
        return changes

    def _placed(self, out: Seconds) -> list[tuple[float, int, int]]:
        placed = []
        window = math.ceil(ANCHOR_S * self.rate)
        offsets = np.asarray(self.offsets)
        for k in range(len(out)):
            index = math.ceil((out.start + k) * self.rate)  # the second's first sample
            lo = max(index - window, self._since_gap(index), self.first) - self.first
            anchor = float(offsets[lo: index - self.first + 1].min())
            placed.append((anchor + index / self.rate, int(out.labels[k]), int(out.steps[k])))
        # Offsets are kept for the window before the next second's first sample.
        nxt = math.ceil((out.start + len(out)) * self.rate)
        keep_from = max(nxt - window, self._since_gap(nxt), self.first)
        del self.offsets[:keep_from - self.first]
        self.first = keep_from
        self.gaps = [g for g in self.gaps if g >= self._since_gap(keep_from)]
        return placed
