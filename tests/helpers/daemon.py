"""The daemon in tests: the real ``Daemon`` in the test's own event loop (on
virtual wearables), ``pacer run`` as a subprocess, ``pacer ...`` commands as
subprocesses, minutes files, and the bounded waits every test uses.

Every wait here is bounded and waits for a condition.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from helpers.mqtt import Collector
from pacer.config import Config, parse_config
from pacer.daemon.app import Daemon
from pacer.daemon.clock import Clock
from pacer.engine.model import Epoch, Posture
from pacer.lockstep import StepClock, imu_samples, taken
from pacer.mqtt.broker import PrivateBroker
from pacer.store import Store
from pacer.timebase import iso

if TYPE_CHECKING:  # bumble (the 'virtual' extra): only for tests that skip without it
    from devices.virtual import VirtualWorld
    from devices.virtual.imu import VirtualWitMotion

WAIT_S = 20.0  # the default bound of a single wait

# --- waiting -----------------------------------------------------------------------------


def wait_until(check: Callable[[], Any], timeout: float = WAIT_S,
               what: Callable[[], str] | str = "a condition", interval: float = 0.02,
               diagnose: Callable[[], str] | None = None) -> Any:
    """Poll ``check`` until it returns something truthy (returned), or fail
    after ``timeout`` seconds saying what was awaited (and ``diagnose()``)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            text = what() if callable(what) else what
            extra = f"\n{diagnose()}" if diagnose is not None else ""
            raise AssertionError(f"timed out after {timeout:g} s waiting for {text}{extra}")
        time.sleep(interval)


