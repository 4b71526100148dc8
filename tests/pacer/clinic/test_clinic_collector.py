"""The clinic collector against a private mosquitto: shared subscriptions,
exactly-once storage, kills and restarts of collectors and of the broker;
SQLite always, PostgreSQL when it is reachable on 127.0.0.1:5432."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from helpers.clinic import (
    alert_cleared_event,
    day_summary,
    encode,
    patient_day,
    publish_all,
    red_flag_alert,
)
from helpers.daemon import wait_until

from pacer.clinic.collector import Collector
from pacer.clinic.config import load_clinic_config
from pacer.clinic.db import Database
from pacer.clinic.records import Rejected, parse
from pacer.contract.topics import shared_filters
from pacer.mqtt.broker import PrivateBroker

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
DAY = date(2026, 11, 23)


@pytest.fixture
def clinic_broker() -> Iterator[PrivateBroker]:
    # Collectors ack after a commit: queued messages must never be dropped.
    with PrivateBroker(backend="mosquitto",
                       extra_config=["max_queued_messages 0"]) as b:
        yield b


def write_collector_config(tmp: Path, broker: PrivateBroker, client_id: str,
                           database: str = "clinic.sqlite3") -> Path:
    path = tmp / f"{client_id}.toml"
    path.write_text(f"""
