"""The clinic in a real browser: headless Chromium (Playwright, as in
tests/pacer/app/test_app_browser.py) against ``pacer clinic serve`` and ``pacer clinic
collect`` as subprocesses, a private mosquitto with the shipped ACL and a
password per account, simulated patients publishing as themselves, and a real
patient daemon (``pacer run``) that lists the physiotherapist in
``plan_editors`` and answers the plan change.

The screenshots of the patient list and of a patient's remote-monitoring
record (laptop and phone) land in pacer/clinic/screenshots/ when
PACER_SCREENSHOTS=1 (otherwise in a temporary folder, leaving the tree clean).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from helpers import REPO
from helpers.app import Browser, browser_missing
from helpers.browser import screenshot_dir
from helpers.clinic import CLINIC_PATIENTS, TZ, clinic_messages, publish_all
from helpers.daemon import stop_process, wait_until
from paho.mqtt import client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from pacer.clinic import auth
from pacer.clinic.db import Database
from pacer.mqtt.broker import PrivateBroker, free_port, port_open

ROOT = REPO
ACL = ROOT / "config" / "mosquitto" / "acl"
SHOTS = screenshot_dir(ROOT / "pacer" / "clinic" / "screenshots")
PHYSIO, PHYSIO_MQTT_PW, PHYSIO_WEB_PW = "physio", "physio-mqtt-pw-1", "physio web secret 2"
PASSWORDS = {"physio": PHYSIO_MQTT_PW, "alice": "alice-pw-2024",
             **{p: f"{p}-pw-77" for p in CLINIC_PATIENTS}}

missing = browser_missing()
pytestmark = pytest.mark.skipif(missing is not None, reason=str(missing))


class Proc:
    """A ``python -m pacer ...`` subprocess with its output in a log file."""

    def __init__(self, log: Path, *args: str) -> None:
        self.log = log
        with log.open("ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "pacer", *args],
                                         stdout=out, stderr=out, stdin=subprocess.DEVNULL)

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_log(self, needle: str, timeout: float = 30) -> None:
        wait_until(lambda: needle in self.text(), timeout,
                   lambda: f"{needle!r} in {self.log.name}:\n{self.text()[-3000:]}")

    def stop(self) -> None:
        stop_process(self.proc, 15)


def _clinic_config(tmp: Path, broker: PrivateBroker, port: int) -> Path:
    (tmp / "physio.password").write_text(PHYSIO_MQTT_PW + "\n", encoding="utf-8")
    path = tmp / "clinic.toml"
    path.write_text(f"""
database = "clinic.sqlite3"
[mqtt]
url = "{broker.url}"
username = "physio"
password_file = "physio.password"
[collector]
group = "clinic"
client_id = "clinic-collector-1"
[web]
port = {port}
users_file = "users"
secret_file = "secret"
reply_timeout_s = 15
[clinic]
patients = ["alice"]
""", encoding="utf-8")
    return path


def _daemon_config(tmp: Path, broker: PrivateBroker) -> Path:
    directory = tmp / "alice"
    directory.mkdir()
    start = datetime.now(ZoneInfo(TZ)).replace(hour=9, minute=0, second=0, microsecond=0)
    rows = [f"{(start + timedelta(minutes=i)).isoformat()},0,sitting" for i in range(240)]
    (directory / "desk.csv").write_text("time,steps,posture\n" + "\n".join(rows) + "\n",
                                        encoding="utf-8")
    (directory / "password").write_text(PASSWORDS["alice"] + "\n", encoding="utf-8")
    cfg = directory / "pacer.toml"
    cfg.write_text(f"""
[user]
id = "alice"
timezone = "{TZ}"

[[devices]]
kind = "replay"
path = "desk.csv"
speed = 60

[mqtt]
url = "{broker.url}"
username = "alice"
password_file = "password"
plan_editors = ["{PHYSIO}"]

