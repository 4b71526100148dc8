"""One minute rule, live and offline (``pacer.minutes``): the same raw thigh
samples give the same minutes through the daemon's ``MinuteBook`` (each minute
taken when the daemon takes it, ``settle_s`` after it ends) and through
``pacer epochs``."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

pytest.importorskip("numpy")

from devices.imu.smooth import LOOK
from devices.imu.synth import Segment, synthesise
from devices.samples import Link
from devices.virtual.imu import TURNED
from pacer.daemon.ble import SETTLE_MARGIN_S, MinuteBook
from pacer.engine.model import Epoch, Posture
from pacer.epochs import epochs
from pacer.io.minutes import POSTURES
from pacer.minutes import POSTURE_MIN_S, minute_epoch, minute_posture

RATE = 10
T0 = 1_800_000_000.0  # on a whole minute
DAY = [Segment("walking", 150, 104), Segment("sitting", 7 * 60 + 20), Segment("standing", 95),
       Segment("walking", 200, 112), Segment("lying", 6 * 60), Segment("standing", 70),
       Segment("sitting", 5 * 60 + 40)]
NAMES = ("unknown", "sitting", "standing", "walking", "sedentary")


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


def test_the_same_samples_give_the_same_minutes_live_and_offline(tmp_path: Path) -> None:
    array, _ = synthesise(DAY, RATE, "thigh", rotation=TURNED, seed=3)
    xyz = [(float(a), float(b), float(c)) for a, b, c in array]
    offline_minutes = offline(tmp_path, xyz)
    live_minutes = live(xyz)
    # The live stream ends with its last minutes untaken (the daemon takes them later).
    assert len(live_minutes) >= len(offline_minutes) - 1
    assert live_minutes == offline_minutes[:len(live_minutes)]
    # And the day was measured, not guessed: all four postures, walks with steps.
    seen = {e.posture for e in live_minutes}
    assert {Posture.SEDENTARY, Posture.UPRIGHT, Posture.STEPPING} <= seen
    assert not any(e.inferred for e in live_minutes[3:])
    assert sum(e.steps for e in live_minutes) > 500


@pytest.mark.parametrize(("counts", "expected"), [
    ({1: POSTURE_MIN_S}, "sitting"),
    ({1: POSTURE_MIN_S - 1, 0: 31}, None),  # too little known: from the steps
    ({1: 20, 2: 20, 0: 20}, "sitting"),  # a tie: the lower code
    ({3: 25, 2: 30, 0: 5}, "standing"),
    ({4: 60}, None),  # a wrist's stillness is no posture
    ({3: 31, 4: 29}, "walking"),
])
def test_minute_posture(counts: dict[int, int], expected: str | None) -> None:
    assert minute_posture(counts, NAMES) == expected


def test_minute_epoch() -> None:
    assert minute_epoch(5, 0, "sitting", known=False) == Epoch.unknown(5)
    assert minute_epoch(5, 3, "standing", known=True) == Epoch(5, 3, POSTURES["standing"])
    assert minute_epoch(5, 0, None, known=True) == Epoch(5, 0, Posture.SEDENTARY, inferred=True)
