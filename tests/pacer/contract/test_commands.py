"""Strict command parsing (interfaces.md sections 3, 6, 7.3): every rejection
rule at its edges, the valid forms, and the messages a person gets back."""

from __future__ import annotations

import json
from datetime import time
from typing import Any

import pytest

from pacer.config import Rules
from pacer.contract.commands import (
    COMMAND_KINDS,
    EXERCISE_MAX_MIN,
    MAX_PAYLOAD_BYTES,
    PLAN_MESSAGE_MAX,
    ParsedCommand,
    parse_command,
)
from pacer.daemon.inbox import read_command
from pacer.engine.model import (
    DND_MAX_MIN,
    EXERCISE_TEXT_MAX,
    SNOOZE_MAX_MIN,
    Ack,
    DayEvent,
    Dnd,
    Exercise,
    PlanChange,
    Symptom,
)
from pacer.engine.safety import RED_FLAGS
from pacer.engine.settings import apply_settings, check_settings
from pacer.errors import BadInput, CommandRejected


def parse(kind: str, obj: Any) -> ParsedCommand:
    return parse_command(kind, json.dumps(obj).encode())


def rejected(kind: str, payload: Any) -> str:
    raw = payload if isinstance(payload, bytes | str) else json.dumps(payload).encode()
    with pytest.raises(CommandRejected) as info:
        parse_command(kind, raw)
    return str(info.value)


# --- valid forms -------------------------------------------------------------------


def test_ack_forms() -> None:
    assert parse("ack", {"prompt": "p-1", "action": "done"}) == ParsedCommand(
        Ack("p-1", "done"), None
    )
    assert parse("ack", {"prompt": "last", "action": "dismiss"}).command == Ack("last", "dismiss")
    # minutes absent: the engine applies the default snooze
    assert parse("ack", {"prompt": "last", "action": "snooze"}).command == Ack("last", "snooze")
    assert parse("ack", {"prompt": "p", "action": "snooze", "minutes": 1}).command == (
        Ack("p", "snooze", 1)
    )
    assert parse("ack", {"prompt": "p", "action": "snooze", "minutes": SNOOZE_MAX_MIN}).command == (
        Ack("p", "snooze", SNOOZE_MAX_MIN)
    )


def test_symptom_forms() -> None:
    assert parse("symptom", {"level": "green"}).command == Symptom("green")
    cmd = parse("symptom", {"level": "red", "red_flags": list(RED_FLAGS), "pain": 10}).command
    assert cmd == Symptom("red", RED_FLAGS, 10)
    assert parse("symptom", {"level": "amber", "pain": 0}).command == Symptom("amber", (), 0)
    # a red flag is never refused for a harmless reason: named twice counts once,
    # and any level may carry one
    cmd = parse("symptom", {"level": "green", "red_flags": ["both_legs", "both_legs"]}).command
    assert cmd == Symptom("green", ("both_legs",))


def test_dnd_edges() -> None:
    assert parse("dnd", {"minutes": 0}).command == Dnd(0)
    assert parse("dnd", {"minutes": DND_MAX_MIN}).command == Dnd(DND_MAX_MIN)


def test_plan_forms() -> None:
    cmd = parse(
        "plan",
        {"set": {"sitting.limit_min": 30, "walks.times": ["09:00", "13:00"]}, "by": "physio",
         "why": "flare-up"},
    ).command
    settings = {"sitting.limit_min": 30, "walks.times": ["09:00", "13:00"]}
    assert cmd == PlanChange(by="physio", why="flare-up", set=settings)
    cmd = parse("plan", {"clear_alert": True, "by": "physio", "why": "seen by GP"}).command
    assert cmd == PlanChange(by="physio", why="seen by GP", clear_alert=True)
    # an int for a float setting is a number; a float stays a float
    obj = {"set": {"plan.ceiling": 2, "plan.floor": 0.4}, "by": "a", "why": "b"}
    cmd = parse("plan", obj).command
    assert isinstance(cmd, PlanChange)
    assert cmd.set == {"plan.ceiling": 2, "plan.floor": 0.4}


