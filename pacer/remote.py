"""``pacer symptom``, ``pacer ack``, ``pacer dnd``, ``pacer day``, ``pacer
exercise``: the commands a phone sends,
from the command line, over MQTT as the config's user; and ``pacer alert
clear`` on the daemon's own machine, through its store.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import json
import logging
import time
import uuid
from pathlib import Path
from typing import Any

from pacer.config import Config, load_config
from pacer.contract.commands import parse_command
from pacer.contract.topics import Topics
from pacer.engine.safety import tier_of
from pacer.engine.texts import red_flag
from pacer.errors import BadInput, PacerError
from pacer.mqtt.client import MqttLink
from pacer.store import Store

log = logging.getLogger(__name__)

REPLY_WAIT_S = 10.0
LOCAL_WAIT_S = 5.0
RETRY_KEEP_S = 15 * 60  # a command sent again within this long is the same command
PENDING_FILE = "pacer-cli-pending.json"


def _pending(config: Config) -> tuple[Path, dict[str, Any]]:
    """The file of commands sent without an answer yet (next to the daemon's
    store: the command line runs on the daemon's machine), and what it holds
    (nothing when it is missing or damaged)."""
    path = config.storage.path.parent / PENDING_FILE
    try:
        pending = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return path, {}
    return path, pending if isinstance(pending, dict) else {}


def _key(config: Config, kind: str, payload: dict[str, Any]) -> str:
    return json.dumps([config.user.id, kind, payload], sort_keys=True)


def command_id(config: Config, kind: str, payload: dict[str, Any], now: float) -> str:
    """The id a command is sent with. A command that got no reply may have
    been applied: sent again (the same kind and words, soon after), it keeps
    its id, so the daemon answers it without applying it twice."""
    key = _key(config, kind, payload)
    path, pending = _pending(config)
    fresh = {k: v for k, v in pending.items()
             if isinstance(v, list) and len(v) == 2 and now - float(v[1]) < RETRY_KEEP_S}
    if key in fresh:
        return str(fresh[key][0])
    cmd_id = f"cli-{uuid.uuid4().hex[:16]}"
    fresh[key] = [cmd_id, now]
    try:
        path.write_text(json.dumps(fresh), encoding="utf-8")
    except OSError as exc:
        log.warning("cannot keep the command's id for a retry in %s: %s", path, exc.strerror)
    return cmd_id


def command_answered(config: Config, kind: str, payload: dict[str, Any]) -> None:
    """The daemon answered: a later command with the same words is a new one."""
    path, pending = _pending(config)
    if pending.pop(_key(config, kind, payload), None) is not None:
        with contextlib.suppress(OSError):
            path.write_text(json.dumps(pending), encoding="utf-8")


async def send(config: Config, kind: str, payload: dict[str, Any],
               wait: float = REPLY_WAIT_S) -> dict[str, Any]:
    """Publish one command and wait for the daemon's reply."""
    parse_command(kind, payload)  # the same strict check the daemon makes
    user = config.user.id
    topics = Topics(config.mqtt.topic_prefix, user)
    token = uuid.uuid4().hex[:12]
    reply_topic = topics.cli_reply(token)
    link = MqttLink(config.mqtt, client_id=f"pacer-cli-{user}-{token}",
                    # A one-shot sender leaves no retained status behind.
                    status_topic=None, session_expiry_s=0)
    await link.start()
    try:
        await link.wait_connected(REPLY_WAIT_S)
        v5 = config.mqtt.protocol == "5"
        await link.subscribe(reply_topic if v5 else topics.reply)
        body = json.dumps(payload).encode()
        await link.publish(topics.cmd(kind), body, qos=1,
                           response_topic=reply_topic if v5 else None,
                           correlation_data=token.encode() if v5 else None)
        deadline = time.monotonic() + wait
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = await asyncio.wait_for(link.messages.get(), left)
            except TimeoutError:
                break
            if not v5 or msg.correlation_data == token.encode():
                answer: dict[str, Any] = json.loads(msg.payload)
                return answer
        raise PacerError(
            f"no reply from the pacer daemon within {wait:g} s; is `pacer run` running for "
            f"user {user!r} on the broker at {config.mqtt.host}:{config.mqtt.port}?"
        )
    finally:
        await link.stop(publish_offline=False)


def red_flag_advice(config: Config, flags: list[str]) -> str:
    """What the phone shows for these red flags, worked out here and now: the
    advice must not wait for a daemon or a broker that may be down."""
    words = red_flag({"flags": flags, "tier": tier_of(flags)}, config.safety)
    return f"{words.title.upper()}\n{words.text}"


# What a person is told when the daemon took one of these commands.
_TAKEN = {
    ("day", "up"): "ok: pacer knows you are up; your day starts now",
    ("day", "bed"): "ok: pacer knows you are going to bed; no nudges until you are up "
                    "again. Rest well",
    ("exercise", None): "ok: pacer has noted your exercises. Well done",
}


def command_main(config_path: Path, kind: str, payload: dict[str, Any]) -> int:
    parse_command(kind, payload)  # bad arguments say so before any config or broker
    config = load_config(config_path)
    flags = payload.get("red_flags") if kind == "symptom" else None
    if flags:
        parse_command(kind, payload)  # advice only for a report that can be sent
        print(red_flag_advice(config, list(flags)), flush=True)
    sent = {**payload, "id": command_id(config, kind, payload, time.time())}
    try:
        reply = asyncio.run(send(config, kind, sent))
    except PacerError:
        if flags:
            print("Your report did not reach pacer, so your physiotherapist has not been "
                  "told: the advice above still stands.", flush=True)
        raise
    command_answered(config, kind, payload)
    if reply.get("ok"):
        if flags:
            print("ok: pacer has your report and has told your physiotherapist; other "
                  "prompts are paused until you have been seen")
        else:
            print(_TAKEN.get((kind, payload.get("event")), "ok"))
        return 0
    raise BadInput(f"the daemon refused the {kind}: {reply.get('error')}")


def clear_alert_main(config_path: Path, why: str) -> int:
    """Ask the running daemon to clear the open alert, and wait briefly for it."""
    config = load_config(config_path)
    by = f"local:{getpass.getuser()}"
    with Store.open(config.storage.path) as store:
        seq = store.request_add(config.user.id, "clear_alert", {"by": by, "why": why})
        deadline = time.monotonic() + LOCAL_WAIT_S
        while time.monotonic() < deadline:
            result = store.request_result(seq)
            if result is not None:
                if result.get("ok"):
                    print("alert cleared")
                    return 0
                raise BadInput(f"not cleared: {result.get('error')}")
            time.sleep(0.2)
    print("the request is stored; the daemon clears the alert as soon as it runs")
    return 0
