"""How the pacing engine treats simulated people over several weeks.

Runs every persona of pacer/personas.py (a desk worker with long meetings, a
boom-bust retiree, a deconditioned person on a thigh IMU, a night worker on
rotating shifts, a person whose watch is often off, a red flag at 02:00)
through the engine and prints one Markdown row each:

  days            pacing days simulated
  nudges/day      the most nudges on one day, and the mean (v2 budget: 10)
  asleep          prompts other than red_flag sent while the person slept, and
                  (after "+") those after a bed time they did not tap, which a
                  wrist watch cannot see
  contradictions  "more" and "less" within 120 minutes (or after the ceiling)
  progressions    weekly reviews that raised the quota
  bouts > up      sitting prompts whose bout is longer than the person had been up
  morning plan    plan messages around getting up: most on one morning / total
  rejected        commands the engine refused or raised on (day, exercise, ...)
  seconds         engine time for the persona

The recordings are deterministic for a seed; the person never answers a prompt.
A persona whose run the engine broke off shows the error under the table.

    .venv/bin/python bench/personas.py [--weeks 4] [--seed N] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from pacer.persona_check import Run, run
from pacer.personas import DEFAULT_SEED, PERSONAS

COLUMNS = ("persona", "days", "nudges/day max", "mean", "asleep", "contradictions",
           "progressions", "bouts > up", "morning plan max / total", "rejected", "seconds")


def row(result: Run) -> dict[str, Any]:
    v = result.verdict()
    return {
        "persona": result.recording.persona,
        "days": v.days,
        "minutes_run": result.minutes,
        "nudges_max": v.nudges_max,
        "nudges_mean": round(v.nudges_mean, 2),
        "asleep": len(v.asleep),
        "asleep_untold": len(v.asleep_untold),
        "contradictions": len(v.contradictions),
        "progressions": len(v.progressions),
        "bouts_over_up": len(v.bouts_over_up),
        "morning_plan_max": max(v.mornings, default=0),
        "morning_plan_total": sum(v.mornings),
        "rejected": len(result.rejected),
        "rejected_why": sorted({why.split(":")[0] + ": " + type(ev.command).__name__
                                for ev, why in result.rejected}),
        "settings_error": result.settings_error,
        "engine_error": result.engine_error,
        "seconds": round(result.seconds, 2),
    }


def markdown(rows: list[dict[str, Any]], total: float) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in rows:
        cells = (r["persona"], r["days"], r["nudges_max"], f"{r['nudges_mean']:.1f}",
                 f"{r['asleep']} + {r['asleep_untold']}", r["contradictions"],
                 r["progressions"], r["bouts_over_up"],
                 f"{r['morning_plan_max']} / {r['morning_plan_total']}", r["rejected"],
                 f"{r['seconds']:.1f}")
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    lines.append("")
    lines.append(f"total run time {total:.1f} s")
    for r in rows:
        notes = []
        if r["rejected_why"]:
            notes.append("rejected: " + "; ".join(r["rejected_why"]))
        if r["settings_error"]:
            notes.append(f"settings refused, run with defaults: {r['settings_error']}")
        if r["engine_error"]:
            notes.append(f"engine stopped after {r['minutes_run']:,} minutes: "
                         f"{r['engine_error']}")
        for note in notes:
            lines.append(f"- {r['persona']}: {note}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weeks", type=int, default=4, help="weeks per persona (default 4)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED,
                    help=f"the recordings' seed (default {DEFAULT_SEED})")
    ap.add_argument("--json", action="store_true", help="one JSON object instead of the table")
    ap.add_argument("--persona", action="append", choices=sorted(PERSONAS),
                    help="only this persona (repeatable)")
    args = ap.parse_args(argv)
    if args.weeks < 1:
        ap.error("--weeks must be at least 1")
    t0 = time.perf_counter()
    rows = []
    for name in args.persona or PERSONAS:
        recording = PERSONAS[name].generate(weeks=args.weeks, seed=args.seed)
        rows.append(row(run(recording)))
    total = time.perf_counter() - t0
    if args.json:
        json.dump({"weeks": args.weeks, "seed": args.seed, "personas": rows,
                   "seconds": round(total, 2)}, sys.stdout, indent=2)
        print()
    else:
        print(markdown(rows, total))
    return 1 if any(r["engine_error"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
