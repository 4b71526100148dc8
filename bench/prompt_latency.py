"""Latency of a prompt: from the minute that causes it entering the daemon to
the prompt arriving at a phone through mosquitto.

The real ``Daemon`` (the code of ``pacer run``) runs in this process with a
replay device at a high clock speed and sitting rules that fire often (limit
15, repeat 5, max_repeats 10, max_per_hour 20, min_gap 0; a waking window of
almost the whole day; one step-rich minute after each 65 sitting minutes ends
the bout, so each bout gives 11 prompts). The replay feed's ``epoch`` method is
wrapped to record the wall-clock time at which the daemon takes each minute:
that is when the sample enters the engine. Everything after it is measured:
the engine, the SQLite commit of the minute (WAL, synchronous=FULL), waking
the publisher, the outbox read, paho, a private mosquitto on a free loopback
port (the shipped config's plain loopback listener; persistence on), and a
plain paho subscriber in a separate process that notes the arrival time
(both processes read the same system clock).

    .venv/bin/python bench/prompt_latency.py [--prompts 1000] [--speed 3000]

At speed S a sitting prompt lives 5 clock minutes = 300/S real seconds; a
prompt that waits longer in the outbox is dropped as expired, so very slow
prompts would go missing instead of being measured. The report therefore
counts the prompts the daemon made, those that arrived, and those dropped as
expired; the default speed (3000: 100 ms of life) keeps that bound well above
the target (p99 under 50 ms). The time the minute job waits for its tick is
not included (a live wearable's minute is taken one second after it ends).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pacer.config import parse_config
from pacer.daemon.app import Daemon
from pacer.engine.model import Epoch
from pacer.mqtt.broker import PrivateBroker
from pacer.store import Store

USER = "bench"
START = datetime(2026, 1, 5, 4, 0, tzinfo=UTC)  # a Monday, at day.start
SITTING, STEPPING = 65, 1  # one bout: 11 prompts (at 15, 20, ..., 65 minutes)
PROMPTS_PER_DAY = 1440 // (SITTING + STEPPING) * 11

SUBSCRIBER = r"""
import sys, time
from paho.mqtt import client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
host, port, topic, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
f = open(out, "w", buffering=1)
def on_connect(c, u, flags, rc, p):
    c.subscribe(topic, qos=1)
def on_subscribe(c, u, mid, rcs, p):
    print("ready", flush=True)
def on_message(c, u, msg):
    f.write(f"{time.time():.6f} {msg.payload.decode()}\n")
c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-phone",
                protocol=MQTTProtocolVersion.MQTTv5)
c.on_connect, c.on_subscribe, c.on_message = on_connect, on_subscribe, on_message
c.connect(host, port, keepalive=30)
try:
    c.loop_forever()
except KeyboardInterrupt:
    pass
