"""Opening a store to read it only (``pacer report``).

SQLite's read-only mode (URI ``mode=ro``): no migration, no change of journal
mode, nothing written to the file, so a report can read a store it may not
write (a read-only copy or folder, another user's file) and leaves a file that
is not pacer's as it found it.

A WAL file needs its ``-shm`` index beside it, which a reader creates when it
is missing (and, as every WAL reader, may leave with an empty ``-wal``). In a
folder the reader may not write, with no ``-wal`` beside the file, no writer
has it open and every committed write is in the file itself: it is read as
immutable (URI ``immutable=1``), taking no locks. With a ``-wal`` there the
writer's index is shared, read-only, when the files may be read.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from pacer.errors import StoreError
from pacer.store.migrations import MIGRATIONS
from pacer.store.sqlite import BUSY_TIMEOUT_MS, Store

_CANNOT_SHARE = frozenset(("SQLITE_READONLY_DIRECTORY", "SQLITE_CANTOPEN",
                           "SQLITE_READONLY_CANTINIT"))
"""SQLite's errors for a WAL file whose ``-shm`` index it cannot create."""

_TABLE = re.compile(r"^CREATE TABLE (\w+)", re.MULTILINE)


def open_readonly(path: Path | str, *, oldest: int = len(MIGRATIONS)) -> Store:
    """The store at ``path``, opened to read only; its write methods fail.

    The file's schema must be from ``oldest`` (a caller that reads only older
    tables may take older files: released schema scripts are never edited) to
    the newest this pacer knows, with the tables its schema version says.
    Anything else raises ``StoreError`` saying what the file is: missing, not
    an SQLite database, not pacer's, from a newer pacer, or older than
    ``oldest`` (not brought up to date here)."""
    p = Path(path)
    conn = connect_readonly(p)
    try:
        check_schema(conn, p, oldest)
    except BaseException:
        conn.close()
        raise
    return Store(conn, p, clock=_no_clock)


def connect_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection to an existing SQLite file (no schema check)."""
    if not path.is_file():
        raise StoreError(f"{path}: no such store")
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise StoreError(f"cannot read the store {path} ({exc.strerror})") from None
    uri = f"{path.resolve().as_uri()}?mode=ro"
    try:
        return _connect(uri)
    except sqlite3.Error as exc:
        shareable = Path(f"{path}-wal").exists()
        if getattr(exc, "sqlite_errorname", "") not in _CANNOT_SHARE or shareable:
            raise StoreError(_message(path, exc)) from exc
    try:
        return _connect(f"{uri}&immutable=1")
    except sqlite3.Error as exc:
        raise StoreError(_message(path, exc)) from exc


def check_schema(conn: sqlite3.Connection, path: Path, oldest: int) -> None:
    known = len(MIGRATIONS)
    try:
        version: int = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = {name for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.Error as exc:
        raise StoreError(_message(path, exc)) from exc
    if version > known:
        raise StoreError(f"{path} was written by a newer pacer (schema {version}, this one"
                         f" knows {known}); upgrade pacer")
    expected = [name for script in MIGRATIONS[:max(version, 1)]
                for name in _TABLE.findall(script)]
    missing = [name for name in expected if name not in tables]
    if version == 0 or missing:
        why = f"no table {missing[0]}" if missing else "no schema version"
        raise StoreError(f"{path} is an SQLite database but not a pacer store ({why}); "
                         "check --store or [storage] path")
    if version < oldest:
        raise StoreError(
            f"{path} was written by an older pacer (schema {version}; reading it needs"
            f" {oldest}); start this pacer's daemon on it once, which brings it up to date")


def _connect(uri: str) -> sqlite3.Connection:
    conn = sqlite3.connect(uri, uri=True, isolation_level=None)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
        # The first read of the file: a WAL file opens its index here.
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except BaseException:
        conn.close()
        raise
    return conn


def _message(path: Path, exc: sqlite3.Error) -> str:
    text = str(exc)
    if "not a database" in text:
        return f"{path} is not an SQLite database ({text}); check --store or [storage] path"
    if getattr(exc, "sqlite_errorname", "") in _CANNOT_SHARE and Path(f"{path}-wal").exists():
        return (f"cannot read the store {path}: {text} (its write-ahead log is there but"
                " SQLite cannot share its -shm index: let this user read the -wal and -shm"
                " files beside it, or report when pacer has closed the store)")
    return f"cannot read the store {path}: {text}"


def _no_clock() -> float:
    raise StoreError("a store opened read-only writes nothing")
