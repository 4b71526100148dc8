"""The phone app in a real browser: headless Chromium (Playwright) against a
private mosquitto with a websockets listener, the real ACL and passwords, a
running ``pacer run`` on a replay device at 120x, and ``pacer app`` serving the
built app. The phone-size screenshots land in pacer/app/screenshots/ when
PACER_SCREENSHOTS=1 (otherwise in a temporary folder, leaving the tree clean).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from browser_helpers import screenshot_dir

from pacer.app.bundle import DIST_DIR
from pacer.app.testing import Browser, Watcher, browser_missing
from pacer.mqtt.broker import PrivateBroker, free_port
from pacer.mqtt.testing import Received

ROOT = Path(__file__).resolve().parent.parent
ACL = ROOT / "config" / "mosquitto" / "acl"
SHOTS = screenshot_dir(ROOT / "pacer" / "app" / "screenshots")
TZ = ZoneInfo("Australia/Sydney")
PASSWORD = "alice-secret"

missing = browser_missing() or (None if (DIST_DIR / "BUILT").is_file()
                                else "the app is not built: cd pacer/app/web && npm run build")
pytestmark = pytest.mark.skipif(missing is not None, reason=str(missing))


@dataclass
class Setup:
    broker: PrivateBroker
    ws_url: str
    app_url: str
    config: Path
    tmp: Path


def _desk_csv(path: Path, minutes: int = 120) -> None:
    start = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)
    rows = [f"{(start + timedelta(minutes=i)).isoformat()},0,sitting" for i in range(minutes)]
    path.write_text("time,steps,posture\n" + "\n".join(rows) + "\n", encoding="utf-8")


def _config(tmp: Path, broker: PrivateBroker) -> Path:
    _desk_csv(tmp / "desk.csv")
    (tmp / "password").write_text(PASSWORD + "\n", encoding="utf-8")
    cfg = tmp / "pacer.toml"
    cfg.write_text(f"""
[user]
id = "alice"
timezone = "Australia/Sydney"

[[devices]]
kind = "replay"
path = "desk.csv"
speed = 120

[sitting]
limit_min = 15
repeat_min = 5

[mqtt]
url = "{broker.url}"
username = "alice"
password_file = "password"

