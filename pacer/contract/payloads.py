"""Payloads (interfaces.md sections 4 to 8): the engine's typed values as the
JSON objects pacer publishes, each with its version ``"v"``, and how they are
encoded. A payload whose shape changes carries the next ``"v"`` (section 8);
a client that knows an older one keeps working on the fields it knows.

Times the engine keeps as minutes are written in the person's time zone
(``tz``), with their UTC offset.
"""

from __future__ import annotations

import json
from datetime import tzinfo
from typing import Any

from pacer.engine.model import (
    Ack,
    AlertCleared,
    Command,
    DayEvent,
    DaySummary,
    Dnd,
    Exercise,
    Outcome,
    PlanChange,
    PlanFigures,
    Prompt,
    RedFlagAlert,
    Reply,
    ReviewAlert,
    Status,
    Summary,
    Symptom,
    WeekSummary,
)
from pacer.timebase import iso, iso_seconds, zone


def encode(payload: dict[str, Any]) -> bytes:
    """The bytes published: compact UTF-8 JSON."""
    # backslashreplace: a lone surrogate echoed from a sender becomes its JSON escape.
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8", "backslashreplace")


# --- out: pacer/<u>/prompt (section 4) -----------------------------------------------


def prompt(p: Prompt, *, user: str, tz: tzinfo) -> dict[str, Any]:
    return {
        "v": 1,
        "type": "prompt",
        "id": p.id,
        "user": user,
        "kind": p.kind,
        "level": p.level,
        "time": iso(p.time, tz),
        "expires": None if p.expires is None else iso(p.expires, tz),
        "title": p.title,
        "text": p.text,
        "actions": list(p.actions),
        "reason": dict(p.reason),
    }


# --- out: pacer/<u>/summary/day and summary/week (section 5) --------------------------


def summary(s: Summary) -> dict[str, Any]:
    body = s.body
    if isinstance(body, DaySummary):
        return day_summary(body)
    return week_summary(body)


def day_summary(d: DaySummary) -> dict[str, Any]:
    """The daily summary, v2 (interfaces.md section 8.5): v1's fields, then the
    waking window, worn time, lying, each walk, dropped prompts, exercise."""
    b = d.breaks
    tz = zone(d.timezone)
    w = d.window
    return {
        "v": 2,
        "type": "summary",
        "period": "day",
        "user": d.user,
        "date": d.date,
        "final": d.final,
        "timezone": d.timezone,
        "valid": d.valid,
        "known_min": d.known_min,
        "steps": d.steps,
        "stepping_min": d.stepping_min,
        "upright_min": d.upright_min,
        "sedentary_min": d.sedentary_min,
        "sedentary_inferred": d.sedentary_inferred,
        "sedentary_inferred_min": d.sedentary_inferred_min,
        "sitting_bouts_30": d.sitting_bouts_30,
        "sitting_bouts_60": d.sitting_bouts_60,
        "longest_sitting_bout_min": d.longest_sitting_bout_min,
        "sit_to_stand": d.sit_to_stand,
        "walks": d.walks,
        "walk_min": d.walk_min,
        "prompts": dict(d.prompts),
        "breaks": {
            "prompted": b.prompted,
            "taken": b.taken,
            "natural": b.natural,
            "ignored": b.ignored,
            "snoozed": b.snoozed,
            "dismissed": b.dismissed,
            "median_response_min": b.median_response_min,
            "ignored_streak": b.ignored_streak,
        },
        "plan": plan_figures(d.plan),
        "flags": list(d.flags),
        "symptoms": [dict(entry) for entry in d.symptoms],
        "window": None if w is None else {
            "opened": None if w.opened is None else iso(w.opened, tz),
            "closed": None if w.closed is None else iso(w.closed, tz),
            "opened_by": w.opened_by,
            "closed_by": w.closed_by,
        },
        "worn_min": d.worn_min,
        "not_worn_min": d.not_worn_min,
        "lying_min": d.lying_min,
        "walk_lengths": list(d.walk_lengths),
        "walk_target_min": d.walk_target_min,
        "prompts_dropped": {key: d.prompts_dropped.get(key, 0) for key in DROP_KEYS},
        "exercise": {"sessions": d.exercise_sessions, "minutes": d.exercise_min},
    }


DROP_KEYS = ("budget", "limits", "dnd", "coverage", "coherence")
"""Why nudges that were due were not sent, as the summary counts them."""


def week_summary(w: WeekSummary) -> dict[str, Any]:
    return {
        "v": 2,
        "type": "summary",
        "period": "week",
        "user": w.user,
        "week": w.week,
        "timezone": w.timezone,
        "days": [day_summary(d) for d in w.days],
        "boom_bust_cycles": w.boom_bust_cycles,
        "cv_daily_steps_14d": w.cv_daily_steps_14d,
        "adherence": w.adherence,
        "plan_changes": [dict(change) for change in w.plan_changes],
        "valid_days": w.valid_days,
        "exercise": {"sessions": w.exercise_sessions, "target": w.exercise_target},
    }


def plan_figures(p: PlanFigures) -> dict[str, Any]:
    """The plan in force, inside a summary or the state."""
    return {"phase": p.phase, "quota": p.quota, "floor": p.floor, "ceiling": p.ceiling,
            "achievement": p.achievement}


# --- out: pacer/<u>/state (section 6) -----------------------------------------------------


