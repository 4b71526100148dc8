"""What the physiotherapist sees, read from the clinic's database: the patient
list ordered by what needs attention, and one patient's weeks.

Attention, most urgent first (a patient is listed under the first that
applies, and every reason that applies is shown):

0. an open red-flag alert of the emergency tier;
1. an open red-flag alert of the urgent tier (the tier the alert states, or
   for an alert of an older pacer the engine table's tier of its flags);
2. data unreadable (a stored row of the patient's that does not keep the
   contract, see ``contract``: it could hide a red flag, so it comes next;
   the rest of the patient's data is shown without it);
3. review suggested (an open review alert, or the flag on the latest day);
4. boom-bust cycles (in the latest weekly summary, or a bust day in the
   last 7 stored days);
5. low adherence (sitting prompts followed by a break in time, in the latest
   weekly summary or else the last 7 stored days, under ``low_adherence``);
6. no data (no daily summary, or none in the last ``stale_days`` days);
7. on track.

Every stored row is read through ``contract.read``; a row that is somehow
wrong marks its patient "data unreadable" and is left out, and a patient
whose rows cannot be read at all is listed as "data unreadable" alone:
one patient's data never breaks the page for the others.

A patient's alert history pairs the stored alerts (a retained alert is
published again when a report adds to it or the person says they were seen;
the copies open at once are one alert) with the ``alert_cleared`` events that
say who cleared each, how and why. An alert cleared by an older pacer, which
sends no such event, shows when the clinic saw it cleared and no more.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pacer.clinic.config import ClinicTable
from pacer.clinic.db import CLEARED_EVENT, Database
from pacer.contract import checked as contract
from pacer.engine.safety import Tier
from pacer.report import monitoring, redflags

log = logging.getLogger(__name__)

ATTENTION = ("emergency red flag", "urgent red flag", "data unreadable", "review suggested",
             "boom-bust cycles", "low adherence", "no data", "on track")
RANK = {name: i for i, name in enumerate(ATTENTION)}
UNREADABLE = "data unreadable"
HISTORY_LIMIT = 20  # alerts shown on the patient page
_STATUS = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _flags(body: Mapping[str, Any]) -> tuple[str, ...]:
    flags = body.get("flags")
    return tuple(str(f) for f in flags) if isinstance(flags, list) else ()


@dataclass(frozen=True, slots=True)
class RedFlag:
    """An open red-flag alert, v1 or v2 body: its tier, when it was first and
    last reported, and when the person said they had been seen."""

    tier: Tier
    flags: tuple[str, ...]
    time: datetime | None  # the latest report
    raised: datetime | None  # the first report
    seen: datetime | None

    @classmethod
    def of(cls, body: Mapping[str, Any] | None) -> RedFlag | None:
        if body is None or body.get("kind") != "red_flag":
            return None
        flags = _flags(body)
        time = redflags.when(body.get("time"))
        return cls(redflags.tier(flags, body.get("tier")), flags, time,
                   redflags.when(body.get("raised")) or time, redflags.when(body.get("seen")))

    @property
    def names(self) -> str:
        return redflags.names(self.flags)

    @property
    def advice(self) -> str:
        return redflags.ADVICE[self.tier]

    def as_json(self) -> dict[str, Any]:
        return {"tier": self.tier, "flags": list(self.flags), "time": _iso(self.time),
                "raised": _iso(self.raised), "seen": _iso(self.seen)}


@dataclass(frozen=True, slots=True)
class PatientRow:
    """One line of the patient list."""

    id: str
    rank: int
    reasons: tuple[str, ...]
    status: str | None
    last_day: str | None
    steps: int | None
    quota: int | None
    adherence: float | None
    alert: Mapping[str, Any] | None  # the open alert's body as published
    red_flag: RedFlag | None = None  # the open alert, when it is a red flag
    days_30: int | None = None  # days with enough data in the 30 days to today (monitoring)

    @property
    def attention(self) -> str:
        return ATTENTION[self.rank]

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "attention": self.attention, "rank": self.rank,
                "reasons": list(self.reasons), "status": self.status,
                "last_day": self.last_day, "steps": self.steps, "quota": self.quota,
                "adherence": self.adherence, "alert": self.alert,
                "red_flag": self.red_flag.as_json() if self.red_flag else None,
                "days_with_data_30d": self.days_30}


@dataclass(frozen=True, slots=True)
class AlertEpisode:
    """One alert of a patient, open or cleared, with who cleared it and how."""

    kind: str  # red_flag or review_suggested
    tier: Tier | None
    flags: tuple[str, ...]
    raised: datetime | None
    time: datetime | None  # the latest report
    seen: datetime | None
    open: bool
    cleared: datetime | None = None  # the clearing's time, from its event
    cleared_seen: float | None = None  # when the clinic stored the clearing
    by: str | None = None
    how: str | None = None  # physiotherapist, local or person; None: not reported
    why: str | None = None

    @property
    def title(self) -> str:
        if self.kind == "red_flag":
            return f"{self.tier} red flag: {redflags.names(self.flags)}"
        return self.kind.replace("_", " ")

    @property
    def clearing(self) -> str:
        """``by jo (physiotherapist): why``, or that an older pacer did not say."""
        if self.by is None and self.how is None:
            return "(who and how were not reported by this patient's pacer)"
        return redflags.clearing(self.by, self.how, self.why)

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "tier": self.tier, "flags": list(self.flags),
                "raised": _iso(self.raised), "time": _iso(self.time),
                "seen": _iso(self.seen), "open": self.open, "cleared": _iso(self.cleared),
                "cleared_stored_at": self.cleared_seen, "by": self.by, "how": self.how,
                "why": self.why}


@dataclass(frozen=True, slots=True)
class Week:
    """One ISO week of a patient: its stored days and weekly summary."""

    week: str
    days: tuple[Mapping[str, Any], ...]
    summary: Mapping[str, Any] | None


@dataclass(frozen=True, slots=True)
class PatientView:
    row: PatientRow
    weeks: tuple[Week, ...]
    events: tuple[Mapping[str, Any], ...]
    requests: tuple[Mapping[str, Any], ...] = field(default=())
    alerts: tuple[AlertEpisode, ...] = field(default=())  # newest first

    def as_json(self) -> dict[str, Any]:
        return {**self.row.as_json(),
                "weeks": [{"week": w.week, "days": list(w.days), "summary": w.summary}
                          for w in self.weeks],
                "events": list(self.events), "plan_requests": list(self.requests),
                "alerts": [a.as_json() for a in self.alerts]}


def _today(days: Sequence[Mapping[str, Any]]) -> date:
    tz_name = days[-1].get("timezone") if days else None
    try:
        tz = ZoneInfo(tz_name) if isinstance(tz_name, str) else None
    except (ZoneInfoNotFoundError, ValueError, OSError):
        tz = None
    return datetime.now(tz).date() if tz else date.today()


def _breaks(day: Mapping[str, Any], key: str) -> int:
    breaks = day.get("breaks")
    value = breaks.get(key) if isinstance(breaks, Mapping) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _adherence(days: Sequence[Mapping[str, Any]]) -> float | None:
    prompted = sum(_breaks(d, "prompted") for d in days)
    taken = sum(_breaks(d, "taken") for d in days)
    return taken / prompted if prompted else None


def unreadable_row(patient: str) -> PatientRow:
    """The row of a patient whose stored data cannot be read at all."""
    return PatientRow(id=patient, rank=RANK[UNREADABLE], reasons=(UNREADABLE,), status=None,
                      last_day=None, steps=None, quota=None, adherence=None, alert=None)


def assess(patient: str, *, days: Sequence[Mapping[str, Any]], week: Mapping[str, Any] | None,
           alert: Mapping[str, Any] | None, status: str | None, rules: ClinicTable,
           today: date | None = None, unreadable: int = 0) -> PatientRow:
    """The list row for one patient: ``days`` are its daily summaries, oldest first;
    ``unreadable``: how many of its stored rows were left out as unreadable."""
    recent = list(days[-7:])
    latest = recent[-1] if recent else None
    reasons: list[int] = []
    red = RedFlag.of(alert)
    if red is not None:
        reasons.append(RANK[f"{red.tier} red flag"])
    if unreadable:
        reasons.append(RANK[UNREADABLE])
    if (alert is not None and (alert.get("kind") == "review_suggested"
                               or alert.get("review_suggested"))) or (
            latest is not None and "review_suggested" in latest.get("flags", ())):
        reasons.append(RANK["review suggested"])
    cycles = week.get("boom_bust_cycles") if week else None
    if (isinstance(cycles, int) and cycles > 0) or any("bust" in d.get("flags", ())
                                                       for d in recent):
        reasons.append(RANK["boom-bust cycles"])
    adherence = week.get("adherence") if week else None
    if not isinstance(adherence, int | float):
        adherence = _adherence(recent)
    if adherence is not None and adherence < rules.low_adherence:
        reasons.append(RANK["low adherence"])
    now = today or _today(recent)
    if latest is None or date.fromisoformat(str(latest["date"])) < now - timedelta(
            days=rules.stale_days):
        reasons.append(RANK["no data"])
    rank = min(reasons, default=RANK["on track"])
    plan = latest.get("plan", {}) if latest else {}
    return PatientRow(
        id=patient, rank=rank, reasons=tuple(ATTENTION[r] for r in sorted(set(reasons))),
        status=status, last_day=str(latest["date"]) if latest else None,
        steps=latest.get("steps") if latest else None,
        quota=plan.get("quota") if isinstance(plan, Mapping) else None,
        adherence=None if adherence is None else round(float(adherence), 2), alert=alert,
        red_flag=red, days_30=monitoring.rolling(monitoring.days_with_data(days), now))


# --- reading the database -------------------------------------------------------------


class Reader:
    """Stored rows read through the contract, counting those left out."""

    def __init__(self) -> None:
        self.unreadable = 0

    def body(self, kind: contract.Kind, text: object) -> dict[str, Any] | None:
        found = contract.read(kind, text) if isinstance(text, str | bytes) else None
        if found is None:
            self.unreadable += 1
        return found

    def bodies(self, kind: contract.Kind, texts: Sequence[object]) -> list[dict[str, Any]]:
        return [b for b in (self.body(kind, t) for t in texts) if b is not None]

    def status(self, value: object) -> str | None:
        if value is None:
            return None
        if isinstance(value, str) and _STATUS.match(value):
            return value
        self.unreadable += 1
        return None

    def number(self, value: object) -> float | None:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        self.unreadable += 1
        return None


@dataclass(frozen=True, slots=True)
class PatientData:
    """One patient's stored rows, as read: days oldest first."""

    days: list[dict[str, Any]]
    week: dict[str, Any] | None
    alert: dict[str, Any] | None
    status: str | None
    unreadable: int


