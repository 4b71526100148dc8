"""Replay input files (interfaces.md section 3): the minutes CSV and the events
JSON-lines file, good and bad, each problem named by its line."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from pacer.engine.model import (
    Ack,
    DayEvent,
    Dnd,
    Epoch,
    Exercise,
    PlanChange,
    Posture,
    Symptom,
)
from pacer.errors import InputFileError
from pacer.io.events import TimedCommand, read_events
from pacer.io.minutes import fill_gaps, read_minutes
from pacer.timebase import minute_of

M0 = minute_of(datetime.fromisoformat("2026-11-23T09:00:00+11:00"))


def write(tmp_path: Path, text: str | bytes, name: str = "minutes.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8", newline="")
    else:
        path.write_bytes(text)
    return path


def bad_minutes(tmp_path: Path, text: str | bytes) -> InputFileError:
    path = write(tmp_path, text)
    with pytest.raises(InputFileError) as info:
        list(read_minutes(path))
    assert info.value.path == str(path)
    return info.value


# --- minutes: good files ---------------------------------------------------------------


def test_minutes_explicit_postures(tmp_path: Path) -> None:
    rows = [
        ("sitting", Posture.SEDENTARY), ("lying", Posture.LYING),
        ("sedentary", Posture.SEDENTARY), ("standing", Posture.UPRIGHT),
        ("upright", Posture.UPRIGHT), ("walking", Posture.STEPPING),
        ("running", Posture.STEPPING), ("stepping", Posture.STEPPING),
        ("unknown", Posture.UNKNOWN),
    ]
    text = "time,steps,posture\n" + "".join(
        f"2026-11-23T09:{i:02d}:00+11:00,{i},{name}\n" for i, (name, _) in enumerate(rows)
    )
    epochs = list(read_minutes(write(tmp_path, text)))
    # an explicit posture is never inferred, and its steps are kept as given
    assert epochs == [Epoch(M0 + i, i, p, inferred=False) for i, (_, p) in enumerate(rows)]


def test_minutes_empty_posture_derived_from_steps(tmp_path: Path) -> None:
    text = (
        "time,steps,posture\n"
        "2026-11-23T09:00:00+11:00,0,\n"
        "2026-11-23T09:01:00+11:00,1,\n"
        "2026-11-23T09:02:00+11:00,19,\n"
        "2026-11-23T09:03:00+11:00,20,\n"
        "2026-11-23T09:04:00+11:00,130,\n"
    )
    epochs = list(read_minutes(write(tmp_path, text)))
    steps = (0, 1, 19, 20, 130)
    assert epochs == [Epoch.from_steps(M0 + i, n) for i, n in enumerate(steps)]
    assert [e.posture for e in epochs] == [Posture.SEDENTARY, Posture.UPRIGHT, Posture.UPRIGHT,
                                           Posture.STEPPING, Posture.STEPPING]


def test_minutes_offsets_give_the_instant(tmp_path: Path) -> None:
    # the same instants written in three offsets, one of them Z
    text = (
        "time,steps,posture\n"
        "2026-11-22T22:00:00Z,0,sitting\n"
        "2026-11-23T09:01:00+11:00,0,sitting\n"
        "2026-11-22T17:02-05:00,0,sitting\n"  # seconds may be left out
    )
    assert [e.start for e in read_minutes(write(tmp_path, text))] == [M0, M0 + 1, M0 + 2]


def test_minutes_tolerated_forms(tmp_path: Path) -> None:
    # a BOM, CRLF line ends, spaces around values, a quoted cell, blank lines
    text = (
        "\ufefftime, steps, posture\r\n"
        "2026-11-23T09:00:00+11:00, 5 , standing\r\n"
        "\r\n"
        '"2026-11-23T09:01:00+11:00",0,"sitting"\r\n'
        "\n"
    )
    assert list(read_minutes(write(tmp_path, text))) == [
        Epoch(M0, 5, Posture.UPRIGHT),
        Epoch(M0 + 1, 0, Posture.SEDENTARY),
    ]


def test_minutes_header_only_is_no_minutes(tmp_path: Path) -> None:
    assert list(read_minutes(write(tmp_path, "time,steps,posture\n"))) == []


def test_fill_gaps(tmp_path: Path) -> None:
    text = (
        "time,steps,posture\n"
        "2026-11-23T09:00:00+11:00,3,\n"
        "2026-11-23T09:01:00+11:00,0,sitting\n"
        "2026-11-23T09:04:00+11:00,50,\n"
        "2026-11-23T09:05:00+11:00,0,unknown\n"
    )
    epochs = list(fill_gaps(read_minutes(write(tmp_path, text))))
    assert epochs == [
        Epoch.from_steps(M0, 3),
        Epoch(M0 + 1, 0, Posture.SEDENTARY),
        Epoch.unknown(M0 + 2),
        Epoch.unknown(M0 + 3),
        Epoch.from_steps(M0 + 4, 50),
        Epoch(M0 + 5, 0, Posture.UNKNOWN),
    ]
    # the same, filled as it is read
    assert list(read_minutes(write(tmp_path, text), filled=True)) == epochs


def test_fill_gaps_edges() -> None:
    assert list(fill_gaps([])) == []
    one = Epoch(M0, 0, Posture.SEDENTARY)
    assert list(fill_gaps([one])) == [one]
    with pytest.raises(ValueError, match="out of order"):
        list(fill_gaps([one, one]))


def test_minutes_streamed(tmp_path: Path) -> None:
    # a bad row far down does not stop the first epochs from being read
    text = "time,steps,posture\n2026-11-23T09:00:00+11:00,0,\n" + "garbage\n"
    it = read_minutes(write(tmp_path, text))
    assert next(it) == Epoch(M0, 0, Posture.SEDENTARY, inferred=True)
    with pytest.raises(InputFileError):
        next(it)


def test_minutes_a_day_of_rows(tmp_path: Path) -> None:
    lines = ["time,steps,posture"]
    for i in range(1440):
        lines.append(f"2026-11-23T{i // 60:02d}:{i % 60:02d}:00Z,{i % 40},")
    epochs = list(read_minutes(write(tmp_path, "\n".join(lines) + "\n")))
    assert len(epochs) == 1440
    assert epochs[-1].start - epochs[0].start == 1439


# --- minutes: bad rows name their line -------------------------------------------------

GOOD = "2026-11-23T09:00:00+11:00,0,sitting\n"


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("2026-11-23T09:01:00,0,sitting", "has no UTC offset"),
        ("2026-11-23,0,sitting", "has no UTC offset"),
        ("2026-11-23T09:01:30+11:00,0,sitting", "not on a whole minute"),
        ("2026-11-23T09:01:00.5+11:00,0,sitting", "not on a whole minute"),
        ("yesterday,0,sitting", "not an ISO 8601 date and time"),
        (",0,sitting", "not an ISO 8601 date and time"),
        ("2026-11-23T09:01:00+11:00,1.5,sitting", "steps '1.5' is not a whole number of 0 or more"),
        ("2026-11-23T09:01:00+11:00,-3,sitting", "steps '-3'"),
        ("2026-11-23T09:01:00+11:00,abc,sitting", "steps 'abc'"),
        ("2026-11-23T09:01:00+11:00,,sitting", "steps ''"),
        ("2026-11-23T09:01:00+11:00,+3,sitting", "steps '+3'"),
        ("2026-11-23T09:01:00+11:00,\u0663,sitting", "is not a whole number"),  # Arabic 3
        ("2026-11-23T09:01:00+11:00,0,sleeping", "posture 'sleeping' is not one of sitting"),
        ("2026-11-23T09:01:00+11:00,0,Sitting", "posture 'Sitting'"),
        ("2026-11-23T09:01:00+11:00,0", "expected 3 values (time,steps,posture), got 2"),
        ("2026-11-23T09:01:00+11:00,0,sitting,extra", "got 4"),
        ("2026-11-23T09:00:00+11:00,0,sitting", "is not after the previous row's"),
        ("2026-11-23T08:59:00+11:00,0,sitting", "increasing time order"),
        ("2026-11-22T22:00:00Z,0,sitting", "increasing time order"),  # the same instant
    ],
)
def test_minutes_bad_row(tmp_path: Path, row: str, expected: str) -> None:
    err = bad_minutes(tmp_path, "time,steps,posture\n" + GOOD + row + "\n")
    assert err.line == 3
    assert expected in err.message
    assert str(err).startswith(f"{err.path}:3: ")


def test_minutes_bad_posture_lists_the_valid_ones(tmp_path: Path) -> None:
    err = bad_minutes(tmp_path, "time,steps,posture\n2026-11-23T09:00:00+11:00,0,sat\n")
    names = "sitting lying standing walking running sedentary upright stepping unknown"
    assert names in err.message
    assert "or empty" in err.message


def test_minutes_order_error_names_the_previous_row(tmp_path: Path) -> None:
    text = "time,steps,posture\n" + GOOD + "\n" + GOOD
    err = bad_minutes(tmp_path, text)
    assert err.line == 4
    assert "2026-11-23T09:00:00+11:00, line 2" in err.message


@pytest.mark.parametrize(
    "header",
    ["time,steps", "time,posture,steps", "Time,Steps,Posture", "t,x,y,z", "time,steps,posture,x"],
)
def test_minutes_bad_header(tmp_path: Path, header: str) -> None:
    err = bad_minutes(tmp_path, header + "\n" + GOOD)
    assert err.line == 1
    assert "the header must be time,steps,posture" in err.message


def test_minutes_empty_file(tmp_path: Path) -> None:
    err = bad_minutes(tmp_path, "")
    assert err.line == 1
    assert "empty" in err.message


def test_minutes_bad_utf8_names_its_line(tmp_path: Path) -> None:
    err = bad_minutes(tmp_path, b"time,steps,posture\n" + GOOD.encode() + b"\xff\xfe,0,\n")
    assert err.line == 3
    assert "UTF-8" in err.message


def test_minutes_nul_byte(tmp_path: Path) -> None:
    err = bad_minutes(tmp_path, "time,steps,posture\n" + GOOD + "2026\x00,0,\n")
    assert err.line == 3


def test_minutes_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="cannot read the minutes file") as info:
        list(read_minutes(tmp_path / "nope.csv"))
    assert info.value.line is None


# --- events ---------------------------------------------------------------------------


def events_file(tmp_path: Path, *lines: Any) -> Path:
    text = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n"
    return write(tmp_path, text, "events.jsonl")


def bad_events(tmp_path: Path, *lines: Any) -> InputFileError:
    path = events_file(tmp_path, *lines)
    with pytest.raises(InputFileError) as info:
        read_events(path)
    assert info.value.path == str(path)
    return info.value


def at(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def test_events_good(tmp_path: Path) -> None:
    path = events_file(
        tmp_path,
        {"time": "2026-11-23T09:00:00+11:00", "type": "symptom", "level": "red",
         "red_flags": ["saddle_numbness"], "pain": 7},
        "",
        {"time": "2026-11-23T09:41:10+11:00", "type": "ack", "prompt": "last",
         "action": "snooze", "minutes": 15},
        "   ",
        {"time": "2026-11-22T22:41:10Z", "type": "dnd", "minutes": 60},  # same instant
        {"time": "2026-11-23T10:00:00+11:00", "type": "plan", "set": {"sitting.limit_min": 30},
         "by": "physio", "why": "flare-up"},
        {"time": "2026-11-23T10:00:00+11:00", "type": "plan", "clear_alert": True,
         "by": "physio", "why": "seen by GP", "id": "c-1"},
    )
    assert read_events(path) == [
        TimedCommand(at("2026-11-23T09:00:00+11:00"),
                     Symptom("red", ("saddle_numbness",), 7), 1),
        TimedCommand(at("2026-11-23T09:41:10+11:00"), Ack("last", "snooze", 15), 3),
        TimedCommand(at("2026-11-23T09:41:10+11:00"), Dnd(60), 5),
        TimedCommand(at("2026-11-23T10:00:00+11:00"),
                     PlanChange("physio", "flare-up", {"sitting.limit_min": 30}), 6),
        TimedCommand(at("2026-11-23T10:00:00+11:00"),
                     PlanChange("physio", "seen by GP", clear_alert=True), 7),
    ]


def test_events_v2_day_exercise_and_plan_message(tmp_path: Path) -> None:
    """interfaces.md section 8.2: the day and exercise events, a plan's message."""
    path = events_file(
        tmp_path,
        {"time": "2026-11-23T06:50:00+11:00", "type": "day", "event": "up"},
        {"time": "2026-11-23T13:00:00+11:00", "type": "day", "event": "bed"},  # a nap
        {"time": "2026-11-23T14:10:00+11:00", "type": "day", "event": "up", "id": "d-2"},
        {"time": "2026-11-23T18:00:00+11:00", "type": "exercise"},
        {"time": "2026-11-23T18:30:00+11:00", "type": "exercise", "minutes": 20,
         "what": "bridges, cat-camel"},
        {"time": "2026-11-23T19:00:00+11:00", "type": "plan", "set": {"plan.quota": 3000},
         "by": "physio", "why": "flare", "message": "A gentler week: 3,000 steps a day."},
        {"time": "2026-11-23T22:00:00+11:00", "type": "day", "event": "bed"},
    )
    assert read_events(path) == [
        TimedCommand(at("2026-11-23T06:50:00+11:00"), DayEvent("up"), 1),
        TimedCommand(at("2026-11-23T13:00:00+11:00"), DayEvent("bed"), 2),
        TimedCommand(at("2026-11-23T14:10:00+11:00"), DayEvent("up"), 3),
        TimedCommand(at("2026-11-23T18:00:00+11:00"), Exercise(), 4),
        TimedCommand(at("2026-11-23T18:30:00+11:00"), Exercise(20, "bridges, cat-camel"), 5),
        TimedCommand(at("2026-11-23T19:00:00+11:00"),
                     PlanChange("physio", "flare", {"plan.quota": 3000},
                                message="A gentler week: 3,000 steps a day."), 6),
        TimedCommand(at("2026-11-23T22:00:00+11:00"), DayEvent("bed"), 7),
    ]


