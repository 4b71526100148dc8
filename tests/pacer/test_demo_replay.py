"""``pacer demo`` without the virtual extra: the same desk day from a replay
device, in lock-step like the watch's (tests/pacer/daemon/test_daemon_ble.py), so the same
at any speed. A real private broker and SQLite; the virtual extra is only
hidden from the demo."""

from __future__ import annotations

import asyncio
import io
import re

import pytest

from pacer import demo


def _day(text: str) -> str:
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("  day opened at "))
    last = max(i for i, line in enumerate(lines) if line.startswith("  "))
    return "\n".join(lines[first:last + 1])


def test_the_replay_demo_is_the_same_day_at_any_speed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo, "_virtual_available", lambda: False)
    texts = []
    for speed in (1200.0, 100_000.0):
        out = io.StringIO()
        assert asyncio.run(asyncio.wait_for(demo._demo(speed, 1.25, out), 60)) == 0
        texts.append(out.getvalue())
    assert _day(texts[0]) == _day(texts[1]), "\n\n".join(texts)
    assert "from a replay device" in texts[0]
    assert "install the 'virtual' extra" in texts[0]
    assert "3000x at most, not 100000x" in texts[1]
    day = _day(texts[0])
    assert not re.search(r"\w=\S", day), day
    # A posture from the file: sitting measured, not inferred from no steps.
    assert re.findall(r"^  (\d\d:\d\d)  (.+)$", day, flags=re.MULTILINE) == [
        ("06:31", "Your plan  (step plan 6,456)"),
        ("07:40", "Time for a movement break  (sitting 40 min, limit 40)"),
    ], day
