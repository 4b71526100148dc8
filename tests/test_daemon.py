"""``pacer run`` as a real process: replay device -> engine -> SQLite -> mosquitto.

The daemon is started as a subprocess, killed with SIGKILL and started again;
the subscriber is a plain paho client on the test's private broker.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from pacer.mqtt.broker import PrivateBroker
from pacer.mqtt.testing import Collector, Received

SubscriberFactory = Callable[[PrivateBroker, str], Collector]

TZ = ZoneInfo("Australia/Sydney")
SPEED = 300  # one clock minute every 0.2 s


def desk_csv(path: Path, minutes: int = 90) -> None:
    start = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)
    rows = [f"{(start + timedelta(minutes=i)).isoformat()},0,sitting" for i in range(minutes)]
    path.write_text("time,steps,posture\n" + "\n".join(rows) + "\n", encoding="utf-8")


def write_config(tmp: Path, broker: PrivateBroker, speed: float = SPEED) -> Path:
    desk_csv(tmp / "desk.csv")
    cfg = tmp / "pacer.toml"
    cfg.write_text(
        f"""
[user]
id = "alice"
timezone = "Australia/Sydney"

[[devices]]
kind = "replay"
path = "desk.csv"
speed = {speed}

[mqtt]
url = "{broker.url}"
protocol = "{broker.protocol}"