async def until(check: Callable[[], Any], timeout: float = 10.0,
                what: Callable[[], str] | str = "a condition", interval: float = 0.01,
                diagnose: Callable[[], str] | None = None) -> Any:
    """``wait_until`` on the event loop: poll ``check`` without blocking it."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            text = what() if callable(what) else what
            extra = f"\n{diagnose()}" if diagnose is not None else ""
            raise AssertionError(f"timed out after {timeout:g} s waiting for {text}{extra}")
        await asyncio.sleep(interval)


# --- the daemon on virtual wearables -----------------------------------------------------

START = datetime(2026, 6, 10, 8, 55, tzinfo=ZoneInfo("Europe/London"))  # a Wednesday
SPEED = 240.0  # a clock minute every 0.25 s


def wearable_config(tmp: Path, broker: PrivateBroker, kind: str, address: str, *,
                    placement: str = "wrist", day: Mapping[str, Any] | None = None,
                    **device: str) -> Config:
    """Alice's daemon (Europe/London, no walks planned, her store in ``tmp``) on
    ``broker`` and one wearable: ``kind`` at ``address`` (``device``: its further
    keys); ``day``, a [day] table."""
    return parse_config({
        "user": {"id": "alice", "timezone": "Europe/London"},
        "devices": [{"kind": kind, "address": address, "placement": placement, **device}],
        "mqtt": {"url": broker.url},
        "storage": {"path": str(tmp / "pacer.sqlite3")},
        "walks": {"per_day": 0, "times": []},
        **({"day": dict(day)} if day else {}),
    })


def connected(daemon: Daemon) -> bool:
    """The first configured wearable is connected."""
    return bool(daemon.ble and daemon.ble.devices()[0]["connected"])


@contextlib.asynccontextmanager
async def virtual_rig(**world: Any) -> AsyncIterator[tuple[PrivateBroker, Collector,
                                                            VirtualWorld]]:
    """A private broker, a phone (``helpers.mqtt.Collector``) that hears alice's
    prompts on it, and a virtual world (``world``: ``virtual_world``'s options)
    for the daemon; the phone keeps what it heard after the block."""
    from devices.virtual import virtual_world  # noqa: PLC0415 - bumble, the 'virtual' extra

    with PrivateBroker() as broker:
        phone = Collector(broker.host, broker.port, "pacer/alice/prompt")
        try:
            async with virtual_world(**world) as made:
                yield broker, phone, made
        finally:
            phone.close()


@contextlib.asynccontextmanager
async def daemon_running(config: Config, world: VirtualWorld, clock: Clock
                         ) -> AsyncIterator[Daemon]:
    """The daemon running on ``world``'s wearables (its store open) until the
    block ends, then stopped."""
    with Store.open(config.storage.path) as store:
        daemon = Daemon(config, store=store, clock=clock, ble_backend=world.backend,
                        ble_scanner_backend=world.scanner_backend)
        task = asyncio.create_task(daemon.run())
        try:
            yield daemon
        finally:
            daemon.stop()
            await asyncio.wait_for(task, 20)


async def run_daemon(config: Config, world: VirtualWorld, clock: Clock,
                     body: Callable[[Daemon], Awaitable[None]]) -> None:
    """Run the daemon on ``world``'s wearables while ``body`` runs, then stop it."""
    async with daemon_running(config, world, clock) as daemon:
        await body(daemon)


@contextlib.asynccontextmanager
async def thigh_daemon(tmp: Path, broker: PrivateBroker, world: VirtualWorld, clock: Clock,
                       day: Mapping[str, Any] | None = None
                       ) -> AsyncIterator[tuple[VirtualWitMotion, Daemon]]:
    """A virtual thigh sensor (WitMotion-like) on ``clock``, and the daemon
    (``wearable_config``) running on it, connected, until the block ends."""
    thigh = await world.add_witmotion(clock=clock.now)
    config = wearable_config(tmp, broker, "witmotion", thigh.address, placement="thigh",
                             day=day)
    async with daemon_running(config, world, clock) as daemon:
        await until(lambda: connected(daemon), 15, "the thigh sensor to connect")
        yield thigh, daemon


async def thigh_minute(daemon: Daemon, thigh: VirtualWitMotion, clock: StepClock,
                       minute: int) -> None:
    """``minute`` in lock-step (``pacer.lockstep``, as the thigh demo runs): the
    thigh's samples of it and the pipeline's look-ahead past its end in the
    daemon, then the minute taken. A loaded machine only slows it down: no
    sample lands in another minute than it would on an idle one."""
    assert daemon.ble is not None
    settle = daemon.ble.settle_s
    clock.move_to((minute + 1) * 60 + settle - 1)
    await until(lambda: thigh.streamer.caught_up() and imu_samples(daemon) == thigh.notified,
                20, f"the daemon to have the thigh's samples of minute {minute}")
    clock.move_to((minute + 1) * 60 + settle)
    await until(taken(daemon, minute), 20, f"the daemon to take minute {minute}")


# --- minutes files -------------------------------------------------------------------------

_POSTURE_WORD = {
    Posture.SEDENTARY: "sitting",
    Posture.LYING: "lying",
    Posture.UPRIGHT: "standing",
    Posture.STEPPING: "walking",
    Posture.UNKNOWN: "unknown",
    Posture.NOT_WORN: "not_worn",
}


def write_minutes(path: Path, epochs: Iterable[Epoch], tz: ZoneInfo) -> int:
    """A replay minutes CSV (interfaces.md sections 3 and 8.1); unknown minutes
    get no row (a missing row is unknown), a not-worn minute is a ``not_worn``
    row, and a step-derived (inferred) minute has its posture left empty, so
    that reading the file back gives the same epochs. The number of rows written."""
    n = 0
    with path.open("w", encoding="utf-8") as f:
        f.write("time,steps,posture\n")
        for e in epochs:
            if e.posture is Posture.UNKNOWN:
                continue
            derived = e.inferred and e == Epoch.from_steps(e.start, e.steps)
            word = "" if derived else _POSTURE_WORD[e.posture]
            f.write(f"{iso(e.start, tz)},{e.steps},{word}\n")
            n += 1
    return n


# --- pacer as a process --------------------------------------------------------------------

# What a service manager or a shell may have set that must not reach a test's
# daemon unless the test sets it: systemd's notify and watchdog variables,
# journald's stream (pacer then leaves the time out of its log lines), and the
# broker password.
DROPPED_ENV = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM",
               "PACER_MQTT_PASSWORD")