def read_patient(days: Sequence[object], weeks: Sequence[object],
                 alerts: Sequence[tuple[object, object]], status: object) -> PatientData:
    """The row loader: stored texts (days newest first, the latest weekly
    summary, the open alerts with their receipt times, the status word) as
    ``PatientData``; a row that is not readable is left out and counted."""
    reader = Reader()
    day_bodies = reader.bodies("day", days)[::-1]
    week_bodies = reader.bodies("week", weeks)
    open_copies = []
    for text, received in alerts:
        body = reader.body("alert", text)
        stamp = reader.number(received)
        if body is not None and stamp is not None:
            open_copies.append((body, stamp))
    return PatientData(day_bodies, week_bodies[0] if week_bodies else None,
                       open_alert(open_copies), reader.status(status), reader.unreadable)


def patient_row(patient: str, data: PatientData, rules: ClinicTable,
                today: date | None = None) -> PatientRow:
    """The list row of one patient from its rows as read; never raises (a
    patient whose row cannot be made is "data unreadable")."""
    try:
        row = assess(patient, days=data.days, week=data.week, alert=data.alert,
                     status=data.status, rules=rules, today=today,
                     unreadable=data.unreadable)
        json.dumps(row.as_json(), allow_nan=False)  # what /api/patients will send
    except Exception:
        log.exception("patient %s: stored data unreadable", patient)
        return unreadable_row(patient)
    return row


