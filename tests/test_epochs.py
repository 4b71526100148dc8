"""``pacer epochs``: raw acceleration CSV to the replay's minutes (interfaces.md §1, §3)."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from devices.imu.synth import Segment, random_rotation, synthesise
from pacer.cli import main
from pacer.engine.model import Posture
from pacer.io.minutes import read_minutes

START = "2026-11-23T09:00:00+11:00"


def raw_csv(path: Path, segments: list[Segment], rate: float, placement: str,
            seed: int = 1) -> Path:
    xyz, _ = synthesise(segments, rate, placement,
                        rotation=random_rotation(np.random.default_rng(seed)), seed=seed)
    t = np.arange(len(xyz)) / rate
    rows = ["t,x,y,z"] + [f"{ti:.4f},{x:.4f},{y:.4f},{z:.4f}"
                          for ti, (x, y, z) in zip(t, xyz, strict=True)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


DESK = [Segment("walking", 120, 110), Segment("sitting", 300), Segment("standing", 60),
        Segment("walking", 60, 100)]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["epochs", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_thigh_minutes_are_a_replay_input(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    raw = raw_csv(tmp_path / "raw.csv", DESK, 25, "thigh")
    code, out, _ = run(capsys, "--input", str(raw), "--rate", "25", "--placement", "thigh",
                       "--start", START)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "time,steps,posture"
    assert lines[1:4] == ["2026-11-23T09:00:00+11:00,110,walking",
                          "2026-11-23T09:01:00+11:00,110,walking",
                          "2026-11-23T09:02:00+11:00,0,sitting"]
    assert [ln.split(",")[2] for ln in lines[1:]] == (
        ["walking"] * 2 + ["sitting"] * 5 + ["standing", "walking"])
    minutes = tmp_path / "minutes.csv"
    minutes.write_text(out, encoding="utf-8")
    epochs = list(read_minutes(minutes))
    assert [e.posture for e in epochs[:3]] == [Posture.STEPPING, Posture.STEPPING,
                                               Posture.SEDENTARY]
    assert sum(e.steps for e in epochs) == pytest.approx(320, abs=10)


def test_seconds_and_default_start(tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    raw = raw_csv(tmp_path / "raw.csv", DESK[:2], 25, "waist")
    code, out, _ = run(capsys, "--input", str(raw), "--rate", "25", "--placement", "waist",
                       "--resolution", "second")
    assert code == 0
    rows = out.splitlines()[1:]
    assert len(rows) == 420
    first = datetime.fromisoformat(rows[0].split(",")[0])
    midnight = datetime.now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
    assert first == midnight
    assert rows[0].endswith(",walking")
    assert rows[-1].endswith(",0,sitting")


def test_wrist_never_says_sitting(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = raw_csv(tmp_path / "raw.csv", DESK, 25, "wrist")
    code, out, _ = run(capsys, "--input", str(raw), "--rate", "25", "--placement", "wrist",
                       "--start", START)
    assert code == 0
    postures = [ln.split(",")[2] for ln in out.splitlines()[1:]]
    assert set(postures) <= {"", "walking", "running"}
    assert postures[3] == ""
    minutes = tmp_path / "minutes.csv"
    minutes.write_text(out, encoding="utf-8")
    sitting = list(read_minutes(minutes))[3]
    assert sitting.posture is Posture.SEDENTARY
    assert sitting.inferred


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        ("t,x,y\n0,1,0\n", 1, "header must be t,x,y,z"),
        ("t,x,y,z\n", 2, "no samples"),
        ("t,x,y,z\n0,1,0,0\n0.04,1,zz,0\n", 3, "not numbers"),
        ("t,x,y,z\n0,1,0,0\n0.04,1,0\n", 3, "expected 4 values"),
        ("t,x,y,z\n0,1,0,0\n0.04,1,0,nan\n", 3, "finite"),
        ("t,x,y,z\n0,1,0,0\n0.04,1,0,0\n5,1,0,0\n", 4, "timeline"),
    ],
)
def test_bad_rows_exit_2_naming_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         text: str, line: int, what: str) -> None:
    raw = tmp_path / "raw.csv"
    raw.write_text(text, encoding="utf-8")
    code, _, err = run(capsys, "--input", str(raw), "--rate", "25", "--placement", "thigh")
    assert code == 2
    assert f"{raw}:{line}:" in err
    assert what in err


def test_bad_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = raw_csv(tmp_path / "raw.csv", DESK[:1], 25, "thigh")
    code, _, err = run(capsys, "--input", str(raw), "--rate", "7.5", "--placement", "thigh")
    assert code == 2
    assert "--rate" in err
    code, _, err = run(capsys, "--input", str(raw), "--rate", "25", "--placement", "thigh",
                       "--start", "yesterday")
    assert code == 2
    assert "--start" in err
    code, _, err = run(capsys, "--input", str(tmp_path / "none.csv"), "--rate", "25",
                       "--placement", "thigh")
    assert code == 2
    assert "cannot read" in err


def test_help_as_a_subprocess() -> None:
    done = subprocess.run([sys.executable, "-m", "pacer", "epochs", "--help"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0
    assert "--placement" in done.stdout
