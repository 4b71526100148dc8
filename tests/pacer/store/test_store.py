"""The SQLite store, against real files: schema migrations, atomic minute and
command writes, the outbox, readers, and surviving a killed process."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from pacer.engine.model import Dropped, Epoch, Outcome, Output, Posture, Prompt
from pacer.errors import StoreError, StoreFolderMissing
from pacer.store import OutboxMessage, PublishedSummary, Store
from pacer.store.migrations import MIGRATIONS
from pacer.store.sqlite import apply_migrations

T0 = 29_000_000  # a minute in 2025
TABLES = {
    "epochs", "prompts", "outcomes", "summaries", "engine_state", "outbox", "dead_letters",
    "commands", "events",
}


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "pacer.sqlite3"


@pytest.fixture
def store(path: Path) -> Iterator[Store]:
    with Store.open(path, clock=lambda: 1_750_000_000.0) as s:
        yield s


def prompt(pid: str, time: int, kind: Any = "sitting_break") -> Prompt:
    return Prompt(
        id=pid, kind=kind, level="nudge", time=time, expires=time + 15, title="Time to stand",
        text="You have been sitting a while.", actions=("done", "snooze"),
        reason=MappingProxyType({"bout_min": 40, "limit_min": 40, "repeat": 0}),
    )


def msg(topic: str = "pacer/alice/prompt", expires_at: float | None = None) -> OutboxMessage:
    return OutboxMessage(topic, b'{"v":1}', expires_at=expires_at, msg_id=f"m-{topic}")


def raw(path: Path) -> sqlite3.Connection:
    """A plain connection, to look at the file without the Store."""
    return sqlite3.connect(path)


def count(path: Path, table: str) -> int:
    with raw(path) as conn:
        n: int = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    return n


# --- opening and migrations ----------------------------------------------------------


def test_new_file_gets_every_migration(path: Path) -> None:
    Store.open(path).close()
    with raw(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert names >= TABLES


def test_reopening_keeps_data(path: Path) -> None:
    with Store.open(path) as s:
        s.commit_minute("alice", Epoch.from_steps(T0, 42), "wrist", [], {"n": 1}, [msg()])
    with Store.open(path) as s:
        assert s.epochs("alice", T0, T0 + 1) == [Epoch(T0, 42, Posture.STEPPING, inferred=True)]
        assert s.load_state("alice") == (T0, {"n": 1})
        assert len(s.outbox_pending()) == 1
    with raw(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


def test_newer_schema_is_refused(path: Path) -> None:
    Store.open(path).close()
    with raw(path) as conn:
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    expected = (
        f"was written by a newer pacer \\(schema {len(MIGRATIONS) + 1}, this one knows"
        f" {len(MIGRATIONS)}\\); upgrade pacer"
    )
    with pytest.raises(StoreError, match=expected):
        Store.open(path)


def test_not_a_database_gives_store_error(path: Path) -> None:
    path.write_bytes(b"time,steps,posture\n" * 200)
    with pytest.raises(StoreError, match="is not an SQLite database") as info:
        Store.open(path)
    assert isinstance(info.value.__cause__, sqlite3.DatabaseError)
    assert path.read_bytes() == b"time,steps,posture\n" * 200  # left alone


def test_missing_directory_is_bad_input_with_hint(tmp_path: Path) -> None:
    # A mistyped path: bad input (exit 2, no systemd restart), not a store failure.
    folder = tmp_path / "no" / "such" / "dir"
    with pytest.raises(StoreFolderMissing, match=f"the folder {folder} does not exist; create"):
        Store.open(folder / "pacer.sqlite3")
    assert not (tmp_path / "no").exists()


def test_failed_migration_rolls_back_and_retries(path: Path) -> None:
    good = "CREATE TABLE a (x INTEGER);\n"
    bad = "CREATE TABLE b (x INTEGER);\nINSERT INTO no_such_table VALUES (1);\n"
    conn = sqlite3.connect(path, isolation_level=None)
    with pytest.raises(StoreError, match="cannot upgrade the store to schema 2"):
        apply_migrations(conn, (good, bad), path)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"a"}  # script 1 kept, none of script 2
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    conn.execute("INSERT INTO a VALUES (7)")

    fixed = "CREATE TABLE b (x INTEGER);\nINSERT INTO b SELECT x FROM a;\n"
    apply_migrations(conn, (good, fixed), path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    assert conn.execute("SELECT x FROM b").fetchall() == [(7,)]
    conn.close()


def test_wal_and_durability_settings_are_on(store: Store, path: Path) -> None:
    with raw(path) as conn:  # journal mode is a property of the file
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn = store._conn  # the others are per connection
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] > 0


def test_closed_store_raises_store_error(path: Path) -> None:
    s = Store.open(path)
    s.close()
    s.close()  # twice is fine
    with pytest.raises(StoreError):
        s.last_minute("alice")
    with pytest.raises(StoreError):
        s.outbox_done(1)


# --- commit_minute -------------------------------------------------------------------


def test_commit_minute_writes_everything(store: Store) -> None:
    outputs: list[Output | PublishedSummary] = [
        prompt("p1", T0),
        Outcome("p0", "sitting_break", "taken", T0, latency_min=3),
        PublishedSummary("day", "2025-02-19", False, T0,
                         MappingProxyType({"steps": 5, "plan": {"q": 1}})),
        Dropped("walk_reminder", T0, "do not disturb"),
    ]
    store.commit_minute("alice", Epoch.from_steps(T0, 0), "wrist", outputs, {"k": [1, 2]}, [msg()])

    assert store.epochs("alice", T0, T0 + 1) == [Epoch(T0, 0, Posture.SEDENTARY, inferred=True)]
    [p] = store.prompts("alice")
    assert p == {
        "id": "p1", "kind": "sitting_break", "level": "nudge", "time": T0, "expires": T0 + 15,
        "title": "Time to stand", "text": "You have been sitting a while.",
        "actions": ["done", "snooze"], "reason": {"bout_min": 40, "limit_min": 40, "repeat": 0},
    }
    assert store.outcomes("alice") == [Outcome("p0", "sitting_break", "taken", T0, 3, False)]
    assert store.summaries("alice", "day") == [{"steps": 5, "plan": {"q": 1}}]
    assert store.load_state("alice") == (T0, {"k": [1, 2]})
    assert store.outbox_pending() == [(1, msg())]
    assert store.last_minute("alice") == T0


def test_duplicate_minute_raises_and_writes_nothing(store: Store, path: Path) -> None:
    store.commit_minute("alice", Epoch.from_steps(T0, 10), "wrist", [prompt("p1", T0)],
                        {"v": "first"}, [msg("first")])
    with pytest.raises(StoreError, match=r"already stored .* must never be fed twice"):
        store.commit_minute("alice", Epoch.from_steps(T0, 99), "thigh", [prompt("p2", T0)],
                            {"v": "second"}, [msg("second")])
    assert store.epochs("alice", T0, T0 + 1) == [Epoch(T0, 10, Posture.UPRIGHT, inferred=True)]
    assert [p["id"] for p in store.prompts("alice")] == ["p1"]
    assert store.load_state("alice") == (T0, {"v": "first"})
    assert [m.topic for _, m in store.outbox_pending()] == ["first"]


def test_failure_midway_rolls_back_the_whole_minute(store: Store, path: Path) -> None:
    store.commit_minute("alice", Epoch.from_steps(T0, 10), "wrist", [prompt("p1", T0)],
                        {"v": "first"}, [])
    # The epoch and outcome are written before the reused prompt id fails.
    outputs: list[Output] = [
        Outcome("p1", "sitting_break", "ignored", T0 + 1), prompt("p1", T0 + 1)
    ]
    with pytest.raises(StoreError, match="UNIQUE") as info:
        store.commit_minute("alice", Epoch.from_steps(T0 + 1, 5), "wrist", outputs,
                            {"v": "second"}, [msg()])
    assert isinstance(info.value.__cause__, sqlite3.IntegrityError)
    assert store.last_minute("alice") == T0
    assert store.outcomes("alice") == []
    assert store.load_state("alice") == (T0, {"v": "first"})
    assert store.outbox_pending() == []
    assert count(path, "prompts") == 1


def test_unserialisable_state_writes_nothing(store: Store) -> None:
    with pytest.raises(TypeError, match="not JSON serialisable"):
        store.commit_minute("alice", Epoch.from_steps(T0, 1), "wrist", [prompt("p1", T0)],
                            {"when": object()}, [msg()])
    assert store.last_minute("alice") is None
    assert store.prompts("alice") == []
    assert store.outbox_pending() == []


def test_every_posture_is_kept_as_it_came(store: Store) -> None:
    # v2: lying and not-worn minutes are their own postures, and a step-derived
    # minute keeps its inferred flag whatever its posture.
    epochs = [Epoch(T0, 0, Posture.LYING), Epoch.not_worn(T0 + 1), Epoch.unknown(T0 + 2),
              Epoch(T0 + 3, 0, Posture.SEDENTARY), Epoch.from_steps(T0 + 4, 0),
              Epoch.from_steps(T0 + 5, 30)]
    for e in epochs:
        store.commit_minute("alice", e, "thigh", [], {"m": e.start}, [])
    assert store.epochs("alice", T0, T0 + len(epochs)) == epochs


def test_users_are_kept_apart(store: Store) -> None:
    for user, steps in (("alice", 1), ("bob", 2)):
        epoch = Epoch.from_steps(T0, steps)
        store.commit_minute(user, epoch, "w", [prompt("p1", T0)], {"u": user}, [])
    assert store.epochs("alice", T0, T0 + 1) == [Epoch(T0, 1, Posture.UPRIGHT, inferred=True)]
    assert store.epochs("bob", T0, T0 + 1) == [Epoch(T0, 2, Posture.UPRIGHT, inferred=True)]
    assert store.load_state("bob") == (T0, {"u": "bob"})
    assert store.last_minute("carol") is None
    assert store.load_state("carol") is None


# --- readers -------------------------------------------------------------------------


def test_epochs_range_is_half_open(store: Store) -> None:
    for m in range(T0, T0 + 5):
        store.commit_minute("alice", Epoch.unknown(m), "replay", [], {}, [])
    assert [e.start for e in store.epochs("alice", T0 + 1, T0 + 3)] == [T0 + 1, T0 + 2]
    assert store.epochs("alice", T0 + 5, T0 + 9) == []
    assert store.last_minute("alice") == T0 + 4


def test_prompts_by_time_in_sending_order(store: Store) -> None:
    store.commit_minute("alice", Epoch.unknown(T0), "w",
                        [prompt("z-red", T0, "red_flag"), prompt("a-sit", T0)], {}, [])
    store.commit_minute("alice", Epoch.unknown(T0 + 1), "w", [prompt("b", T0 + 1)], {}, [])
    assert [p["id"] for p in store.prompts("alice")] == ["z-red", "a-sit", "b"]
    assert [p["id"] for p in store.prompts("alice", start=T0 + 1)] == ["b"]
    assert [p["id"] for p in store.prompts("alice", end=T0 + 1)] == ["z-red", "a-sit"]


def test_later_outcome_replaces_earlier(store: Store) -> None:
    snoozed = Outcome("p1", "sitting_break", "snoozed", T0)
    taken = Outcome("p1", "sitting_break", "taken", T0 + 20, latency_min=20, self_reported=True)
    store.commit_minute("alice", Epoch.unknown(T0), "w", [snoozed], {}, [])
    store.commit_minute("alice", Epoch.unknown(T0 + 20), "w", [taken], {}, [])
    assert store.outcomes("alice") == [taken]


def test_summaries_replaced_and_ranged_by_key(store: Store) -> None:
    days = ["2025-02-18", "2025-02-19", "2025-02-20"]
    for i, day in enumerate(days):
        s = PublishedSummary("day", day, False, T0 + i, {"date": day, "final": False})
        store.commit_minute("alice", Epoch.unknown(T0 + i), "w", [s], {}, [])
    final = PublishedSummary("day", days[1], True, T0 + 10, {"date": days[1], "final": True})
    week = PublishedSummary("week", "2025-W08", True, T0 + 10, {"week": "2025-W08"})
    store.commit_minute("alice", Epoch.unknown(T0 + 10), "w", [final, week], {}, [])

    assert [s["final"] for s in store.summaries("alice", "day")] == [False, True, False]
    assert store.summaries("alice", "day", key_from=days[1], key_to=days[1]) == [
        {"date": days[1], "final": True}
    ]
    assert [s["date"] for s in store.summaries("alice", "day", key_from=days[1])] == days[1:]
    assert [s["date"] for s in store.summaries("alice", "day", key_to=days[1])] == days[:2]
    assert store.summaries("alice", "week") == [{"week": "2025-W08"}]


def test_state_round_trip_and_replacement(store: Store) -> None:
    state = {"plan": {"quota": 4000, "phase": "baseline"}, "bout": None, "days": [1.5, 2],
             "ok": True}
    store.commit_minute("alice", Epoch.unknown(T0), "w", [], state, [])
    assert store.load_state("alice") == (T0, state)
    store.commit_minute("alice", Epoch.unknown(T0 + 1), "w", [], {"plan": {}}, [])
    assert store.load_state("alice") == (T0 + 1, {"plan": {}})


# --- commit_command ------------------------------------------------------------------


def test_commit_command_records_event_reply_and_state(store: Store) -> None:
    store.commit_minute("alice", Epoch.unknown(T0), "w", [], {"v": 0}, [])
    red = prompt("r1", T0, "red_flag")
    store.commit_command("alice", 1_750_000_030.5, "symptom", {"level": "red"}, [red],
                         {"v": 1}, T0, [msg("pacer/alice/reply")], cmd_id="c1",
                         reply={"ok": True})
    assert store.events("alice") == [(1_750_000_030.5, "symptom", {"level": "red"})]
    assert store.command_reply("alice", "c1") == {"ok": True}
    assert store.command_reply("alice", "c2") is None
    assert store.command_reply("bob", "c1") is None
    assert store.load_state("alice") == (T0, {"v": 1})
    assert [p["id"] for p in store.prompts("alice")] == ["r1"]
    assert [m.topic for _, m in store.outbox_pending()] == ["pacer/alice/reply"]


def test_rejected_command_keeps_state(store: Store) -> None:
    store.commit_minute("alice", Epoch.unknown(T0), "w", [], {"v": 0}, [])
    reply = {"ok": False, "error": "unknown red flag"}
    store.commit_command("alice", 1.0, "command_rejected", {"topic": "cmd/symptom"}, [], None,
                         None, [], cmd_id="c1", reply=reply)
    assert store.load_state("alice") == (T0, {"v": 0})
    assert store.command_reply("alice", "c1") == reply


def test_duplicate_command_id_raises_and_writes_nothing(store: Store) -> None:
    store.commit_command("alice", 1.0, "ack", {"action": "done"}, [], {"v": 1}, T0, [],
                         cmd_id="c1", reply={"ok": True})
    with pytest.raises(StoreError, match="cannot store command 'ack'"):
        store.commit_command("alice", 2.0, "ack", {"action": "done"}, [prompt("p", T0)],
                             {"v": 2}, T0, [msg()], cmd_id="c1", reply={"ok": True})
    assert len(store.events("alice")) == 1
    assert store.load_state("alice") == (T0, {"v": 1})
    assert store.prompts("alice") == []
    assert store.outbox_pending() == []


def test_commit_command_argument_pairs_are_checked(store: Store) -> None:
    with pytest.raises(ValueError, match="state and state_minute"):
        store.commit_command("alice", 1.0, "dnd", {}, [], {"v": 1}, None, [])
    with pytest.raises(ValueError, match="needs the reply"):
        store.commit_command("alice", 1.0, "dnd", {}, [], None, None, [], cmd_id="c1")


# --- outbox --------------------------------------------------------------------------


def test_outbox_pending_is_oldest_first_across_users(store: Store) -> None:
    store.commit_minute("alice", Epoch.unknown(T0), "w", [], {}, [msg("a1"), msg("a2")])
    seqs = store.outbox_append("bob", [msg("b1")])
    assert seqs == [3]
    pending = store.outbox_pending()
    assert [(seq, m.topic) for seq, m in pending] == [(1, "a1"), (2, "a2"), (3, "b1")]
    assert [seq for seq, _ in store.outbox_pending(limit=2)] == [1, 2]
    assert [seq for seq, _ in store.outbox_pending(after=2)] == [3]


def test_outbox_keeps_message_fields(store: Store, path: Path) -> None:
    m = OutboxMessage("pacer/alice/summary/day", b"\x00\xffbytes", qos=2, retain=True,
                      expires_at=1_750_000_100.25, msg_id="abc")
    [seq] = store.outbox_append("alice", [m])
    assert store.outbox_pending() == [(seq, m)]
    with raw(path) as conn:
        assert conn.execute("SELECT user, created_at FROM outbox").fetchone() == (
            "alice", 1_750_000_000.0
        )


def test_outbox_done_removes_once(store: Store) -> None:
    s1, s2 = store.outbox_append("alice", [msg("a"), msg("b")])
    assert store.outbox_done(s1) is True
    assert store.outbox_done(s1) is False
    assert [seq for seq, _ in store.outbox_pending()] == [s2]


def test_outbox_dead_moves_to_dead_letters(store: Store) -> None:
    s1, s2 = store.outbox_append("alice", [msg("a"), msg("b")])
    assert store.outbox_dead(s1, "0x87 Not authorized") is True
    assert store.outbox_dead(s1, "again") is False
    assert [seq for seq, _ in store.outbox_pending()] == [s2]
    assert store.dead_letters() == [(s1, msg("a"), "0x87 Not authorized")]


def test_outbox_drop_expired(store: Store) -> None:
    store.outbox_append("alice", [msg("old", 100.0), msg("edge", 200.0), msg("later", 300.0),
                                  msg("forever")])
    assert store.outbox_drop_expired(200.0) == 2
    assert [m.topic for _, m in store.outbox_pending()] == ["later", "forever"]
    assert store.outbox_drop_expired(200.0) == 0


def test_seq_is_not_reused_after_done(store: Store) -> None:
    [s1] = store.outbox_append("alice", [msg("a")])
    store.outbox_done(s1)
    [s2] = store.outbox_append("alice", [msg("b")])
    assert s2 > s1  # a late PUBACK for s1 must not delete s2


def test_outbox_message_checks_qos() -> None:
    with pytest.raises(ValueError, match="qos must be 0, 1 or 2"):
        OutboxMessage("t", b"", qos=3)


# --- crashes -------------------------------------------------------------------------


def test_abandoned_connection_leaves_committed_data(path: Path) -> None:
    first = Store.open(path)
    first.commit_minute("alice", Epoch.from_steps(T0, 30), "wrist", [prompt("p1", T0)],
                        {"v": 1}, [msg()])
    # No close: a second daemon (after a crash) opens the same file.
    with Store.open(path) as second:
        assert second.last_minute("alice") == T0
        assert second.load_state("alice") == (T0, {"v": 1})
        assert len(second.outbox_pending()) == 1
        second.commit_minute("alice", Epoch.from_steps(T0 + 1, 0), "wrist", [], {"v": 2}, [])
    assert first.load_state("alice") == (T0 + 1, {"v": 2})
    first.close()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_killed_process_leaves_committed_data(path: Path) -> None:
    script = textwrap.dedent(f"""
        import os, signal
        from pacer.engine.model import Epoch
        from pacer.store import OutboxMessage, Store
        s = Store.open({str(path)!r})
        s.commit_minute("alice", Epoch.from_steps({T0}, 25), "wrist", [], {{"v": 1}},
                        [OutboxMessage("pacer/alice/prompt", b"x", msg_id="m1")])
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, check=False)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()
    with Store.open(path) as s:
        assert s.epochs("alice", T0, T0 + 1) == [Epoch(T0, 25, Posture.STEPPING, inferred=True)]
        assert s.load_state("alice") == (T0, {"v": 1})
        assert [m.msg_id for _, m in s.outbox_pending()] == ["m1"]


def test_the_daemon_syncs_every_commit_and_a_batch_replay_need_not(tmp_path: Path) -> None:
    # PRAGMA synchronous: 2 = FULL (each commit on disk), 1 = NORMAL (WAL-safe).
    with Store.open(tmp_path / "daemon.sqlite3") as store:
        assert store._conn.execute("PRAGMA synchronous").fetchone() == (2,)
    with Store.open(tmp_path / "batch.sqlite3", durable=False) as store:
        assert store._conn.execute("PRAGMA synchronous").fetchone() == (1,)
        assert store._conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
