"""Remote-monitoring records in the clinic (issue 17 item 3): the days with
data per 30 days in the patient list and on the patient page, and the review
log (who, when, how long, what) with its CSV exports.

The form's checks are pure (``reviews.parse`` with ``now`` passed in). The web
tests run the real app on SQLite and on PostgreSQL (skipped without a server
on 127.0.0.1:5432), filled as the collector fills it (``test_clinic_web``'s
``_fill``): three weeks of daily summaries, 10 or more worn hours each, for
every patient but emma-l, whose data stopped six days ago.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from starlette.testclient import TestClient
from test_clinic_collector import pg_url  # noqa: F401 - a fixture
from test_clinic_tokens import ApiSite, api_site  # noqa: F401 - a fixture (as site)
from test_clinic_web import _csrf, _sign_in

from pacer.clinic import reviews

NOW = datetime(2026, 12, 7, 15, 30, tzinfo=timezone(timedelta(hours=1)))


def _fields(**over: str) -> dict[str, str]:
    return {"minutes": "20", "kind": "call", "what": "Talked through the sitting plan",
            "when": "", **over}


def _parse(**over: str) -> reviews.Entry | str:
    return reviews.parse(_fields(**over), patient="anna-k", by="jo.physio", now=NOW)


# --- the form's checks (pure) --------------------------------------------------------


def test_a_good_entry_is_now_by_the_signed_in_clinician() -> None:
    entry = _parse()
    assert isinstance(entry, reviews.Entry)
    assert (entry.patient, entry.by, entry.minutes, entry.kind) == ("anna-k", "jo.physio",
                                                                    20, "call")
    assert entry.what == "Talked through the sitting plan"
    assert entry.at == entry.logged_at == NOW.timestamp()
    assert entry.id == ""  # given when stored


def test_a_time_entered_without_a_zone_is_the_clinic_s() -> None:
    entry = _parse(when="2026-12-03T09:15")
    assert isinstance(entry, reviews.Entry)
    assert entry.at == datetime(2026, 12, 3, 9, 15, tzinfo=NOW.tzinfo).timestamp()
    assert entry.logged_at == NOW.timestamp()
    aware = _parse(when="2026-12-03T09:15:00+00:00")
    assert isinstance(aware, reviews.Entry)
    assert aware.at == datetime(2026, 12, 3, 9, 15, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(("field", "value", "error"), [
    ("minutes", "0", "minutes"), ("minutes", "601", "minutes"), ("minutes", "1.5", "minutes"),
    ("minutes", "", "minutes"), ("minutes", "-5", "minutes"),
    ("minutes", "\u0661\u0662", "minutes"),  # Arabic-Indic digits: isdigit, not ASCII
    ("kind", "", "kind"), ("kind", "lunch", "kind"),
    ("what", "", "what"), ("what", "   ", "what"), ("what", "x" * 501, "what"),
    ("what", "line\x00", "what"), ("what", "bell\x07", "what"),
    ("when", "tomorrow", "when"), ("when", "2026-12-07T16:00", "when"),
    ("when", "2025-12-01T10:00", "when"),
])
def test_the_form_refuses(field: str, value: str, error: str) -> None:
    assert _parse(**{field: value}) == error
    assert error in reviews.FORM_ERRORS


def test_the_limits_themselves_are_accepted() -> None:
    for over in ({"minutes": "1"}, {"minutes": "600"}, {"what": "x" * 500},
                 {"when": "2026-12-07T15:34"}, {"what": "two\r\nlines\tand a tab"},
                 {"when": (NOW - timedelta(days=365)).strftime("%Y-%m-%dT%H:%M")}):
        assert isinstance(_parse(**over), reviews.Entry), over


def test_the_export_never_hands_a_spreadsheet_a_formula() -> None:
    entry = _parse(what="=HYPERLINK(\"http://x\")")
    assert isinstance(entry, reviews.Entry)
    rec = reviews.Record("anna-k", NOW.date(), UTC, frozenset({NOW.date()}), (entry,))
    rows = list(csv.DictReader(io.StringIO(reviews.log_csv(rec, UTC))))
    assert rows[0]["what"] == "'=HYPERLINK(\"http://x\")"
    assert (rows[0]["period"], rows[0]["period_start"]) == ("1", NOW.date().isoformat())


# --- the web app ---------------------------------------------------------------------


@pytest.fixture
def site(api_site: ApiSite) -> ApiSite:  # noqa: F811 - the imported fixture
    """``test_clinic_tokens``' site, on SQLite and on PostgreSQL."""
    return api_site


def _signed_in(site: ApiSite) -> TestClient:
    assert _sign_in(site.client).status_code == 303
    return site.client


def _log(c: TestClient, patient: str, **over: str) -> Any:
    token = _csrf(c.get(f"/patients/{patient}").text)
    return c.post(f"/patients/{patient}/reviews", data={"csrf": token, **_fields(**over)},
                  follow_redirects=False)


def _rows(site: ApiSite) -> list[tuple[Any, ...]]:
    return site.db.query("SELECT user_id, by_name, minutes, kind, what FROM review_log "
                         "ORDER BY logged_at")


