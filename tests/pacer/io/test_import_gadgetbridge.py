"""``pacer import gadgetbridge``: a band's history from Gadgetbridge's exported
database into the store, on a database the test builds in Gadgetbridge's shape
and a real SQLite store."""

from __future__ import annotations

import sqlite3
import statistics
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pacer import cli
from pacer.config import load_config
from pacer.engine.core import Engine
from pacer.engine.model import Epoch, Posture, Prompt
from pacer.io.gadgetbridge import Kind, Sample, Tally, to_minutes
from pacer.store import Store

TZ = ZoneInfo("Europe/London")
FIRST = date(2026, 10, 5)  # a Monday
DAYS = 9
BAND, BANGLE = 1, 2
# Huami raw kinds: the low four bits are the kind, the high ones flags.
ACTIVE, NOT_WORN, CHARGING, LIGHT, DEEP, SAME, IGNORE = 1, 3, 6, 9, 11, 0, 10


def _ts(day: date, hour: int, minute: int = 0) -> int:
    return int(datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ).timestamp())


def day_plan(i: int) -> dict[int, tuple[int, int]]:
    """Minute of the day -> (steps, raw kind) for day ``i``: asleep to 07:00
    (with flag bits and "same as before" samples), awake to 23:00 with walks
    that grow each day, the band on its charger 14:00-15:00 and off the wrist
    15:00-16:00 on day 2."""
    plan: dict[int, tuple[int, int]] = {}
    for m in range(24 * 60):
        if m < 7 * 60 or m >= 23 * 60:
            raw = (0x70 | DEEP) if m % 60 == 0 else (LIGHT if m % 60 == 30 else SAME)
            plan[m] = (0, raw)
        else:
            plan[m] = (0, ACTIVE if m % 30 == 0 else SAME)
    for start in (8 * 60, 12 * 60, 18 * 60):
        for m in range(start, start + 20 + i):
            plan[m] = (100, ACTIVE)
    if i == 2:
        for m in range(14 * 60, 15 * 60):
            plan[m] = (0, CHARGING if m == 14 * 60 else IGNORE)
        for m in range(15 * 60, 16 * 60):
            plan[m] = (0, NOT_WORN)
        plan[16 * 60] = (0, ACTIVE)
    return plan


def day_steps(i: int) -> int:
    return sum(s for s, _ in day_plan(i).values())


