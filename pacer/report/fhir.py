"""``pacer report --format fhir``: a FHIR R4 Bundle (type ``collection``) of
daily Observations, as plain JSON (no FHIR library at run time; the tests
validate the output with fhir.resources).

Per day with a stored summary, four Observations, each with ``status``
``final`` (``preliminary`` for a summary not yet final), the categories
``activity`` and the Physical Activity guide's ``PhysicalActivity``, and
``subject`` the clinic's ``Patient/<id>`` when it gave one (``pacer report
--patient-id``), else an identifier of the pacer user (then ``performer`` is
left out too):

- daily steps: LOINC 41950-7, UCUM ``/d``;
- sedentary time: LOINC 87705-0 (a trial-use LOINC term), UCUM ``min/d``, over
  the waking window, as sedentary behaviour is defined for waking hours; a
  ``method`` says when sitting was inferred from a step-only device;

These two follow the HL7 Physical Activity IG's time-based measure
(``fhir_pa`` lists its rules and where they come from): ``effectiveDateTime``
the date of the pacing day (local), ``performer`` the Patient, and the worn
time as the guide's ``DeviceActivePercentage`` component (the minutes worn in
the waking window over the whole day for steps, over the waking window for
sedentary time). Each claims the guide's profile in ``meta.profile`` only when
it conforms: not with a user identifier for subject, not while preliminary,
not with pacer's note on a day that is not valid (the guide wants a note's
author). The other daily Observations have ``effectivePeriod``, the pacing
day (``day.start`` to the next ``day.start``, local time with its offset):
- sitting bouts: local code ``sitting-bouts-30`` (UCUM ``{bouts}/d``), with
  components for bouts of 60 minutes or more and the longest bout (``min``);
- sitting prompts: local code ``sitting-prompts`` (``{prompts}/d``), with
  components taken, natural breaks, ignored, snoozed, dismissed and the median
  response time.

A version 2 summary adds to the sedentary time the minutes inferred
(``sedentary-inferred``) and lying (``lying``), and ``method`` is inferred only
when most of the sedentary minutes were; to the prompts the ignored streak
and the nudges not sent (``dropped-budget``, ``dropped-limits``, ...); and
three Observations: worn time (``worn-time``, with the minutes not worn and
when and how the waking window opened and closed), walks (``walks``, each
walk's length and the target length) and exercise sessions
(``exercise-sessions``, with their minutes).

Then, per red-flag report (a check-in that reported red flags), one
Observation with category ``survey`` (the person's own report),
``effectiveDateTime`` the check-in's time, code ``red-flag-report`` and the
tier as its value (``emergency`` or ``urgent``), with components: each flag
(``red-flag``), when the person said a clinician had seen them
(``seen-by-clinician``, a dateTime), and the clearing of the alert
(``alert-cleared`` a dateTime, ``alert-cleared-by`` a string,
``alert-cleared-how`` ``physiotherapist``, ``local`` or ``person``); a
``note`` says the same in words. These codes are in ``RED_FLAG_SYSTEM``.

Local codes are in the code system ``CODE_SYSTEM``. A day with no wearable
data at all has no value for steps, sedentary time or bouts but a
``dataAbsentReason``; a day that is not valid (too few hours of data) keeps its
values and says so in a ``note``.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from pacer.report import fhir_pa, redflags
from pacer.report.data import Day, ReportData
from pacer.report.findings import RedFlagReport, red_flag_reports
from pacer.timebase import minute_of, to_datetime

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
CODE_SYSTEM = "http://pacer.invalid/fhir/CodeSystem/daily-activity"
USER_SYSTEM = "http://pacer.invalid/fhir/NamingSystem/user-id"
RED_FLAG_SYSTEM = "http://pacer.invalid/fhir/CodeSystem/red-flag"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
# uuid5 namespace: the same day of the same user always gets the same ids,
# so a re-export replaces rather than duplicates in a receiving system.
_NAMESPACE = uuid.UUID("6f7e0f52-7f7a-4c1e-9d0b-0c3a3e6d1a01")


def quantity(value: float | int, unit: str, code: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": code}


def concept(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def render(data: ReportData, *, now: datetime | None = None,
           patient: str | None = None) -> str:
    """The bundle as JSON; ``patient`` is the clinic's Patient id for the user."""
    return json.dumps(bundle(data, now=now, patient=patient), indent=2,
                      ensure_ascii=False) + "\n"


