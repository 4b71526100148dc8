"""What a message on a patient's topic means for the clinic's database.

Pure: a topic and a payload in, a ``Record`` (or a ``Rejected`` reason) out.
The topic's user level is authoritative (the broker's ACL confines each daemon
to its own tree); a payload naming another user is refused.

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
from dataclasses import dataclass
from typing import Any, Literal

from pacer.contract import topics

Kind = Literal["summary", "event", "alert", "alert_clear", "status"]
MAX_PAYLOAD = 256 * 1024


class Rejected(Exception):  # noqa: N818 - a reason, not a failure of the program
    """A message the clinic cannot store; it is logged and acknowledged."""


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


def _json(payload: bytes) -> dict[str, Any]:
    if len(payload) > MAX_PAYLOAD:
        raise Rejected(f"payload of {len(payload)} bytes is over {MAX_PAYLOAD}")
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, ValueError):
        raise Rejected("payload is not JSON") from None
    if not isinstance(data, dict):
        raise Rejected("payload is not a JSON object")
    return data


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise Rejected(f"payload has no {key!r} string")
    return value


def _canonical(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def parse(topic: str, payload: bytes, prefix: str = "pacer") -> Record:
    """The record a message stands for; raises ``Rejected`` with the reason."""
    where = topics.split(topic, prefix)
    if where is None:
        raise Rejected(f"not a patient topic: {topic!r}")
    user, leaf = where
    if leaf == topics.STATUS:
        word = payload.decode("utf-8", "replace").strip()[:32]
        return Record("status", user, (), word)
    if leaf == topics.ALERT and not payload:
        return Record("alert_clear", user, (), "")
    data = _json(payload)
    if data.get("user", user) != user:
        raise Rejected(f"payload names user {data.get('user')!r} on {user!r}'s topic")
    period = topics.summary_period(leaf)
    if period is not None:
        if data.get("period") != period:
            raise Rejected(f"a {period} summary topic carries period {data.get('period')!r}")
        key = _text(data, "date" if period == "day" else "week")
        final = data.get("final", period == "week")
        if not isinstance(final, bool):
            raise Rejected("'final' is not true or false")
        return Record("summary", user, (period, key), _canonical(data), final)
    if leaf == topics.EVENT:
        return Record("event", user, (_text(data, "time"), _text(data, "type"), digest(data)),
                      _canonical(data))
    if leaf == topics.ALERT:
        return Record("alert", user, (_text(data, "time"), _text(data, "kind"), digest(data)),
                      _canonical(data))
    raise Rejected(f"the clinic does not store {leaf!r} messages")
