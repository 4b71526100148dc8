"""``pacer report`` on version 2 days (issue 17, items 1, 2 and 5), on real
SQLite stores:

- a two-day replay through the real ``pacer replay --store``: a posture day
  with an hour of sitting inferred from zero steps (the person said they were
  up, did an exercise session) and a step-only day, so most of its sitting is
  inferred. The CSV, HTML and FHIR show the waking window, worn time, walks
  against the target, nudges not sent and exercise as stored, and mark only
  the second day inferred;
- the same store with its summaries rewritten as version 1 wrote them: every
  format still works, version 2's columns are empty and the v1 flag is kept;
- a running daemon's store before the day's first summary (minutes and the
  engine state, committed minute by minute as the daemon does): the report
  shows the day so far as provisional instead of "no summaries".
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from helpers.daemon import pacer_cli
from helpers.v2_history import POSTURE_DAY, STEP_DAY, two_days_of_minutes

from pacer.config import Config
from pacer.engine.core import Engine
from pacer.io.minutes import read_minutes
from pacer.store import Store

V2_ONLY = ("sedentary_inferred_min", "window", "worn_min", "not_worn_min", "lying_min",
           "walk_lengths", "walk_target_min", "prompts_dropped", "exercise")


def config(folder: Path, store: Path) -> Path:
    path = folder / "alice.toml"
    path.write_text('[user]\nid = "alice"\ntimezone = "Australia/Sydney"\n\n'
                    f'[storage]\npath = "{store}"\n', encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("v2")
    path = folder / "pacer.sqlite3"
    events = folder / "events.jsonl"
    events.write_text("".join(json.dumps(e) + "\n" for e in (
        {"time": f"{POSTURE_DAY}T07:55:00+11:00", "type": "day", "event": "up"},
        {"time": f"{POSTURE_DAY}T18:00:00+11:00", "type": "exercise", "minutes": 20,
         "what": "bridges"},
    )), encoding="utf-8")
    proc = pacer_cli("replay", "--input", str(two_days_of_minutes(folder / "m.csv")), "--events",
                     str(events), "--config", str(config(folder, path)), "--store", str(path))
    assert proc.returncode == 0, proc.stderr
    return path


def report(store: Path, fmt: str, first: str = POSTURE_DAY, last: str = STEP_DAY) -> str:
    proc = pacer_cli("report", "--store", str(store), "--from", first, "--to", last,
                     "--format", fmt, "--out", "-", timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def rows(text: str) -> dict[str, dict[str, str]]:
    return {r["date"]: r for r in csv.DictReader(io.StringIO(text))}


def stored_days(path: Path) -> dict[str, dict[str, Any]]:
    with Store.open(path) as s:
        return {b["date"]: b for b in s.summaries("alice", "day")}


def observations(bundle: str, day: str) -> dict[str, dict[str, Any]]:
    """The day's Observations by their code."""
    out = {}
    for entry in json.loads(bundle)["entry"]:
        obs = entry["resource"]
        # steps and sedentary time carry the date, as the Physical Activity guide wants
        start = obs.get("effectivePeriod", {}).get("start", obs.get("effectiveDateTime", ""))
        if start.startswith(day):
            out[obs["code"]["coding"][0]["code"]] = obs
    return out


