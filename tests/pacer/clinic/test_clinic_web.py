"""The clinic web app over HTTP (Starlette's TestClient): sign-in, the patient
list by attention, the patient page with its charts, the JSON API, the plan
form's checks, CSRF and the session cookie; and one plan change through a
private mosquitto with the shipped ACL, answered by a responder in the
patient's account.

The store is filled the way the collector fills it: each simulated message
through ``records.parse`` into ``Database.store``.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import ssl
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from helpers import REPO
from helpers.clinic import (
    CLINIC_PATIENTS,
    TZ,
    alert_cleared_event,
    clinic_messages,
    encode,
    red_flag_alert,
)
from helpers.daemon import wait_until
from helpers.mqtt_tls import make_pki
from paho.mqtt import client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from starlette.testclient import TestClient

from pacer.clinic import auth
from pacer.clinic.config import ClinicConfig, load_clinic_config
from pacer.clinic.db import Database
from pacer.clinic.records import parse
from pacer.clinic.views import ATTENTION, alert_history, open_alert
from pacer.clinic.web import create_app
from pacer.mqtt.broker import PrivateBroker, free_port, port_open

ROOT = REPO
ACL = ROOT / "config" / "mosquitto" / "acl"
PHYSIO_PW = "physio-web-pw-0815"
NAME, PASSWORD = "jo.physio", "correct horse battery"
LISTED_ONLY = "hugo-w"  # in [clinic] patients, no message yet


def _config(tmp: Path, broker_url: str = "mqtt://127.0.0.1:1", reply_timeout_s: float = 10
            ) -> Path:
    (tmp / "physio.password").write_text(PHYSIO_PW + "\n", encoding="utf-8")
    path = tmp / "clinic.toml"
    path.write_text(f"""
database = "clinic.sqlite3"
[mqtt]
url = "{broker_url}"
username = "physio"
password_file = "physio.password"
[web]
users_file = "users"
secret_file = "secret"
reply_timeout_s = {reply_timeout_s}
[clinic]
patients = ["{LISTED_ONLY}"]
""", encoding="utf-8")
    return path


def _fill(db: Database) -> None:
    today = datetime.now(ZoneInfo(TZ)).date()
    db.store([parse(t, p) for t, p, _ in clinic_messages(today)])


@dataclass
class Site:
    client: TestClient
    db: Database
    tmp: Path


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    config = load_clinic_config(_config(tmp_path))
    auth.set_password(config.web.users_file, NAME, PASSWORD)
    db = Database(config.database)
    _fill(db)
    with TestClient(create_app(config, db=db, connect=False)) as client:
        yield Site(client, db, tmp_path)


def _today_at(hour: int, minute: int) -> str:
    """A time of today in the simulated patients' zone, as their messages say it."""
    today = datetime.now(ZoneInfo(TZ)).date()
    return datetime.combine(today, time(hour, minute), ZoneInfo(TZ)).isoformat()


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def _sign_in(client: TestClient, name: str = NAME, password: str = PASSWORD) -> Any:
    token = _csrf(client.get("/signin").text)
    return client.post("/signin", data={"csrf": token, "name": name, "password": password},
                       follow_redirects=False)


# --- sign-in ------------------------------------------------------------------------


