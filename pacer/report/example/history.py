"""Build a realistic four-week history in a store, through the real CLI.

Four weeks from Monday 9 March 2026 in Europe/London (so the clocks go forward
on day 21), with what a physiotherapist meets in practice:

- one day the watch stayed at home (no data) and one day it ran flat at noon
  (not a valid day);
- a week on a wrist watch that only counts steps (sitting is inferred);
- evening traffic-light check-ins, a red day (settle plan; its pain of 7 after
  two days of 1 is v2's rising pain: review suggested), pain rising three days
  running later (while that suggestion is still open) and one red flag, cleared
  the next morning;
- a physiotherapist's plan change with who and why;
- snoozed and "done" answers to some sitting prompts.

The acks need the prompt times, so the minutes are replayed twice: once to
see the prompts, once with the answers, into the store.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from pacer import simulate
from pacer.engine.model import Posture, Symptom
from pacer.timebase import iso, minute_of

START = date(2026, 3, 9)  # a Monday
DAYS = 28
TIMEZONE = "Europe/London"
USER = "alice"
SEED = 20260309
PHYSIO = "physio.jones"

NO_DATA_DAY = 10  # the watch stayed at home
FLAT_DAY = 17  # the battery ran out at noon
WRIST_DAYS = range(14, 21)  # a step-only watch: sitting inferred
RED_DAY = 6  # a flare: settle plan
RISING_PAIN = {21: 4, 22: 6, 23: 7}  # pain rising three days running
RED_FLAG_DAY = 25  # a red flag at 11:20, cleared by the physiotherapist next morning
PLAN_CHANGE_DAY = 13

_POSTURE_WORD = {
    Posture.SEDENTARY: "sitting",
    Posture.LYING: "lying",
    Posture.UPRIGHT: "standing",
    Posture.STEPPING: "walking",
}


@dataclass(frozen=True, slots=True)
class History:
    """The files of one example history."""

    minutes: Path
    events: Path
    config: Path
    store: Path
    first: date
    last: date


def _local(day_index: int, clock: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(START + timedelta(days=day_index), clock, tzinfo=tz)


def write_minutes(path: Path) -> None:
    """The minutes CSV: posture from a thigh sensor, except on the wrist-watch
    days (posture left empty: derived from steps); unknown minutes have no row."""
    tz = ZoneInfo(TIMEZONE)
    flat_from = minute_of(_local(FLAT_DAY, time(12, 0), tz))
    flat_to = minute_of(_local(FLAT_DAY + 1, time(4, 0), tz))
    lines = ["time,steps,posture"]
    for epoch in simulate.minutes(START, DAYS, TIMEZONE, SEED):
        day = (to_date(epoch.start, tz) - START).days
        if epoch.posture is Posture.UNKNOWN or day == NO_DATA_DAY:
            continue
        if flat_from <= epoch.start < flat_to:
            continue
        posture = "" if day in WRIST_DAYS else _POSTURE_WORD[epoch.posture]
        lines.append(f"{iso(epoch.start, tz)},{epoch.steps},{posture}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def to_date(minute: int, tz: ZoneInfo) -> date:
    """The pacing day (from 04:00) of a minute."""
    local = datetime.fromtimestamp(minute * 60, tz)
    return (local - timedelta(hours=4)).date()


def _symptoms(tz: ZoneInfo) -> list[tuple[float, dict[str, object]]]:
    out: list[tuple[float, dict[str, object]]] = []
    for ev in simulate.symptom_events(START, DAYS, TIMEZONE, SEED):
        assert isinstance(ev.command, Symptom)
        day = (to_date(int(ev.at // 60), tz) - START).days
        if day in RISING_PAIN or day in (RED_DAY, RED_FLAG_DAY):
            continue  # scripted below
        body: dict[str, object] = {"type": "symptom", "level": ev.command.level}
        if ev.command.pain is not None:
            body["pain"] = min(ev.command.pain, 4)
        out.append((ev.at, body))
    for day, pain in RISING_PAIN.items():
        at = _local(day, time(20, 15), tz).timestamp()
        out.append((at, {"type": "symptom", "level": "amber", "pain": pain}))
    out.append((_local(RED_DAY, time(19, 40), tz).timestamp(),
                {"type": "symptom", "level": "red", "pain": 7}))
    out.append((_local(RED_FLAG_DAY, time(11, 20), tz).timestamp(),
                {"type": "symptom", "level": "red", "pain": 8,
                 "red_flags": ["severe_night_pain"]}))
    return out


def _physio(tz: ZoneInfo) -> list[tuple[float, dict[str, object]]]:
    return [
        (_local(PLAN_CHANGE_DAY, time(9, 5), tz).timestamp(),
         {"type": "plan", "set": {"sitting.limit_min": 30}, "by": PHYSIO,
          "why": "sitting aggravates her back: shorter bouts, agreed at review"}),
        (_local(RED_FLAG_DAY + 1, time(9, 30), tz).timestamp(),
         {"type": "plan", "clear_alert": True, "by": PHYSIO,
          "why": "seen in clinic: night pain from a poor mattress, no red flag"}),
    ]


Timed = list[tuple[float, dict[str, object]]]


def _acks(prompt_lines: list[dict[str, object]], seed: int) -> Timed:
    """Answers to some sitting prompts a minute after they arrive: about one in
    six snoozed, one in eight answered "done"."""
    rng = random.Random(seed)
    out: list[tuple[float, dict[str, object]]] = []
    for p in prompt_lines:
        if p.get("type") != "prompt" or p.get("kind") != "sitting_break":
            continue
        r = rng.random()
        at = datetime.fromisoformat(str(p["time"])).timestamp() + 50
        if r < 0.17:
            out.append((at, {"type": "ack", "prompt": "last", "action": "snooze",
                             "minutes": 15}))
        elif r < 0.30:
            out.append((at, {"type": "ack", "prompt": "last", "action": "done"}))
    return out


def write_events(path: Path, items: list[tuple[float, dict[str, object]]]) -> None:
    tz = ZoneInfo(TIMEZONE)
    lines = []
    for at, body in sorted(items, key=lambda item: item[0]):
        stamp = datetime.fromtimestamp(at, tz).isoformat(timespec="seconds")
        lines.append(json.dumps({"time": stamp, **body}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def pacer_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The installed command line, as a clinic runs it."""
    return subprocess.run(
        [sys.executable, "-m", "pacer", "--log-level", "WARNING", *args],
        capture_output=True, text=True, check=True, timeout=600,
    )


def build(folder: Path) -> History:
    """Write the example's minutes, events and config into ``folder`` and
    replay them into ``folder/pacer.sqlite3``."""
    folder.mkdir(parents=True, exist_ok=True)
    tz = ZoneInfo(TIMEZONE)
    minutes = folder / "minutes.csv"
    events = folder / "events.jsonl"
    config = folder / "pacer.toml"
    store = folder / "pacer.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        store.with_name(store.name + suffix).unlink(missing_ok=True)
    config.write_text(
        f'[user]\nid = "{USER}"\ntimezone = "{TIMEZONE}"\n\n[storage]\npath = "{store.name}"\n',
        encoding="utf-8",
    )
    write_minutes(minutes)
    base = _symptoms(tz) + _physio(tz)
    write_events(events, base)
    first = pacer_cli("replay", "--input", str(minutes), "--events", str(events),
                      "--config", str(config), "--json")
    seen = [json.loads(line) for line in first.stdout.splitlines() if line.strip()]
    write_events(events, base + _acks(seen, SEED))
    pacer_cli("replay", "--input", str(minutes), "--events", str(events),
              "--config", str(config), "--store", str(store))
    return History(minutes, events, config, store, START, START + timedelta(days=DAYS - 1))
