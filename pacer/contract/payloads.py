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
    Command,
    Dnd,
    Outcome,
    PlanChange,
    Prompt,
    Reply,
    Symptom,
)
from pacer.timebase import iso


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


def event_type(cmd: Command) -> str:
    """The audit event's type for a command."""
    return {Ack: "ack", Symptom: "symptom", Dnd: "dnd", PlanChange: "plan_changed"}[type(cmd)]


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
    else:
        body.update(by=cmd.by, why=cmd.why, set=dict(cmd.set), clear_alert=cmd.clear_alert)
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
               safety: dict[str, Any]) -> dict[str, Any]:
    """What the phone app reads at start: no secrets, only what its screens need."""
    return {"v": 1, "user": user, "broker_url": broker_url, "rules": rules, "safety": safety}
