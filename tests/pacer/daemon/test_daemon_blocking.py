"""Nothing blocks the daemon's event loop unnoticed.

The daemon runs in-process on a replay device and a private mosquitto, with
commands arriving over MQTT, while blockbuster wraps the blocking calls it
knows (files, sockets, sleeps, locks, SQLite): such a call made on the loop's
thread raises, and the daemon stops with it, unless it is declared below.

Declared, with why:
* the SQLite store (``pacer/store/sqlite.py``): each minute's write is one
  short transaction on the loop, in order with the prompts it decides. Its
  budget, measured by ``bench/store_commit.py``: a median of 0.2 ms and a p99 of
  0.4 ms a minute here (bench/README.md); a write off the loop would need the
  same order kept for no gain at that cost;
* paho's start (``loop_start`` makes a loopback socket pair once);
* the replay device reading its minutes file (a test and demo source).
"""

from __future__ import annotations

import ast
import asyncio
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from blockbuster import BlockBuster
from helpers import REPO
from helpers.daemon import until
from helpers.mqtt import Collector, publish_once

from pacer.config import parse_config
from pacer.daemon.app import Daemon
from pacer.daemon.clock import Clock
from pacer.mqtt.broker import PrivateBroker
from pacer.store import Store

ROOT = REPO
TZ = ZoneInfo("Europe/London")
START = datetime(2026, 6, 10, 8, 55, tzinfo=TZ)


def functions_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.name for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}


def declare(bb: BlockBuster) -> None:
    store = functions_of(ROOT / "pacer" / "store" / "sqlite.py")
    for name, fn in bb.functions.items():
        if name.startswith("sqlite3."):
            fn.can_block_in("pacer/store/sqlite.py", store)
    bb.functions["socket.socket.accept"].can_block_in("paho/mqtt/client.py",
                                                       "_socketpair_compat")


def desk_csv(path: Path, minutes: int) -> Path:
    rows = ["time,steps,posture"]
    for i in range(minutes):
        t = START.timestamp() + 300 + i * 60
        rows.append(f"{datetime.fromtimestamp(t, TZ).isoformat()},0,sitting")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


async def running(task: asyncio.Task[None], check: Callable[[], bool], timeout: float,
                  what: str) -> None:
    """``until``, but a daemon that stopped (a blocking call raised) fails at once."""
    def done_or() -> bool:
        if task.done():
            task.result()  # raises what stopped it
            raise AssertionError(f"the daemon stopped before {what}")
        return check()
    await until(done_or, timeout, what)


def test_the_daemon_loop_makes_no_undeclared_blocking_call(tmp_path: Path) -> None:
    async def scenario() -> list[dict[str, object]]:
        with PrivateBroker() as broker:
            phone = Collector(broker.host, broker.port, "pacer/alice/#")
            try:
                config = parse_config({
                    "user": {"id": "alice", "timezone": "Europe/London"},
                    "devices": [{"kind": "replay", "path": str(desk_csv(tmp_path / "d.csv", 90)),
                                 "speed": 600}],
                    "mqtt": {"url": broker.url},
                    "storage": {"path": str(tmp_path / "pacer.sqlite3")},
                })
                clock = Clock(speed=600.0, origin=START.timestamp())
                replies = Collector(broker.host, broker.port, "pacer/alice/reply")
                bb = BlockBuster()
                declare(bb)
                with Store.open(config.storage.path) as store:
                    daemon = Daemon(config, store=store, clock=clock)
                    bb.activate()  # the test's own MQTT clients act from their threads
                    try:
                        task = asyncio.create_task(daemon.run())
                        await running(task, lambda: any(m.topic == "pacer/alice/prompt"
                                                        for m in phone.messages), 30, "a prompt")
                        await asyncio.to_thread(publish_once, broker, "pacer/alice/cmd/symptom",
                                                b'{"level": "amber"}')
                        await running(task, lambda: bool(replies.messages), 30, "a reply")
                        await running(task, lambda: (daemon.engine.next_minute or 0) * 60
                                      > START.timestamp() + 80 * 60, 60, "80 minutes")
                        daemon.stop()
                        await asyncio.wait_for(task, 20)
                    finally:
                        bb.deactivate()
                        replies.close()
                return [json.loads(m.payload) for m in phone.messages
                        if m.topic == "pacer/alice/prompt"]
            finally:
                phone.close()

    prompts = asyncio.run(asyncio.wait_for(scenario(), 120))
    assert any(p["kind"] == "sitting_break" for p in prompts)