def test_command_id_on_every_kind() -> None:
    payloads: dict[str, dict[str, Any]] = {
        "ack": {"prompt": "last", "action": "done"},
        "symptom": {"level": "green"},
        "dnd": {"minutes": 30},
        "plan": {"clear_alert": True, "by": "a", "why": "b"},
        "day": {"event": "up"},
        "exercise": {},
    }
    assert set(payloads) == set(COMMAND_KINDS)
    for kind, obj in payloads.items():
        parsed = parse(kind, {**obj, "id": "c-42"})
        assert parsed.cmd_id == "c-42"
        assert parse(kind, obj).cmd_id is None
    assert "id must be" in rejected("dnd", {"minutes": 1, "id": ""})
    assert "id must be" in rejected("dnd", {"minutes": 1, "id": 42})
    assert "id must be" in rejected("dnd", {"minutes": 1, "id": "x" * 129})
    assert parse("dnd", {"minutes": 1, "id": "x" * 128}).cmd_id == "x" * 128


def test_payload_as_text_bytes_or_mapping() -> None:
    expected = ParsedCommand(Dnd(15), None)
    assert parse_command("dnd", '{"minutes": 15}') == expected
    assert parse_command("dnd", b'{"minutes": 15}') == expected
    assert parse_command("dnd", {"minutes": 15}) == expected
    assert parse_command("dnd", '  {"minutes": 15}\n') == expected


# --- exact JSON types --------------------------------------------------------------


def test_numbers_must_be_json_integers() -> None:
    msg = rejected("ack", {"prompt": "p", "action": "snooze", "minutes": "60"})
    assert msg == 'minutes must be a whole number from 1 to 120 (the snooze length), got "60"'
    assert "got true" in rejected("ack", {"prompt": "p", "action": "snooze", "minutes": True})
    assert "got 60.0" in rejected("ack", {"prompt": "p", "action": "snooze", "minutes": 60.0})
    assert "got 1.5" in rejected("dnd", {"minutes": 1.5})
    assert "got true" in rejected("symptom", {"level": "red", "pain": True})
    assert "got \"3\"" in rejected("symptom", {"level": "red", "pain": "3"})


def test_null_is_not_a_value() -> None:
    msg = rejected("ack", {"prompt": "p", "action": "snooze", "minutes": None})
    assert "got null" in msg
    assert "leave the key out" in msg
    assert "pain must be a whole number from 0 to 10, got null" in rejected(
        "symptom", {"level": "red", "pain": None}
    )


def test_strings_and_bools_must_be_exact() -> None:
    assert 'got "Done"' in rejected("ack", {"prompt": "p", "action": "Done"})
    assert "got 1" in rejected("ack", {"prompt": 1, "action": "done"})
    msg = rejected("symptom", {"level": "orange"})
    assert msg == 'level must be one of "green", "amber", "red", got "orange"'
    msg = rejected("plan", {"clear_alert": 1, "by": "a", "why": "b"})
    assert msg == "clear_alert must be true or false, got 1"


# --- ranges: rejected at the edge, never clamped -----------------------------------


@pytest.mark.parametrize(
    ("kind", "obj", "expected"),
    [
        ("ack", {"prompt": "p", "action": "snooze", "minutes": 0}, "from 1 to 120"),
        ("ack", {"prompt": "p", "action": "snooze", "minutes": 121}, "from 1 to 120"),
        ("dnd", {"minutes": -1}, "from 0 to 1440"),
        ("dnd", {"minutes": DND_MAX_MIN + 1}, "from 0 to 1440"),
        ("symptom", {"level": "red", "pain": -1}, "from 0 to 10"),
        ("symptom", {"level": "red", "pain": 11}, "from 0 to 10"),
    ],
)
def test_out_of_range(kind: str, obj: dict[str, Any], expected: str) -> None:
    msg = rejected(kind, obj)
    assert expected in msg
    assert msg.endswith(f"got {next(v for k, v in obj.items() if isinstance(v, int))}")


def test_snooze_minutes_only_with_snooze() -> None:
    for action in ("done", "dismiss"):
        msg = rejected("ack", {"prompt": "p", "action": action, "minutes": 15})
        assert msg.startswith('minutes goes only with action "snooze"')


def test_prompt_id_must_not_be_empty() -> None:
    assert 'got ""' in rejected("ack", {"prompt": "", "action": "done"})


# --- keys ----------------------------------------------------------------------------


