"""One minute rule, live and offline (``pacer.minutes``): the same raw thigh
samples give the same minutes through the daemon's ``MinuteBook`` (each minute
taken when the daemon takes it, ``settle_s`` after it ends) and through
``pacer epochs``."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("numpy")

from helpers.minutes import RATE, live, offline

from devices.imu.synth import Segment, synthesise
from devices.virtual.imu import TURNED
from pacer.engine.model import Epoch, Posture
from pacer.io.minutes import POSTURES
from pacer.minutes import POSTURE_MIN_S, minute_epoch, minute_posture

DAY = [Segment("walking", 150, 104), Segment("sitting", 7 * 60 + 20), Segment("standing", 95),
       Segment("walking", 200, 112), Segment("lying", 6 * 60), Segment("standing", 70),
       Segment("sitting", 5 * 60 + 40)]
NAMES = ("unknown", "sitting", "standing", "walking", "sedentary")


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
