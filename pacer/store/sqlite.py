"""pacer's SQLite store: epochs, prompts, outcomes, summaries, engine state,
the MQTT outbox and inbox, and an audit trail of events.

The daemon writes each processed minute (or command) in ONE transaction: the
epoch, what the engine decided, the engine's new state and the messages to
publish. After a crash the file therefore holds either all of a minute or none
of it, and the daemon resumes from the stored state with the first minute not
yet stored.

Durability: write-ahead logging with ``synchronous=FULL``, so a committed
transaction survives a power cut, and readers (``pacer report``) do not block
the writer.

Threading: a ``Store`` and its connection belong to the thread that opened it
(the daemon's asyncio loop thread); sqlite3 refuses use from any other thread.
The calls are short, local-disk writes, made directly on the loop.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self, assert_never
from zoneinfo import ZoneInfo

from pacer.contract import payloads
from pacer.engine.model import Alert, Dropped, Epoch, Outcome, Output, Posture, Prompt, Summary
from pacer.errors import StoreError, StoreFolderMissing
from pacer.store.migrations import MIGRATIONS
from pacer.timebase import Minute, iso

BUSY_TIMEOUT_MS = 5000
"""How long a write waits for another process (say ``pacer report``) to let go
of the file before it fails."""

_UTC = ZoneInfo("UTC")


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One MQTT message to publish, kept until the broker acknowledges it."""

    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = False
    expires_at: float | None = None  # real Unix seconds; None: never expires
    msg_id: str = ""  # the consumer's de-duplication key (also inside the payload)

    def __post_init__(self) -> None:
        if self.qos not in (0, 1, 2):
            raise ValueError(f"qos must be 0, 1 or 2, not {self.qos!r}")


@dataclass(frozen=True, slots=True)
class PublishedSummary:
    """A summary as the store keeps it: the payload published (interfaces.md
    section 5), by period and key. The store makes one of each engine
    ``Summary``; a summary published elsewhere can be stored as it is."""

    period: str
    key: str
    final: bool
    time: Minute  # when it was made
    payload: Mapping[str, Any]

    @classmethod
    def of(cls, s: Summary) -> PublishedSummary:
        return cls(s.period, s.key, s.final, s.time, payloads.summary(s))