[storage]
path = "pacer.sqlite3"
""", encoding="utf-8")
    return cfg


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    ws_port = free_port()
    extra = [f"listener {ws_port} 127.0.0.1", "protocol websockets", f"acl_file {ACL}"]
    with PrivateBroker(users={"alice": PASSWORD}, extra_config=extra) as broker:
        cfg = _config(tmp_path, broker)
        port = free_port()
        ws_url = f"ws://127.0.0.1:{ws_port}"
        app = subprocess.Popen(
            [sys.executable, "-m", "pacer", "app", "--config", str(cfg), "--port", str(port),
             "--broker-url", ws_url],
            stdout=subprocess.PIPE, stderr=(tmp_path / "app.log").open("ab"),
        )
        try:
            assert app.stdout is not None
            line = app.stdout.readline().decode()
            assert "serving the phone app at http://127.0.0.1:" in line, line
            yield Setup(broker, ws_url, f"http://127.0.0.1:{port}/", cfg, tmp_path)
        finally:
            _stop(app)


@pytest.fixture
def browser(setup: Setup) -> Iterator[Browser]:
    with Browser(setup.tmp / "browser.log") as b:
        yield b


@pytest.fixture
def watcher(setup: Setup) -> Iterator[Watcher]:
    w = Watcher(setup.broker.host, setup.broker.port, "alice", PASSWORD, "pacer/alice/#")
    yield w
    w.close()


@pytest.fixture
def daemon(setup: Setup) -> Iterator[subprocess.Popen[bytes]]:
    log = (setup.tmp / "daemon.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "pacer", "run", "--config", str(setup.config)],
        stdout=log, stderr=log, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    yield proc
    _stop(proc)


def _sign_in(b: Browser, s: Setup) -> None:
    b.do("open", url=s.app_url, width=390, height=844)
    b.do("wait", selector="#signin")
    assert b.do("eval", expr="document.getElementById('url').value") == s.ws_url
    assert b.do("eval", expr="document.getElementById('user').value") == "alice"
    b.do("fill", selector="#password", value=PASSWORD)
    b.do("click", selector="#signin button[type=submit]")
    b.do("wait", selector=".conn-online", timeout=15000)


def _body(m: Received) -> dict[str, object]:
    body: dict[str, object] = json.loads(m.payload)
    return body


def _is_reply(m: Received) -> bool:
    return m.topic.startswith("pacer/alice/reply/app-")


def test_prompt_appears_and_snooze_holds_the_next_one(
    setup: Setup, browser: Browser, watcher: Watcher, daemon: subprocess.Popen[bytes]
) -> None:
    b = browser
    _sign_in(b, setup)
    first = watcher.wait_for(lambda m: m.topic == "pacer/alice/prompt"
                             and _body(m)["kind"] == "sitting_break", timeout=40,
                             what="the first sitting prompt")
    prompt = _body(first)
    card = f'[data-prompt="{prompt["id"]}"]'
    b.do("wait", selector=card, timeout=10000)
    assert "movement break" in b.do("text", selector=card)
    b.do("screenshot", path=str(SHOTS / "prompt.png"))
    b.do("click", selector=f"{card} [data-action=snooze]")
    b.do("wait", selector=f"{card} .reply.ok", timeout=15000)
    assert "pacer confirmed" in b.do("text", selector=f"{card} .reply")

    reply = watcher.wait_for(_is_reply, what="the daemon's reply to the app")
    assert _body(reply) == {"ok": True}
    assert reply.correlation_data  # the app matched it by its correlation data
    ack = watcher.wait_for(lambda m: m.topic == "pacer/alice/event"
                           and _body(m).get("type") == "ack", what="the ack event")
    assert _body(ack)["action"] == "snooze"
    assert _body(ack)["prompt"] == prompt["id"]
    assert _body(ack)["minutes"] == 15
    acked_at = datetime.fromisoformat(str(_body(ack)["time"]))

    # Without the snooze a repeat would come every 5 minutes; with it the next
    # sitting prompt waits until the 15 minutes are over.
    nxt = watcher.wait_for(lambda m: m.topic == "pacer/alice/prompt"
                           and _body(m)["kind"] == "sitting_break"
                           and _body(m)["id"] != prompt["id"], timeout=40,
                           what="the sitting prompt after the snooze")
    assert datetime.fromisoformat(str(_body(nxt)["time"])) >= acked_at + timedelta(minutes=15)
    b.do("wait", selector=f'[data-prompt="{_body(nxt)["id"]}"]', timeout=10000)
    assert not [x for x in b.do("logs") if x.startswith("pageerror")]


def test_red_check_in_shows_urgent_advice_and_reaches_the_daemon(
    setup: Setup, browser: Browser, watcher: Watcher, daemon: subprocess.Popen[bytes]
) -> None:
    b = browser
    _sign_in(b, setup)
    watcher.wait_for(lambda m: m.topic == "pacer/alice/state" and _body(m).get("time"),
                     timeout=30, what="the retained state")
    b.do("click", selector="nav [data-tab=today]")
    b.do("wait", selector="#sitting .big", timeout=15000)

    b.do("click", selector="nav [data-tab=checkin]")
    b.do("click", selector="[data-level=red]")
    b.do("wait", selector=".explain", text="settle plan")
    b.do("click", selector="input[name=both_legs]")
    b.do("eval", expr="window.scrollTo(0, 0)")
    b.do("screenshot", path=str(SHOTS / "checkin.png"))
    b.do("click", selector="button.send")
    # The advice is on the phone at once, before any reply.
    b.do("wait", selector="#urgent", text="urgent medical", timeout=3000)
    b.do("wait", selector=".reply.ok", timeout=15000)

    reply = watcher.wait_for(_is_reply, what="the daemon's reply to the app")
    assert _body(reply) == {"ok": True}
    event = watcher.wait_for(lambda m: m.topic == "pacer/alice/event"
                             and _body(m).get("type") == "symptom", what="the symptom event")
    assert _body(event)["level"] == "red"
    assert _body(event)["red_flags"] == ["both_legs"]
    flag = watcher.wait_for(lambda m: m.topic == "pacer/alice/prompt"
                            and _body(m)["kind"] == "red_flag", what="the red_flag prompt")
    assert _body(flag)["level"] == "urgent"
    b.do("click", selector="nav [data-tab=prompts]")
    b.do("wait", selector=f'[data-prompt="{_body(flag)["id"]}"]', timeout=10000)
    assert not [x for x in b.do("logs") if x.startswith("pageerror")]


STATE: dict[str, Any] = {
    "v": 1, "type": "state", "user": "alice", "time": "2026-11-23T14:20:00+11:00",
    "steps_today": 3120, "sitting_min": 22, "sedentary_min_today": 310, "posture": "sitting",
    "plan": {"phase": "progressing", "quota": 4400, "floor": 2200, "ceiling": 5280,
             "achievement": 0.71},
    "walks": 1, "alert": False, "dnd_until": None, "devices": [],
}
WEEK: dict[str, Any] = {
    "v": 1, "type": "summary", "period": "week", "user": "alice", "week": "2026-W47",
    "days": [], "boom_bust_cycles": 0, "cv_daily_steps_14d": 0.18, "adherence": 0.7,
    "plan_changes": [
        {"time": "2026-11-16T07:30:00+11:00", "by": "pacer",
         "why": "steady week: 5 days within the band, 7 valid days",
         "set": {"plan.quota": 4400}},
        {"time": "2026-11-18T10:05:00+11:00", "by": "physio",
         "why": "sitting is the main trigger: shorter breaks", "set": {"sitting.limit_min": 30}},
    ],
}
DAY: dict[str, Any] = {
    "v": 1, "type": "summary", "period": "day", "user": "alice", "date": "2026-11-22",
    "final": True, "steps": 4210, "walks": 2, "walk_min": 14,
    "breaks": {"prompted": 5, "taken": 3, "natural": 20, "ignored": 1, "snoozed": 1,
               "dismissed": 0, "median_response_min": 4},
}


def test_today_shows_the_bout_the_band_the_walks_and_why_the_plan_changed(
    setup: Setup, browser: Browser, watcher: Watcher
) -> None:
    """The retained state and weekly summary as the daemon publishes them
    (interfaces.md sections 5 and 6), mid-afternoon of a progressing week."""
    watcher.publish("pacer/alice/state", STATE, retain=True)
    watcher.publish("pacer/alice/summary/week", WEEK, retain=True)
    watcher.publish("pacer/alice/summary/day", DAY, retain=True)
    b = browser
    _sign_in(b, setup)
    b.do("click", selector="nav [data-tab=today]")
    b.do("wait", selector="#steps", text="3,120")
    assert "of 4,400" in b.do("text", selector="#steps")
    assert "Within today's plan (2,200 to 5,280)" in b.do("text", selector="#steps")
    sitting = b.do("text", selector="#sitting")
    assert "22 min" in sitting
    assert "30 min" in sitting  # the physiotherapist's limit, not the config's 15
    assert "1 of 3" in b.do("text", selector="#walks")
    assert b.do("count", selector="#walks .dot.done") == 1
    plan = b.do("text", selector="#plan")
    assert "Building up" in plan
    assert "shorter breaks" in plan
    assert "steady week" in plan
    assert "Day 2026-11-22: 4,210 steps, 2 walks, 3 of 5 movement breaks taken" in plan
    b.do("screenshot", path=str(SHOTS / "today.png"))

    # Installable: the service worker is active and has cached the app shell.
    assert b.do("eval", expr="navigator.serviceWorker.ready.then(r => !!r.active)") is True
    cached = b.do("eval", expr="caches.keys().then(k => Promise.all(k.map(n => caches.open(n)"
                               ".then(c => c.keys())))).then(l => l.flat().map(r => r.url))")
    assert any(u.endswith("/app.js") for u in cached)
    assert any(u.endswith("/manifest.webmanifest") for u in cached)
    manifest = b.do("eval", expr="fetch('manifest.webmanifest').then(r => r.json())")
    assert manifest["display"] == "standalone"
    assert {i["sizes"] for i in manifest["icons"]} >= {"192x192", "512x512"}

    # A red report turns the plan into a settle plan: 3 walks, breaks at 30 min.
    settling = {**STATE, "plan": {**STATE["plan"], "phase": "settling", "quota": 2640,
                                  "floor": 1320, "ceiling": 3168}}
    watcher.publish("pacer/alice/state", settling, retain=True)
    b.do("wait", selector="#plan", text="Settling after a flare")
    assert "Above today's upper limit" not in b.do("text", selector="#steps")
