"""Inputs meant to break pacer, as a user would give them on the command line:
each must end in one line naming the input and exit code 2, never a
traceback, and never a read that grows until the machine kills it.

The files that never end are /dev/zero itself; each run that reads one has a
cap on its address space, so a reader that is not bounded fails here with a
MemoryError instead of taking the machine's memory."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest
from helpers.daemon import pacer_cli

from pacer.config import MqttConfig, load_config
from pacer.errors import BadInput, ConfigError, InputFileError
from pacer.io import limits
from pacer.io.events import read_events
from pacer.io.minutes import (
    FIRST_YEAR,
    LAST_YEAR,
    MAX_LINE_BYTES,
    MAX_STEPS,
    first_row_offset,
    read_minutes,
)

DAY = "2026-11-23"
ZERO = Path("/dev/zero")
MEMORY_CAP = 1 << 30  # bytes of address space for a run that reads /dev/zero


def one_line_error(proc: subprocess.CompletedProcess[str], *words: str) -> str:
    """The run failed as bad input, with one line that holds every word."""
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert proc.returncode == 2, proc.stderr[-3000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr[-3000:]
    for word in words:
        assert word in lines[0]
    return lines[0]


def minutes(path: Path, *rows: str) -> Path:
    path.write_text("time,steps,posture\n" + "".join(f"{r}\n" for r in rows), encoding="utf-8")
    return path


def desk(path: Path) -> Path:
    """Two hours at a desk with a walk: prompts and a daily summary."""
    rows = []
    for i in range(120):
        steps, posture = (100, "walking") if 60 <= i < 70 else (0, "sitting")
        rows.append(f"{DAY}T{9 + i // 60:02d}:{i % 60:02d}:00+11:00,{steps},{posture}")
    return minutes(path, *rows)


def config(path: Path, text: str = "") -> Path:
    path.write_text('[user]\nid = "alice"\ntimezone = "Australia/Sydney"\n' + text,
                    encoding="utf-8")
    return path


# --- replay: times and steps out of range ----------------------------------------------


@pytest.mark.parametrize("time", [
    "9999-12-31T23:59:00+00:00",
    "0001-01-01T00:00:00+00:00",
    "0001-01-01T00:00:00+01:00",  # year 0 in UTC
    "3000-01-01T00:00:00.000+00:00",  # not the common shape: the full parser
])
def test_replay_rows_out_of_the_years_pacer_takes(tmp_path: Path, time: str) -> None:
    path = minutes(tmp_path / "m.csv", f"{DAY}T09:00:00+11:00,0,sitting", f"{time},0,sitting")
    line = one_line_error(pacer_cli("replay", "--input", str(path)), f"{path}:3:", repr(time),
                          f"{FIRST_YEAR} to {LAST_YEAR}")
    assert line.startswith("pacer: ")


@pytest.mark.parametrize("time", ["9999-12-31T23:59:00+00:00", "0001-01-01T00:00:00+01:00"])
def test_replay_events_out_of_the_years_pacer_takes(tmp_path: Path, time: str) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps({"time": time, "type": "dnd", "minutes": 10}) + "\n",
                      encoding="utf-8")
    proc = pacer_cli("replay", "--input", str(desk(tmp_path / "m.csv")), "--events", str(events))
    one_line_error(proc, f"{events}:1:", repr(time), f"{FIRST_YEAR} to {LAST_YEAR}")


@pytest.mark.parametrize("store", [False, True])
def test_replay_steps_too_many_for_a_minute(tmp_path: Path, store: bool) -> None:
    huge = 10 ** 20
    path = minutes(tmp_path / "m.csv", f"{DAY}T09:00:00+11:00,{huge},walking")
    db = tmp_path / "out.sqlite3"
    args = ["replay", "--input", str(path)] + (["--store", str(db)] if store else [])
    one_line_error(pacer_cli(*args), f"{path}:2:", f"more than {MAX_STEPS:,}")


# --- files that never end ------------------------------------------------------------


def test_replay_of_dev_zero_as_minutes(tmp_path: Path) -> None:
    # With the zone configured: pacer.replay's guess of the zone from the
    # input's first row is not part of this (pacer.io.minutes.first_row_offset).
    proc = pacer_cli("replay", "--input", str(ZERO), "--config", str(config(tmp_path / "c.toml")),
                     memory_cap=MEMORY_CAP)
    one_line_error(proc, f"{ZERO}:1:", f"longer than {MAX_LINE_BYTES:,} bytes")


def test_replay_of_dev_zero_without_a_zone(tmp_path: Path) -> None:
    # No config: the zone is taken from the input's first row, read within limits.
    proc = pacer_cli("replay", "--input", str(ZERO), memory_cap=MEMORY_CAP)
    one_line_error(proc, f"{ZERO}:1:", f"longer than {MAX_LINE_BYTES:,} bytes")


def test_replay_of_dev_zero_as_events(tmp_path: Path) -> None:
    proc = pacer_cli("replay", "--input", str(desk(tmp_path / "m.csv")), "--events", str(ZERO),
                     memory_cap=MEMORY_CAP)
    one_line_error(proc, f"{ZERO}:", "larger than")


def test_check_config_of_dev_zero() -> None:
    one_line_error(pacer_cli("check-config", str(ZERO), memory_cap=MEMORY_CAP), f"{ZERO}:",
                   "larger than")


def test_dev_zero_as_the_mqtt_password_file(tmp_path: Path) -> None:
    cfg = config(tmp_path / "c.toml", '[mqtt]\nurl = "mqtt://127.0.0.1:9"\nusername = "alice"\n'
                 f'password_file = "{ZERO}"\n')
    # cwd: the default store's folder, where the command's pending file goes
    proc = pacer_cli("dnd", "10", "--config", str(cfg), memory_cap=MEMORY_CAP, cwd=tmp_path)
    one_line_error(proc, f"{ZERO}:", "password file", "longer than")


# --- TOML that the parser cannot take ------------------------------------------------


@pytest.mark.parametrize(("text", "words"), [
    ("a = " + "[" * 5000 + "]" * 5000 + "\n", ("nested too deeply",)),
    ("a = " + "{ b = " * 5000 + "1" + " }" * 5000 + "\n", ("nested too deeply",)),
    ("[sitting]\nlimit_min = " + "9" * 5000 + "\n", ("a number has more than", "digits")),
])
def test_check_config_of_toml_the_parser_cannot_take(tmp_path: Path, text: str,
                                                     words: tuple[str, ...]) -> None:
    path = tmp_path / "pacer.toml"
    path.write_text(text, encoding="utf-8")
    line = one_line_error(pacer_cli("check-config", str(path)), f"{path}:", *words)
    assert "set_int_max_str_digits" not in line  # advice for programmers, not for users


# --- reports of a damaged store -------------------------------------------------------


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("store")
    path = folder / "pacer.sqlite3"
    proc = pacer_cli("replay", "--input", str(desk(folder / "m.csv")), "--config",
                     str(config(folder / "c.toml")), "--store", str(path))
    assert proc.returncode == 0, proc.stderr
    return path


def damaged(store: Path, folder: Path, sql: str) -> Path:
    path = folder / "damaged.sqlite3"
    with sqlite3.connect(store) as src, sqlite3.connect(path) as dst:
        src.backup(dst)
    with sqlite3.connect(path) as conn:
        assert conn.execute(sql).rowcount > 0
    return path


def report(store: Path, fmt: str = "csv", out: str = "-") -> subprocess.CompletedProcess[str]:
    return pacer_cli("report", "--store", str(store), "--from", DAY, "--to", DAY, "--format", fmt,
                     "--out", out)


@pytest.mark.parametrize("fmt", ["csv", "fhir", "html"])
def test_report_of_a_daily_summary_that_is_not_json(store: Path, tmp_path: Path,
                                                    fmt: str) -> None:
    path = damaged(store, tmp_path, "UPDATE summaries SET payload = 'not json'"
                                    " WHERE period = 'day'")
    one_line_error(report(path, fmt), f"{path}:", "daily summary", "not JSON")


@pytest.mark.parametrize(("sql", "words"), [
    ("UPDATE summaries SET payload = '[1, 2]' WHERE period = 'day'",
     ("daily summary", "not a JSON object")),
    ("UPDATE summaries SET payload = '{}' WHERE period = 'day'",
     ("daily summary", "'date'")),
    ("UPDATE summaries SET payload = json_set(payload, '$.steps', 'many')"
     " WHERE period = 'day'", ("daily summary of alice for 2026-11-23", "'steps'")),
    ("UPDATE summaries SET payload = json_set(payload, '$.timezone', 'Mars/Base')"
     " WHERE period = 'day'", ("daily summary of alice for 2026-11-23", "Mars/Base")),
    ("UPDATE summaries SET payload = 'not json' WHERE period = 'week'",
     ("weekly summary", "not JSON")),
    ("UPDATE summaries SET payload = json_set(payload, '$.plan_changes',"
     " json('[{\"time\": \"yesterday\", \"by\": \"physio\", \"why\": \"x\"}]'))"
     " WHERE period = 'week'", ("weekly summary of alice for 2026-W48", "yesterday")),
    ("UPDATE prompts SET payload = '{' WHERE kind = 'sitting_break'", ("prompt", "not JSON")),
    ("UPDATE epochs SET posture = 'floating'", ("minute", "floating")),
])
def test_report_of_other_damage(store: Path, tmp_path: Path, sql: str,
                                words: tuple[str, ...]) -> None:
    path = damaged(store, tmp_path, sql)
    one_line_error(report(path), f"{path}:", *words)


def test_report_out_to_proc_self_mem(store: Path) -> None:
    one_line_error(report(store, out="/proc/self/mem"), "/proc/self/mem", "cannot write")


# --- the bounds, one by one -------------------------------------------------------------


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_a_minutes_line_at_the_limit_is_read_and_one_byte_more_is_not(tmp_path: Path) -> None:
    row = f"{DAY}T09:00:00+11:00,0,sitting"
    padded = row + " " * (MAX_LINE_BYTES - len(row) - 1) + "\n"  # spaces around a value are ok
    assert len(padded) == MAX_LINE_BYTES
    path = write(tmp_path / "m.csv", b"time,steps,posture\n" + padded.encode())
    assert len(list(read_minutes(path))) == 1
    path = write(tmp_path / "m.csv", b"time,steps,posture\n" + b" " + padded.encode())
    with pytest.raises(InputFileError, match=f"longer than {MAX_LINE_BYTES:,} bytes") as info:
        list(read_minutes(path))
    assert info.value.line == 2


@pytest.mark.parametrize(("time", "ok"), [
    (f"{FIRST_YEAR}-01-01T00:00:00+00:00", True),
    (f"{LAST_YEAR}-12-31T23:59:00+00:00", True),
    (f"{LAST_YEAR}-12-31T23:59:00.0+00:00", True),
    (f"{FIRST_YEAR - 1}-12-31T23:59:00+00:00", False),
    (f"{LAST_YEAR + 1}-01-01T00:00:00+00:00", False),
    (f"{LAST_YEAR + 1}-01-01T00:00:00.5-01:00", False),
])
def test_the_years_pacer_takes(tmp_path: Path, time: str, ok: bool) -> None:
    path = minutes(tmp_path / "m.csv", f"{time},0,sitting")
    if ok:
        assert len(list(read_minutes(path))) == 1
    else:
        with pytest.raises(InputFileError, match=f"{FIRST_YEAR} to {LAST_YEAR}"):
            list(read_minutes(path))


@pytest.mark.parametrize(("steps", "ok"), [
    (str(MAX_STEPS), True), (str(MAX_STEPS + 1), False), ("9" * 4000, False),
])
def test_the_steps_a_minute_can_hold(tmp_path: Path, steps: str, ok: bool) -> None:
    path = minutes(tmp_path / "m.csv", f"{DAY}T09:00:00+11:00,{steps},walking")
    if ok:
        assert [e.steps for e in read_minutes(path)] == [MAX_STEPS]
    else:
        with pytest.raises(InputFileError, match=f"more than {MAX_STEPS:,}") as info:
            list(read_minutes(path))
        assert len(str(info.value)) < 300  # the value is shown cut short


def test_events_file_size_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    line = json.dumps({"time": f"{DAY}T10:00:00+11:00", "type": "dnd", "minutes": 10}) + "\n"
    path = write(tmp_path / "e.jsonl", line.encode())
    monkeypatch.setattr("pacer.io.events.MAX_EVENTS_BYTES", len(line))
    assert len(read_events(path)) == 1
    monkeypatch.setattr("pacer.io.events.MAX_EVENTS_BYTES", len(line) - 1)
    with pytest.raises(InputFileError, match="larger than"):
        read_events(path)


def test_config_file_size_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = '[user]\nid = "alice"\n'
    path = tmp_path / "pacer.toml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setattr("pacer.config.MAX_CONFIG_CHARS", len(text))
    assert load_config(path).user.id == "alice"
    monkeypatch.setattr("pacer.config.MAX_CONFIG_CHARS", len(text) - 1)
    with pytest.raises(ConfigError, match="larger than"):
        load_config(path)


def test_password_file_is_bounded(tmp_path: Path) -> None:
    path = tmp_path / "password"
    path.write_text("x" * limits.MQTT_PASSWORD_BYTES + "\n", encoding="utf-8")
    assert len(MqttConfig(password_file=path).password().get_secret_value()) == (  # type: ignore[union-attr]
        limits.MQTT_PASSWORD_BYTES)
    path.write_text("x" * (limits.MQTT_PASSWORD_BYTES + 1), encoding="utf-8")
    with pytest.raises(BadInput, match="longer than"):
        MqttConfig(password_file=path).password()
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(BadInput, match="not UTF-8"):
        MqttConfig(password_file=path).password()


def test_first_row_offset_reads_a_bounded_line(tmp_path: Path) -> None:
    from datetime import timedelta  # noqa: PLC0415

    path = minutes(tmp_path / "m.csv", f"{DAY}T09:00:00+11:00,0,sitting")
    assert first_row_offset(path) == timedelta(hours=11)
    assert first_row_offset(minutes(tmp_path / "e.csv")) is None
    assert first_row_offset(tmp_path / "missing.csv") is None
    assert first_row_offset(ZERO) is None  # no end of line within the limit: no guess
    path = minutes(tmp_path / "y.csv", "9999-12-31T23:59:00+00:00,0,sitting")
    assert first_row_offset(path) is None  # read_minutes says what is wrong with it


def test_limits_read_at_most_what_they_say(tmp_path: Path) -> None:
    path = write(tmp_path / "f", b"abc")
    assert limits.read_bytes(path, 3) == b"abc"
    with pytest.raises(limits.TooLarge):
        limits.read_bytes(path, 2)
    assert limits.read_text(path, 3) == "abc"
    with pytest.raises(limits.TooLarge):
        limits.read_text(path, 2)
    with pytest.raises(limits.TooLarge):
        limits.read_bytes(ZERO, 1 << 20)
    with pytest.raises(FileNotFoundError):
        limits.read_bytes(tmp_path / "missing", 10)
    assert os.path.exists(ZERO)


def test_epochs_reading_a_file_without_line_ends_is_an_error_not_a_growing_process() -> None:
    proc = pacer_cli("epochs", "--input", str(ZERO), "--rate", "10", "--placement", "thigh",
                     memory_cap=MEMORY_CAP)
    one_line_error(proc, str(ZERO), "longer than 4,096 bytes")