[storage]
path = "pacer.sqlite3"
""", encoding="utf-8")
    return cfg


def _answers_commands(broker: PrivateBroker, user: str, timeout: float = 30) -> None:
    """Until ``user``'s daemon answers a command: an empty ``cmd/dnd`` it must
    refuse, sent every half second until a reply comes."""
    got = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"probe-{uuid.uuid4().hex[:8]}",
                         protocol=MQTTProtocolVersion.MQTTv5)
    client.username_pw_set(user, PASSWORDS[user])
    ready = threading.Event()
    client.on_connect = lambda c, *_a: c.subscribe(f"pacer/{user}/reply/probe", qos=1)
    client.on_subscribe = lambda *_a: ready.set()
    client.on_message = lambda *_a: got.set()
    client.connect(broker.host, broker.port, keepalive=10)
    client.loop_start()
    try:
        assert ready.wait(10), "probe not subscribed"
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        props.ResponseTopic = f"pacer/{user}/reply/probe"
        props.CorrelationData = b"probe"
        deadline = time.monotonic() + timeout
        while not got.wait(0.5):
            assert time.monotonic() < deadline, f"{user}'s daemon answers no command"
            client.publish(f"pacer/{user}/cmd/dnd", b"{}", qos=1, properties=props)
    finally:
        client.disconnect()
        client.loop_stop()


@dataclass
class Clinic:
    url: str
    db: Database
    web: Proc
    collector: Proc


@pytest.fixture
def clinic(tmp_path: Path) -> Iterator[Clinic]:
    extra = [f"acl_file {ACL}", "max_queued_messages 0"]
    with PrivateBroker(backend="mosquitto", users=PASSWORDS, extra_config=extra) as broker:
        port = free_port()
        cfg = _clinic_config(tmp_path, broker, port)
        auth.set_password(tmp_path / "users", PHYSIO, PHYSIO_WEB_PW)
        procs: list[Proc] = []
        try:
            collector = Proc(tmp_path / "collector.log", "clinic", "collect", "--config",
                             str(cfg))
            procs.append(collector)
            collector.wait_log("collecting for group")
            web = Proc(tmp_path / "web.log", "clinic", "serve", "--config", str(cfg))
            procs.append(web)
            wait_until(lambda: port_open("127.0.0.1", port), 30,
                       lambda: f"the web app listening:\n{web.text()[-2000:]}")
            web.wait_log("connected to the MQTT broker")
            daemon = Proc(tmp_path / "daemon.log", "run", "--config",
                          str(_daemon_config(tmp_path, broker)))
            procs.append(daemon)
            # Each simulated patient publishes as itself (the ACL allows nothing else).
            today = datetime.now(ZoneInfo(TZ)).date()
            by_user: dict[str, list[tuple[str, bytes, bool]]] = {}
            for m in clinic_messages(today):
                by_user.setdefault(m[0].split("/")[1], []).append(m)
            for user, msgs in by_user.items():
                assert publish_all(broker.host, broker.port, msgs, clients=1,
                                   username=user, password=PASSWORDS[user]) == len(msgs)
            db = Database(str(tmp_path / "clinic.sqlite3"))
            total = sum(len(v) for v in by_user.values())
            wait_until(lambda: len(db.query("SELECT user_id FROM patients")) >= len(by_user),
                       30, lambda: f"every patient stored: {db.counts()}")
            _answers_commands(broker, "alice")
            wait_until(lambda: db.query("SELECT status FROM patients WHERE user_id = 'alice'")
                       == [("online",)], 30, "alice's daemon online in the clinic's store")
            assert total > 100
            yield Clinic(f"http://127.0.0.1:{port}", db, web, collector)
        finally:
            for p in reversed(procs):
                p.stop()


def _sign_in(b: Browser, c: Clinic) -> None:
    b.do("open", url=f"{c.url}/", width=1280, height=600)  # fullPage grows it
    b.do("wait", selector="input[name=password]")
    b.do("fill", selector="#name", value=PHYSIO)
    b.do("fill", selector="#password", value="not it at all")
    b.do("click", selector="form button[type=submit]")
    b.do("wait", selector="[role=alert]", text="do not match")
    b.do("fill", selector="#name", value=PHYSIO)
    b.do("fill", selector="#password", value=PHYSIO_WEB_PW)
    b.do("click", selector="main form button[type=submit]")
    b.do("wait", selector="h1", text="Patients")


def test_physio_signs_in_sees_the_list_and_changes_a_plan(tmp_path: Path,
                                                          clinic: Clinic) -> None:
    with Browser(tmp_path / "browser.log") as b:
        _sign_in(b, clinic)
        rows = b.do("eval", expr="[...document.querySelectorAll('tbody tr')].map(r => "
                                 "[r.cells[0].innerText, r.cells[1].innerText])")
        order = [pid for _badge, pid in rows]
        assert order[:6] == ["anna-k", "ivan-p", "ben-o", "chloe-m", "dev-r", "alice"]
        assert order[6] == "emma-l"  # no data either; then by id
        assert [badge for badge, _ in rows] == [
            "emergency red flag", "urgent red flag", "review suggested", "boom-bust cycles",
            "low adherence", "no data", "no data", "on track", "on track"]
        assert "saddle numbness" in b.do("text", selector="tbody tr")
        assert "seen at" in b.do("text", selector="tbody tr:nth-child(2)")
        SHOTS.mkdir(parents=True, exist_ok=True)
        b.do("screenshot", path=str(SHOTS / "patients.png"), fullPage=True)

        # Someone else's week first: the charts are there.
        b.do("click", selector="a[href='/patients/chloe-m']")
        b.do("wait", selector="h1", text="chloe-m")
        assert b.do("count", selector="svg") >= 3
        b.do("click", selector="a[href='/']")

        b.do("click", selector="a[href='/patients/alice']")
        b.do("wait", selector="h1", text="alice")
        assert "Not connected" not in b.do("text", selector="main")
        b.do("fill", selector="input[name='sitting.limit_min']", value="40")
        b.do("fill", selector="#why", value="breaks are easier every 40 minutes at work")
        b.do("click", selector="form.plan button[type=submit]")
        b.do("wait", selector="#reply", timeout=30000)
        assert b.do("text", selector="#reply") == "alice's pacer accepted the change."
        assert "sitting.limit_min = 40" in b.do("text", selector="table")
        # The daemon's audit event comes back through the collector.
        wait_until(lambda: bool(clinic.db.query(
            "SELECT 1 FROM events WHERE user_id = 'alice' AND type = 'plan_changed'")), 30,
            "the plan_changed event stored by the collector")
        b.do("eval", expr="location.reload()")
        b.do("wait", selector="td", text="by physio (breaks are easier every 40 minutes")
        assert not [x for x in b.do("logs") if x.startswith("pageerror")]

    (req_id, by, payload, reply) = clinic.db.query(
        "SELECT id, by_name, payload, reply FROM plan_requests WHERE user_id = 'alice'")[0]
    assert by == PHYSIO
    assert json.loads(payload)["set"] == {"sitting.limit_min": 40}
    assert json.loads(reply) == {"ok": True}
    (event,) = [json.loads(r[0]) for r in clinic.db.query(
        "SELECT body FROM events WHERE user_id = 'alice' AND type = 'plan_changed'")]
    assert event["by"] == PHYSIO
    assert event["set"] == {"sitting.limit_min": 40}
    assert event["command_id"] == req_id


def _monitoring_shots(b: Browser, width: str) -> None:
    """The patient page's remote-monitoring section, and (on a phone, where it
    takes more than a screen) its log."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    b.do("eval", expr="document.getElementById('reviews').scrollIntoView()")
    b.do("screenshot", path=str(SHOTS / f"monitoring-{width}.png"))
    if width == "phone":
        b.do("eval", expr="document.querySelector('form.review button').scrollIntoView()")
        b.do("screenshot", path=str(SHOTS / "monitoring-log-phone.png"))