def test_unknown_keys_rejected() -> None:
    msg = rejected("dnd", {"minutes": 5, "minuets": 5})
    assert msg == 'unknown key "minuets"; a dnd command takes minutes'
    msg = rejected("ack", {"prompt": "p", "action": "done", "actoin": "done"})
    assert 'unknown key "actoin"' in msg
    assert "prompt, action, minutes" in msg


def test_replay_keys_not_accepted_by_the_parser() -> None:
    for key in ("time", "type"):
        msg = rejected("dnd", {"minutes": 5, key: "x"})
        assert f'unknown key "{key}"' in msg


def test_missing_keys() -> None:
    assert rejected("dnd", {}) == (
        "minutes is required: a whole number from 0 to 1440 (0 ends do-not-disturb now)"
    )
    msg = rejected("ack", {"prompt": "p"})
    assert msg.startswith("action is required: one of")


def test_repeated_json_key_rejected() -> None:
    msg = rejected("dnd", b'{"minutes": 5, "minutes": 600}')
    assert msg == 'the key "minutes" appears twice; give each key once'


def test_unknown_red_flag_lists_the_valid_ones() -> None:
    msg = rejected("symptom", {"level": "red", "red_flags": ["saddle_numbness", "headache"]})
    assert msg.startswith('unknown red flag "headache"; the red flags are: ')
    for flag in RED_FLAGS:
        assert flag in msg
    assert "red_flags must be a list" in rejected(
        "symptom", {"level": "red", "red_flags": "saddle_numbness"}
    )
    assert "red_flags must be a list" in rejected("symptom", {"level": "red", "red_flags": [3]})


def test_unknown_command_kind() -> None:
    with pytest.raises(CommandRejected, match="unknown command"):
        parse_command("reboot", b"{}")


# --- the payload itself ----------------------------------------------------------------


@pytest.mark.parametrize("payload", [b"", b"   \n", ""])
def test_empty_payload(payload: bytes | str) -> None:
    assert "empty" in rejected("dnd", payload)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"minutes=5", "not valid JSON"),
        (b'{"minutes": 5', "not valid JSON"),
        (b"[5]", "must be a JSON object"),
        (b'"minutes"', "must be a JSON object"),
        (b"5", "must be a JSON object"),
        (b"null", "must be a JSON object"),
        (b'{"minutes": NaN}', "NaN is not a JSON number"),
        (b'{"minutes": Infinity}', "Infinity is not a JSON number"),
        (b'{"minutes": 1e999}', "too large"),
        (b'{"minutes": 5}\xff', "not UTF-8"),
        (b'{"prompt": "\xc3\x28"}', "not UTF-8"),
        (b"[" * 5000 + b"]" * 5000, "nested too deeply"),
    ],
)
def test_bad_payloads(payload: bytes, expected: str) -> None:
    assert expected in rejected("dnd", payload)


def test_lone_surrogate_text_rejected() -> None:
    assert "not UTF-8" in rejected("dnd", '{"minutes": 5, "id": "\ud800"}')


def _padded(size: int) -> bytes:
    """A valid dnd payload of exactly ``size`` bytes."""
    head = b'{"minutes": 5}'
    return head + b" " * (size - len(head))


def test_size_limit_edge() -> None:
    assert MAX_PAYLOAD_BYTES == 16384
    assert parse_command("dnd", _padded(MAX_PAYLOAD_BYTES)).command == Dnd(5)
    msg = rejected("dnd", _padded(MAX_PAYLOAD_BYTES + 1))
    assert msg == "the payload is 16385 bytes; at most 16384 (16 KiB) are accepted"
    # counted in UTF-8 bytes, not characters: 16384 characters, 16385 bytes
    text = '{"minutes": 5, "id": "é"}'
    text += " " * (MAX_PAYLOAD_BYTES + 1 - len(text.encode()))
    assert len(text) == MAX_PAYLOAD_BYTES < len(text.encode())
    assert "16385 bytes" in rejected("dnd", text)


def test_size_checked_before_parsing() -> None:
    # not JSON at all, but too large is what is reported
    assert "at most 16384" in rejected("dnd", b"x" * (MAX_PAYLOAD_BYTES + 1))


def test_mapping_keys_must_be_strings() -> None:
    with pytest.raises(CommandRejected, match="must be a string"):
        parse_command("dnd", {1: 5})  # type: ignore[dict-item]


