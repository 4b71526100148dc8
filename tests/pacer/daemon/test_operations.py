"""Running for months unattended: what systemd sees (sd_notify, the watchdog,
journald, the unit file), ``pacer status``, recovery after SIGKILLs in the
middle of a day, and the minute job after a downtime or a suspend.

Real parts throughout: ``pacer run`` as a subprocess on a private mosquitto,
a real AF_UNIX datagram socket as $NOTIFY_SOCKET, real SQLite files; the
in-process tests drive the real ``Daemon`` with a ``Clock`` whose wall or
monotonic time the test sets.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from apscheduler.events import EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from helpers.daemon import DaemonProcess, pacer_cli, query, wait_until, write_minutes
from helpers.daemon import until as until_async
from helpers.mqtt import Collector
from helpers.ops import (
    REPO,
    TZ,
    TZ_NAME,
    USER,
    NotifySocket,
    Phone,
    at_local,
    command_times,
    events_file,
    final_days,
    last_minute,
    outcomes,
    prompt_view,
    prompts,
    reference_replay,
    scalar,
    segments,
    stored_minutes,
    write_config,
)

from pacer import __version__
from pacer.config import Config, parse_config
from pacer.daemon.app import Daemon
from pacer.daemon.clock import Clock
from pacer.daemon.systemd import JournalFormatter
from pacer.engine.core import Engine
from pacer.engine.model import Epoch, Posture
from pacer.mqtt.broker import PrivateBroker
from pacer.status import status_lines
from pacer.store import Store
from pacer.timebase import iso

S, U, W = Posture.SEDENTARY, Posture.UPRIGHT, Posture.STEPPING
DAY = date(2026, 3, 10)  # a Tuesday, far from the DST changes


def desk_morning(minutes: int = 90) -> list[Epoch]:
    start = at_local(DAY, "09:00")
    return [Epoch(m, 0, S, inferred=False) for m in range(start, start + minutes)]


@pytest.fixture
def proc_daemon() -> Iterator[list[DaemonProcess]]:
    """Daemon processes made by a test; any still running are killed after it."""
    made: list[DaemonProcess] = []
    yield made
    for d in made:
        d.cleanup()


# --- 1. sd_notify --------------------------------------------------------------------------


def test_sd_notify_ready_watchdog_stopping_and_offline_on_sigterm(
    tmp_path: Path, broker: PrivateBroker, proc_daemon: list[DaemonProcess]
) -> None:
    """Under Type=notify with WatchdogSec: READY=1 with a STATUS once running,
    WATCHDOG=1 at half the watchdog period (systemd would restart a daemon
    that stays silent for WATCHDOG_USEC), STOPPING=1 on SIGTERM, exit 0, and
    "offline" left retained on the status topic. Every message comes from the
    daemon's own pid, as NotifyAccess=main requires."""
    csv = tmp_path / "desk.csv"
    write_minutes(csv, desk_morning(), TZ)
    notify = NotifySocket()
    try:
        d = DaemonProcess(write_config(tmp_path, broker, csv=csv, speed=60),
                          env={"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "2000000"})
        proc_daemon.append(d)
        status = Collector(broker.host, broker.port, f"pacer/{USER}/status")
        try:
            started = time.monotonic()
            d.start()
            t_ready, pid, ready = notify.wait_for(lambda m: "READY=1" in m, 20, "READY=1")
            assert pid == d.pid
            fields = dict(line.split("=", 1) for line in ready.splitlines())
            assert fields["READY"] == "1"
            assert fields["STATUS"] == f"pacing {USER}"
            print(f"READY=1 {t_ready - started:.2f} s after the start")
            dogs = [notify.wait_for(lambda m: m == "WATCHDOG=1", 3.0, "WATCHDOG=1")
                    for _ in range(3)]
            assert {p for _, p, _ in dogs} == {d.pid}
            gaps = [b[0] - a[0] for a, b in zip([(t_ready, 0, ""), *dogs], dogs, strict=False)]
            print("watchdog gaps (s):", [round(g, 2) for g in gaps])
            # Every ping comes well inside WATCHDOG_USEC (2 s): half of it, 1 s.
            assert all(g < 2.0 for g in gaps), gaps
            assert 0.7 < gaps[-1] < 1.5, gaps
            status.wait_for(1, timeout=10, match=lambda m: m.payload == b"online")
            d.check_alive()

            assert d.terminate() == 0
            _, pid, _ = notify.wait_for(lambda m: m == "STOPPING=1", 5, "STOPPING=1")
            assert pid == d.pid
            status.wait_for(1, timeout=10, match=lambda m: m.payload == b"offline")
        finally:
            status.close()
        # A subscriber arriving later (a phone at boot) finds "offline" retained.
        late = Collector(broker.host, broker.port, f"pacer/{USER}/status")
        try:
            (msg,) = late.wait_for(1, timeout=10)
            assert (msg.payload, msg.retain) == (b"offline", True)
        finally:
            late.close()
        texts = [m for _, _, m in notify.messages]
        assert texts.index(ready) == 0  # nothing before READY=1
        assert texts[-1] == "STOPPING=1"
    finally:
        notify.close()


def test_no_watchdog_pings_when_watchdog_pid_names_another_process(
    tmp_path: Path, broker: PrivateBroker, proc_daemon: list[DaemonProcess]
) -> None:
    """WATCHDOG_PID set to another process: the watchdog is not ours (sd_notify(3))."""
    csv = tmp_path / "desk.csv"
    write_minutes(csv, desk_morning(), TZ)
    notify = NotifySocket()
    try:
        d = DaemonProcess(write_config(tmp_path, broker, csv=csv, speed=60),
                          env={"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "500000",
                               "WATCHDOG_PID": "1"})
        proc_daemon.append(d)
        d.start()
        notify.wait_for(lambda m: "READY=1" in m, 20, "READY=1")
        # At 0.5 s the pings would come every 0.25 s: 2 s without one is telling.
        assert notify.receive(2.0) is None, notify.messages
        assert d.terminate() == 0
    finally:
        notify.close()


def test_a_notify_socket_nobody_reads_does_not_stop_the_daemon(
    tmp_path: Path, broker: PrivateBroker, proc_daemon: list[DaemonProcess]
) -> None:
    """systemd busy (or hung): nobody reads $NOTIFY_SOCKET, whose queue holds
    only net.unix.max_dgram_qlen datagrams (10 by default). With a ping every
    0.1 s the queue is full within a second; the daemon goes on taking its
    minutes (a blocking send would stop its whole loop), says once that it
    drops notifications, and picks up again once they are read."""
    csv = tmp_path / "desk.csv"
    write_minutes(csv, desk_morning(240), TZ)
    notify = NotifySocket()
    try:
        d = DaemonProcess(write_config(tmp_path, broker, csv=csv, speed=600),
                          env={"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "200000"})
        proc_daemon.append(d)
        d.start()
        # Not read: wait for the daemon to notice from its log, then for more minutes.
        wait_until(lambda: "systemd is not reading notifications" in d.log(), 20,
                   "the daemon to find the queue full", diagnose=d.log, interval=0.1)
        then = last_minute(d.db) or 0
        wait_until(lambda: (last_minute(d.db) or 0) >= then + 10, 10,
                   "ten more minutes with the queue full", diagnose=d.log, interval=0.05)
        d.check_alive()
        notify.drain()
        notify.wait_for(lambda m: m == "WATCHDOG=1", 2.0, "a ping once the queue is read")
        wait_until(lambda: "systemd reads notifications again" in d.log(), 5, "the note")
        assert d.terminate() == 0
    finally:
        notify.close()
    assert d.log().count("systemd is not reading notifications") == 1


# --- 2. journald ----------------------------------------------------------------------------


_STAMP = re.compile(r"^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d")


def _log_lines_of_a_short_run(tmp_path: Path, broker: PrivateBroker, env: dict[str, str],
                              made: list[DaemonProcess]) -> list[str]:
    csv = tmp_path / "desk.csv"
    write_minutes(csv, desk_morning(), TZ)
    d = DaemonProcess(write_config(tmp_path, broker, csv=csv, speed=60), env=env)
    made.append(d)
    d.start()  # stderr is a file: not a tty, as under systemd
    wait_until(lambda: "connected to the MQTT broker" in d.log(), 20, "the daemon to connect",
               diagnose=d.log)
    assert d.terminate() == 0
    return [line for line in d.log().splitlines() if line and not line.startswith("--- start")]


def test_journald_lines_carry_no_timestamp(
    tmp_path: Path, broker: PrivateBroker, proc_daemon: list[DaemonProcess]
) -> None:
    lines = _log_lines_of_a_short_run(tmp_path, broker, {"JOURNAL_STREAM": "8:123456"},
                                      proc_daemon)
    assert lines
    assert not [line for line in lines if _STAMP.match(line)], lines
    # Each line starts with its syslog priority, which journald reads.
    assert [line for line in lines
            if not re.match(r"^<[2-7]>(DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: ", line)
            ] == [], lines
    assert any(line.startswith("<6>INFO pacer.daemon.app: stopping") for line in lines)
    assert all(line.startswith("<4>WARNING") for line in lines if "WARNING" in line[:12])


def test_without_journald_lines_carry_a_timestamp(
    tmp_path: Path, broker: PrivateBroker, proc_daemon: list[DaemonProcess]
) -> None:
    lines = _log_lines_of_a_short_run(tmp_path, broker, {}, proc_daemon)
    assert lines
    assert [line for line in lines if not _STAMP.match(line)] == [], lines


# --- 3. the unit file --------------------------------------------------------------------------


def _unit_for(tmp: Path) -> Path:
    """config/pacer.service with ExecStart and WorkingDirectory pointing here."""
    pacer = REPO / ".venv" / "bin" / "pacer"
    assert os.access(pacer, os.X_OK), pacer
    text = (REPO / "config" / "pacer.service").read_text(encoding="utf-8")
    text, n = re.subn(r"(?m)^ExecStart=\S+/pacer run", f"ExecStart={pacer} run", text)
    assert n == 1
    text = text.replace("/etc/pacer/pacer.toml", str(tmp / "pacer.toml"))
    text, n = re.subn(r"(?m)^WorkingDirectory=.*$", f"WorkingDirectory={tmp}", text)
    assert n == 1
    unit = tmp / "pacer.service"
    unit.write_text(text, encoding="utf-8")
    return unit


def _verify(unit: Path) -> tuple[int, list[str]]:
    proc = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                          text=True, timeout=60, check=False)
    lines = (proc.stdout + proc.stderr).splitlines()
    return proc.returncode, lines


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is not installed (apt-get install systemd)")
def test_systemd_analyze_verify_finds_no_problem_in_the_unit(tmp_path: Path) -> None:
    (tmp_path / "pacer.toml").write_text('[user]\nid = "alice"\n', encoding="utf-8")
    rc, lines = _verify(_unit_for(tmp_path))
    about_unit = [line for line in lines if "pacer.service" in line or "pacer" in line]
    assert rc == 0, lines
    assert about_unit == [], about_unit
    text = (tmp_path / "pacer.service").read_text(encoding="utf-8")
    for key in ("Type=notify", "NotifyAccess=main", "WatchdogSec=60",
                "RestartPreventExitStatus=2", "KillSignal=SIGTERM"):
        assert re.search(rf"(?m)^{re.escape(key)}$", text), key
    # The check is real: the shipped unit as is names an ExecStart that is not
    # installed here, and verify says so.
    shipped = tmp_path / "shipped" / "pacer.service"
    shipped.parent.mkdir()
    shutil.copy(REPO / "config" / "pacer.service", shipped)
    rc, lines = _verify(shipped)
    assert any("/opt/pacer/.venv/bin/pacer" in line for line in lines), (rc, lines)


# --- 4. pacer status ----------------------------------------------------------------------------


def _status(config: Path) -> list[str]:
    proc = pacer_cli("status", "--config", str(config))
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def _line(lines: list[str], prefix: str) -> str:
    found = [line for line in lines if line.startswith(prefix)]
    assert len(found) == 1, (prefix, lines)
    return found[0]


def _frozen(d: DaemonProcess) -> Any:
    """SIGSTOP the daemon for a moment: what the store holds does not change
    while ``pacer status`` reads it (the heartbeat stays fresh)."""

    class Frozen:
        def __enter__(self) -> None:
            os.kill(d.pid, signal.SIGSTOP)

        def __exit__(self, *_exc: object) -> None:
            os.kill(d.pid, signal.SIGCONT)

    return Frozen()


def _expected_today(db: Path) -> tuple[str, str]:
    """The today line for a day whose waking window is open, and the engine
    line (the next minute the engine expects), from the stored state."""
    (state,) = query(db, "SELECT state FROM engine_state WHERE user = ?", (USER,))
    st = json.loads(state[0])
    tally, bout = st["tally"], st["bout"] or {}
    assert tally["open"], tally
    began = datetime.fromtimestamp(tally["opened"] * 60, TZ).strftime("%H:%M")
    return (f"today ({tally['day']}): day began at {began}; {tally['steps']:,} steps, "
            f"sedentary {tally['sedentary_min']} min, sitting now "
            f"{bout.get('sedentary_min', 0)} min, walks {tally['walks']}, sitting prompts "
            f"{tally['prompted']}"), (f"engine: at {iso(st['next_minute'], TZ)} "
                                      "(the next minute it expects)")


def _heartbeat(db: Path) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(scalar(db, "SELECT payload FROM heartbeat",
                                                default="{}"))
    return payload


def test_status_while_running_with_and_without_broker_and_after_the_stop(
    tmp_path: Path, broker: PrivateBroker, proc_daemon: list[DaemonProcess]
) -> None:
    # Sitting in 20-minute stretches with a limit of 15: a prompt every ~4 s.
    start = at_local(DAY, "09:00")
    epochs = [Epoch(m, 0, S, inferred=False) if (m - start) % 30 < 20 else Epoch(m, 80, W, False)
              for m in range(start, start + 8 * 30)]
    csv = tmp_path / "desk.csv"
    write_minutes(csv, epochs, TZ)
    cfg = write_config(tmp_path, broker, csv=csv, speed=300,
                       extra="[sitting]\nlimit_min = 15\nrepeat_min = 15\n")
    d = DaemonProcess(cfg)
    proc_daemon.append(d)
    online = Collector(broker.host, broker.port, f"pacer/{USER}/status")
    try:
        d.start()
        db = d.db
        # The first heartbeat is written at start-up, before the broker has
        # answered; the link connecting writes the next at once, not 10 s
        # (HEARTBEAT_S) later: status says connected as soon as the daemon is.
        online.wait_for(1, timeout=30, match=lambda m: m.payload == b"online")
    finally:
        online.close()
    wait_until(lambda: _heartbeat(db).get("broker", {}).get("connected"), 3,
               "a heartbeat as the link connects", diagnose=d.log, interval=0.05)
    assert _line(_status(cfg), "broker:") == f"broker: 127.0.0.1:{broker.port}, connected"
    wait_until(lambda: scalar(db, "SELECT count(*) FROM prompts") >= 1, 30, "a prompt",
               diagnose=d.log, interval=0.1)

    with _frozen(d):
        lines = _status(cfg)
        newest = prompts(db)[-1]
        pending = scalar(db, "SELECT count(*) FROM outbox")
        today, engine = _expected_today(db)
    print("\n".join(lines))
    assert re.fullmatch(rf"daemon: running \(heartbeat \d+ s ago\), pid {d.pid}, "
                        rf"pacer {re.escape(__version__)}, "
                        rf"clock 2026-03-10T\d\d:\d\d:\d\d\+00:00 \(300x\) at that heartbeat",
                        _line(lines, "daemon:")), lines
    # The engine's own time, from the state stored with its last minute, not
    # the clock sampled at the heartbeat (up to 50 simulated minutes old here).
    assert _line(lines, "engine:") == engine
    assert _line(lines, "broker:") == f"broker: 127.0.0.1:{broker.port}, connected"
    assert _line(lines, "wearable ") == "wearable replay (replay): connected"
    assert _line(lines, "outbox:") == f"outbox: {pending} message(s) waiting for the broker"
    assert _line(lines, "last prompt:") == (
        f"last prompt: {newest['kind']} at {iso(newest['time'], TZ)} ({newest['title']})")
    assert _line(lines, "today") == today
    assert today.startswith("today (2026-03-10): day began at 09:")
    assert _line(lines, "plan:") == "plan: baseline, no quota yet"

    # The broker goes away: the daemon records it at once (a heartbeat as the
    # link drops) and prompts pile up in the outbox.
    broker.kill()
    wait_until(lambda: not _heartbeat(db)["broker"]["connected"], 3,
               "a heartbeat as the link drops", diagnose=d.log, interval=0.05)
    wait_until(lambda: scalar(db, "SELECT count(*) FROM outbox") >= 2,
               30, "the outbox to fill", interval=0.2)
    with _frozen(d):
        lines = _status(cfg)
        pending = scalar(db, "SELECT count(*) FROM outbox")
        today, _ = _expected_today(db)
    print("\n".join(lines))
    assert pending >= 2
    assert _line(lines, "broker:") == f"broker: 127.0.0.1:{broker.port}, NOT connected"
    assert _line(lines, "outbox:") == f"outbox: {pending} message(s) waiting for the broker"
    assert _line(lines, "today") == today
    assert re.match(rf"daemon: running \(heartbeat \d+ s ago\), pid {d.pid}, ",
                    _line(lines, "daemon:")), lines

    assert d.terminate() == 0  # stops cleanly with the broker gone
    pid = d.pid
    pending = scalar(db, "SELECT count(*) FROM outbox")
    # Right after the stop: its last heartbeat says it stopped, its links closed.
    lines = _status(cfg)
    print("\n".join(lines))
    assert re.fullmatch(rf"daemon: not running \(stopped \d+ s ago\), pid {pid}, .*",
                        _line(lines, "daemon:")), lines
    assert re.fullmatch(rf"broker: 127.0.0.1:{broker.port}, not connected: the daemon stopped "
                        r"\d+ s ago", _line(lines, "broker:")), lines
    assert re.fullmatch(r"wearable replay \(replay\): not connected: the daemon stopped \d+ s ago",
                        _line(lines, "wearable ")), lines
    # Two minutes later. Age it through the Store API rather than waiting.
    with Store.open(db) as store:
        beat_row = store.heartbeat(USER)
        assert beat_row is not None
        _at, info = beat_row
        assert info["running"] is False
        store.beat(USER, time.time() - 125, info)
    lines = _status(cfg)
    print("\n".join(lines))
    assert _line(lines, "daemon:").startswith(
        f"daemon: not running (stopped 2 min ago), pid {pid}, pacer {__version__}")
    assert _line(lines, "broker:") == (
        f"broker: 127.0.0.1:{broker.port}, not connected: the daemon stopped 2 min ago")
    # A daemon gone silent without recording a stop (killed, or its machine
    # lost power): what it last knew, with its age, never a guess that the
    # links are up now.
    with Store.open(db) as store:
        store.beat(USER, time.time() - 125, {
            **info, "running": True, "broker": {**info["broker"], "connected": True},
            "devices": [{**dev, "connected": True} for dev in info["devices"]]})
    crashed = _status(cfg)
    print("\n".join(crashed))
    assert _line(crashed, "daemon:").startswith(
        f"daemon: not running (last seen 2 min ago, its stop not recorded), pid {pid}, "
        f"pacer {__version__}")
    assert _line(crashed, "broker:") == (
        f"broker: 127.0.0.1:{broker.port}, unknown (connected when last seen 2 min ago)")
    assert _line(crashed, "wearable ") == (
        "wearable replay (replay): unknown (connected when last seen 2 min ago)")
    # What the store knows is still shown: the queue waiting for the broker,
    # the last prompt, today's figures.
    assert _line(lines, "outbox:") == f"outbox: {pending} message(s) waiting for the broker"
    assert _line(lines, "last prompt:").startswith("last prompt: ")
    assert _line(lines, "today").startswith("today (2026-03-10): ")


def test_status_shows_the_waking_window_and_sitting_only_inside_it(tmp_path: Path) -> None:
    """Before the waking window opens there is no day to count yet: status
    says the day has not begun, not "sedentary 0 min, sitting now 16 min";
    once it opens, when it began, and sitting inside it. The engine's own
    time (the next minute it expects) is shown as it was stored."""
    cfg = parse_config({"user": {"id": USER, "timezone": TZ_NAME}})
    engine = Engine(cfg.rules, user=USER, timezone=TZ_NAME)
    night = at_local(DAY, "04:00")
    # Twenty minutes with the wearable off, then sixteen sitting: not enough
    # to open the window (version 2 opens it on a longer run up).
    epochs = [Epoch.unknown(m) for m in range(night, night + 20)]
    epochs += [Epoch(m, 0, S, inferred=False) for m in range(night + 20, night + 36)]
    with Store.open(tmp_path / "pacer.sqlite3") as store:

        def take(batch: list[Epoch]) -> list[str]:
            for epoch in batch:
                outputs = engine.advance(epoch)
                store.commit_minute(USER, epoch, "replay", outputs, engine.snapshot(), [])
            return status_lines(store, USER, TZ_NAME, time.time())

        lines = take(epochs)
        print("\n".join(lines))
        assert _line(lines, "today") == (
            "today (2026-03-10): the day has not begun: waiting for you to get up")
        assert not any("sitting now" in line or "sedentary" in line for line in lines), lines
        assert _line(lines, "engine:") == (
            f"engine: at {iso(night + 36, TZ)} (the next minute it expects)")

        # Sitting on until the window opens (detected): when the day began,
        # and what it holds.
        more = [Epoch(m, 0, S, inferred=False) for m in range(night + 36, night + 120)]
        lines = take(more)
        print("\n".join(lines))
        state = engine.snapshot()
        tally, bout = state["tally"], state["bout"]
        assert tally["open"], tally
        assert tally["opened"] is not None, tally
        began = datetime.fromtimestamp(tally["opened"] * 60, TZ).strftime("%H:%M")
        assert _line(lines, "today") == (
            f"today (2026-03-10): day began at {began}; 0 steps, sedentary "
            f"{tally['sedentary_min']} min, sitting now {bout['sedentary_min']} min, walks 0, "
            f"sitting prompts {tally['prompted']}")
        assert _line(lines, "engine:") == (
            f"engine: at {iso(night + 120, TZ)} (the next minute it expects)")


# --- 6. missed jobs: downtime, suspend, retention (in-process, the clock in the test's hand) ---


class ProbedDaemon(Daemon):
    """The real daemon; the test keeps a handle on its scheduler, to make a
    job due the way a suspend leaves it (its next run time in the past) and to
    see each run of the minute job with the minutes stored after it."""

    scheduler: AsyncIOScheduler | None = None
    runs: list[tuple[str, int]]

    def _scheduler(self) -> AsyncIOScheduler:
        scheduler = super()._scheduler()
        self.scheduler = scheduler
        self.runs = []
        scheduler.add_listener(self._ran, EVENT_JOB_EXECUTED)
        return scheduler

    def _ran(self, event: JobExecutionEvent) -> None:
        n = len(self.store.epochs(self.user, 0, 2**40))
        self.runs.append((event.job_id, n))

    def runs_of(self, job: str) -> list[int]:
        return [n for j, n in self.runs if j == job]

    async def due(self, job: str, since: datetime, timeout: float = 10.0) -> None:
        """Make ``job`` due since ``since`` (real time) and wait for its run."""
        assert self.scheduler is not None
        before = len(self.runs_of(job))
        self.scheduler.get_job(job).modify(next_run_time=since)
        await until_async(lambda: len(self.runs_of(job)) > before, timeout, f"the {job} job")



def inprocess_config(tmp: Path, broker: PrivateBroker, **extra: Any) -> Config:
    raw: dict[str, Any] = {
        "user": {"id": USER, "timezone": TZ_NAME},
        "mqtt": {"url": broker.url, "protocol": broker.protocol},
        "storage": {"path": str(tmp / "pacer.sqlite3")},
    }
    raw.update(extra)
    return parse_config(raw)


async def with_daemon(config: Config, clock: Clock,
                      body: Callable[[ProbedDaemon], Awaitable[None]]) -> None:
    with Store.open(config.storage.path) as store:
        daemon = ProbedDaemon(config, store=store, clock=clock)
        task = asyncio.create_task(daemon.run())
        try:
            await until_async(lambda: daemon.link.connected and daemon.scheduler is not None,
                              10, "the daemon to connect")
            await body(daemon)
        finally:
            daemon.stop()
            await asyncio.wait_for(task, 20)


class MachineClock:
    """The machine's wall clock as the test wants it: real seconds pass, from
    ``origin``, plus whatever jumps the test makes (a suspend, an NTP step)."""

    def __init__(self, origin: datetime) -> None:
        self.origin = origin.timestamp()
        self.started = time.monotonic()
        self.jumped = 0.0

    def wall(self) -> float:
        return self.origin + (time.monotonic() - self.started) + self.jumped


def test_suspend_minute_job_runs_once_and_catches_up_every_minute_unknown(
    tmp_path: Path, broker: PrivateBroker
) -> None:
    """Real time (speed 1, the CronTrigger at second 1). The machine sleeps for
    two hours: when it wakes the minute job is two hours overdue; it runs
    once (coalesced), takes the 120 minutes missed as unknown, one by one and
    in order, and a further run takes nothing again."""
    machine = MachineClock(datetime(2026, 3, 10, 10, 0, 20, tzinfo=TZ))
    config = inprocess_config(tmp_path, broker)
    t10 = at_local(DAY, "10:00")

    async def body(daemon: ProbedDaemon) -> None:
        assert daemon.clock.speed == 1.0
        assert str(daemon.scheduler.get_job("minutes").trigger).startswith("cron")  # type: ignore[union-attr]
        # 10:00:2x: minute 10:00 is not over yet; a run now takes nothing.
        await daemon.due("minutes", datetime.now(UTC))
        assert daemon.store.epochs(USER, 0, 2**40) == []
        # Suspend: two hours pass on the wall clock in no time for the process.
        machine.jumped += 2 * 3600
        await daemon.due("minutes", datetime.now(UTC) - timedelta(hours=2))
        # Once more: nothing new. Misfires not coalesced would have been handed to
        # the executor with the first run, so they would have run before this one.
        await daemon.due("minutes", datetime.now(UTC))

    asyncio.run(asyncio.wait_for(with_daemon(config, Clock(wall=machine.wall), body), 60))
    # (The daemon's own runs: [0], then [120] once for the two hours, then [120].)
    with Store.open(config.storage.path) as store:
        rows = store.epochs(USER, 0, 2**40)
        assert [e.start for e in rows] == list(range(t10, t10 + 120))
        assert {e.posture for e in rows} == {Posture.UNKNOWN}
        state = store.load_state(USER)
        assert state is not None
        assert state[0] == t10 + 119


def test_suspend_is_coalesced_into_one_run(tmp_path: Path, broker: PrivateBroker) -> None:
    machine = MachineClock(datetime(2026, 3, 10, 10, 0, 20, tzinfo=TZ))
    config = inprocess_config(tmp_path, broker)
    seen: list[int] = []

    async def body(daemon: ProbedDaemon) -> None:
        machine.jumped += 2 * 3600
        await daemon.due("minutes", datetime.now(UTC) - timedelta(hours=2, seconds=-1))
        # A marker run: misfires not coalesced were handed to the executor with
        # the first run, so they would show before it (no fixed sleep needed).
        await daemon.due("minutes", datetime.now(UTC))
        seen.extend(daemon.runs_of("minutes"))

    asyncio.run(asyncio.wait_for(with_daemon(config, Clock(wall=machine.wall), body), 60))
    # 120 runs were missed; exactly one ran, and it took all 120 minutes; then the marker.
    assert seen == [120, 120]


def test_downtime_restart_takes_the_missed_minutes_as_unknown_once(
    tmp_path: Path, broker: PrivateBroker
) -> None:
    """Real time: the daemon stops at 10:05 and starts again at 12:35 (the
    machine was off). Its first minute run stores 10:05..12:34, unknown, after
    the minutes it had; nothing is stored twice."""
    config = inprocess_config(tmp_path, broker)
    t10 = at_local(DAY, "10:00")
    first = MachineClock(datetime(2026, 3, 10, 10, 0, 20, tzinfo=TZ))

    async def before(daemon: ProbedDaemon) -> None:
        first.jumped += 5 * 60  # ran until 10:05:2x
        await daemon.due("minutes", datetime.now(UTC))

    asyncio.run(asyncio.wait_for(with_daemon(config, Clock(wall=first.wall), before), 60))
    with Store.open(config.storage.path) as store:
        assert [e.start for e in store.epochs(USER, 0, 2**40)] == list(range(t10, t10 + 5))

    second = MachineClock(datetime(2026, 3, 10, 12, 35, 10, tzinfo=TZ))
    runs: list[int] = []

    async def after(daemon: ProbedDaemon) -> None:
        await daemon.due("minutes", datetime.now(UTC) - timedelta(hours=2))
        await daemon.due("minutes", datetime.now(UTC))
        runs.extend(daemon.runs_of("minutes"))

    asyncio.run(asyncio.wait_for(with_daemon(config, Clock(wall=second.wall), after), 60))
    assert runs == [155, 155]
    with Store.open(config.storage.path) as store:
        rows = store.epochs(USER, 0, 2**40)
    assert [e.start for e in rows] == list(range(t10, t10 + 155))
    assert {e.posture for e in rows} == {Posture.UNKNOWN}


def test_a_long_catch_up_after_a_downtime_keeps_the_watchdog_fed_and_stops_on_sigterm(
    tmp_path: Path, broker: PrivateBroker, proc_daemon: list[DaemonProcess]
) -> None:
    """Real time, no wearable: the store's last minute is four weeks old (the
    Pi was off). The first minute job of ``pacer run`` takes some 40,000
    unknown minutes; meanwhile WATCHDOG=1 keeps coming well inside
    WATCHDOG_USEC, and a SIGTERM in the middle ends the daemon with exit 0 and
    STOPPING=1, every minute stored so far stored once and in order."""
    gone = datetime.now(TZ) - timedelta(days=28)
    first = MachineClock(gone.replace(second=20, microsecond=0))
    config = inprocess_config(tmp_path, broker)

    async def before(daemon: ProbedDaemon) -> None:
        first.jumped += 3 * 60
        await daemon.due("minutes", datetime.now(UTC))

    asyncio.run(asyncio.wait_for(with_daemon(config, Clock(wall=first.wall), before), 60))
    db = tmp_path / "pacer.sqlite3"
    assert len(stored_minutes(db)) == 3
    notify = NotifySocket()
    try:
        d = DaemonProcess(write_config(tmp_path, broker),
                          env={"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "2000000"})
        proc_daemon.append(d)
        d.start()
        notify.wait_for(lambda m: "READY=1" in m, 20, "READY=1")
        # The first minute job comes a second into the next minute (cron).
        wait_until(lambda: notify.drain() >= 0 and len(stored_minutes(db)) > 100, 75,
                   "the catch-up to begin", interval=0.2, diagnose=d.log)
        d.check_alive()
        for _ in range(3):  # some 3 s of the catch-up, a ping at least every 2 s
            notify.wait_for(lambda m: m == "WATCHDOG=1", 2.0, "WATCHDOG=1 during the catch-up")
        behind = int(time.time() // 60) - (last_minute(db) or 0)
        assert behind > 60, behind  # still catching up: the SIGTERM comes in the middle
        assert d.terminate(15) == 0
        notify.wait_for(lambda m: m == "STOPPING=1", 2, "STOPPING=1")
    finally:
        notify.close()
    minutes = [m for m, _, _ in stored_minutes(db)]
    assert minutes == list(range(minutes[0], minutes[-1] + 1))
    print(f"stopped {behind} min behind the clock, {len(minutes)} minutes stored")


def test_retention_job_deletes_raw_samples_older_than_the_setting_only(
    tmp_path: Path, broker: PrivateBroker
) -> None:
    """The daemon's retention job (04:30 local), made due now: raw samples
    older than raw_retention_days go, newer ones stay."""
    config = inprocess_config(tmp_path, broker, storage={
        "path": str(tmp_path / "pacer.sqlite3"), "raw_retention_days": 14})
    now = time.time()
    ages_days = [30, 15, 14.01, 13.99, 7, 1, 0.01]
    with Store.open(config.storage.path) as store:
        store.add_samples(USER, [("F0:00:00:00:00:01", now - a * 86400, "StepDelta",
                                  {"steps": i}) for i, a in enumerate(ages_days)])
        store.add_samples("bob", [("F0:00:00:00:00:09", now - 30 * 86400, "Battery",
                                   {"percent": 50})])
    runs: list[int] = []

    async def body(daemon: ProbedDaemon) -> None:
        job = daemon.scheduler.get_job("retention")  # type: ignore[union-attr]
        # Its own trigger: every day at 04:30 local time.
        assert "hour='4', minute='30'" in str(job.trigger)
        await daemon.due("retention", datetime.now(UTC))
        runs.extend(daemon.runs_of("retention"))

    asyncio.run(asyncio.wait_for(with_daemon(config, Clock(), body), 60))
    assert len(runs) == 1
    kept = query(tmp_path / "pacer.sqlite3",
                 "SELECT user, payload FROM samples ORDER BY seq")
    assert [(u, json.loads(p).get("steps")) for u, p in kept] == [
        ("alice", 3), ("alice", 4), ("alice", 5), ("alice", 6), ("bob", None)]


def test_a_command_after_a_minute_ended_is_applied_after_that_minute_as_replay_does(
    tmp_path: Path, broker: PrivateBroker
) -> None:
    """Sitting since 09:00 with a limit of 40: the prompt is decided on minute
    09:39 and stamped 09:40. Do-not-disturb arrives at 09:40:00.5, after that
    minute ended. `pacer replay` with that event sends the 09:40 prompt (the
    event is applied just before the first evaluation at or after its time,
    09:41); so must the daemon, whose minute job has not run yet: it takes
    the minutes that are over before it applies a command."""
    csv = tmp_path / "desk.csv"
    write_minutes(csv, desk_morning(120), TZ)
    config = inprocess_config(tmp_path, broker, devices=[
        {"kind": "replay", "path": str(csv), "speed": 60}])
    t9 = at_local(DAY, "09:00")
    # A clock that moves only when the test says (speed 0.5: its interval
    # job would first run after 120 s; the test runs it itself).
    mono = [0.0]
    clock = Clock(speed=0.5, origin=t9 * 60.0, monotonic=lambda: mono[0])

    def set_clock(t: float) -> None:
        mono[0] = (t - t9 * 60.0) / 0.5

    async def body(daemon: ProbedDaemon) -> None:
        set_clock((t9 + 39) * 60 + 59)
        await daemon.due("minutes", datetime.now(UTC))
        assert daemon.engine.next_minute == t9 + 39
        set_clock((t9 + 40) * 60 + 0.5)  # minute 09:39 is over; the job has not run
        phone = Phone.open(broker)
        try:
            reply = await asyncio.to_thread(phone.send, "dnd", {"minutes": 30}, "dnd-1")
        finally:
            phone.close()
        assert reply == {"ok": True}
        await daemon.due("minutes", datetime.now(UTC))
        set_clock((t9 + 100) * 60 + 1)
        await daemon.due("minutes", datetime.now(UTC))

    asyncio.run(asyncio.wait_for(with_daemon(config, clock, body), 60))
    db = tmp_path / "pacer.sqlite3"
    applied = command_times(db)
    assert applied == {"dnd-1": (t9 + 40) * 60 + 0.5}
    events = tmp_path / "events.jsonl"
    events_file(events, [("dnd-1", "dnd", {"minutes": 30})], applied)
    ref_dir = tmp_path / "reference"
    ref_dir.mkdir()
    ref = reference_replay(ref_dir, csv, write_config(ref_dir, broker), events)
    daemon_prompts = [(k, t - t9) for _, k, t, _ in prompt_view(db)]
    replay_prompts = [(k, t - t9) for _, k, t, _ in prompt_view(ref)]
    print("daemon:", daemon_prompts, "replay:", replay_prompts)
    assert ("sitting_break", 40) in replay_prompts
    assert daemon_prompts == replay_prompts


def test_stop_right_after_the_publisher_was_woken_still_ends_the_daemon(
    tmp_path: Path, broker: PrivateBroker
) -> None:
    """SIGTERM in the loop step right after a minute or a command woke the
    publisher: the daemon still ends (on Python 3.11 asyncio.wait_for swallowed
    that cancellation, the task group never finished and systemd would have
    had to SIGKILL it after TimeoutStopSec, with no STOPPING=1 and no flush)."""
    config = inprocess_config(tmp_path, broker)
    result: dict[str, Any] = {}

    async def main() -> None:
        with Store.open(config.storage.path) as store:
            daemon = Daemon(config, store=store)
            task = asyncio.create_task(daemon.run())
            await until_async(lambda: daemon.link.connected, 10, "the daemon to connect")
            await until_async(lambda: not daemon._wake_publisher.is_set(), 5, "a quiet moment")
            # What _take and _command do when they queue a message, then SIGTERM.
            daemon._wake_publisher.set()
            daemon.stop()
            done, _ = await asyncio.wait({task}, timeout=8)
            result["stopped"] = bool(done)
            if not done:  # unwedge it so the test itself ends
                stuck = [t for t in asyncio.all_tasks() if t.get_name() == "publisher"]
                result["stuck"] = [repr(t)[:120] for t in stuck]
                for t in stuck:
                    t.cancel()
                await asyncio.wait_for(task, 10)

    asyncio.run(asyncio.wait_for(main(), 60))
    print(result)
    assert result["stopped"], result


# --- 5. SIGKILLs in the middle of a desk day -----------------------------------------------------

RECOVERY_SEED = 20260310
RECOVERY_SPEED = 2400  # a clock minute every 25 ms: the day in about 35 s


def recovery_day() -> list[Epoch]:
    return segments(DAY, [
        ("07:00", "08:00", 10, U),
        ("08:00", "10:00", 0, S),  # prompt 08:40, snoozed for 30 min
        ("10:00", "10:10", 100, W),
        ("10:10", "12:30", 0, S),  # prompt 10:50, then do-not-disturb for an hour
        ("12:30", "12:45", 100, W),  # red reported during this walk: settle, limit 30
        ("12:45", "15:00", 0, S),
        ("15:00", "15:10", 100, W),
        ("15:10", "17:30", 0, S),
        ("17:30", "18:00", 100, W),
        ("18:00", "+104:10", 0, S),  # the sofa, then the night
    ])


def hm(minute: int) -> str:
    return iso(minute, TZ)[11:16]


def test_sigkills_during_a_desk_day_change_nothing(
    tmp_path: Path, broker: PrivateBroker, proc_daemon: list[DaemonProcess]
) -> None:
    """A desk day at 2400x with a snooze, a do-not-disturb and a red report
    sent over MQTT, and the daemon SIGKILLed at random moments (seeded): while
    the snooze holds, just after the do-not-disturb and while it holds, while
    the settle plan is in force, and twice more later. After every restart
    the day goes on as it was, and the result equals `pacer replay --store` of
    the same minutes with the same commands at the clock times the daemon
    applied them: the same prompts (ids, kinds, times, reasons), outcomes and
    final daily summary."""
    rng = random.Random(RECOVERY_SEED)
    print(f"seed {RECOVERY_SEED}")
    epochs = recovery_day()
    csv = tmp_path / "day.csv"
    write_minutes(csv, epochs, TZ)
    cfg = write_config(tmp_path, broker, csv=csv, speed=RECOVERY_SPEED)
    d = DaemonProcess(cfg)
    proc_daemon.append(d)
    db = d.db
    at = {name: at_local(DAY, name) for name in ("08:40", "08:53", "10:50", "11:03",
                                                  "12:35", "13:12", "13:30", "18:00")}
    night = at_local(DAY + timedelta(days=1), "03:00")
    end = at_local(DAY + timedelta(days=1), "04:09")
    kills: list[tuple[str, str]] = []

    def run_to(minute: int, timeout: float = 60) -> None:
        def there() -> bool:
            d.check_alive()
            return (last_minute(db) or 0) >= minute
        wait_until(there, timeout, f"the daemon to store {hm(minute)}", interval=0.002,
                   diagnose=lambda: d.log()[-3000:])

    def kill_and_restart(why: str) -> None:
        time.sleep(rng.uniform(0, 60 / RECOVERY_SPEED))  # anywhere inside a minute job
        d.kill()
        kills.append((why, hm(last_minute(db) or 0)))
        time.sleep(rng.uniform(0, 0.3))  # down for a moment
        d.start()

    def applied(cmd_id: str) -> float:
        return float(wait_until(lambda: command_times(db).get(cmd_id), 10, cmd_id))

    prompt_sub = Collector(broker.host, broker.port, f"pacer/{USER}/prompt")
    event_sub = Collector(broker.host, broker.port, f"pacer/{USER}/event")
    phone = Phone.open(broker)
    try:
        d.start()
        # The 08:40 prompt: snooze it for 30 minutes; killed while it holds.
        wait_until(lambda: any(p[1] == "sitting_break" and p[2] == at["08:40"]
                               for p in prompt_view(db)), 60, "the 08:40 prompt",
                   interval=0.002)
        assert phone.send("ack", {"prompt": "last", "action": "snooze", "minutes": 30},
                          "snooze-1") == {"ok": True}
        snooze_at = applied("snooze-1")
        run_to(rng.randint(int(snooze_at // 60) + 1, at["08:53"]))
        kill_and_restart("snooze holds")

        # The 10:50 prompt: do-not-disturb for an hour; killed at once, and again.
        wait_until(lambda: any(p[2] == at["10:50"] for p in prompt_view(db)), 60,
                   "the 10:50 prompt", interval=0.002)
        assert phone.send("dnd", {"minutes": 60}, "dnd-1") == {"ok": True}
        kill_and_restart("just after do-not-disturb")
        dnd_at = applied("dnd-1")
        run_to(rng.randint(int(dnd_at // 60) + 1, at["11:03"]))
        kill_and_restart("do-not-disturb holds")

        # Red, during the 12:30 walk: the settle plan; killed while the new
        # sitting limit (30) has yet to show.
        run_to(at["12:35"])
        assert phone.send("symptom", {"level": "red", "pain": 6}, "red-1") == {"ok": True}
        red_at = applied("red-1")
        run_to(rng.randint(int(red_at // 60) + 1, at["13:12"]))
        kill_and_restart("settle plan in force")

        run_to(rng.randint(at["13:30"], at["18:00"]))
        kill_and_restart("afternoon")
        run_to(rng.randint(at["18:00"], night))
        kill_and_restart("evening or night")

        run_to(end)
        wait_until(lambda: "2026-03-10" in final_days(db), 20, "the final summary")
        wait_until(lambda: scalar(db, "SELECT count(*) FROM outbox") == 0, 20,
                   "the outbox to drain")
        assert d.terminate() == 0
    finally:
        phone.close()
        prompt_sub.close()
        event_sub.close()
    print("kills (why, last minute stored):", kills)
    assert len(kills) == 6
    assert d.log().count("resuming alice after") == 6

    # Every minute of the file stored once, as it was in the file.
    rows = stored_minutes(db)
    first = epochs[0].start
    assert [m for m, _, _ in rows] == list(range(first, rows[-1][0] + 1))
    by_minute = {m: (s, p) for m, s, p in rows}
    assert all(by_minute[e.start] == (e.steps, e.posture.value) for e in epochs)

    # The reference: the same minutes and commands, undisturbed.
    sent = phone.sent
    times = command_times(db)
    assert set(times) == {"snooze-1", "dnd-1", "red-1"}  # each applied once
    events = tmp_path / "events.jsonl"
    events_file(events, sent, times)
    ref = reference_replay(tmp_path, csv, cfg, events)
    mine, theirs = prompt_view(db), prompt_view(ref)
    print("prompts:", [(k, hm(t)) for _, k, t, _ in mine])
    assert mine == theirs
    assert len({p[0] for p in mine}) == len(mine)
    assert outcomes(db) == outcomes(ref)
    assert final_days(db)["2026-03-10"] == final_days(ref)["2026-03-10"]

    # The commands held across the kills.
    snooze_end, dnd_end = snooze_at + 30 * 60, dnd_at + 60 * 60
    assert not [p for p in mine if p[1] == "sitting_break"
                and snooze_at < p[2] * 60 < snooze_end]
    assert not [p for p in mine if p[1] != "red_flag" and dnd_at < p[2] * 60 < dnd_end]
    # One prompt when each ends (the bout is past its limit), none before.
    assert [hm(p[2]) for p in mine if p[1] == "sitting_break"
            and snooze_end <= p[2] * 60 < snooze_end + 120] != []
    assert [p for p in mine if p[1] == "sitting_break"
            and dnd_end <= p[2] * 60 < dnd_end + 120] != []
    assert [p[1] for p in mine].count("settle_plan") == 1
    settle_sit = [json.loads(p[3]) for p in mine if p[1] == "sitting_break"
                  and p[2] > red_at / 60]
    assert settle_sit
    assert {r["limit_min"] for r in settle_sit} == {30}
    assert next(hm(p[2]) for p in mine if p[1] == "sitting_break" and p[2] > red_at / 60) \
        == "13:15"
    stored_outcomes = {o[0]: o[2] for o in outcomes(db)}
    assert "snoozed" in stored_outcomes.values()

    # On the wire: a prompt id is never reused for another message, and no
    # outcome is lost (QoS 1 from a durable outbox: a message may come twice
    # after a SIGKILL between the broker's PUBACK and the outbox delete).
    stored = {p["id"]: p for p in prompts(db)}
    got: dict[str, bytes] = {}
    for m in prompt_sub.messages:
        body = json.loads(m.payload)
        assert body["id"] in stored
        assert got.setdefault(body["id"], m.payload) == m.payload
    print(f"{len(prompt_sub.messages)} prompt messages for {len(got)} of {len(stored)} "
          "stored prompts (a prompt may expire in the outbox while the daemon is down)")
    seen = {(json.loads(m.payload)["prompt"], json.loads(m.payload)["outcome"])
            for m in event_sub.messages if json.loads(m.payload).get("type") == "outcome"}
    assert set(stored_outcomes.items()) <= seen


def test_every_line_of_a_traceback_keeps_its_priority_for_journald() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logging.LogRecord("pacer.x", logging.ERROR, __file__, 1, "failed: %s",
                                   ("job",), sys.exc_info())
    lines = JournalFormatter().format(record).split("\n")
    assert lines[0] == "<3>ERROR pacer.x: failed: job"
    assert len(lines) > 2
    assert all(line.startswith("<3>") for line in lines)
    assert lines[-1] == "<3>RuntimeError: boom"
