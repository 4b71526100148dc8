"""The minutes CSV of version 2 (interfaces.md section 8.1): the optional ``worn``
column, ``lying`` and ``not_worn`` postures, through the reader, the store and
``pacer replay``; and the reader's fast path, which must take exactly the rows
its value-by-value checks take, and give the same epochs and errors."""

from __future__ import annotations

import json
import random
import sqlite3
import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from helpers.daemon import pacer_cli

from pacer.engine.model import Epoch, Posture
from pacer.errors import InputFileError
from pacer.io import minutes
from pacer.io.minutes import fill_gaps, read_minutes
from pacer.store import Store
from pacer.timebase import minute_of

SYDNEY = ZoneInfo("Australia/Sydney")
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=SYDNEY)
M0 = minute_of(T0)


def at(i: int) -> str:
    return (T0 + timedelta(minutes=i)).isoformat()


def write(path: Path, header: str, rows: list[str], end: str = "\n") -> Path:
    path.write_text(header + end + "".join(r + end for r in rows), encoding="utf-8",
                    newline="")
    return path


def replay(*args: str) -> subprocess.CompletedProcess[str]:
    return pacer_cli("replay", *args)


# --- the worn column ---------------------------------------------------------------------


@pytest.mark.parametrize("end", ["\n", "\r\n"])
def test_worn_column(tmp_path: Path, end: str) -> None:
    rows = [f"{at(0)},40,walking,1", f"{at(1)},3,,", f"{at(2)},12,sitting,0",
            f"{at(3)},120,,0", f"{at(4)},0,lying, 1 ", f"{at(5)},0,, 0"]
    path = write(tmp_path / "m.csv", "time,steps,posture,worn", rows, end)
    assert list(read_minutes(path)) == [
        Epoch(M0, 40, Posture.STEPPING),
        Epoch.from_steps(M0 + 1, 3),
        Epoch.not_worn(M0 + 2),  # whatever its steps and posture
        Epoch.not_worn(M0 + 3),
        Epoch(M0 + 4, 0, Posture.LYING),
        Epoch.not_worn(M0 + 5),
    ]


def test_lying_and_not_worn_postures(tmp_path: Path) -> None:
    path = write(tmp_path / "m.csv", "time,steps,posture",
                 [f"{at(0)},0,lying", f"{at(1)},7,not_worn", f"{at(2)},7,unknown"])
    assert list(read_minutes(path)) == [
        Epoch(M0, 0, Posture.LYING),
        Epoch.not_worn(M0 + 1),  # as worn=0: its steps are not counted
        Epoch(M0 + 2, 7, Posture.UNKNOWN),  # an explicit unknown keeps them
    ]


@pytest.mark.parametrize(("row", "expected"), [
    (f"{at(1)},0,sitting,2", "worn '2' is not 1 (worn), 0 (not worn) or empty"),
    (f"{at(1)},0,sitting,yes", "worn 'yes'"),
    (f"{at(1)},0,sitting,true", "worn 'true'"),
    (f"{at(1)},0,sitting", "expected 4 values (time,steps,posture,worn), got 3"),
    (f"{at(1)},0,sitting,1,1", "got 5"),
    # the other values are checked first, and on a not-worn minute too
    (f"{at(1)},x,sitting,0", "steps 'x'"),
    (f"{at(1)},0,sat,0", "posture 'sat' is not one of"),
    (f"{at(0)},0,sitting,0", "is not after the previous row's"),
])
def test_bad_worn_rows_name_their_line(tmp_path: Path, row: str, expected: str) -> None:
    path = write(tmp_path / "m.csv", "time,steps,posture,worn", [f"{at(0)},0,sitting,1", row])
    with pytest.raises(InputFileError) as info:
        list(read_minutes(path))
    assert info.value.line == 3
    assert expected in info.value.message


@pytest.mark.parametrize("header", ["time,steps,posture,wear", "time,steps,worn,posture",
                                    "time,steps,posture,worn,x"])
def test_bad_worn_header(tmp_path: Path, header: str) -> None:
    with pytest.raises(InputFileError, match="time,steps,posture or time,steps,posture,worn"):
        list(read_minutes(write(tmp_path / "m.csv", header, [f"{at(0)},0,sitting,1"])))