def test_every_page_and_the_api_need_a_signed_in_user(site: Site) -> None:
    c = site.client
    for path in ("/", "/patients/anna-k"):
        r = c.get(path, follow_redirects=False)
        assert r.status_code == 303
        assert r.headers["location"] == "/signin"
    r = c.post("/patients/anna-k/plan", data={"why": "x", "plan.quota": "3000"},
               follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/signin")
    for path in ("/api/patients", "/api/patients/anna-k"):
        r = c.get(path)
        assert r.status_code == 401
        assert r.json() == {"error": "sign in first"}
    assert "anna-k" not in c.get("/signin").text


def test_wrong_password_and_unknown_name_are_refused_alike(site: Site) -> None:
    c = site.client
    for name, password in ((NAME, "not the password"), ("nobody", PASSWORD), (NAME, "")):
        r = _sign_in(c, name, password)
        assert r.status_code == 401
        assert "That name and password do not match." in r.text
        assert c.get("/api/patients").status_code == 401
    r = _sign_in(c)
    assert (r.status_code, r.headers["location"]) == (303, "/")
    assert c.get("/api/patients").status_code == 200
    assert f"signed in as {NAME}" in c.get("/").text


def test_sign_in_needs_the_form_s_csrf_token(site: Site) -> None:
    c = site.client
    c.get("/signin")
    r = c.post("/signin", data={"csrf": "forged", "name": NAME, "password": PASSWORD},
               follow_redirects=False)
    assert r.status_code == 400
    assert c.get("/api/patients").status_code == 401
    # A fresh client (another browser) has no session, so no token matches.
    other = TestClient(site.client.app)
    r = other.post("/signin", data={"name": NAME, "password": PASSWORD},
                   follow_redirects=False)
    assert r.status_code == 400


def test_password_is_stored_as_an_argon2id_hash(site: Site) -> None:
    users = site.tmp / "users"
    text = users.read_text(encoding="utf-8")
    assert text.startswith(f"{NAME}:$argon2id$v=19$m=65536,t=3,p=4$")
    assert PASSWORD not in text
    assert users.stat().st_mode & 0o777 == 0o600
    assert (site.tmp / "secret").stat().st_mode & 0o777 == 0o600


def test_session_cookie_is_signed_http_only_and_lax(site: Site) -> None:
    r = _sign_in(site.client)
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("pacer_clinic=")
    assert "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    assert "secure" not in cookie.lower()  # https_only is off in this config
    # A tampered cookie is no session at all.
    value = site.client.cookies["pacer_clinic"]
    site.client.cookies.set("pacer_clinic", value[:-4] + ("AAAA" if value[-4:] != "AAAA"
                                                          else "BBBB"))
    assert site.client.get("/api/patients").status_code == 401


def test_sign_out_ends_the_session_only_with_its_token(site: Site) -> None:
    c = site.client
    _sign_in(c)
    c.post("/signout", data={"csrf": "forged"})
    assert c.get("/api/patients").status_code == 200  # a forged sign-out does nothing
    token = _csrf(c.get("/").text)
    r = c.post("/signout", data={"csrf": token}, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/signin")
    assert c.get("/api/patients").status_code == 401


# --- the list, the patient, the API ----------------------------------------------------


def test_patient_list_is_ordered_by_attention(site: Site) -> None:
    c = site.client
    _sign_in(c)
    html = c.get("/").text
    order = re.findall(r'<a href="/patients/([^"]+)">', html)
    badges = re.findall(r'<span class="badge r\d">([^<]+)</span>', html)
    expected = sorted([*CLINIC_PATIENTS, LISTED_ONLY],
                      key=lambda p: (ATTENTION.index(CLINIC_PATIENTS.get(p, "no data")), p))
    assert order == expected
    assert badges == [CLINIC_PATIENTS.get(p, "no data") for p in expected]
    assert order[:6] == ["anna-k", "ivan-p", "ben-o", "chloe-m", "dev-r", "emma-l"]
    # farid-s's and grace-t's alerts were cleared: one emergency, one urgent
    assert html.count('class="badge r0"') == html.count('class="badge r1"') == 1
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    today = datetime.now(ZoneInfo(TZ))
    yesterday = today - timedelta(days=1)
    assert ("emergency red flag: saddle numbness, bladder bowel change reported "
            f"{today:%a %d %b} 08:00 (first {today:%a %d %b} 07:40); not yet seen") in text
    assert (f"urgent red flag: severe night pain reported {yesterday:%a %d %b} 21:10; "
            f"seen at {today:%a %d %b} 09:00") in text
    assert ("Attention order: emergency red flag → urgent red flag → data unreadable → "
            "review suggested") in text


def test_api_patients_agrees_with_the_page(site: Site) -> None:
    c = site.client
    _sign_in(c)
    r = c.get("/api/patients")
    assert r.headers["content-type"] == "application/json"
    assert r.headers["cache-control"] == "no-store"
    rows = r.json()["patients"]
    assert [p["attention"] for p in rows] == sorted(
        (p["attention"] for p in rows), key=ATTENTION.index)
    by_id = {p["id"]: p for p in rows}
    assert set(by_id) == {*CLINIC_PATIENTS, LISTED_ONLY}
    for pid, attention in CLINIC_PATIENTS.items():
        assert by_id[pid]["attention"] == attention, pid
    assert by_id["anna-k"]["alert"]["flags"] == ["saddle_numbness", "bladder_bowel_change"]
    assert by_id["anna-k"]["red_flag"] == {
        "tier": "emergency", "flags": ["saddle_numbness", "bladder_bowel_change"],
        "time": _today_at(8, 0), "raised": _today_at(7, 40), "seen": None}
    assert by_id["ivan-p"]["red_flag"]["tier"] == "urgent"
    assert by_id["ivan-p"]["red_flag"]["seen"] == _today_at(9, 0)
    assert by_id["grace-t"]["red_flag"] is None
    assert by_id["dev-r"]["adherence"] < 0.5
    assert by_id["emma-l"]["status"] == "offline"
    assert by_id[LISTED_ONLY] | {} == {
        "id": LISTED_ONLY, "attention": "no data", "rank": 6, "reasons": ["no data"],
        "status": None, "last_day": None, "steps": None, "quota": None, "adherence": None,
        "alert": None, "red_flag": None, "days_with_data_30d": 0}
    latest = site.db.query("SELECT max(key) FROM summaries WHERE user_id = 'farid-s' "
                           "AND period = 'day'")[0][0]
    assert by_id["farid-s"]["last_day"] == latest
    assert by_id["emma-l"]["last_day"] < latest  # six days older: 'no data'
    one = c.get("/api/patients/chloe-m").json()
    assert one["attention"] == "boom-bust cycles"
    assert len(one["weeks"]) >= 3
    days = [d for w in one["weeks"] for d in w["days"]]
    assert len(days) == 21
    assert any("bust" in d["flags"] for d in days)
    assert c.get("/api/patients/nobody").status_code == 404
    assert c.get("/api/patients/..%2Fetc").status_code == 404


def test_patient_page_has_a_chart_per_week_and_the_plan_form(site: Site) -> None:
    c = site.client
    _sign_in(c)
    r = c.get("/patients/chloe-m")
    assert r.status_code == 200
    html = r.text
    weeks = re.findall(r"<h2>Week (\d{4}-W\d\d)</h2>", html)
    assert len(weeks) >= 3
    assert weeks == sorted(weeks, reverse=True)
    assert html.count("<svg") >= len(weeks)
    for week in weeks:
        assert f'id="steps-{week}' in html  # pacer report's steps chart, one per week
    assert "Boom-bust cycles 2" in html
    assert 'action="/patients/chloe-m/plan"' in html
    assert 'name="plan.quota"' in html
    assert "Recent events" in html
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "script-src" not in csp  # no page runs a script
    assert "<script" not in html
    assert "Open alert: emergency red flag" in c.get("/patients/anna-k").text
    assert c.get("/patients/nobody").status_code == 404
    listed = c.get(f"/patients/{LISTED_ONLY}")
    assert listed.status_code == 200
    assert f"No daily summaries stored for {LISTED_ONLY} yet." in listed.text


def test_patient_ids_are_escaped_and_checked(site: Site) -> None:
    c = site.client
    _sign_in(c)
    r = c.get("/patients/<b>x")
    assert r.status_code == 404
    assert "<b>x" not in r.text
    assert "&lt;b&gt;x" in r.text


# --- red flags: tier, seen, who cleared them and how -----------------------------------


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace("&#39;", "'").split())


def test_patient_page_shows_the_open_red_flag_s_tier_and_seen(site: Site) -> None:
    c = site.client
    _sign_in(c)
    today = datetime.now(ZoneInfo(TZ))
    anna = _text(c.get("/patients/anna-k").text)
    assert ("Open alert: emergency red flag : saddle numbness, bladder bowel change "
            f"Reported {today:%a %d %b} 08:00 (first reported {today:%a %d %b} 07:40); pacer "
            "advised the person to call the emergency number or go to the emergency "
            "department now.") in anna
    assert "The person has not said a clinician has seen them." in anna
    ivan = _text(c.get("/patients/ivan-p").text)
    assert "Open alert: urgent red flag : severe night pain" in ivan
    assert f"Seen at {today:%a %d %b} 09:00 : the person said a clinician had seen them" in ivan
    assert "said a clinician had seen them about the red flag" in ivan  # the ack event
    assert "told them they can carry on" not in ivan
    assert 'class="card alert emergency"' in c.get("/patients/anna-k").text


def test_patient_page_history_shows_each_clearing_with_who_and_how(site: Site) -> None:
    c = site.client
    _sign_in(c)
    grace = _text(c.get("/patients/grace-t").text)
    assert "Alerts and how they were cleared" in grace
    assert "Open alert" not in grace
    person = grace.index("emergency red flag: both legs")
    physio = grace.index("urgent red flag: fever or unwell")
    assert person < physio  # newest first
    row = grace[person:physio]
    assert "seen at" in row
    assert ("by the person (grace-t): a clinician had seen them and told them they can "
            "carry on") in row
    assert "by jo.physio (physiotherapist): phoned her: a cold, no red flag" in grace[physio:]
    assert ("said a clinician had seen them about the red flag, and told them they can "
            "carry on") in grace  # the ack, in the recent events
    assert "alert cleared (emergency red flag: both legs) by the person (grace-t)" in grace
    chloe = _text(c.get("/patients/chloe-m").text)
    assert "review suggested" in chloe
    assert ("on the patient's pacer machine by pi (pacer alert clear): talked it through "
            "at home") in chloe
    farid = _text(c.get("/patients/farid-s").text)  # an older pacer: v1 alert, no event
    assert "emergency red flag: saddle numbness" in farid
    assert "(who and how were not reported by this patient's pacer)" in farid
    one = c.get("/api/patients/grace-t").json()
    assert [(a["tier"], a["how"], a["by"], a["open"]) for a in one["alerts"]] == [
        ("emergency", "person", "grace-t", False),
        ("urgent", "physiotherapist", "jo.physio", False)]
    assert one["alerts"][0]["seen"] == one["alerts"][0]["cleared"]


def test_v1_alerts_of_older_pacers_get_the_table_s_tier(site: Site) -> None:
    c = site.client
    _sign_in(c)
    at = datetime.now(ZoneInfo(TZ)).replace(microsecond=0) - timedelta(hours=1)
    for user, flags in (("kai-v1", ("fever_or_unwell",)), ("lia-v1", ("odd_new_flag",))):
        site.db.store([parse(f"pacer/{user}/alert", encode(
            red_flag_alert(user, at, flags=flags, v=1)))])
    rows = {r["id"]: r for r in c.get("/api/patients").json()["patients"]}
    assert rows["kai-v1"]["attention"] == "urgent red flag"
    assert rows["kai-v1"]["red_flag"] == {"tier": "urgent", "flags": ["fever_or_unwell"],
                                          "time": at.isoformat(), "raised": at.isoformat(),
                                          "seen": None}
    assert rows["lia-v1"]["attention"] == "emergency red flag"  # unknown: the stronger advice
    text = _text(c.get("/").text)
    assert f"urgent red flag: fever or unwell reported {at:%a %d %b %H:%M}; not yet seen" in text
    assert "emergency red flag: odd new flag" in text


def _copy(body: dict[str, Any], received: float, closed: float | None = None
          ) -> tuple[dict[str, Any], float, float | None]:
    return body, received, closed


def test_alert_history_pairs_alerts_and_clearings() -> None:
    tz = ZoneInfo(TZ)
    day = datetime(2026, 11, 23, 9, 0, 30, tzinfo=tz)
    a1 = red_flag_alert("p", day, flags=("both_legs",))
    a1_seen = red_flag_alert("p", day, flags=("both_legs",), seen=day + timedelta(hours=1))
    v1 = red_flag_alert("p", day + timedelta(days=1), v=1)
    a2 = red_flag_alert("p", day + timedelta(days=2), flags=("chest_pain",))
    a2_again = red_flag_alert("p", day + timedelta(days=2, hours=1), flags=("chest_pain",),
                              raised=day + timedelta(days=2))
    rows = [_copy(a1, 1, 50), _copy(a1_seen, 2, 50), _copy(v1, 60, 70),
            _copy(a2, 80), _copy(a2_again, 81)]
    # Cleared in the minute of the report (the event's time is a whole minute),
    # by the person; and one clearing of an alert the clinic never stored.
    events = [
        alert_cleared_event("p", day.replace(second=0) + timedelta(hours=1), by="p",
                            how="person", why="seen", flags=("both_legs",),
                            seen=day + timedelta(hours=1)),
        alert_cleared_event("p", day - timedelta(days=5), by="jo", how="physiotherapist",
                            why="old", flags=("history_of_cancer",)),
    ]
    history = alert_history(rows, events)
    assert [(a.title, a.open, a.how) for a in history] == [
        ("emergency red flag: chest pain", True, None),
        ("emergency red flag: saddle numbness", False, None),  # v1, no event
        ("emergency red flag: both legs", False, "person"),
        ("urgent red flag: history of cancer", False, "physiotherapist"),
    ]
    open_, old_v1, seen, gone = history
    assert (open_.raised, open_.time) == (day + timedelta(days=2),
                                          day + timedelta(days=2, hours=1))
    assert seen.seen == day + timedelta(hours=1)
    assert old_v1.cleared is None
    assert old_v1.cleared_seen == 70
    assert gone.time is None
    assert gone.cleared == day - timedelta(days=5)


def test_open_alert_is_the_newest_copy_red_flag_first() -> None:
    at = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo(TZ))
    review = {"v": 1, "type": "alert", "user": "p", "kind": "review_suggested",
              "time": (at + timedelta(hours=2)).isoformat(), "reason": {}}
    plain = red_flag_alert("p", at)
    seen = red_flag_alert("p", at, seen=at + timedelta(hours=1))
    # All in one batch: the copy that says the person was seen wins, whatever the order.
    for rows in ([(plain, 5.0), (seen, 5.0), (review, 6.0)],
                 [(seen, 5.0), (review, 6.0), (plain, 5.0)]):
        assert open_alert(rows) == seen
    assert open_alert([(review, 1.0)]) == review
    assert open_alert([]) is None


