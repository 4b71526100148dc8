"""Commands arriving over MQTT (interfaces.md sections 6 and 7): which topic
means what, who may change a plan, and what goes on the audit trail.

Pure functions; the daemon applies the parsed command to the engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pacer.contract.commands import COMMAND_KINDS, ParsedCommand, parse_command
from pacer.contract.topics import CMD, command_kind
from pacer.engine.model import Ack, Command, Dnd, PlanChange, Symptom
from pacer.errors import CommandRejected


def read_command(topic: str, payload: bytes, *, plan_editors: Sequence[str]) -> ParsedCommand:
    """The command a message on ``<prefix>/<user>/cmd/<kind>`` carries.

    Raises ``CommandRejected`` with a message for the sender."""
    kind = command_kind(topic)
    if kind not in COMMAND_KINDS:
        raise CommandRejected(
            f"unknown command {kind!r}; the command topics are "
            + ", ".join(f"{CMD}/{k}" for k in COMMAND_KINDS)
        )
    parsed = parse_command(kind, payload)
    cmd = parsed.command
    if isinstance(cmd, PlanChange) and cmd.by not in plan_editors:
        raise CommandRejected(
            f"{cmd.by!r} may not change this plan: only the plan editors listed in the "
            "daemon's config ([mqtt] plan_editors) may"
        )
    return parsed


def event_type(cmd: Command) -> str:
    return {Ack: "ack", Symptom: "symptom", Dnd: "dnd", PlanChange: "plan_changed"}[type(cmd)]


def audit_event(cmd: Command, *, user: str, time: str, cmd_id: str | None) -> dict[str, Any]:
    """What the event topic says about a command that was applied."""
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
