"""The phone app in a real browser: headless Chromium (Playwright) against a
private mosquitto with a websockets listener, the real ACL and passwords, a
running ``pacer run`` on a replay device at 120x (none for the red-flag
tests, so that nothing there can wait on its reply), and ``pacer app`` serving
the built app. The phone-size screenshots land in pacer/app/screenshots/ when
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
from helpers import REPO
from helpers.app import Browser, browser_missing
from helpers.browser import screenshot_dir
from helpers.daemon import stop_process
from helpers.mqtt import Collector, Received

from pacer.app.bundle import DIST_DIR
from pacer.engine.safety import FLAGS, first_line, said
from pacer.mqtt.broker import PrivateBroker, free_port

ROOT = REPO
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
    # The shipped rules, so the screenshots show what a person gets (a break
    # after 40 minutes); only the repeat comes sooner than its 15 minutes, so
    # that the snooze test can tell a snoozed prompt from a repeated one.
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
repeat_min = 5

[mqtt]
url = "{broker.url}"
username = "alice"
password_file = "password"

[storage]
path = "pacer.sqlite3"
""", encoding="utf-8")
    return cfg


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
            stop_process(app)


@pytest.fixture
def browser(setup: Setup) -> Iterator[Browser]:
    with Browser(setup.tmp / "browser.log") as b:
        yield b


@pytest.fixture
def watcher(setup: Setup) -> Iterator[Collector]:
    w = Collector(setup.broker.host, setup.broker.port, "pacer/alice/#", username="alice",
                  password=PASSWORD)
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
    stop_process(proc)


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


# Scrolls the element to the top, then to the bottom of the screen, and asks
# each time whether it is what lies at its first and last line's middle (not the
# sticky header or the fixed tab bar over it).
_UNCOVERED = """(sel => {
  const el = document.querySelector(sel);
  const hit = (y) => {
    const r = el.getBoundingClientRect();
    const found = document.elementFromPoint(r.left + r.width / 2, y(r));
    return found !== null && el.contains(found);
  };
  el.scrollIntoView({block: 'start'});
  const start = hit((r) => r.top + 4);
  el.scrollIntoView({block: 'end'});
  return {start, end: hit((r) => r.bottom - 4)};
})"""


def _uncovered(b: Browser, selector: str) -> Any:
    return b.do("eval", expr=f"{_UNCOVERED}({json.dumps(selector)})")


def _is_reply(m: Received) -> bool:
    return m.topic.startswith("pacer/alice/reply/app-")


def test_prompt_appears_and_snooze_holds_the_next_one(
    setup: Setup, browser: Browser, watcher: Collector, daemon: subprocess.Popen[bytes]
) -> None:
    b = browser
    _sign_in(b, setup)
    first = watcher.first(lambda m: m.topic == "pacer/alice/prompt"
                          and _body(m)["kind"] == "sitting_break", timeout=60,
                          what="the first sitting prompt")
    prompt = _body(first)
    reason = prompt["reason"]
    assert isinstance(reason, dict)
    assert reason["limit_min"] == 40  # the default, as the screenshot shows it
    card = f'[data-prompt="{prompt["id"]}"]'
    b.do("wait", selector=card, timeout=10000)
    assert "movement break" in b.do("text", selector=card)
    b.do("screenshot", path=str(SHOTS / "prompt.png"))
    b.do("click", selector=f"{card} [data-action=snooze]")
    b.do("wait", selector=f"{card} .reply.ok", timeout=15000)
    assert "pacer confirmed" in b.do("text", selector=f"{card} .reply")

    reply = watcher.first(_is_reply, what="the daemon's reply to the app")
    assert _body(reply) == {"ok": True}
    assert reply.correlation_data  # the app matched it by its correlation data
    ack = watcher.first(lambda m: m.topic == "pacer/alice/event"
                        and _body(m).get("type") == "ack", what="the ack event")
    assert _body(ack)["action"] == "snooze"
    assert _body(ack)["prompt"] == prompt["id"]
    assert _body(ack)["minutes"] == 15
    acked_at = datetime.fromisoformat(str(_body(ack)["time"]))

    # Without the snooze a repeat would come every 5 minutes; with it the next
    # sitting prompt waits until the 15 minutes are over.
    nxt = watcher.first(lambda m: m.topic == "pacer/alice/prompt"
                        and _body(m)["kind"] == "sitting_break"
                        and _body(m)["id"] != prompt["id"], timeout=40,
                        what="the sitting prompt after the snooze")
    assert datetime.fromisoformat(str(_body(nxt)["time"])) >= acked_at + timedelta(minutes=15)
    b.do("wait", selector=f'[data-prompt="{_body(nxt)["id"]}"]', timeout=10000)
    assert not [x for x in b.do("logs") if x.startswith("pageerror")]