# --- the plan form --------------------------------------------------------------------


def _plan(c: TestClient, pid: str, **fields: str) -> Any:
    token = _csrf(c.get(f"/patients/{pid}").text)
    return c.post(f"/patients/{pid}/plan", data={"csrf": token, **fields},
                  follow_redirects=False)


@pytest.mark.parametrize(("fields", "error", "message"), [
    ({"why": "", "plan.quota": "3000"}, "empty", "Give a reason and at least one change"),
    ({"why": "more walking"}, "empty", "Give a reason and at least one change"),
    ({"why": "more walking", "plan.quota": "3k"}, "number", "must be whole numbers"),
    ({"why": "more walking", "plan.quota": "-5"}, "number", "must be whole numbers"),
    ({"why": "more walking", "plan.quota": "50"}, "range", "outside what pacer accepts"),
    ({"why": "more walking", "sitting.limit_min": "500"}, "range",
     "outside what pacer accepts"),
    ({"why": "x" * 301, "plan.quota": "3000"}, "long", "at most 300 characters"),
])
def test_plan_form_refuses_bad_input_and_sends_nothing(
        site: Site, fields: dict[str, str], error: str, message: str) -> None:
    c = site.client
    _sign_in(c)
    r = _plan(c, "dev-r", **fields)
    assert r.status_code == 303
    assert r.headers["location"] == f"/patients/dev-r?error={error}"
    page = c.get(r.headers["location"]).text
    assert message in page
    assert "nothing was sent" in page
    assert site.db.counts()["plan_requests"] == 0