def bundle(data: ReportData, *, now: datetime | None = None,
           patient: str | None = None) -> dict[str, Any]:
    entries = []
    reports = red_flag_reports(data)
    for day in data.days:
        found = [red_flag_observation(r, data, patient) for r in reports if r.day == day.day]
        for obs in observations(day, data, patient) + found:
            entries.append({"fullUrl": f"urn:uuid:{obs['id']}", "resource": obs})
    stamp = (now or data.made).isoformat(timespec="seconds")
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid5(_NAMESPACE, f"{data.user}/{data.first}/{data.last}")),
        "meta": {"lastUpdated": stamp},
        "type": "collection",
        "timestamp": stamp,
        "entry": entries,
    }


def observations(day: Day, data: ReportData,
                 patient: str | None = None) -> list[dict[str, Any]]:
    body = day.body
    if body is None:
        return []  # nothing was measured: no Observation rather than a made-up zero
    no_data = body["known_min"] == 0
    breaks = body["breaks"]
    steps = _obs(day, data, patient, "steps",
                 concept(LOINC, "41950-7", "Number of steps in 24 hour Measured"))
    sed = _obs(day, data, patient, "sedentary",
               concept(LOINC, "87705-0", "Sedentary activity 24 hour"))
    bouts = _obs(day, data, patient, "bouts", concept(CODE_SYSTEM, "sitting-bouts-30",
                                                     "Sitting bouts of 30 minutes or more"))
    prompts = _obs(day, data, patient, "prompts", concept(CODE_SYSTEM, "sitting-prompts",
                                                         "Sitting prompts sent"))
    if no_data:
        for obs in (steps, sed, bouts):
            obs["dataAbsentReason"] = concept(ABSENT, "unknown", "Unknown")
            obs["dataAbsentReason"]["text"] = "no wearable data that day"
    else:
        steps["valueQuantity"] = quantity(body["steps"], "steps/day", "/d")
        sed["valueQuantity"] = quantity(body["sedentary_min"], "min/day", "min/d")
        bouts["valueQuantity"] = quantity(body["sitting_bouts_30"], "bouts/day", "{bouts}/d")
        bouts["component"] = [
            _component("sitting-bouts-60", "Sitting bouts of 60 minutes or more",
                       quantity(body["sitting_bouts_60"], "bouts/day", "{bouts}/d")),
            _component("longest-sitting-bout", "Longest sitting bout",
                       quantity(body["longest_sitting_bout_min"], "min", "min")),
        ]
        if isinstance(body.get("sedentary_inferred_min"), int):
            sed["component"] = [_component(
                "sedentary-inferred", "Sedentary minutes inferred from zero steps",
                quantity(body["sedentary_inferred_min"], "min/day", "min/d"))]
        if isinstance(body.get("lying_min"), int):
            sed.setdefault("component", []).append(_component(
                "lying", "Lying in the waking window (not counted as sedentary)",
                quantity(body["lying_min"], "min/day", "min/d")))
    if day.inferred:
        sed["method"] = concept(CODE_SYSTEM, "inferred-from-steps",
                                "Sitting inferred from zero steps (step-only device)")
    prompts["valueQuantity"] = quantity(breaks["prompted"], "prompts/day", "{prompts}/d")
    prompts["component"] = [
        _component(f"breaks-{name}", label, quantity(breaks[name], "breaks/day", "{breaks}/d"))
        for name, label in (
            ("taken", "Break taken within the response window after a prompt"),
            ("natural", "Break without a prompt (natural break)"),
            ("ignored", "Prompt ignored"),
            ("snoozed", "Prompt snoozed"),
            ("dismissed", "Prompt dismissed"),
        )
    ]
    median = breaks["median_response_min"]
    if median is not None:
        prompts["component"].append(_component(
            "median-response", "Median time from prompt to break",
            quantity(median, "min", "min")))
    if isinstance(breaks.get("ignored_streak"), int):
        prompts["component"].append(_component(
            "ignored-streak", "Sitting prompts ignored in a row at the end of the day",
            quantity(breaks["ignored_streak"], "prompts", "{prompts}")))
    dropped = body.get("prompts_dropped")
    if isinstance(dropped, dict):
        prompts["component"] += [
            _component(f"dropped-{name}", label,
                       quantity(dropped.get(name, 0), "prompts/day", "{prompts}/d"))
            for name, label in DROPPED
        ]
    worn = int(body["known_min"])  # v2's worn_min is the same count
    _daily_measure(steps, day, worn, day.bounds.length_min)
    _daily_measure(sed, day, worn, _window_min(day))
    out = [steps, sed, bouts, prompts]
    if "window" in body:
        out += _v2(day, data, patient, no_data=no_data)
    if not body["valid"] and not no_data:
        hours = data.day_rules.min_known_hours
        text = (f"Not a valid day: {body['known_min']} minutes of wearable data in the "
                f"waking window, {hours:g} hours needed.")
        for obs in out:
            obs["note"] = [{"text": text}]
    return [_claimed(steps), _claimed(sed), *out[2:]]