def _today(b: Browser, setup: Setup, watcher: Collector) -> None:
    """Signed in, on the Today tab once the daemon's retained state is out."""
    _sign_in(b, setup)
    watcher.first(lambda m: m.topic == "pacer/alice/state" and _body(m).get("time"),
                  timeout=30, what="the retained state")
    b.do("click", selector="nav [data-tab=today]")


def test_red_check_in_shows_urgent_advice_and_reaches_the_daemon(
    setup: Setup, browser: Browser, watcher: Collector, daemon: subprocess.Popen[bytes]
) -> None:
    b = browser
    _today(b, setup, watcher)
    b.do("wait", selector="#sitting .big", timeout=15000)

    b.do("click", selector="nav [data-tab=checkin]")
    b.do("click", selector="[data-level=red]")
    b.do("wait", selector=".explain", text="settle plan")
    b.do("click", selector="input[name=both_legs]")
    b.do("click", selector="button.send")
    # The advice is on the phone at once, whatever the daemon replies.
    b.do("wait", selector="#advice", text="Call 999 or go to the emergency department now",
         timeout=3000)
    b.do("wait", selector=".reply.ok", timeout=15000)
    assert b.do("count", selector='#advice a[href="tel:999"]') == 1

    reply = watcher.first(_is_reply, what="the daemon's reply to the app")
    assert _body(reply) == {"ok": True}
    event = watcher.first(lambda m: m.topic == "pacer/alice/event"
                          and _body(m).get("type") == "symptom", what="the symptom event")
    assert _body(event)["level"] == "red"
    assert _body(event)["red_flags"] == ["both_legs"]
    flag = watcher.first(lambda m: m.topic == "pacer/alice/prompt"
                         and _body(m)["kind"] == "red_flag", what="the red_flag prompt")
    assert _body(flag)["level"] == "urgent"
    b.do("click", selector="nav [data-tab=prompts]")
    b.do("wait", selector=f'[data-prompt="{_body(flag)["id"]}"]', timeout=10000)
    assert not [x for x in b.do("logs") if x.startswith("pageerror")]


EMERGENCY_FIRST = ("Call 999 or go to the emergency department now. "
                   "Do not wait for a GP or physiotherapist appointment.")
NOT_A_DIAGNOSIS = "pacer cannot diagnose anything; this advice is based on what you reported."

# Is the check-in's Send button on the screen, above the tabs, as it stands?
SEND_IN_REACH = """(() => {
  const send = document.querySelector('.sendbar button.send').getBoundingClientRect();
  const nav = document.querySelector('nav').getBoundingClientRect();
  return send.top >= 0 && send.bottom <= nav.top && send.height >= 48;
})()"""


def _checkin(b: Browser) -> None:
    b.do("click", selector="nav [data-tab=checkin]")
    b.do("wait", selector=".flags-emergency input")