def test_plan_form_needs_its_csrf_token(site: Site) -> None:
    c = site.client
    _sign_in(c)
    r = c.post("/patients/dev-r/plan", data={"csrf": "forged", "why": "x",
                                              "plan.quota": "3000"}, follow_redirects=False)
    assert r.headers["location"] == "/patients/dev-r?error=expired"
    assert site.db.counts()["plan_requests"] == 0


def test_plan_form_without_a_broker_says_so(site: Site) -> None:
    c = site.client
    _sign_in(c)
    page = c.get("/patients/dev-r").text
    assert "Not connected to the MQTT broker right now" in page
    r = _plan(c, "dev-r", why="more walking", **{"plan.quota": "3000"})
    assert r.headers["location"] == "/patients/dev-r?error=broker"
    assert "The broker could not be reached" in c.get(r.headers["location"]).text
    assert site.db.counts()["plan_requests"] == 0  # no change shown as waiting


# --- a plan change through mosquitto and the shipped ACL ------------------------------


class Responder:
    """Stands in for a patient's daemon: signed in as the patient, it answers
    each ``cmd/plan`` on the command's response topic with its correlation data."""

    def __init__(self, broker: PrivateBroker, user: str, password: str,
                 reply: dict[str, Any]) -> None:
        self.commands: list[dict[str, Any]] = []
        self.reply = reply
        self.delay_s = 0.0
        self._ready = threading.Event()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2,
                                   client_id=f"test-{user}-{uuid.uuid4().hex[:8]}",
                                   protocol=MQTTProtocolVersion.MQTTv5)
        self._client.username_pw_set(user, password)
        self._client.on_connect = lambda c, *_a: c.subscribe(f"pacer/{user}/cmd/plan", qos=1)
        self._client.on_subscribe = lambda *_a: self._ready.set()
        self._client.on_message = self._answer
        self._client.connect(broker.host, broker.port, keepalive=10)
        self._client.loop_start()
        assert self._ready.wait(10), "responder not subscribed"

    def _answer(self, c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        self.commands.append(json.loads(msg.payload))
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        props.CorrelationData = msg.properties.CorrelationData  # type: ignore[union-attr]
        topic, body = msg.properties.ResponseTopic, json.dumps(self.reply)  # type: ignore[union-attr]
        timer = threading.Timer(self.delay_s, c.publish, (topic, body),
                                {"qos": 1, "properties": props})
        timer.daemon = True
        timer.start()

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


PATIENT_PW = {"anna-k": "anna-pw-1234", "dev-r": "dev-pw-1234"}


@contextlib.contextmanager
def _live_site(tmp_path: Path, patient: str, reply_timeout_s: float = 10
               ) -> Iterator[tuple[ClinicConfig, Database, Responder]]:
    """The web app's config on a mosquitto with the shipped ACL (the physio's
    and the patients' accounts), its database filled, and ``patient``'s
    daemon answering plan changes (``{"ok": true}`` unless told otherwise)."""
    with PrivateBroker(backend="mosquitto", users={"physio": PHYSIO_PW, **PATIENT_PW},
                       extra_config=[f"acl_file {ACL}"]) as broker:
        config = load_clinic_config(_config(tmp_path, broker.url,
                                            reply_timeout_s=reply_timeout_s))
        auth.set_password(config.web.users_file, NAME, PASSWORD)
        db = Database(config.database)
        _fill(db)
        responder = Responder(broker, patient, PATIENT_PW[patient], {"ok": True})
        try:
            yield config, db, responder
        finally:
            responder.close()


def test_plan_change_is_published_as_the_physio_and_the_reply_shown(tmp_path: Path) -> None:
    with (_live_site(tmp_path, "dev-r") as (config, db, responder),
          TestClient(create_app(config, db=db)) as c):
        _sign_in(c)
        for _ in range(100):
            if "Not connected" not in c.get("/patients/dev-r").text:
                break
            threading.Event().wait(0.1)
        r = _plan(c, "dev-r", why="breaks are hard at work",
                  **{"sitting.limit_min": "40", "plan.quota": "3500"})
        location = r.headers["location"]
        assert location.startswith("/patients/dev-r?request=clinic-")
        page = c.get(location).text
        assert "dev-r's pacer accepted the change." in page
        assert "plan.quota = 3500, sitting.limit_min = 40" in page
        responder.reply = {"ok": False, "error": "by: 'jo.physio' is not a plan editor"}
        r = _plan(c, "dev-r", why="try again", **{"plan.quota": "3600"})
        page = c.get(r.headers["location"]).text
        assert "refused the change: by: &#39;jo.physio&#39; is not a plan editor" in page
    cmd = responder.commands[0]
    assert cmd["by"] == NAME
    assert cmd["why"] == "breaks are hard at work"
    assert cmd["set"] == {"sitting.limit_min": 40, "plan.quota": 3500}
    assert cmd["id"].startswith("clinic-")
    rows = db.query("SELECT user_id, by_name, reply FROM plan_requests ORDER BY sent_at")
    assert [(u, b) for u, b, _ in rows] == [("dev-r", NAME), ("dev-r", NAME)]
    assert json.loads(rows[0][2]) == {"ok": True}
    assert json.loads(rows[1][2])["ok"] is False


# --- the example config and the TLS reverse proxy --------------------------------------

EXAMPLE = ROOT / "config" / "clinic.example.toml"
NGINX_SITE = ROOT / "config" / "clinic" / "nginx.conf"


def test_example_config_loads_and_names_every_key() -> None:
    config = load_clinic_config(EXAMPLE)
    assert config.database == str(ROOT / "config" / "clinic.sqlite3")
    assert config.mqtt.url == "mqtts://broker.clinic.example.org:8883"
    assert config.mqtt.username == "physio"
    assert config.mqtt.ca_file == ROOT / "config" / "ca.crt"
    assert (config.web.host, config.web.port, config.web.https_only) == ("127.0.0.1", 8080,
                                                                          True)
    assert config.web.users_file == ROOT / "config" / "clinic-users"
    # Apart from the ones the header names, the example's values are the defaults.
    defaults = type(config)()
    assert config.collector == defaults.collector
    assert config.clinic == defaults.clinic
    assert config.web.model_copy(update={"https_only": False, "users_file": Path(
        "clinic-users"), "secret_file": Path("clinic-secret")}) == defaults.web
    text = EXAMPLE.read_text(encoding="utf-8")
    for table in ("collector", "web", "clinic"):
        for key in type(getattr(config, table)).model_fields:
            assert re.search(rf"^{key} = ", text, re.M), f"[{table}] {key} not in the example"
    assert "config/clinic/nginx.conf" in text
    assert f"port = {config.web.port}" in text
    assert f"proxy_pass http://127.0.0.1:{config.web.port};" in NGINX_SITE.read_text()


def _nginx_conf(tmp: Path, http: int, https: int, app: int, cert: Path, key: Path) -> Path:
    """The shipped site, on test ports and a test certificate, in a minimal nginx.conf."""
    site = NGINX_SITE.read_text(encoding="utf-8")
    for old, new in (("listen 80;", f"listen 127.0.0.1:{http};"),
                     ("listen 443 ssl http2;", f"listen 127.0.0.1:{https} ssl http2;"),
                     ("/etc/letsencrypt/live/clinic.example.org/fullchain.pem", str(cert)),
                     ("/etc/letsencrypt/live/clinic.example.org/privkey.pem", str(key)),
                     ("http://127.0.0.1:8080", f"http://127.0.0.1:{app}"),
                     ("/var/www/html", str(tmp))):
        assert old in site, old
        site = site.replace(old, new)
    site = "\n".join(line for line in site.splitlines() if "[::]" not in line)
    conf = tmp / "nginx.conf"
    conf.write_text(f"""
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log info;
events {{ worker_connections 64; }}
http {{
    access_log {tmp}/nginx-access.log;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
{site}
}}
""", encoding="utf-8")
    return conf


def test_tls_through_the_shipped_nginx_site(tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists()
                                      else None)
    if nginx is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    pki = make_pki(tmp_path / "pki")
    app_port, http, https = free_port(), free_port(), free_port()
    cfg = _config(tmp_path)
    cfg.write_text(cfg.read_text().replace("[web]\n", f"[web]\nport = {app_port}\n"
                                           "https_only = true\n"), encoding="utf-8")
    config = load_clinic_config(cfg)
    auth.set_password(config.web.users_file, NAME, PASSWORD)
    _fill(Database(config.database))
    conf = _nginx_conf(tmp_path, http, https, app_port, pki.cert, pki.key)
    check = subprocess.run([nginx, "-t", "-c", str(conf), "-e", str(tmp_path / "t.log")],
                           capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stderr
    with (tmp_path / "web.log").open("ab") as log:
        web = subprocess.Popen([sys.executable, "-m", "pacer", "clinic", "serve", "--config",
                                str(cfg)], stdout=log, stderr=log)
    proxy = subprocess.Popen([nginx, "-c", str(conf), "-e", str(tmp_path / "nginx-error.log")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: port_open("127.0.0.1", app_port) and port_open("127.0.0.1", https),
                   30, "the app and nginx listening")
        plain = httpx.get(f"http://127.0.0.1:{http}/api/patients?x=1")
        assert plain.status_code == 301
        assert plain.headers["location"] == "https://127.0.0.1/api/patients?x=1"
        trust = ssl.create_default_context(cafile=str(pki.ca))
        with httpx.Client(base_url=f"https://127.0.0.1:{https}", verify=trust) as c:
            page = c.get("/signin")
            assert page.status_code == 200
            assert page.headers["strict-transport-security"] == "max-age=63072000"
            r = c.post("/signin", data={"csrf": _csrf(page.text), "name": NAME,
                                        "password": PASSWORD})
            assert r.status_code == 303
            cookie = r.headers["set-cookie"].lower()
            assert "secure" in cookie
            assert "httponly" in cookie
            rows = c.get("/api/patients").json()["patients"]
            assert rows[0]["id"] == "anna-k"
            big = c.post("/signin", content=b"x" * 100_000,
                         headers={"content-type": "application/x-www-form-urlencoded"})
            assert big.status_code == 413  # refused by nginx before the app
        # Over plain HTTP straight to the app the Secure cookie is never sent back.
        with httpx.Client(base_url=f"http://127.0.0.1:{app_port}") as direct:
            page = direct.get("/signin")
            r = direct.post("/signin", data={"csrf": _csrf(page.text), "name": NAME,
                                             "password": PASSWORD})
            assert r.status_code == 400  # the session with the token was not kept
    finally:
        for proc in (proxy, web):
            proc.terminate()
            proc.wait(15)


def test_a_reply_after_the_page_stopped_waiting_is_stored_and_shown(tmp_path: Path) -> None:
    """The daemon answers late (offline for a while): the page says so, and the
    reply shows once it has come, through the web app's own subscription."""
    with _live_site(tmp_path, "dev-r", reply_timeout_s=0.5) as (config, db, responder):
        responder.delay_s = 2.0
        with TestClient(create_app(config, db=db)) as c:
            _sign_in(c)
            wait_until(lambda: "Not connected" not in c.get("/patients/dev-r").text, 10,
                       "the web app connected to the broker")
            r = _plan(c, "dev-r", why="later is fine", **{"plan.quota": "3300"})
            location = r.headers["location"]
            page = c.get(location).text
            assert "no reply from dev-r's pacer yet" in page
            wait_until(lambda: db.query("SELECT reply FROM plan_requests")[0][0] is not None,
                       15, "the late reply stored")
            assert "dev-r's pacer accepted the change." in c.get(location).text


def test_clearing_an_alert_and_a_broker_refusal(tmp_path: Path) -> None:
    """The clear-alert box sends ``clear_alert`` alone; a web app signed in to
    the broker as an account the ACL does not let publish plans is refused,
    says so, and keeps no request waiting."""
    with _live_site(tmp_path, "anna-k") as (config, db, responder):
        with TestClient(create_app(config, db=db)) as c:
            _sign_in(c)
            wait_until(lambda: "Not connected" not in c.get("/patients/anna-k").text, 10,
                       "the web app connected to the broker")
            assert 'name="clear_alert"' in c.get("/patients/anna-k").text
            assert 'name="clear_alert"' not in c.get("/patients/dev-r").text  # no alert
            r = _plan(c, "anna-k", why="seen in clinic today", clear_alert="yes")
            assert "accepted the change" in c.get(r.headers["location"]).text
        assert responder.commands[0]["clear_alert"] is True
        assert "set" not in responder.commands[0]

        # The same web app signed in to the broker as a patient's account.
        (tmp_path / "physio.password").write_text(PATIENT_PW["dev-r"] + "\n", encoding="utf-8")
        cfg = tmp_path / "clinic.toml"
        cfg.write_text(cfg.read_text().replace('username = "physio"', 'username = "dev-r"'),
                       encoding="utf-8")
        wrong = load_clinic_config(cfg)
        with TestClient(create_app(wrong, db=db)) as c:
            _sign_in(c)
            wait_until(lambda: "Not connected" not in c.get("/patients/anna-k").text, 10,
                       "the web app connected to the broker")
            r = _plan(c, "anna-k", why="not allowed", **{"plan.quota": "3100"})
            assert r.headers["location"] == "/patients/anna-k?error=broker"
    assert db.query("SELECT count(*) FROM plan_requests") == [(1,)]  # only the first
