"""The stored engine state: ``EngineState.to_json`` (run on every minute) gives
exactly what ``dataclasses.asdict`` would, but for the week's days, which the
state (version 3) keeps as their published v1 daily summaries; and it shares
nothing with the state."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from helpers import DATA
from helpers.activity import BASELINE_DAY, after_days

from pacer import replay, simulate
from pacer.config import Rules
from pacer.engine.core import STATE_VERSION, Engine, EngineState
from pacer.engine.model import DaySummary, Prompt, Summary
from pacer.timebase import iso


def reference(state: EngineState) -> dict[str, Any]:
    data = dataclasses.asdict(state)
    data["gate"]["sent"] = list(state.gate.sent)
    if state.week is not None:
        data["week"]["days"] = [json.loads(json.dumps(dataclasses.asdict(d)))
                                for d in state.week.days]
    data["v"] = STATE_VERSION
    del data["from_v1"]  # how it was restored, not part of the state
    data["trail"] = "".join(state.trail[-120:])  # kept as one string
    return data


def test_to_json_is_asdict_for_a_state_that_has_lived_through_a_week() -> None:
    driver, sent = after_days((BASELINE_DAY,) * 8)
    state = driver.engine.state
    assert sent, "the week sent prompts"
    assert state.plan.history, "the week left day records"
    got = state.to_json()
    assert got == reference(state)
    assert json.dumps(got, sort_keys=True) == json.dumps(reference(state), sort_keys=True)


def test_to_json_shares_no_list_or_dict_with_the_state() -> None:
    driver, _ = after_days((BASELINE_DAY,) * 3)
    state = driver.engine.state
    got = state.to_json()
    before = json.dumps(reference(state), sort_keys=True)
    got["plan"]["history"].clear()
    got["overrides"]["sitting.limit_min"] = 1
    got["gate"]["snooze_until"]["x"] = 1
    assert json.dumps(reference(state), sort_keys=True) == before


def test_the_empty_state_too() -> None:
    assert EngineState().to_json() == reference(EngineState())


V1_STATE = DATA / "engine_state_v3.json"
"""A snapshot version 1 of the engine wrote (state v3) at 10:00 on the tenth
day of ``simulate.minutes(date(2026, 6, 1), 10, London, seed 7)``, its baseline
complete: what a daemon upgraded in the middle of a day finds in its store."""


def test_a_state_written_by_version_1_carries_on() -> None:
    saved = json.loads(V1_STATE.read_text())["snapshot"]
    assert saved["v"] == 3
    engine = Engine.restore(Rules(), user="alice", timezone="Europe/London", snapshot=saved)
    quota = engine.state.plan.quota
    assert quota is not None
    epochs = [e for e in simulate.minutes(date(2026, 6, 1), 11, "Europe/London", 7)
              if e.start >= saved["next_minute"]]
    outputs = [o for e in epochs for o in engine.advance(e)] + engine.close_day()
    days = {o.key: o.body for o in outputs if isinstance(o, Summary) and o.final
            and isinstance(o.body, DaySummary)}
    # The day it was in keeps version 1's window, and its morning is not said again.
    today = days["2026-06-10"]
    assert today.window is not None
    assert today.window.opened is not None
    assert (today.window.opened_by, iso(today.window.opened, ZoneInfo("Europe/London"))) == (
        "configured", "2026-06-10T07:30:00+01:00")
    assert not [o for o in outputs if isinstance(o, Prompt) and o.kind == "plan_update"
                and o.time < engine.calendar.bounds(date(2026, 6, 11)).start]
    # The next day follows version 2, with the plan it had.
    assert days["2026-06-11"].window is not None
    assert days["2026-06-11"].window.opened_by in ("detected", "configured")
    assert days["2026-06-11"].plan.quota is not None
    assert engine.snapshot()["v"] == STATE_VERSION


V2_STATE = DATA / "engine_state_v4.json"
"""A snapshot version 2 of the engine wrote (state v4, which kept a settle
period, do-not-disturb and snoozes in unix seconds) at 14:00 on the eleventh
day of ``simulate.minutes(date(2026, 6, 1), 14, London, seed 7)``: a red report
at 13:27:41 two days before (its settle period ends at 13:27:41 the next day),
do-not-disturb for 95 minutes from 13:12:09 and a sitting prompt snoozed for
60 minutes from 13:50:40.5. With it, what that version published from there
to the end of the fourteenth day (``replay --json`` lines) and the end of
do-not-disturb its state topic showed."""


def test_a_state_version_2_wrote_in_a_settle_period_carries_on_as_it_did() -> None:
    saved = json.loads(V2_STATE.read_text())
    snapshot = saved["snapshot"]
    assert snapshot["v"] == 4
    assert isinstance(snapshot["plan"]["settle_until"], float)
    engine = Engine.restore(Rules(), user="alice", timezone="Europe/London", snapshot=snapshot)
    # The seconds became the first minute each period no longer holds.
    plan, gate = engine.state.plan, engine.state.gate
    assert plan.settle_until == math.ceil(snapshot["plan"]["settle_until"] / 60)
    assert gate.dnd_until == math.ceil(snapshot["gate"]["dnd_until"] / 60)
    assert gate.snooze_until == {
        kind: math.ceil(until / 60) for kind, until in snapshot["gate"]["snooze_until"].items()}
    assert engine.status().dnd_until == saved["status_dnd_until"]
    epochs = [e for e in simulate.minutes(date(2026, 6, 1), 14, "Europe/London", 7)
              if e.start >= snapshot["next_minute"]]
    lines = []
    for epoch in epochs:
        lines += [replay.dumps(replay.wire(o, engine))
                  for o in replay.published(engine.advance(epoch))]
    lines += [replay.dumps(replay.wire(o, engine)) for o in replay.published(engine.close_day())]
    assert lines == saved["outputs"]
    assert any('"settle_end"' in line for line in lines), "the settle period ended on the way"
    assert engine.snapshot()["v"] == STATE_VERSION