def _first(rows: Sequence[tuple[Any, ...]]) -> list[object]:
    return [r[0] for r in rows]


def _patient_data(db: Database, patient: str, day_limit: int) -> PatientData:
    days = _first(db.query(
        "SELECT body FROM summaries WHERE user_id = ? AND period = 'day' "
        "ORDER BY key DESC LIMIT ?", (patient, day_limit)))
    weeks = _first(db.query(
        "SELECT body FROM summaries WHERE user_id = ? AND period = 'week' "
        "ORDER BY key DESC LIMIT 1", (patient,)))
    alerts = [(body, received) for body, received in db.query(
        "SELECT body, received_at FROM alerts WHERE user_id = ? AND cleared_at IS NULL",
        (patient,))]
    status = db.query("SELECT status FROM patients WHERE user_id = ?", (patient,))
    return read_patient(days, weeks, alerts, status[0][0] if status else None)


def _newest(item: tuple[Mapping[str, Any], float]) -> tuple[float, datetime, bool]:
    """Sort key of stored alert copies: the latest stored, then the latest
    report, then the copy that says the person was seen (a copy made when they
    said so has its alert's time)."""
    body, received = item
    stamp = redflags.when(body.get("time")) or datetime.min.replace(tzinfo=UTC)
    return received, stamp, body.get("seen") is not None


