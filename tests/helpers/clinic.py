"""Simulated patients' messages, and a fast publisher, for the clinic's tests
and bench scripts (``bench/clinic_collect.py``).

Payloads have the shapes of interfaces.md section 5 (daily and weekly
summaries), the alert bodies of the engine (v2, and v1 of older daemons), and
the daemon's outcome, ack and ``alert_cleared`` events.
"""

from __future__ import annotations

import json
import random
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from paho.mqtt import client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from pacer.contract.topics import Topics
from pacer.engine.safety import tier_of

Message = tuple[str, bytes, bool]  # topic, payload, retain

TZ = "Australia/Sydney"


def day_summary(user: str, day: date, *, final: bool = True, steps: int = 5120,
                quota: int | None = 4000, flags: Sequence[str] = (), valid: bool = True,
                taken: int = 3, prompted: int = 5) -> dict[str, Any]:
    """A daily summary as the daemon publishes it."""
    plan: dict[str, Any] = {"phase": "baseline", "quota": None, "floor": None,
                            "ceiling": None, "achievement": None}
    if quota is not None:
        plan = {"phase": "progressing", "quota": quota, "floor": quota // 2,
                "ceiling": int(quota * 1.2), "achievement": round(steps / quota, 2)}
    return {
        "v": 1, "type": "summary", "period": "day", "user": user, "date": day.isoformat(),
        "final": final, "timezone": TZ, "valid": valid, "known_min": 840 if valid else 200,
        "steps": steps, "stepping_min": steps // 80, "upright_min": 240,
        "sedentary_min": 539, "sedentary_inferred": False, "sitting_bouts_30": 4,
        "sitting_bouts_60": 1, "longest_sitting_bout_min": 75, "sit_to_stand": 38,
        "walks": 2, "walk_min": 14, "prompts": {"sitting_break": prompted, "walk_reminder": 1},
        "breaks": {"prompted": prompted, "taken": taken, "natural": 20,
                   "ignored": prompted - taken, "snoozed": 0, "dismissed": 0,
                   "median_response_min": 4},
        "plan": plan, "flags": list(flags), "symptoms": [],
    }


def week_summary(user: str, days: Sequence[dict[str, Any]], *, boom_bust: int = 0,
                 adherence: float | None = 0.6) -> dict[str, Any]:
    first = date.fromisoformat(days[0]["date"])
    year, week, _ = first.isocalendar()
    return {"v": 1, "type": "summary", "period": "week", "user": user,
            "week": f"{year}-W{week:02d}", "final": True, "days": list(days),
            "boom_bust_cycles": boom_bust, "cv_daily_steps_14d": 0.2,
            "adherence": adherence, "plan_changes": []}


def outcome_event(user: str, at: datetime, n: int, outcome: str = "taken") -> dict[str, Any]:
    return {"v": 1, "type": "outcome", "user": user, "prompt": f"{user}-p{n}",
            "kind": "sitting_break", "outcome": outcome, "time": at.isoformat(),
            "latency_min": 3 if outcome == "taken" else None, "self_reported": False}


def red_flag_alert(user: str, at: datetime, *, flags: Sequence[str] = ("saddle_numbness",),
                   raised: datetime | None = None, seen: datetime | None = None,
                   v: int = 2) -> dict[str, Any]:
    """The retained red-flag alert: ``at`` the latest report, ``raised`` the
    first (default ``at``), ``seen`` when the person said they had been seen;
    ``v=1`` the older body, without tier, raised or seen."""
    body: dict[str, Any] = {"v": v, "type": "alert", "user": user, "kind": "red_flag",
                            "time": at.isoformat(), "flags": list(flags),
                            "review_suggested": False}
    if v >= 2:
        body.update(raised=(raised or at).isoformat(), tier=tier_of(list(flags)),
                    seen=seen.isoformat() if seen is not None else None)
    return body


def alert_cleared_event(user: str, at: datetime, *, by: str, how: str, why: str,
                        flags: Sequence[str] = ("saddle_numbness",),
                        seen: datetime | None = None,
                        kind: str = "red_flag") -> dict[str, Any]:
    """The event that says who cleared an alert, how and why."""
    red = kind == "red_flag"
    return {"v": 1, "type": "alert_cleared", "user": user, "time": at.isoformat(),
            "kind": kind, "by": by, "how": how, "why": why,
            "flags": list(flags) if red else [], "tier": tier_of(list(flags)) if red else None,
            "seen": seen.isoformat() if seen is not None else None}


