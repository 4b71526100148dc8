"""One patient's stored data never breaks the clinic for the others (issue
19, item 3): the collector refuses what breaks the contract, and every view
reads each stored row through it, so a row that is somehow wrong marks its
patient "data unreadable" and everyone else is shown as before. With a
hypothesis fuzz test over the collector's record parser and the views' row
loader."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from helpers.clinic import CLINIC_PATIENTS, TZ, day_summary, red_flag_alert
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_clinic_web import LISTED_ONLY, Site, _sign_in, _text, site  # noqa: F401

from pacer.clinic.config import ClinicTable
from pacer.clinic.records import Rejected, parse
from pacer.clinic.views import ATTENTION, patient_row, read_patient
from pacer.clinic.web import _environment
from pacer.contract import checked as contract

TODAY = datetime.now(ZoneInfo(TZ)).date()
GOOD = json.dumps(day_summary("x", TODAY))


def _day(pid: str, **change: Any) -> str:
    return json.dumps({**day_summary(pid, TODAY), **change})


# patient -> (table, the stored body's text): each one way a row can be wrong
BAD: dict[str, tuple[str, str]] = {
    "bad-date": ("day", _day("bad-date", date="garbage")),
    "bad-nan": ("day", _day("bad-nan", steps=float("nan"))),
    "bad-inf": ("day", _day("bad-inf", steps=5120).replace('"steps": 5120', '"steps": 1e999')),
    "bad-word": ("day", _day("bad-word", steps="many")),
    "bad-breaks": ("day", _day("bad-breaks", breaks=[])),
    "bad-flags": ("day", _day("bad-flags", flags=5)),
    "bad-plan": ("day", _day("bad-plan", plan={"quota": "lots"})),
    "bad-json": ("day", '{"period": "day", "date": '),
    "bad-alert": ("alert", json.dumps({**red_flag_alert(
        "bad-alert", datetime.now(ZoneInfo(TZ))), "seen": float("nan")})),
    "bad-week": ("week", json.dumps({"v": 1, "period": "week", "week": "2026-W99",
                                     "days": "all of them"})),
}


def _store_bad(site: Site) -> None:  # noqa: F811
    db = site.db
    with db.transaction() as conn:
        for pid, (table, body) in BAD.items():
            conn.execute("INSERT INTO patients (user_id, first_seen, status) VALUES (?, 0, ?)",
                         (pid, "online"))
            # an older day that is fine: the rest of the patient's data still shows
            conn.execute("INSERT INTO summaries (user_id, period, key, final, body, "
                         "received_at) VALUES (?, 'day', ?, 1, ?, 0)",
                         (pid, (TODAY - timedelta(days=1)).isoformat(),
                          _day(pid, date=(TODAY - timedelta(days=1)).isoformat())))
            if table == "alert":
                conn.execute("INSERT INTO alerts (user_id, time, kind, digest, body, "
                             "received_at) VALUES (?, 't', 'red_flag', 'd', ?, 0)", (pid, body))
            else:
                key = "zzz" if table == "day" else "2026-W99"
                conn.execute("INSERT INTO summaries (user_id, period, key, final, body, "
                             "received_at) VALUES (?, ?, ?, 1, ?, 0)",
                             (pid, table, key, body))
        # Bytes that are not UTF-8 in a text column: SQLite cannot return the row.
        conn.execute("INSERT INTO patients (user_id, first_seen) VALUES ('bad-bytes', 0)")
        conn.execute("INSERT INTO summaries (user_id, period, key, final, body, received_at) "
                     "VALUES ('bad-bytes', 'day', 'zzz', 1, CAST(x'7bff7d' AS TEXT), 0)")
        conn.execute("INSERT INTO patients (user_id, first_seen, status) "
                     "VALUES ('bad-status', 0, ?)", ("on\x00line",))


UNREADABLE = {*BAD, "bad-bytes", "bad-status"}


def test_the_collector_refuses_each_wrong_body() -> None:
    for pid, (table, body) in BAD.items():
        topic = {"day": "summary/day", "week": "summary/week", "alert": "alert"}[table]
        with pytest.raises(Rejected):
            parse(f"pacer/{pid}/{topic}", body.encode())
    with pytest.raises(Rejected, match="status"):
        parse("pacer/x/status", b"on\x00line")


def test_one_patient_s_wrong_rows_leave_everyone_else_shown(site: Site) -> None:  # noqa: F811
    _store_bad(site)
    c = site.client
    _sign_in(c)
    page = c.get("/")
    assert page.status_code == 200
    text = _text(page.text)
    r = c.get("/api/patients")
    assert r.status_code == 200
    rows = {p["id"]: p for p in r.json()["patients"]}
    assert set(rows) == {*CLINIC_PATIENTS, LISTED_ONLY, *UNREADABLE}
    for pid, attention in CLINIC_PATIENTS.items():
        assert rows[pid]["attention"] == attention, pid
    for pid in UNREADABLE:
        assert rows[pid]["attention"] == "data unreadable", pid
        assert f"{pid} data unreadable" in text
    # The older, readable day of a patient with one wrong row still shows.
    assert rows["bad-nan"]["last_day"] == (TODAY - timedelta(days=1)).isoformat()
    assert rows["bad-status"]["status"] is None
    order = [p["id"] for p in r.json()["patients"]]
    assert order.index("ivan-p") < order.index("bad-date") < order.index("ben-o")
    for pid in UNREADABLE:
        page = c.get(f"/patients/{pid}")
        assert page.status_code == 200, pid
        assert f"Some of {pid}'s stored data could not be read" in _text(page.text)
        one = c.get(f"/api/patients/{pid}")
        assert one.status_code == 200, pid
        assert "data unreadable" in one.json()["reasons"]
    assert "could not be read" not in c.get("/patients/anna-k").text
    assert c.get("/patients/anna-k").status_code == 200


# --- fuzz: the parser and the row loader take anything ---------------------------------

_scalars = (st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70)
            | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12))
_json = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=24)
_keys = st.sampled_from(["v", "type", "period", "user", "date", "week", "final", "time",
                         "kind", "steps", "breaks", "plan", "flags", "days", "tier", "seen",
                         "raised", "timezone", "adherence", "boom_bust_cycles", "status"])
_bodies = st.fixed_dictionaries({}, optional={
    "period": st.sampled_from(["day", "week"]) | _scalars,
    "date": st.sampled_from(["2026-11-23", "garbage", "2026-02-30"]) | _scalars,
    "week": st.sampled_from(["2026-W48", "2026-W99"]) | _scalars,
    "time": st.sampled_from(["2026-11-23T10:00:00+11:00", "soon"]) | _scalars,
    "kind": st.sampled_from(["red_flag", "review_suggested"]) | _scalars,
    "type": st.sampled_from(["outcome", "alert_cleared", "alert"]) | _scalars,
    "tier": st.sampled_from(["emergency", "urgent"]) | _scalars,
    "steps": _scalars, "final": _scalars, "flags": _json, "breaks": _json, "plan": _json,
    "days": _json, "seen": _scalars, "raised": _scalars, "timezone": _scalars,
    "adherence": _scalars, "boom_bust_cycles": _scalars,
}).flatmap(lambda d: st.dictionaries(_keys, _json, max_size=3).map(lambda e: {**e, **d}))


def _text_of(body: object, ascii_only: bool = False) -> str:
    """As JSON text, NaN and lone surrogates included (escaped, with ``ascii_only``)."""
    return json.dumps(body, allow_nan=True, ensure_ascii=ascii_only)


_stored = st.one_of(_bodies.map(_text_of), st.text(max_size=40),
                    _bodies.map(lambda b: _text_of(b)[: len(_text_of(b)) // 2]))
_topics = st.sampled_from(["summary/day", "summary/week", "event", "alert", "status",
                           "state", "summary/month"])
ENV = _environment()
RULES = ClinicTable()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(leaf=_topics, body=_bodies, raw=st.binary(max_size=64),
       form=st.sampled_from(["utf-8", "ascii", "raw"]))
def test_fuzz_the_record_parser(leaf: str, body: dict[str, Any], raw: bytes,
                                form: str) -> None:
    payload = (raw if form == "raw"
               else _text_of(body, form == "ascii").encode("utf-8", "surrogatepass"))
    try:
        rec = parse(f"pacer/fuzz/{leaf}", payload)
    except Rejected:
        return
    assert rec.user == "fuzz"
    kinds: dict[str, contract.Kind] = {"event": "event", "alert": "alert"}
    if rec.kind == "summary":
        kinds["summary"] = "day" if rec.key[0] == "day" else "week"
    if rec.kind in kinds:
        # What the parser takes, the views read back as it is, and can serve.
        assert contract.read(kinds[rec.kind], rec.body) == json.loads(rec.body)
        json.dumps(json.loads(rec.body), allow_nan=False)
        rec.body.encode("utf-8")
        assert "\x00" not in rec.body


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(days=st.lists(_stored, max_size=4), weeks=st.lists(_stored, max_size=1),
       alerts=st.lists(st.tuples(_stored, _scalars), max_size=3), status=_scalars)
def test_fuzz_the_row_loader(days: list[str], weeks: list[str],
                             alerts: list[tuple[str, object]], status: object) -> None:
    data = read_patient(days, weeks, alerts, status)
    row = patient_row("fuzz", data, RULES)
    assert row.attention in ATTENTION
    text = json.dumps(row.as_json(), allow_nan=False)
    assert row.id in text
    if data.unreadable:
        assert "data unreadable" in row.reasons
    html = ENV.get_template("patients.html.j2").render(
        rows=[row], attention=ATTENTION, red_flag_reasons=ATTENTION[:2], user="jo", csrf="t")
    assert 'href="/patients/fuzz"' in html
    for day in data.days:  # what the loader kept keeps the contract
        assert math.isfinite(float(day.get("steps") or 0))
