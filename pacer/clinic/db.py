"""The clinic's database: SQLite by default, PostgreSQL (psycopg 3) by URL.

One schema, one SQL dialect (``?`` placeholders, rewritten for psycopg; ``ON
CONFLICT`` upserts, which both have). Every write of the collector is one
transaction per batch of messages; the collector acknowledges the batch to
the broker only after ``store`` has returned, i.e. after the commit.

Each ``Database`` keeps one connection (SQLite or PostgreSQL), used under a
lock: the collector writes from one thread at a time, and the web app's
reads from threads are short. Several processes (collectors, the web app)
each have their own.

``is_outage`` tells a database that is away (a lost connection, a lock held
too long, a full disk: the collector waits and tries again) from a row it
cannot take (a value PostgreSQL refuses: that message is a dead letter).
A broken connection is dropped and opened again on the next transaction.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pacer.clinic.records import DeadLetter, Record
from pacer.clinic.tokens import ApiToken

log = logging.getLogger(__name__)

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS patients (
        user_id TEXT PRIMARY KEY, status TEXT, status_at DOUBLE PRECISION,
        first_seen DOUBLE PRECISION NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS summaries (
        user_id TEXT NOT NULL, period TEXT NOT NULL, key TEXT NOT NULL,
        final INTEGER NOT NULL, body TEXT NOT NULL, received_at DOUBLE PRECISION NOT NULL,
        versions INTEGER NOT NULL DEFAULT 1,
        PRIMARY KEY (user_id, period, key))""",
    """CREATE TABLE IF NOT EXISTS events (
        user_id TEXT NOT NULL, time TEXT NOT NULL, type TEXT NOT NULL, digest TEXT NOT NULL,
        body TEXT NOT NULL, received_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (user_id, time, type, digest))""",
    """CREATE TABLE IF NOT EXISTS alerts (
        user_id TEXT NOT NULL, time TEXT NOT NULL, kind TEXT NOT NULL, digest TEXT NOT NULL,
        body TEXT NOT NULL, received_at DOUBLE PRECISION NOT NULL,
        cleared_at DOUBLE PRECISION,
        PRIMARY KEY (user_id, time, kind, digest))""",
    """CREATE TABLE IF NOT EXISTS plan_requests (
        id TEXT PRIMARY KEY, user_id TEXT NOT NULL, by_name TEXT NOT NULL,
        sent_at DOUBLE PRECISION NOT NULL, payload TEXT NOT NULL, reply TEXT,
        replied_at DOUBLE PRECISION)""",
    # Messages that could not be parsed or stored, for inspection (``{blob}``:
    # BLOB or BYTEA); ``copies`` counts deliveries of the same message.
    """CREATE TABLE IF NOT EXISTS dead_letters (
        key TEXT PRIMARY KEY, topic TEXT NOT NULL, payload {blob} NOT NULL,
        size INTEGER NOT NULL, reason TEXT NOT NULL, first_at DOUBLE PRECISION NOT NULL,
        last_at DOUBLE PRECISION NOT NULL, copies INTEGER NOT NULL DEFAULT 1)""",
    # The web app's sign-ins: the cookie holds a random id, this table its
    # hash; signing out deletes the row, a new password or removing the user
    # ends it (``password``: a fingerprint of the user's password hash).
    """CREATE TABLE IF NOT EXISTS web_sessions (
        id TEXT PRIMARY KEY, user_name TEXT NOT NULL, password TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL, expires_at DOUBLE PRECISION NOT NULL)""",
    # The physiotherapists' log of review minutes and contacts (``reviews``),
    # for remote-monitoring records: who, when, how long, what kind, what.
    """CREATE TABLE IF NOT EXISTS review_log (
        id TEXT PRIMARY KEY, user_id TEXT NOT NULL, by_name TEXT NOT NULL,
        at DOUBLE PRECISION NOT NULL, minutes INTEGER NOT NULL, kind TEXT NOT NULL,
        what TEXT NOT NULL, logged_at DOUBLE PRECISION NOT NULL)""",
    # Read-only API tokens for scripts (``tokens``): the SHA-256 of the secret,
    # never the token; a revoked row is kept, so the list shows it.
    """CREATE TABLE IF NOT EXISTS api_tokens (
        id TEXT PRIMARY KEY, user_name TEXT NOT NULL, name TEXT NOT NULL,
        digest TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL,
        expires_at DOUBLE PRECISION, revoked_at DOUBLE PRECISION,
        last_used_at DOUBLE PRECISION)""",
)
_DEAD = ("INSERT INTO dead_letters (key, topic, payload, size, reason, first_at, last_at) "
         "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
         "copies = dead_letters.copies + 1, last_at = excluded.last_at")

