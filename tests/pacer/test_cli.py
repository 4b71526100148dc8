"""The ``pacer`` command line as a user runs it: subprocesses, real files."""

from __future__ import annotations

import json
import socket
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from helpers import REPO
from helpers.daemon import pacer_cli

from pacer.contract.commands import EXERCISE_MAX_MIN
from pacer.engine.model import EXERCISE_TEXT_MAX

ROOT = REPO
SYDNEY = ZoneInfo("Australia/Sydney")


def minutes_csv(path: Path, segments: list[tuple[str, int, str, int]],
                day: datetime | None = None) -> Path:
    """segments: (local HH:MM start, minutes, posture, steps per minute)."""
    day = day or datetime(2026, 11, 23, tzinfo=SYDNEY)
    rows = ["time,steps,posture"]
    for start, length, posture, steps in segments:
        hh, mm = map(int, start.split(":"))
        t = day.replace(hour=hh, minute=mm)
        for i in range(length):
            rows.append(f"{(t + timedelta(minutes=i)).isoformat()},{steps},{posture}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_desk_day_gives_exactly_three_prompts(tmp_path: Path) -> None:
    desk = minutes_csv(tmp_path / "desk.csv", [("09:00", 180, "sitting", 0)])
    proc = pacer_cli("replay", "--input", str(desk), "--json")
    assert proc.returncode == 0, proc.stderr
    lines = json_lines(proc.stdout)
    prompts = [x for x in lines if x["type"] == "prompt" and x["kind"] == "sitting_break"]
    # v2: the first prompt at 40 minutes and one repeat 15 minutes later
    # (sitting.max_repeats defaults to 1), then silence for the rest of the bout.
    assert [p["time"] for p in prompts] == [
        "2026-11-23T09:40:00+11:00", "2026-11-23T09:55:00+11:00",
    ]
    # v2 reasons also say whether the sitting was inferred (a thigh sensor's is
    # measured) and which break the text asks for (sitting.break_advice).
    assert [p["reason"] for p in prompts] == [
        {"bout_min": 40, "limit_min": 40, "repeat": 0, "inferred": False, "advice": "walk"},
        {"bout_min": 55, "limit_min": 40, "repeat": 1, "inferred": False, "advice": "walk"},
    ]
    # The only other prompt is the 10:00 walk reminder of the default plan.
    others = [(x["kind"], x["time"]) for x in lines if x["type"] == "prompt"
              and x["kind"] != "sitting_break"]
    assert others == [("walk_reminder", "2026-11-23T10:00:00+11:00")]
    # Then the day's final summary (v2) and the (partial) week's.
    day, week = lines[-2], lines[-1]
    assert (day["type"], day["period"], day["final"]) == ("summary", "day", True)
    assert day["v"] == 2
    assert day["longest_sitting_bout_min"] == 180
    assert day["prompts"] == {"sitting_break": 2, "walk_reminder": 1}
    # A thigh sensor's first sitting minute shows the person up: the window opens then.
    assert day["window"] == {"opened": "2026-11-23T09:00:00+11:00", "closed": None,
                             "opened_by": "detected", "closed_by": None}
    assert (week["period"], week["week"]) == ("week", "2026-W48")
    assert len(lines) == 5


def test_text_output_and_the_same_result_twice(tmp_path: Path) -> None:
    desk = minutes_csv(tmp_path / "desk.csv", [("09:00", 100, "sitting", 0)])
    first = pacer_cli("replay", "--input", str(desk))
    second = pacer_cli("replay", "--input", str(desk))
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    assert "2026-11-23T09:40:00+11:00  sitting_break" in first.stdout


def test_replay_with_events_and_config(tmp_path: Path) -> None:
    desk = minutes_csv(tmp_path / "desk.csv", [("09:00", 120, "sitting", 0)])
    cfg = tmp_path / "pacer.toml"
    cfg.write_text('[user]\nid = "alice"\ntimezone = "Australia/Sydney"\n'
                   "[sitting]\nlimit_min = 30\nmax_repeats = 2\n", encoding="utf-8")
    events = tmp_path / "events.jsonl"
    events.write_text(
        '{"time": "2026-11-23T09:31:00+11:00", "type": "ack", "prompt": "last", '
        '"action": "snooze", "minutes": 20}\n',
        encoding="utf-8",
    )
    proc = pacer_cli("replay", "--input", str(desk), "--events", str(events), "--config", str(cfg),
                     "--json")
    assert proc.returncode == 0, proc.stderr
    lines = json_lines(proc.stdout)
    times = [x["time"][11:16] for x in lines  # type: ignore[index]
             if x["type"] == "prompt" and x["kind"] == "sitting_break"]
    # First at 30 min, snoozed at 09:31 for 20 min: the catch-up at 09:51
    # (it counts toward the cap), then the last of 1 + 2 repeats 15 min later.
    assert times == ["09:30", "09:51", "10:06"]
    summary = lines[-2]
    assert summary["user"] == "alice"
    assert summary["breaks"]["snoozed"] == 1  # type: ignore[index]


def test_store_writes_what_the_daemon_would(tmp_path: Path) -> None:
    desk = minutes_csv(tmp_path / "desk.csv", [("09:00", 60, "sitting", 0),
                                                ("10:00", 3, "walking", 90)])
    db = tmp_path / "out.sqlite3"
    proc = pacer_cli("replay", "--input", str(desk), "--store", str(db))
    assert proc.returncode == 0, proc.stderr
    with sqlite3.connect(db) as conn:
        (epochs,) = conn.execute("SELECT count(*) FROM epochs").fetchone()
        (prompts,) = conn.execute("SELECT count(*) FROM prompts").fetchone()
        outcomes = conn.execute("SELECT outcome FROM outcomes ORDER BY time").fetchall()
        (summaries,) = conn.execute("SELECT count(*) FROM summaries").fetchone()
        prompts_kinds = conn.execute("SELECT kind FROM prompts ORDER BY time").fetchall()
        (outbox,) = conn.execute("SELECT count(*) FROM outbox").fetchone()
    assert epochs == 63
    assert prompts == 3  # 09:40 and 09:55, and the 10:00 walk reminder
    assert prompts_kinds == [("sitting_break",), ("sitting_break",), ("walk_reminder",)]
    # 09:40 was superseded by the repeat; the walk at 10:00 came 5 min after 09:55.
    assert outcomes == [("ignored",), ("taken",)]
    assert summaries == 2  # the day's and the week's
    assert outbox == 0  # a replay sends nothing


def test_without_store_nothing_is_written(tmp_path: Path) -> None:
    desk = minutes_csv(tmp_path / "desk.csv", [("09:00", 50, "sitting", 0)])
    before = set(tmp_path.iterdir())
    proc = pacer_cli("replay", "--input", str(desk), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert set(tmp_path.iterdir()) == before


def test_bad_row_names_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "time,steps,posture\n"
        "2026-11-23T09:00:00+11:00,0,sitting\n"
        "2026-11-23T09:01:00+11:00,-4,sitting\n",
        encoding="utf-8",
    )
    proc = pacer_cli("replay", "--input", str(bad))
    assert proc.returncode == 2
    assert f"{bad}:3:" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_input_file_is_bad_input(tmp_path: Path) -> None:
    proc = pacer_cli("replay", "--input", str(tmp_path / "nope.csv"))
    assert proc.returncode == 2
    assert "nope.csv" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[sitting]\nlimt_min = 30\n", "sitting.limt_min"),
        ("[sitting]\nlimit_min = 121\n", "sitting.limit_min"),
        ("[prompts]\nmax_per_hour = \"4\"\n", "prompts.max_per_hour"),
    ],
)
def test_check_config_names_the_key(tmp_path: Path, text: str, key: str) -> None:
    cfg = tmp_path / "pacer.toml"
    cfg.write_text(text, encoding="utf-8")
    proc = pacer_cli("check-config", str(cfg))
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"{cfg}:{key}: ")