def open_alert(rows: Sequence[tuple[Mapping[str, Any], float]]) -> dict[str, Any] | None:
    """The open alert to show from the open copies stored, as (body,
    received_at): a red flag outranks a review suggestion; then the newest."""
    red = [r for r in rows if r[0].get("kind") == "red_flag"]
    pick = max(red or rows, key=_newest, default=None)
    return dict(pick[0]) if pick is not None else None


def alert_history(rows: Sequence[tuple[Mapping[str, Any], float, float | None]],
                  cleared: Sequence[Mapping[str, Any]]) -> list[AlertEpisode]:
    """The patient's alerts, newest first, from the stored copies as (body,
    received_at, cleared_at) and the ``alert_cleared`` events.

    Copies of one alert are those closed at the same moment (or all open) with
    the same kind and first report (``raised``; a review suggestion's
    ``time``; a v1 red flag has neither, so its copies closed together are
    one). Each event goes to the latest closed alert of its kind (and, for a
    red flag, its flags) last reported at or before it, to the minute (the
    event's time is a whole minute); a review suggestion closed with a red
    flag shares its clearing; an event with no stored alert (raised before
    the clinic collected) is an alert of its own."""
    groups: dict[tuple[float | None, str, str | None], list[tuple[Mapping[str, Any], float]]] = {}
    for body, received, closed in sorted(rows, key=lambda r: r[1]):
        kind = str(body.get("kind") or "alert")
        start = body.get("raised") if kind == "red_flag" else body.get("time")
        key = (closed, kind, start if isinstance(start, str) else None)
        groups.setdefault(key, []).append((body, received))
    alerts = [_episode(copies, key[0]) for key, copies in groups.items()]
    events = sorted(((redflags.when(e.get("time")), e) for e in cleared),
                    key=lambda p: p[0] or datetime.min.replace(tzinfo=UTC))
    for stamp, event in events:
        fits = [i for i, a in enumerate(alerts) if _clears(event, stamp, a)]
        if fits:
            i = max(fits, key=lambda i: _order(alerts[i]))
            alerts[i] = _with_clearing(alerts[i], event, stamp)
        else:
            alone = _episode([(event, 0.0)], None, gone=True)
            alerts.append(_with_clearing(alone, event, stamp))
    for i, a in enumerate(alerts):  # a review suggestion cleared with a red flag
        if a.kind != "red_flag" and not a.open and a.by is None:
            same = [r for r in alerts if r.kind == "red_flag" and r.by is not None
                    and r.cleared_seen == a.cleared_seen]
            if same:
                alerts[i] = replace(a, cleared=same[0].cleared, by=same[0].by,
                                    how=same[0].how, why=same[0].why)
    return sorted(alerts, key=_order, reverse=True)