def test_the_check_in_asks_the_fourteen_questions_emergency_first_with_send_in_reach(
    setup: Setup, browser: Browser, watcher: Collector
) -> None:
    """No daemon runs: the advice cannot be waiting on its reply."""
    b = browser
    _sign_in(b, setup)
    _checkin(b)
    groups = b.do("eval", expr="[...document.querySelectorAll('fieldset.flags')].map(f => "
                               "[f.dataset.tier, [...f.querySelectorAll('input')].map(i => i.name),"
                               " f.innerText])")
    assert [g[0] for g in groups] == ["emergency", "urgent"]
    for tier, names, text in groups:
        flags = [f for f in FLAGS if f.tier == tier]
        assert names == [f.name for f in flags]
        assert all(f.question in text for f in flags)
    assert sum(len(g[1]) for g in groups) == 14

    # Send is in reach at the top, among the questions and at the end, on a phone.
    assert b.do("eval", expr=SEND_IN_REACH) is True
    for where in ("input[name=both_legs]", "input[name=severe_night_pain]",
                  "input[name=history_of_cancer]"):
        b.do("eval", expr=f"document.querySelector('{where}').scrollIntoView({{block: 'center'}})")
        assert b.do("eval", expr=SEND_IN_REACH) is True, where

    b.do("click", selector="[data-level=amber]")
    b.do("click", selector="input[name=both_legs]")
    # An emergency sign puts the call button next to Send at once.
    b.do("wait", selector='.sendbar a.call[href="tel:999"]', timeout=3000)
    b.do("eval", expr="document.getElementById('flags-ask').scrollIntoView()")
    b.do("eval", expr="window.scrollBy(0, -64)")  # below the sticky header
    assert b.do("eval", expr=SEND_IN_REACH) is True
    b.do("screenshot", path=str(SHOTS / "checkin.png"))

    b.do("click", selector="input[name=fever_or_unwell]")  # urgent too: emergency wins
    b.do("click", selector=".sendbar button.send")
    b.do("wait", selector="#advice", text="Call 999", timeout=3000)
    assert b.do("text", selector="#advice .first") == EMERGENCY_FIRST
    assert b.do("eval", expr="document.querySelector('#advice').firstElementChild.className"
                ) == "first"
    assert b.do("count", selector='#advice a.call[href="tel:999"]') == 1
    advice = b.do("text", selector="#advice")
    assert ("You reported pain, tingling, weakness or numbness in both legs and a fever or "
            "feeling generally unwell.") in advice
    assert advice.index(EMERGENCY_FIRST) < advice.index("You reported") < advice.index(
        NOT_A_DIAGNOSIS)
    # In view at the top of the screen, and shown before any reply.
    assert b.do("eval", expr="document.getElementById('advice').getBoundingClientRect().top"
                ) < 150
    sent = watcher.first(lambda m: m.topic == "pacer/alice/cmd/symptom",
                         what="the check-in on the broker")
    assert _body(sent)["red_flags"] == ["both_legs", "fever_or_unwell"]
    assert _body(sent)["level"] == "amber"
    assert not [m for m in watcher.messages if _is_reply(m)]
    assert "Sending" in b.do("text", selector=".sendbar button.send")
    b.do("screenshot", path=str(SHOTS / "advice.png"))

    # Urgent signs only: same-day advice, and no call button.
    b.do("eval", expr="location.reload()")
    b.do("wait", selector=".conn-online", timeout=15000)
    _checkin(b)
    b.do("click", selector="input[name=severe_night_pain]")
    assert b.do("count", selector=".sendbar a.call") == 0
    b.do("click", selector=".sendbar button.send")
    b.do("wait", selector="#advice", text="Get medical advice today", timeout=3000)
    assert b.do("text", selector="#advice .first") == (
        "Get medical advice today: contact NHS 111 or an urgent GP appointment.")
    assert b.do("count", selector="#advice a.call") == 0
    advice = b.do("text", selector="#advice")
    assert "If it gets much worse, call 999." in advice
    assert b.do("count", selector='#advice a[href="tel:999"]') == 1
    assert "You reported pain that does not ease with rest or is much worse at night." in advice
    assert advice.index("You reported") < advice.index(NOT_A_DIAGNOSIS)
    b.do("screenshot", path=str(SHOTS / "advice-urgent.png"))
    assert not [x for x in b.do("logs") if x.startswith("pageerror")]


def _red_flag_prompt(pid: str, tier: str, flags: list[str]) -> dict[str, Any]:
    """A red_flag prompt as the daemon publishes it (interfaces.md section 4)."""
    title = ("Call 999 or go to the emergency department now" if tier == "emergency"
             else "Get medical advice today")
    text = (f"{first_line('emergency' if tier == 'emergency' else 'urgent', '999', 'NHS 111')} "
            f"You reported: {said(flags)}. {NOT_A_DIAGNOSIS}")
    return {"v": 1, "type": "prompt", "id": pid, "user": "alice", "kind": "red_flag",
            "level": "urgent", "time": "2026-11-23T02:05:00+11:00", "expires": None,
            "title": title, "text": text,
            "actions": ["seen"], "reason": {"flags": flags, "tier": tier}}


def _ack(watcher: Collector, pid: str) -> dict[str, object]:
    m = watcher.first(lambda m: m.topic == "pacer/alice/cmd/ack"
                      and _body(m).get("prompt") == pid, what=f"the app's ack of {pid}")
    assert m.response_topic is not None
    assert m.response_topic.startswith("pacer/alice/reply/app-")
    body = _body(m)
    body.pop("id")
    return body


