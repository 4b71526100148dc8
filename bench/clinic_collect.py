"""The clinic collector at scale: 2,000 simulated patients each publishing a
day of summaries and events, consumed by two collectors sharing one MQTT 5
subscription, compared in the same run with ``mosquitto_sub`` reading the
same stream.

A private mosquitto on a free loopback port (persistence on, as shipped;
``max_queued_messages`` large enough to hold the whole day for a consumer
that is away). Each patient's day is ``helpers.clinic.patient_day``:
prompt outcomes through the day, the partial summary at sleep and the final
one at rollover, plus its ``online`` status.

1. Two ``pacer clinic collect`` processes (group ``bench``, their own client
   ids, persistent sessions) subscribe once and stop; ``mosquitto_sub -c``
   does the same with a shared group of its own, so each message is queued
   once for the collectors' group and once for mosquitto_sub.
2. The patients publish everything (QoS 1, from 4 publisher threads).
3. The collectors start again and drain their queue into the database; timed
   from their first CONNACK (their log) to the last commit (the rows'
   ``received_at``). Then each collector's own count is read from its log.
4. ``mosquitto_sub -C <count>`` drains its queue: timed from launch to exit.

Every message must be stored exactly once: the collectors together received
each message once (no duplicates, nothing rejected), both got a share, and
the database holds one row per patient, per patient-day (two versions:
partial, then final) and per event. The ratio collector/mosquitto_sub shows
how close the collector comes to the broker's own delivery rate.

    .venv/bin/python bench/clinic_collect.py [--patients 2000] [--events 8]
        [--database postgresql://...] [--batch 200]
"""

from __future__ import annotations

import argparse
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from pacer.clinic.db import Database
from pacer.mqtt.broker import PrivateBroker

# The simulated patients' messages are test helpers (tests/helpers/, not shipped):
# this script runs from the repo, so it puts the tests' folder on the path, and
# the repo before it (tests/pacer mirrors the package's name; the package wins).
REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]
from helpers.clinic import Message, patient_day, publish_all, users  # noqa: E402

DAY = date(2026, 11, 23)
LEAVES = ("summary/#", "alert", "event", "status")
STOPPED = re.compile(r"stopped: (\d+) received \((\d+) retained copies\), (\d+) stored, "
                     r"(\d+) duplicates, (\d+) rejected")
STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}).*connected to the MQTT broker",
                   re.M)


def stream(patients: int, events: int) -> list[Message]:
    out: list[Message] = []
    for user in users(patients):
        out += patient_day(user, DAY, events=events)
        out.append((f"pacer/{user}/status", b"online", True))
    return out


@dataclass(frozen=True)
class Counts:
    """One collector's own counts, from its log line at the end."""

    received: int
    retained: int
    stored: int
    duplicates: int
    rejected: int

    @property
    def live(self) -> int:
        return self.received - self.retained


def wait(check: Callable[[], bool], timeout: float, what: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: not within {timeout:g} s: {what()}")
        time.sleep(0.05)


class CollectorProc:
    def __init__(self, work: Path, broker: PrivateBroker, n: int, database: str,
                 batch: int) -> None:
        self.config = work / f"collector-{n}.toml"
        self.config.write_text(f"""
database = "{database}"
[mqtt]
url = "{broker.url}"
[collector]
group = "bench"
client_id = "bench-collector-{n}"
batch = {batch}
""", encoding="utf-8")
        self.log = work / f"collector-{n}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() \
            else ""

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "pacer", "clinic", "collect", "--config",
                 str(self.config)], stdout=out, stderr=out, stdin=subprocess.DEVNULL)
        self.starts += 1

    def subscribed(self) -> bool:
        return self.text().count("collecting for group") >= self.starts

    def stop(self) -> Counts:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(60)
        found = STOPPED.findall(self.text())
        if not found:
            raise SystemExit(f"bench: collector ended without its counts:\n"
                             f"{self.text()[-2000:]}")
        return Counts(*(int(x) for x in found[-1]))

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def last_connack(self) -> float:
        stamps = STAMP.findall(self.text())
        if not stamps:
            sys.exit(f"bench: no time stamp on the collector's log lines:\n{self.text()[-500:]}")
        return datetime.strptime(stamps[-1], "%Y-%m-%d %H:%M:%S,%f").timestamp()


