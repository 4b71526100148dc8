"""Hostile accounts and poison messages against the clinic (issue 19), with
the shipped mosquitto config and ACLs (tests/helpers/clinic_broker.py), the real
collector, SQLite and PostgreSQL, and the real web app:

- another account joining the collectors' shared subscription takes nothing
  from the clinic (items 1);
- a message that cannot be parsed or stored is a dead letter and never stops
  the other patients' messages; only a database outage is retried (item 2);
- the phone's account cannot publish what the daemon vouches for, and a
  plan reply counts only from the plan's own patient (item 10).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sqlite3
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers.clinic import (
    day_summary,
    encode,
    outcome_event,
    patient_day,
    red_flag_alert,
)
from helpers.clinic_broker import (
    NOT_AUTHORIZED,
    Client,
    RunningCollector,
    ShippedBroker,
    clinic_config,
    shipped_broker,
)
from helpers.daemon import wait_until
from paho.mqtt.reasoncodes import ReasonCode
from starlette.testclient import TestClient
from test_clinic_collector import pg_url  # noqa: F401 - a fixture
from test_clinic_web import NAME, PASSWORD, _plan, _sign_in

from pacer.clinic import auth
from pacer.clinic.db import Database
from pacer.clinic.records import parse
from pacer.clinic.views import patient_list
from pacer.clinic.web import create_app
from pacer.contract.topics import PERSON_COMMANDS

DAY = date(2026, 11, 23)
AT = datetime(2026, 11, 23, 10, 0).astimezone()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[ShippedBroker]:
    with shipped_broker(tmp_path / "broker") as b:
        yield b


def _send_all(broker: ShippedBroker, user: str,
              messages: list[tuple[str, bytes, bool]]) -> None:
    daemon = Client(broker, user)
    try:
        for topic, payload, retain in messages:
            rc = daemon.publish(topic, payload, retain=retain)
            assert not rc.is_failure, (topic, rc)
    finally:
        daemon.close()


def _counts(db: Database) -> dict[str, int]:
    return db.counts()


# --- item 1: the collectors' shared subscription is closed to other accounts -----------


def test_other_accounts_joining_the_shared_group_take_nothing(
        tmp_path: Path, broker: ShippedBroker) -> None:
    """alice (her daemon's account, and her phone's) subscribes to the shared
    subscriptions a collector of group "clinic" would use: the collector
    still stores every one of bob's summaries, alerts and events, and alice
    receives none of them."""
    config = clinic_config(tmp_path, broker)
    filters = [f"$share/clinic/pacer/+/{leaf}" for leaf in ("summary/#", "alert", "event")]
    filters += [f"$share/{g}/pacer/+/{leaf}" for g in ("clinic-1", "physio", "pacer")
                for leaf in ("summary/#", "alert", "event")]
    probe = "pacer/alice/cli/probe"
    with RunningCollector(config) as running:
        nosy = [Client(broker, "alice", topics=[*filters, probe]),
                Client(broker, "alice", phone=True, topics=filters)]
        try:
            days = [DAY - timedelta(days=i) for i in range(10)]
            msgs = [("pacer/bob/summary/day", encode(day_summary("bob", d)), True)
                    for d in days]
            msgs += [("pacer/bob/alert", encode(red_flag_alert("bob", AT + timedelta(hours=i))),
                      True) for i in range(10)]
            msgs += [("pacer/bob/event", encode(outcome_event(
                "bob", AT + timedelta(minutes=i), i)), False) for i in range(10)]
            _send_all(broker, "bob", msgs)
            db = Database(config.database)
            wait_until(lambda: (_counts(db)["summaries"], _counts(db)["alerts"],
                                _counts(db)["events"]) == (10, 10, 10), 20,
                       lambda: f"all of bob's messages stored: {_counts(db)}, "
                               f"{running.collector.stats}")
            # A round trip on alice's connection: whatever the broker sent her
            # before it has arrived by now.
            assert not nosy[0].publish(probe, b"probe").is_failure
            nosy[0].wait_for(lambda m: m.topic == probe, "probe back")
            for client in nosy:
                leaked = client.received(lambda m: m.topic.startswith("pacer/bob/"))
                assert leaked == [], [m.topic for m in leaked]
            assert running.collector.stats.received == len(msgs)
        finally:
            for client in nosy:
                client.close()


# --- item 2: poison messages are dead letters; only an outage is retried ---------------


def _poison() -> list[tuple[str, bytes, bool, str]]:
    """(topic, payload, retain, what) of messages that stopped the clinic."""
    time = AT.isoformat()
    deep = (b'{"v":1,"type":"summary","period":"day","date":"2026-11-23","x":'
            + b"[" * 100_000 + b"]" * 100_000 + b"}")
    summary = day_summary("mallory", DAY)
    surrogate_summary = json.dumps(summary).replace('"Australia/Sydney"', '"\\udcff"')
    return [
        ("pacer/mallory/summary/day", deep, True, "nested 100,000 deep"),
        ("pacer/mallory/event", ('{"v":1,"type":"outcome","time":"' + time
                                 + '","note":"\\ud800"}').encode(), False,
         "a lone surrogate in an event"),
        ("pacer/mallory/summary/day", surrogate_summary.encode(), True,
         "a surrogate in a summary"),
        ("pacer/mallory/event", ('{"v":1,"type":"plan_changed","time":"' + time
                                 + '","by":"x","why":"a\\u0000b"}').encode(), False,
         "a NUL in a text field"),
        ("pacer/mallory/event", json.dumps({"v": 1, "type": "outcome",
                                            "time": time + "0" * 100_000}).encode(), False,
         "a 100 KB time"),
        ("pacer/mallory/summary/day", encode({**summary, "steps": "many"}), True,
         "steps as a word"),
        ("pacer/mallory/alert", json.dumps({**red_flag_alert("mallory", AT),
                                            "flags": [float("nan")]}).encode(), True,
         "an alert with NaN"),
    ]


def _good() -> list[tuple[str, bytes, bool]]:
    out: list[tuple[str, bytes, bool]] = []
    for user in ("alice", "bob", "carol"):
        out += patient_day(user, DAY, events=4)
    return out


def _poison_stops_nothing(tmp_path: Path, broker: ShippedBroker, database: str) -> None:
    config = clinic_config(tmp_path, broker, database=database)
    poison = _poison()
    good = _good()
    with RunningCollector(config) as running:
        _send_all(broker, "mallory", [(t, p, r) for t, p, r, _ in poison])
        for user in ("alice", "bob", "carol"):
            _send_all(broker, user, [m for m in good if m[0].startswith(f"pacer/{user}/")])
        db = Database(config.database)
        try:
            wait_until(lambda: running.collector.stats.received >= len(poison) + len(good)
                       or not running.alive, 30,
                       lambda: f"every message taken: {running.collector.stats}")
            assert running.alive, f"the collector stopped: {running.error!r}"
            counts = db.counts()
            assert counts["events"] == 12
            assert counts["summaries"] == 3
            assert counts["dead_letters"] == len(poison)
            assert running.collector.stats.dead_letters == len(poison)
            assert db.query("SELECT count(*) FROM summaries WHERE user_id = 'mallory'") \
                == [(0,)]
            rows = db.query("SELECT topic, reason, size FROM dead_letters ORDER BY first_at")
            assert sorted(r[0] for r in rows) == sorted(p[0] for p in poison)
            assert all(r[1] for r in rows)
            assert sorted(r[2] for r in rows) == sorted(len(p[1]) for p in poison)
            # The collector takes more after them, poison or not.
            _send_all(broker, "mallory", [(t, p, r) for t, p, r, _ in poison[:2]])
            _send_all(broker, "alice", patient_day("alice", DAY + timedelta(days=1),
                                                    events=2))
            wait_until(lambda: db.counts()["events"] == 14, 20, "alice's next day")
            assert running.alive
            copies = db.query("SELECT sum(copies) FROM dead_letters")[0][0]
            assert copies == len(poison) + 2
        finally:
            db.close()


def test_poison_messages_are_dead_letters_sqlite(tmp_path: Path,
                                                 broker: ShippedBroker) -> None:
    _poison_stops_nothing(tmp_path, broker, "clinic.sqlite3")


def test_poison_messages_are_dead_letters_postgresql(tmp_path: Path, broker: ShippedBroker,
                                                     pg_url: str) -> None:  # noqa: F811
    _poison_stops_nothing(tmp_path, broker, pg_url)


def test_a_sqlite_outage_is_retried_and_nothing_dead_lettered(
        tmp_path: Path, broker: ShippedBroker) -> None:
    config = clinic_config(tmp_path, broker)
    db = Database(config.database, timeout_s=0.05)
    with RunningCollector(config, db) as running:
        running.collector.retry_s = (0.05, 0.2)
        # Another process holds the write lock: "database is locked".
        blocker = sqlite3.connect(config.database, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        try:
            _send_all(broker, "alice", patient_day("alice", DAY, events=4))
            wait_until(lambda: running.collector.stats.outages >= 3, 20,
                       lambda: f"retries while locked: {running.collector.stats}")
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        reader = Database(config.database)
        wait_until(lambda: reader.counts()["events"] == 4, 20, "stored once unlocked")
        assert reader.counts()["dead_letters"] == 0
        assert running.collector.stats.dead_letters == 0
        reader.close()


def test_a_postgresql_outage_is_retried_and_nothing_dead_lettered(
        tmp_path: Path, broker: ShippedBroker, pg_url: str) -> None:  # noqa: F811
    import psycopg  # noqa: PLC0415

    config = clinic_config(tmp_path, broker, database=pg_url)
    name = pg_url.rsplit("/", 1)[1]
    admin_url = pg_url.rsplit("/", 1)[0] + "/postgres"
    with RunningCollector(config) as running:
        running.collector.retry_s = (0.05, 0.2)
        reader = Database(pg_url)
        _send_all(broker, "alice", patient_day("alice", DAY, events=2))
        wait_until(lambda: reader.counts()["events"] == 2, 20, "the first day stored")
        reader.close()
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = %s", (name,))
            try:
                _send_all(broker, "bob", patient_day("bob", DAY, events=3))
                wait_until(lambda: running.collector.stats.outages >= 3, 20,
                           lambda: f"retries while down: {running.collector.stats}")
            finally:
                admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        reader = Database(pg_url)
        wait_until(lambda: reader.counts()["events"] == 5, 30, "stored once back")
        assert reader.counts()["dead_letters"] == 0
        assert running.collector.stats.dead_letters == 0
        assert running.alive
        reader.close()


# --- item 10: only the daemon's account speaks for the patient --------------------------


def test_the_phone_account_cannot_publish_what_the_daemon_vouches_for(
        tmp_path: Path, broker: ShippedBroker) -> None:
    config = clinic_config(tmp_path, broker)
    with RunningCollector(config) as running:
        db = Database(config.database)
        _send_all(broker, "alice", [("pacer/alice/alert", encode(red_flag_alert("alice", AT)),
                                     True)])
        wait_until(lambda: db.counts()["alerts"] == 1, 20, "alice's red flag stored")
        phone = Client(broker, "alice", phone=True, topics=["pacer/alice/#"])
        try:
            forged = {"v": 1, "type": "plan_changed", "user": "alice", "time": AT.isoformat(),
                      "by": "physio-jo", "why": "forged", "set": {"plan.quota": 20000}}
            refused = {
                "pacer/alice/alert": b"",
                "pacer/alice/event": encode(forged),
                "pacer/alice/summary/day": encode(day_summary("alice", DAY)),
                "pacer/alice/state": b"{}",
                "pacer/alice/status": b"offline",
                "pacer/alice/prompt": b"{}",
                "pacer/alice/reply/clinic-web": b'{"ok": true}',
                "pacer/alice/cmd/plan": b'{"by": "physio-jo", "why": "x", "set": {}}',
                "pacer/bob/cmd/ack": b"{}",
            }
            for topic, payload in refused.items():
                rc = phone.publish(topic, payload, retain=topic.endswith(("alert", "status")))
                assert rc.value == NOT_AUTHORIZED, (topic, rc)
            for kind in PERSON_COMMANDS:  # what the app sends, "I'm up" and the rest
                assert not phone.publish(f"pacer/alice/cmd/{kind}", b"{}").is_failure, kind
                assert phone.publish(f"pacer/bob/cmd/{kind}", b"{}").value == NOT_AUTHORIZED
        finally:
            phone.close()
        # The phone's password opens no MQTT listener, the daemon's no websockets one.
        for password, phone_listener in (("alice phone pw 5", False),
                                         ("alice-daemon-pw-1", True)):
            wrong = Client(broker, "alice", password, phone=phone_listener, check=False)
            assert isinstance(wrong.refusal(), ReasonCode), password
            wrong.close()
        # A barrier from the daemon: the collector has taken all before it.
        _send_all(broker, "alice", [("pacer/alice/status", b"online", True)])
        wait_until(lambda: db.query("SELECT status FROM patients") == [("online",)], 20,
                   "alice's status")
        assert db.query("SELECT count(*) FROM alerts WHERE cleared_at IS NULL") == [(1,)]
        assert db.counts()["events"] == 0
        (row,) = patient_list(db, config.clinic)
        assert row.attention == "emergency red flag"
        assert running.alive
        db.close()


class Responder:
    """bob's daemon: holds each plan change until told to answer it."""

    def __init__(self, broker: ShippedBroker, user: str) -> None:
        self.user = user
        self.client = Client(broker, user, topics=[f"pacer/{user}/cmd/plan"])

    def answer(self, reply: dict[str, Any]) -> None:
        (cmd,) = self.client.received()
        self.client.publish(f"pacer/{self.user}/reply/clinic-web", json.dumps(reply),
                            correlation=json.loads(cmd.payload)["id"].encode())