def test_events_fractional_seconds_and_bom(tmp_path: Path) -> None:
    line = json.dumps({"time": "2026-11-23T09:00:00.250+11:00", "type": "dnd", "minutes": 0})
    path = write(tmp_path, ("\ufeff" + line + "\r\n").encode(), "events.jsonl")
    assert read_events(path) == [TimedCommand(at("2026-11-23T09:00:00+11:00") + 0.25, Dnd(0), 1)]


def test_events_empty_file(tmp_path: Path) -> None:
    assert read_events(write(tmp_path, "", "events.jsonl")) == []
    assert read_events(write(tmp_path, "\n\n", "events.jsonl")) == []


T = "2026-11-23T09:00:00+11:00"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("not json", "the line is not valid JSON"),
        ('["dnd", 5]', "the line must be a JSON object"),
        ({"type": "dnd", "minutes": 5}, "time is required"),
        ({"time": 5, "type": "dnd", "minutes": 5}, "time must be a string"),
        ({"time": "2026-11-23T09:00:00", "type": "dnd", "minutes": 5}, "has no UTC offset"),
        ({"time": "soon", "type": "dnd", "minutes": 5}, "not an ISO 8601 date and time"),
        ({"time": T, "minutes": 5},
         "type must be one of ack, symptom, dnd, plan, day, exercise, got null"),
        ({"time": T, "type": "snooze", "minutes": 5}, 'got "snooze"'),
        ({"time": T, "type": "dnd", "minutes": "60"},
         'dnd: minutes must be a whole number from 0 to 1440 (0 ends do-not-disturb now), '
         'got "60"'),
        ({"time": T, "type": "dnd", "minutes": 5, "extra": 1}, 'dnd: unknown key "extra"'),
        ({"time": T, "type": "symptom", "level": "red", "red_flags": ["headache"]},
         'symptom: unknown red flag "headache"'),
        ({"time": T, "type": "ack", "prompt": "last", "action": "done", "minutes": 5},
         'ack: minutes goes only with action "snooze"'),
        ({"time": T, "type": "plan", "set": {"sitting.limt_min": 30}, "by": "a", "why": "b"},
         'plan: unknown setting "sitting.limt_min"'),
        ('{"time": "2026-11-23T09:00:00+11:00", "time": "x", "type": "dnd", "minutes": 1}',
         'the key "time" appears twice'),
        ({"time": T, "type": "day"},
         'day: event is required: "up" (I am up) or "bed" (I am going to bed)'),
        ({"time": T, "type": "day", "event": "awake"}, 'day: event must be "up" (I am up) or '
                                                       '"bed" (I am going to bed), got "awake"'),
        ({"time": T, "type": "day", "event": "up", "minutes": 5},
         'day: unknown key "minutes"; a day event takes event'),
        ({"time": T, "type": "exercise", "minutes": "20"},
         "exercise: minutes must be a whole number from 1 to 600 (the session's length), "
         'got "20"'),
        ({"time": T, "type": "exercise", "minutes": 0}, "exercise: minutes must be"),
        ({"time": T, "type": "exercise", "what": "w" * 201},
         "exercise: what must be text of 1 to 200 characters (what you did)"),
        ({"time": T, "type": "exercise", "what": "ok\u0007"},
         "exercise: what (what you did) must be plain text"),
        ({"time": T, "type": "exercise", "reps": 10},
         'exercise: unknown key "reps"; an exercise session takes minutes, what'),
        ({"time": T, "type": "plan", "by": "a", "why": "b", "clear_alert": True,
          "message": "m" * 501}, "plan: message must be text of 1 to 500 characters"),
    ],
)
def test_events_bad_line(tmp_path: Path, line: Any, expected: str) -> None:
    good = {"time": "2026-11-23T08:00:00+11:00", "type": "dnd", "minutes": 5}
    err = bad_events(tmp_path, good, "", line)
    assert err.line == 3
    assert expected in err.message


