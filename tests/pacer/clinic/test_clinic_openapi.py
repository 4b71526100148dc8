"""The clinic API's OpenAPI document (issue 17, item 6) against the app: it is
a valid OpenAPI 3.1 document, its paths and methods are exactly the app's
``/api/`` routes, it is what ``/api/openapi.json`` serves, and every real
response of every route, signed in and with a token, on SQLite and on
PostgreSQL, is one the document lists, in the shape its schema says.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from helpers.clinic import CLINIC_PATIENTS
from openapi_schema_validator import OAS31Validator, validate
from openapi_spec_validator import validate as validate_document
from starlette.routing import Route
from starlette.testclient import TestClient
from test_clinic_collector import pg_url  # noqa: F401 - a fixture
from test_clinic_tokens import ApiSite, _bearer, api_site  # noqa: F401
from test_clinic_web import LISTED_ONLY, _sign_in

from pacer.clinic import openapi

DOC = openapi.document()
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def _check(doc: dict[str, Any], path: str, method: str, response: httpx.Response) -> None:
    """``response`` is one the document lists for this operation, in its shape."""
    listed = doc["paths"][path][method]["responses"]
    status = str(response.status_code)
    assert status in listed, (path, method, status, response.text[:200])
    _shape(doc, listed[status], response)


def _shape(doc: dict[str, Any], listed: dict[str, Any], response: httpx.Response) -> None:
    schema = listed["content"]["application/json"]["schema"]
    assert response.headers["content-type"] == "application/json"
    validate(response.json(), {**schema, "components": doc["components"]},
             cls=OAS31Validator)


def test_the_document_is_valid_openapi_3_1() -> None:
    validate_document(DOC)
    assert DOC["openapi"].startswith("3.1.")
    assert set(DOC["components"]["securitySchemes"]) == {"session", "token"}
    assert {"type": "http", "scheme": "bearer"}.items() <= \
        DOC["components"]["securitySchemes"]["token"].items()


def test_the_document_s_paths_are_the_app_s_api_routes(api_site: ApiSite) -> None:  # noqa: F811
    routes: dict[str, set[str]] = {}
    for route in api_site.client.app.routes:  # type: ignore[attr-defined]
        if isinstance(route, Route) and route.path.startswith("/api/"):
            routes.setdefault(route.path, set()).update(
                m.lower() for m in route.methods or ())
    described = {path: {m for m in item if m in METHODS} for path, item in DOC["paths"].items()}
    assert routes, "no /api/ routes found"
    # Starlette answers HEAD wherever it answers GET; the document names GET.
    assert {p: ms - {"head"} for p, ms in routes.items()} == described
    assert all(p.startswith("/api/") for p in DOC["paths"])


def test_every_response_validates_against_the_document(
        api_site: ApiSite, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    token = api_site.token(capsys)
    browser = TestClient(api_site.client.app)
    assert _sign_in(browser).status_code == 303
    script = TestClient(api_site.client.app, headers=_bearer(token))
    nobody = TestClient(api_site.client.app)
    seen: set[tuple[str, str]] = set()
    patients = [*CLINIC_PATIENTS, LISTED_ONLY, "nobody-here"]
    for path in DOC["paths"]:
        filled = [path.replace("{patient}", p) for p in patients] if "{patient}" in path \
            else [path]
        for url in filled:
            for client in (browser, script, nobody):
                r = client.get(url)
                _check(DOC, path, "get", r)
                seen.add((path, str(r.status_code)))
        for method in ("POST", "PUT", "PATCH", "DELETE"):  # a token only reads
            refused = script.request(method, filled[0])
            assert refused.status_code == 403
            _shape(DOC, DOC["components"]["responses"]["ReadOnly"], refused)
    # Each listed response was produced at least once.
    listed = {(p, s) for p, item in DOC["paths"].items() for s in item["get"]["responses"]}
    assert listed == seen
    served = browser.get("/api/openapi.json")
    assert served.json() == DOC


def test_a_field_the_document_does_not_name_fails_the_check(api_site: ApiSite) -> None:  # noqa: F811
    """The check is strict: a new field in a list row needs a word in the document."""
    browser = TestClient(api_site.client.app)
    assert _sign_in(browser).status_code == 303
    real = browser.get("/api/patients")
    body = real.json()
    body["patients"][0]["new_field"] = 1
    forged = httpx.Response(200, json=body, headers={"content-type": "application/json"})
    with pytest.raises(Exception, match="new_field"):
        _check(DOC, "/api/patients", "get", forged)
