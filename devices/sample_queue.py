"""The bounded queue of samples between the device tasks and the daemon.

Producers (notification callbacks) must never block or fail, so a full queue
makes room instead: the oldest ``Motion`` sample goes first (raw acceleration
arrives at up to 10 Hz per watch and is the least valuable sample), a new
``Motion`` sample is dropped rather than anything else, and only when no
motion is queued does the oldest other sample go. Every drop is counted by
sample type and logged (the first, then every 1000th).

The consumer side mirrors ``asyncio.Queue``: ``get``, ``get_nowait``,
``qsize``, ``empty``, ``full``, ``maxsize``.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import Counter, deque

from devices.samples import Motion, Sample

logger = logging.getLogger(__name__)

LOG_EVERY = 1000


class SampleQueue:
    """A bounded FIFO of samples that drops motion first when full."""

    def __init__(self, maxsize: int = 10_000) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be at least 1 (got {maxsize})")
        self.maxsize = maxsize
        # Two FIFOs so the oldest motion sample can go in O(1); the sequence
        # numbers restore one overall order on the way out.
        self._motion: deque[tuple[int, Sample]] = deque()
        self._other: deque[tuple[int, Sample]] = deque()
        self._seq = itertools.count()
        self._ready = asyncio.Event()
        self.dropped: Counter[str] = Counter()
        """Samples dropped because the queue was full, by sample type name."""

    def qsize(self) -> int:
        return len(self._motion) + len(self._other)

    def empty(self) -> bool:
        return self.qsize() == 0

    def full(self) -> bool:
        return self.qsize() >= self.maxsize

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())

    def put_nowait(self, sample: Sample) -> None:
        """Queue ``sample``; never blocks and never raises."""
        if self.full() and not self._make_room(sample):
            return
        target = self._motion if isinstance(sample, Motion) else self._other
        target.append((next(self._seq), sample))
        self._ready.set()

    def _make_room(self, incoming: Sample) -> bool:
        """Drop one sample; False when the dropped one is ``incoming`` itself."""
        if self._motion:
            _, victim = self._motion.popleft()
        elif isinstance(incoming, Motion):
            victim = incoming
        else:
            _, victim = self._other.popleft()
        name = type(victim).__name__
        self.dropped[name] += 1
        total = self.dropped_total
        if total == 1 or total % LOG_EVERY == 0:
            logger.warning(
                "sample queue full (%d): dropped %d sample(s) so far (%s); "
                "is the consumer keeping up?",
                self.maxsize, total, ", ".join(f"{k} {v}" for k, v in sorted(self.dropped.items())),
            )
        return victim is not incoming

    def get_nowait(self) -> Sample:
        """The oldest sample; raises ``asyncio.QueueEmpty`` when there is none."""
        if self._motion and (not self._other or self._motion[0][0] < self._other[0][0]):
            _, sample = self._motion.popleft()
        elif self._other:
            _, sample = self._other.popleft()
        else:
            raise asyncio.QueueEmpty
        if self.empty():
            self._ready.clear()
        return sample

    async def get(self) -> Sample:
        """The oldest sample, waiting for one if needed."""
        while self.empty():
            await self._ready.wait()
        return self.get_nowait()
