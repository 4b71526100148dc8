"""Remote-monitoring records in the clinic: the physiotherapist's log of
review minutes and contacts per patient, and the days with data per 30 days
(``pacer.report.monitoring`` defines a day with enough data and the periods).

An entry says who (the signed-in clinician, never typed), when (entered, or
now), how many minutes, what kind of contact and what was done. The form is
checked here (``parse``, pure, with ``now`` passed in): whole minutes 1-600,
one of ``KINDS``, 1-500 characters of text (line breaks and tabs, no other
control character), a time
not in the future and not more than a year back. Entries are kept in the
``review_log`` table; the minutes are totalled per 30-day billing period.

The CSV exports put a ``'`` before a cell that a spreadsheet would run as a
formula (``=``, ``+``, ``-``, ``@``): the text is the clinician's own, the
file may be opened anywhere.
"""

from __future__ import annotations

import csv
import io
import logging
import secrets
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from pacer.clinic.db import Database
from pacer.contract import checked as contract
from pacer.report import monitoring
from pacer.timebase import zone

log = logging.getLogger(__name__)

KINDS = {"review": "data review", "call": "phone or video call", "message": "message",
         "visit": "visit"}
MAX_MINUTES = 600
MAX_WHAT = 500
MAX_BACK_DAYS = 366  # an entry may be logged up to a year late
LEEWAY_S = 300  # a clock a few minutes ahead of the server is not "the future"
SHOWN = 100  # entries on the patient page (the export has all)
FORM_ERRORS = {
    "expired": "The form had expired; nothing was logged. Please try again.",
    "minutes": f"Minutes must be a whole number from 1 to {MAX_MINUTES}; nothing was logged.",
    "kind": "Choose what kind of contact it was; nothing was logged.",
    "what": f"Say what was done, in 1 to {MAX_WHAT} characters; nothing was logged.",
    "when": "The time must be a date and time, not in the future and at most a year ago; "
            "nothing was logged.",
}


@dataclass(frozen=True, slots=True)
class Entry:
    """One logged review or contact; ``at`` and ``logged_at`` are Unix seconds;
    ``id`` is given when it is stored (empty before)."""

    id: str
    patient: str
    by: str
    at: float
    minutes: int
    kind: str
    what: str
    logged_at: float

    @property
    def kind_text(self) -> str:
        return KINDS.get(self.kind, self.kind)

    def day(self, tz: tzinfo) -> date:
        """The entry's date in the patient's zone (billing periods are the patient's days)."""
        return datetime.fromtimestamp(self.at, tz).date()

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "by": self.by, "at": self.at, "minutes": self.minutes,
                "kind": self.kind, "what": self.what, "logged_at": self.logged_at}


def _text_ok(text: str) -> bool:
    """1-500 characters; line breaks and tabs, but no other control character."""
    return 0 < len(text) <= MAX_WHAT and not any(
        unicodedata.category(c) in ("Cc", "Cs") and c not in "\n\t" for c in text)


def parse(fields: Mapping[str, str], *, patient: str, by: str,
          now: datetime) -> Entry | str:
    """The form's entry, or the ``FORM_ERRORS`` key of its first problem.
    ``now`` is aware (the clinic's zone): a time typed without a zone is in it."""
    minutes_text = fields.get("minutes", "").strip()
    if not minutes_text.isascii() or not minutes_text.isdigit() \
            or not 1 <= int(minutes_text) <= MAX_MINUTES:
        return "minutes"
    kind = fields.get("kind", "")
    if kind not in KINDS:
        return "kind"
    what = fields.get("what", "").replace("\r\n", "\n").strip()  # a textarea sends CRLF
    if not _text_ok(what):
        return "what"
    when_text = fields.get("when", "").strip()
    if when_text:
        try:
            when = datetime.fromisoformat(when_text)
        except ValueError:
            return "when"
        if when.tzinfo is None:
            when = when.replace(tzinfo=now.tzinfo)
        if when.timestamp() > now.timestamp() + LEEWAY_S \
                or when < now - timedelta(days=MAX_BACK_DAYS):
            return "when"
    else:
        when = now
    return Entry("", patient, by, when.timestamp(), int(minutes_text), kind, what,
                 now.timestamp())


# --- the database -------------------------------------------------------------------


def add(db: Database, entry: Entry) -> Entry:
    """Store ``entry`` under a new random id; the entry as stored."""
    stored = replace(entry, id=secrets.token_hex(8))
    with db.transaction() as conn:
        conn.execute("INSERT INTO review_log (id, user_id, by_name, at, minutes, kind, what, "
                     "logged_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     (stored.id, stored.patient, stored.by, stored.at, stored.minutes,
                      stored.kind, stored.what, stored.logged_at))
    return stored


def _entry(patient: str, row: Sequence[Any]) -> Entry | None:
    """A stored row as an entry; None for one that is not what ``add`` writes
    (edited by hand): left out rather than shown wrong."""
    rid, by, at, minutes, kind, what, logged = row
    numbers = (at, logged)
    if not (isinstance(rid, str) and isinstance(by, str) and isinstance(what, str)
            and isinstance(kind, str) and isinstance(minutes, int)
            and all(isinstance(n, int | float) and abs(n) < 1e11 for n in numbers)):
        return None
    return Entry(rid, patient, by, float(at), minutes, kind, what, float(logged))