def test_physio_sees_days_with_data_and_logs_review_minutes(tmp_path: Path,
                                                            clinic: Clinic) -> None:
    """Remote-monitoring records (issue 17 item 3): the 30-day count in the list
    and on the page, and a review logged by the signed-in physiotherapist,
    totalled for the period, at laptop and at phone width."""
    with Browser(tmp_path / "browser.log") as b:
        _sign_in(b, clinic)
        counts = dict(b.do("eval", expr="[...document.querySelectorAll('tbody tr')].map(r => "
                                        "[r.cells[1].innerText, r.querySelector("
                                        "'[data-field=days_30]').innerText])"))
        assert counts["grace-t"] == "21"  # three weeks, every day worn 14 hours
        assert counts["emma-l"] == "15 (2–15)"  # nothing for six days
        assert counts["alice"].startswith("0")  # her daemon's first day is not over
        b.do("click", selector="a[href='/patients/grace-t']")
        b.do("wait", selector="h1", text="grace-t")
        assert b.do("text", selector="#days-30") == "21 days"
        assert "review and contact time logged: 0 min" in b.do("text", selector="#period")
        b.do("fill", selector="#review-minutes", value="25")
        b.do("eval", expr="document.getElementById('review-kind').value = 'call'")
        b.do("fill", selector="#review-what",
             value="Called about the <b>sitting</b> breaks; agreed 40 minutes at work")
        b.do("click", selector="form.review button[type=submit]")
        b.do("wait", selector="#logged")
        assert "25 min" in b.do("text", selector="#period-minutes")
        row = b.do("text", selector="#review-log tbody tr")
        assert "physio" in row
        assert "phone or video call" in row
        assert "Called about the <b>sitting</b> breaks" in row  # shown as typed, not markup
        assert b.do("count", selector="#review-log b") == 0
        _monitoring_shots(b, "laptop")
        assert not [x for x in b.do("logs") if x.startswith("pageerror")]
    with Browser(tmp_path / "phone.log") as b:
        b.do("open", url=f"{clinic.url}/signin", width=390, height=844)
        b.do("fill", selector="#name", value=PHYSIO)
        b.do("fill", selector="#password", value=PHYSIO_WEB_PW)
        b.do("click", selector="main form button[type=submit]")
        b.do("wait", selector="h1", text="Patients")
        b.do("eval", expr="document.querySelector('.scroll').scrollLeft = 1e5")  # the last columns
        b.do("screenshot", path=str(SHOTS / "patients-phone-days.png"))
        b.do("eval", expr="location.href = '/patients/grace-t'")
        b.do("wait", selector="#review-log", text="Called about")
        wide = b.do("eval", expr="[...document.querySelectorAll('main *')].filter(e => "
                                 "e.getBoundingClientRect().right > 391 && !e.closest('.scroll'))"
                                 ".map(e => e.tagName + '#' + e.id + '.' + e.className + ' ' + "
                                 "Math.round(e.getBoundingClientRect().right))")
        assert wide == [], "\n".join(wide)  # only a table's own scroller is wider
        _monitoring_shots(b, "phone")
    assert clinic.db.query("SELECT user_id, by_name, minutes, kind FROM review_log") == [
        ("grace-t", PHYSIO, 25, "call")]