def test_a_plan_reply_counts_only_from_the_plan_s_own_patient(
        tmp_path: Path, broker: ShippedBroker) -> None:
    config = clinic_config(tmp_path, broker)
    auth.set_password(config.web.users_file, NAME, PASSWORD)
    db = Database(config.database)
    db.store([parse("pacer/bob/status", b"online")])
    bob = Responder(broker, "bob")
    alice = Client(broker, "alice")
    try:
        with TestClient(create_app(config, db=db)) as c:
            _sign_in(c)
            wait_until(lambda: "Not connected" not in c.get("/patients/bob").text, 20,
                       "the web app connected")
            r = _plan(c, "bob", why="more walking", **{"plan.quota": "4200"})
            location = r.headers["location"]
            bob.client.wait_for(lambda m: True, "the plan change")
            ((req_id,),) = db.query("SELECT id FROM plan_requests")
            # alice's daemon answers bob's request on her own tree.
            rc = alice.publish("pacer/alice/reply/clinic-web", b'{"ok": true}',
                               correlation=req_id.encode())
            assert not rc.is_failure
            bob.answer({"ok": False, "error": "not a plan editor"})
            wait_until(lambda: db.query("SELECT reply FROM plan_requests")[0][0] is not None,
                       20, "bob's reply stored")
            assert json.loads(db.query("SELECT reply FROM plan_requests")[0][0]) == {
                "ok": False, "error": "not a plan editor"}
            assert "bob's pacer refused the change" in c.get(location).text
    finally:
        bob.client.close()
        alice.close()
        db.close()


