"""How many commands one sender may send (issue: bursts lose commands).

A token bucket per sender: ``burst`` commands at once, then ``per_s`` a second
(the daemon sets them from ``[mqtt] commands_per_minute``).
MQTT does not tell a subscriber who published, so a sender is what the
command names of itself: the MQTT 5 response topic its reply goes to (each
phone, command line and clinic has its own), else the command topic. Pure:
the daemon passes the time in (monotonic seconds, real time, whatever the
daemon's clock says: the limit protects the machine).
"""

from __future__ import annotations

from dataclasses import dataclass, field

BURST = 30
PER_S = 2.0
SENDERS_MAX = 1000  # senders remembered; the longest idle is forgotten first


@dataclass(slots=True)
class RateLimit:
    burst: int = BURST
    per_s: float = PER_S
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)  # tokens, at

    def allow(self, sender: str, now: float) -> bool:
        """Take one token for ``sender``; False when it has none left."""
        tokens, at = self._buckets.pop(sender, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.per_s)
        ok = tokens >= 1.0
        self._buckets[sender] = (tokens - 1.0 if ok else tokens, now)  # now the newest
        if len(self._buckets) > SENDERS_MAX:
            del self._buckets[next(iter(self._buckets))]
        return ok