def seen_ack_event(user: str, at: datetime, *, resume: bool,
                   prompt: str = "p-red") -> dict[str, Any]:
    """The person's answer to the red-flag prompt: a clinician has seen them
    (and, with ``resume``, told them they can carry on)."""
    return {"v": 1, "type": "ack", "user": user, "time": at.isoformat(), "prompt": prompt,
            "action": "seen", "minutes": None, "resume": resume}


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def patient_day(user: str, day: date, *, events: int = 8, seed: int = 0) -> list[Message]:
    """One simulated day of one patient: prompt outcomes through the day, the
    partial summary at sleep and the final one at rollover."""
    rnd = random.Random(f"{user}-{day}-{seed}")
    tz = ZoneInfo(TZ)
    out: list[Message] = []
    topics = Topics("pacer", user)
    start = datetime(day.year, day.month, day.day, 9, 0, tzinfo=tz)
    for n in range(events):
        at = start + timedelta(minutes=40 * n + rnd.randrange(20))
        outcome = rnd.choice(("taken", "taken", "ignored", "snoozed"))
        out.append((topics.event, encode(outcome_event(user, at, n, outcome)), False))
    steps = rnd.randrange(1500, 9000)
    for final in (False, True):
        out.append((topics.summary("day"),
                    encode(day_summary(user, day, final=final, steps=steps)), True))
    return out


def publish_all(host: str, port: int, messages: Iterable[Message], *, clients: int = 4,
                inflight: int = 100, timeout: float = 300.0,
                username: str | None = None, password: str | None = None) -> int:
    """Publish every message at QoS 1 from ``clients`` paho clients at once, as
    fast as the broker acknowledges them; returns how many were acknowledged."""
    items = list(messages)
    shards = [items[i::clients] for i in range(clients)]
    done = [0] * clients
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            done[i] = _publish_shard(host, port, shards[i], inflight=inflight,
                                     timeout=timeout, username=username, password=password)
        except BaseException as exc:  # reported below, from the caller's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return sum(done)


def _publish_shard(host: str, port: int, shard: list[Message], *, inflight: int,
                   timeout: float, username: str | None, password: str | None) -> int:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"sim-{uuid.uuid4().hex[:10]}",
                         protocol=MQTTProtocolVersion.MQTTv5)
    if username:
        client.username_pw_set(username, password)
    client.max_inflight_messages_set(inflight)
    acked = threading.Semaphore(0)
    window = threading.Semaphore(inflight)
    connected = threading.Event()

    def on_publish(*_a: Any) -> None:
        window.release()
        acked.release()

    client.on_publish = on_publish
    client.on_connect = lambda *_a: connected.set()
    client.connect(host, port, keepalive=30)
    client.loop_start()
    try:
        if not connected.wait(10):
            raise RuntimeError("simulated publisher: no CONNACK")
        for topic, payload, retain in shard:
            window.acquire()
            client.publish(topic, payload, qos=1, retain=retain)
        for _ in shard:
            if not acked.acquire(timeout=timeout):
                raise RuntimeError("simulated publisher: acknowledgements stopped")
        return len(shard)
    finally:
        client.disconnect()
        client.loop_stop()


def users(n: int) -> Iterator[str]:
    for i in range(n):
        yield f"p{i:05d}"


# --- a small clinic's worth of patients, for the web tests and the screenshot ---------

# id -> what the physiotherapist should see first (views.ATTENTION)
CLINIC_PATIENTS: dict[str, str] = {
    "anna-k": "emergency red flag", "ben-o": "review suggested", "chloe-m": "boom-bust cycles",
    "dev-r": "low adherence", "emma-l": "no data", "farid-s": "on track",
    "grace-t": "on track", "ivan-p": "urgent red flag",
}


