"""pacer/contract/topics.py: the topics of interfaces.md section 6, as written there."""

from __future__ import annotations

from pacer.contract import topics
from pacer.contract.commands import COMMAND_KINDS
from pacer.contract.topics import ANY, Topics


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
    tests/test_mqtt_contract.py and tests/test_clinic_hostile.py)."""
    senders = topics.PERSON_COMMANDS + topics.EDITOR_COMMANDS
    assert sorted(senders) == sorted(COMMAND_KINDS)
    assert len(set(senders)) == len(senders)


def test_home_assistant() -> None:
    assert topics.HA_BIRTH == "homeassistant/status"
    assert topics.discovery_config("sensor", "alice", "steps_today") == (
        "homeassistant/sensor/alice/steps_today/config")
