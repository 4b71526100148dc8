"""The FHIR bundle's daily steps and sedentary time against the HL7 Physical
Activity IG (STU 1), one test per rule (pacer/report/fhir_pa.py says where
each comes from), on a real store replayed by ``pacer replay`` and reported
by ``pacer report``: categories, code and system, a local date for the day,
the unit, the Patient reference, the profile claim only when the Observation
conforms, and the worn time. The bundle still validates as FHIR (R4B, as the
other report tests, the R4 structures unchanged for Observation).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation
from helpers.daemon import pacer_cli
from helpers.v2_history import POSTURE_DAY, STEP_DAY, two_days_of_minutes
from test_report_v2 import config

from pacer.config import DayRules, WalkRules
from pacer.report import data as report_data
from pacer.report import fhir, fhir_pa
from pacer.report.data import ReportData
from pacer.store import Store

PATIENT = "pat-0042.a"
ZONE = "Australia/Sydney"
DAYS = (POSTURE_DAY, STEP_DAY)
PA_CODES = "http://hl7.org/fhir/us/physical-activity/CodeSystem/pa-temporary-codes"
PROFILE = ("http://hl7.org/fhir/us/physical-activity/StructureDefinition/"
           "pa-observation-time-measure")
STEPS, SEDENTARY = "41950-7", "87705-0"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pa")
    path = folder / "pacer.sqlite3"
    events = folder / "events.jsonl"
    events.write_text(json.dumps({"time": f"{POSTURE_DAY}T07:55:00+11:00", "type": "day",
                                  "event": "up"}) + "\n", encoding="utf-8")
    proc = pacer_cli("replay", "--input", str(two_days_of_minutes(folder / "m.csv")),
                     "--events", str(events), "--config", str(config(folder, path)),
                     "--store", str(path))
    assert proc.returncode == 0, proc.stderr
    return path


def report(store: Path, *extra: str) -> dict[str, Any]:
    proc = pacer_cli("report", "--store", str(store), "--from", POSTURE_DAY, "--to", STEP_DAY,
                     "--format", "fhir", "--out", "-", *extra, timeout=300)
    assert proc.returncode == 0, proc.stderr
    bundle: dict[str, Any] = json.loads(proc.stdout)
    return bundle


@pytest.fixture(scope="module")
def mapped(store: Path) -> dict[str, Any]:
    return report(store, "--patient-id", PATIENT)


@pytest.fixture(scope="module")
def unmapped(store: Path) -> dict[str, Any]:
    return report(store)


@pytest.fixture(scope="module")
def stored(store: Path) -> dict[str, dict[str, Any]]:
    with Store.open(store) as s:
        return {b["date"]: b for b in s.summaries("alice", "day")}


@pytest.fixture(scope="module")
def loaded(store: Path) -> Iterator[ReportData]:
    with Store.open(store) as s:
        yield report_data.load(s, "alice", date.fromisoformat(POSTURE_DAY),
                               date.fromisoformat(STEP_DAY), day_rules=DayRules(),
                               walk_rules=WalkRules(), timezone=ZONE)


def measures(bundle: dict[str, Any], code: str) -> list[dict[str, Any]]:
    """The bundle's Observations with LOINC ``code``, in day order."""
    return [e["resource"] for e in bundle["entry"]
            if e["resource"]["code"]["coding"][0]["code"] == code]


