"""Issue 19, item 6, through a real daemon: a plan command whose text is not
Unicode (the JSON escape ``"\\ud800"``) is refused with a reply naming the
field, and the daemon carries on (it used to die in its minutes job)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from helpers.daemon import DaemonProcess, wait_until
from helpers.mqtt import Collector, publish_once
from helpers.mqtt_tls import desk_csv

from pacer.mqtt.broker import PrivateBroker


def _config(directory: Path, broker: PrivateBroker, speed: int = 60) -> Path:
    desk_csv(directory / "desk.csv", minutes=60)
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


def _stop(daemon: DaemonProcess) -> None:
    """SIGTERM, and the daemon ends cleanly without a traceback."""
    try:
        assert daemon.terminate(20) == 0, daemon.log()
    finally:
        daemon.cleanup()
    assert "Traceback" not in daemon.log()


def test_the_daemon_refuses_a_lone_surrogate_and_carries_on(
    tmp_path: Path, broker: PrivateBroker
) -> None:
    replies = Collector(broker.host, broker.port, "pacer/alice/#", protocol=broker.protocol)
    replies.wait_ready(1)
    daemon = DaemonProcess(_config(tmp_path, broker)).start()
    try:
        # the daemon publishes its state once it has subscribed to its commands
        wait_until(lambda: not daemon.alive() or any(
            "/cmd/" not in m.topic for m in replies.messages), 60, "the daemon to listen")
        daemon.check_alive()

        def reply(topic: str) -> dict[str, Any] | None:
            for m in replies.messages:
                if m.topic == topic:
                    return dict(json.loads(m.payload))
            return None

        bad = b'{"by":"physio-jo","why":"\\ud800","set":{"sitting.limit_min":40}}'
        publish_once(broker, "pacer/alice/cmd/plan", bad,
                     response_topic="pacer/alice/reply/bad", correlation_data=b"bad")
        refused = wait_until(lambda: reply("pacer/alice/reply/bad"), 60, "the refusal")
        assert refused["ok"] is False
        assert "why is not valid Unicode text" in refused["error"]

        # the minutes job runs on (it used to fail here, and the daemon exit 1)
        wait_until(lambda: not daemon.alive() or any(
            m.topic == "pacer/alice/state" for m in replies.messages), 60, "a minute's state")
        daemon.check_alive()
        good = b'{"by":"physio-jo","why":"flare","set":{"sitting.limit_min":40}}'
        publish_once(broker, "pacer/alice/cmd/plan", good,
                     response_topic="pacer/alice/reply/good", correlation_data=b"good")
        accepted = wait_until(lambda: reply("pacer/alice/reply/good"), 60, "the acceptance")
        assert accepted == {"ok": True}, daemon.log()
        daemon.check_alive()
        assert "codec can't encode" not in daemon.log()
        _stop(daemon)
    finally:
        daemon.cleanup()
        replies.close()


def test_a_command_before_the_first_minute_is_applied_and_stored(
    tmp_path: Path, broker: PrivateBroker
) -> None:
    """At real time the daemon takes its first minute a minute after it starts;
    a command in that minute was answered "could not process" (its state had no
    minute to be stored under)."""
    replies = Collector(broker.host, broker.port, "pacer/alice/#", protocol=broker.protocol)
    replies.wait_ready(1)
    daemon = DaemonProcess(_config(tmp_path, broker, speed=1)).start()
    try:
        wait_until(lambda: not daemon.alive() or any(
            m.topic == "pacer/alice/status" and m.payload == b"online"
            for m in replies.messages), 60, "the daemon to listen")
        daemon.check_alive()
        publish_once(broker, "pacer/alice/cmd/symptom", b'{"level": "amber"}',
                     response_topic="pacer/alice/reply/early", correlation_data=b"early")
        answer = wait_until(lambda: next((json.loads(m.payload) for m in replies.messages
                                          if m.topic == "pacer/alice/reply/early"), None),
                            60, "the reply")
        assert answer == {"ok": True}, daemon.log()
        assert not any(m.topic == "pacer/alice/state" and json.loads(m.payload)["time"]
                       for m in replies.messages)  # no minute taken yet: it was early
        _stop(daemon)
    finally:
        daemon.cleanup()
        replies.close()