def test_check_config_accepts_the_example() -> None:
    proc = pacer_cli("check-config", str(ROOT / "config" / "pacer.example.toml"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith(": ok")


def test_help_explains_every_command() -> None:
    proc = pacer_cli("--help")
    assert proc.returncode == 0
    for command in ("run", "demo", "replay", "check-config"):
        assert command in proc.stdout
    replay = pacer_cli("replay", "--help")
    assert "--store" in replay.stdout
    assert "time,steps,posture" in replay.stdout


def test_bad_arguments_exit_2() -> None:
    proc = pacer_cli("demo", "--speed", "0")
    assert proc.returncode == 2
    assert "must be greater than 0" in proc.stderr
    proc = pacer_cli("demo", "--wearable", "ankle")
    assert proc.returncode == 2
    assert "choose from 'watch', 'thigh'" in proc.stderr


def test_demo_offers_a_virtual_thigh_sensor() -> None:
    # The thigh demo itself runs in tests/test_daemon_imu.py.
    demo = pacer_cli("demo", "--help")
    assert "--wearable {watch,thigh}" in demo.stdout
    assert "WitMotion IMU on the thigh" in demo.stdout


def test_demo_help_says_the_speed_is_capped_and_the_day_the_same() -> None:
    # The demo's own runs are in tests/pacer/daemon/test_daemon_ble.py.
    from pacer.demo import WATCH_MAX_SPEED  # noqa: PLC0415 - the demo loads the daemon

    words = " ".join(pacer_cli("demo", "--help").stdout.split())
    assert f"at most {WATCH_MAX_SPEED:g}x" in words, words
    assert "the same at any speed and on every run" in words, words


def test_scan_without_bluetooth_says_why() -> None:
    proc = pacer_cli("scan", "--seconds", "1")
    # This machine has no Bluetooth stack: a clear line and exit 1, no traceback.
    if proc.returncode == 0:
        pytest.skip("this machine has a Bluetooth stack")
    assert proc.returncode == 1
    assert "cannot scan for Bluetooth devices" in proc.stderr
    assert "Traceback" not in proc.stderr


# --- red flags (pacing-rules.md section 7) ---------------------------------------------


def _night_report(tmp_path: Path, *extra: str,
                  config: Path | None = None) -> list[dict[str, object]]:
    """A night with the wrist still, a report of saddle numbness at 02:00, a
    trip to the toilet at 04:30 (before day.wake - day.wake_early_min, 05:30:
    not getting up), then the morning: up at 07:12 (the step-only watch's first
    stepping minute opens the waking window), still again until 10:00;
    ``extra`` are more event lines, ``config`` a config file."""
    night = minutes_csv(tmp_path / "night.csv", [
        ("00:00", 270, "", 0), ("04:30", 3, "", 30), ("04:33", 159, "", 0),
        ("07:12", 4, "", 40), ("07:16", 164, "", 0),
    ])
    events = tmp_path / "events.jsonl"
    report = ('{"time": "2026-11-23T02:00:00+11:00", "type": "symptom", "level": "red", '
              '"red_flags": ["saddle_numbness"]}')
    events.write_text("\n".join((report, *extra)) + "\n", encoding="utf-8")
    options = ("--config", str(config)) if config is not None else ()
    proc = pacer_cli("replay", "--input", str(night), "--events", str(events), *options,
                     "--json")
    assert proc.returncode == 0, proc.stderr
    flags = [x for x in json_lines(proc.stdout)
             if x["type"] == "prompt" and x["kind"] == "red_flag"]
    # The closing log line counts the prompts a command's reply carried too.
    assert f"{len(flags)} prompt{'' if len(flags) == 1 else 's'}," in proc.stderr
    return flags


def test_a_night_report_of_an_emergency_flag_comes_at_once_and_again_that_morning(
    tmp_path: Path,
) -> None:
    first, repeat = _night_report(tmp_path)
    assert first["time"] == "2026-11-23T02:00:00+11:00"
    reason = first["reason"]
    assert isinstance(reason, dict)
    assert reason["tier"] == "emergency"
    text = str(first["text"])
    assert text.startswith("Call 999 or go to the emergency department now.")
    # v2: again at the first minute of the next waking window, which opens when
    # the person is up: epoch 07:12, decided when it is complete (section 1).
    assert repeat["time"] == "2026-11-23T07:13:00+11:00"
    assert repeat["reason"] == {**reason, "repeat": True,
                                "reported": "2026-11-23T02:00:00+11:00"}
    assert str(repeat["text"]).startswith("Call 999")


def test_a_pinned_window_repeats_the_flag_at_the_configured_wake(tmp_path: Path) -> None:
    # day.wake_early_min = day.wake_late_min = 0 pin v1's window at day.wake:
    # the repeat comes at 07:30 whatever the watch saw (at 04:30 or 07:12).
    cfg = tmp_path / "pinned.toml"
    cfg.write_text("[day]\nwake_early_min = 0\nwake_late_min = 0\n", encoding="utf-8")
    first, repeat = _night_report(tmp_path, config=cfg)
    assert first["time"] == "2026-11-23T02:00:00+11:00"
    assert repeat["time"] == "2026-11-23T07:30:00+11:00"


def test_seen_before_the_morning_means_no_repeat(tmp_path: Path) -> None:
    seen = ('{"time": "2026-11-23T05:10:00+11:00", "type": "ack", "prompt": "last", '
            '"action": "seen"}')
    (only,) = _night_report(tmp_path, seen)
    assert only["time"] == "2026-11-23T02:00:00+11:00"


def test_the_advice_is_printed_even_when_the_daemon_cannot_be_reached(tmp_path: Path) -> None:
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = tmp_path / "pacer.toml"
    cfg.write_text(f'[mqtt]\nurl = "mqtt://127.0.0.1:{port}"\n[safety]\n'
                   'emergency_number = "112"\n', encoding="utf-8")
    # In tmp_path: the config's store (and the CLI's pending-command file beside
    # it) is the default, relative to where pacer runs.
    proc = pacer_cli("symptom", "red", "--flag", "chest_pain", "--flag", "fever_or_unwell",
                     "--config", str(cfg), cwd=tmp_path)
    assert proc.returncode == 1
    assert (tmp_path / "pacer-cli-pending.json").is_file()  # kept for a retry
    lines = proc.stdout.splitlines()
    assert lines[0] == "CALL 112 OR GO TO THE EMERGENCY DEPARTMENT NOW"
    assert lines[1].startswith("Call 112 or go to the emergency department now.")
    assert "chest pain" in lines[1]
    assert "did not reach pacer" in lines[2]
    assert "Traceback" not in proc.stderr


# --- v2: pacer day, pacer exercise (interfaces.md section 8.2) -------------------------


def test_day_and_exercise_help() -> None:
    top = pacer_cli("--help")
    assert "tell pacer you are up, or going to bed" in top.stdout
    assert "record a strength or mobility session" in top.stdout
    day = pacer_cli("day", "--help")
    assert day.returncode == 0
    assert "{up,bed}" in day.stdout
    exercise = pacer_cli("exercise", "--help")
    assert exercise.returncode == 0
    assert f"1 to {EXERCISE_MAX_MIN} minutes" in exercise.stdout
    assert f"at most {EXERCISE_TEXT_MAX} characters" in exercise.stdout
    assert "Both options may be left out" in exercise.stdout


def _nowhere(tmp_path: Path) -> Path:
    """A config whose broker port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = tmp_path / "pacer.toml"
    cfg.write_text(f'[mqtt]\nurl = "mqtt://127.0.0.1:{port}"\n', encoding="utf-8")
    return cfg


@pytest.mark.parametrize(("args", "expected"), [
    (["day"], "the following arguments are required: event"),
    (["day", "awake"], "invalid choice: 'awake'"),
    (["exercise", "--minutes", "twenty"], "invalid int value: 'twenty'"),
    (["exercise", "--minutes", "0"],
     "pacer: minutes must be a whole number from 1 to 600 (the session's length), got 0"),
    (["exercise", "--minutes", "601"], "got 601"),
    (["exercise", "--what", ""], 'what must be text of 1 to 200 characters'),
    (["exercise", "--what", "x" * 201], "what must be text of 1 to 200 characters"),
    (["exercise", "--what", "bridges\x1b[2J"], "must be plain text, without control "
                                               'characters; it holds "\\u001b"'),
])
def test_day_and_exercise_bad_input_exits_2_before_any_broker(
        tmp_path: Path, args: list[str], expected: str) -> None:
    proc = pacer_cli(*args, "--config", str(_nowhere(tmp_path)))
    assert proc.returncode == 2, proc
    assert expected in proc.stderr
    assert "connecting" not in proc.stderr  # refused before reaching for the broker
    assert "Traceback" not in proc.stderr