def both(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return measures(bundle, STEPS) + measures(bundle, SEDENTARY)


def component(obs: dict[str, Any], code: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [c for c in obs.get("component", ())
                                   if c["code"]["coding"][0]["code"] == code]
    assert len(found) == 1, code
    return found[0]


def test_both_categories(mapped: dict[str, Any]) -> None:
    """PA Observation Base: category slices Activity and PhysicalActivity, 1..1 each."""
    for obs in both(mapped):
        codings = [(c["system"], c["code"]) for cat in obs["category"] for c in cat["coding"]]
        assert codings.count(
            ("http://terminology.hl7.org/CodeSystem/observation-category", "activity")) == 1
        assert codings.count((PA_CODES, "PhysicalActivity")) == 1


def test_loinc_codes(mapped: dict[str, Any]) -> None:
    """Time-based measures table: daily steps are LOINC 41950-7; sedentary time
    LOINC 87705-0 (the guide's value set has no code for it, binding extensible)."""
    assert len(measures(mapped, STEPS)) == len(measures(mapped, SEDENTARY)) == len(DAYS)
    for obs in both(mapped):
        (coding,) = obs["code"]["coding"]
        assert coding["system"] == "http://loinc.org"


def test_effective_is_the_local_date(mapped: dict[str, Any]) -> None:
    """A daily measure's effective[x] is the date of the day, in the person's
    zone: Sydney's pacing day starts at 04:00 (+11:00), the day before in UTC."""
    for code in (STEPS, SEDENTARY):
        got = [o["effectiveDateTime"] for o in measures(mapped, code)]
        assert got == list(DAYS)
        for obs in measures(mapped, code):
            assert "effectivePeriod" not in obs
    start = datetime.combine(date.fromisoformat(POSTURE_DAY), time(4), ZoneInfo(ZONE))
    assert start.astimezone(ZoneInfo("UTC")).date().isoformat() != POSTURE_DAY


def test_ucum_units_and_values(mapped: dict[str, Any],
                               stored: dict[str, dict[str, Any]]) -> None:
    """Base: valueQuantity value, system UCUM and code required; the unit /d for
    steps (measures table), min/d for minutes a day."""
    for code, unit, field in ((STEPS, "/d", "steps"), (SEDENTARY, "min/d", "sedentary_min")):
        for obs in measures(mapped, code):
            value = obs["valueQuantity"]
            assert (value["system"], value["code"]) == ("http://unitsofmeasure.org", unit)
            assert value["value"] == stored[obs["effectiveDateTime"]][field]


def test_subject_and_performer_are_the_patient(mapped: dict[str, Any],
                                               unmapped: dict[str, Any]) -> None:
    """Base: subject 1..1 Reference(US Core Patient) with a reference; the
    performer of a device measure the person reports is the Patient too."""
    for obs in both(mapped):
        assert obs["subject"]["reference"] == f"Patient/{PATIENT}"
        assert obs["performer"] == [obs["subject"]]
    # Every Observation in the bundle names the same Patient.
    assert {e["resource"]["subject"]["reference"] for e in mapped["entry"]} == {
        f"Patient/{PATIENT}"}
    for obs in both(unmapped):
        assert "reference" not in obs["subject"]
        assert obs["subject"]["identifier"]["value"] == "alice"
        assert "performer" not in obs


def test_profile_claimed_only_when_conforming(mapped: dict[str, Any],
                                              unmapped: dict[str, Any]) -> None:
    for obs in both(mapped):
        assert obs["meta"]["profile"] == [PROFILE]
        assert fhir_pa.problems(obs) == []
    for e in mapped["entry"]:  # the local-code Observations claim nothing
        if e["resource"]["code"]["coding"][0]["system"] != "http://loinc.org":
            assert "meta" not in e["resource"]
    # A user identifier is not a Patient reference: no claim, and the reason.
    for obs in both(unmapped):
        assert "meta" not in obs
        assert fhir_pa.problems(obs) == ["subject is not a Patient reference"]


def test_no_claim_for_a_day_that_is_not_valid(loaded: ReportData) -> None:
    """Base: a note needs an author and a time; pacer's own note on a day
    with too few hours of data has neither, so that day claims nothing."""
    day = loaded.days[0]
    assert day.body is not None
    assert day.body["valid"]
    short = dataclasses.replace(day, body={**day.body, "valid": False})
    for obs in fhir.observations(short, loaded, PATIENT)[:2]:
        assert obs["note"][0]["text"].startswith("Not a valid day")
        assert "meta" not in obs
        assert fhir_pa.problems(obs) == ["a note has no author and time"]


def test_no_claim_while_preliminary(loaded: ReportData) -> None:
    """Base: status final, amended, corrected or entered-in-error; a summary
    not yet final is preliminary and claims nothing."""
    day = loaded.days[0]
    assert day.body is not None
    early = dataclasses.replace(day, body={**day.body, "final": False})
    for obs in fhir.observations(early, loaded, PATIENT)[:2]:
        assert obs["status"] == "preliminary"
        assert "meta" not in obs
        assert fhir_pa.problems(obs) == ["status 'preliminary' is not one the guide allows"]


def test_worn_time_is_the_device_active_percentage(
        mapped: dict[str, Any], stored: dict[str, dict[str, Any]]) -> None:
    """Time-based measure: component percentActive, code DeviceActivePercentage,
    UCUM %: the share of the measure's time the wearable was worn. Steps count
    the whole pacing day; sedentary time the waking window."""
    zone = ZoneInfo(ZONE)
    for steps, sedentary in zip(measures(mapped, STEPS), measures(mapped, SEDENTARY),
                                strict=True):
        body = stored[steps["effectiveDateTime"]]
        start = datetime.combine(date.fromisoformat(body["date"]), time(4), zone)
        end = datetime.combine(start.date() + timedelta(days=1), time(4), zone)
        day_min = (end.timestamp() - start.timestamp()) / 60
        # The window's edges as stored; one it has not closed yet, at day.sleep.
        opened = datetime.fromisoformat(body["window"]["opened"])
        closed = (datetime.fromisoformat(body["window"]["closed"]) if body["window"]["closed"]
                  else datetime.combine(start.date(), DayRules().sleep, zone))
        window_min = (closed.timestamp() - opened.timestamp()) / 60
        for obs, span in ((steps, day_min), (sedentary, window_min)):
            part = component(obs, "DeviceActivePercentage")
            assert part["code"]["coding"][0]["system"] == PA_CODES
            value = part["valueQuantity"]
            assert (value["system"], value["code"]) == ("http://unitsofmeasure.org", "%")
            assert value["value"] == pytest.approx(100 * body["worn_min"] / span, abs=0.05)
            assert 0 < value["value"] <= 100


def test_bundle_still_validates(mapped: dict[str, Any]) -> None:
    bundle = Bundle.model_validate(mapped)
    assert bundle.entry
    for entry in bundle.entry:
        assert entry.resource is not None
        obs = Observation.model_validate(entry.resource.model_dump())
        assert obs.subject is not None
        assert obs.subject.reference == f"Patient/{PATIENT}"


@pytest.mark.parametrize(("extra", "message"), [
    (("--format", "fhir", "--patient-id", "a/b"), "--patient-id 'a/b' is not a FHIR id"),
    (("--format", "fhir", "--patient-id", "x" * 65), "is not a FHIR id"),
    (("--format", "csv", "--patient-id", "p1"), "--patient-id is for --format fhir"),
])
def test_bad_patient_id_is_bad_input(store: Path, extra: tuple[str, ...],
                                     message: str) -> None:
    proc = pacer_cli("report", "--store", str(store), "--from", POSTURE_DAY, "--to",
                     STEP_DAY, "--out", "-", *extra)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert proc.stdout == ""


def test_patient_id_pattern_is_fhir_id() -> None:
    assert all(fhir_pa.PATIENT_ID.fullmatch(s) for s in ("1", "a-b.C9", "z" * 64))
    assert not any(fhir_pa.PATIENT_ID.fullmatch(s) for s in ("", "a b", "a_b", "é", "z" * 65))