_PATIENT = ("INSERT INTO patients (user_id, first_seen) VALUES (?, ?) "
            "ON CONFLICT (user_id) DO NOTHING")
# A partial summary never replaces a final one; otherwise the latest wins.
_SUMMARY = (
    "INSERT INTO summaries (user_id, period, key, final, body, received_at) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, period, key) DO UPDATE SET "
    "final = excluded.final, body = excluded.body, received_at = excluded.received_at, "
    "versions = summaries.versions + 1 "
    "WHERE summaries.body <> excluded.body AND excluded.final >= summaries.final")
_EVENT = ("INSERT INTO events (user_id, time, type, digest, body, received_at) "
          "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")
_ALERT = ("INSERT INTO alerts (user_id, time, kind, digest, body, received_at) "
          "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")
_CLEAR = ("UPDATE alerts SET cleared_at = ? WHERE user_id = ? AND cleared_at IS NULL "
          "AND received_at <= ?")
# An ``alert_cleared`` event closes the alerts stored before it was first
# received, whichever of it and the empty retained alert comes first. A second
# copy of the event finds its first receipt's time, so it cannot close an
# alert raised since.
CLEARED_EVENT = "alert_cleared"
_CLEARED = ("UPDATE alerts SET cleared_at = ? WHERE user_id = ? AND cleared_at IS NULL "
            "AND received_at <= (SELECT received_at FROM events WHERE user_id = ? "
            "AND time = ? AND type = ? AND digest = ?)")
_STATUS = "UPDATE patients SET status = ?, status_at = ? WHERE user_id = ?"


class _Cursor(Protocol):
    rowcount: int

    def fetchall(self) -> list[Any]: ...


