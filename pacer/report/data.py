"""What a report is made of, loaded once from the store into typed values.

Every figure a report shows comes from the stored summaries (the same bodies
the daemon published), so the HTML, the CSV and the FHIR bundle cannot
disagree with what the physiotherapist saw over MQTT. Only the hour-by-day
picture of sitting is counted here, from the stored epochs, because no summary
holds it.

The store is only read (``pacer.store.readonly``), and what it holds is checked
as it is loaded (``pacer.report.stored``): a summary that is not JSON, or not
the shape pacer writes, is ``BadInput`` naming the store and the summary.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from pacer.config import DayRules, WalkRules
from pacer.engine.model import UNKNOWN_POSTURES, Posture
from pacer.errors import BadInput, StoreError
from pacer.report import stored
from pacer.store import Store
from pacer.store.readonly import connect_readonly
from pacer.timebase import DayBounds, DayCalendar, to_datetime, zone

SQLITE_MAGIC = b"SQLite format 3\x00"

HOURS = 24
"""Columns of the hour-by-day picture: the 24 clock hours from ``day.start``."""


@dataclass(frozen=True, slots=True)
class HourCell:
    """One clock hour of one day: sedentary and known minutes (a 25-hour DST
    day puts its repeated hour in one cell, up to 120 minutes)."""

    sedentary: int = 0
    known: int = 0


@dataclass(frozen=True, slots=True)
class Day:
    """One date of the report. ``body`` is the stored daily summary (wire
    shape, interfaces.md section 5), or None when the store has none."""

    day: date
    bounds: DayBounds
    body: Mapping[str, Any] | None
    hours: tuple[HourCell, ...]
    inferred_minutes: int  # sedentary minutes guessed from zero steps (step-only device)

    @property
    def has_data(self) -> bool:
        return self.body is not None

    @property
    def valid(self) -> bool:
        return self.body is not None and bool(self.body["valid"])

    @property
    def flags(self) -> tuple[str, ...]:
        return tuple(self.body["flags"]) if self.body is not None else ()

    def get(self, name: str) -> Any:
        """A summary field, ``table.key`` for nested ones; None without a summary."""
        if self.body is None:
            return None
        table, _, key = name.partition(".")
        value = self.body.get(table)
        if key:
            return value.get(key) if isinstance(value, Mapping) else None
        return value


@dataclass(frozen=True, slots=True)
class PlanChange:
    """A change to the plan, from the weekly summaries' ``plan_changes``."""

    time: datetime
    by: str
    why: str
    set: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class PromptNote:
    """A plan message or red flag pacer sent, shown with its own words."""

    time: datetime
    kind: str
    title: str
    text: str


@dataclass(frozen=True, slots=True)
class ReportData:
    user: str
    timezone: str
    tz: tzinfo
    first: date
    last: date
    day_rules: DayRules
    walk_rules: WalkRules
    days: tuple[Day, ...]
    weeks: tuple[Mapping[str, Any], ...]  # stored weekly summaries touching the range
    changes: tuple[PlanChange, ...]  # in time order, inside the range
    notes: tuple[PromptNote, ...]  # red flags and plan messages inside the range
    store_path: Path
    made: datetime = field(default_factory=lambda: datetime.now().astimezone())


# --- finding the store and the user ---------------------------------------------


def check_store_file(path: Path) -> None:
    """A report never creates a store: a missing or foreign file is bad input."""
    if not path.is_file():
        raise BadInput(
            f"{path}: no such store; give the SQLite file the daemon or "
            "`pacer replay --store` wrote ([storage] path in the config)"
        )
    try:
        with path.open("rb") as f:
            head = f.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise BadInput(f"{path}: cannot read the store ({exc.strerror})") from None
    if head != SQLITE_MAGIC:
        raise BadInput(f"{path} is not an SQLite database; check [storage] path or --store")


def store_users(path: Path) -> list[str]:
    """The users with a stored daily summary. Read-only SQL of our own: the
    Store has no listing of users, and a report must not write."""
    try:
        conn = connect_readonly(path)
    except StoreError as exc:
        raise BadInput(str(exc)) from None
    try:
        rows = conn.execute(
            "SELECT DISTINCT user FROM summaries WHERE period = 'day' ORDER BY user"
        ).fetchall()
    except sqlite3.Error as exc:
        raise BadInput(f"{path}: cannot read the store's users: {exc}") from None
    finally:
        conn.close()
    return [str(r[0]) for r in rows]


def pick_user(path: Path, wanted: str | None) -> str:
    """``wanted`` if the store has it, else the only user; bad input otherwise,
    naming the users that are there."""
    users = store_users(path)
    listed = ", ".join(users) if users else "none"
    if wanted is not None:
        if wanted not in users:
            raise BadInput(
                f"{path}: no summaries for user {wanted!r} (users in the store: {listed})")
        return wanted
    if not users:
        raise BadInput(f"{path}: the store holds no daily summaries yet")
    if len(users) > 1:
        raise BadInput(f"{path}: the store holds several users ({listed}); choose one with --user")
    return users[0]


# --- loading ---------------------------------------------------------------------


Tick = Callable[[str], None]


