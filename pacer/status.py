"""``pacer status``: what the daemon on this machine is doing, from its store."""

from __future__ import annotations

import time
from pathlib import Path

from pacer.config import load_config
from pacer.errors import BadInput
from pacer.store import Store
from pacer.timebase import iso, zone

STALE_S = 60.0  # a heartbeat older than this: the daemon is not running


def status_lines(store: Store, user: str, tz_name: str, now: float) -> list[str]:
    tz = zone(tz_name)
    lines = []
    beat = store.heartbeat(user)
    if beat is None:
        lines.append("daemon: has never run with this store")
    else:
        at, info = beat
        age = now - at
        state = "running" if age < STALE_S else f"not running (last seen {age / 60:.0f} min ago)"
        lines.append(f"daemon: {state}, pid {info['pid']}, pacer {info['version']}, "
                     f"clock {info['clock']}" + (f" ({info['speed']:g}x)" if info["speed"] != 1
                                                 else ""))
        broker = info["broker"]
        lines.append(f"broker: {broker['url']}, "
                     f"{'connected' if broker['connected'] else 'NOT connected'}")
        for dev in info["devices"]:
            battery = f", battery {dev['battery']}%" if dev.get("battery") is not None else ""
            seen = f", last data {dev['last_data']}" if dev.get("last_data") else ""
            lines.append(f"wearable {dev['name']} ({dev['kind']}): "
                         f"{'connected' if dev['connected'] else 'not connected'}{battery}{seen}")
        if not info["devices"]:
            lines.append("wearables: none configured")
        if info.get("commands_refused"):
            lines.append(f"commands refused since start: {info['commands_refused']}")
        if info.get("commands_rate_limited"):
            lines.append("commands refused for coming too fast since start: "
                         f"{info['commands_rate_limited']}")
        if info.get("mqtt_dropped"):
            lines.append(f"MQTT messages dropped, the incoming queue full: {info['mqtt_dropped']}")
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
        tally = engine_state.get("tally") or {}
        bout = engine_state.get("bout") or {}
        plan = engine_state.get("plan") or {}
        lines.append(
            f"today ({tally.get('day', '?')}): {tally.get('steps', 0):,} steps, sedentary "
            f"{tally.get('sedentary_min', 0)} min, sitting now {bout.get('sedentary_min', 0)} "
            f"min, walks {tally.get('walks', 0)}, sitting prompts {tally.get('prompted', 0)}"
        )
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
