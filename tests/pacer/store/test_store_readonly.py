"""Opening a store to read it only (``pacer report``): nothing written, no
migration, no change of journal mode, and a clear error for a file that is
missing, foreign, older or newer. Reading as another user, in a folder that
user may not write, is in tests/pacer/report/test_report_cli.py."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from helpers.daemon import journal_mode

from pacer.engine.model import Epoch, Posture
from pacer.errors import StoreError
from pacer.store import Store
from pacer.store.migrations import MIGRATIONS
from pacer.store.readonly import open_readonly
from pacer.store.sqlite import apply_migrations

T0 = 29_000_000  # a minute in 2025


def files(path: Path) -> dict[str, bytes]:
    """The store and every file beside it, by name."""
    return {p.name: p.read_bytes() for p in sorted(path.parent.iterdir())}


def user_version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()
    return version


@pytest.fixture
def path(tmp_path: Path) -> Path:
    p = tmp_path / "pacer.sqlite3"
    with Store.open(p) as s:
        s.commit_minute("alice", Epoch.from_steps(T0, 42), "wrist", [], {"n": 1}, [])
    return p


def test_reads_and_writes_nothing(path: Path) -> None:
    before = path.read_bytes()
    with open_readonly(path) as s:
        assert s.epochs("alice", T0, T0 + 1) == [Epoch(T0, 42, Posture.STEPPING, inferred=True)]
        assert s.load_state("alice") == (T0, {"n": 1})
        with pytest.raises(StoreError, match="readonly"):
            s.commit_minute("alice", Epoch.from_steps(T0 + 1, 1), "wrist", [], {}, [])
    assert path.read_bytes() == before
    assert journal_mode(path) == "wal"
    # A WAL reader may leave the empty -wal and -shm that WAL readers share.
    assert set(files(path)) <= {path.name, f"{path.name}-wal", f"{path.name}-shm"}


def test_sees_what_a_writer_has_committed_but_not_checkpointed(path: Path) -> None:
    with Store.open(path) as writer:
        writer.commit_minute("alice", Epoch.from_steps(T0 + 1, 7), "wrist", [], {"n": 2}, [])
        assert Path(f"{path}-wal").stat().st_size > 0  # still in the log, not in the file
        with open_readonly(path) as reader:
            assert [e.steps for e in reader.epochs("alice", T0, T0 + 2)] == [42, 7]


def test_a_foreign_file_is_left_as_it_was(tmp_path: Path) -> None:
    foreign = tmp_path / "notes.sqlite3"
    conn = sqlite3.connect(foreign)
    with conn:
        conn.execute("CREATE TABLE notes (text TEXT)")
    conn.close()
    before = files(foreign)
    with pytest.raises(StoreError, match=r"is an SQLite database but not a pacer store "
                                         r"\(no table epochs\)"):
        open_readonly(foreign)
    assert files(foreign) == before
    assert journal_mode(foreign) == "delete"


def test_a_file_with_a_version_but_not_the_tables(tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite3"
    conn = sqlite3.connect(other)
    with conn:
        for script in MIGRATIONS[:2]:
            conn.executescript(script)
        conn.execute("DROP TABLE local_requests")
        conn.execute("PRAGMA user_version = 2")
    conn.close()
    with pytest.raises(StoreError, match=r"not a pacer store \(no table local_requests\)"):
        open_readonly(other, oldest=1)


def test_an_older_store_is_not_brought_up_to_date(tmp_path: Path) -> None:
    old = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(old, isolation_level=None)
    apply_migrations(conn, MIGRATIONS[:1], old)
    conn.close()
    with pytest.raises(StoreError, match=(
            rf"was written by an older pacer \(schema 1; reading it needs {len(MIGRATIONS)}\);"
            " start this pacer's daemon on it once")):
        open_readonly(old)
    with open_readonly(old, oldest=1) as s:
        assert s.epochs("alice", T0, T0 + 1) == []
    assert user_version(old) == 1


def test_a_newer_store_is_refused(path: Path) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(StoreError, match=rf"newer pacer \(schema {len(MIGRATIONS) + 1}"):
        open_readonly(path)


def test_not_a_database_or_not_there(tmp_path: Path) -> None:
    text = tmp_path / "minutes.csv"
    text.write_bytes(b"time,steps,posture\n" * 200)
    with pytest.raises(StoreError, match="is not an SQLite database"):
        open_readonly(text)
    assert text.read_bytes() == b"time,steps,posture\n" * 200
    missing = tmp_path / "none.sqlite3"
    with pytest.raises(StoreError, match="no such store"):
        open_readonly(missing)
    assert list(tmp_path.iterdir()) == [text]