def load(
    store: Store,
    user: str,
    first: date,
    last: date,
    *,
    day_rules: DayRules,
    walk_rules: WalkRules,
    timezone: str | None = None,
    tick: Tick | None = None,
) -> ReportData:
    """Everything a report of ``first``..``last`` (inclusive) needs. ``tick``
    is called once per day loaded, for a progress bar. A stored body that is
    not what pacer writes raises ``BadInput``."""
    days_stored = f"daily summary of {user} from {first} to {last}"
    with _reading(store, days_stored):
        found = store.summaries(user, "day", first.isoformat(), last.isoformat())
    bodies = {b["date"]: b for b in (_day(store, days_stored, b) for b in found)}
    tz_name = _zone_name(store, user, bodies, timezone)
    tz = zone(tz_name)
    cal = DayCalendar(tz, day_rules.start, day_rules.wake, day_rules.sleep,
                      {i: day_rules.times(i) for i in range(7)})
    days = []
    for i in range((last - first).days + 1):
        d = first + timedelta(days=i)
        bounds = cal.bounds(d)
        with _reading(store, f"minute of {user} on {d}"):
            cells, inferred = _hours(store, user, bounds, tz, day_rules)
        days.append(Day(d, bounds, bodies.get(d.isoformat()), cells, inferred))
        if tick is not None:
            tick(d.isoformat())
    start, end = cal.bounds(first).start, cal.bounds(last).end
    weeks_stored = f"weekly summary of {user} from {_week(first)} to {_week(last)}"
    with _reading(store, weeks_stored):
        found = store.summaries(user, "week", _week(first), _week(last))
    weeks = tuple(_checked(store, weeks_stored, stored.week, b, "week") for b in found)
    prompts_stored = f"prompt of {user} from {first} to {last}"
    with _reading(store, prompts_stored):
        prompts = store.prompts(user, start, end)
    for p in prompts:
        _checked(store, prompts_stored, stored.prompt, p, "id")
    return ReportData(
        user=user,
        timezone=tz_name,
        tz=tz,
        first=first,
        last=last,
        day_rules=day_rules,
        walk_rules=walk_rules,
        days=tuple(days),
        weeks=weeks,
        changes=_changes(weeks, to_datetime(start, tz), to_datetime(end, tz)),
        notes=_notes(prompts, tz),
        store_path=store.path,
    )


def _zone_name(store: Store, user: str, bodies: Mapping[str, Mapping[str, Any]],
               fallback: str | None) -> str:
    """The zone the engine used is in every summary; prefer it to the config,
    which may say nothing (the machine's zone)."""
    for body in bodies.values():
        return str(body["timezone"])
    what = f"daily summary of {user}"
    with _reading(store, what):
        every = store.summaries(user, "day")
    for body in every:
        return str(_day(store, what, body)["timezone"])
    return fallback or "UTC"


@contextmanager
def _reading(store: Store, what: str) -> Iterator[None]:
    """Reads of ``what``: a row that does not decode (a payload that is not
    JSON, a posture pacer has no name for) is bad input naming it."""
    try:
        yield
    except ValueError as exc:
        why = "is not JSON" if isinstance(exc, json.JSONDecodeError) else "cannot be read"
        raise BadInput(f"{store.path}: a stored {what} {why} ({exc}); {_DAMAGED}") from None


_DAMAGED = "the store is damaged or was not written by pacer"


def _checked(store: Store, what: str, check: Callable[[Any], Mapping[str, Any]], body: Any,
             key: str) -> Mapping[str, Any]:
    """``check(body)``, naming the body by its ``key`` when it has one."""
    try:
        return check(body)
    except stored.Damaged as exc:
        name = body.get(key) if isinstance(body, dict) else None
        if isinstance(name, str):
            what = f"the stored {what.partition(' from ')[0]} for {name}"
        else:
            what = f"a stored {what}"
        raise BadInput(f"{store.path}: {what}: {exc}; {_DAMAGED}") from None


def _day(store: Store, what: str, body: Any) -> Mapping[str, Any]:
    return _checked(store, what, stored.day, body, "date")


def _week(d: date) -> str:
    year, week, _ = d.isocalendar()
    return f"{year}-W{week:02d}"


def _hours(store: Store, user: str, bounds: DayBounds, tz: tzinfo,
           rules: DayRules) -> tuple[tuple[HourCell, ...], int]:
    sedentary = [0] * HOURS
    known = [0] * HOURS
    inferred = 0
    start_hour = rules.start.hour
    for epoch in store.epochs(user, bounds.start, bounds.end):
        if epoch.posture in UNKNOWN_POSTURES:
            continue
        # By clock hour, not by minutes since the day began: on a DST day the
        # 09:00 column must still be 09:00.
        col = (to_datetime(epoch.start, tz).hour - start_hour) % HOURS
        known[col] += 1
        if epoch.posture is Posture.SEDENTARY:
            sedentary[col] += 1
            if epoch.inferred and bounds.wake <= epoch.start < bounds.sleep:
                inferred += 1
    cells = tuple(HourCell(s, k) for s, k in zip(sedentary, known, strict=True))
    return cells, inferred


def _changes(weeks: Sequence[Mapping[str, Any]], start: datetime,
             end: datetime) -> tuple[PlanChange, ...]:
    seen: set[tuple[str, str, str]] = set()
    out = []
    for week in weeks:
        for c in week.get("plan_changes", ()):
            key = (str(c["time"]), str(c["by"]), str(c["why"]))
            when = datetime.fromisoformat(str(c["time"]))
            if key in seen or not start <= when < end:
                continue
            seen.add(key)
            out.append(PlanChange(when, str(c["by"]), str(c["why"]), dict(c.get("set", {}))))
    return tuple(sorted(out, key=lambda c: c.time))


_NOTE_KINDS = frozenset(("red_flag", "review_suggested", "settle_plan", "plan_update",
                         "boom_followup"))


def _notes(prompts: Sequence[Mapping[str, Any]], tz: tzinfo) -> tuple[PromptNote, ...]:
    return tuple(
        PromptNote(to_datetime(int(p["time"]), tz), str(p["kind"]), str(p["title"]),
                   str(p["text"]))
        for p in prompts
        if p["kind"] in _NOTE_KINDS
    )