def test_command_rejected_is_bad_input() -> None:
    assert issubclass(CommandRejected, BadInput)


# --- plan changes -----------------------------------------------------------------------


def test_plan_needs_something_to_do() -> None:
    expected = 'a plan change needs "set" (an object of settings) or "clear_alert": true'
    assert rejected("plan", {"by": "a", "why": "b"}) == expected
    assert rejected("plan", {"by": "a", "why": "b", "set": {}}) == expected
    assert rejected("plan", {"by": "a", "why": "b", "clear_alert": False}) == expected


def test_plan_by_and_why_required_and_not_blank() -> None:
    base = {"clear_alert": True, "by": "a", "why": "b"}
    assert "by is required" in rejected("plan", {k: v for k, v in base.items() if k != "by"})
    assert "why is required" in rejected("plan", {k: v for k, v in base.items() if k != "why"})
    assert "must not be empty" in rejected("plan", {**base, "by": ""})
    assert "must not be empty" in rejected("plan", {**base, "why": "  "})
    assert "by must be a non-empty string" in rejected("plan", {**base, "by": 7})


def plan_set(settings: Any) -> dict[str, Any]:
    return {"set": settings, "by": "physio", "why": "review"}


def test_plan_set_must_be_an_object() -> None:
    assert "set must be an object of settings" in rejected("plan", plan_set([1]))


def test_plan_unknown_setting_names_the_nearest() -> None:
    msg = rejected("plan", plan_set({"sitting.limt_min": 30}))
    assert msg.startswith('unknown setting "sitting.limt_min"; did you mean sitting.limit_min?')
    msg = rejected("plan", plan_set({"siting.limit_min": 30}))
    assert "did you mean [sitting]?" in msg
    assert "name a setting as table.key" in rejected("plan", plan_set({"limit_min": 30}))
    # shell tables are not plan settings
    assert 'unknown setting "mqtt.url"' in rejected("plan", plan_set({"mqtt.url": "mqtt://x"}))
    assert 'unknown setting "user.timezone"' in rejected("plan", plan_set({"user.timezone": "UTC"}))


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        (
            "sitting.limit_min",
            9,
            "set: sitting.limit_min must be a whole number from 10 to 120, got 9",
        ),
        ("sitting.limit_min", 121, "from 10 to 120, got 121"),
        ("sitting.max_repeats", 11, "set: sitting.max_repeats must be a whole number from 0 to 10"),
        ("sitting.limit_min", "30", 'got "30"'),
        ("sitting.limit_min", 30.0, "got 30.0"),
        ("sitting.limit_min", True, "got true"),
        ("plan.ceiling", 3.01, "set: plan.ceiling must be a number from 1 to 3, got 3.01"),
        ("boom.factor", 1.04, "set: boom.factor must be a number from 1.05 to 3, got 1.04"),
        ("walks.min_duration_min", 61, "from 1 to 60, got 61"),
        ("prompts.max_per_day", 31, "from 1 to 30, got 31"),
        ("plan.floor", 0.09, "from 0.1 to 1, got 0.09"),
        ("plan.weekly_increment", True, "got true"),
        ("plan.review_day", "Monday", 'one of "monday", "tuesday"'),
        ("pacing.floor_check_time", "25:00", 'must be a clock time "HH:MM", got "25:00"'),
        ("pacing.floor_check_time", "4pm", 'got "4pm"'),
        ("pacing.floor_check_time", 1600, "got 1600"),
        ("walks.times", ["10:00", 14], 'must be a list of clock times "HH:MM"'),
        ("walks.times", "10:00", 'must be a list of clock times "HH:MM", got "10:00"'),
    ],
)
def test_plan_values_checked_by_the_config_model(name: str, value: Any, expected: str) -> None:
    assert expected in rejected("plan", plan_set({name: value}))


def test_plan_values_at_the_range_edges_pass() -> None:
    ok: dict[str, Any] = {
        "sitting.limit_min": 10, "plan.ceiling": 3.0, "plan.floor": 0.1, "prompts.min_gap_min": 0,
        "sitting.max_repeats": 3, "boom.factor": 1.1, "walks.min_duration_min": 2,
    }
    assert parse("plan", plan_set(ok)).command == PlanChange("physio", "review", set=ok)
    ok = {"sitting.limit_min": 120, "plan.ceiling": 1, "day.wake": "06:00"}
    assert parse("plan", plan_set(ok)).command == PlanChange("physio", "review", set=ok)


