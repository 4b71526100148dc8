"""Helpers for the operations and soak tests: daemon configs, a real sd_notify
socket, minute plans, commands sent as a phone sends them, and the reference
``pacer replay --store`` that a disturbed daemon run is compared with
(``pacer run`` as a process, minutes files and waits are in helpers.daemon).

Every wait here is bounded and waits for a condition; nothing sleeps a fixed
time except where a downtime itself is the scenario.
"""

from __future__ import annotations

import array
import json
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from helpers.daemon import query
from helpers.mqtt import Collector, publish_once
from pacer.engine.model import Epoch, Posture
from pacer.mqtt.broker import PrivateBroker
from pacer.timebase import minute_of

REPO = Path(__file__).resolve().parents[2]
TZ_NAME = "Europe/London"
TZ = ZoneInfo(TZ_NAME)
USER = "alice"
WAIT_S = 20.0  # the default bound of a single wait


# --- minutes files ---------------------------------------------------------------------

def at_local(day: date, hhmm: str, tz: ZoneInfo = TZ) -> int:
    """The engine minute of a local wall-clock time on ``day``."""
    h, m = map(int, hhmm.split(":"))
    return minute_of(datetime(day.year, day.month, day.day, h, m, tzinfo=tz))


def segments(day: date, plan: Iterable[tuple[str, str, int, Posture]],
             tz: ZoneInfo = TZ) -> list[Epoch]:
    """Minutes from (start "HH:MM", end "HH:MM" or "+1HH:MM" for the next day,
    steps per minute, posture) segments, end exclusive."""
    out: list[Epoch] = []
    for start, end, steps, posture in plan:
        a = at_local(day, start, tz)
        b = (at_local(day + timedelta(days=1), end[2:], tz) if end.startswith("+1")
             else at_local(day, end, tz))
        out.extend(Epoch(m, steps, posture, inferred=False) for m in range(a, b))
    return out


def write_config(tmp: Path, broker: PrivateBroker | None, *, csv: Path | None = None,
                 speed: float = 300.0, extra: str = "", port: int | None = None,
                 protocol: str | None = None, timezone: str = TZ_NAME) -> Path:
    """A daemon config in ``tmp`` for the user ``alice`` (by default in
    Europe/London) on a plain broker (``broker``, or a closed ``port``); the
    device is a replay of ``csv`` when given; ``extra`` is TOML appended as is."""
    device = (f'[[devices]]\nkind = "replay"\npath = "{csv.name}"\nspeed = {speed}\n'
              if csv is not None else "")
    url = broker.url if broker is not None else f"mqtt://127.0.0.1:{port}"
    proto = broker.protocol if broker is not None else (protocol or "5")
    cfg = tmp / "pacer.toml"
    cfg.write_text(
        f'[user]\nid = "{USER}"\ntimezone = "{timezone}"\n\n{device}\n'
        f'[mqtt]\nurl = "{url}"\nprotocol = "{proto}"\n\n'
        f'[storage]\npath = "pacer.sqlite3"\n\n{extra}\n',
        encoding="utf-8",
    )
    return cfg


# --- reading a store from outside ----------------------------------------------------------


def scalar(db: Path, sql: str, params: tuple[Any, ...] = (), default: Any = 0) -> Any:
    """The single value a query returns (``default`` while there is no store yet)."""
    rows = query(db, sql, params)
    return rows[0][0] if rows and rows[0][0] is not None else default


def last_minute(db: Path) -> int | None:
    rows = query(db, "SELECT MAX(minute) FROM epochs WHERE user = ?", (USER,))
    return rows[0][0] if rows else None


def stored_minutes(db: Path) -> list[tuple[int, int, str]]:
    return [tuple(r) for r in query(
        db, "SELECT minute, steps, posture FROM epochs WHERE user = ? ORDER BY minute", (USER,))]


def prompts(db: Path) -> list[dict[str, Any]]:
    return [json.loads(p) for (p,) in query(
        db, "SELECT payload FROM prompts WHERE user = ? ORDER BY time, rowid", (USER,))]


def prompt_view(db: Path) -> list[tuple[str, str, int, str]]:
    """(id, kind, time, reason) of every stored prompt, in order."""
    return [(p["id"], p["kind"], p["time"], json.dumps(p["reason"], sort_keys=True))
            for p in prompts(db)]


def outcomes(db: Path) -> list[tuple[str, str, str, int, int | None, int]]:
    return [tuple(r) for r in query(
        db, "SELECT prompt_id, kind, outcome, time, latency_min, self_reported FROM outcomes"
        " WHERE user = ? ORDER BY prompt_id", (USER,))]


def final_days(db: Path) -> dict[str, dict[str, Any]]:
    """The stored final daily summaries by date."""
    return {key: json.loads(p) for key, p in query(
        db, "SELECT key, payload FROM summaries WHERE user = ? AND period = 'day' AND final = 1"
        " ORDER BY key", (USER,))}


def command_times(db: Path) -> dict[str, float]:
    """When the daemon applied each command (by its id), in its clock."""
    out = {}
    for at, payload in query(db, "SELECT time, payload FROM events WHERE user = ?", (USER,)):
        body = json.loads(payload)
        if "command_id" in body:
            out[body["command_id"]] = at
    return out