database = "{database}"
[mqtt]
url = "{broker.url}"
[collector]
group = "clinic"
client_id = "{client_id}"
batch = 50
""", encoding="utf-8")
    return path


def messages(users: int, days: int = 1) -> list[tuple[str, bytes, bool]]:
    out = []
    for u in range(users):
        for d in range(days):
            out += patient_day(f"u{u:03d}", DAY + timedelta(days=d), events=4)
    return out


def expected(msgs: list[tuple[str, bytes, bool]]) -> tuple[int, int]:
    """(summaries, events) rows the messages make: final and partial share a row."""
    summaries = {(t, json.loads(p)["date"]) for t, p, _ in msgs if "/summary/" in t}
    events = [m for m in msgs if m[0].endswith("/event")]
    return len(summaries), len(events)


# --- records ------------------------------------------------------------------------


def test_records_keys_and_rejections() -> None:
    body = day_summary("alice", DAY, final=False)
    rec = parse("pacer/alice/summary/day", encode(body))
    assert (rec.kind, rec.user, rec.key, rec.final) == ("summary", "alice",
                                                        ("day", "2026-11-23"), False)
    assert parse("pacer/alice/alert", b"").kind == "alert_clear"
    assert parse("pacer/alice/status", b"online").body == "online"
    with pytest.raises(Rejected, match="names user"):
        parse("pacer/bob/summary/day", encode(body))
    with pytest.raises(Rejected, match="not JSON"):
        parse("pacer/alice/event", b"{nope")
    with pytest.raises(Rejected, match="period"):
        parse("pacer/alice/summary/week", encode(body))


def test_summary_final_replaces_partial_never_back(tmp_path: Path) -> None:
    db = Database(str(tmp_path / "c.sqlite3"))
    partial = parse("pacer/a/summary/day", encode(day_summary("a", DAY, final=False,
                                                                steps=100)))
    final = parse("pacer/a/summary/day", encode(day_summary("a", DAY, final=True, steps=200)))
    assert db.store([partial]).new == 1
    assert db.store([final]).new == 1
    assert db.store([partial, final]).duplicates == 2  # late or repeated copies
    rows = db.query("SELECT final, body, versions FROM summaries")
    assert len(rows) == 1
    assert rows[0][0] == 1
    assert json.loads(rows[0][1])["steps"] == 200
    assert rows[0][2] == 2
    alert = parse("pacer/a/alert", encode(red_flag_alert("a", _at())))
    db.store([alert, alert])
    db.store([parse("pacer/a/alert", b"")])
    assert db.query("SELECT count(*), count(cleared_at) FROM alerts") == [(1, 1)]


def _at() -> datetime:
    return datetime(2026, 11, 23, 10, 0).astimezone()


def _clearing(db: Database) -> None:
    """An ``alert_cleared`` event is stored as an event and closes the alerts
    stored before it, whether it or the empty retained alert comes first; a
    second copy of it later does not close an alert raised since."""
    at = _at()
    first = red_flag_alert("a", at, flags=("saddle_numbness",))
    seen = red_flag_alert("a", at, flags=("saddle_numbness",), seen=at + timedelta(hours=2))
    cleared = alert_cleared_event("a", at + timedelta(hours=3), by="jo.physio",
                                  how="physiotherapist", why="seen in clinic",
                                  seen=at + timedelta(hours=2))
    alert = "pacer/a/alert"
    event = parse("pacer/a/event", encode(cleared))
    assert (event.kind, event.key[1]) == ("event", "alert_cleared")
    db.store([parse(alert, encode(first))], received_at=100.0)
    db.store([parse(alert, encode(seen))], received_at=101.0)
    assert db.store([event], received_at=102.0).new == 1
    assert db.query("SELECT count(*), count(cleared_at) FROM alerts") == [(2, 2)]
    assert json.loads(db.query("SELECT body FROM events")[0][0]) == cleared
    db.store([parse(alert, b"")], received_at=103.0)  # the empty retained alert: a no-op now
    later = red_flag_alert("a", at + timedelta(days=1), flags=("fever_or_unwell",))
    db.store([parse(alert, encode(later))], received_at=104.0)
    assert db.store([event], received_at=105.0).duplicates == 1  # redelivered
    open_ = db.query("SELECT body FROM alerts WHERE cleared_at IS NULL")
    assert [json.loads(b)["flags"] for (b,) in open_] == [["fever_or_unwell"]]
    # The empty alert first, then the event: each closes what is open once.
    db.store([parse(alert, b"")], received_at=106.0)
    assert db.query("SELECT count(*) FROM alerts WHERE cleared_at IS NULL") == [(0,)]
    assert db.query("SELECT count(*) FROM alerts WHERE cleared_at = 106.0") == [(1,)]
    again = alert_cleared_event("a", at + timedelta(days=1, hours=1), by="local:pi",
                                how="local", why="phoned", flags=("fever_or_unwell",))
    assert db.store([parse("pacer/a/event", encode(again))], received_at=107.0).new == 1
    assert db.query("SELECT count(*) FROM alerts WHERE cleared_at = 107.0") == [(0,)]


def test_alert_cleared_event_closes_the_alerts_before_it(tmp_path: Path) -> None:
    _clearing(Database(str(tmp_path / "c.sqlite3")))


def test_v1_and_v2_alerts_are_stored_alike(tmp_path: Path) -> None:
    db = Database(str(tmp_path / "c.sqlite3"))
    v1 = parse("pacer/a/alert", encode(red_flag_alert("a", _at(), v=1)))
    v2 = parse("pacer/a/alert", encode(red_flag_alert("a", _at())))
    assert v1.kind == v2.kind == "alert"
    assert v1.key[:2] == v2.key[:2]
    assert v1.key[2] != v2.key[2]  # a different body: a copy of its own
    assert db.store([v1, v2, v1]).new == 2


# --- two collectors sharing one subscription, in one process --------------------------


def _run_pair(tmp: Path, broker: PrivateBroker, database: str, users: int) -> None:
    msgs = messages(users)

    async def main() -> None:
        collectors = []
        for name in ("col-a", "col-b"):
            cfg = load_clinic_config(write_collector_config(tmp, broker, name, database))
            collectors.append(Collector(cfg, Database(cfg.database)))
        tasks = [asyncio.ensure_future(c.run()) for c in collectors]
        deadline = time.monotonic() + 10
        while not all(c._subscribed for c in collectors):
            assert time.monotonic() < deadline, "collectors did not subscribe"
            await asyncio.sleep(0.05)
        sent = await asyncio.to_thread(publish_all, broker.host, broker.port, msgs, clients=3)
        assert sent == len(msgs)
        while sum(c.stats.received for c in collectors) < len(msgs):
            assert time.monotonic() < deadline + 60, [c.stats for c in collectors]
            await asyncio.sleep(0.05)
        for c in collectors:
            c.stop()
        await asyncio.gather(*tasks)
        a, b = (c.stats for c in collectors)
        assert a.received > 0, "the broker did not share the load"
        assert b.received > 0, "the broker did not share the load"
        assert a.received + b.received == len(msgs)  # each message went to one of them
        assert a.rejected == b.rejected == 0

    asyncio.run(main())
    counts = Database(database if "://" in database else str(tmp / database)).counts()
    summaries, events = expected(msgs)
    assert counts["summaries"] == summaries
    assert counts["events"] == events
    assert counts["patients"] == users


def test_two_collectors_share_one_subscription(tmp_path: Path,
                                               clinic_broker: PrivateBroker) -> None:
    _run_pair(tmp_path, clinic_broker, "clinic.sqlite3", users=40)


def test_shared_filters() -> None:
    assert shared_filters("g", "pacer") == [
        "$share/g/pacer/+/summary/#", "$share/g/pacer/+/alert", "$share/g/pacer/+/event",
        "$share/g/pacer/+/status"]


# --- PostgreSQL -----------------------------------------------------------------------


def _postgres_up() -> str | None:
    try:
        import psycopg  # noqa: PLC0415
    except ImportError:
        return "psycopg is not installed (pip install 'pacer-activity[clinic]')"
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            pass
        psycopg.connect(PG_ADMIN, connect_timeout=3).close()
    except (OSError, psycopg.Error) as exc:
        return f"no PostgreSQL on 127.0.0.1:5432 ({exc})"
    return None


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh database for this test, dropped afterwards."""
    why = _postgres_up()
    if why:
        pytest.skip(why)
    import psycopg  # noqa: PLC0415

    name = f"pacer_clinic_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_two_collectors_on_postgresql(tmp_path: Path, clinic_broker: PrivateBroker,
                                      pg_url: str) -> None:
    _run_pair(tmp_path, clinic_broker, pg_url, users=30)