def test_worn_header_with_spaces(tmp_path: Path) -> None:
    path = write(tmp_path / "m.csv", " time, steps, posture, worn ", [f"{at(0)},0,sitting,0"])
    assert list(read_minutes(path)) == [Epoch.not_worn(M0)]


# --- the fast path takes what the checks take ---------------------------------------------

_POSTURE_TEXTS = [*minutes.POSTURES, "", " sitting", "Sitting", "sat", '"sitting"']
_STEP_TEXTS = ["0", "3", "25", "300", "299", "007", " 4", "301", "999", "1000", "100001", "-1",
               "", "1.5"]


def _random_file(rng: random.Random, worn: bool) -> str:
    """Mostly good rows, across dates and offsets (a DST change), and now and
    then a bad value, an odd but valid form, or a break in the order."""
    start = datetime(2026, 3, 28, 23, 0, tzinfo=ZoneInfo("Europe/London"))
    lines = ["time,steps,posture,worn" if worn else "time,steps,posture"]
    minute = 0
    for _ in range(rng.randrange(1, 120)):
        odd = rng.random() < 0.01  # each value picked from the bad ones too
        minute += rng.choice([1, 1, 1, 2, 7, 0, -1] if odd else [1] * 20 + [2, 7, 1440])
        t = (start + timedelta(minutes=minute)).isoformat()
        form = rng.random()
        if form < 0.02:
            t = t.replace(":00+", "+")  # no seconds
        elif form < 0.04:
            t = t.replace(":00+", ":00.000+")  # the full parser
        elif form < 0.05:
            t = t.replace("+00:00", "Z")
        elif form < 0.06:
            t = f'"{t}"'
        values = [t, rng.choice(_STEP_TEXTS if odd else _STEP_TEXTS[:7]),
                  rng.choice(_POSTURE_TEXTS if odd else _POSTURE_TEXTS[:12])]
        if worn:
            values.append(rng.choice(["1", "0", "", " 0", "2", "yes"] if odd else ["1", "0", ""]))
        if odd and rng.random() < 0.3:
            values.pop()
        lines.append("" if rng.random() < 0.01 else ",".join(values))
    return rng.choice(["\n", "\r\n"]).join(lines) + ("\n" if rng.random() < 0.9 else "")


def _outcome(path: Path) -> tuple[list[Epoch], tuple[int | None, str] | None]:
    epochs: list[Epoch] = []
    try:
        epochs.extend(read_minutes(path))
    except InputFileError as exc:
        return epochs, (exc.line, exc.message)
    return epochs, None


@pytest.mark.parametrize("worn", [False, True])
def test_fast_path_agrees_with_the_checks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          worn: bool) -> None:
    rng = random.Random(20261207)
    path = tmp_path / "m.csv"
    outcomes = {"good": 0, "bad": 0}
    for _ in range(300):
        path.write_text(_random_file(rng, worn), encoding="utf-8", newline="")
        fast = _outcome(path)
        with monkeypatch.context() as m:
            m.setattr(minutes, "_CLOCK", {})  # no row is the fast path's
            checked = _outcome(path)
        assert fast == checked, path.read_text(encoding="utf-8")
        outcomes["bad" if fast[1] else "good"] += 1
    assert min(outcomes.values()) > 30  # both kinds were tried


@pytest.mark.parametrize("block", [1, 5, 64])
def test_lines_across_blocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             block: int) -> None:
    # a block boundary anywhere in a line: the same epochs, and the same line
    # numbers for a bad byte and a line too long
    monkeypatch.setattr(minutes, "_BLOCK", block)
    rows = [f"{at(i)},{i},sitting" for i in range(5)]
    path = write(tmp_path / "m.csv", "\ufefftime,steps,posture", rows, "\r\n")
    assert [e.steps for e in read_minutes(path)] == list(range(5))
    data = path.read_bytes()
    path.write_bytes(data + b"\xff\n")
    assert _outcome(path)[1] == (7, "not UTF-8 text")
    path.write_bytes(data + b"x" * minutes.MAX_LINE_BYTES)
    assert _outcome(path)[1][0] == 7  # type: ignore[index]
    # too long and not UTF-8: the length is checked first, as the line is read
    path.write_bytes(data + b"\xff" + b"x" * minutes.MAX_LINE_BYTES + b"\n")
    assert "longer than" in _outcome(path)[1][1]  # type: ignore[index]