def test_plan_reports_every_bad_setting() -> None:
    msg = rejected("plan", plan_set({"sitting.limit_min": 5, "boom.factr": 2, "settle.hours": 200}))
    assert msg.count("; ") >= 2
    assert "sitting.limit_min" in msg
    assert "boom.factr" in msg
    assert "settle.hours" in msg


def test_relations_between_settings_wait_for_the_rules_in_force() -> None:
    # two walks need two times; whether the times in force fit is known only
    # when the change is applied
    assert check_settings({"walks.per_day": 2}) == {"walks.per_day": 2}
    with pytest.raises(CommandRejected, match=r"set: walks: times lists 3 reminder time\(s\)"):
        apply_settings(Rules(), {"walks.per_day": 2})
    rules = apply_settings(Rules(), {"walks.per_day": 2, "walks.times": ["09:00", "13:00"]})
    assert rules.walks.per_day == 2
    assert rules.walks.times == (time(9, 0), time(13, 0))
    with pytest.raises(CommandRejected, match="wake must come before sleep"):
        apply_settings(Rules(), {"day.wake": "22:00"})


def test_apply_settings_converts_and_keeps_the_rest() -> None:
    base = Rules()
    rules = apply_settings(base, {"pacing.floor_check_time": "15:30", "sitting.limit_min": 30})
    assert rules.pacing.floor_check_time == time(15, 30)
    assert rules.sitting.limit_min == 30
    assert rules.sitting.break_min == base.sitting.break_min
    assert rules.walks == base.walks
    assert base.sitting.limit_min == 40  # unchanged
    # applied on top of the rules in force, not the defaults
    later = apply_settings(rules, {"sitting.break_min": 3})
    assert (later.sitting.limit_min, later.sitting.break_min) == (30, 3)
    with pytest.raises(CommandRejected, match="unknown setting"):
        apply_settings(base, {"sitting.limt_min": 30})
    with pytest.raises(CommandRejected, match=r"sitting\.limit_min"):
        apply_settings(base, {"sitting.limit_min": 500})


# --- text that is not Unicode (issue 19, item 6) -----------------------------------

LONE = "\ud800"  # json.dumps writes it as the escape \ud800, which json.loads decodes back


@pytest.mark.parametrize(
    ("kind", "obj", "field"),
    [
        ("ack", {"prompt": LONE, "action": "done"}, "prompt"),
        ("ack", {"prompt": "last", "action": "done", "id": "c" + LONE}, "id"),
        ("ack", {"prompt": "last", "action": LONE}, "action"),
        ("symptom", {"level": LONE}, "level"),
        ("symptom", {"level": "amber", "red_flags": ["chest_pain", LONE]}, "red_flags[1]"),
        ("symptom", {"level": "amber", "id": "\udfff"}, "id"),
        ("dnd", {"minutes": 5, "id": LONE}, "id"),
        ("day", {"event": LONE}, "event"),
        ("exercise", {"what": "bridges" + LONE}, "what"),
        ("plan", {"by": "jo", "why": "w", "clear_alert": True, "message": LONE}, "message"),
        ("plan", {"by": "physio-jo", "why": LONE, "set": {"sitting.limit_min": 40}}, "why"),
        ("plan", {"by": LONE + "jo", "why": "flare", "clear_alert": True}, "by"),
        ("plan", {"by": "jo", "why": "flare", "set": {"day.wake": "0" + LONE}},
         'set["day.wake"]'),
        ("plan", {"by": "jo", "why": "flare", "set": {"x": {"y": [1, {"z": LONE}]}}},
         'set["x"]["y"][1]["z"]'),
    ],
)
def test_a_lone_surrogate_is_refused_naming_its_field(
    kind: str, obj: dict[str, Any], field: str
) -> None:
    raw = json.dumps(obj)
    assert "\\ud" in raw or "\\udfff" in raw  # the JSON escape, valid ASCII on the wire
    for payload in (raw, raw.encode(), json.loads(raw)):
        with pytest.raises(CommandRejected) as info:
            parse_command(kind, payload)
        msg = str(info.value)
        assert f"{field} is not valid Unicode text" in msg, msg
        msg.encode("utf-8")  # the message itself can be printed and published