def _iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def clinic_messages(today: date, days: int = 21) -> list[Message]:
    """Three weeks of a few patients in different states (``CLINIC_PATIENTS``),
    up to ``today`` (whose summary is partial): daily and weekly summaries,
    prompt outcomes of the last two days, the daemons' status words, and red
    flags: anna-k's open emergency (reported twice), ivan-p's open urgent one
    the person said had been seen, and alerts cleared since: farid-s's by an
    older pacer (a v1 alert, no event), grace-t's by the physiotherapist and
    then by the person after being seen, chloe-m's with ``pacer alert clear``."""
    out: list[Message] = []
    tz = ZoneInfo(TZ)
    for n, (user, kind) in enumerate(CLINIC_PATIENTS.items()):
        rnd = random.Random(f"clinic-{user}")
        topics = Topics("pacer", user)
        quota = 3000 + 500 * n
        last = today - timedelta(days=6) if kind == "no data" else today
        stored: list[dict[str, Any]] = []
        for back in range(days - 1, -1, -1):
            day = today - timedelta(days=back)
            if day > last:
                break
            flags: list[str] = []
            steps = int(quota * rnd.uniform(0.85, 1.15))
            prompted, taken = 6, rnd.choice((4, 5, 5, 6))
            if kind == "boom-bust cycles":
                boom = back % 3 == 2
                steps = int(quota * (1.6 if boom else 0.45))
                flags = ["boom"] if boom else (["bust"] if back % 3 == 1 else [])
            elif kind == "low adherence":
                taken = rnd.choice((0, 1, 2))
            elif kind == "review suggested" and back == 0:
                flags = ["review_suggested"]
            if day == today:
                steps //= 2
            body = day_summary(user, day, final=day < today, steps=steps, quota=quota,
                               flags=flags, prompted=prompted, taken=taken)
            stored.append(body)
            out.append((topics.summary("day"), encode(body), True))
            if back <= 1:
                start = datetime(day.year, day.month, day.day, 9, 30, tzinfo=tz)
                for i in range(min(prompted, 3)):
                    outcome = "taken" if i < taken else "ignored"
                    out.append((topics.event, encode(outcome_event(
                        user, start + timedelta(minutes=55 * i), i, outcome)), False))
        weeks: dict[str, list[dict[str, Any]]] = {}
        for body in stored:
            if date.fromisoformat(body["date"]) < today - timedelta(days=today.weekday()):
                weeks.setdefault(_iso_week(date.fromisoformat(body["date"])), []).append(body)
        for wk in weeks.values():
            taken_sum = sum(d["breaks"]["taken"] for d in wk)
            prompted_sum = sum(d["breaks"]["prompted"] for d in wk)
            cycles = 2 if kind == "boom-bust cycles" else 0
            out.append((topics.summary("week"), encode(week_summary(
                user, wk, boom_bust=cycles, adherence=round(taken_sum / prompted_sum, 2))),
                True))
        out += _alerts(user, datetime.combine(today, datetime.min.time(), tz))
        out.append((topics.status,
                    b"offline" if kind == "no data" else b"online", True))
    return out


def _alerts(user: str, midnight: datetime) -> list[Message]:
    """The red flags of ``clinic_messages``: retained alerts as each daemon
    republishes them, the empty one that clears, and the events."""
    topics = Topics("pacer", user)
    alert, event = topics.alert, topics.event
    out: list[Message] = []

    def publish(body: dict[str, Any] | None) -> None:
        out.append((alert, encode(body) if body is not None else b"", True))

    def happened(body: dict[str, Any]) -> None:
        out.append((event, encode(body), False))

    if user == "anna-k":  # open emergency: first report 07:40, again at 08:00
        first, again = midnight + timedelta(hours=7, minutes=40), midnight + timedelta(hours=8)
        publish(red_flag_alert(user, first))
        publish(red_flag_alert(user, again, raised=first,
                               flags=("saddle_numbness", "bladder_bowel_change")))
    elif user == "ivan-p":  # open urgent, seen this morning, not told to carry on
        at, seen = midnight - timedelta(hours=2, minutes=50), midnight + timedelta(hours=9)
        flags = ("severe_night_pain",)
        publish(red_flag_alert(user, at, flags=flags))
        happened(seen_ack_event(user, seen, resume=False))
        publish(red_flag_alert(user, at, flags=flags, seen=seen))
    elif user == "farid-s":  # an older pacer: v1 alert, cleared with no event
        publish(red_flag_alert(user, midnight - timedelta(days=4), v=1))
        publish(None)
    elif user == "grace-t":
        # Ten days ago, cleared by the physiotherapist the next morning ...
        at = midnight - timedelta(days=10) + timedelta(hours=19)
        publish(red_flag_alert(user, at, flags=("fever_or_unwell",)))
        happened(alert_cleared_event(user, at + timedelta(hours=14), by="jo.physio",
                                     how="physiotherapist", flags=("fever_or_unwell",),
                                     why="phoned her: a cold, no red flag"))
        publish(None)
        # ... three days ago, seen and told to carry on by the clinician.
        at = midnight - timedelta(days=3) + timedelta(hours=10)
        seen = at + timedelta(hours=5)
        publish(red_flag_alert(user, at, flags=("both_legs",)))
        happened(seen_ack_event(user, seen, resume=True))
        happened(alert_cleared_event(user, seen, by=user, how="person", flags=("both_legs",),
                                     seen=seen, why="seen by a clinician and told to carry on"))
        publish(None)
    elif user == "chloe-m":  # a review suggestion cleared on the Pi
        at = midnight - timedelta(days=6) + timedelta(hours=20)
        publish({"v": 1, "type": "alert", "user": user, "kind": "review_suggested",
                 "time": at.isoformat(), "reason": {"red_days": 3}})
        publish(None)
        happened(alert_cleared_event(user, at + timedelta(hours=13), by="local:pi",
                                     how="local", kind="review_suggested",
                                     why="talked it through at home"))
    return out