def _clears(event: Mapping[str, Any], stamp: datetime | None, a: AlertEpisode) -> bool:
    """Whether ``event`` may be the clearing of ``a``, not yet cleared by one."""
    if a.open or a.by is not None or a.how is not None or stamp is None:
        return False
    if str(event.get("kind")) != a.kind:
        return False
    if a.kind == "red_flag" and _flags(event) and a.flags \
            and set(_flags(event)) != set(a.flags):
        return False
    return a.time is None or a.time.replace(second=0, microsecond=0) <= stamp


def _order(a: AlertEpisode) -> tuple[bool, datetime]:
    floor = datetime.min.replace(tzinfo=UTC)
    return a.open, a.time or a.cleared or floor


def _episode(copies: Sequence[tuple[Mapping[str, Any], float]], closed: float | None,
             *, gone: bool = False) -> AlertEpisode:
    """One alert from its stored copies (of one kind), or (``gone``) from its
    clearing event alone."""
    body = max(copies, key=_newest)[0]
    kind = str(body.get("kind") or "alert")
    flags = _flags(body)
    firsts = [redflags.when(b.get("raised")) or redflags.when(b.get("time")) for b, _ in copies]
    known = [f for f in firsts if f is not None]
    tier = (redflags.tier(flags, body.get("tier"))
            if kind == "red_flag" and (flags or body.get("tier")) else None)
    return AlertEpisode(
        kind=kind, tier=tier, flags=flags, raised=None if gone else min(known, default=None),
        time=None if gone else redflags.when(body.get("time")),
        seen=redflags.when(body.get("seen")), open=closed is None and not gone,
        cleared_seen=closed)


def _with_clearing(a: AlertEpisode, event: Mapping[str, Any],
                   stamp: datetime | None) -> AlertEpisode:
    def text(key: str) -> str | None:
        value = event.get(key)
        return str(value) if value is not None and value != "" else None

    seen = a.seen or redflags.when(event.get("seen"))
    return replace(a, cleared=stamp, seen=seen, by=text("by"), how=text("how"),
                   why=text("why"))


def event_text(e: Mapping[str, Any]) -> str:
    """One line of the recent events, in words."""
    kind = str(e.get("type") or "event")
    if kind == CLEARED_EVENT:
        what = "review suggested"
        if e.get("kind") == "red_flag":
            flags = _flags(e)
            what = f"{redflags.tier(flags, e.get('tier'))} red flag: {redflags.names(flags)}"
        by = e.get("by")
        how = e.get("how")
        why = e.get("why")
        return (f"alert cleared ({what}) "
                + redflags.clearing(str(by) if by else None, how, str(why) if why else None))
    if kind == "ack" and e.get("action") == "seen":
        carry = ", and told them they can carry on" if e.get("resume") is True else ""
        return f"said a clinician had seen them about the red flag{carry}"
    if kind == "symptom":
        text = f"check-in: {e.get('level')}"
        if e.get("pain") is not None:
            text += f" (pain {e.get('pain')})"
        flags = _flags({"flags": e.get("red_flags")})
        if flags:
            text += (f"; {redflags.tier(flags, e.get('tier'))} red flag: "
                     f"{redflags.names(flags)}")
        return text
    text = kind.replace("_", " ")
    if e.get("outcome"):
        text += f": {str(e.get('kind') or '').replace('_', ' ')} {e.get('outcome')}"
    elif kind == "ack" and e.get("action"):
        text += f": {e.get('action')}"
    if e.get("by"):
        text += f" by {e.get('by')} ({e.get('why')})"
    return text


def patient_ids(db: Database, rules: ClinicTable) -> list[str]:
    seen = {r[0] for r in db.query("SELECT user_id FROM patients")}
    return sorted(seen | set(rules.patients))


