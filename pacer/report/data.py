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
import logging
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from pacer.config import DayRules, Rules, WalkRules
from pacer.contract import payloads
from pacer.engine.core import Engine
from pacer.engine.model import UNKNOWN_POSTURES, Posture
from pacer.errors import BadInput, StoreError
from pacer.report import monitoring, stored
from pacer.store import Store
from pacer.store.readonly import connect_readonly
from pacer.timebase import (
    DayBounds,
    DayCalendar,
    Minute,
    fixed_zone_name,
    system_zone_name,
    to_datetime,
    zone,
)

log = logging.getLogger(__name__)
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
    provisional: bool = False  # the day so far, worked out from the store, not published

    @property
    def has_data(self) -> bool:
        return self.body is not None

    @property
    def inferred(self) -> bool:
        """Most of the day's sedentary minutes were inferred from zero steps.
        A version 2 summary counts them (``sedentary_inferred_min``), so the
        rule is applied to the count, whichever version of the engine set the
        flag; a version 1 day keeps its own flag (any inferred minute)."""
        if self.body is None:
            return False
        count = self.body.get("sedentary_inferred_min")
        if isinstance(count, int):
            return 2 * count > int(self.body["sedentary_min"])
        return bool(self.body["sedentary_inferred"])

    @property
    def inferred_share(self) -> float | None:
        """Sedentary minutes inferred over sedentary minutes; None for a
        version 1 day (it does not count them) or a day without sitting."""
        if self.body is None:
            return None
        count = self.body.get("sedentary_inferred_min")
        sedentary = int(self.body["sedentary_min"])
        if not isinstance(count, int) or sedentary <= 0:
            return None
        return count / sedentary

    def window_time(self, edge: str) -> datetime | None:
        """When the waking window opened (``opened``) or closed (``closed``),
        in the day's own offset; None for a version 1 day or no such time."""
        window = self.body.get("window") if self.body is not None else None
        value = window.get(edge) if isinstance(window, Mapping) else None
        if not isinstance(value, str):
            return None
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None

    def window_by(self, edge: str) -> str | None:
        """How the window ``opened`` or ``closed``: ``event``, ``detected``, ``configured``."""
        window = self.body.get("window") if self.body is not None else None
        value = window.get(f"{edge}_by") if isinstance(window, Mapping) else None
        return value if isinstance(value, str) else None

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
    so_far: datetime | None = None  # the provisional day's figures run up to this time
    # Dates with enough data for remote-monitoring records (report.monitoring),
    # from every stored day up to ``last``: the 30-day counts reach before ``first``.
    monitored: frozenset[date] = frozenset()


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
    """The users with a stored daily summary, or with an engine state (a
    running daemon's user before its first summary: the report shows the day
    so far). Read-only SQL of our own: a report must not write."""
    try:
        conn = connect_readonly(path)
    except StoreError as exc:
        raise BadInput(str(exc)) from None
    try:
        rows = conn.execute(
            "SELECT user FROM summaries WHERE period = 'day' "
            "UNION SELECT user FROM engine_state ORDER BY user"
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
    rules: Rules | None = None,
) -> ReportData:
    """Everything a report of ``first``..``last`` (inclusive) needs. ``tick``
    is called once per day loaded, for a progress bar. A stored body that is
    not what pacer writes raises ``BadInput``. With ``rules`` (the daemon's),
    a day in the range that has no stored summary yet but that the stored
    engine state is in (a report asked mid-day) is the day so far, marked
    ``provisional``."""
    days_stored = f"daily summary of {user} from {first} to {last}"
    with _reading(store, days_stored):
        found = store.summaries(user, "day", first.isoformat(), last.isoformat())
    bodies = {b["date"]: b for b in (_day(store, days_stored, b) for b in found)}
    tz_name = _zone_name(store, user, bodies, timezone)
    tz = zone(tz_name)
    so_far = _day_so_far(store, user, tz_name, rules) if rules is not None else None
    provisional = None
    if so_far is not None and first.isoformat() <= so_far[0]["date"] <= last.isoformat() \
            and so_far[0]["date"] not in bodies:
        provisional = so_far[0]["date"]
        bodies[provisional] = so_far[0]
    cal = DayCalendar(tz, day_rules.start, day_rules.wake, day_rules.sleep,
                      {i: day_rules.times(i) for i in range(7)})
    days = []
    for i in range((last - first).days + 1):
        d = first + timedelta(days=i)
        bounds = cal.bounds(d)
        with _reading(store, f"minute of {user} on {d}"):
            cells, inferred = _hours(store, user, bounds, tz, day_rules)
        days.append(Day(d, bounds, bodies.get(d.isoformat()), cells, inferred,
                        provisional=d.isoformat() == provisional))
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
    with _reading(store, f"daily summary of {user} up to {last}"):
        earlier = store.summaries(user, "day", None, last.isoformat())
    monitored = monitoring.days_with_data(
        [b for b in earlier if isinstance(b, Mapping)]
        + ([bodies[provisional]] if provisional is not None else []))
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
        so_far=to_datetime(so_far[1], tz) if so_far is not None and provisional else None,
        monitored=monitored,
    )


def _day_so_far(store: Store, user: str, tz_name: str,
                rules: Rules) -> tuple[Mapping[str, Any], Minute] | None:
    """The current day as far as the stored engine state has run, and the
    minute it runs to: what a running daemon would publish if the day ended
    now (``Engine.close_day`` on a copy of the state, in memory: the store is
    not written). Its ``final`` is false. None without a state, or with one
    this pacer cannot read (the stored summaries are reported all the same)."""
    with _reading(store, f"engine state of {user}"):
        saved = store.load_state(user)
    if saved is None:
        return None
    _minute, snapshot = saved
    try:
        engine = Engine.restore(rules, user=user, timezone=tz_name, snapshot=snapshot)
        until = engine.next_minute
        made = engine.close_day()
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("%s: the engine state of %s cannot be read (%s): no day so far",
                    store.path, user, exc)
        return None
    for summary in made:
        if summary.period == "day" and until is not None:
            body = {**payloads.summary(summary), "final": False}
            return _day(store, f"day so far of {user}", body), until
    return None


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
    # No summary yet (a daemon's first day): the config's zone, else the
    # offset of the running daemon's clock, else the zone it would default to.
    return fallback or _heartbeat_zone(store, user) or system_zone_name()


def _heartbeat_zone(store: Store, user: str) -> str | None:
    """A fixed zone at the offset of the daemon's last heartbeat clock, if any."""
    try:
        beat = store.heartbeat(user)
        clock = beat[1].get("clock") if beat is not None else None
        offset = datetime.fromisoformat(clock).utcoffset() if isinstance(clock, str) else None
    except (StoreError, ValueError, AttributeError):  # an older store, a foreign body
        return None
    return fixed_zone_name(offset) if offset is not None else None


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