def build_export(path: Path, *, days: int = DAYS,
                 extra: Sequence[tuple[int, int, int]] = ()) -> None:
    """A database shaped like Gadgetbridge's: DEVICE, the Huami and Bangle.js
    sample tables and one without steps, which must be left alone."""
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE DEVICE (_id INTEGER PRIMARY KEY AUTOINCREMENT, NAME TEXT NOT NULL,
            MANUFACTURER TEXT NOT NULL, IDENTIFIER TEXT NOT NULL UNIQUE, TYPE INTEGER NOT NULL,
            MODEL TEXT, ALIAS TEXT);
        CREATE TABLE USER (_id INTEGER PRIMARY KEY AUTOINCREMENT, NAME TEXT NOT NULL);
        CREATE TABLE MI_BAND_ACTIVITY_SAMPLE (TIMESTAMP INTEGER NOT NULL,
            DEVICE_ID INTEGER NOT NULL, USER_ID INTEGER NOT NULL, RAW_INTENSITY INTEGER NOT NULL,
            STEPS INTEGER NOT NULL, RAW_KIND INTEGER NOT NULL, HEART_RATE INTEGER NOT NULL,
            PRIMARY KEY (TIMESTAMP, DEVICE_ID));
        CREATE TABLE BANGLE_JSACTIVITY_SAMPLE (TIMESTAMP INTEGER NOT NULL,
            DEVICE_ID INTEGER NOT NULL, USER_ID INTEGER NOT NULL, RAW_INTENSITY INTEGER NOT NULL,
            STEPS INTEGER NOT NULL, RAW_KIND INTEGER NOT NULL, HEART_RATE INTEGER NOT NULL,
            PRIMARY KEY (TIMESTAMP, DEVICE_ID));
        CREATE TABLE HEART_PULSE_SAMPLE (TIMESTAMP INTEGER NOT NULL, DEVICE_ID INTEGER NOT NULL,
            USER_ID INTEGER NOT NULL, HEART_RATE INTEGER NOT NULL);
    """)
    con.execute("INSERT INTO USER (NAME) VALUES ('me')")
    con.executemany("INSERT INTO DEVICE (_id, NAME, MANUFACTURER, IDENTIFIER, TYPE) VALUES "
                    "(?, ?, ?, ?, ?)", [(BAND, "Mi Band 5", "Huami", "C8:0F:10:AA:BB:CC", 42),
                                        (BANGLE, "Bangle.js 2", "Espruino", "E1:23:45:67:89:AB",
                                         220)])
    rows = []
    for i in range(days):
        day = FIRST + timedelta(days=i)
        for m, (steps, raw) in sorted(day_plan(i).items()):
            rows.append((_ts(day, m // 60, m % 60), BAND, 1, 20, steps, raw, 70))
    con.executemany("INSERT INTO MI_BAND_ACTIVITY_SAMPLE VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    # The Bangle.js worn one morning only: 500 steps a minute is not a person.
    bangle = [(_ts(FIRST, 9, m), BANGLE, 1, 30, 500 if m == 5 else 50, 1, 0) for m in range(10)]
    bangle += [(ts, BANGLE, 1, 0, steps, kind, 0) for ts, steps, kind in extra]
    con.executemany("INSERT INTO BANGLE_JSACTIVITY_SAMPLE VALUES (?, ?, ?, ?, ?, ?, ?)", bangle)
    con.execute("INSERT INTO HEART_PULSE_SAMPLE VALUES (?, 1, 1, 60)", (_ts(FIRST, 9),))
    con.commit()
    con.close()


@pytest.fixture
def export(tmp_path: Path) -> Path:
    path = tmp_path / "Gadgetbridge.db"
    build_export(path)
    return path


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "pacer.toml"
    path.write_text(f'[user]\nid = "alice"\ntimezone = "Europe/London"\n'
                    f'[storage]\npath = "{tmp_path / "pacer.sqlite3"}"\n', encoding="utf-8")
    return path


def _import(config: Path, export: Path, *more: str) -> int:
    return cli.main(["import", "gadgetbridge", str(export), "--config", str(config), *more])


def _stored(path: Path) -> list[tuple[int, int, str, str]]:
    con = sqlite3.connect(path)
    try:
        return con.execute("SELECT minute, steps, posture, source FROM epochs "
                           "WHERE user = 'alice' ORDER BY minute").fetchall()
    finally:
        con.close()


# --- the pure conversion -----------------------------------------------------------


def test_samples_become_minutes_with_the_bands_marks() -> None:
    t0 = _ts(FIRST, 10)
    rows = [Sample(t0, 1, 0, Kind.SLEEP), Sample(t0 + 30, 1, 0, Kind.ACTIVITY),
            Sample(t0 + 60, 1, 0, Kind.NOT_WORN), Sample(t0 + 61, 2, 0, Kind.SLEEP),
            Sample(t0 + 120, 1, 40, Kind.NOT_WORN), Sample(t0 + 150, 2, 30, Kind.ACTIVITY),
            Sample(t0 + 180, 1, 301, Kind.ACTIVITY), Sample(t0 + 240, 1, -1, Kind.UNKNOWN),
            Sample(t0 + 300, 1, 0, Kind.ACTIVITY)]
    tally = Tally()
    got = list(to_minutes(rows, tally))
    m = t0 // 60
    assert got == [Epoch(m, 0, Posture.LYING), Epoch.not_worn(m + 1),
                   Epoch.from_steps(m + 2, 70), Epoch.unknown(m + 3), Epoch.unknown(m + 4),
                   Epoch.from_steps(m + 5, 0)]
    assert (tally.samples, tally.minutes, tally.sleep, tally.not_worn, tally.implausible) == (
        9, 6, 1, 1, 1)


# --- the command -------------------------------------------------------------------


def test_a_bands_weeks_become_minutes_day_summaries_and_a_baseline(
        config: Path, export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _import(config, export, "--device", "mi band 5") == 0
    said = capsys.readouterr().out
    store_path = tmp_path / "pacer.sqlite3"
    rows = _stored(store_path)
    assert len(rows) == DAYS * 24 * 60
    assert {r[3] for r in rows} == {"gadgetbridge"}
    postures = Counter(r[2] for r in rows)
    assert postures["lying"] == DAYS * 8 * 60
    assert postures["not_worn"] == 2 * 60  # the charger and off the wrist
    assert postures["stepping"] == sum(60 + 3 * i for i in range(DAYS))
    assert sum(r[1] for r in rows) == sum(day_steps(i) for i in range(DAYS))
    with Store.open(store_path) as store:
        days = {s["date"]: s for s in (d.get("payload", d) for d in
                                       store.summaries("alice", "day")) if s.get("final")}
        assert store.prompts("alice") == []
        assert store.outbox_count() == 0
        state = store.load_state("alice")
    assert state is not None
    # Every day but the last is summarised with the band's steps, none prompted.
    for i in range(DAYS - 1):
        body = days[(FIRST + timedelta(days=i)).isoformat()]
        assert body["steps"] == day_steps(i)
        assert body["breaks"]["prompted"] == 0
    assert days[(FIRST + timedelta(days=2)).isoformat()]["not_worn_min"] == 120
    baseline = statistics.median(day_steps(i) for i in range(7))
    assert state[1]["plan"]["baseline"] == round(baseline)
    assert f"the baseline is complete: {round(baseline):,} steps a day" in said
    assert "Bangle" not in said


def test_importing_twice_stores_nothing_twice(config: Path, export: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert _import(config, export, "--device", "C8:0F:10:AA:BB:CC") == 0
    first = _stored(tmp_path / "pacer.sqlite3")
    with Store.open(tmp_path / "pacer.sqlite3") as store:
        summaries = store.summaries("alice", "day")
        state = store.load_state("alice")
    capsys.readouterr()
    assert _import(config, export, "--device", "C8:0F:10:AA:BB:CC") == 0
    said = capsys.readouterr().out
    assert _stored(tmp_path / "pacer.sqlite3") == first
    with Store.open(tmp_path / "pacer.sqlite3") as store:
        assert store.summaries("alice", "day") == summaries
        assert store.load_state("alice") == state
    assert "stored nothing new" in said
    assert f"{len(first):,} minutes were stored already" in said


def test_every_device_by_default_and_impossible_steps_left_unknown(
        config: Path, export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _import(config, export) == 0
    said = capsys.readouterr().out
    by_minute = {r[0]: r for r in _stored(tmp_path / "pacer.sqlite3")}
    nine = _ts(FIRST, 9) // 60
    # At 09:00 the band slept through nothing: both devices' steps add up.
    assert by_minute[nine][1] == 50
    assert by_minute[nine + 5][2] == "unknown"
    assert "1 with impossible step counts left unknown" in said


def test_pacers_own_minutes_are_never_overwritten(config: Path, export: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """pacer measured from day 4 on: the band's earlier minutes are added, its
    later ones are not, and the plan pacer learnt is left alone."""
    own_start = _ts(FIRST + timedelta(days=4), 0) // 60
    store_path = tmp_path / "pacer.sqlite3"
    with Store.open(store_path) as store:
        for m in range(own_start, own_start + 90):
            store.commit_minute("alice", Epoch(m, 7, Posture.UPRIGHT), "ble", (),
                                {"mine": True}, outbox=())
    assert _import(config, export, "--device", "Mi Band 5") == 0
    said = capsys.readouterr().out
    rows = _stored(store_path)
    own = [r for r in rows if r[3] == "ble"]
    assert own == [(m, 7, "upright", "ble") for m in range(own_start, own_start + 90)]
    imported = [r for r in rows if r[3] == "gadgetbridge"]
    assert len(imported) == 4 * 24 * 60
    assert max(r[0] for r in imported) < own_start
    with Store.open(store_path) as store:
        assert store.load_state("alice") == (own_start + 89, {"mine": True})
    assert "pacer's own minutes are kept" in said
    assert "not rebuilt" in said
    capsys.readouterr()
    assert _import(config, export, "--device", "Mi Band 5") == 0
    assert _stored(store_path) == rows


def test_from_a_day_and_never_past_now(tmp_path: Path, config: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "later.db"
    future = int(datetime.now(TZ).timestamp()) + 3 * 86400
    build_export(path, days=3, extra=[(future, 40, 1), (future + 60, 40, 1)])
    assert _import(config, path, "--from", (FIRST + timedelta(days=1)).isoformat()) == 0
    said = capsys.readouterr().out
    rows = _stored(tmp_path / "pacer.sqlite3")
    assert min(r[0] for r in rows) == _ts(FIRST + timedelta(days=1), 0) // 60
    assert max(r[0] for r in rows) < future // 60
    assert "2 minutes are later than now" in said


@pytest.mark.parametrize("what", ["text", "sqlite", "folder", "missing"])
def test_a_file_that_is_not_gadgetbridges_is_refused(
        what: str, config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "export.db"
    if what == "text":
        path.write_bytes(b"time,steps\n" + bytes(range(256)) * 8)
    elif what == "sqlite":
        con = sqlite3.connect(path)
        con.execute("CREATE TABLE notes (body TEXT)")
        con.commit()
        con.close()
    elif what == "folder":
        path.mkdir()
    assert _import(config, path) == 2
    err = capsys.readouterr().err
    assert str(path) in err
    assert "Traceback" not in err
    expected = {"text": "not an SQLite database", "sqlite": "no DEVICE table",
                "folder": "no such file", "missing": "no such file"}[what]
    assert expected in err
    assert not (tmp_path / "pacer.sqlite3").exists() or _stored(tmp_path / "pacer.sqlite3") == []


def test_a_device_not_in_the_export_is_named_with_those_that_are(
        config: Path, export: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _import(config, export, "--device", "Pixel Watch") == 2
    err = capsys.readouterr().err
    assert "no device called 'Pixel Watch'" in err
    assert "Mi Band 5 (C8:0F:10:AA:BB:CC)" in err
    assert "Bangle.js 2" in err


def test_the_daemons_first_morning_after_an_import_states_the_plan_learnt(
        config: Path, export: Path, tmp_path: Path) -> None:
    """The state an import leaves is the one the daemon resumes from: its
    first morning tells the person the quota learnt from the band's days,
    and nothing from the history comes out as a prompt."""
    assert _import(config, export, "--device", "Mi Band 5") == 0
    with Store.open(tmp_path / "pacer.sqlite3") as store:
        saved = store.load_state("alice")
    assert saved is not None
    cfg = load_config(config)
    engine = Engine.restore(cfg.rules, user="alice", timezone="Europe/London",
                            snapshot=saved[1])
    day = FIRST + timedelta(days=DAYS)  # pacer starts the morning after the export ends
    start, end = _ts(day, 0) // 60, _ts(day, 8) // 60
    up = _ts(day, 7) // 60
    prompts = [o for m in range(start, end)
               for o in engine.advance(Epoch.from_steps(m, 60 if m >= up and m % 10 == 0 else 0))
               if isinstance(o, Prompt)]
    assert [p.kind for p in prompts] == ["plan_update"]
    plan = engine.state.plan
    assert plan.baseline == round(statistics.median(day_steps(i) for i in range(7)))
    assert plan.quota is not None
    assert prompts[0].time >= up
    assert prompts[0].reason["new_quota"] == plan.quota
    assert "first_quota" in prompts[0].reason["parts"]