def _daily_measure(obs: dict[str, Any], day: Day, worn_min: int, span_min: int) -> None:
    """Daily steps or sedentary time in the Physical Activity guide's shape: a
    date for the day instead of its period, the Patient as performer, and the
    share of ``span_min`` the wearable was worn."""
    del obs["effectivePeriod"]
    obs["effectiveDateTime"] = day.day.isoformat()
    if "reference" in obs["subject"]:
        obs["performer"] = [dict(obs["subject"])]
    obs.setdefault("component", []).append(fhir_pa.percent_active(worn_min, span_min))


def _window_min(day: Day) -> int:
    """Minutes of the waking window: from when it opened to when it closed
    (version 2), each edge as configured for the day when the summary has no
    time for it (version 1, or a window still open)."""
    opened, closed = day.window_time("opened"), day.window_time("closed")
    start = minute_of(opened) if opened is not None else day.bounds.wake
    end = minute_of(closed) if closed is not None else day.bounds.sleep
    return max(0, end - start)


def _claimed(obs: dict[str, Any]) -> dict[str, Any]:
    """``obs`` with the guide's profile in ``meta.profile`` if it conforms."""
    if fhir_pa.problems(obs):
        return obs
    head = {k: obs[k] for k in ("resourceType", "id")}
    return head | {"meta": {"profile": [fhir_pa.TIME_MEASURE]}} | obs


DROPPED = (
    ("budget", "Nudges not sent: the day's budget of prompts was spent"),
    ("limits", "Nudges not sent: over a per-kind limit"),
    ("dnd", "Nudges not sent: do not disturb"),
    ("coverage", "Nudges not sent: too little wearable data"),
    ("coherence", "Nudges not sent: too soon after another prompt"),
)


def _v2(day: Day, data: ReportData, patient: str | None, *,
        no_data: bool) -> list[dict[str, Any]]:
    """A version 2 day's worn time with its waking window, walks against the
    target length, and exercise sessions."""
    body = day.body
    assert body is not None
    worn = _obs(day, data, patient, "worn", concept(
        CODE_SYSTEM, "worn-time", "Time the wearable was worn in the waking window"))
    walks = _obs(day, data, patient, "walks", concept(CODE_SYSTEM, "walks", "Walks"))
    exercise = _obs(day, data, patient, "exercise", concept(
        CODE_SYSTEM, "exercise-sessions", "Strength or mobility sessions logged"))
    worn["valueQuantity"] = quantity(body["worn_min"], "min/day", "min/d")
    worn["component"] = [_component("not-worn", "Not worn in the waking window",
                                    quantity(body["not_worn_min"], "min/day", "min/d"))]
    for edge, label in (("opened", "Waking window opened"), ("closed", "Waking window closed")):
        when = day.window_time(edge)
        if when is not None:
            worn["component"].append({"code": concept(CODE_SYSTEM, f"window-{edge}", label),
                                      "valueDateTime": when.isoformat()})
        by = day.window_by(edge)
        if by is not None:
            worn["component"].append({
                "code": concept(CODE_SYSTEM, f"window-{edge}-by", f"{label}: how"),
                "valueString": WINDOW_HOW.get(by, by)})
    if no_data:
        walks["dataAbsentReason"] = concept(ABSENT, "unknown", "Unknown")
        walks["dataAbsentReason"]["text"] = "no wearable data that day"
    else:
        walks["valueQuantity"] = quantity(body["walks"], "walks/day", "{walks}/d")
        walks["component"] = [
            _component("walk-length", f"Walk {i} length", quantity(n, "min", "min"))
            for i, n in enumerate(body["walk_lengths"], start=1)
        ]
        target = body.get("walk_target_min")
        if target is not None:
            walks["component"].append(_component(
                "walk-target", "Target length of a walk", quantity(target, "min", "min")))
        if not walks["component"]:
            del walks["component"]
    exercise["valueQuantity"] = quantity(body["exercise"]["sessions"], "sessions/day",
                                         "{sessions}/d")
    exercise["component"] = [_component("exercise-minutes", "Minutes of exercise logged",
                                        quantity(body["exercise"]["minutes"], "min/day",
                                                 "min/d"))]
    return [worn, walks, exercise]