def entries(db: Database, patient: str) -> list[Entry]:
    """The patient's log, newest first."""
    rows = db.query("SELECT id, by_name, at, minutes, kind, what, logged_at FROM review_log "
                    "WHERE user_id = ? ORDER BY at DESC, logged_at DESC", (patient,))
    return [e for e in (_entry(patient, r) for r in rows) if e is not None]


def _zone(bodies: Sequence[Mapping[str, Any]]) -> tzinfo:
    """The patient's zone, from their latest summary; else the clinic's."""
    name = bodies[-1].get("timezone") if bodies else None
    if isinstance(name, str):
        try:
            return zone(name)
        except (ValueError, OSError):
            pass
    return datetime.now().astimezone().tzinfo or UTC


@dataclass(frozen=True, slots=True)
class Record:
    """A patient's remote-monitoring record: days with data, the billing
    periods, and the review log with its minutes per period."""

    patient: str
    today: date
    tz: tzinfo
    days: frozenset[date]
    entries: tuple[Entry, ...]  # newest first
    unreadable: bool = False  # some stored days could not be read: counts may be low

    @property
    def rolling(self) -> int:
        return monitoring.rolling(self.days, self.today)

    @property
    def band(self) -> monitoring.Band:
        return monitoring.band(self.rolling)

    @property
    def periods(self) -> tuple[monitoring.Period, ...]:
        return monitoring.periods(self.days, self.today)

    @property
    def current(self) -> monitoring.Period | None:
        return monitoring.current_period(self.days, self.today)

    def in_period(self, period: monitoring.Period) -> list[Entry]:
        return [e for e in self.entries if period.holds(e.day(self.tz))]

    def minutes_in(self, period: monitoring.Period | None) -> int:
        return sum(e.minutes for e in self.in_period(period)) if period is not None else 0

    def as_json(self) -> dict[str, Any]:
        current = self.current
        return {"days_with_data_30d": self.rolling, "band": self.band,
                "today": self.today.isoformat(),
                "periods": [_period_json(p, self) for p in self.periods],
                "current_period": _period_json(current, self) if current else None,
                "entries": [e.as_json() for e in self.entries]}


def _period_json(p: monitoring.Period, record: Record) -> dict[str, Any]:
    logged = record.in_period(p)
    return {"number": p.number, "start": p.start.isoformat(), "end": p.end.isoformat(),
            "days_with_data": p.days, "band": p.band, "complete": p.complete,
            "review_minutes": sum(e.minutes for e in logged), "contacts": len(logged)}


def record(db: Database, patient: str, today: date | None = None) -> Record:
    """The patient's record from every stored daily summary (read through
    the contract; an unreadable one has no data) and the log. ``today``:
    the patient's own date, by default from their latest summary's zone."""
    try:
        texts = [r[0] for r in db.query(
            "SELECT body FROM summaries WHERE user_id = ? AND period = 'day' ORDER BY key",
            (patient,))]
    except Exception:  # a row the driver itself cannot return: the log still shows
        log.exception("patient %s: stored days unreadable", patient)
        texts = [None]
    bodies = [b for b in (contract.read("day", t) if isinstance(t, str | bytes) else None
                          for t in texts) if b is not None]
    tz = _zone(bodies)
    return Record(patient, today or datetime.now(tz).date(), tz,
                  monitoring.days_with_data(bodies), tuple(entries(db, patient)),
                  unreadable=len(bodies) < len(texts))


# --- CSV exports ----------------------------------------------------------------------


def _safe(text: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _iso(stamp: float, tz: tzinfo) -> str:
    return datetime.fromtimestamp(stamp, tz).isoformat(timespec="minutes")


LOG_COLUMNS = ("patient", "when", "minutes", "contact", "by", "what", "logged_at",
               "period", "period_start", "period_end")
PERIOD_COLUMNS = ("patient", "period", "start", "end", "days_with_data", "count",
                  "complete", "review_minutes", "contacts")


def log_csv(rec: Record, clinic_tz: tzinfo) -> str:
    """The review log, oldest first; times in the clinic's zone, the period
    the entry counts in (the patient's days); empty before any data."""
    periods = rec.periods
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(LOG_COLUMNS)
    for e in reversed(rec.entries):
        held = [p for p in periods if p.holds(e.day(rec.tz))]
        p = held[0] if held else None
        out.writerow([rec.patient, _iso(e.at, clinic_tz), e.minutes, e.kind, _safe(e.by),
                      _safe(e.what), _iso(e.logged_at, clinic_tz),
                      p.number if p else "", p.start.isoformat() if p else "",
                      p.end.isoformat() if p else ""])
    return buf.getvalue()


def periods_csv(rec: Record) -> str:
    """One row per billing period: days with data, the count they reach,
    and the review minutes and contacts logged in it."""
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(PERIOD_COLUMNS)
    for p in rec.periods:
        logged = rec.in_period(p)
        out.writerow([rec.patient, p.number, p.start.isoformat(), p.end.isoformat(), p.days,
                      p.band, "true" if p.complete else "false",
                      sum(e.minutes for e in logged), len(logged)])
    return buf.getvalue()
