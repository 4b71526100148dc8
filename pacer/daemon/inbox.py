"""Commands arriving over MQTT (interfaces.md sections 6 and 7): which topic
means what, and who may change a plan (what goes on the audit trail is
``pacer.contract.payloads.audit_event``).

Pure functions; the daemon applies the parsed command to the engine.
"""

from __future__ import annotations

from collections.abc import Sequence

from pacer.contract.commands import COMMAND_KINDS, ParsedCommand, parse_command
from pacer.contract.topics import CMD, command_kind
from pacer.engine.model import PlanChange
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