@pytest.mark.parametrize(
    ("kind", "obj", "where"),
    [
        ("plan", {"by": "jo", "why": "w", "set": {"sitting." + LONE: 40}}, "a key in set"),
        ("dnd", {"minutes": 5, LONE: 1}, "a key of the payload"),
        ("symptom", {"level": "amber", "x": {LONE: {}}}, 'a key in x'),
    ],
)
def test_a_lone_surrogate_in_a_key_is_refused(kind: str, obj: dict[str, Any], where: str) -> None:
    msg = rejected(kind, json.dumps(obj))
    assert f"{where} is not valid Unicode text" in msg, msg
    assert "\\ud800" in msg  # shown escaped
    msg.encode("utf-8")


def test_a_surrogate_pair_escape_is_a_character() -> None:
    """\\ud83d\\ude00 is one character (an emoji), valid text: accepted."""
    raw = '{"by": "jo", "why": "flare \\ud83d\\ude00", "set": {"sitting.limit_min": 40}}'
    command = parse_command("plan", raw).command
    assert isinstance(command, PlanChange)
    assert command.why == "flare \U0001f600"


# --- v2: day events, exercise sessions, a plan change's message (interfaces.md 8.2) -----


def test_day_event_forms() -> None:
    assert parse("day", {"event": "up"}) == ParsedCommand(DayEvent("up"), None)
    assert parse("day", {"event": "bed", "id": "d-1"}) == ParsedCommand(DayEvent("bed"), "d-1")


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ({}, 'event is required: "up" (I am up) or "bed" (I am going to bed)'),
        ({"event": "Up"}, 'event must be "up" (I am up) or "bed" (I am going to bed), got "Up"'),
        ({"event": "wake"}, 'got "wake"'),
        ({"event": 1}, "got 1"),
        ({"event": True}, "got true"),
        ({"event": ["up"]}, 'got ["up"]'),
        ({"event": None}, "got null (leave the key out instead)"),
        ({"event": "up", "time": "07:00"}, 'unknown key "time"; a day event takes event'),
        ({"event": "up", "minutes": 5}, 'unknown key "minutes"'),
    ],
)
def test_day_event_refusals(obj: dict[str, Any], expected: str) -> None:
    assert expected in rejected("day", obj)


def test_exercise_forms() -> None:
    # One tap, "done my exercises": neither field is needed.
    assert parse("exercise", {}).command == Exercise()
    assert parse("exercise", {"minutes": 20, "what": "bridges and cat-camel"}).command == (
        Exercise(20, "bridges and cat-camel"))
    assert parse("exercise", {"minutes": 1}).command == Exercise(1)
    assert parse("exercise", {"minutes": EXERCISE_MAX_MIN}).command == Exercise(600)
    text = "é" * EXERCISE_TEXT_MAX  # counted in characters, not bytes
    assert parse("exercise", {"what": text}).command == Exercise(what=text)
    assert parse("exercise", {"what": "squats 😀"}).command == Exercise(what="squats 😀")


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ({"minutes": 0}, "minutes must be a whole number from 1 to 600 (the session's length), "
                         "got 0"),
        ({"minutes": EXERCISE_MAX_MIN + 1}, "from 1 to 600 (the session's length), got 601"),
        ({"minutes": -5}, "got -5"),
        ({"minutes": "20"}, 'got "20"'),
        ({"minutes": 20.0}, "got 20.0"),
        ({"minutes": True}, "got true"),
        ({"minutes": None}, "got null (leave the key out instead)"),
        ({"what": 5}, "what must be text of 1 to 200 characters (what you did), got 5"),
        ({"what": ""}, 'got ""'),
        ({"what": "   "}, "what (what you did) must not be empty"),
        ({"what": "x" * (EXERCISE_TEXT_MAX + 1)}, "what must be text of 1 to 200 characters"),
        ({"what": "bridges\nsquats"}, "what (what you did) must be plain text, without control "
                                      'characters; it holds "\\n"'),
        ({"what": "a\x1b[2J"}, 'it holds "\\u001b"'),
        ({"what": "a\x00"}, 'it holds "\\u0000"'),
        ({"what": "a\x9b"}, 'it holds "\\u009b"'),  # a C1 control too
        ({"what": None}, "got null (leave the key out instead)"),
        ({"minuets": 20}, 'unknown key "minuets"; an exercise session takes minutes, what'),
        ({"minutes": 20, "type": "exercise"}, 'unknown key "type"'),
    ],
)
def test_exercise_refusals(obj: dict[str, Any], expected: str) -> None:
    assert expected in rejected("exercise", obj)