def test_red_flag_prompt_says_call_and_sends_seen(
    setup: Setup, browser: Browser, watcher: Collector
) -> None:
    """What the app publishes for "I've been seen", with or without carrying on
    (the daemon's side is its own tests')."""
    # The retained alert alone (its prompt not here yet) gives the advice too.
    watcher.publish("pacer/alice/alert", {
        "v": 2, "type": "alert", "user": "alice", "kind": "red_flag",
        "time": "2026-11-23T02:05:00+11:00", "raised": "2026-11-23T02:05:00+11:00",
        "flags": ["chest_pain"], "tier": "emergency", "seen": None,
        "review_suggested": False}, retain=True)
    b = browser
    _sign_in(b, setup)
    b.do("wait", selector="#alert", text="Call 999 or go to the emergency department now")
    assert b.do("count", selector='#alert a.call[href="tel:999"]') == 1
    watcher.publish("pacer/alice/prompt", _red_flag_prompt("p-em", "emergency", ["chest_pain"]))
    card = '[data-prompt="p-em"]'
    b.do("wait", selector=card, timeout=10000)
    assert b.do("count", selector="#alert a.call") == 0  # the prompt's is enough
    assert "Call 999 or go to the emergency department now" in b.do("text", selector=card)
    assert b.do("count", selector=f'{card} a.call[href="tel:999"]') == 1
    assert b.do("eval", expr=f"[...document.querySelectorAll('{card} .actions button')]"
                             ".map(x => x.innerText)") == [
        "I've been seen", "I was seen and told I can carry on"]
    b.do("screenshot", path=str(SHOTS / "red-flag-prompt.png"))
    b.do("click", selector=f"{card} [data-action=seen]")
    assert _ack(watcher, "p-em") == {"prompt": "p-em", "action": "seen", "resume": False}
    b.do("wait", selector=f"{card} .reply.wait")

    watcher.publish("pacer/alice/prompt", _red_flag_prompt("p-ur", "urgent", ["fever_or_unwell"]))
    card = '[data-prompt="p-ur"]'
    b.do("wait", selector=card, timeout=10000)
    assert b.do("count", selector=f"{card} a.call") == 0
    b.do("click", selector=f"{card} [data-action=seen-resume]")
    assert _ack(watcher, "p-ur") == {"prompt": "p-ur", "action": "seen", "resume": True}

    # A kind this app does not know still shows, by its title and text.
    watcher.publish("pacer/alice/prompt", {
        "v": 1, "type": "prompt", "id": "p-new", "user": "alice", "kind": "something_new",
        "level": "info", "time": "2026-11-23T09:00:00+11:00", "expires": None,
        "title": "A new kind of prompt", "text": "Its text, as sent.", "actions": ["dismiss"],
        "reason": {}})
    b.do("wait", selector='[data-prompt="p-new"]', text="Its text, as sent.", timeout=10000)
    assert "A new kind of prompt" in b.do("text", selector='[data-prompt="p-new"]')
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
         "why": "a steady week: 5 of 7 days at or near your plan",  # pacer's words
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
    setup: Setup, browser: Browser, watcher: Collector
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
    assert "30 min" in sitting  # the physiotherapist's limit, not the config's 40
    assert "1 of 3" in b.do("text", selector="#walks")
    assert b.do("count", selector="#walks .dot.done") == 1
    plan = b.do("text", selector="#plan")
    assert "Building up" in plan
    assert "shorter breaks" in plan
    assert "steady week" in plan
    assert "Day 2026-11-22: 4,210 steps, 2 walks, 3 of 5 movement breaks taken" in plan
    # The last card clears the tab bar: scrolled to (as a link or a focused
    # field scrolls), "Why it changed" is what a finger there touches.
    assert _uncovered(b, "#why-changed") == {"start": True, "end": True}
    # Scrolled to the end: the plan and why it changed, above the tab bar (the
    # top of Today is in today-taps.png).
    b.do("eval", expr="window.scrollTo(0, document.documentElement.scrollHeight)")
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
    assert "Past the top of today's range" not in b.do("text", selector="#steps")

    # v2 state: the waking day, the wearable's last data and the budget left.
    v2 = {**STATE, "v": 2, "window": {"open": True, "since": "2026-11-23T07:02:00+11:00"},
          "last_data": "2026-11-23T14:19:00+11:00", "budget_left": 6, "alert_seen": False}
    watcher.publish("pacer/alice/state", v2, retain=True)
    b.do("wait", selector="#day-line", text="Your day began at 7:02")
    line = b.do("text", selector="#day-line")
    assert "last data from your wearable at 14:19" in line
    assert "6 reminders left today" in line


