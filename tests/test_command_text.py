"""Issue 19, item 6, through a real daemon: a plan command whose text is not
Unicode (the JSON escape ``"\\ud800"``) is refused with a reply naming the
field, and the daemon carries on (it used to die in its minutes job)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pacer.mqtt.broker import PrivateBroker
from pacer.mqtt.testing import Collector, publish_once


def _wait_for(check: Callable[[], Any], what: str, limit: float = 60.0) -> Any:
    deadline = time.monotonic() + limit
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
    return value


def _config(directory: Path, broker: PrivateBroker, speed: int = 60) -> Path:
    rows = [f"2026-11-23T09:{m:02d}:00+11:00,0,sitting" for m in range(60)]
    (directory / "desk.csv").write_text("time,steps,posture\n" + "\n".join(rows) + "\n",
                                        encoding="utf-8")
    cfg = directory / "pacer.toml"
    cfg.write_text(f"""
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
plan_editors = ["physio-jo"]

[storage]
path = "pacer.sqlite3"
""", encoding="utf-8")
    return cfg


def test_the_daemon_refuses_a_lone_surrogate_and_carries_on(
    tmp_path: Path, broker: PrivateBroker
) -> None:
    replies = Collector(broker.host, broker.port, "pacer/alice/#", protocol=broker.protocol)
    replies.wait_ready(1)
    log = tmp_path / "daemon.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pacer", "run", "--config", str(_config(tmp_path, broker))],
            cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
    try:
        # the daemon publishes its state once it has subscribed to its commands
        _wait_for(lambda: proc.poll() is not None or any(
            "/cmd/" not in m.topic for m in replies.messages), "the daemon to listen")
        assert proc.poll() is None, log.read_text(errors="replace")

        def reply(topic: str) -> dict[str, Any] | None:
            for m in replies.messages:
                if m.topic == topic:
                    return dict(json.loads(m.payload))
            return None

        bad = b'{"by":"physio-jo","why":"\\ud800","set":{"sitting.limit_min":40}}'
        publish_once(broker, "pacer/alice/cmd/plan", bad,
                     response_topic="pacer/alice/reply/bad", correlation_data=b"bad")
        refused = _wait_for(lambda: reply("pacer/alice/reply/bad"), "the refusal")
        assert refused["ok"] is False
        assert "why is not valid Unicode text" in refused["error"]

        # the minutes job runs on (it used to fail here, and the daemon exit 1)
        _wait_for(lambda: proc.poll() is not None or any(
            m.topic == "pacer/alice/state" for m in replies.messages), "a minute's state")
        assert proc.poll() is None, log.read_text(errors="replace")
        good = b'{"by":"physio-jo","why":"flare","set":{"sitting.limit_min":40}}'
        publish_once(broker, "pacer/alice/cmd/plan", good,
                     response_topic="pacer/alice/reply/good", correlation_data=b"good")
        accepted = _wait_for(lambda: reply("pacer/alice/reply/good"), "the acceptance")
        assert accepted == {"ok": True}, log.read_text(errors="replace")
        assert proc.poll() is None, log.read_text(errors="replace")
        assert "Traceback" not in log.read_text(errors="replace")
        assert "codec can't encode" not in log.read_text(errors="replace")
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        replies.close()
    assert proc.returncode == 0, log.read_text(errors="replace")



def test_a_command_before_the_first_minute_is_applied_and_stored(
    tmp_path: Path, broker: PrivateBroker
) -> None:
    """At real time the daemon takes its first minute a minute after it starts;
    a command in that minute was answered "could not process" (its state had no
    minute to be stored under)."""
    replies = Collector(broker.host, broker.port, "pacer/alice/#", protocol=broker.protocol)
    replies.wait_ready(1)
    log = tmp_path / "daemon.log"
    cfg = _config(tmp_path, broker, speed=1)
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "pacer", "run", "--config", str(cfg)],
                                cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for(lambda: proc.poll() is not None or any(
            m.topic == "pacer/alice/status" and m.payload == b"online"
            for m in replies.messages), "the daemon to listen")
        assert proc.poll() is None, log.read_text(errors="replace")
        publish_once(broker, "pacer/alice/cmd/symptom", b'{"level": "amber"}',
                     response_topic="pacer/alice/reply/early", correlation_data=b"early")
        answer = _wait_for(lambda: next((json.loads(m.payload) for m in replies.messages
                                         if m.topic == "pacer/alice/reply/early"), None),
                           "the reply")
        assert answer == {"ok": True}, log.read_text(errors="replace")
        assert not any(m.topic == "pacer/alice/state" and json.loads(m.payload)["time"]
                       for m in replies.messages)  # no minute taken yet: it was early
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        replies.close()
    assert proc.returncode == 0, log.read_text(errors="replace")
    assert "Traceback" not in log.read_text(errors="replace")