@pytest.mark.parametrize("kind", ["day", "exercise"])
@pytest.mark.parametrize(("payload", "expected"), [
    (b"", "the payload is empty"), (b"  ", "the payload is empty"),
    (b"[]", "must be a JSON object"), (b"null", "must be a JSON object"),
    (b'{"event": "up", "event": "bed"}', 'the key "event" appears twice'),
    (b'{"minutes": NaN}', "NaN is not a JSON number"),
])
def test_new_commands_share_the_payload_rules(kind: str, payload: bytes, expected: str) -> None:
    assert expected in rejected(kind, payload)
    assert "at most 16384" in rejected(kind, b'{"what": "' + b"x" * MAX_PAYLOAD_BYTES + b'"}')


def test_plan_message() -> None:
    base = {"by": "physio", "why": "flare-up: fewer steps for a week",
            "set": {"plan.quota": 3000}}
    assert parse("plan", base).command == PlanChange(
        by="physio", why="flare-up: fewer steps for a week", set={"plan.quota": 3000})
    words = "Let's ease off for a week.\nWe'll build up again after."
    cmd = parse("plan", {**base, "message": words}).command
    assert isinstance(cmd, PlanChange)
    assert cmd.message == words
    assert cmd.why == base["why"]  # the record keeps its own reason
    assert parse("plan", {**base, "message": "x" * PLAN_MESSAGE_MAX}).command == PlanChange(
        by="physio", why=base["why"], set={"plan.quota": 3000}, message="x" * 500)
    # A message alone changes nothing, so it is not a plan change on its own.
    assert rejected("plan", {"by": "a", "why": "b", "message": "hello"}).startswith(
        'a plan change needs "set"')


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("x" * (PLAN_MESSAGE_MAX + 1), "message must be text of 1 to 500 characters "
                                       "(shown to the person)"),
        ("", 'got ""'),
        (" \n ", "message (shown to the person) must not be empty"),
        (7, "got 7"),
        (["hi"], 'got ["hi"]'),
        (None, "got null (leave the key out instead)"),
        ("tab\there", "message (shown to the person) must be plain text, without control "
                      'characters (a line break is allowed); it holds "\\t"'),
        ("bell\x07", 'it holds "\\u0007"'),
        ("cr\r\n", 'it holds "\\r"'),
        ("\x1b]8;;http://x\x1b\\link", 'it holds "\\u001b"'),
    ],
)
def test_plan_message_refusals(message: Any, expected: str) -> None:
    obj = {"by": "a", "why": "b", "clear_alert": True, "message": message}
    assert expected in rejected("plan", obj)


def test_the_daemon_routes_the_new_topics() -> None:
    """The daemon subscribes to cmd/+ and reads the kind from the topic."""
    day = read_command("pacer/alice/cmd/day", b'{"event": "bed", "id": "b-1"}', plan_editors=())
    assert day == ParsedCommand(DayEvent("bed"), "b-1")
    done = read_command("pacer/alice/cmd/exercise", b"{}", plan_editors=())
    assert done == ParsedCommand(Exercise(), None)
    with pytest.raises(CommandRejected) as info:
        read_command("pacer/alice/cmd/exercises", b"{}", plan_editors=())
    assert str(info.value) == (
        "unknown command 'exercises'; the command topics are cmd/ack, cmd/symptom, cmd/dnd, "
        "cmd/plan, cmd/day, cmd/exercise")
    # A plan's message does not get past the plan-editor check either.
    with pytest.raises(CommandRejected, match="'bob' may not change this plan"):
        read_command("pacer/alice/cmd/plan", json.dumps(
            {"by": "bob", "why": "w", "clear_alert": True, "message": "hi"}).encode(),
            plan_editors=("physio",))
