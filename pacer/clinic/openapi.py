"""The clinic's JSON API described once, as an OpenAPI 3.1 document, served at
``/api/openapi.json``. The tests check the app's ``/api/`` routes against its
paths and every route's real responses against its schemas, so a route or a
field added without a word here fails them.

The objects the daemon publishes (daily and weekly summaries, events, alert
bodies, replies) are passed through as the clinic stored them; their schemas
are made from ``contract``'s models, which check them on arrival and again
when read.
"""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from pacer.clinic.plan import PATIENT_ID
from pacer.clinic.views import ATTENTION
from pacer.contract import checked as contract
from pacer.engine.safety import TIERS

VERSION = "1.0.0"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _null(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` or null (a missing value)."""
    return {"oneOf": [schema, {"type": "null"}]}


_TIME = {"type": "string", "format": "date-time"}
_TEXT = {"type": "string"}
_INT = {"type": "integer"}
_NUMBER = {"type": "number"}
_STRINGS = {"type": "array", "items": _TEXT}


def _closed(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    """An object with exactly these fields (all required unless said)."""
    return {"type": "object", "properties": props,
            "required": list(props) if required is None else required,
            "additionalProperties": False}


def _contract() -> dict[str, Any]:
    """The schemas of what the daemon publishes, from the models ``contract``
    checks every stored message with (so they cannot drift apart)."""
    _, top = models_json_schema(
        [(model, "validation") for model in (contract.DaySummary, contract.WeekSummary,
                                             contract.Event, contract.Alert, contract.Reply)],
        ref_template="#/components/schemas/{model}")
    defs: dict[str, Any] = top["$defs"]
    return defs


_ROW = {
    "id": {"type": "string", "pattern": PATIENT_ID.pattern},
    "attention": {"enum": list(ATTENTION),
                  "description": "the first reason in the attention order that applies"},
    "rank": {"type": "integer", "minimum": 0, "maximum": len(ATTENTION) - 1},
    "reasons": {"type": "array", "items": {"enum": list(ATTENTION)}},
    "status": _null(_TEXT),
    "last_day": _null({"type": "string", "format": "date"}),
    "steps": _null(_INT),
    "quota": _null(_INT),
    "adherence": _null({"type": "number", "minimum": 0}),
    "alert": _null(_ref("Alert")),
    "red_flag": _null(_ref("RedFlag")),
    "days_with_data_30d": _null({
        "type": "integer", "minimum": 0, "maximum": 30,
        "description": "days with enough data (pacer/report/monitoring.py) in the 30 days "
                       "ending today, for remote-monitoring records; null when the "
                       "patient's data cannot be read"}),
}

SCHEMAS: dict[str, Any] = {
    **_contract(),
    "Error": _closed({"error": _TEXT}),
    "RedFlag": _closed({"tier": {"enum": list(TIERS)}, "flags": _STRINGS,
                        "time": _null(_TIME), "raised": _null(_TIME), "seen": _null(_TIME)}),
    "PatientRow": _closed(_ROW),
    "PatientList": _closed({"patients": {"type": "array", "items": _ref("PatientRow")}}),
    "Patient": _closed({
        **_ROW,
        "weeks": {"type": "array", "items": _ref("Week"),
                  "description": "the last six ISO weeks with data, newest first"},
        "events": {"type": "array", "items": _ref("Event"),
                   "description": "the latest 20 events, newest first"},
        "plan_requests": {"type": "array", "items": _ref("PlanRequest")},
        "alerts": {"type": "array", "items": _ref("AlertEpisode"),
                   "description": "the alert history, newest first"},
    }),
    "Week": _closed({"week": {"type": "string", "pattern": r"^\d{4}-W\d{2}$"},
                     "days": {"type": "array", "items": _ref("DaySummary")},
                     "summary": _null(_ref("WeekSummary"))}),
    "PlanRequest": _closed({
        "id": _TEXT, "by": {"type": "string", "description": "the clinician who sent it"},
        "sent_at": {"type": "number", "description": "seconds since the epoch"},
        "payload": {"type": "object", "description": "the plan command as sent"},
        "reply": _null(_ref("Reply")),
    }),
    "AlertEpisode": _closed({
        "kind": {"enum": ["red_flag", "review_suggested"]},
        "tier": _null({"enum": list(TIERS)}), "flags": _STRINGS,
        "raised": _null(_TIME), "time": _null(_TIME), "seen": _null(_TIME),
        "open": {"type": "boolean"}, "cleared": _null(_TIME),
        "cleared_stored_at": _null(_NUMBER), "by": _null(_TEXT),
        "how": _null({"type": "string", "description": "physiotherapist, local or person"}),
        "why": _null(_TEXT),
    }),
    "OpenApi": {"type": "object", "required": ["openapi", "info", "paths"]},
}


def _json(schema: str, what: str) -> dict[str, Any]:
    return {"description": what, "content": {"application/json": {"schema": _ref(schema)}}}


_REFUSED = {
    "401": _json("Error", "no session, or the token is unknown, malformed, revoked or "
                          "expired, or its owner was removed"),
}


def _get(summary: str, ok: dict[str, Any], op_id: str,
         **extra: dict[str, Any]) -> dict[str, Any]:
    return {"get": {"operationId": op_id, "summary": summary,
                    "responses": {"200": ok, **extra, **_REFUSED}}}


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the clinic's ``/api/`` routes."""
    patient = {"name": "patient", "in": "path", "required": True,
               "description": "the patient's user id",
               "schema": {"type": "string", "pattern": PATIENT_ID.pattern}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "pacer clinic API", "version": VERSION,
            "description": (
                "Read-only JSON for the physiotherapist's scripts: the patient list by "
                "attention and one patient's weeks. Sign in with the web app's session "
                "cookie, or send a token made by `pacer clinic token create` as "
                "`Authorization: Bearer pct_...`; a token reads what its owner may read, "
                "only with GET or HEAD: any other method with a token, on any route, is "
                "refused before routing (the `ReadOnly` response, 403)."),
        },
        "paths": {
            "/api/patients": _get("every patient, most in need of attention first",
                                  _json("PatientList", "the patient list"), "listPatients"),
            "/api/patients/{patient}": {
                "parameters": [patient],
                **_get("one patient: the list row, weeks, events, plan requests, alerts",
                       _json("Patient", "the patient"), "getPatient",
                       **{"404": _json("Error", "no such patient")}),
            },
            "/api/openapi.json": _get("this document", _json("OpenApi", "OpenAPI 3.1"),
                                      "getOpenApi"),
        },
        "components": {
            "schemas": SCHEMAS,
            "responses": {"ReadOnly": _json("Error", "a token was sent with a method other "
                                                     "than GET or HEAD")},
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "pacer_clinic",
                            "description": "the web app's signed session cookie"},
                "token": {"type": "http", "scheme": "bearer", "bearerFormat": "pct_<id>_<secret>",
                          "description": "a read-only token from `pacer clinic token create`"},
            },
        },
        "security": [{"session": []}, {"token": []}],
    }