def test_postgresql_dedupes_like_sqlite(pg_url: str) -> None:
    db = Database(pg_url)
    msgs = messages(3)
    recs = [parse(t, p) for t, p, _ in msgs]
    first = db.store(recs)
    again = db.store(recs)
    summaries, events = expected(msgs)
    assert first.new == summaries * 2 + events  # partial, then final replacing it
    assert again.new == 0
    assert again.duplicates == len(recs)
    db.close()


def test_postgresql_alert_cleared_event(pg_url: str) -> None:
    db = Database(pg_url)
    try:
        _clearing(db)
    finally:
        db.close()


# --- kills and restarts -----------------------------------------------------------------


class CollectorProcess:
    def __init__(self, config: Path) -> None:
        self.config = config
        self.log = config.with_suffix(".log")
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "pacer", "clinic", "collect", "--config",
                 str(self.config)], stdout=out, stderr=out,
                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.starts += 1
        want = self.starts
        wait_until(lambda: self.log.read_text().count("collecting for group") >= want, 20,
                   f"collector start {want} subscribed; log:\n{self.log.read_text()}")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(20)


def test_collector_killed_and_broker_restarted_loses_nothing(
        tmp_path: Path, clinic_broker: PrivateBroker) -> None:
    cfg = write_collector_config(tmp_path, clinic_broker, "col-k")
    proc = CollectorProcess(cfg)
    proc.start()
    db = Database(str(tmp_path / "clinic.sqlite3"))
    msgs = messages(60)
    summaries, events = expected(msgs)
    try:
        third = len(msgs) // 3
        publisher = threading.Thread(target=publish_all, args=(
            clinic_broker.host, clinic_broker.port, msgs[:third]), kwargs={"clients": 1,
                                                                          "inflight": 5})
        publisher.start()
        wait_until(lambda: db.counts()["events"] > 10, 30, "some messages stored")
        proc.kill()  # mid-stream: some received, not all acked
        publisher.join()
        publish_all(clinic_broker.host, clinic_broker.port, msgs[third:2 * third])
        proc.start()  # same client id: the broker's session held the rest
        wait_until(lambda: db.counts()["events"] >= 2 * events // 3 - 5, 30,
                   "messages from while it was down")
        clinic_broker.restart()  # SIGTERM: mosquitto saves its sessions
        # mosquitto 2.0 restores the session without its shared subscriptions:
        # the collector subscribes again on reconnecting (collector.py).
        wait_until(lambda: proc.log.read_text().count("collecting for group") > proc.starts,
                   20, "collector subscribed again after the broker restart")
        publish_all(clinic_broker.host, clinic_broker.port, msgs[2 * third:])
        wait_until(lambda: db.counts()["events"] == events
                   and db.counts()["summaries"] == summaries, 60,
                   f"every message stored: {db.counts()} of {summaries}, {events}")
        finals = db.query("SELECT count(*) FROM summaries WHERE final = 1")[0][0]
        assert finals == summaries
    finally:
        proc.stop()