class _Conn(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Stored:
    """How a batch went: rows new or changed, messages already stored, and
    dead letters kept."""

    new: int
    duplicates: int
    dead: int = 0


# SQLSTATE classes of a database that is away or busy, not of a bad row:
# connection exception, transaction rollback (deadlock, serialization),
# insufficient resources, operator intervention, system error, internal error.
_PG_TRANSIENT = ("08", "40", "53", "57", "58", "XX")
_PG_TRANSIENT_STATES = ("55P03", "55006")  # lock not available, object in use


def _maybe(value: Any) -> float | None:
    return None if value is None else float(value)


def _session_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Database:
    """The clinic's tables behind one small API; see the module docstring."""

    def __init__(self, url: str, *, timeout_s: float = 30.0) -> None:
        """``timeout_s``: how long an SQLite write waits for another writer's lock
        (then it is an outage, retried by the collector)."""
        self.url = url
        self.postgres = url.startswith(("postgresql://", "postgres://"))
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        self._pg: Any = None
        self._sqlite: sqlite3.Connection | None = None
        if not self.postgres:
            self.path = Path(url.removeprefix("sqlite:///").removeprefix("sqlite://"))
        blob = "BYTEA" if self.postgres else "BLOB"
        with self.transaction() as conn:
            for sql in SCHEMA:
                conn.execute(sql.replace("{blob}", blob))

    def __repr__(self) -> str:  # never the URL: it may carry a password
        return f"Database({'postgresql' if self.postgres else 'sqlite'})"

    # --- connections -----------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[_Conn]:
        """One transaction: committed on success, rolled back on an exception."""
        if self.postgres:
            with self._lock:
                conn = self._pg_conn()
                try:
                    yield _PgAdapter(conn)
                    conn.commit()
                except BaseException:
                    try:
                        conn.rollback()
                    except Exception:  # a broken connection: a new one next time
                        self._drop_pg()
                    raise
            return
        with self._lock:
            conn = self._sqlite_conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back
                    conn.execute("ROLLBACK")
                raise

    def _sqlite_conn(self) -> sqlite3.Connection:
        # One connection, kept open: closing the last connection of a WAL
        # database checkpoints it, which cost half the collector's time per batch.
        if self._sqlite is None:
            conn = sqlite3.connect(self.path, timeout=self.timeout_s, isolation_level=None,
                                   check_same_thread=False)  # used under self._lock
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._sqlite = conn
        return self._sqlite

    def _pg_conn(self) -> Any:
        import psycopg  # noqa: PLC0415 - only a PostgreSQL clinic needs it

        if self._pg is None or self._pg.closed or self._pg.broken:
            self._drop_pg()
            self._pg = psycopg.connect(self.url, connect_timeout=10)
        return self._pg

    def _drop_pg(self) -> None:
        pg, self._pg = self._pg, None
        if pg is not None:
            with contextlib.suppress(Exception):
                pg.close()

    def is_outage(self, exc: BaseException) -> bool:
        """True when ``exc`` says the database is away or busy (wait, try
        again), False when it refused what was written (a dead letter)."""
        if isinstance(exc, sqlite3.OperationalError | OSError | TimeoutError):
            return True  # locked, disk I/O error, disk full, cannot open the file
        if isinstance(exc, sqlite3.Error):
            return isinstance(exc, sqlite3.InternalError)
        if not self.postgres:
            return False
        import psycopg  # noqa: PLC0415

        if not isinstance(exc, psycopg.Error):
            return False
        state = exc.sqlstate
        if state is None:  # raised by the client: no connection, or a value it refused
            return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)
        return state.startswith(_PG_TRANSIENT) or state in _PG_TRANSIENT_STATES

    def alive(self) -> bool:
        """Whether the database answers now (after a refused row: if it does
        not, that was an outage, not the row)."""
        try:
            self.query("SELECT 1")
        except Exception:
            return False
        return True

    def close(self) -> None:
        with self._lock:
            if self._pg is not None:
                self._pg.close()
                self._pg = None
            if self._sqlite is not None:
                self._sqlite.close()
                self._sqlite = None

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.transaction() as conn:
            rows: list[tuple[Any, ...]] = conn.execute(sql, params).fetchall()
            return rows

    # --- the collector's writes --------------------------------------------------------

    def store(self, records: Sequence[Record], received_at: float | None = None,
              dead: Sequence[DeadLetter] = ()) -> Stored:
        """Store a batch in one transaction; each message at most once; and
        the batch's dead letters."""
        now = time.time() if received_at is None else received_at
        # Rows are locked in one order (by patient; a patient's messages keep
        # their order), so two collectors' transactions wait for each other
        # instead of deadlocking; PostgreSQL gets the batch as one pipeline.
        ordered = sorted(records, key=lambda rec: rec.user)
        with self.transaction() as conn, (conn.pipeline() if isinstance(conn, _PgAdapter)
                                           else contextlib.nullcontext()):
            for user in sorted({rec.user for rec in records}):  # once per batch
                conn.execute(_PATIENT, (user, now))
            cursors = [self._write(conn, rec, now) for rec in ordered]
            for letter in sorted(dead, key=lambda d: d.key):
                conn.execute(_DEAD, (letter.key, letter.topic, letter.payload, letter.size,
                                     letter.reason, now, now))
        new = sum(1 for cur in cursors if cur.rowcount > 0)
        return Stored(new, len(cursors) - new, len(dead))

    @staticmethod
    def _write(conn: _Conn, rec: Record, now: float) -> _Cursor:
        cur: _Cursor
        if rec.kind == "summary":
            period, key = rec.key
            cur = conn.execute(_SUMMARY, (rec.user, period, key, int(rec.final), rec.body, now))
        elif rec.kind == "event":
            cur = conn.execute(_EVENT, (rec.user, *rec.key, rec.body, now))
            if rec.key[1] == CLEARED_EVENT:
                conn.execute(_CLEARED, (now, rec.user, rec.user, *rec.key))
        elif rec.kind == "alert":
            cur = conn.execute(_ALERT, (rec.user, *rec.key, rec.body, now))
        elif rec.kind == "alert_clear":
            cur = conn.execute(_CLEAR, (now, rec.user, now))
        else:
            cur = conn.execute(_STATUS, (rec.body, now, rec.user))
        return cur

    # --- plan requests (the web app) ------------------------------------------------

    def add_plan_request(self, req_id: str, user: str, by: str, payload: str) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT INTO plan_requests (id, user_id, by_name, sent_at, payload) "
                         "VALUES (?, ?, ?, ?, ?)", (req_id, user, by, time.time(), payload))

    def drop_plan_request(self, req_id: str) -> None:
        """Forget a request that never reached the broker."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM plan_requests WHERE id = ? AND reply IS NULL", (req_id,))

    def set_plan_reply(self, req_id: str, user: str, reply: str) -> bool:
        """Store the reply to request ``req_id`` if it was a request to ``user``
        (the patient whose tree the reply came on) and has none yet."""
        with self.transaction() as conn:
            cur = conn.execute("UPDATE plan_requests SET reply = ?, replied_at = ? "
                               "WHERE id = ? AND user_id = ? AND reply IS NULL",
                               (reply, time.time(), req_id, user))
            return bool(cur.rowcount)

    # --- the web app's sessions ----------------------------------------------------------

    def add_session(self, token: str, user: str, password: str, max_age_s: float) -> None:
        now = time.time()
        with self.transaction() as conn:
            conn.execute("DELETE FROM web_sessions WHERE expires_at < ?", (now,))
            conn.execute("INSERT INTO web_sessions (id, user_name, password, created_at, "
                         "expires_at) VALUES (?, ?, ?, ?, ?)",
                         (_session_key(token), user, password, now, now + max_age_s))

    def session(self, token: str) -> tuple[str, str] | None:
        """(user, password fingerprint) of a live session, or None."""
        rows = self.query("SELECT user_name, password FROM web_sessions WHERE id = ? "
                          "AND expires_at >= ?", (_session_key(token), time.time()))
        return (str(rows[0][0]), str(rows[0][1])) if rows else None

    def drop_session(self, token: str) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM web_sessions WHERE id = ?", (_session_key(token),))

    def drop_sessions(self, user: str, keep_password: str | None = None) -> int:
        """End ``user``'s sessions (all, or those not made with ``keep_password``)."""
        with self.transaction() as conn:
            cur = conn.execute("DELETE FROM web_sessions WHERE user_name = ? AND password <> ?",
                               (user, keep_password or ""))
            return int(cur.rowcount)

    # --- API tokens -------------------------------------------------------------------

    def add_token(self, token: ApiToken) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT INTO api_tokens (id, user_name, name, digest, created_at, "
                         "expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                         (token.id, token.user, token.name, token.digest, token.created_at,
                          token.expires_at))

    def tokens(self, token_id: str | None = None) -> list[ApiToken]:
        """Every token (oldest first), or the one named ``token_id``."""
        sql = ("SELECT id, user_name, name, digest, created_at, expires_at, revoked_at, "
               "last_used_at FROM api_tokens")
        rows = (self.query(sql + " WHERE id = ?", (token_id,)) if token_id is not None
                else self.query(sql + " ORDER BY created_at, id"))
        return [ApiToken(str(r[0]), str(r[1]), str(r[2]), str(r[3]), float(r[4]),
                         _maybe(r[5]), _maybe(r[6]), _maybe(r[7])) for r in rows]

    def revoke_token(self, token_id: str, now: float) -> bool:
        """Revoke a token; False if there is none of that id or it was revoked."""
        with self.transaction() as conn:
            cur = conn.execute("UPDATE api_tokens SET revoked_at = ? WHERE id = ? "
                               "AND revoked_at IS NULL", (now, token_id))
            return bool(cur.rowcount)

    def token_used(self, token_id: str, now: float, every_s: float = 60.0) -> None:
        """Note the token's last use (at most one write per ``every_s``)."""
        with self.transaction() as conn:
            conn.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ? AND "
                         "(last_used_at IS NULL OR last_used_at <= ?)",
                         (now, token_id, now - every_s))

    # --- counts (tests, benchmark) -------------------------------------------------------

    def counts(self) -> dict[str, int]:
        out = {}
        for table in ("patients", "summaries", "events", "alerts", "plan_requests",
                      "dead_letters"):
            out[table] = int(self.query(f"SELECT count(*) FROM {table}")[0][0])  # noqa: S608
        return out


class _PgAdapter:
    """psycopg's connection with SQLite's ``?`` placeholders."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._conn.execute(sql.replace("?", "%s"), params)

    def pipeline(self) -> contextlib.AbstractContextManager[Any]:
        """Statements sent without waiting for each result (psycopg's pipeline mode)."""
        cm: contextlib.AbstractContextManager[Any] = self._conn.pipeline()
        return cm

    def commit(self) -> None:
        self._conn.commit()

    def rollback(self) -> None:
        self._conn.rollback()

    def close(self) -> None:
        self._conn.close()