def patient_list(db: Database, rules: ClinicTable) -> list[PatientRow]:
    """Every patient, most in need of attention first (then by id)."""
    rows = []
    for pid in patient_ids(db, rules):
        try:
            data = _patient_data(db, pid, monitoring.PERIOD_DAYS)  # the 30-day count
        except Exception:  # a row the driver itself cannot return
            log.exception("patient %s: stored data unreadable", pid)
            rows.append(unreadable_row(pid))
            continue
        rows.append(patient_row(pid, data, rules))
    return sorted(rows, key=lambda r: (r.rank, r.id))


def patient_view(db: Database, rules: ClinicTable, patient: str,
                 weeks: int = 6) -> PatientView | None:
    """One patient's last ``weeks`` ISO weeks, newest first; None if unknown.
    Rows that cannot be read are left out (the patient is "data unreadable");
    a patient nothing can be shown of gets a view of its row alone."""
    if patient not in patient_ids(db, rules):
        return None
    try:
        return _patient_view(db, rules, patient, weeks)
    except Exception:
        log.exception("patient %s: stored data unreadable", patient)
        return PatientView(unreadable_row(patient), (), ())


def _request(reader: Reader, row: Sequence[Any]) -> dict[str, Any] | None:
    req_id, by, sent_at, payload, reply = row
    try:
        command = contract.load(payload)
    except (contract.Unreadable, TypeError):
        reader.unreadable += 1
        return None
    when = reader.number(sent_at)
    if when is None:
        return None
    return {"id": str(req_id), "by": str(by), "sent_at": when, "payload": command,
            "reply": reader.body("reply", reply) if reply is not None else None}


def _patient_view(db: Database, rules: ClinicTable, patient: str,
                  weeks: int) -> PatientView:
    data = _patient_data(db, patient, weeks * 7)
    reader = Reader()
    weekly = {b["week"]: b for b in reader.bodies("week", _first(db.query(
        "SELECT body FROM summaries WHERE user_id = ? AND period = 'week'", (patient,))))}
    by_week: dict[str, list[dict[str, Any]]] = {}
    for d in data.days:
        y, w, _ = date.fromisoformat(d["date"]).isocalendar()
        by_week.setdefault(f"{y}-W{w:02d}", []).append(d)
    out = tuple(Week(k, tuple(v), weekly.get(k)) for k, v in sorted(by_week.items(),
                                                                   reverse=True))
    events = tuple(reader.bodies("event", _first(db.query(
        "SELECT body FROM events WHERE user_id = ? ORDER BY time DESC LIMIT 20", (patient,)))))
    requests = tuple(r for r in (_request(reader, row) for row in db.query(
        "SELECT id, by_name, sent_at, payload, reply FROM plan_requests "
        "WHERE user_id = ? ORDER BY sent_at DESC LIMIT 10", (patient,))) if r is not None)
    copies = []
    for body, received, closed in db.query(
            "SELECT body, received_at, cleared_at FROM alerts WHERE user_id = ? "
            "ORDER BY received_at DESC LIMIT 500", (patient,)):
        alert = reader.body("alert", body)
        stamp = reader.number(received)
        shut = None if closed is None else reader.number(closed)
        if alert is not None and stamp is not None and (closed is None or shut is not None):
            copies.append((alert, stamp, shut))
    history = alert_history(copies, reader.bodies("event", _first(db.query(
        "SELECT body FROM events WHERE user_id = ? AND type = ? ORDER BY time DESC LIMIT 100",
        (patient, CLEARED_EVENT)))))
    seen = PatientData(data.days, data.week, data.alert, data.status,
                       data.unreadable + reader.unreadable)
    return PatientView(patient_row(patient, seen, rules), out, events, requests,
                       tuple(history[:HISTORY_LIMIT]))


# --- version 2's day, in words for the patient page -----------------------------


WINDOW_HOW = {"event": "said", "detected": "detected", "configured": "configured"}


