"""Version 2's promises (pacing-rules.md sections 0, 1, 8) held for four weeks
of every simulated persona (pacer/personas.py), judged by pacer/persona_check.py.

Written before the version 2 engine: these fail on version 1, which is the point.
"""

from __future__ import annotations

from functools import cache

import pytest

from pacer.persona_check import Run, run
from pacer.personas import PERSONAS
from pacer.timebase import iso, zone

MAX_NUDGES_PER_DAY = 10  # prompts.max_per_day's default


@cache
def result(name: str) -> Run:
    r = run(PERSONAS[name].generate(weeks=4))
    assert r.engine_error is None, f"{name}: the engine stopped: {r.engine_error}"
    assert r.settings_error is None, f"{name}: settings refused: {r.settings_error}"
    return r


def when(r: Run, minute: int) -> str:
    return iso(minute, zone(r.recording.timezone))


@pytest.mark.parametrize("name", sorted(PERSONAS))
def test_commands_accepted(name: str) -> None:
    r = result(name)
    # an Ack answering a prompt may be refused for good reason; the person's
    # own day, exercise and symptom commands must be taken
    refused = [(when(r, int(ev.at // 60)), type(ev.command).__name__, why)
               for ev, why in r.rejected if type(ev.command).__name__ != "Ack"]
    assert refused == []


@pytest.mark.parametrize("name", sorted(PERSONAS))
def test_daily_budget(name: str) -> None:
    v = result(name).verdict()
    over = {d.isoformat(): n for d, n in v.nudges.items() if n > MAX_NUDGES_PER_DAY}
    assert over == {}


@pytest.mark.parametrize("name", sorted(PERSONAS))
def test_no_contradiction(name: str) -> None:
    r = result(name)
    found = [(when(r, a.time), a.kind, when(r, b.time), b.kind)
             for a, b in r.verdict().contradictions]
    assert found == []


@pytest.mark.parametrize("name", sorted(PERSONAS))
def test_no_prompt_while_asleep(name: str) -> None:
    r = result(name)
    assert [(when(r, p.time), p.kind) for p in r.verdict().asleep] == []


@pytest.mark.parametrize("name", sorted(PERSONAS))
def test_no_sitting_bout_over_the_night(name: str) -> None:
    r = result(name)
    found = [(when(r, p.time), p.reason.get("bout_min")) for p in r.verdict().bouts_over_up]
    assert found == []


def test_desk_worker_progresses() -> None:
    # 7,000-9,000 steps every day, steady: at or above the plan, so it grows
    assert len(result("desk_worker").verdict().progressions) >= 1