def mosquitto_sub(broker: PrivateBroker, *extra: str) -> list[str]:
    binary = shutil.which("mosquitto_sub") or "/usr/bin/mosquitto_sub"
    args = [binary, "-h", broker.host, "-p", str(broker.port), "-V", "mqttv5", "-q", "1",
            "-c", "-i", "bench-mosquitto-sub", "-x", "86400", "-F", "%t", "-R"]
    for leaf in LEAVES:
        args += ["-t", f"$share/benchsub/pacer/+/{leaf}"]
    return [*args, *extra]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--patients", type=int, default=2000)
    ap.add_argument("--events", type=int, default=8, help="prompt outcomes per patient-day")
    ap.add_argument("--database", default="", help="PostgreSQL URL (default: an SQLite file)")
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--inflight", type=int, default=None,
                    help="the broker's max_inflight_messages (mosquitto's default: 20)")
    args = ap.parse_args()

    msgs = stream(args.patients, args.events)
    total = len(msgs)
    work = Path(tempfile.mkdtemp(prefix="pacer-bench-clinic-"))
    database = args.database or str(work / "clinic.sqlite3")
    if args.database:  # a fresh schema's worth of rows: empty the tables first
        db = Database(database)
        with db.transaction() as conn:
            for table in ("patients", "summaries", "events", "alerts"):
                conn.execute(f"DELETE FROM {table}")
        db.close()
    limits = [f"max_queued_messages {2 * total}", "max_queued_bytes 0"]
    if args.inflight is not None:
        limits.append(f"max_inflight_messages {args.inflight}")
    print(f"{args.patients} patients x ({args.events} events + 2 summaries + status) = "
          f"{total} messages; broker: mosquitto, {', '.join(limits)}; "
          f"database: {'PostgreSQL' if args.database else 'SQLite (WAL)'}; batch {args.batch}")
    with PrivateBroker(backend="mosquitto", extra_config=limits) as broker:
        collectors = [CollectorProc(work, broker, n, database, args.batch) for n in (1, 2)]
        try:
            return run(args, msgs, broker=broker, collectors=collectors, database=database,
                       work=work)
        finally:
            for c in collectors:
                c.kill()


def run(args: argparse.Namespace, msgs: list[Message], *, broker: PrivateBroker,
        collectors: list[CollectorProc], database: str, work: Path) -> int:
    total = len(msgs)
    for c in collectors:
        c.start()
    wait(lambda: all(c.subscribed() for c in collectors), 60, lambda: "collectors subscribed")
    for c in collectors:
        c.stop()
    subprocess.run(mosquitto_sub(broker, "-E"), check=True, timeout=30,
                   stdout=subprocess.DEVNULL)

    t = time.perf_counter()
    sent = publish_all(broker.host, broker.port, msgs, clients=4)
    publish_s = time.perf_counter() - t
    assert sent == total

    for c in collectors:
        c.start()
    db = Database(database)
    want = {"patients": args.patients, "summaries": args.patients,
            "events": args.patients * args.events}

    def stored_all() -> bool:
        counts = db.counts()
        finals = db.query("SELECT count(*) FROM summaries WHERE final = 1")[0][0]
        online = db.query("SELECT count(*) FROM patients WHERE status = 'online'")[0][0]
        return (all(counts[k] >= v for k, v in want.items())
                and int(finals) >= args.patients and int(online) >= args.patients)

    wait(stored_all, 600, lambda: f"every message stored; have {db.counts()}")
    last = max(float(db.query(f"SELECT max({col}) FROM {table}")[0][0])
               for table, col in (("summaries", "received_at"), ("events", "received_at"),
                                  ("patients", "status_at")))
    first = min(c.last_connack() for c in collectors)
    time.sleep(1)  # let the retained copies (see collector.py) arrive, to count them
    counts = [c.stop() for c in collectors]
    collect_s = last - first

    out = work / "mosquitto_sub.out"
    t = time.perf_counter()
    with out.open("wb") as f:
        subprocess.run(mosquitto_sub(broker, "-C", str(total)), check=True, timeout=600,
                       stdout=f)
    sub_s = time.perf_counter() - t
    topics = out.read_text(encoding="utf-8").splitlines()

    # --- exactly once ---
    live = sum(c.live for c in counts)
    problems = []
    if live != total:
        problems.append(f"collectors received {live} published messages, not {total}")
    if any(c.rejected for c in counts):
        problems.append(f"rejections: {counts}")
    if not all(c.live for c in counts):
        problems.append(f"one collector got nothing: {counts}")
    final = db.counts()
    for k, v in want.items():
        if final[k] != v:
            problems.append(f"{k}: {final[k]} rows, expected {v}")
    finals = db.query("SELECT count(*) FROM summaries WHERE final = 1")[0][0]
    if int(finals) != args.patients:
        problems.append(f"{finals} final day summaries, expected {args.patients}")
    if sorted(topics) != sorted(m[0] for m in msgs):
        problems.append(f"mosquitto_sub read {len(topics)} messages, not the {total} published")
    db.close()

    retries = sum(c.text().count("cannot store") for c in collectors)
    if retries:
        print(f"the collectors retried {retries} batch(es) after a database error, e.g. "
              + next(line for c in collectors for line in c.text().splitlines()
                     if "cannot store" in line))
    rate, sub_rate = total / collect_s, total / sub_s
    print(f"published:      {total} messages in {publish_s:.2f} s = {total / publish_s:,.0f}/s")
    print(f"two collectors: {total} messages in {collect_s:.2f} s = {rate:,.0f}/s "
          f"(shares {counts[0].live} + {counts[1].live}; retained copies resent by the "
          f"broker on resubscribing {counts[0].retained} + {counts[1].retained}, stored by "
          f"the same natural keys; rows {final})")
    print(f"mosquitto_sub:  {len(topics)} messages in {sub_s:.2f} s = {sub_rate:,.0f}/s")
    print(f"ratio collectors / mosquitto_sub: {rate / sub_rate:.2f}")
    if problems:
        print("NOT exactly once:\n  " + "\n  ".join(problems))
        return 1
    print("every message stored exactly once")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
