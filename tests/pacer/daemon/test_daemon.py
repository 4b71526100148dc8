"""``pacer run`` as a real process: replay device -> engine -> SQLite -> mosquitto.

The daemon is started as a subprocess, killed with SIGKILL and started again;
the subscriber is a plain paho client on the test's private broker.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.daemon import DaemonProcess, pacer_cli, wait_until
from helpers.mqtt import Collector, Received
from helpers.mqtt_tls import desk_csv
from helpers.ops import write_config

from pacer.mqtt.broker import PrivateBroker

SubscriberFactory = Callable[[PrivateBroker, str], Collector]

TZ_NAME = "Australia/Sydney"
SPEED = 300  # one clock minute every 0.2 s


def write_desk_config(tmp: Path, broker: PrivateBroker | None, speed: float = SPEED,
                      **kw: Any) -> Path:
    """Alice in Sydney on the plain broker, sitting at a desk from 09:00."""
    return write_config(tmp, broker, csv=desk_csv(tmp / "desk.csv", 90), speed=speed,
                        timezone=TZ_NAME, **kw)


@pytest.fixture
def daemon(tmp_path: Path, broker: PrivateBroker) -> Iterator[DaemonProcess]:
    d = DaemonProcess(write_desk_config(tmp_path, broker))
    yield d
    d.cleanup()


def prompts(messages: list[Received]) -> list[dict[str, Any]]:
    return [json.loads(m.payload) for m in messages if m.topic.endswith("/prompt")]


def is_prompt(m: Received) -> bool:
    """A sitting prompt (the desk day also gets the 10:00 walk reminder)."""
    return m.topic == "pacer/alice/prompt" and json.loads(m.payload)["kind"] == "sitting_break"


def wait_outbox_empty(d: DaemonProcess, timeout: float = 10.0) -> None:
    wait_until(lambda: d.query("SELECT count(*) FROM outbox") == [(0,)], timeout,
               f"the outbox of {d.db} to drain", interval=0.05)


def test_prompts_reach_the_broker_with_expiry_and_status(
    daemon: DaemonProcess, broker: PrivateBroker, subscriber: SubscriberFactory
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
    assert body["reason"] == {"bout_min": 40, "limit_min": 40, "repeat": 0,
                              "inferred": False, "advice": "walk"}
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
    daemon: DaemonProcess, broker: PrivateBroker, subscriber: SubscriberFactory, tmp_path: Path
) -> None:
    # Two repeats a bout (v2's default is one), so the bout's third prompt
    # shows it survived the kill.
    write_desk_config(tmp_path, broker, extra="[sitting]\nmax_repeats = 2\n")
    sub: Collector = subscriber(broker, "pacer/alice/#")
    daemon.start()
    sub.wait_for(1, timeout=30, match=is_prompt)
    wait_outbox_empty(daemon)
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
    proc = pacer_cli("run", "--config", str(cfg), timeout=30)
    assert proc.returncode == 2
    assert "sitting.limt_min" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_broker_down_at_start_then_up_delivers_the_queue(tmp_path: Path) -> None:
    """Prompts made while the broker is unreachable wait in the outbox."""
    with PrivateBroker() as b:
        protocol, port = b.protocol, b.port
    # The broker is stopped: its port is closed. Start the daemon against it.
    cfg = write_desk_config(tmp_path, None, speed=120, port=port, protocol=protocol,
                            extra="[sitting]\nlimit_min = 15\nrepeat_min = 60\n")
    d = DaemonProcess(cfg)
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
        d.cleanup()
