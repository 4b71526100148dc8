"""Red flags in ``pacer report``: each report with its tier and time, whether
the person said they had been seen, and who cleared the alert and how, in the
HTML, the CSV and the FHIR bundle.

The store holds summaries in the shapes the engine publishes (symptom entries
with ``tier``, the plan history's ``alert_seen`` and ``clear_alert``), written
through the store's own API; entries without ``tier`` (an older engine) get
the tier of the engine's table.
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fhir.resources.R4B.bundle import Bundle
from helpers.clinic import day_summary, week_summary

from pacer.config import DayRules, WalkRules
from pacer.engine.safety import FLAGS
from pacer.report import csv as report_csv
from pacer.report import data as report_data
from pacer.report import fhir, findings, redflags
from pacer.report.data import ReportData
from pacer.store import PublishedSummary, Store
from pacer.timebase import minute_of

USER = "alice"
TZ = ZoneInfo("Australia/Sydney")
FIRST = date(2026, 11, 23)  # a Monday
LAST = date(2026, 11, 29)


def at(day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=TZ)


def check_in(when: datetime, flags: list[str], tier: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"time": when.isoformat(), "level": "red", "pain": 8,
                             "red_flags": flags}
    if tier is not None:
        entry["tier"] = tier
    return entry


def change(when: datetime, by: str, why: str, **values: Any) -> dict[str, Any]:
    return {"time": when.isoformat(), "by": by, "why": why, "set": values}


# Mon: an emergency; the person says they were seen and told to carry on.
# Wed: an urgent flag, cleared by the physiotherapist the next morning.
# Fri: a check-in of an older engine (no tier) with a flag the table does not
#      know: an emergency; cleared with `pacer alert clear` on the Pi.
# Sat: urgent, seen but still open at the end of the week.
CHECK_INS = {
    23: check_in(at(23, 10, 15, 30), ["saddle_numbness", "both_legs"], "emergency"),
    25: check_in(at(25, 21, 40, 5), ["severe_night_pain"], "urgent"),
    27: check_in(at(27, 8, 0, 0), ["fever_or_unwell", "new_thing_xyz"], None),
    28: check_in(at(28, 19, 0, 10), ["unexplained_weight_loss"], "urgent"),
}
CHANGES = [
    change(at(23, 14, 2), USER, "seen by a clinician", alert_seen=True),
    change(at(23, 14, 2), USER, "seen by a clinician and told to carry on", clear_alert=True),
    change(at(26, 9, 30), "jo.physio", "seen in clinic: <no> red flag & settled",
           clear_alert=True),
    change(at(27, 12, 0), "local:pi", "phoned: the GP has seen her", clear_alert=True),
    change(at(28, 20, 0), USER, "seen by a clinician", alert_seen=True),
]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("flags") / "pacer.sqlite3"
    days = []
    for i in range(7):
        d = FIRST + timedelta(days=i)
        body = day_summary(USER, d, steps=4000 + 100 * i)
        if d.day in CHECK_INS:
            body["symptoms"] = [CHECK_INS[d.day]]
            body["flags"] = ["red_flag"]
        days.append(body)
    week = week_summary(USER, days) | {"plan_changes": CHANGES, "timezone": str(TZ)}
    made = minute_of(at(29, 23, 0))
    outputs = [PublishedSummary("day", b["date"], True, made, b) for b in days]
    outputs.append(PublishedSummary("week", week["week"], True, made, week))
    with Store.open(path) as s:
        s.commit_command(USER, made * 60.0, "summaries", {}, outputs, None, None, [])
    return path


@pytest.fixture(scope="module")
def loaded(store: Path) -> Iterator[ReportData]:
    with Store.open(store) as s:
        yield report_data.load(s, USER, FIRST, LAST, day_rules=DayRules(),
                               walk_rules=WalkRules())


def test_each_report_with_tier_seen_and_clearing(loaded: ReportData) -> None:
    reports = findings.red_flag_reports(loaded)
    assert [(r.day.day, r.tier) for r in reports] == [
        (23, "emergency"), (25, "urgent"), (27, "emergency"), (28, "urgent")]
    mon, wed, fri, sat = reports
    assert mon.time == at(23, 10, 15, 30)
    assert mon.flags == ("saddle_numbness", "both_legs")
    # The plan history's times are whole minutes: a seen or clear in the
    # check-in's own minute still belongs to it.
    assert mon.seen == at(23, 14, 2)
    assert (mon.cleared and mon.cleared.by, mon.how) == (USER, "person")
    assert wed.seen is None
    assert (wed.cleared and wed.cleared.by, wed.how) == ("jo.physio", "physiotherapist")
    assert (fri.cleared and fri.cleared.by, fri.how) == ("local:pi", "local")
    assert fri.seen is None
    assert (sat.seen, sat.cleared, sat.how) == (at(28, 20, 0), None, None)


def test_attention_lists_emergencies_first_with_who_and_how(loaded: ReportData) -> None:
    items = [i for i in findings.attention(loaded) if "red flag" in i.title]
    assert [i.severity for i in items] == ["emergency", "emergency", "urgent", "urgent"]
    titles = [i.title for i in items]
    assert titles == [
        "Emergency red flag reported Mon 23 Nov at 10:15: saddle numbness, both legs",
        "Emergency red flag reported Fri 27 Nov at 08:00: fever or unwell, new thing xyz",
        "Urgent red flag reported Wed 25 Nov at 21:40: severe night pain",
        "Urgent red flag reported Sat 28 Nov at 19:00: unexplained weight loss",
    ]
    mon, fri, wed, sat = (i.detail for i in items)
    assert "call the emergency number or go to the emergency department now" in mon
    assert "The person said they had been seen by a clinician on Mon 23 Nov 14:02." in mon
    assert ("Cleared on Mon 23 Nov 14:02 by the person (alice): a clinician had seen them "
            "and told them they can carry on.") in mon
    assert ("Cleared on Fri 27 Nov 12:00 on the patient's pacer machine by pi "
            "(pacer alert clear): phoned: the GP has seen her.") in fri
    assert "to get medical advice the same day" in wed
    assert "The person did not say they had been seen." in wed
    assert ("Cleared on Thu 26 Nov 09:30 by jo.physio (physiotherapist): seen in clinic: "
            "<no> red flag & settled.") in wed
    assert "seen by a clinician on Sat 28 Nov 20:00" in sat
    assert "The alert was still open at the end of the period." in sat


def test_html_shows_them_first_escaped(loaded: ReportData) -> None:
    pytest.importorskip("matplotlib")
    from pacer.report import html as report_html  # noqa: PLC0415

    page = report_html.render(loaded)
    header = page[page.index('id="attention-title"'):page.index('id="steps-title"')]
    assert header.index("EMERGENCY") < header.index("URGENT")
    assert '<li class="emergency">' in header
    assert "&lt;no&gt; red flag &amp; settled" in header  # the physio's words, escaped
    text = html.unescape(header)
    assert "Emergency red flag reported Mon 23 Nov at 10:15: saddle numbness" in text
    assert "by jo.physio (physiotherapist)" in text
    days = html.unescape(page[page.index('id="days"'):])
    assert "red (pain 8): emergency red flag, fever or unwell, new thing xyz" in days
    changes = html.unescape(page[page.index('id="plan-changes"'):page.index('id="weeks"')])
    assert "the person said they had been seen by a clinician" in changes
    assert "alert cleared" in changes


def test_csv_has_each_day_s_red_flag_reports(loaded: ReportData) -> None:
    rows = {r["date"]: r for r in csv.DictReader(io.StringIO(report_csv.render(loaded)))}
    assert list(next(iter(rows.values()))) == list(report_csv.COLUMNS)
    assert rows["2026-11-24"]["red_flag_reports"] == ""
    assert json.loads(rows["2026-11-23"]["symptoms"]) == [CHECK_INS[23]]
    assert json.loads(rows["2026-11-23"]["red_flag_reports"]) == [{
        "time": "2026-11-23T10:15:30+11:00", "flags": ["saddle_numbness", "both_legs"],
        "tier": "emergency", "seen": "2026-11-23T14:02:00+11:00",
        "cleared": "2026-11-23T14:02:00+11:00", "cleared_by": USER, "cleared_how": "person",
        "cleared_why": "seen by a clinician and told to carry on"}]
    (wed,) = json.loads(rows["2026-11-25"]["red_flag_reports"])
    assert (wed["tier"], wed["seen"], wed["cleared_by"], wed["cleared_how"]) == (
        "urgent", None, "jo.physio", "physiotherapist")
    (fri,) = json.loads(rows["2026-11-27"]["red_flag_reports"])
    assert (fri["tier"], fri["cleared_how"]) == ("emergency", "local")
    (sat,) = json.loads(rows["2026-11-28"]["red_flag_reports"])
    assert (sat["seen"], sat["cleared"], sat["cleared_how"]) == (
        "2026-11-28T20:00:00+11:00", None, None)


def red_flag_observations(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"]
            if e["resource"]["code"]["coding"][0]["code"] == "red-flag-report"]


def test_fhir_has_an_observation_per_report(loaded: ReportData) -> None:
    text = fhir.render(loaded)
    Bundle.model_validate_json(text)  # R4 (R4B's Bundle and Observation match it)
    bundle = json.loads(text)
    found = red_flag_observations(bundle)
    assert len(bundle["entry"]) == 7 * 4 + 4
    assert [o["effectiveDateTime"] for o in found] == [
        c["time"] for c in CHECK_INS.values()]
    assert [o["valueCodeableConcept"]["coding"][0]["code"] for o in found] == [
        "emergency", "urgent", "emergency", "urgent"]

    def parts(obs: dict[str, Any]) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {}
        for c in obs.get("component", ()):
            value = (c.get("valueDateTime") or c.get("valueString")
                     or c["valueCodeableConcept"]["coding"][0]["code"])
            out.setdefault(c["code"]["coding"][0]["code"], []).append(value)
        return out

    mon, wed, _fri, sat = (parts(o) for o in found)
    assert mon == {"red-flag": ["saddle_numbness", "both_legs"],
                   "seen-by-clinician": ["2026-11-23T14:02:00+11:00"],
                   "alert-cleared": ["2026-11-23T14:02:00+11:00"],
                   "alert-cleared-by": [USER], "alert-cleared-how": ["person"]}
    assert "seen-by-clinician" not in wed
    assert (wed["alert-cleared-by"], wed["alert-cleared-how"]) == (
        ["jo.physio"], ["physiotherapist"])
    assert "alert-cleared" not in sat
    assert "still open" in found[3]["note"][0]["text"]
    assert {o["category"][0]["coding"][0]["code"] for o in found} == {"survey"}
    assert len({o["id"] for o in found}) == 4


def test_names_and_tiers_come_from_the_engine_s_table() -> None:
    for flag in FLAGS:
        assert redflags.tier([flag.name]) == flag.tier
        assert redflags.name(flag.name) == flag.name.replace("_", " ")
    assert redflags.tier(["severe_night_pain", "chest_pain"]) == "emergency"
    assert redflags.tier(["severe_night_pain"], "emergency") == "emergency"  # as stated
    assert redflags.tier(["severe_night_pain"], "bogus") == "urgent"
    assert redflags.tier(["not_in_the_table"]) == "emergency"
    assert redflags.tier([]) == "emergency"
    assert redflags.name("not_in_the_table") == "not in the table"
    assert [redflags.how_of(by, USER) for by in (USER, "local:pi", "jo.physio")] == [
        "person", "local", "physiotherapist"]