def _whole(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _clock(value: object, day: str) -> str | None:
    """``07:55`` from an ISO time (``Tue 00:10`` past midnight); None without one."""
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return f"{when:%H:%M}" if when.date().isoformat() == day else f"{when:%a %H:%M}"


def inferred_share(day: Mapping[str, Any]) -> float | None:
    """Sedentary minutes inferred from zero steps over sedentary minutes (v2)."""
    inferred, sedentary = _whole(day.get("sedentary_inferred_min")), _whole(
        day.get("sedentary_min"))
    return inferred / sedentary if inferred is not None and sedentary else None


def mostly_inferred(day: Mapping[str, Any]) -> bool:
    """Most of the day's sitting was inferred (v2 counts it); a v1 day keeps its flag."""
    inferred, sedentary = _whole(day.get("sedentary_inferred_min")), _whole(
        day.get("sedentary_min"))
    if inferred is not None and sedentary is not None:
        return 2 * inferred > sedentary
    return day.get("sedentary_inferred") is True


def waking_day(day: Mapping[str, Any]) -> str:
    """``07:55 (said) to 21:55 (configured); worn 12.0 h, not worn 0.0 h;
    lying 30 min``; an en dash for a v1 day."""
    window = day.get("window")
    if "worn_min" not in day and not isinstance(window, Mapping):
        return "\u2013"
    parts = []
    if isinstance(window, Mapping):
        date_text = str(day.get("date"))
        ends = []
        for edge in ("opened", "closed"):
            at = _clock(window.get(edge), date_text)
            by = window.get(f"{edge}_by")
            how = f" ({WINDOW_HOW.get(by, by)})" if isinstance(by, str) else ""
            ends.append(f"{at}{how}" if at else None)
        opened, closed = ends
        if opened and closed:
            parts.append(f"{opened} to {closed}")
        elif opened:
            parts.append(f"from {opened}, still open")
        elif closed:
            parts.append(f"until {closed}")
    worn, not_worn = _whole(day.get("worn_min")), _whole(day.get("not_worn_min"))
    if worn is not None:
        text = f"worn {worn / 60:.1f} h"
        if not_worn:
            text += f", not worn {not_worn / 60:.1f} h"
        parts.append(text)
    lying = _whole(day.get("lying_min"))
    if lying:
        parts.append(f"lying {lying} min")
    return "; ".join(parts)


def walks_nudges(day: Mapping[str, Any]) -> str:
    """``walks 12, 12 min (target 5: 2 reached it); 1 nudge not sent (budget);
    3 prompts ignored in a row; exercise 1 (20 min)``; an en dash for a v1 day."""
    lengths = day.get("walk_lengths")
    if not isinstance(lengths, list):
        return "\u2013"
    walks = [n for n in (_whole(x) for x in lengths) if n is not None]
    target = _whole(day.get("walk_target_min"))
    text = f"walks {', '.join(str(n) for n in walks)} min" if walks else "no walk"
    if target is not None:
        text += f" (target {target}: {sum(1 for n in walks if n >= target)} reached it)"
    parts = [text]
    dropped = day.get("prompts_dropped")
    if isinstance(dropped, Mapping):
        budget = _whole(dropped.get("budget")) or 0
        other = sum(_whole(v) or 0 for k, v in dropped.items() if k != "budget")
        if budget:
            parts.append(f"{budget} nudge{'s' if budget != 1 else ''} not sent (budget)")
        if other:
            parts.append(f"{other} held back otherwise")
    breaks = day.get("breaks")
    streak = _whole(breaks.get("ignored_streak")) if isinstance(breaks, Mapping) else None
    if streak:
        parts.append(f"{streak} prompt{'s' if streak != 1 else ''} ignored in a row")
    exercise = day.get("exercise")
    sessions = _whole(exercise.get("sessions")) if isinstance(exercise, Mapping) else None
    if sessions:
        minutes = _whole(exercise.get("minutes")) if isinstance(exercise, Mapping) else None
        parts.append(f"exercise {sessions}" + (f" ({minutes} min)" if minutes else ""))
    return "; ".join(parts)