def daemon_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test's environment without ``DROPPED_ENV``, unbuffered, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def pacer_cli(*args: str, timeout: float = 120.0, env: Mapping[str, str] | None = None,
              cwd: Path | None = None, memory_cap: int | None = None
              ) -> subprocess.CompletedProcess[str]:
    """``python -m pacer ARGS``, run to the end (``env``: ``daemon_env()``;
    ``memory_cap``: a limit in bytes of its address space)."""
    def cap() -> None:
        assert memory_cap is not None
        resource.setrlimit(resource.RLIMIT_AS, (memory_cap, memory_cap))
    return subprocess.run([sys.executable, "-m", "pacer", *args], capture_output=True,
                          text=True, timeout=timeout, check=False,
                          env=dict(env) if env is not None else daemon_env(), cwd=cwd,
                          preexec_fn=cap if memory_cap is not None else None)


def journal_mode(path: Path) -> str:
    """A store's journal mode, read without changing the file (``mode=ro``)."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        mode: str = conn.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        conn.close()
    return mode


def query(db: Path, sql: str, params: Sequence[Any] = ()) -> list[Any]:
    """Rows from a store another process is writing (WAL: readers never block
    it); none while there is no store or no schema yet."""
    if not db.exists():
        return []
    conn = sqlite3.connect(db, timeout=10)
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []  # the daemon has not created its schema yet
        raise
    finally:
        conn.close()


def stop_process(proc: subprocess.Popen[Any], timeout: float = 10.0) -> None:
    """SIGTERM ``proc`` if it still runs; killed if it has not ended in ``timeout``."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


class DaemonProcess:
    """``pacer run --config`` as a subprocess in the config's folder, its
    output in ``daemon.log`` there (a ``--- start N`` line before each start);
    ``env`` is added to ``daemon_env()``."""

    def __init__(self, config: Path, env: Mapping[str, str] | None = None) -> None:
        self.config = config
        self.dir = config.parent
        self.env = daemon_env(env)
        self.log_path = self.dir / "daemon.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.started_at = 0.0

    @property
    def db(self) -> Path:
        return self.dir / "pacer.sqlite3"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> DaemonProcess:
        with self.log_path.open("ab") as log:
            log.write(f"--- start {self.starts + 1}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "pacer", "run", "--config", str(self.config)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=self.env, cwd=self.dir,
            )
        self.starts += 1
        self.started_at = time.time()
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self) -> None:
        if not self.alive():
            assert self.proc is not None
            raise AssertionError(f"the daemon exited with {self.proc.returncode}:\n"
                                 + self.log()[-4000:])

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self, timeout: float = 15.0) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def cleanup(self) -> None:
        if self.alive():
            assert self.proc is not None
            self.proc.kill()
            self.proc.wait(10)

    # --- its log ---

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def wait_log(self, text: str, count: int = 1, timeout: float = WAIT_S) -> None:
        wait_until(lambda: self.log().count(text) >= count, timeout,
                   lambda: f"{count}x {text!r} in the daemon's log:\n{self.log()[-3000:]}")

    def log_times(self, text: str) -> list[float]:
        """Unix times of the log lines that contain ``text`` (from asctime)."""
        out = []
        for line in self.log().splitlines():
            if text in line:
                stamp = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
                out.append(stamp.timestamp())  # naive: local time, as logging wrote it
        return out

    # --- its store ---

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Rows from the daemon's store (see ``query``)."""
        return query(self.db, sql, params)

    def outbox_prompts(self) -> list[tuple[str, float, bytes]]:
        """(msg_id, expires_at, payload) of the prompts waiting in the outbox."""
        rows = self.query("SELECT msg_id, expires_at, payload FROM outbox "
                          "WHERE topic LIKE '%/prompt' ORDER BY seq")
        return [(str(r[0]), float(r[1]), bytes(r[2])) for r in rows]

    def state(self) -> dict[str, Any]:
        """The engine state the daemon stored last (waits for the first minute)."""
        wait_until(lambda: bool(self.query("SELECT 1 FROM engine_state")), WAIT_S,
                   "the daemon's first stored minute")
        (row,) = self.query("SELECT state FROM engine_state")
        loaded: dict[str, Any] = json.loads(row[0])
        return loaded


def stored_steps(db: Path) -> tuple[int, list[tuple[int, int, str]]]:
    """The steps a store holds, all told, and its minutes (minute, steps, posture)."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT minute, steps, posture FROM epochs ORDER BY minute").fetchall()
    return sum(r[1] for r in rows), rows
