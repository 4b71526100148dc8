"""A write the store refuses applies nothing (issue: "failed, yet applied").

The daemon runs in-process on a replay device and a private mosquitto, with a
real SQLite store. SQLite's own authorizer refuses the writes a full disk
would (the store sees a real ``sqlite3.DatabaseError``); then the writes are
allowed again. A command answered "could not process" must not be in the
engine's state, and a resend of its id applies it once. (A minute that cannot
be stored stops the daemon instead, which restarts from what was stored.)
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from helpers.daemon import until
from helpers.mqtt import Collector, publish_once

from pacer.config import parse_config
from pacer.daemon.app import Daemon
from pacer.daemon.clock import Clock
from pacer.mqtt.broker import PrivateBroker
from pacer.store import Store

TZ = ZoneInfo("Europe/London")
START = datetime(2026, 6, 10, 8, 55, tzinfo=TZ)


def walking_csv(path: Path, minutes: int) -> Path:
    rows = ["time,steps,posture"]
    for i in range(minutes):
        t = START.timestamp() + 300 + i * 60
        rows.append(f"{datetime.fromtimestamp(t, TZ).isoformat()},{40 + i % 7},")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def refuse_inserts(table: str) -> Callable[[int, str | None, str | None, str | None,
                                            str | None], int]:
    def authorizer(action: int, arg1: str | None, *_: str | None) -> int:
        if action == sqlite3.SQLITE_INSERT and arg1 == table:
            return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK
    return authorizer


def test_a_command_the_store_cannot_take_is_not_applied_and_its_resend_applies_once(
    tmp_path: Path,
) -> None:
    async def scenario() -> dict[str, Any]:
        with PrivateBroker() as broker:
            replies = Collector(broker.host, broker.port, "pacer/alice/reply")
            config = parse_config({
                "user": {"id": "alice", "timezone": "Europe/London"},
                "devices": [{"kind": "replay", "path": str(walking_csv(tmp_path / "w.csv", 120)),
                             "speed": 120}],
                "mqtt": {"url": broker.url},
                "storage": {"path": str(tmp_path / "pacer.sqlite3")},
            })
            clock = Clock(speed=120.0, origin=START.timestamp())
            try:
                with Store.open(config.storage.path) as store:
                    daemon = Daemon(config, store=store, clock=clock)
                    task = asyncio.create_task(daemon.run())
                    await until(lambda: (daemon.engine.next_minute or 0) * 60
                                > START.timestamp() + 10 * 60, 30, "ten minutes")
                    conn = store._conn
                    conn.set_authorizer(refuse_inserts("commands"))
                    body = json.dumps({"id": "dnd-1", "minutes": 120}).encode()
                    await asyncio.to_thread(publish_once, broker, "pacer/alice/cmd/dnd", body)
                    await until(lambda: len(replies.messages) >= 1, 30, "the first reply")
                    first = json.loads(replies.messages[0].payload)
                    dnd_after_failure = daemon.engine.state.gate.dnd_until
                    conn.set_authorizer(None)
                    await asyncio.to_thread(publish_once, broker, "pacer/alice/cmd/dnd", body)
                    await until(lambda: len(replies.messages) >= 2, 30, "the second reply")
                    await asyncio.to_thread(publish_once, broker, "pacer/alice/cmd/dnd", body)
                    await until(lambda: len(replies.messages) >= 3, 30, "the third reply")
                    daemon.stop()
                    await asyncio.wait_for(task, 20)
                    events = [json.loads(r[0]) for r in conn.execute(
                        "SELECT payload FROM events WHERE type = 'dnd'").fetchall()]
                    return {
                        "replies": [json.loads(m.payload) for m in replies.messages],
                        "first": first,
                        "dnd_after_failure": dnd_after_failure,
                        "dnd_now": daemon.engine.state.gate.dnd_until,
                        "events": events,
                    }
            finally:
                replies.close()

    got = asyncio.run(asyncio.wait_for(scenario(), 120))
    assert got["first"]["ok"] is False
    assert "could not process" in got["first"]["error"]
    assert got["dnd_after_failure"] is None, "answered as failed, yet applied"
    assert [r["ok"] for r in got["replies"]] == [False, True, True]
    assert got["dnd_now"] is not None
    assert len(got["events"]) == 1, "the resend was applied once and its repeat answered"
