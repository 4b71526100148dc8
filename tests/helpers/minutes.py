"""A thigh IMU's raw samples through the daemon's ``MinuteBook`` (``live``) and
through ``pacer epochs`` (``offline``): the two sides the one-minute rule
(``pacer.minutes``) must agree on, for tests/pacer/test_minutes.py and the
revision tests in tests/pacer/daemon/test_daemon_revise.py."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

from devices.imu.smooth import LOOK
from devices.samples import Link
from pacer.daemon.ble import SETTLE_MARGIN_S, MinuteBook
from pacer.engine.model import Epoch
from pacer.epochs import epochs
from pacer.minutes import minute_epoch

RATE = 10
T0 = 1_800_000_000.0  # on a whole minute


def live(xyz: list[tuple[float, float, float]], book: MinuteBook | None = None) -> list[Epoch]:
    """As the daemon: samples arrive a second's worth at a time, 50 ms after the
    last of them was taken, stamped on arrival; minute m is taken once the clock
    passes its end + settle_s (the minutes as taken: ``book.relabelled`` says
    which of them a revision changed since)."""
    book = MinuteBook() if book is None else book
    book.note("witmotion", Link(T0, "thigh", connected=True, reason="connected"))
    track = book.track("thigh", "thigh", float(RATE))
    settle = LOOK + SETTLE_MARGIN_S
    out: list[Epoch] = []
    minute = int(T0 // 60)
    for i in range(0, len(xyz), RATE):
        at = T0 + (i + RATE - 1) / RATE + 0.05  # a notification comes after its last sample
        while (minute + 1) * 60 + settle <= at:
            out.append(book.take(minute))
            minute += 1
        for x, y, z in xyz[i:i + RATE]:
            book.motion(track, "thigh", "witmotion", at, (x, y, z))
    return out


def offline(tmp: Path, xyz: list[tuple[float, float, float]]) -> list[Epoch]:
    raw = tmp / "raw.csv"
    raw.write_text("t,x,y,z\n" + "".join(f"{i / RATE:.1f},{x!r},{y!r},{z!r}\n"
                                        for i, (x, y, z) in enumerate(xyz)), encoding="utf-8")
    out = io.StringIO()
    epochs(raw, float(RATE), "thigh", datetime.fromtimestamp(T0, UTC), per_second=False,
           out=out)
    rows = out.getvalue().splitlines()[1:]
    got = []
    for row in rows:
        when, steps, posture = row.split(",")
        minute = int(datetime.fromisoformat(when).timestamp() // 60)
        got.append(minute_epoch(minute, int(steps), posture or None, known=True))
    return got