# --- the database's own refusals: one message at a time -------------------------------


def _refused_by_the_database(tmp_path: Path, database: str,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Records the contract would never let through, as if it had: the batch
    fails, its messages are stored one at a time, and only those the
    database refuses are dead letters."""
    from pacer.clinic import collector as collector_module  # noqa: PLC0415
    from pacer.clinic.collector import Collector  # noqa: PLC0415
    from pacer.clinic.config import load_clinic_config  # noqa: PLC0415
    from pacer.clinic.records import Record  # noqa: PLC0415
    from pacer.mqtt.client import Incoming  # noqa: PLC0415

    good = [parse(t, p) for t, p, _ in patient_day("alice", DAY, events=3)]
    bad = [Record("event", "mallory", (AT.isoformat(), "outcome", "nul"), '{"a":"\x00"}'),
           Record("event", "mallory", (secrets.token_hex(50_000), "outcome", "long"), "{}"),
           Record("summary", "mallory", ("day", "2026-11-23"), '{"a":"\ud800"}')]
    records = {f"t/{i}": rec for i, rec in enumerate([bad[0], *good[:2], bad[1], *good[2:],
                                                      bad[2]])}
    monkeypatch.setattr(collector_module, "parse", lambda topic, *_a: records[topic])
    path = tmp_path / "c.toml"
    path.write_text(f'database = "{database}"\n', encoding="utf-8")
    config = load_clinic_config(path)
    db = Database(config.database)
    collector = Collector(config, db)
    batch = [Incoming(t, b"x" * i, 1, False, None, None, i) for i, t in enumerate(records)]
    asyncio.run(collector._store(batch))
    stats = collector.stats
    def rows(user: str) -> int:
        return sum(int(db.query(f"SELECT count(*) FROM {table} WHERE user_id = ?",
                                (user,))[0][0]) for table in ("events", "summaries"))

    assert rows("alice") == len({r.key for r in good})
    # SQLite keeps a NUL and a long key; PostgreSQL refuses them.
    assert (rows("mallory"), stats.dead_letters) == ((0, 3) if db.postgres else (2, 1))
    assert db.counts()["dead_letters"] == stats.dead_letters
    reasons = [r[0] for r in db.query("SELECT reason FROM dead_letters")]
    assert all(r.startswith("the database refused it") for r in reasons), reasons
    assert stats.outages == 0
    db.close()


def test_a_row_sqlite_refuses_is_a_dead_letter(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    _refused_by_the_database(tmp_path, str(tmp_path / "c.sqlite3"), monkeypatch)


def test_a_row_postgresql_refuses_is_a_dead_letter(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_url: str) -> None:  # noqa: F811
    _refused_by_the_database(tmp_path, pg_url, monkeypatch)
