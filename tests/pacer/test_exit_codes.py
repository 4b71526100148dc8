"""Exit codes keep their promise, and check-config checks what ``pacer run``
will need (issue 21, items 2 and 3): 0 ok, 2 bad input (systemd does not
restart after it), 1 anything else; each with a message a person can act on."""

from __future__ import annotations

from pathlib import Path

import pytest

from pacer.cli import main

ROWS = "time,steps,posture\n2026-11-23T09:00:00+11:00,10,\n2026-11-23T09:01:00+11:00,0,\n"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["--log-level", "WARNING", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_store_in_a_missing_folder_is_bad_input(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    minutes = tmp_path / "m.csv"
    minutes.write_text(ROWS, encoding="utf-8")
    store = tmp_path / "no-such-folder" / "pacer.sqlite3"
    code, _, err = run(capsys, "replay", "--input", str(minutes), "--store", str(store))
    assert code == 2, err
    assert f"the folder {store.parent} does not exist" in err
    assert not store.parent.exists()


def test_a_store_in_a_missing_folder_stops_the_daemon_with_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The store is opened before anything connects: no broker is needed.
    cfg = tmp_path / "pacer.toml"
    cfg.write_text('[storage]\npath = "gone/pacer.sqlite3"\n', encoding="utf-8")
    code, _, err = run(capsys, "run", "--config", str(cfg))
    assert code == 2, err
    assert "gone does not exist" in err


def test_replaying_a_stored_day_again_says_when_and_what_to_do(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    minutes = tmp_path / "m.csv"
    minutes.write_text(ROWS, encoding="utf-8")
    store = tmp_path / "pacer.sqlite3"
    assert run(capsys, "replay", "--input", str(minutes), "--store", str(store))[0] == 0
    code, out, err = run(capsys, "replay", "--input", str(minutes), "--store", str(store))
    assert code == 2, err
    assert out == ""  # refused before anything is replayed or stored
    assert "up to 2026-11-23 09:01+11:00" in err
    assert "starts at 2026-11-23 09:00+11:00" in err
    assert "new store" in err
    assert "minute 2" not in err  # no internal minute numbers


def test_a_replay_after_the_stored_minutes_is_taken(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first, later = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text(ROWS, encoding="utf-8")
    later.write_text("time,steps,posture\n2026-11-23T09:02:00+11:00,5,\n", encoding="utf-8")
    store = tmp_path / "pacer.sqlite3"
    assert run(capsys, "replay", "--input", str(first), "--store", str(store))[0] == 0
    code, _, err = run(capsys, "replay", "--input", str(later), "--store", str(store))
    assert code == 0, err


def test_a_header_only_replay_says_there_are_no_minutes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    minutes = tmp_path / "m.csv"
    minutes.write_text("time,steps,posture\n", encoding="utf-8")
    code, out, err = run(capsys, "replay", "--input", str(minutes))
    assert code == 2
    assert out == ""
    assert f"{minutes}: there are no minutes to replay" in err


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ("", "", "the file is empty"),
        ("# nothing but a comment\n", "", "the file is empty"),
        ('[storage]\npath = "gone/pacer.sqlite3"\n', ":storage.path", "does not exist"),
        ('[storage]\npath = "."\n', ":storage.path", "is a folder"),
        ('[mqtt]\nusername = "u"\npassword_file = "pw.txt"\n', ":mqtt.password_file",
         "no such file"),
        ('[mqtt]\nca_file = "ca.pem"\n', ":mqtt.ca_file", "no such file"),
        ('[[devices]]\nkind = "replay"\npath = "minutes.csv"\n', ":devices[0].path",
         "no such file"),
    ],
)
def test_check_config_refuses_what_run_would_fail_on(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, key: str,
        words: str) -> None:
    cfg = tmp_path / "pacer.toml"
    cfg.write_text(text, encoding="utf-8")
    code, out, err = run(capsys, "check-config", str(cfg))
    assert code == 2, out
    (line,) = err.strip().splitlines()
    assert line.startswith(f"{cfg}{key}: ")
    assert words in line


def test_check_config_takes_what_run_can_use(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pw.txt").write_text("secret\n", encoding="utf-8")
    (tmp_path / "minutes.csv").write_text(ROWS, encoding="utf-8")
    cfg = tmp_path / "pacer.toml"
    cfg.write_text('[mqtt]\nusername = "u"\npassword_file = "pw.txt"\n'
                   '[[devices]]\nkind = "replay"\npath = "minutes.csv"\n'
                   '[storage]\npath = "pacer.sqlite3"\n', encoding="utf-8")
    code, out, err = run(capsys, "check-config", str(cfg))
    assert code == 0, err
    assert out.strip() == f"{cfg}: ok"