def test_events_out_of_order(tmp_path: Path) -> None:
    err = bad_events(
        tmp_path,
        {"time": "2026-11-23T09:00:00+11:00", "type": "dnd", "minutes": 5},
        {"time": "2026-11-23T08:59:59+11:00", "type": "dnd", "minutes": 5},
    )
    assert err.line == 2
    assert "before the previous event's (2026-11-23T09:00:00+11:00, line 1)" in err.message


def test_events_bad_utf8_names_its_line(tmp_path: Path) -> None:
    good = json.dumps({"time": T, "type": "dnd", "minutes": 5}).encode()
    path = write(tmp_path, good + b"\n" + b'{"time": "\xff"}\n', "events.jsonl")
    with pytest.raises(InputFileError, match="not UTF-8") as info:
        read_events(path)
    assert info.value.line == 2


def test_events_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="cannot read the events file"):
        read_events(tmp_path / "nope.jsonl")


# --- text that is not Unicode (issue 19, item 6) --------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ({"time": T, "type": "plan", "by": "physio-jo", "why": "\ud800",
          "set": {"sitting.limit_min": 40}}, "why is not valid Unicode text"),
        ({"time": T, "type": "plan", "by": "jo", "why": "w", "set": {"sitting.\udc00": 40}},
         'a key in set is not valid Unicode text ("sitting.\\udc00"'),
        ({"time": T, "type": "symptom", "level": "amber", "red_flags": ["\ud800"]},
         "red_flags[0] is not valid Unicode text"),
        ({"time": T, "type": "ack", "prompt": "\ud800", "action": "done"},
         "prompt is not valid Unicode text"),
        ({"time": T, "type": "dnd", "minutes": 5, "id": "\ud800"}, "id is not valid Unicode"),
        ({"time": "2026-11-23T09:00:00+11:00\ud800", "type": "dnd", "minutes": 5},
         "time is not valid Unicode text"),
        ({"time": T, "type": "\ud800", "minutes": 5}, "type is not valid Unicode text"),
    ],
)
def test_events_lone_surrogate_names_its_line_and_field(
    tmp_path: Path, line: Any, expected: str
) -> None:
    good = {"time": "2026-11-23T08:00:00+11:00", "type": "dnd", "minutes": 5}
    err = bad_events(tmp_path, good, line)
    assert err.line == 2
    assert expected in err.message, err.message
    str(err).encode("utf-8")


def test_replay_refuses_a_lone_surrogate_with_exit_2_and_no_traceback(tmp_path: Path) -> None:
    minutes = write(tmp_path, "time,steps,posture\n2026-11-23T08:00:00+11:00,0,sitting\n")
    events = events_file(
        tmp_path,
        {"time": "2026-11-23T08:00:00+11:00", "type": "dnd", "minutes": 5},
        '{"time": "2026-11-23T09:00:00+11:00", "type": "plan", "by": "physio-jo", '
        '"why": "\\ud800", "set": {"sitting.limit_min": 40}}',
    )
    proc = subprocess.run(
        [sys.executable, "-m", "pacer", "replay", "--input", str(minutes), "--events",
         str(events)], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "events.jsonl:2: " in proc.stderr
    assert "why is not valid Unicode text" in proc.stderr
