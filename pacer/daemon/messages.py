"""Engine outputs as MQTT messages (interfaces.md section 6)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pacer.contract import payloads
from pacer.contract.payloads import encode
from pacer.contract.topics import Topics
from pacer.engine.model import Alert, Outcome, Output, Prompt, Summary
from pacer.store import OutboxMessage


def outbox_for(
    outputs: Iterable[Output],
    *,
    topics: Topics,
    tz: Any,
    real_deadline: Any,
) -> list[OutboxMessage]:
    """``real_deadline(clock_seconds) -> unix seconds`` turns a prompt's expiry
    in the daemon's clock into the wall-clock time the outbox checks."""
    messages = []
    for out in outputs:
        if isinstance(out, Prompt):
            expires_at = None if out.expires is None else real_deadline(out.expires * 60)
            messages.append(
                OutboxMessage(
                    topic=topics.prompt,
                    payload=encode(payloads.prompt(out, user=topics.user, tz=tz)),
                    qos=1,
                    retain=False,
                    expires_at=expires_at,
                    msg_id=out.id,
                )
            )
        elif isinstance(out, Summary):
            messages.append(
                OutboxMessage(
                    topic=topics.summary(out.period),
                    payload=encode(payloads.summary(out)),
                    qos=1,
                    retain=True,
                    msg_id=f"{topics.user}-summary-{out.period}-{out.key}-{out.time}",
                )
            )
        elif isinstance(out, Alert):
            # Retained for the physiotherapist; an empty retained message clears it.
            messages.append(
                OutboxMessage(
                    topic=topics.alert,
                    payload=b"" if out.body is None else encode(
                        payloads.alert(out.body, user=topics.user)),
                    qos=1,
                    retain=True,
                    msg_id=f"{topics.user}-alert-{out.time}",
                )
            )
            if out.cleared is not None:
                # Who cleared it and how, for the physiotherapist's record.
                messages.append(
                    OutboxMessage(
                        topic=topics.event,
                        payload=encode(payloads.alert_cleared(out.cleared, user=topics.user,
                                                              tz=tz)),
                        qos=1,
                        msg_id=f"{topics.user}-alert-cleared-{out.time}",
                    )
                )
        elif isinstance(out, Outcome):
            messages.append(
                OutboxMessage(
                    topic=topics.event,
                    payload=encode(payloads.outcome(out, user=topics.user, tz=tz)),
                    qos=1,
                    msg_id=f"{out.prompt_id}-outcome",
                )
            )
    return messages
