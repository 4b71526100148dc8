"""Two replayed days of a version 2 history, for the report's and the clinic's
tests: the same minutes, so both read the same figures."""

from __future__ import annotations

from pathlib import Path

POSTURE_DAY, STEP_DAY = "2026-11-23", "2026-11-24"


def two_days_of_minutes(path: Path) -> Path:
    """08:00-20:00 on two days, a 12-minute walk every 90 minutes. The first
    day's sitting is measured by posture except 13:00-14:00 (no posture, no
    steps: inferred); the second day has no posture at all (a step-only
    device)."""
    rows = ["time,steps,posture"]
    for day, posture in ((POSTURE_DAY, True), (STEP_DAY, False)):
        for i in range(12 * 60):
            t = f"{day}T{8 + i // 60:02d}:{i % 60:02d}:00+11:00"
            if i % 90 < 12:
                rows.append(f"{t},100,{'walking' if posture else ''}")
            elif posture and not 300 <= i < 360:
                rows.append(f"{t},0,sitting")
            else:
                rows.append(f"{t},0,")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path