def components(obs: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for c in obs.get("component", ()):
        code = c["code"]["coding"][0]["code"]
        value = c.get("valueQuantity", {}).get("value", c.get("valueDateTime",
                                                              c.get("valueString")))
        out.setdefault(code, []).append(value)
    return {k: v[0] if len(v) == 1 else v for k, v in out.items()}


# --- the days themselves --------------------------------------------------------


def test_the_store_holds_the_two_kinds_of_day(store: Path) -> None:
    days = stored_days(store)
    posture, step = days[POSTURE_DAY], days[STEP_DAY]
    assert posture["v"] == step["v"] == 2
    assert 0 < posture["sedentary_inferred_min"] < posture["sedentary_min"] / 2
    assert step["sedentary_inferred_min"] == step["sedentary_min"] > 0
    assert posture["window"]["opened_by"] == "event"
    assert posture["exercise"] == {"sessions": 1, "minutes": 20}


# --- item 2: inferred only where it was inferred --------------------------------


def test_csv_marks_inferred_only_the_day_most_of_whose_sitting_was(store: Path) -> None:
    days = stored_days(store)
    got = rows(report(store, "csv"))
    posture, step = got[POSTURE_DAY], got[STEP_DAY]
    assert posture["sedentary_inferred"] == "false"
    assert step["sedentary_inferred"] == "true"
    body = days[POSTURE_DAY]
    share = body["sedentary_inferred_min"] / body["sedentary_min"]
    assert posture["sedentary_inferred_min"] == str(body["sedentary_inferred_min"])
    assert posture["sedentary_inferred_share"] == f"{share:.3f}"
    assert step["sedentary_inferred_share"] == "1.000"


def test_html_says_sitting_was_inferred_on_one_day_with_the_share(store: Path) -> None:
    page = report(store, "html")
    days = stored_days(store)
    assert "Sitting was <strong>inferred</strong> on 1 day\n" in page
    inferred = sum(d["sedentary_inferred_min"] for d in days.values())
    sedentary = sum(d["sedentary_min"] for d in days.values())
    assert f"{inferred / sedentary:.0%} of the sedentary minutes were inferred" in page
    row = page[page.index(f'<tr data-date="{POSTURE_DAY}"'):]
    row = row[:row.index("</tr>")]
    assert 'class="inferred"' not in row


def test_fhir_method_inferred_only_for_the_mostly_inferred_day(store: Path) -> None:
    bundle = report(store, "fhir")
    days = stored_days(store)
    posture = observations(bundle, POSTURE_DAY)["87705-0"]
    step = observations(bundle, STEP_DAY)["87705-0"]
    assert "method" not in posture
    assert step["method"]["coding"][0]["code"] == "inferred-from-steps"
    assert components(posture)["sedentary-inferred"] == days[POSTURE_DAY][
        "sedentary_inferred_min"]


# --- item 1: version 2's day in every format ------------------------------------


def test_csv_has_version_2_fields_as_table_key_columns(store: Path) -> None:
    days = stored_days(store)
    for date, row in rows(report(store, "csv")).items():
        body = days[date]
        for edge in ("opened", "closed", "opened_by", "closed_by"):
            assert row[f"window.{edge}"] == (body["window"][edge] or "")
        for name in ("worn_min", "not_worn_min", "lying_min", "walk_target_min"):
            assert row[name] == str(body[name])
        assert row["walk_lengths"] == ";".join(str(n) for n in body["walk_lengths"])
        for key, value in body["prompts_dropped"].items():
            assert row[f"prompts_dropped.{key}"] == str(value)
        assert row["breaks.ignored_streak"] == str(body["breaks"]["ignored_streak"])
        assert row["exercise.sessions"] == str(body["exercise"]["sessions"])
        assert row["exercise.minutes"] == str(body["exercise"]["minutes"])
        assert (row["v"], row["provisional"], row["final"]) == ("2", "false", "true")


def test_html_shows_the_waking_day_table_and_chart(store: Path) -> None:
    page = report(store, "html")
    days = stored_days(store)
    assert 'id="window-title"' in page
    assert 'id="waking"' in page
    table = page[page.index('id="waking"'):]
    table = table[:table.index("</table>")]
    body = days[POSTURE_DAY]
    assert "07:55, the person said so" in table
    assert f'data-field="worn_min" data-value="{body["worn_min"]}"' in table
    assert f'data-field="prompts_dropped.budget" data-value="{body["prompts_dropped"]["budget"]}"' \
        in table
    assert f'data-field="breaks.ignored_streak" data-value="{body["breaks"]["ignored_streak"]}"' \
        in table
    assert f"(target {body['walk_target_min']};" in table
    assert 'data-field="exercise.sessions" data-value="1"' in table
    weeks = page[page.index('id="weeks"'):]
    weeks = weeks[:weeks.index("</table>")]
    assert 'data-field="valid_days"' in weeks
    assert 'data-field="exercise"' in weeks


def test_fhir_has_worn_time_walks_and_exercise(store: Path) -> None:
    days = stored_days(store)
    body = days[POSTURE_DAY]
    obs = observations(report(store, "fhir"), POSTURE_DAY)
    worn = obs["worn-time"]
    assert worn["valueQuantity"]["value"] == body["worn_min"]
    parts = components(worn)
    assert parts["not-worn"] == body["not_worn_min"]
    assert parts["window-opened"] == body["window"]["opened"]
    assert parts["window-opened-by"] == "the person said so"
    walks = components(obs["walks"])
    assert walks["walk-length"] == body["walk_lengths"]
    assert walks["walk-target"] == body["walk_target_min"]
    assert obs["exercise-sessions"]["valueQuantity"]["value"] == 1
    prompts = components(obs["sitting-prompts"])
    assert prompts["dropped-budget"] == body["prompts_dropped"]["budget"]
    assert prompts["ignored-streak"] == body["breaks"]["ignored_streak"]


def test_fhir_bundle_validates(store: Path) -> None:
    from fhir.resources.R4B.bundle import Bundle  # noqa: PLC0415

    Bundle.model_validate_json(report(store, "fhir"))


# --- version 1 stores keep working ----------------------------------------------


@pytest.fixture(scope="module")
def v1_store(store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same days as version 1 stored them: no v2 keys, and the v1 flag
    (any inferred minute marks the day)."""
    path = tmp_path_factory.mktemp("v1") / "pacer.sqlite3"
    shutil.copy(store, path)
    conn = sqlite3.connect(path)
    with conn:
        for key, payload in conn.execute(
                "SELECT key, payload FROM summaries WHERE period = 'day'").fetchall():
            body = json.loads(payload)
            inferred = body["sedentary_inferred_min"] > 0
            for name in V2_ONLY:
                body.pop(name)
            body["breaks"].pop("ignored_streak")
            body.update(v=1, sedentary_inferred=inferred)
            conn.execute("UPDATE summaries SET payload = ? WHERE period = 'day' AND key = ?",
                         (json.dumps(body), key))
        conn.execute("DELETE FROM engine_state")
    conn.close()
    return path


def test_v1_days_keep_their_flag_and_leave_v2_columns_empty(v1_store: Path) -> None:
    got = rows(report(v1_store, "csv"))
    posture = got[POSTURE_DAY]
    assert posture["v"] == "1"
    assert posture["sedentary_inferred"] == "true"  # v1's flag, kept
    for name in ("sedentary_inferred_min", "sedentary_inferred_share", "window.opened",
                 "worn_min", "walk_lengths", "prompts_dropped.budget", "exercise.sessions",
                 "breaks.ignored_streak"):
        assert posture[name] == "", name
    page = report(v1_store, "html")
    assert "Sitting was <strong>inferred</strong> on 2 days" in page
    assert 'id="waking"' not in page
    bundle = report(v1_store, "fhir")
    assert "method" in observations(bundle, POSTURE_DAY)["87705-0"]
    assert "worn-time" not in observations(bundle, POSTURE_DAY)


# --- item 5: a report asked mid-day ----------------------------------------------


def daemon_morning(folder: Path, *, until: str) -> Path:
    """What a running daemon has stored by ``until`` on the posture day: each
    minute with the engine state after it, no summary yet, and a heartbeat."""
    full = two_days_of_minutes(folder / "all.csv").read_text(encoding="utf-8").splitlines()
    keep = [full[0], *(r for r in full[1:] if r.startswith(POSTURE_DAY) and r < until)]
    morning = folder / "morning.csv"
    morning.write_text("\n".join(keep) + "\n", encoding="utf-8")
    path = folder / "pacer.sqlite3"
    engine = Engine(Config().rules, user="alice", timezone="Australia/Sydney")
    with Store.open(path) as s:
        for epoch in read_minutes(morning, filled=True):
            out = engine.advance(epoch)
            s.commit_minute("alice", epoch, "ble", out, engine.snapshot(), outbox=())
        s.beat("alice", 0.0, {"clock": f"{until}:05+11:00"})
    return path


def test_a_report_asked_mid_day_shows_the_day_so_far(tmp_path: Path) -> None:
    path = daemon_morning(tmp_path, until=f"{POSTURE_DAY}T12:00")
    with Store.open(path) as s:
        assert s.summaries("alice", "day") == []
    before = path.read_bytes()
    got = rows(report(path, "csv", last=POSTURE_DAY))
    day = got[POSTURE_DAY]
    assert (day["provisional"], day["final"], day["timezone"]) == ("true", "false", "UTC+11:00")
    assert day["known_min"] == str(4 * 60)
    assert day["window.opened"] == f"{POSTURE_DAY}T08:00:00+11:00"
    assert day["steps"] == str(sum(100 for i in range(4 * 60) if i % 90 < 12))
    page = report(path, "html", last=POSTURE_DAY)
    assert "<strong>Asked mid-day.</strong>" in page
    assert "shown as the day so far, up to 12:00" in page
    assert "without valid data" not in page  # the morning is not a missing day
    assert 'class="invalid so-far"' in page
    bundle = json.loads(report(path, "fhir", last=POSTURE_DAY))
    assert {e["resource"]["status"] for e in bundle["entry"]} == {"preliminary"}
    assert path.read_bytes() == before  # read only


def test_the_day_so_far_does_not_replace_a_stored_summary(store: Path) -> None:
    got = rows(report(store, "csv"))
    assert {r["provisional"] for r in got.values()} == {"false"}


def test_a_user_with_neither_summaries_nor_minutes_is_still_refused(tmp_path: Path) -> None:
    path = daemon_morning(tmp_path, until=f"{POSTURE_DAY}T10:00")
    proc = pacer_cli("report", "--store", str(path), "--user", "carol", "--from", POSTURE_DAY,
                     "--to", POSTURE_DAY, "--format", "csv", "--out", "-")
    assert proc.returncode == 2
    assert "no summaries for user 'carol' (users in the store: alice)" in proc.stderr


def test_mid_day_after_stored_days_adds_only_today_so_far(tmp_path: Path) -> None:
    """Yesterday's summary was published at rollover; today has none yet."""
    full = two_days_of_minutes(tmp_path / "all.csv").read_text(encoding="utf-8").splitlines()
    keep = [full[0], *(r for r in full[1:] if r < f"{STEP_DAY}T11:00")]
    (tmp_path / "m.csv").write_text("\n".join(keep) + "\n", encoding="utf-8")
    path = tmp_path / "pacer.sqlite3"
    engine = Engine(Config().rules, user="alice", timezone="Australia/Sydney")
    with Store.open(path) as s:
        for epoch in read_minutes(tmp_path / "m.csv", filled=True):
            s.commit_minute("alice", epoch, "ble", engine.advance(epoch), engine.snapshot(),
                            outbox=())
        stored = {b["date"]: b for b in s.summaries("alice", "day")}
    assert stored[POSTURE_DAY]["final"] is True
    assert STEP_DAY not in stored
    got = rows(report(path, "csv"))
    assert (got[POSTURE_DAY]["provisional"], got[POSTURE_DAY]["final"]) == ("false", "true")
    assert got[POSTURE_DAY]["steps"] == str(stored[POSTURE_DAY]["steps"])
    assert (got[STEP_DAY]["provisional"], got[STEP_DAY]["final"]) == ("true", "false")
    assert got[STEP_DAY]["timezone"] == "Australia/Sydney"  # from the stored summary
    assert got[STEP_DAY]["known_min"] == str(3 * 60)
