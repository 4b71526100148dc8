"""What a message on a patient's topic means for the clinic's database.

Pure: a topic and a payload in, a ``Record`` (or a ``Rejected`` reason) out.
The topic's user level is authoritative (the broker's ACL confines each daemon
to its own tree); a payload naming another user is refused. Every payload is
checked against the contract (``contract``: safe JSON, then the types,
ranges and formats of the fields the clinic reads) before it is stored; a
message that fails is ``Rejected`` with the reason, whatever is wrong with it,
and the collector keeps it as a dead letter.

Natural keys, so a message delivered twice (QoS 1, a collector killed before
its ack) is stored once:

- a summary: (user, period, date or week); a newer version replaces the
  stored one, except that a partial one never replaces a final one;
- an event: (user, time, type, hash of the payload), whatever its type (the
  clinic shows the types it knows in words and the others by name); an
  ``alert_cleared`` event (who cleared an alert, how and why) also closes the
  alerts stored before it;
- an alert: (user, time, kind, hash of the payload), v1 or v2 body alike (a
  v2 alert is published again when a report adds to it or the person says
  they were seen: each copy is a row); an empty payload clears the patient's
  open alerts;
- a status: (user), the latest wins.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from pacer.contract import checked as contract
from pacer.contract import topics

Kind = Literal["summary", "event", "alert", "alert_clear", "status"]
MAX_PAYLOAD = contract.MAX_PAYLOAD
PATIENT = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # a pacer [user] id
STATUS = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class Rejected(Exception):  # noqa: N818 - a reason, not a failure of the program
    """A message the clinic cannot store: a dead letter, logged and acknowledged."""


@dataclass(frozen=True, slots=True)
class Record:
    kind: Kind
    user: str
    key: tuple[str, ...]
    body: str  # canonical JSON text, or the status word
    final: bool = False


def digest(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def parse(topic: str, payload: bytes, prefix: str = "pacer") -> Record:
    """The record a message stands for; raises ``Rejected`` with the reason,
    whatever is wrong with the message (never another exception)."""
    try:
        return _parse(topic, payload, prefix)
    except Rejected:
        raise
    except contract.Unreadable as exc:
        raise Rejected(str(exc)) from None
    except Exception as exc:  # whatever a hostile payload finds: refused, never a crash
        raise Rejected(f"unreadable ({type(exc).__name__})") from None


def _parse(topic: str, payload: bytes, prefix: str) -> Record:
    where = topics.split(topic, prefix)
    if where is None:
        raise Rejected(f"not a patient topic: {topic[:200]!r}")
    user, leaf = where
    if not PATIENT.match(user):
        raise Rejected(f"not a patient id: {user[:80]!r}")
    if leaf == topics.STATUS:
        word = payload.decode("utf-8", "replace").strip()
        if not STATUS.match(word):
            raise Rejected("a status that is not a word")
        return Record("status", user, (), word)
    if leaf == topics.ALERT and not payload:
        return Record("alert_clear", user, (), "")
    data = contract.load(payload)
    if data.get("user", user) != user:
        raise Rejected(f"payload names user {str(data.get('user'))[:80]!r} on {user!r}'s topic")
    period = topics.summary_period(leaf)
    if period is not None:
        if data.get("period") != period:
            raise Rejected(f"a {period} summary topic carries period "
                           f"{str(data.get('period'))[:20]!r}")
        contract.check("day" if period == "day" else "week", data)
        key = data["date" if period == "day" else "week"]
        final = data.get("final", period == "week")
        return Record("summary", user, (period, key), contract.dumps(data), final)
    if leaf == topics.EVENT:
        contract.check("event", data)
        return Record("event", user, (data["time"], data["type"], digest(data)),
                      contract.dumps(data))
    if leaf == topics.ALERT:
        contract.check("alert", data)
        return Record("alert", user, (data["time"], data["kind"], digest(data)),
                      contract.dumps(data))
    raise Rejected(f"the clinic does not store {leaf[:80]!r} messages")


DEAD_PAYLOAD = 64 * 1024  # bytes of a dead letter's payload kept for inspection


def _plain(text: str, limit: int) -> str:
    """``text`` safe to store anywhere: no NUL, no lone surrogate, bounded."""
    safe = text[:limit].encode("utf-8", "backslashreplace").decode("utf-8")
    return safe.replace("\x00", "\\x00")


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message that could not be parsed or stored, kept for inspection: its
    topic, the start of its payload (bytes, as received), its size and why.
    ``key`` (a hash of topic and payload) makes a second copy count, not a row."""

    key: str
    topic: str
    payload: bytes
    size: int
    reason: str

    @classmethod
    def of(cls, topic: str, payload: bytes, reason: str) -> DeadLetter:
        key = hashlib.sha256(topic.encode("utf-8", "backslashreplace") + b"\0" + payload)
        return cls(key.hexdigest()[:32], _plain(topic, 1000), bytes(payload[:DEAD_PAYLOAD]),
                   len(payload), _plain(reason, 1000))
