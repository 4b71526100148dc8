"""The stored engine state: ``EngineState.to_json`` (run on every minute) gives
exactly what ``dataclasses.asdict`` would, but for the week's days, which the
state (version 3) keeps as their published v1 daily summaries; and it shares
nothing with the state."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from activity_helpers import BASELINE_DAY, after_days

from pacer.engine.core import STATE_VERSION, EngineState


def reference(state: EngineState) -> dict[str, Any]:
    data = dataclasses.asdict(state)
    data["gate"]["sent"] = list(state.gate.sent)
    if state.week is not None:
        data["week"]["days"] = [json.loads(json.dumps(dataclasses.asdict(d)))
                                for d in state.week.days]
    data["v"] = STATE_VERSION
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
