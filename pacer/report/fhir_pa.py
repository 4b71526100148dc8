"""The HL7 Physical Activity Implementation Guide (``hl7.fhir.us.physical-activity``,
STU 1, FHIR R4, http://hl7.org/fhir/us/physical-activity/) as it applies to
pacer's daily steps and sedentary time, and a check that an Observation
follows it, so ``meta.profile`` is claimed only for one that does.

The guide has no profile per measure: a measure summed over a day or longer is
a "PA Observation - Supporting, Time-based" (``pa-observation-time-measure``,
page measures.html, "Time-based Measures"), built on "PA Observation Base"
(``pa-observation-base``). The rules followed, and where they come from:

- categories (base, ``category`` slices Activity and PhysicalActivity, each
  1..1): ``activity`` from observation-category and ``PhysicalActivity`` from
  the guide's own code system ``pa-temporary-codes``;
- code (time measure, bound extensible to its ``pa-observation-code-time``
  value set; measures.html table): LOINC 41950-7 for daily steps. Sedentary
  time has no code in that value set, so the extensible binding lets LOINC
  87705-0 stand;
- value (base ``valueQuantity``: value, ``system`` UCUM and ``code`` all
  required; measures.html table for the unit): ``/d`` for steps, ``min/d`` for
  sedentary time (the guide's unit for minutes a day);
- subject (base, 1..1, ``Reference(us-core-patient)`` with the guide's
  ``reference-rest`` profile: ``reference`` 1..1): ``Patient/<id>``. An
  identifier alone does not conform;
- effective (base, dateTime or Period, at least 10 characters; measures.html:
  only a measure over more than a day has a Period of start and end dates; the
  guide's daily-steps examples carry a bare date): the date of the day;
- status (base ``status``, "final | amended | corrected | entered-in-error",
  value set ``pa-observation-status``): a preliminary summary does not conform;
- note (base ``note``: ``author[x]`` and ``time`` each 1..1, the author a
  Patient, Practitioner or RelatedPerson): pacer's own note on a day that is
  not valid has no such author, so that day makes no profile claim;
- worn time (time measure, component slice ``percentActive``, code
  ``DeviceActivePercentage`` from ``pa-temporary-codes``, UCUM ``%``): "the
  percentage of the overall time associated with [the] measure that the
  device ... was enabled and available to take measurements";
- performer (base, must-support; measures.html: daily steps are reported by
  the patient from a device): the same Patient reference.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

IG = "http://hl7.org/fhir/us/physical-activity"
TIME_MEASURE = f"{IG}/StructureDefinition/pa-observation-time-measure"
PA_CODES = f"{IG}/CodeSystem/pa-temporary-codes"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
UCUM = "http://unitsofmeasure.org"
STATUSES = frozenset({"final", "amended", "corrected", "entered-in-error"})
UNITS = {"41950-7": "/d", "87705-0": "min/d"}  # LOINC code: UCUM unit the guide uses
PATIENT_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
"""FHIR R4's ``id`` type: what may follow ``Patient/``."""
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def categories() -> list[dict[str, Any]]:
    return [
        {"coding": [{"system": OBS_CATEGORY, "code": "activity", "display": "Activity"}],
         "text": "Activity"},
        {"coding": [{"system": PA_CODES, "code": "PhysicalActivity",
                     "display": "Physical Activity"}], "text": "Physical Activity"},
    ]


def percent_active(worn_min: int, span_min: int) -> dict[str, Any]:
    """The ``percentActive`` component: ``worn_min`` of ``span_min`` minutes,
    as a percentage with one decimal (at most 100)."""
    share = 0.0 if span_min <= 0 else min(100.0, round(100 * worn_min / span_min, 1))
    return {
        "code": {"coding": [{"system": PA_CODES, "code": "DeviceActivePercentage",
                             "display": "Device Active Percentage"}],
                 "text": "Share of the time the wearable was worn"},
        "valueQuantity": {"value": share, "unit": "%", "system": UCUM, "code": "%"},
    }


def problems(obs: Mapping[str, Any]) -> list[str]:
    """Why ``obs`` does not follow the time-based measure profile (empty if it
    does), for daily steps and sedentary time."""
    out = []
    if obs.get("status") not in STATUSES:
        out.append(f"status {obs.get('status')!r} is not one the guide allows")
    codings = {(c.get("system"), c.get("code"))
               for cat in obs.get("category", ()) for c in cat.get("coding", ())}
    if not {(OBS_CATEGORY, "activity"), (PA_CODES, "PhysicalActivity")} <= codings:
        out.append("category lacks activity or PhysicalActivity")
    code = next((c.get("code") for c in obs.get("code", {}).get("coding", ())
                 if c.get("system") == "http://loinc.org"), None)
    if code not in UNITS:
        out.append("code is not a daily measure pacer maps to the guide")
    value = obs.get("valueQuantity")
    if value is not None and (value.get("system") != UCUM or value.get("code") != UNITS.get(
            code or "") or value.get("value") is None):
        out.append("value is not a UCUM quantity in the guide's unit")
    if value is None and "dataAbsentReason" not in obs:
        out.append("neither a value nor a dataAbsentReason")
    reference = obs.get("subject", {}).get("reference", "")
    if not (reference.startswith("Patient/") and PATIENT_ID.fullmatch(reference[8:])):
        out.append("subject is not a Patient reference")
    effective = obs.get("effectiveDateTime")
    if not isinstance(effective, str) or not _DATE.fullmatch(effective):
        out.append("effective is not the day's date")
    if any(not n.get("time") or "authorReference" not in n for n in obs.get("note", ())):
        out.append("a note has no author and time")
    return out
