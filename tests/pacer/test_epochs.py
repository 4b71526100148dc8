"""``pacer epochs``: raw acceleration CSV to the replay's minutes (interfaces.md §1, §3)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from devices.imu import LABELS, Pipeline, Seconds
from devices.imu.synth import Segment, random_rotation, synthesise
from pacer.cli import main
from pacer.engine.model import Posture
from pacer.epochs import epochs_command
from pacer.errors import BadInput
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


# --- the mount: --learn-first, --reference, --save-reference ------------------------

POSTURES_FIRST = [Segment("sitting", 180), Segment("standing", 60), Segment("walking", 120, 105),
                  Segment("sitting", 60)]


def run_ns(capsys: pytest.CaptureFixture[str], raw: Path, placement: str = "waist", *,
           learn_first: bool = False, reference: Path | None = None,
           save_reference: Path | None = None) -> tuple[list[str], str]:
    """``epochs_command`` as pacer/cli.py calls it, with the mount options; rows, stderr."""
    args = argparse.Namespace(input=raw, rate=25.0, placement=placement, start=START,
                              resolution="second", learn_first=learn_first,
                              reference=reference, save_reference=save_reference)
    assert epochs_command(args) == 0
    out, err = capsys.readouterr()
    return out.splitlines()[1:], err


def postures(rows: list[str]) -> list[str]:
    return [r.split(",")[2] for r in rows]


def test_the_seconds_before_the_walk_are_labelled_once_it_taught_the_mount(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = raw_csv(tmp_path / "raw.csv", POSTURES_FIRST, 25, "waist", seed=4)
    plain, _ = run_ns(capsys, raw)
    # what the daemon's minutes end up with: the live stream, revised once it learnt the mount
    xyz = np.loadtxt(raw, delimiter=",", skiprows=1)[:, 1:]
    pipe = Pipeline(25, "waist")
    live = Seconds.join([pipe.push(xyz[k: k + 25]) for k in range(0, len(xyz), 25)]
                        + [pipe.flush()])
    assert {LABELS[c] for c in live.labels[:240]} == {"unknown"}  # live: nothing before
    revised = live.labels.copy()
    for rev in pipe.revisions():
        revised[rev.start: rev.start + len(rev.labels)] = rev.labels
    assert postures(plain) == [LABELS[c] for c in revised]
    got = postures(plain)
    assert len(got) == 420
    assert got[:180].count("sitting") >= 175
    assert got[180:240].count("standing") >= 55
    assert got[250:350] == ["walking"] * 100
    learnt, err = run_ns(capsys, raw, learn_first=True)  # the mount of all the file's walking
    assert err == ""
    got = postures(learnt)
    assert got[:180].count("sitting") >= 175
    assert got[180:240].count("standing") >= 55
    assert got[250:350] == ["walking"] * 100
    code, out, _ = run(capsys, "--input", str(raw), "--rate", "25", "--placement", "waist",
                       "--start", START, "--resolution", "second")
    assert code == 0
    assert out.splitlines()[1:] == plain


def test_minutes_before_the_walk_get_their_posture(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    raw = raw_csv(tmp_path / "raw.csv", POSTURES_FIRST, 25, "thigh", seed=9)
    code, out, _ = run(capsys, "--input", str(raw), "--rate", "25", "--placement", "thigh",
                       "--start", START)
    assert code == 0
    rows = [r.split(",") for r in out.splitlines()[1:]]
    assert [r[2] for r in rows[:3]] == ["sitting"] * 3  # the first three minutes: sitting


def test_a_saved_reference_labels_a_new_recording_from_its_start(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    walk = raw_csv(tmp_path / "walk.csv", POSTURES_FIRST, 25, "thigh", seed=6)
    saved = tmp_path / "mount.json"
    _, _ = run_ns(capsys, walk, "thigh", save_reference=saved)
    state = json.loads(saved.read_text(encoding="utf-8"))
    assert state["placement"] == "thigh"
    assert 100 <= state["walking_seconds"] <= 125  # the 120 s walk (windows overlap its ends)
    # the next day, same sensor and mount (the same seed's rotation), no walk in the file
    desk = raw_csv(tmp_path / "desk.csv", [Segment("sitting", 120), Segment("standing", 60)],
                   25, "thigh", seed=6)
    cold, _ = run_ns(capsys, desk, "thigh")
    assert set(postures(cold)) == {"unknown"}
    again = tmp_path / "again.json"
    warm, _ = run_ns(capsys, desk, "thigh", reference=saved, save_reference=again)
    got = postures(warm)
    assert got[:115] == ["sitting"] * 115
    assert got[125:175] == ["standing"] * 50
    grown = json.loads(again.read_text(encoding="utf-8"))
    assert 0 <= grown["walking_seconds"] - state["walking_seconds"] <= 2  # no walk: ~nothing new


def test_learn_first_saves_one_pass_of_walking(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    raw = raw_csv(tmp_path / "raw.csv", POSTURES_FIRST, 25, "waist", seed=4)
    streamed, learnt = tmp_path / "streamed.json", tmp_path / "learnt.json"
    run_ns(capsys, raw, save_reference=streamed)
    run_ns(capsys, raw, learn_first=True, save_reference=learnt)
    assert learnt.read_text(encoding="utf-8") == streamed.read_text(encoding="utf-8")


def test_learn_first_without_walking_says_so(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    raw = raw_csv(tmp_path / "raw.csv", [Segment("sitting", 90)], 25, "waist")
    rows, err = run_ns(capsys, raw, learn_first=True)
    assert set(postures(rows)) == {"unknown"}
    assert "found 0 s of walking" in err
    assert "needs 10 s" in err


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"format": "pacer-imu-reference", "version": 1}', "keys must be exactly"),
    ],
)
def test_bad_reference_files_are_refused_naming_the_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, what: str) -> None:
    raw = raw_csv(tmp_path / "raw.csv", DESK[:1], 25, "waist")
    bad = tmp_path / "mount.json"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(BadInput, match=what) as caught:
        run_ns(capsys, raw, reference=bad)
    assert str(caught.value).startswith(str(bad))
    assert capsys.readouterr().out == ""  # refused before any output


def test_another_placements_reference_is_refused(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    raw = raw_csv(tmp_path / "raw.csv", DESK[:1], 25, "thigh")
    saved = tmp_path / "thigh.json"
    run_ns(capsys, raw, "thigh", save_reference=saved)
    for learn_first in (False, True):
        with pytest.raises(BadInput, match="learnt on a 'thigh' sensor, not a 'waist' one"):
            run_ns(capsys, raw, "waist", reference=saved, learn_first=learn_first)
    with pytest.raises(BadInput, match="cannot read the mount reference"):
        run_ns(capsys, raw, reference=tmp_path / "none.json")
    with pytest.raises(BadInput, match="cannot write the mount reference"):
        run_ns(capsys, raw, save_reference=tmp_path / "no-dir" / "x.json")


def test_cli_declares_the_mount_options(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    done = subprocess.run([sys.executable, "-m", "pacer", "epochs", "--help"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert "--learn-first" in done.stdout
    assert "first minute of walking" in done.stdout
    assert "--save-reference" in done.stdout
    raw = raw_csv(tmp_path / "raw.csv", POSTURES_FIRST, 25, "waist", seed=4)
    saved = tmp_path / "mount.json"
    code, out, _ = run(capsys, "--input", str(raw), "--rate", "25", "--placement", "waist",
                       "--start", START, "--learn-first", "--save-reference", str(saved))
    assert code == 0
    assert out.splitlines()[1].endswith(",0,sitting")
    code, out, _ = run(capsys, "--input", str(raw), "--rate", "25", "--placement", "waist",
                       "--start", START, "--reference", str(saved))
    assert code == 0
    assert out.splitlines()[1].endswith(",0,sitting")
    code, _, err = run(capsys, "--input", str(raw), "--rate", "25", "--placement", "thigh",
                       "--reference", str(saved))
    assert code == 2
    assert f"pacer: {saved}: the mount reference was learnt on a 'waist' sensor" in err
