"""The clinic's plan form offers what the engine accepts: its settings' ranges
are the engine's own, so a value the form lets through is never refused by
the daemon, and none it refuses would have been taken."""

from __future__ import annotations

import pytest

from pacer.clinic.web import FORM_SETTINGS, plan_settings
from pacer.engine.settings import PLAN_VALUES, check_settings
from pacer.errors import CommandRejected


@pytest.mark.parametrize(("key", "label", "low", "high"), FORM_SETTINGS)
def test_each_field_takes_exactly_what_the_engine_takes(key: str, label: str, low: int,
                                                       high: int) -> None:
    for value in (low, high):
        assert plan_settings({key: str(value)}) == ({key: value}, None)
        if key not in PLAN_VALUES:
            assert check_settings({key: value}) == {key: value}
    for value in (low - 1, high + 1):
        assert plan_settings({key: str(value)}) == ({}, "range")
        if key not in PLAN_VALUES:
            with pytest.raises(CommandRejected):
                check_settings({key: value})


def test_the_walk_field_sets_the_planned_walk_not_what_counts_as_one() -> None:
    assert [(k, label) for k, label, *_ in FORM_SETTINGS] == [
        ("plan.quota", "daily step quota"),
        ("sitting.limit_min", "sitting limit, minutes"),
        ("walks.target_min", "planned walk length, minutes")]
    # The engine's shortest sitting limit (10), which the form used to refuse.
    assert plan_settings({"sitting.limit_min": "10"}) == ({"sitting.limit_min": 10}, None)
