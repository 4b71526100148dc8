"""pacer/contract/topics.py: the topics of interfaces.md section 6, as written there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from helpers.v2_history import two_days_of_minutes

from pacer.config import Config
from pacer.contract import checked, payloads, topics
from pacer.contract.commands import COMMAND_KINDS, parse_command
from pacer.contract.payloads import audit_event, encode
from pacer.contract.topics import ANY, Topics
from pacer.daemon.messages import outbox_for
from pacer.engine.core import Engine
from pacer.engine.safety import RED_FLAGS
from pacer.io.minutes import read_minutes
from pacer.store.sqlite import OutboxMessage
from pacer.timebase import iso_seconds


def test_a_persons_tree() -> None:
    t = Topics("pacer", "alice")
    assert [t.prompt, t.state, t.summary("day"), t.summary("week"), t.alert, t.event,
            t.status, t.cmd("ack"), t.cmd("plan"), t.reply] == [
        "pacer/alice/prompt", "pacer/alice/state", "pacer/alice/summary/day",
        "pacer/alice/summary/week", "pacer/alice/alert", "pacer/alice/event",
        "pacer/alice/status", "pacer/alice/cmd/ack", "pacer/alice/cmd/plan",
        "pacer/alice/reply"]
    assert [t.cmd("day"), t.cmd("exercise")] == [  # v2 (interfaces.md section 8.2)
        "pacer/alice/cmd/day", "pacer/alice/cmd/exercise"]
    assert t.commands == "pacer/alice/cmd/+"
    assert t.tree == "pacer/alice/#"
    assert t.cli_reply("0f3a") == "pacer/alice/reply/cli-0f3a"
    assert t.reply_to("clinic-web1") == "pacer/alice/reply/clinic-web1"


def test_the_clinics_topics() -> None:
    assert Topics("pacer", ANY).reply_to("clinic-web1") == "pacer/+/reply/clinic-web1"
    assert Topics("pacer", "physio").clinic_status("c1") == "pacer/physio/clinic/c1/status"
    assert topics.shared_filters("g", "pacer") == [
        "$share/g/pacer/+/summary/#", "$share/g/pacer/+/alert", "$share/g/pacer/+/event",
        "$share/g/pacer/+/status"]


def test_reading_a_topic() -> None:
    assert topics.split("pacer/alice/summary/day", "pacer") == ("alice", "summary/day")
    assert topics.split("other/alice/state", "pacer") is None
    assert topics.split("pacer//state", "pacer") is None
    assert topics.split("pacer/alice", "pacer") is None
    assert [topics.summary_period(leaf) for leaf in
            ("summary/day", "summary/week", "summary/month", "summary", "state")] == [
        "day", "week", None, None, None]
    assert topics.command_kind("pacer/alice/cmd/dnd") == "dnd"
    assert topics.command_kind("pacer/alice/cmd/exercise") == "exercise"


def test_every_command_has_one_kind_of_sender() -> None:
    """Each command the parser knows is the person's or the plan editors' (the
    ACLs in config/mosquitto/ are checked against these lists in
    tests/pacer/contract/test_mqtt_contract.py and tests/pacer/clinic/test_clinic_hostile.py)."""
    senders = topics.PERSON_COMMANDS + topics.EDITOR_COMMANDS
    assert sorted(senders) == sorted(COMMAND_KINDS)
    assert len(set(senders)) == len(senders)


def test_home_assistant() -> None:
    assert topics.HA_BIRTH == "homeassistant/status"
    assert topics.discovery_config("sensor", "alice", "steps_today") == (
        "homeassistant/sensor/alice/steps_today/config")


# --- the writer's and the reader's sides agree -------------------------------------------


FLAG = next(iter(RED_FLAGS))


def test_every_message_a_daemon_publishes_passes_the_readers_check(tmp_path: Path) -> None:
    """Two replayed v2 days with a red flag, its clearing, answers, exercise and
    a plan change: every summary, alert, event and reply the daemon's outbox
    and command path make from them is what ``checked`` (the clinic's check)
    accepts, so a reader never refuses what a writer sends."""
    engine = Engine(Config().rules, user="alice", timezone="Australia/Sydney")
    topics = Topics("pacer", "alice")
    commands: dict[int, tuple[str, dict[str, Any]]] = {  # minute (from 08:00) -> command
        95: ("ack", {"prompt": "last", "action": "done"}),
        130: ("exercise", {"minutes": 20, "what": "bridges"}),
        200: ("symptom", {"level": "amber", "pain": 6}),
        300: ("symptom", {"level": "red", "red_flags": [FLAG], "pain": 8}),
        320: ("ack", {"prompt": "last", "action": "seen"}),
        340: ("plan", {"clear_alert": True, "by": "physio", "why": "seen in clinic"}),
        900: ("plan", {"set": {"sitting.limit_min": 35}, "by": "physio", "why": "review"}),
    }
    seen: dict[str, int] = {}

    def check(messages: list[OutboxMessage]) -> None:
        for m in messages:
            leaf = m.topic.removeprefix("pacer/alice/")
            kind = {"summary/day": "day", "summary/week": "week", "alert": "alert",
                    "event": "event"}.get(leaf)
            if kind is None or m.payload == b"":
                continue
            checked.check(kind, checked.load(m.payload))  # type: ignore[arg-type]
            seen[kind] = seen.get(kind, 0) + 1

    for i, epoch in enumerate(read_minutes(two_days_of_minutes(tmp_path / "m.csv"),
                                           filled=True)):
        check(outbox_for(engine.advance(epoch), topics=topics, tz=engine.tz,
                         real_deadline=lambda s: s))
        if i in commands:
            kind, body = commands[i]
            parsed = parse_command(kind, body)
            at = (epoch.start + 1) * 60.0
            reply = engine.command(parsed.command, at)
            checked.check("reply", checked.load(encode(payloads.reply(reply))))
            seen["reply"] = seen.get("reply", 0) + 1
            check([OutboxMessage(topic=topics.event, qos=1, msg_id=f"audit-{i}",
                                 payload=encode(audit_event(parsed.command, user="alice",
                                                            time=iso_seconds(at, engine.tz),
                                                            cmd_id=None)))])
            check(outbox_for(reply.outputs, topics=topics, tz=engine.tz,
                             real_deadline=lambda s: s))
    check(outbox_for(engine.close_day(), topics=topics, tz=engine.tz, real_deadline=lambda s: s))
    assert set(seen) == {"day", "week", "alert", "event", "reply"}, seen