def state(s: Status, *, user: str, tz: tzinfo,
          devices: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The retained state; before the engine has taken a minute it has no time
    and no figures of today. ``devices``: the wearables, as the daemon sees them."""
    if s.time is None:
        body: dict[str, Any] = {
            "v": 2, "type": "state", "user": user, "time": None,
            "steps_today": s.steps_today, "sitting_min": s.sitting_min, "posture": s.posture,
            "plan": None, "walks": s.walks, "alert": s.alert, "dnd_until": None,
        }
    else:
        body = {
            "v": 2,
            "type": "state",
            "user": user,
            "time": iso(s.time, tz),
            "steps_today": s.steps_today,
            "sitting_min": s.sitting_min,
            "sedentary_min_today": s.sedentary_min_today,
            "posture": s.posture,
            "plan": None if s.plan is None else plan_figures(s.plan),
            "walks": s.walks,
            "alert": s.alert,
            "dnd_until": None if s.dnd_until is None else iso_seconds(s.dnd_until, tz),
            "last_data": None if s.last_data is None else iso(s.last_data, tz),
            "window": {"open": s.window_open,
                       "since": None if s.window_since is None else iso(s.window_since, tz)},
            "alert_seen": s.alert_seen,
            "budget_left": s.budget_left,
        }
    if devices is not None:
        body["devices"] = devices
    return body


# --- out: pacer/<u>/alert (retained; an empty payload clears it) -------------------------


def alert(body: RedFlagAlert | ReviewAlert, *, user: str) -> dict[str, Any]:
    """The open alert: a red flag (v2: with its tier, first report and when it
    was seen), else a review suggested (v1)."""
    if isinstance(body, RedFlagAlert):
        return {"v": 2, "type": "alert", "user": user, "kind": "red_flag",
                "time": body.time, "raised": body.raised, "flags": list(body.flags),
                "tier": body.tier, "seen": body.seen,
                "review_suggested": body.review_suggested}
    return {"v": 1, "type": "alert", "user": user, "kind": "review_suggested",
            "time": body.time, "reason": dict(body.reason)}


# --- out: pacer/<u>/event (the audit trail) ----------------------------------------------


def outcome(o: Outcome, *, user: str, tz: tzinfo) -> dict[str, Any]:
    """What followed a prompt."""
    return {
        "v": 1,
        "type": "outcome",
        "user": user,
        "prompt": o.prompt_id,
        "kind": o.kind,
        "outcome": o.outcome,
        "time": iso(o.time, tz),
        "latency_min": o.latency_min,
        "self_reported": o.self_reported,
    }


def alert_cleared(c: AlertCleared, *, user: str, tz: tzinfo) -> dict[str, Any]:
    """Who cleared the open alert, how and why."""
    return {
        "v": 1, "type": "alert_cleared", "user": user, "time": iso(c.time, tz),
        "kind": c.kind, "by": c.by, "how": c.how, "why": c.why,
        "flags": list(c.flags), "tier": c.tier, "seen": c.seen,
    }


def event_type(cmd: Command) -> str:
    """The audit event's type for a command."""
    return {Ack: "ack", Symptom: "symptom", Dnd: "dnd", PlanChange: "plan_changed",
            DayEvent: "day", Exercise: "exercise"}[type(cmd)]


def audit_event(cmd: Command, *, user: str, time: str, cmd_id: str | None) -> dict[str, Any]:
    """What the event topic says about a command that was applied (``time``:
    when it arrived, already written)."""
    body: dict[str, Any] = {"v": 1, "type": event_type(cmd), "user": user, "time": time}
    if cmd_id is not None:
        body["command_id"] = cmd_id
    if isinstance(cmd, Ack):
        body.update(prompt=cmd.prompt, action=cmd.action, minutes=cmd.minutes)
        if cmd.action == "seen":
            body["resume"] = cmd.resume
    elif isinstance(cmd, Symptom):
        body.update(level=cmd.level, red_flags=list(cmd.red_flags), pain=cmd.pain)
    elif isinstance(cmd, Dnd):
        body.update(minutes=cmd.minutes)
    elif isinstance(cmd, DayEvent):
        body.update(event=cmd.event)
    elif isinstance(cmd, Exercise):
        body.update(minutes=cmd.minutes, what=cmd.what)
    else:
        body.update(by=cmd.by, why=cmd.why, set=dict(cmd.set), clear_alert=cmd.clear_alert)
        if cmd.message is not None:
            body["message"] = cmd.message
    return body


# --- out: replies to commands (section 7.2) ----------------------------------------------


def reply(r: Reply) -> dict[str, Any]:
    """The answer to a command the engine took or refused."""
    return {"ok": True} if r.ok else refusal(r.error)


def refusal(error: str | None) -> dict[str, Any]:
    """The answer to a command refused, saying what is wrong, for a person."""
    return {"ok": False, "error": error}


# --- the phone app's app-config.json -----------------------------------------------------


def app_config(*, user: str | None, broker_url: str | None, rules: dict[str, Any],
               safety: dict[str, Any], topics: dict[str, Any]) -> dict[str, Any]:
    """What the phone app reads at start: no secrets, only what its screens
    need, and its topics (``topics.app_topics``)."""
    return {"v": 1, "user": user, "broker_url": broker_url, "rules": rules, "safety": safety,
            "topics": topics}