class Store:
    """One SQLite file. Open with :meth:`Store.open`; use from one thread only."""

    def __init__(self, conn: sqlite3.Connection, path: Path, clock: Callable[[], float]) -> None:
        self._conn = conn
        self.path = path
        self._clock = clock  # real Unix seconds, for outbox created_at

    # --- opening and closing -------------------------------------------------------

    @classmethod
    def open(cls, path: Path | str, *, clock: Callable[[], float] = time.time,
             durable: bool = True) -> Store:
        """Open or create the store at ``path`` and bring its schema up to date.

        ``durable`` (the daemon): every commit is on disk before it returns.
        False suits a batch that can be run again (``pacer replay --store``):
        commits are not synced one by one, so a power cut may lose the last
        ones, but the file stays consistent (WAL)."""
        p = Path(path)
        if not p.parent.is_dir():
            # SQLite would say "unable to open database file": an operator's
            # mistake, not a failure a restart could cure.
            raise StoreFolderMissing(
                f"cannot open the store {p}: the folder {p.parent} "
                f"{'is not a folder' if p.parent.exists() else 'does not exist'}; create "
                "it, or correct the path ([storage] path in the config, or --store)")
        try:
            # isolation_level=None: no implicit transactions; every write below
            # opens its own, so what is atomic is visible in the code.
            conn = sqlite3.connect(p, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(_open_message(p, exc)) from exc
        try:
            _configure(conn, p, durable)
            apply_migrations(conn, MIGRATIONS, p)
        except BaseException:
            conn.close()
            raise
        return cls(conn, p, clock)

    def close(self) -> None:
        """Close the connection (safe to call twice)."""
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- the engine's writes -----------------------------------------------------

    # Positional parameters in the order of the daemon's contract (PLR0917).
    def commit_minute(  # noqa: PLR0917
        self,
        user: str,
        epoch: Epoch,
        source: str,
        outputs: Sequence[Output | PublishedSummary],
        state: Mapping[str, Any],
        outbox: Sequence[OutboxMessage],
        *,
        not_worn: Sequence[tuple[Minute, Minute]] = (),
        revised: Sequence[Epoch] = (),
    ) -> None:
        """Store one processed minute: the epoch, the prompts, outcomes and
        summaries among ``outputs`` (``Dropped`` is logged by the caller, not
        stored), the engine state after it, and the messages to publish.
        ``not_worn``: minutes ``[first, end)`` stored earlier that the engine
        has just taken back as not worn (a still run, ``Engine.not_worn``);
        their posture becomes ``not_worn`` in the same transaction, so the
        stored minutes never disagree with the state stored beside them.
        Their steps stay: they were counted. Minutes stored unknown stay
        unknown (the wearable was out of reach, or the daemon down, in the
        middle of the run), as the engine leaves them. ``revised``: minutes
        stored earlier relabelled since (``Engine.revise``): their posture and
        inferred flag are rewritten in the same transaction; their steps stay,
        and a minute stored unknown or not worn stays so.

        All or nothing. A minute already stored for ``user`` raises StoreError:
        feeding a minute twice would count its steps twice.
        """
        with self._write(f"minute {_when(epoch.start)} for user {user!r}"):
            for first, end in not_worn:
                self._conn.execute(
                    "UPDATE epochs SET posture = ?, inferred = 0"
                    " WHERE user = ? AND minute >= ? AND minute < ? AND posture != ?",
                    (Posture.NOT_WORN.value, user, first, end, Posture.UNKNOWN.value))
            self._conn.executemany(
                "UPDATE epochs SET posture = ?, inferred = ?"
                " WHERE user = ? AND minute = ? AND posture NOT IN (?, ?)",
                [(e.posture.value, int(e.inferred), user, e.start, Posture.UNKNOWN.value,
                  Posture.NOT_WORN.value) for e in revised])
            self._insert_epoch(user, epoch, source)
            self._insert_outputs(user, outputs)
            self._put_state(user, epoch.start, state)
            self._insert_outbox(user, outbox)

    def commit_minutes(
        self,
        user: str,
        minutes: Sequence[tuple[Epoch, Sequence[Output]]],
        source: str,
        state: Mapping[str, Any],
    ) -> None:
        """Store a run of processed minutes, their outputs and the engine
        state after the last of them in one transaction: an import's batch,
        with nothing to publish. All or nothing, as ``commit_minute``."""
        if not minutes:
            return
        last = minutes[-1][0].start
        with self._write(f"minutes up to {_when(last)} for user {user!r}"):
            for epoch, outputs in minutes:
                self._insert_epoch(user, epoch, source)
                self._insert_outputs(user, outputs)
            self._put_state(user, last, state)

    def commit_command(  # noqa: PLR0917
        self,
        user: str,
        at: float,
        event_type: str,
        event_payload: Mapping[str, Any],
        outputs: Sequence[Output | PublishedSummary],
        state: Mapping[str, Any] | None,
        state_minute: Minute | None,
        outbox: Sequence[OutboxMessage],
        cmd_id: str | None = None,
        reply: Mapping[str, Any] | None = None,
    ) -> None:
        """Store a command applied between minutes: an audit event at ``at``
        (real Unix seconds), the engine's outputs and new state, the messages to
        publish, and, when ``cmd_id`` is given, the id and its ``reply`` so a
        redelivered command is answered without being applied again.

        ``state=None`` leaves the stored engine state as it is (a rejected
        command). All or nothing; a ``cmd_id`` already stored raises StoreError.
        """
        if (state is None) != (state_minute is None):
            raise ValueError("state and state_minute go together: give both or neither")
        if cmd_id is not None and reply is None:
            raise ValueError(f"command {cmd_id!r} needs the reply that was sent for it")
        with self._write(f"command {event_type!r} for user {user!r}"):
            self._insert_event(user, at, event_type, event_payload)
            self._insert_outputs(user, outputs)
            if state is not None and state_minute is not None:
                self._put_state(user, state_minute, state)
            self._insert_outbox(user, outbox)
            if cmd_id is not None and reply is not None:
                self._conn.execute(
                    "INSERT INTO commands (user, cmd_id, received_at, reply) VALUES (?, ?, ?, ?)",
                    (user, cmd_id, at, _dumps(reply)),
                )

    # --- the outbox ----------------------------------------------------------------

    def outbox_append(self, user: str, messages: Sequence[OutboxMessage]) -> list[int]:
        """Queue messages that are not part of an engine write (state, status);
        returns their seqs."""
        with self._write(f"outbox messages for user {user!r}"):
            return self._insert_outbox(user, messages)

    def outbox_pending(
        self, limit: int = 100, *, after: int = 0
    ) -> list[tuple[int, OutboxMessage]]:
        """Unacknowledged messages of every user, oldest first; ``after`` pages
        past the rows already handed to the MQTT client. Expired rows are
        included until :meth:`outbox_drop_expired` removes them."""
        rows = self._read(
            "SELECT seq, topic, payload, qos, retain, expires_at, msg_id FROM outbox"
            " WHERE seq > ? ORDER BY seq LIMIT ?",
            (after, limit),
        )
        return [(row[0], _message(row[1:])) for row in rows]

    def outbox_done(self, seq: int) -> bool:
        """The broker acknowledged ``seq``: forget it. False if it was not there
        (a second PUBACK callback for the same message is harmless)."""
        with self._write(f"outbox row {seq}"):
            cur = self._conn.execute("DELETE FROM outbox WHERE seq = ?", (seq,))
        return cur.rowcount == 1

    def outbox_dead(self, seq: int, reason: str) -> bool:
        """The broker refused ``seq`` for good: move it to dead_letters, so it is
        kept for the operator but never retried. False if it was not there."""
        with self._write(f"outbox row {seq}"):
            cur = self._conn.execute(
                "INSERT INTO dead_letters"
                " (seq, user, topic, payload, qos, retain, expires_at, created_at, msg_id, reason)"
                " SELECT seq, user, topic, payload, qos, retain, expires_at, created_at, msg_id, ?"
                " FROM outbox WHERE seq = ?",
                (reason, seq),
            )
            self._conn.execute("DELETE FROM outbox WHERE seq = ?", (seq,))
        return cur.rowcount == 1

    def outbox_drop_expired(self, now: float) -> int:
        """Remove messages whose ``expires_at <= now`` (a stale "stand up now" is
        worse than none); returns how many, for the caller to log."""
        with self._write("expired outbox rows"):
            cur = self._conn.execute(
                "DELETE FROM outbox WHERE expires_at IS NOT NULL AND expires_at <= ?", (now,)
            )
        return cur.rowcount

    def dead_letters(self, limit: int = 100) -> list[tuple[int, OutboxMessage, str]]:
        """Refused messages with the broker's reason, oldest first."""
        rows = self._read(
            "SELECT seq, topic, payload, qos, retain, expires_at, msg_id, reason"
            " FROM dead_letters ORDER BY seq LIMIT ?",
            (limit,),
        )
        return [(row[0], _message(row[1:7]), row[7]) for row in rows]

    # --- readers -------------------------------------------------------------------

    def load_state(self, user: str) -> tuple[Minute, dict[str, Any]] | None:
        """The engine state and the minute it was taken after, or None for a new user."""
        rows = self._read("SELECT minute, state FROM engine_state WHERE user = ?", (user,))
        if not rows:
            return None
        minute, state = rows[0]
        loaded: dict[str, Any] = json.loads(state)
        return minute, loaded

    def last_minute(self, user: str) -> Minute | None:
        """The newest stored epoch's minute; a restart resumes after it."""
        rows = self._read("SELECT MAX(minute) FROM epochs WHERE user = ?", (user,))
        last: Minute | None = rows[0][0]
        return last

    def first_minute(self, user: str, *, besides: str | None = None) -> Minute | None:
        """The oldest stored epoch's minute, leaving out those stored from
        ``besides`` (an import's source: the first minute pacer measured)."""
        rows = self._read("SELECT MIN(minute) FROM epochs WHERE user = ? AND source != ?",
                          (user, besides if besides is not None else ""))
        first: Minute | None = rows[0][0]
        return first

    def add_minute(self, user: str, epoch: Epoch, source: str) -> bool:
        """Store a minute from before the engine's time (an import), unless one
        is stored already for that minute: False then, and nothing changes."""
        with self._write(f"minute {_when(epoch.start)} for user {user!r}"):
            cur = self._conn.execute(
                "INSERT OR IGNORE INTO epochs (user, minute, steps, posture, inferred, source)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (user, epoch.start, epoch.steps, epoch.posture.value, int(epoch.inferred), source))
            return cur.rowcount == 1

    def epochs(self, user: str, start: Minute, end: Minute) -> list[Epoch]:
        """Stored epochs with ``start <= minute < end``, in time order (minutes
        never stored are simply absent)."""
        rows = self._read(
            "SELECT minute, steps, posture, inferred FROM epochs"
            " WHERE user = ? AND minute >= ? AND minute < ? ORDER BY minute",
            (user, start, end),
        )
        return [Epoch(m, steps, Posture(posture), bool(inf)) for m, steps, posture, inf in rows]

    def prompts(
        self, user: str, start: Minute | None = None, end: Minute | None = None
    ) -> list[dict[str, Any]]:
        """Prompts with ``start <= time < end`` (either bound optional), in time
        order and, within a minute, in the order they were sent.

        Each is a Prompt's fields with ``time``/``expires`` as engine minutes; the
        wire shape (local times) is ``Prompt.payload``, made where the time zone is known.
        """
        rows = self._read(
            "SELECT payload FROM prompts WHERE user = ?"
            " AND (? IS NULL OR time >= ?) AND (? IS NULL OR time < ?) ORDER BY time, rowid",
            (user, start, start, end, end),
        )
        return [_loads(row[0]) for row in rows]

    def outcomes(self, user: str) -> list[Outcome]:
        """The latest outcome of each prompt, in the order they were decided."""
        rows = self._read(
            "SELECT prompt_id, kind, outcome, time, latency_min, self_reported FROM outcomes"
            " WHERE user = ? ORDER BY time, rowid",
            (user,),
        )
        return [Outcome(pid, kind, out, t, lat, bool(sr)) for pid, kind, out, t, lat, sr in rows]

    def summaries(
        self, user: str, period: str, key_from: str | None = None, key_to: str | None = None
    ) -> list[dict[str, Any]]:
        """Summary bodies (wire shape) with ``key_from <= key <= key_to``, both
        inclusive and optional, in key order; ISO dates and ISO weeks sort as text."""
        rows = self._read(
            "SELECT payload FROM summaries WHERE user = ? AND period = ?"
            " AND (? IS NULL OR key >= ?) AND (? IS NULL OR key <= ?) ORDER BY key",
            (user, period, key_from, key_from, key_to, key_to),
        )
        return [_loads(row[0]) for row in rows]

    def command_reply(self, user: str, cmd_id: str) -> dict[str, Any] | None:
        """The reply sent for a processed command, or None if it is new."""
        rows = self._read(
            "SELECT reply FROM commands WHERE user = ? AND cmd_id = ?", (user, cmd_id)
        )
        return _loads(rows[0][0]) if rows else None

    def add_samples(self, user: str, rows: Sequence[tuple[str, float, str, Mapping[str, Any]]]
                    ) -> None:
        """Raw device samples: (device, unix seconds, kind, fields)."""
        with self._write("raw samples"):
            self._conn.executemany(
                "INSERT INTO samples (user, device, at, kind, payload) VALUES (?, ?, ?, ?, ?)",
                [(user, device, at, kind, json.dumps(fields)) for device, at, kind, fields in rows],
            )

    def prune_samples(self, user: str, before: float) -> int:
        """Delete raw samples older than ``before``; returns how many."""
        with self._write("the pruning of raw samples"):
            cur = self._conn.execute("DELETE FROM samples WHERE user = ? AND at < ?",
                                     (user, before))
        return cur.rowcount

    def beat(self, user: str, at: float, payload: Mapping[str, Any]) -> None:
        with self._write("the daemon's heartbeat"):
            self._conn.execute(
                "INSERT OR REPLACE INTO heartbeat (user, at, payload) VALUES (?, ?, ?)",
                (user, at, json.dumps(payload)),
            )

    def heartbeat(self, user: str) -> tuple[float, dict[str, Any]] | None:
        rows = self._read("SELECT at, payload FROM heartbeat WHERE user = ?", (user,))
        if not rows:
            return None
        return rows[0][0], json.loads(rows[0][1])

    def outbox_count(self) -> int:
        return int(self._read("SELECT count(*) FROM outbox", ())[0][0])

    def users(self) -> list[str]:
        return [u for (u,) in self._read("SELECT user FROM engine_state ORDER BY user", ())]

    def request_add(self, user: str, kind: str, payload: Mapping[str, Any]) -> int:
        """A request for the running daemon (``pacer alert clear``)."""
        with self._write("a local request"):
            cur = self._conn.execute(
                "INSERT INTO local_requests (user, kind, payload, created_at) VALUES (?, ?, ?, ?)",
                (user, kind, json.dumps(payload), self._clock()),
            )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def requests_open(self, user: str) -> list[tuple[int, str, dict[str, Any]]]:
        rows = self._read(
            "SELECT seq, kind, payload FROM local_requests WHERE user = ? AND done_at IS NULL"
            " ORDER BY seq", (user,))
        return [(seq, kind, json.loads(payload)) for seq, kind, payload in rows]

    def request_done(self, seq: int, result: Mapping[str, Any]) -> None:
        with self._write("a local request's result"):
            self._conn.execute(
                "UPDATE local_requests SET done_at = ?, result = ? WHERE seq = ?",
                (self._clock(), json.dumps(result), seq),
            )

    def request_result(self, seq: int) -> dict[str, Any] | None:
        rows = self._read("SELECT result FROM local_requests WHERE seq = ?", (seq,))
        if not rows or rows[0][0] is None:
            return None
        result: dict[str, Any] = json.loads(rows[0][0])
        return result

    def events(self, user: str) -> list[tuple[float, str, dict[str, Any]]]:
        """The audit trail as (time in Unix seconds, type, payload), oldest first."""
        rows = self._read(
            "SELECT time, type, payload FROM events WHERE user = ? ORDER BY seq", (user,)
        )
        return [(t, kind, _loads(payload)) for t, kind, payload in rows]

    # --- internals -----------------------------------------------------------------

    @contextmanager
    def _write(self, what: str) -> Iterator[None]:
        with _transaction(self._conn, f"{self.path}: cannot store {what}"):
            yield

    def _read(self, sql: str, params: Sequence[object]) -> list[Any]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot read: {exc}{_hint(exc)}") from exc

    def _insert_epoch(self, user: str, epoch: Epoch, source: str) -> None:
        # Checked rather than left to the primary key, to give the operator a
        # message about minutes instead of a constraint name.
        taken = self._conn.execute(
            "SELECT source FROM epochs WHERE user = ? AND minute = ?", (user, epoch.start)
        ).fetchone()
        if taken is not None:
            raise StoreError(
                f"{self.path}: minute {_when(epoch.start)} for user {user!r} is already"
                f" stored (from {taken[0]!r}); a minute must never be fed twice"
            )
        self._conn.execute(
            "INSERT INTO epochs (user, minute, steps, posture, inferred, source)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (user, epoch.start, epoch.steps, epoch.posture.value, int(epoch.inferred), source),
        )

    def _insert_outputs(self, user: str, outputs: Sequence[Output | PublishedSummary]) -> None:
        for out in outputs:
            match out:
                case Prompt():
                    self._insert_prompt(user, out)
                case Outcome():
                    self._put_outcome(user, out)
                case Summary():
                    self._put_summary(user, PublishedSummary.of(out))
                case PublishedSummary():
                    self._put_summary(user, out)
                case Dropped():
                    pass  # logged by the caller; nothing to keep
                case Alert():
                    pass  # the open alert lives in the engine state; it is sent retained
                case _:
                    assert_never(out)

    def _insert_prompt(self, user: str, p: Prompt) -> None:
        # Plain INSERT: a prompt id reused by the engine is a bug to surface.
        self._conn.execute(
            "INSERT INTO prompts (user, id, kind, time, expires, payload)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (user, p.id, p.kind, p.time, p.expires, _dumps(_prompt_record(p))),
        )

    def _put_outcome(self, user: str, o: Outcome) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO outcomes"
            " (user, prompt_id, kind, outcome, time, latency_min, self_reported)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (user, o.prompt_id, o.kind, o.outcome, o.time, o.latency_min, int(o.self_reported)),
        )

    def _put_summary(self, user: str, s: PublishedSummary) -> None:
        # The daemon writes in time order, so the last one written is the newest
        # (the final daily summary replaces the end-of-waking-window one).
        self._conn.execute(
            "INSERT OR REPLACE INTO summaries (user, period, key, final, time, payload)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (user, s.period, s.key, int(s.final), s.time, _dumps(s.payload)),
        )

    def _put_state(self, user: str, minute: Minute, state: Mapping[str, Any]) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO engine_state (user, minute, state) VALUES (?, ?, ?)",
            (user, minute, _dumps(state)),
        )

    def _insert_event(self, user: str, at: float, kind: str, payload: Mapping[str, Any]) -> None:
        self._conn.execute(
            "INSERT INTO events (user, time, type, payload) VALUES (?, ?, ?, ?)",
            (user, at, kind, _dumps(payload)),
        )

    def _insert_outbox(self, user: str, messages: Sequence[OutboxMessage]) -> list[int]:
        now = self._clock()
        seqs = []
        for m in messages:
            cur = self._conn.execute(
                "INSERT INTO outbox"
                " (user, topic, payload, qos, retain, expires_at, created_at, msg_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (user, m.topic, bytes(m.payload), m.qos, int(m.retain), m.expires_at, now,
                 m.msg_id),
            )
            seqs.append(_lastrowid(cur))
        return seqs