# --- v2: "I'm up", "Going to bed", "Done my exercises" (interfaces.md section 8.2) -------


def _command(watcher: Collector, kind: str, n: int) -> tuple[Received, dict[str, object]]:
    """The ``n``-th (from 1) command the app published on cmd/<kind>, and its
    body without its id."""
    topic = f"pacer/alice/cmd/{kind}"

    def sent() -> list[Received]:
        return [m for m in watcher.messages if m.topic == topic]

    watcher.first(lambda _m: len(sent()) >= n, what=f"the app's cmd/{kind} number {n}")
    m = sent()[n - 1]
    assert m.response_topic is not None
    assert m.response_topic.startswith("pacer/alice/reply/app-")
    assert m.correlation_data
    body = _body(m)
    assert isinstance(body.pop("id"), str)  # each tap its own, so a resend counts once
    return m, body


def test_today_taps_send_day_and_exercise_and_show_the_reply(
    setup: Setup, browser: Browser, watcher: Collector
) -> None:
    """No daemon: the test answers as the daemon would, so every reply the app
    can get is shown (ok, refused, and the ids differ tap to tap)."""
    b = browser
    _sign_in(b, setup)
    b.do("click", selector="nav [data-tab=today]")
    # Before any figures: the taps are there, first ("I'm up" is what opens the day).
    b.do("wait", selector="#day [data-day=up]")
    assert "No figures yet" in b.do("text", selector="main")
    assert b.do("eval", expr="[...document.querySelectorAll('#day button')].map(x => "
                             "x.innerText)") == ["I'm up", "Going to bed", "Done my exercises"]

    b.do("click", selector="#day [data-day=up]")
    up, body = _command(watcher, "day", 1)
    assert body == {"event": "up"}
    b.do("wait", selector="#day [data-day=up]", text="Sending")
    assert b.do("count", selector="#day button:disabled") == 3  # one tap at a time
    watcher.answer(up, {"ok": True})
    b.do("wait", selector="#day .reply.ok", text="Good to know you're up")
    assert b.do("count", selector="#day button:disabled") == 0

    b.do("click", selector="#day [data-day=bed]")
    bed, body = _command(watcher, "day", 2)
    assert body == {"event": "bed"}
    assert _body(bed)["id"] != _body(up)["id"]
    watcher.answer(bed, {"ok": False, "error": "pacer is starting up; try again"})
    b.do("wait", selector="#day .reply.bad",
         text="pacer did not take it: pacer is starting up; try again")
    assert b.do("count", selector="#day .reply") == 1  # only the latest reply

    b.do("click", selector="#day [data-day=exercise]")
    done, body = _command(watcher, "exercise", 1)
    assert body == {}  # one tap: neither minutes nor what
    watcher.answer(done, {"ok": True})
    b.do("wait", selector="#day .reply.ok", text="Well done. pacer has noted your exercises.")

    # With figures (v2 state: the window is open), the taps stay, bed leading.
    watcher.publish("pacer/alice/state", {**STATE, "v": 2,
                                          "window": {"open": True,
                                                     "since": "2026-11-23T07:05:00+11:00"}},
                    retain=True)
    b.do("wait", selector="#steps", text="3,120")
    assert b.do("count", selector="#day [data-day=up].quiet") == 1
    assert b.do("count", selector="#day [data-day=bed].quiet") == 0
    assert b.do("eval", expr="document.getElementById('day').getBoundingClientRect().top"
                ) < b.do("eval", expr="document.getElementById('sitting')"
                                      ".getBoundingClientRect().top")
    b.do("screenshot", path=str(SHOTS / "today-taps.png"))
    assert not [x for x in b.do("logs") if x.startswith("pageerror")]


def test_im_up_reaches_the_daemon(
    setup: Setup, browser: Browser, watcher: Collector, daemon: subprocess.Popen[bytes]
) -> None:
    """Through the real daemon; what the engine does with it is its own tests'."""
    b = browser
    _today(b, setup, watcher)
    b.do("click", selector="#day [data-day=up]")
    reply = watcher.first(_is_reply, what="the daemon's reply to the app")
    if "could not process" in str(_body(reply).get("error")):
        pytest.skip("the engine does not take day events yet")
    assert _body(reply) == {"ok": True}
    b.do("wait", selector="#day .reply.ok", text="Good to know you're up", timeout=15000)
    assert not [x for x in b.do("logs") if x.startswith("pageerror")]