[storage]
path = "pacer.sqlite3"
""",
        encoding="utf-8",
    )
    return cfg


class Daemon:
    def __init__(self, config: Path) -> None:
        self.config = config
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = (self.config.parent / "daemon.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pacer", "run", "--config", str(self.config)],
            stdout=log,
            stderr=log,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self) -> int:
        assert self.proc is not None
        self.proc.terminate()
        return self.proc.wait(10)

    def log(self) -> str:
        return (self.config.parent / "daemon.log").read_text(errors="replace")


@pytest.fixture
def daemon(tmp_path: Path, broker: PrivateBroker) -> Iterator[Daemon]:
    d = Daemon(write_config(tmp_path, broker))
    yield d
    if d.proc is not None and d.proc.poll() is None:
        d.proc.kill()
        d.proc.wait(10)


def prompts(messages: list[Received]) -> list[dict[str, Any]]:
    return [json.loads(m.payload) for m in messages if m.topic.endswith("/prompt")]


def is_prompt(m: Received) -> bool:
    """A sitting prompt (the desk day also gets the 10:00 walk reminder)."""
    return m.topic == "pacer/alice/prompt" and json.loads(m.payload)["kind"] == "sitting_break"


def wait_outbox_empty(db: Path, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sqlite3.connect(db) as conn:
            (n,) = conn.execute("SELECT count(*) FROM outbox").fetchone()
        if n == 0:
            return
        time.sleep(0.05)
    raise AssertionError(f"outbox of {db} not drained within {timeout} s")


def test_prompts_reach_the_broker_with_expiry_and_status(
    daemon: Daemon, broker: PrivateBroker, subscriber: SubscriberFactory
) -> None:
    sub = subscriber(broker, "pacer/alice/#")
    daemon.start()
    status = sub.wait_for(1, timeout=15, match=lambda m: m.topic == "pacer/alice/status")
    assert status[0].payload == b"online"
    assert status[0].retain or status[0].qos == 1
    (msg,) = sub.wait_for(1, timeout=30, match=is_prompt)
    body = json.loads(msg.payload)
    assert body["kind"] == "sitting_break"
    assert body["time"] == "2026-11-23T09:40:00+11:00"
    assert body["reason"] == {"bout_min": 40, "limit_min": 40, "repeat": 0}
    assert msg.qos == 1
    assert not msg.retain
    if broker.protocol == "5":
        # 15 clock minutes at 300x real time is 3 s; the broker counts down.
        assert msg.expiry is not None
        assert 1 <= msg.expiry <= 3
    assert daemon.terminate() == 0
    offline = sub.wait_for(1, timeout=10, match=lambda m: m.payload == b"offline")
    assert offline[0].topic == "pacer/alice/status"


def test_sigkill_gives_offline_and_restart_resumes_the_bout(
    daemon: Daemon, broker: PrivateBroker, subscriber: SubscriberFactory, tmp_path: Path
) -> None:
    sub: Collector = subscriber(broker, "pacer/alice/#")
    daemon.start()
    sub.wait_for(1, timeout=30, match=is_prompt)
    wait_outbox_empty(tmp_path / "pacer.sqlite3")
    daemon.kill()
    # The broker publishes the Last Will when the socket closes.
    sub.wait_for(1, timeout=10, match=lambda m: m.topic.endswith("/status")
                 and m.payload == b"offline")

    daemon.start()
    got = sub.wait_for(3, timeout=40, match=is_prompt)
    bodies = prompts(got)
    # The bout survived the kill: it goes on counting from where it was, and
    # the prompt already sent is not sent again.
    assert [b["time"][11:16] for b in bodies] == ["09:40", "09:55", "10:10"]
    assert [b["reason"]["bout_min"] for b in bodies] == [40, 55, 70]
    assert len({b["id"] for b in bodies}) == 3
    assert "resuming alice after" in daemon.log()
    assert daemon.terminate() == 0
    # No minute was fed twice and none was skipped across the kill.
    with sqlite3.connect(tmp_path / "pacer.sqlite3") as conn:
        minutes = [m for (m,) in conn.execute("SELECT minute FROM epochs ORDER BY minute")]
    assert minutes == list(range(minutes[0], minutes[0] + len(minutes)))


def test_bad_config_exits_2_with_the_key(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[sitting]\nlimt_min = 30\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "pacer", "run", "--config", str(cfg)],
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert proc.returncode == 2
    assert "sitting.limt_min" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_broker_down_at_start_then_up_delivers_the_queue(tmp_path: Path) -> None:
    """Prompts made while the broker is unreachable wait in the outbox."""
    with PrivateBroker() as b:
        url, protocol, port = b.url, b.protocol, b.port
    # The broker is stopped: its port is closed. Start the daemon against it.
    cfg = tmp_path / "pacer.toml"
    desk_csv(tmp_path / "desk.csv")
    cfg.write_text(
        f'[user]\nid = "alice"\ntimezone = "Australia/Sydney"\n'
        f'[[devices]]\nkind = "replay"\npath = "desk.csv"\nspeed = 120\n'
        f'[sitting]\nlimit_min = 15\nrepeat_min = 60\n'
        f'[mqtt]\nurl = "{url}"\nprotocol = "{protocol}"\n'
        f'[storage]\npath = "pacer.sqlite3"\n',
        encoding="utf-8",
    )
    d = Daemon(cfg)
    d.start()
    try:
        # At 120x the first prompt (09:15) is made after 7.5 s and expires 30 s
        # later (repeat_min); wait for it to be stored while no broker is there.
        deadline = time.monotonic() + 30
        stored = 0
        while time.monotonic() < deadline and not stored:
            time.sleep(0.5)
            try:
                with sqlite3.connect(tmp_path / "pacer.sqlite3") as conn:
                    (stored,) = conn.execute("SELECT count(*) FROM outbox WHERE topic LIKE "
                                             "'%/prompt'").fetchone()
            except sqlite3.OperationalError:  # the daemon has not created its tables yet
                continue
        assert stored == 1, d.log()
        with PrivateBroker(port=port) as b2:
            sub = Collector(b2.host, b2.port, "pacer/alice/prompt", protocol=b2.protocol)
            try:
                (msg,) = sub.wait_for(1, timeout=40)
            finally:
                sub.close()
        assert json.loads(msg.payload)["time"] == "2026-11-23T09:15:00+11:00"
    finally:
        if d.proc is not None:
            d.proc.kill()
            d.proc.wait(10)
