"""``pacer status``: what the daemon on this machine is doing, from its store.

Everything shown is what the daemon last recorded, with its age: its
heartbeat (written every ``HEARTBEAT_S``, when its MQTT link connects or
drops, and once more as it stops, saying so) and the engine state stored
with each minute. What the store cannot vouch for is said to be unknown
rather than guessed: a daemon that went silent without saying it stopped
may have crashed, so its links are shown as they were when last seen.
"""

from __future__ import annotations

import time
from datetime import tzinfo
from pathlib import Path
from typing import Any

from pacer.config import load_config
from pacer.errors import BadInput
from pacer.store import Store
from pacer.timebase import iso, to_datetime, zone

STALE_S = 60.0  # a heartbeat older than this: the daemon is not running


def ago(seconds: float) -> str:
    """An age for a person: '8 s', '2 min', '3 h', '2 days'."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 120 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"


def _link(connected: bool, up: str, down: str, liveness: str, age: str) -> str:
    """A link's state as the daemon last recorded it. ``liveness`` is
    running, stopped or silent (no heartbeat for a while, no stop recorded)."""
    if liveness == "running":
        return up if connected else down
    if liveness == "stopped":
        return f"not connected: the daemon stopped {age} ago"
    return f"unknown ({up if connected else down} when last seen {age} ago)"


def _daemon_lines(info: dict[str, Any], age_s: float) -> list[str]:
    age = ago(age_s)
    if info.get("running", True) is False:
        liveness, state = "stopped", f"not running (stopped {age} ago)"
    elif age_s < STALE_S:
        liveness, state = "running", f"running (heartbeat {age} ago)"
    else:
        liveness = "silent"
        state = f"not running (last seen {age} ago, its stop not recorded)"
    speed = f" ({info['speed']:g}x)" if info.get("speed", 1) != 1 else ""
    lines = [f"daemon: {state}, pid {info['pid']}, pacer {info['version']}, "
             f"clock {info['clock']}{speed} at that heartbeat"]
    broker = info["broker"]
    lines.append(f"broker: {broker['url']}, "
                 + _link(broker["connected"], "connected", "NOT connected", liveness, age))
    for dev in info["devices"]:
        battery = f", battery {dev['battery']}%" if dev.get("battery") is not None else ""
        seen = f", last data {dev['last_data']}" if dev.get("last_data") else ""
        lines.append(f"wearable {dev['name']} ({dev['kind']}): "
                     + _link(dev["connected"], "connected", "not connected", liveness, age)
                     + f"{battery}{seen}")
    if not info["devices"]:
        lines.append("wearables: none configured")
    since = "since start" if liveness == "running" else "in its last run"
    if info.get("commands_refused"):
        lines.append(f"commands refused {since}: {info['commands_refused']}")
    if info.get("commands_rate_limited"):
        lines.append(f"commands refused for coming too fast {since}: "
                     f"{info['commands_rate_limited']}")
    if info.get("mqtt_dropped"):
        lines.append(f"MQTT messages dropped, the incoming queue full: {info['mqtt_dropped']}")
    return lines


def _hhmm(minute: int, tz: tzinfo) -> str:
    return to_datetime(minute, tz).strftime("%H:%M")


def _today_line(state: dict[str, Any], tz: tzinfo) -> str:
    tally = state.get("tally") or {}
    bout = state.get("bout") or {}
    head = f"today ({tally.get('day', '?')}): "
    figures = (f"{tally.get('steps', 0):,} steps, sedentary {tally.get('sedentary_min', 0)} min")
    counts = f"walks {tally.get('walks', 0)}, sitting prompts {tally.get('prompted', 0)}"
    sitting = f"sitting now {bout.get('sedentary_min', 0)} min"
    if "open" not in tally:  # a state with no waking window (version 1)
        return f"{head}{figures}, {sitting}, {counts}"
    opened, closed = tally.get("opened"), tally.get("closed")
    if opened is None:
        return head + "the day has not begun: waiting for you to get up"
    began = f"day began at {_hhmm(opened, tz)}"
    if tally["open"]:
        return f"{head}{began}; {figures}, {sitting}, {counts}"
    ended = f", ended at {_hhmm(closed, tz)}" if closed is not None else ", ended"
    return f"{head}{began}{ended}; {figures}, {counts}"


def status_lines(store: Store, user: str, tz_name: str, now: float) -> list[str]:
    tz = zone(tz_name)
    lines = []
    beat = store.heartbeat(user)
    if beat is None:
        lines.append("daemon: has never run with this store")
    else:
        at, info = beat
        lines.extend(_daemon_lines(info, now - at))
    pending = store.outbox_count()
    lines.append(f"outbox: {pending} message(s) waiting for the broker")
    prompts = store.prompts(user)
    if prompts:
        newest = prompts[-1]
        lines.append(f"last prompt: {newest['kind']} at {iso(newest['time'], tz)} "
                     f"({newest['title']})")
    saved = store.load_state(user)
    if saved is not None:
        _, engine_state = saved
        plan = engine_state.get("plan") or {}
        expects = engine_state.get("next_minute")
        lines.append("engine: " + (f"at {iso(expects, tz)} (the next minute it expects)"
                                   if expects is not None else "no minute taken yet"))
        if engine_state.get("tally"):
            lines.append(_today_line(engine_state, tz))
        else:
            lines.append("today: nothing recorded yet")
        quota = plan.get("quota")
        lines.append(f"plan: {plan.get('phase', 'baseline')}"
                     + (f", quota {quota:,} steps" if quota else ", no quota yet")
                     + (", RED-FLAG ALERT OPEN" if plan.get("alert") else ""))
    return lines


def status_main(config_path: Path) -> int:
    config = load_config(config_path)
    path = config.storage.path
    if not path.exists():
        raise BadInput(f"{path}: no store yet; has `pacer run` been started with this config?")
    with Store.open(path) as store:
        print("\n".join(status_lines(store, config.user.id, config.user.zone_name(),
                                      time.time())))
    return 0