# --- opening ---------------------------------------------------------------------


def _configure(conn: sqlite3.Connection, path: Path, durable: bool = True) -> None:
    """Per-connection settings; the first statement that reads the file is here,
    so a file that is not a database fails here."""
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        conn.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.Error as exc:
        raise StoreError(_open_message(path, exc)) from exc
    if mode != "wal":
        raise StoreError(
            f"{path}: SQLite cannot use write-ahead logging here (journal mode {mode!r});"
            " put the store on a local disk, not a network share"
        )


def _open_message(path: Path, exc: sqlite3.Error) -> str:
    if "not a database" in str(exc):
        return (
            f"{path} is not an SQLite database ({exc}); check [storage] path in the"
            " config, or move the file away to start a new store"
        )
    return (
        f"cannot open the store {path}: {exc}{_hint(exc)}; check that its directory exists"
        " and that pacer may write both the file and the directory (SQLite keeps -wal and"
        " -shm files beside it)"
    )


def apply_migrations(conn: sqlite3.Connection, scripts: Sequence[str], where: Path | str) -> None:
    """Bring the file to schema ``len(scripts)``, one transaction per script.

    Refuses a file from a newer pacer: an old program writing a newer schema
    could corrupt data it does not understand.
    """
    known = len(scripts)
    found = _user_version(conn, where)
    if found > known:
        raise StoreError(
            f"{where} was written by a newer pacer (schema {found}, this one knows"
            f" {known}); upgrade pacer"
        )
    for version in range(found + 1, known + 1):
        with _transaction(conn, f"{where}: cannot upgrade the store to schema {version}"):
            # Re-read under the write lock: another process may have migrated
            # the file while we waited for it.
            if _user_version(conn, where) == version - 1:
                for statement in _statements(scripts[version - 1]):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {version:d}")