def test_the_patient_list_shows_days_with_data_in_the_last_30_days(
        site: ApiSite) -> None:
    c = _signed_in(site)
    by_id = {r["id"]: r for r in c.get("/api/patients").json()["patients"]}
    assert by_id["anna-k"]["days_with_data_30d"] == 21  # three weeks, today included
    assert by_id["emma-l"]["days_with_data_30d"] == 15  # nothing in the last six days
    assert by_id["hugo-w"]["days_with_data_30d"] == 0  # listed, nothing received
    page = c.get("/").text
    assert "Days with data, 30 d" in page
    cells = re.findall(r'<a href="/patients/([^"]+)">.*?data-field="days_30">([^<]*)', page,
                       re.S)
    assert ("emma-l", "15 ") in cells
    assert ("anna-k", "21") in cells


def test_a_review_is_logged_shown_escaped_and_totalled_for_the_period(
        site: ApiSite) -> None:
    c = _signed_in(site)
    page = c.get("/patients/grace-t").text
    assert 'id="days-30" data-value="21"' in page
    assert 'data-days="21" data-minutes="0"' in page
    r = _log(c, "grace-t", minutes="25", kind="review",
             what="<script>alert(1)</script> reviewed the week & the sitting")
    assert r.status_code == 303
    assert r.headers["location"].startswith("/patients/grace-t?logged=")
    _log(c, "grace-t", minutes="10", kind="call", by="someone.else")
    page = c.get(r.headers["location"]).text
    assert 'id="logged"' in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; reviewed the week &amp; the sitting" in page
    assert "<script>" not in page
    assert 'data-days="21" data-minutes="35"' in page
    assert "35 min</strong>" in page
    assert [row[:4] for row in _rows(site)] == [("grace-t", "jo.physio", 25, "review"),
                                                    ("grace-t", "jo.physio", 10, "call")]
    (first_id,) = site.db.query("SELECT id FROM review_log WHERE minutes = 25")[0]
    assert r.headers["location"] == f"/patients/grace-t?logged={first_id}#reviews"
    # another patient's page does not show grace-t's log
    other = c.get("/patients/farid-s").text
    assert "reviewed the week" not in other
    assert 'data-days="21" data-minutes="0"' in other


def test_a_bad_or_forged_entry_logs_nothing(site: ApiSite) -> None:
    c = _signed_in(site)
    r = _log(c, "ben-o", minutes="0")
    assert r.headers["location"] == "/patients/ben-o?review_error=minutes#reviews"
    assert reviews.FORM_ERRORS["minutes"] in c.get(r.headers["location"]).text
    r = c.post("/patients/ben-o/reviews", data={"csrf": "forged", **_fields()},
               follow_redirects=False)
    assert r.headers["location"] == "/patients/ben-o?review_error=expired#reviews"
    token = _csrf(c.get("/patients/ben-o").text)
    for patient in ("nobody-here", "bad%20id"):
        r = c.post(f"/patients/{patient}/reviews", data={"csrf": token, **_fields()})
        assert r.status_code == 404
    assert _rows(site) == []


def test_only_a_signed_in_clinician_logs_or_exports(site: ApiSite,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    c = site.client
    r = c.post("/patients/anna-k/reviews", data=_fields(), follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/signin")
    for path in ("/patients/anna-k/reviews.csv", "/patients/anna-k/monitoring.csv"):
        r = c.get(path, follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, "/signin"), path
    token = site.token(capsys)
    script = TestClient(c.app)
    r = script.post("/patients/anna-k/reviews", data=_fields(),
                    headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403  # API tokens only read
    assert script.get("/patients/anna-k/reviews.csv", headers={
        "Authorization": f"Bearer {token}"}, follow_redirects=False).status_code == 303
    assert _rows(site) == []


def test_the_exports_hold_the_log_and_the_periods(site: ApiSite) -> None:
    c = _signed_in(site)
    _log(c, "dev-r", minutes="30", kind="review", what="=1+1 looked at the data")
    yesterday = (datetime.now().astimezone() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    _log(c, "dev-r", minutes="15", kind="visit", what="clinic visit, first", when=yesterday)
    r = c.get("/patients/dev-r/reviews.csv")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == 'attachment; filename="dev-r-reviews.csv"'
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert tuple(rows[0]) == reviews.LOG_COLUMNS
    assert [(x["minutes"], x["contact"], x["by"]) for x in rows] == [
        ("15", "visit", "jo.physio"), ("30", "review", "jo.physio")]  # oldest first
    assert rows[0]["when"].startswith(yesterday)
    assert rows[1]["what"] == "'=1+1 looked at the data"
    assert {x["period"] for x in rows} == {"1"}
    r = c.get("/patients/dev-r/monitoring.csv")
    periods = list(csv.DictReader(io.StringIO(r.text)))
    assert len(periods) == 1
    assert (periods[0]["days_with_data"], periods[0]["count"], periods[0]["review_minutes"],
            periods[0]["contacts"], periods[0]["complete"]) == ("21", "16+", "45", "2", "false")
    assert periods[0]["start"] == rows[0]["period_start"]
    assert c.get("/patients/nobody-here/reviews.csv").status_code == 404


def test_a_stored_day_that_cannot_be_read_is_said_not_counted(site: ApiSite) -> None:
    c = _signed_in(site)
    with site.db.transaction() as conn:
        conn.execute("UPDATE summaries SET body = ? WHERE user_id = 'farid-s' AND "
                     "period = 'day' AND key = (SELECT min(key) FROM summaries WHERE "
                     "user_id = 'farid-s' AND period = 'day')", ('{"steps": "many"}',))
    page = c.get("/patients/farid-s").text
    assert 'id="monitoring-unreadable"' in page
    assert 'id="days-30" data-value="20"' in page
    assert 'id="monitoring-unreadable"' not in c.get("/patients/grace-t").text