def test_filled_is_fill_gaps(tmp_path: Path) -> None:
    path = write(tmp_path / "m.csv", "time,steps,posture,worn",
                 [f"{at(0)},0,sitting,", f"{at(3)},0,sitting,0", f"{at(4)},9,,",
                  f"{at(9)},0,lying,1"])
    assert list(read_minutes(path, filled=True)) == list(fill_gaps(read_minutes(path)))
    assert len(list(read_minutes(path, filled=True))) == 10


# --- the store keeps the posture text -----------------------------------------------------


def test_store_round_trip_of_lying_and_not_worn(tmp_path: Path) -> None:
    epochs = [Epoch(M0, 0, Posture.LYING), Epoch.not_worn(M0 + 1)]
    store = Store.open(tmp_path / "s.sqlite3", durable=False)
    try:
        for epoch in epochs:
            store.commit_minute("alice", epoch, "test", [], {}, outbox=())
        assert store.epochs("alice", M0, M0 + 2) == epochs
    finally:
        store.close()


def test_replay_store_keeps_lying_and_not_worn(tmp_path: Path) -> None:
    path = write(tmp_path / "m.csv", "time,steps,posture,worn",
                 [f"{at(0)},0,lying,", f"{at(1)},5,sitting,0", f"{at(2)},0,not_worn,1",
                  f"{at(4)},30,,1"])
    db = tmp_path / "out.sqlite3"
    proc = replay("--input", str(path), "--store", str(db))
    assert proc.returncode == 0, proc.stderr
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT minute, steps, posture FROM epochs ORDER BY minute").fetchall()
    assert rows == [(M0, 0, "lying"), (M0 + 1, 0, "not_worn"), (M0 + 2, 0, "not_worn"),
                    (M0 + 3, 0, "unknown"), (M0 + 4, 30, "stepping")]
    store = Store.open(db, durable=False)
    try:
        assert store.epochs("me", M0, M0 + 3)[:3] == [
            Epoch(M0, 0, Posture.LYING), Epoch.not_worn(M0 + 1), Epoch.not_worn(M0 + 2)]
    finally:
        store.close()


# --- pacer replay with the worn column ---------------------------------------------------


def test_replay_not_worn_minutes_are_not_known_and_never_a_sitting_bout(tmp_path: Path) -> None:
    # Two hours "sitting" with the wearable off, then 40 minutes worn and sitting:
    # the not-worn minutes are unknown, so no sitting prompt counts them.
    rows = [f"{at(i)},100,walking,1" for i in range(10)]
    rows += [f"{at(i)},0,sitting,0" for i in range(10, 130)]
    rows += [f"{at(i)},0,sitting," for i in range(130, 170)]
    path = write(tmp_path / "m.csv", "time,steps,posture,worn", rows)
    config = tmp_path / "c.toml"
    config.write_text('[user]\nid = "alice"\ntimezone = "Australia/Sydney"\n', encoding="utf-8")
    proc = replay("--input", str(path), "--config", str(config), "--json")
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    worn_sitting_from = datetime.fromisoformat(at(130))
    for prompt in (x for x in out if x["type"] == "prompt" and x["kind"] == "sitting_break"):
        sat = datetime.fromisoformat(prompt["time"]) - worn_sitting_from
        assert sat >= timedelta(minutes=prompt["reason"]["bout_min"]) > timedelta(0)
    (day,) = [x for x in out if x["type"] == "summary" and x["period"] == "day"]
    assert day["known_min"] == 10 + 40
    assert day["not_worn_min"] == 120
    assert day["longest_sitting_bout_min"] == 40


@pytest.mark.parametrize("posture", list(Posture))
def test_the_readers_epochs_are_epochs(posture: Posture) -> None:
    # the reader's cheaper construction gives the same frozen value
    made = minutes._epoch(M0, 12, posture)
    assert made == Epoch(M0, 12, posture)
    assert hash(made) == hash(Epoch(M0, 12, posture))
    assert type(made) is Epoch
    with pytest.raises(AttributeError):
        made.steps = 3  # type: ignore[misc]