# --- commands as a phone sends them --------------------------------------------------------


@dataclass
class Phone:
    """Sends commands with an id and a response topic, and waits for the reply."""

    broker: PrivateBroker
    replies: Collector
    sent: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    @classmethod
    def open(cls, broker: PrivateBroker) -> Phone:
        return cls(broker, Collector(broker.host, broker.port, f"pacer/{USER}/reply/#",
                                     protocol=broker.protocol))

    def send(self, kind: str, payload: dict[str, Any], cmd_id: str,
             timeout: float = WAIT_S) -> dict[str, Any]:
        body = {"id": cmd_id, **payload}
        self.sent.append((cmd_id, kind, payload))
        publish_once(self.broker, f"pacer/{USER}/cmd/{kind}", json.dumps(body).encode(),
                     response_topic=f"pacer/{USER}/reply/phone",
                     correlation_data=cmd_id.encode())
        (reply,) = self.replies.wait_for(
            1, timeout=timeout, match=lambda m: m.correlation_data == cmd_id.encode())
        answer: dict[str, Any] = json.loads(reply.payload)
        return answer

    def close(self) -> None:
        self.replies.close()


def events_file(path: Path, sent: Iterable[tuple[str, str, dict[str, Any]]],
                applied_at: Mapping[str, float], tz: ZoneInfo = TZ) -> int:
    """The commands the daemon applied, as a replay events file, each at the
    exact (fractional) clock time the daemon applied it."""
    lines = []
    for cmd_id, kind, payload in sent:
        at = applied_at[cmd_id]
        stamp = datetime.fromtimestamp(at, tz).isoformat()
        lines.append((at, json.dumps({"time": stamp, "type": kind, **payload})))
    lines.sort(key=lambda x: x[0])
    path.write_text("".join(line + "\n" for _, line in lines), encoding="utf-8")
    return len(lines)


class ReferenceReplay:
    """``pacer replay --store`` of the same minutes (and events): the
    undisturbed run, as a process of its own. ``nice`` lowers its priority, so
    that it can run beside a daemon whose clock must not fall behind."""

    def __init__(self, tmp: Path, csv: Path, config: Path, events: Path | None,
                 *, nice: int = 0) -> None:
        self.store = tmp / "reference.sqlite3"
        args = ["replay", "--input", str(csv), "--config", str(config),
                "--store", str(self.store)]
        if events is not None:
            args += ["--events", str(events)]
        # nice(1) rather than a preexec_fn: the test process has paho threads.
        prefix = ["nice", "-n", str(nice)] if nice and shutil.which("nice") else []
        self.proc = subprocess.Popen(
            [*prefix, sys.executable, "-m", "pacer", *args], stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True,
        )

    def result(self, timeout: float = 300.0) -> Path:
        """Wait for it; its store, once it has accepted every event."""
        try:
            _, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            raise
        assert self.proc.returncode == 0, err[-3000:]
        assert "rejected" not in err or "(0 rejected)" in err, err[-3000:]
        return self.store

    def cleanup(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


def reference_replay(tmp: Path, csv: Path, config: Path, events: Path | None,
                     timeout: float = 300.0) -> Path:
    """The undisturbed run (see ``ReferenceReplay``), waited for; its store."""
    ref = ReferenceReplay(tmp, csv, config, events)
    try:
        return ref.result(timeout)
    finally:
        ref.cleanup()


# --- sd_notify -----------------------------------------------------------------------------


class NotifySocket:
    """A bound AF_UNIX datagram socket, as systemd's $NOTIFY_SOCKET, that
    records each message with the sender's credentials (SO_PASSCRED), the way
    systemd checks NotifyAccess=main."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="pn-"))  # short: sun_path is 108 bytes
        self.path = self.dir / "notify"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.bind(str(self.path))
        self.messages: list[tuple[float, int | None, str]] = []  # (monotonic, pid, text)

    def receive(self, timeout: float) -> tuple[float, int | None, str] | None:
        self.sock.settimeout(max(timeout, 0.001))
        creds_size = struct.calcsize("3i")
        try:
            data, anc, _flags, _addr = self.sock.recvmsg(4096, socket.CMSG_SPACE(creds_size))
        except TimeoutError:
            return None
        pid = None
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = array.array("i", payload[:creds_size])[0]
        msg = (time.monotonic(), pid, data.decode())
        self.messages.append(msg)
        return msg

    def drain(self) -> int:
        """Take what has arrived (the queue holds only a few datagrams: a
        socket left unread makes the sender's next send fail or wait)."""
        n = 0
        while self.receive(0.001) is not None:
            n += 1
        return n

    def wait_for(self, predicate: Callable[[str], bool], timeout: float,
                 what: str) -> tuple[float, int | None, str]:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            msg = self.receive(left)
            if msg is not None and predicate(msg[2]):
                return msg
        raise AssertionError(f"no {what} on the notify socket within {timeout:g} s; "
                             f"got {[m[2] for m in self.messages]}")

    def close(self) -> None:
        self.sock.close()
        self.path.unlink(missing_ok=True)
        self.dir.rmdir()