def _user_version(conn: sqlite3.Connection, where: Path | str) -> int:
    try:
        version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.Error as exc:
        raise StoreError(f"{where}: cannot read the schema version: {exc}") from exc
    return version


def _statements(script: str) -> Iterator[str]:
    """Split a script into statements: ``executescript`` would commit first and
    so cannot run inside our transaction."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            yield pending.strip()
            pending = ""
    if pending.strip():
        raise ValueError(f"migration ends inside a statement: {pending.strip()[:60]!r}")


# --- transactions and errors -------------------------------------------------------


@contextmanager
def _transaction(conn: sqlite3.Connection, failure: str) -> Iterator[None]:
    """One write transaction; any error rolls all of it back.

    BEGIN IMMEDIATE takes the write lock up front, so a busy file makes us wait
    (busy_timeout) before writing rather than fail half-way. sqlite3 errors
    become StoreError("<failure>: <why>"); other errors pass through unchanged.
    """
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        raise StoreError(f"{failure}: {exc}{_hint(exc)}") from exc
    try:
        yield
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        _rollback(conn)
        raise StoreError(f"{failure}: {exc}{_hint(exc)}") from exc
    except BaseException:
        _rollback(conn)
        raise


def _rollback(conn: sqlite3.Connection) -> None:
    # A failed rollback must not hide the error that caused it.
    with contextlib.suppress(sqlite3.Error):
        if conn.in_transaction:
            conn.execute("ROLLBACK")


def _hint(exc: sqlite3.Error) -> str:
    """Operator advice for the failures that have one."""
    text = str(exc)
    if "disk is full" in text or "disk I/O" in text:
        return " (free space on the disk that holds the store, or check the disk)"
    if "locked" in text or "busy" in text:
        return " (another program holds the store's write lock; stop it or retry)"
    if "readonly" in text or "read-only" in text:
        return " (pacer may not write the file or its directory; check permissions)"
    if "malformed" in text:
        return " (the file is damaged; restore it from a backup)"
    return ""


# --- encoding --------------------------------------------------------------------


def _dumps(value: Mapping[str, Any]) -> str:
    return json.dumps(value, default=_json_default, ensure_ascii=False, separators=(",", ":"))


def _json_default(value: object) -> object:
    # Engine values are frozen: nested read-only Mappings are not dicts.
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable: {value!r}")


def _loads(text: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(text)
    return value


def _prompt_record(p: Prompt) -> dict[str, Any]:
    """A prompt's fields, time-zone free (times as engine minutes)."""
    return {
        "id": p.id,
        "kind": p.kind,
        "level": p.level,
        "time": p.time,
        "expires": p.expires,
        "title": p.title,
        "text": p.text,
        "actions": list(p.actions),
        "reason": p.reason,
    }


def _message(row: Sequence[Any]) -> OutboxMessage:
    topic, payload, qos, retain, expires_at, msg_id = row
    return OutboxMessage(topic, bytes(payload), qos, bool(retain), expires_at, msg_id)


def _lastrowid(cur: sqlite3.Cursor) -> int:
    if cur.lastrowid is None:  # only for statements that insert nothing
        raise StoreError("SQLite reported no row id for an insert")
    return cur.lastrowid


def _when(minute: Minute) -> str:
    return f"{minute} ({iso(minute, _UTC)})"