"""


def minutes_csv(path: Path, days: int) -> None:
    rows = ["time,steps,posture"]
    t = START
    end = START + timedelta(days=days)
    while t < end:
        for _ in range(SITTING):
            rows.append(f"{t.isoformat()},0,sitting")
            t += timedelta(minutes=1)
        for _ in range(STEPPING):
            rows.append(f"{t.isoformat()},120,walking")
            t += timedelta(minutes=1)
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def config(tmp: Path, broker: PrivateBroker, speed: float) -> Any:
    return parse_config({
        "user": {"id": USER, "timezone": "UTC"},
        "devices": [{"kind": "replay", "path": str(tmp / "minutes.csv"), "speed": speed}],
        "mqtt": {"url": broker.url, "protocol": broker.protocol},
        "storage": {"path": str(tmp / "pacer.sqlite3")},
        "day": {"start": "04:00", "wake": "04:00", "sleep": "03:59"},
        "sitting": {"limit_min": 15, "repeat_min": 5, "max_repeats": 10},
        "prompts": {"max_per_hour": 20, "min_gap_min": 0},
        "walks": {"per_day": 0, "times": []},
    }, "bench")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ranked = sorted(values)
    return ranked[max(0, math.ceil(q / 100 * len(ranked)) - 1)]


async def run_daemon(tmp: Path, broker: PrivateBroker, *, speed: float, prompts: int,
                     arrivals: Path, timeout: float) -> tuple[dict[int, float], Daemon, float]:
    taken: dict[int, float] = {}
    with Store.open(tmp / "pacer.sqlite3") as store:
        daemon = Daemon(config(tmp, broker, speed), store=store)
        feed = daemon.feed
        assert feed is not None
        original = feed.epoch

        def epoch(minute: int) -> Epoch:
            taken[minute] = time.time()  # the minute enters the daemon
            return original(minute)

        feed.epoch = epoch  # type: ignore[method-assign]
        started = time.monotonic()
        runner = asyncio.create_task(daemon.run(), name="daemon")
        try:
            while time.monotonic() - started < timeout:
                await asyncio.sleep(0.5)
                if runner.done():
                    break
                with arrivals.open(encoding="utf-8") as f:
                    if sum(1 for _ in f) >= prompts:
                        break
            await asyncio.sleep(1.0)  # the last ones in flight
        finally:
            daemon.stop()
            await runner
        elapsed = time.monotonic() - started
    return taken, daemon, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prompts", type=int, default=1000, help="prompts to measure")
    parser.add_argument("--speed", type=float, default=3000.0,
                        help="replay clock speed (default 3000: a minute every 20 ms)")
    parser.add_argument("--timeout", type=float, default=600.0, help="give up after (s)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="pacer-bench-") as name:
        tmp = Path(name)
        days = math.ceil(args.prompts / PROMPTS_PER_DAY) + 1
        minutes_csv(tmp / "minutes.csv", days)
        logging.basicConfig(filename=tmp / "daemon.log", level=logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        arrivals = tmp / "arrivals.txt"
        arrivals.touch()
        with PrivateBroker(backend="mosquitto") as broker:
            phone = subprocess.Popen(
                [sys.executable, "-c", SUBSCRIBER, broker.host, str(broker.port),
                 f"pacer/{USER}/prompt", str(arrivals)],
                stdout=subprocess.PIPE, text=True)
            try:
                assert phone.stdout is not None
                if phone.stdout.readline().strip() != "ready":
                    raise SystemExit("the subscriber did not start")
                taken, daemon, elapsed = asyncio.run(
                    run_daemon(tmp, broker, speed=args.speed, prompts=args.prompts,
                               arrivals=arrivals, timeout=args.timeout))
            finally:
                phone.terminate()
                phone.wait(10)
            mosquitto_log = broker.log_tail(5)
        log_text = (tmp / "daemon.log").read_text(encoding="utf-8")
        with Store.open(tmp / "pacer.sqlite3") as store:
            made = len(store.prompts(USER))
        lines = arrivals.read_text(encoding="utf-8").splitlines()

    latencies = []
    ids = set()
    for line in lines:
        at, payload = line.split(" ", 1)
        prompt = json.loads(payload)
        ids.add(prompt["id"])
        minute = int(datetime.fromisoformat(prompt["time"]).timestamp() // 60) - 1
        latencies.append((float(at) - taken[minute]) * 1000)
    expired = log_text.count("expired before sending") + sum(
        int(part.split(" queued message")[0].rsplit(" ", 1)[-1])
        for part in log_text.splitlines() if "queued message(s) expired" in part)
    print(f"speed {args.speed:g}x (a clock minute every {60000 / args.speed:.1f} ms, "
          f"a sitting prompt lives {300000 / args.speed:.0f} ms); {elapsed:.1f} s")
    print(f"prompts made {made}, received {len(latencies)} ({len(ids)} distinct ids), "
          f"dropped as expired {expired}")
    if latencies:
        print(f"latency ms: median {statistics.median(latencies):.2f}  "
              f"p90 {percentile(latencies, 90):.2f}  p99 {percentile(latencies, 99):.2f}  "
              f"max {max(latencies):.2f}  mean {statistics.fmean(latencies):.2f}  "
              f"(n={len(latencies)})")
    if latencies and expired:
        # A dropped prompt took longer than its life: count it as slower than any.
        censored = latencies + [math.inf] * expired
        print(f"with the {expired} dropped prompts counted as slower than "
              f"{300000 / args.speed:.0f} ms: median {statistics.median(censored):.2f}  "
              f"p99 {percentile(censored, 99):.2f}  (n={len(censored)})")
    if daemon.rejected or "Traceback" in log_text:
        print("the daemon logged errors; see its log", mosquitto_log)
    return 0 if len(latencies) >= args.prompts else 1


if __name__ == "__main__":
    sys.exit(main())