WINDOW_HOW = {
    "event": "the person said so",
    "detected": "detected from the wearable",
    "configured": "at the configured time",
}


def _obs(day: Day, data: ReportData, patient: str | None, what: str,
         code: dict[str, Any]) -> dict[str, Any]:
    assert day.body is not None
    tz = data.tz
    return {
        "resourceType": "Observation",
        "id": str(uuid.uuid5(_NAMESPACE, f"{data.user}/{day.day.isoformat()}/{what}")),
        "status": "final" if day.body["final"] else "preliminary",
        # The guide's two categories on every daily Observation: it lets other
        # activity measures carry PhysicalActivity too (measures.html).
        "category": fhir_pa.categories(),
        "code": code,
        "subject": subject(data, patient),
        "effectivePeriod": {
            "start": to_datetime(day.bounds.start, tz).isoformat(),
            "end": to_datetime(day.bounds.end, tz).isoformat(),
        },
    }


def subject(data: ReportData, patient: str | None) -> dict[str, Any]:
    """``Patient/<patient>`` when the clinic maps the user to a Patient (the
    guide wants a reference), else the pacer user's identifier, which the
    guide's profiles do not accept."""
    if patient is not None:
        return {"reference": f"Patient/{patient}", "display": data.user}
    return {"identifier": {"system": USER_SYSTEM, "value": data.user}, "display": data.user}


def _component(code: str, display: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"code": concept(CODE_SYSTEM, code, display), "valueQuantity": value}


def red_flag_observation(report: RedFlagReport, data: ReportData,
                         patient: str | None = None) -> dict[str, Any]:
    """One red-flag report: its tier as the value, each flag, whether the
    person said they had been seen, and who cleared the alert and how."""
    stamp = report.time.isoformat() if report.time is not None else report.day.isoformat()
    tier = report.tier
    how = report.how or "physiotherapist"
    components: list[dict[str, Any]] = [
        {"code": concept(RED_FLAG_SYSTEM, "red-flag", "Red flag"),
         "valueCodeableConcept": concept(RED_FLAG_SYSTEM, flag, redflags.name(flag))}
        for flag in report.flags
    ]
    words = [f"{tier.capitalize()} red flag reported: {redflags.names(report.flags)}."]
    if report.seen is not None:
        components.append({"code": concept(RED_FLAG_SYSTEM, "seen-by-clinician",
                                           "The person said a clinician had seen them"),
                           "valueDateTime": report.seen.isoformat()})
        words.append(f"The person said they had been seen by a clinician on "
                     f"{redflags.at(report.seen)}.")
    else:
        words.append("The person did not say they had been seen.")
    cleared = report.cleared
    if cleared is not None:
        components += [
            {"code": concept(RED_FLAG_SYSTEM, "alert-cleared", "Alert cleared"),
             "valueDateTime": cleared.time.isoformat()},
            {"code": concept(RED_FLAG_SYSTEM, "alert-cleared-by", "Alert cleared by"),
             "valueString": cleared.by},
            {"code": concept(RED_FLAG_SYSTEM, "alert-cleared-how", "How the alert was cleared"),
             "valueCodeableConcept": concept(RED_FLAG_SYSTEM, how, redflags.HOW_LABELS[how])},
        ]
        words.append(f"Cleared on {redflags.at(cleared.time)} "
                     f"{redflags.clearing(cleared.by, report.how, cleared.why)}.")
    else:
        words.append("The alert was still open at the end of the period.")
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "id": str(uuid.uuid5(_NAMESPACE, f"{data.user}/red-flag/{stamp}")),
        "status": "final",
        "category": [concept(CATEGORY, "survey", "Survey")],
        "code": concept(RED_FLAG_SYSTEM, "red-flag-report", "Red flag reported by the person"),
        "subject": subject(data, patient),
        "effectiveDateTime": stamp,
        "valueCodeableConcept": concept(RED_FLAG_SYSTEM, tier, f"{tier.capitalize()} tier"),
        "note": [{"text": " ".join(words)}],
    }
    if components:
        obs["component"] = components
    return obs
