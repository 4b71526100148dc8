"""``pacer replay --store`` with an event before the recording's first minute: the
engine has taken no minute yet, and storing its state after the event used to
end in a ValueError traceback."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from helpers.daemon import pacer_cli


def test_an_event_before_the_first_minute_is_applied_and_stored(tmp_path: Path) -> None:
    minutes = tmp_path / "night.csv"
    rows = [f"2026-12-08T{h:02d}:{m:02d}:00+00:00,0," for h in range(9, 11) for m in range(60)]
    minutes.write_text("time,steps,posture\n" + "\n".join(rows) + "\n", encoding="utf-8")
    events = tmp_path / "events.jsonl"
    events.write_text('{"time": "2026-12-08T08:30:00+00:00", "type": "symptom", '
                      '"level": "amber"}\n', encoding="utf-8")
    store = tmp_path / "pacer.sqlite3"
    proc = pacer_cli("replay", "--input", str(minutes), "--events", str(events),
                     "--store", str(store))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    with sqlite3.connect(store) as conn:
        (summary,) = conn.execute(
            "SELECT payload FROM summaries WHERE period = 'day' AND final = 1").fetchone()
    assert '"level": "amber"' in summary or '"level":"amber"' in summary
