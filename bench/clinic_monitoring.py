"""What the remote-monitoring record costs the clinic's pages.

The patient list now reads each patient's last 30 daily summaries (it read
14) to count the days with data in the last 30 days, and the patient page
reads every stored day of the patient (the billing periods run from the
first day with data) and the whole review log. This fills an SQLite clinic
with ``--patients`` patients of ``--days`` daily summaries each (the first
patient also ``--entries`` review-log entries) and prints the median time of
the list (``views.patient_list``) reading 14 and 30 days per patient, and of
one patient's record (``reviews.record``) and its CSV exports.

    .venv/bin/python bench/clinic_monitoring.py [--patients 200] [--days 365] [--entries 500]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from _timing import interleaved, median_s

from pacer.clinic import reviews, views
from pacer.clinic.config import ClinicTable
from pacer.clinic.db import Database
from pacer.clinic.records import parse
from pacer.contract.topics import Topics

# The simulated patients' messages are test helpers (tests/helpers/, not shipped):
# this script runs from the repo, so it puts the tests' folder on the path, and
# the repo before it (tests/pacer mirrors the package's name; the package wins).
REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]
from helpers.clinic import day_summary, encode  # noqa: E402


def fill(db: Database, patients: int, days: int, entries: int) -> str:
    today = date.today()
    for n in range(patients):
        user = f"p{n:04d}"
        topic = Topics("pacer", user).summary("day")
        db.store([parse(topic, encode(day_summary(user, today - timedelta(days=back),
                                                  final=back > 0)))
                  for back in range(days - 1, -1, -1)])
    first = "p0000"
    now = datetime.now(UTC)
    for i in range(entries):
        entry = reviews.parse({"minutes": "15", "kind": "review", "what": f"review {i}",
                               "when": (now - timedelta(hours=i)).isoformat()},
                              patient=first, by="bench.physio", now=now)
        assert isinstance(entry, reviews.Entry), entry
        reviews.add(db, entry)
    return first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--entries", type=int, default=500)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(str(Path(tmp) / "clinic.sqlite3"))
        t0 = time.perf_counter()
        first = fill(db, args.patients, args.days, args.entries)
        print(f"filled {args.patients} patients x {args.days} days, {args.entries} log "
              f"entries in {time.perf_counter() - t0:.1f} s")
        rules = ClinicTable()

        def listed(limit: int) -> Callable[[], object]:
            def run() -> object:
                return [views.patient_row(p, views._patient_data(db, p, limit), rules)
                        for p in views.patient_ids(db, rules)]
            return run

        medians = interleaved(listed(14), listed(30), args.runs)  # the machine's load moves
        for limit, median in zip((14, 30), medians, strict=True):
            ms = median * 1000
            print(f"patient list reading {limit} days a patient: {ms:.0f} ms "
                  f"({ms / args.patients * 1000:.0f} us a patient)")
        one = median_s(lambda: reviews.record(db, first), args.runs)
        rec = reviews.record(db, first)
        print(f"one patient's record ({args.days} days, {len(rec.entries)} entries, "
              f"{len(rec.periods)} periods): {one * 1000:.1f} ms")
        one = median_s(lambda: (reviews.log_csv(rec, UTC), reviews.periods_csv(rec)),
                       args.runs)
        print(f"its two CSV exports: {one * 1000:.1f} ms")
        db.close()


if __name__ == "__main__":
    main()
