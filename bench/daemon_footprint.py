"""The daemon's footprint: memory after a simulated week with two wearables,
CPU time per simulated hour, time from start to the first wearable connected,
and what each top dependency costs in memory.

The wearables are the virtual InfiniTime watch and the virtual RSC foot pod
(devices/virtual, bumble). They normally live in the daemon's process (the
demo, the tests), where their bumble devices and controllers would be counted
as the daemon's own. Here they run in a separate "world" process by default:
the world holds the virtual link, the two peripherals and the central's
virtual controller, and exposes that controller as an HCI transport over TCP
on loopback; the daemon process runs the real ``Daemon`` (the code of ``pacer
run``) with a bumble host stack on that transport behind ordinary bleak code,
much as ``pacer run`` on a Pi talks HCI through BlueZ. The daemon process
still holds bumble's host stack, which a Pi replaces with bleak's BlueZ
backend (dbus-fast); the dependency table shows both. The in-process layout
(everything in one process, as in the demo) is measured too, and so is the
real ``pacer run`` command on a replay device for the same week.

The world walks the watch in bursts and sends foot-pod measurements a few
times a second of real time, so at an accelerated clock the daemon sees far
fewer notifications per simulated hour than on a wrist; the CPU time of real
time is therefore measured as well, over a stretch at speed 1 with the pod
notifying once a second.

    .venv/bin/python bench/daemon_footprint.py [--days 7] [--speed 5000]
        [--starts 5] [--realtime-s 30] [--skip inproc,replay,realtime]

Needs mosquitto and the ``virtual`` extra (bumble). Linux only (/proc).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import math
import os
import random
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
TZ_NAME = "Europe/London"
TZ = ZoneInfo(TZ_NAME)
START = datetime(2026, 3, 2, 4, 0, tzinfo=TZ)  # a Monday, at day.start
CENTRAL = "C0:00:00:00:00:00"
WATCH = "F0:00:00:00:00:01"
POD = "F0:00:00:00:00:02"
RSS_TARGET_MB = 60.0
CONNECT_TARGET_S = 2.0

# What the daemon imports, and what the wearables bring; each in a fresh interpreter.
DEPENDENCIES = (
    "sqlite3",
    "paho.mqtt.client",
    "apscheduler.schedulers.asyncio",
    "pydantic",
    "numpy",
    "bleak",
    "bleak.backends.bluezdbus.client",  # what bleak loads on a Pi (dbus-fast)
    "bumble.device",  # the host stack standing in for BlueZ here
    "devices.virtual",  # bumble with the virtual peripherals and controllers
    "pacer.daemon.app",  # the daemon with everything it imports at start
)


# What ``pacer run`` itself loads on a Pi with wearables (bumble is only the
# stand-in for BlueZ here, numpy only for ``pacer epochs``; the week's runs
# below list what the daemon process really loaded).
PI_DAEMON = ("paho.mqtt.client", "apscheduler.schedulers.asyncio", "pydantic",
             "bleak.backends.bluezdbus.client")


# --- measuring a process --------------------------------------------------------------------


def proc_status(pid: int | str = "self") -> dict[str, float]:
    """VmRSS and VmHWM (peak RSS) of a process, in MB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) / 1024
    return out


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a running process (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def self_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def top_packages() -> list[str]:
    """The third-party top-level packages loaded in this process."""
    std = set(sys.stdlib_module_names)
    names = {m.split(".")[0] for m in sys.modules}
    return sorted(n for n in names if n not in std and not n.startswith("_")
                  and n not in ("pacer", "devices"))


def emit(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


# --- role: one import in a fresh interpreter -------------------------------------------------


def role_import(module: str, traced: bool) -> None:
    """RSS growth and import time; or, in another interpreter (tracemalloc
    slows imports and adds its own memory), the Python allocations that stay."""
    before = proc_status()["VmRSS"]
    if traced:
        tracemalloc.start()
    t = time.perf_counter()
    try:
        importlib.import_module(module)
    except ImportError as exc:
        emit(module=module, error=str(exc))
        return
    took = time.perf_counter() - t
    if traced:
        emit(module=module, traced_mb=tracemalloc.get_traced_memory()[0] / 2**20)
        return
    emit(module=module, rss_mb=proc_status()["VmRSS"] - before, import_s=took, base_mb=before)


# --- role: the world (the two virtual wearables) ---------------------------------------------


async def _walk(watch: Any, pod: Any, *, speed: float, rng: random.Random) -> None:
    """Bursts of walking on the watch; the pod notifies a cadence a few times a
    real second (once a second at speed 1)."""
    period = 1.0 if speed == 1 else 0.25
    while True:
        if rng.random() < 0.5:
            await watch.walk(rng.randint(10, 120), per_notification=20)
        await pod.measure(rng.choice((0, 0, 60, 95, 110)))
        if rng.random() < 0.01:
            await watch.set_battery(rng.randint(20, 100))
        await asyncio.sleep(period)


async def role_world(speed: float, seed: int) -> None:
    from bumble.link import LocalLink  # noqa: PLC0415 - the virtual extra
    from bumble.transport.tcp_server import (  # noqa: PLC0415
        open_tcp_server_transport_with_socket,
    )

    from devices.virtual import VirtualFootPod, VirtualWatch  # noqa: PLC0415
    from devices.virtual.controller import CancellingController  # noqa: PLC0415

    link = LocalLink()  # type: ignore[no-untyped-call]
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    transport = await open_tcp_server_transport_with_socket(sock)
    CancellingController("pacer", host_source=transport.source, host_sink=transport.sink,
                         link=link, public_address=CENTRAL)
    watch = VirtualWatch(link, address=WATCH)
    pod = VirtualFootPod(link, address=POD)
    await watch.start()
    await pod.start()
    emit(event="world", port=sock.getsockname()[1], pid=os.getpid())
    await _walk(watch, pod, speed=speed, rng=random.Random(seed))


# --- role: the daemon -------------------------------------------------------------------------


def _config(workdir: Path, broker_url: str) -> Any:
    from pacer.config import parse_config  # noqa: PLC0415

    return parse_config({
        "user": {"id": "bench", "timezone": TZ_NAME},
        "devices": [{"kind": "infinitime", "address": WATCH, "placement": "wrist"},
                    {"kind": "rsc", "address": POD, "placement": "foot"}],
        "mqtt": {"url": broker_url},
        "storage": {"path": str(workdir / "pacer.sqlite3")},
    })


@contextlib.asynccontextmanager
async def _central_over_tcp(port: int) -> AsyncIterator[Any]:
    from bumble import hci  # noqa: PLC0415
    from bumble.device import Device  # noqa: PLC0415
    from bumble.transport import open_transport  # noqa: PLC0415

    from devices.virtual import Central  # noqa: PLC0415

    transport = await open_transport(f"tcp-client:127.0.0.1:{port}")
    device = Device.with_hci("pacer", hci.Address(CENTRAL), transport.source, transport.sink)
    await device.power_on()
    try:
        yield Central(device)
    finally:
        await device.power_off()
        await transport.close()


@contextlib.asynccontextmanager
async def _central_in_process(speed: float, seed: int) -> AsyncIterator[Any]:
    from devices.virtual import virtual_world  # noqa: PLC0415

    async with virtual_world(watches=1, foot_pods=1) as world:
        walker = asyncio.create_task(_walk(world.watches[0], world.foot_pods[0], speed=speed,
                                           rng=random.Random(seed)))
        try:
            yield world.central
        finally:
            walker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await walker


async def role_daemon(args: argparse.Namespace) -> None:
    started_s = time.time() - args.t0  # the interpreter is up
    import bumble.device  # noqa: F401, PLC0415 - timed apart: a Pi has BlueZ instead

    bumble_s = time.time() - args.t0
    from pacer.daemon.app import Daemon  # noqa: PLC0415
    from pacer.daemon.clock import Clock  # noqa: PLC0415
    from pacer.store import Store  # noqa: PLC0415

    imported_s = time.time() - args.t0

    workdir = Path(args.workdir)
    config = _config(workdir, args.broker)
    central_cm = (_central_over_tcp(args.hci) if args.hci else
                  _central_in_process(args.speed, args.seed))
    async with central_cm as central:
        origin = START.timestamp() if args.speed != 1 else None
        clock = Clock(speed=args.speed, origin=origin)
        began = clock.now()
        with Store.open(config.storage.path) as store:
            daemon = Daemon(config, store=store, clock=clock,
                            ble_backend=central.client_backend(),
                            ble_scanner_backend=central.scanner_backend())
            task = asyncio.create_task(daemon.run())

            def connected() -> int:
                return sum(d["connected"] for d in daemon.ble.devices()) if daemon.ble else 0

            while not connected():
                if task.done():
                    await task
                await asyncio.sleep(0.002)
            emit(event="connected", since_start=time.time() - args.t0, started_s=started_s,
                 bumble_s=bumble_s, imported_s=imported_s)
            while connected() < 2 and clock.now() - began < 600:
                await asyncio.sleep(0.01)
            cpu0, t0, sim0 = self_cpu(), time.monotonic(), clock.now()
            while clock.now() - began < args.sim_s:
                if task.done():
                    await task
                await asyncio.sleep(0.05)
            status = proc_status()
            emit(event="done", rss_mb=status["VmRSS"], hwm_mb=status["VmHWM"],
                 cpu_s=self_cpu() - cpu0, real_s=time.monotonic() - t0,
                 sim_h=(clock.now() - sim0) / 3600, behind_min=clock.now() / 60
                 - (daemon.engine.next_minute or 0), both_connected=connected(),
                 minutes=len(store.epochs("bench", 0, 2**40)),
                 steps=sum(e.steps for e in store.epochs("bench", 0, 2**40)),
                 packages=top_packages())
            daemon.stop()
            await asyncio.wait_for(task, 20)


# --- the orchestra ------------------------------------------------------------------------------


def _spawn(*args: str, nice: int = 0) -> subprocess.Popen[str]:
    prefix = ["nice", "-n", str(nice)] if nice else []
    return subprocess.Popen([*prefix, sys.executable, __file__, *args], stdout=subprocess.PIPE,
                            text=True, cwd=REPO)


def _line(proc: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
    """The next JSON line a child prints (bounded wait)."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"child exited with {proc.wait()}")
        with contextlib.suppress(ValueError):
            value: dict[str, Any] = json.loads(line)
            return value
    raise TimeoutError("no answer from the child")


@contextlib.contextmanager
def world(speed: float, seed: int) -> Iterator[tuple[int, int]]:
    proc = _spawn("--role", "world", "--speed", str(speed), "--seed", str(seed))
    try:
        hello = _line(proc, 30)
        yield hello["port"], hello["pid"]
    finally:
        proc.terminate()
        proc.wait(10)


def run_daemon(broker_url: str, *, speed: float, sim_s: float, hci: int | None,
               seed: int, timeout: float) -> tuple[dict[str, Any], dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="pacer-footprint-") as tmp:
        t0 = time.time()
        args = ["--role", "daemon", "--workdir", tmp, "--broker", broker_url,
                "--speed", str(speed), "--sim-s", str(sim_s), "--seed", str(seed),
                "--t0", repr(t0)]
        if hci is not None:
            args += ["--hci", str(hci)]
        proc = _spawn(*args)
        try:
            first = _line(proc, 60)
            done = _line(proc, timeout)
            proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        return first, done


def imports_table() -> list[dict[str, Any]]:
    rows = []
    for module in DEPENDENCIES:
        row: dict[str, Any] = {}
        for extra in ([], ["--traced"]):
            proc = subprocess.run(
                [sys.executable, __file__, "--role", "import", "--module", module, *extra],
                capture_output=True, text=True, timeout=120, check=True, cwd=REPO)
            row.update(json.loads(proc.stdout.strip().splitlines()[-1]))
        rows.append(row)
    return rows


def replay_week(broker_url: str, days: float, speed: float) -> dict[str, Any]:
    """``pacer run`` (the command itself) on a replay device for ``days``."""
    from pacer import simulate  # noqa: PLC0415
    from pacer.timebase import iso  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="pacer-footprint-") as tmp:
        work = Path(tmp)
        epochs = list(simulate.minutes(START.date(), math.ceil(days), TZ_NAME, 20260302))
        epochs = epochs[:round(days * 1440)]
        words = {"sedentary": "sitting", "upright": "standing", "stepping": "walking"}
        with (work / "week.csv").open("w") as f:
            f.write("time,steps,posture\n")
            for e in epochs:
                if e.posture.value in words:
                    f.write(f"{iso(e.start, TZ)},{e.steps},{words[e.posture.value]}\n")
        (work / "pacer.toml").write_text(
            f'[user]\nid = "bench"\ntimezone = "{TZ_NAME}"\n\n[[devices]]\nkind = "replay"\n'
            f'path = "week.csv"\nspeed = {speed}\n\n[mqtt]\nurl = "{broker_url}"\n\n'
            '[storage]\npath = "pacer.sqlite3"\n', encoding="utf-8")
        end = epochs[-1].start
        proc = subprocess.Popen([sys.executable, "-m", "pacer", "run", "--config", "pacer.toml"],
                                cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import sqlite3  # noqa: PLC0415

        try:
            last = 0
            while last < end:
                time.sleep(0.2)
                if proc.poll() is not None:
                    raise RuntimeError(f"pacer run exited with {proc.returncode}")
                with contextlib.suppress(sqlite3.OperationalError):
                    conn = sqlite3.connect(work / "pacer.sqlite3")
                    last = conn.execute("SELECT MAX(minute) FROM epochs").fetchone()[0] or 0
                    conn.close()
            status, cpu = proc_status(proc.pid), proc_cpu(proc.pid)
            proc.terminate()
            proc.wait(20)
        finally:
            if proc.poll() is None:
                proc.kill()
        return {"rss_mb": status["VmRSS"], "hwm_mb": status["VmHWM"], "cpu_s": cpu,
                "sim_h": len(epochs) / 60}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--role", default="main",
                        choices=("main", "import", "world", "daemon"))
    parser.add_argument("--module")
    parser.add_argument("--traced", action="store_true")
    parser.add_argument("--workdir")
    parser.add_argument("--broker")
    parser.add_argument("--hci", type=int)
    parser.add_argument("--sim-s", type=float, default=0.0)
    parser.add_argument("--t0", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=20260302)
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--speed", type=float, default=5000.0)
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--realtime-s", type=float, default=30.0)
    parser.add_argument("--skip", default="", help="comma-separated: inproc, replay, realtime")
    args = parser.parse_args()
    if args.role == "import":
        role_import(args.module, args.traced)
        return
    if args.role == "world":
        asyncio.run(role_world(args.speed, args.seed))
        return
    if args.role == "daemon":
        asyncio.run(role_daemon(args))
        return
    orchestrate(args)


def _mb(x: float) -> str:
    return f"{x:6.1f} MB"


def orchestrate(args: argparse.Namespace) -> None:
    from pacer.mqtt.broker import PrivateBroker  # noqa: PLC0415

    skip = set(filter(None, args.skip.split(",")))
    sim_s = args.days * 86400
    week_timeout = sim_s / args.speed * 4 + 120
    print(f"pacer daemon footprint: {args.days:g} simulated days at {args.speed:g}x, "
          f"two virtual wearables (InfiniTime watch, RSC foot pod), seed {args.seed}; "
          f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.2f}")

    print("\nMemory each dependency costs, imported alone in a fresh interpreter "
          "(RSS growth; Python allocations by tracemalloc):")
    rows = imports_table()
    base = rows[0].get("base_mb", 0.0)
    print(f"  {'(bare interpreter)':34} {_mb(base)} RSS")
    for r in rows:
        if "error" in r:
            print(f"  {r['module']:34} not importable: {r['error']}")
            continue
        print(f"  {r['module']:34} +{_mb(r['rss_mb'])} RSS  {_mb(r['traced_mb'])} traced  "
              f"import {r['import_s'] * 1000:5.0f} ms")
    ok = [r for r in rows if "error" not in r]
    third = [r for r in ok if not r["module"].startswith(("pacer", "devices", "sqlite3"))]
    worst = max(third, key=lambda r: r["rss_mb"])
    own = max((r for r in ok if r["module"] in PI_DAEMON), key=lambda r: r["rss_mb"])
    print(f"  the costliest of these: {worst['module']} (+{worst['rss_mb']:.1f} MB RSS); of what "
          f"`pacer run` loads on a Pi with wearables ({', '.join(PI_DAEMON)}): "
          f"{own['module']} (+{own['rss_mb']:.1f} MB RSS)")

    with PrivateBroker() as broker:
        print(f"\nTime from start to the first wearable connected ({args.starts} starts of a "
              "fresh daemon process, the wearables already advertising in the world process):")
        starts = []
        for i in range(args.starts):
            with world(args.speed, args.seed + i) as (port, _pid):
                first, _ = run_daemon(broker.url, speed=args.speed, sim_s=0, hci=port,
                                      seed=args.seed, timeout=60)
            starts.append(first)
        times = [f["since_start"] for f in starts]
        print(f"  median {statistics.median(times):.2f} s (runs: "
              f"{', '.join(f'{t:.2f}' for t in times)}; target < {CONNECT_TARGET_S:g} s)")
        med = {k: statistics.median(f[k] for f in starts)
               for k in ("since_start", "started_s", "bumble_s", "imported_s")}
        print(f"  of which (medians): the interpreter's start {med['started_s']:.2f} s, importing "
              f"bumble's host stack {med['bumble_s'] - med['started_s']:.2f} s, importing the "
              f"daemon {med['imported_s'] - med['bumble_s']:.2f} s, from there to connected "
              f"{med['since_start'] - med['imported_s']:.2f} s; without the bumble import "
              "(on a Pi bleak talks to BlueZ) "
              f"{med['since_start'] - med['bumble_s'] + med['started_s']:.2f} s")

        print("\nA simulated week, the wearables in a separate process (the daemon's own "
              "footprint, bumble's host stack included):")
        with world(args.speed, args.seed) as (port, world_pid):
            _, done = run_daemon(broker.url, speed=args.speed, sim_s=sim_s, hci=port,
                                 seed=args.seed, timeout=week_timeout)
            world_rss = proc_status(world_pid)["VmRSS"]
        _report_week(done, args.speed)
        print(f"  (the world process with the two wearables: {world_rss:.1f} MB RSS)")

        if "inproc" not in skip:
            print("\nThe same week with the wearables inside the daemon's process (as in "
                  "`pacer demo` and the tests):")
            _, done = run_daemon(broker.url, speed=args.speed, sim_s=sim_s, hci=None,
                                 seed=args.seed, timeout=week_timeout)
            _report_week(done, args.speed)

        if "replay" not in skip:
            print("\n`pacer run` itself on a replay device (no BLE), the same week:")
            r = replay_week(broker.url, args.days, args.speed)
            print(f"  RSS {r['rss_mb']:.1f} MB, peak {r['hwm_mb']:.1f} MB; CPU "
                  f"{r['cpu_s'] / r['sim_h'] * 1000:.1f} ms per simulated hour "
                  f"({r['cpu_s']:.1f} s for {r['sim_h']:.0f} h, start-up included)")

        if "realtime" not in skip:
            print(f"\nReal time (speed 1) for {args.realtime_s:g} s, the pod notifying every "
                  "second and the watch walking, wearables in the world process:")
            with world(1.0, args.seed) as (port, _pid):
                _, done = run_daemon(broker.url, speed=1.0, sim_s=args.realtime_s, hci=port,
                                     seed=args.seed, timeout=args.realtime_s + 120)
            print(f"  CPU {done['cpu_s']:.2f} s in {done['real_s']:.0f} s: "
                  f"{done['cpu_s'] / done['real_s'] * 3600:.0f} s per hour "
                  f"({done['cpu_s'] / done['real_s'] * 100:.2f} % of a core); RSS "
                  f"{done['rss_mb']:.1f} MB")


def _report_week(done: dict[str, Any], speed: float) -> None:
    ok = "within" if done["rss_mb"] <= RSS_TARGET_MB else "ABOVE"
    print(f"  RSS after the week {done['rss_mb']:.1f} MB ({ok} the {RSS_TARGET_MB:g} MB target), "
          f"peak {done['hwm_mb']:.1f} MB")
    print(f"  CPU {done['cpu_s'] / done['sim_h'] * 1000:.1f} ms per simulated hour "
          f"({done['cpu_s']:.1f} s for {done['sim_h']:.0f} h in {done['real_s']:.0f} s real; "
          f"{done['cpu_s'] / done['real_s'] * 100:.0f} % of a core at {speed:g}x)")
    print(f"  {done['minutes']} minutes stored, {done['steps']} steps; wearables connected at "
          f"the end: {done['both_connected']}; the minute job {done['behind_min']:.1f} min "
          "behind the clock")
    print(f"  third-party packages loaded: {', '.join(done['packages'])}")


if __name__ == "__main__":
    main()
