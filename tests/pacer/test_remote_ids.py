"""A command the command line sent again after "no reply" keeps its id, so the
daemon (which answers a known id without applying it again,
test_mqtt_contract.py::test_replayed_commands_are_applied_once_and_answered_each_time)
applies it once (issue 21, item 7)."""

from __future__ import annotations

from pathlib import Path

from pacer.config import Config, parse_config
from pacer.remote import RETRY_KEEP_S, command_answered, command_id


def config(tmp_path: Path) -> Config:
    return parse_config({"user": {"id": "alice", "timezone": "Europe/London"},
                         "storage": {"path": str(tmp_path / "pacer.sqlite3")}}, source="test")


def test_a_retry_keeps_the_id_until_the_daemon_answers(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    first = command_id(cfg, "dnd", {"minutes": 30}, 1000.0)
    assert first.startswith("cli-")
    assert command_id(cfg, "dnd", {"minutes": 30}, 1010.0) == first  # the retry
    assert command_id(cfg, "dnd", {"minutes": 60}, 1010.0) != first  # other words
    assert command_id(cfg, "ack", {"minutes": 30}, 1010.0) != first  # another command
    command_answered(cfg, "dnd", {"minutes": 30})
    assert command_id(cfg, "dnd", {"minutes": 30}, 1020.0) != first  # a new one


def test_a_command_sent_again_much_later_is_a_new_one(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    first = command_id(cfg, "symptom", {"level": "green"}, 1000.0)
    assert command_id(cfg, "symptom", {"level": "green"}, 1000.0 + RETRY_KEEP_S) != first


def test_a_damaged_pending_file_is_started_afresh(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    (tmp_path / "pacer-cli-pending.json").write_text("not json", encoding="utf-8")
    assert command_id(cfg, "day", {"event": "up"}, 1.0).startswith("cli-")
