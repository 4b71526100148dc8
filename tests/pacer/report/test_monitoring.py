"""Remote-monitoring records (pacer/report/monitoring.py): which days have
enough data, rolling 30-day counts and billing periods. Pure functions."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from pacer.report import monitoring as m

START = date(2026, 1, 5)


def v2_day(day: date, worn: int, *, not_worn: int = 0, opened: str | None = "07:00",
           closed: str | None = "21:00") -> dict[str, Any]:
    window = {"opened": f"{day}T{opened}:00+00:00" if opened else None,
              "closed": f"{day}T{closed}:00+00:00" if closed else None,
              "opened_by": "configured", "closed_by": "configured"}
    return {"v": 2, "date": day.isoformat(), "known_min": worn, "worn_min": worn,
            "not_worn_min": not_worn, "window": window, "valid": worn >= 600}


def v1_day(day: date, known: int) -> dict[str, Any]:
    return {"date": day.isoformat(), "known_min": known, "valid": known >= 600}


def test_ten_worn_hours_is_enough_and_one_minute_less_is_not() -> None:
    assert m.enough_data(v2_day(START, 600))
    assert not m.enough_data(v2_day(START, 599))


def test_not_worn_minutes_never_count() -> None:
    # 14 h window, 5 h worn, 9 h on the charger: not enough, however long the day
    assert not m.enough_data(v2_day(START, 300, not_worn=540))
    assert not m.enough_data(v2_day(START, 0, not_worn=840))


def test_a_short_window_needs_80_percent_of_it() -> None:
    # up at 09:00, in bed at 17:00: an 8-hour window, 384 minutes is 80 %
    assert m.enough_data(v2_day(START, 384, opened="09:00", closed="17:00"))
    assert not m.enough_data(v2_day(START, 383, opened="09:00", closed="17:00"))


def test_a_window_still_open_or_unreadable_needs_the_ten_hours() -> None:
    assert not m.enough_data(v2_day(START, 500, closed=None))
    odd = v2_day(START, 500, opened="09:00", closed="15:00")
    odd["window"]["closed"] = "soon"
    assert not m.enough_data(odd)
    naive = v2_day(START, 500, opened="09:00", closed="15:00")
    naive["window"]["closed"] = f"{START}T15:00:00"  # naive against aware
    assert not m.enough_data(naive)


def test_version_1_days_count_their_known_minutes() -> None:
    assert m.enough_data(v1_day(START, 640))
    assert not m.enough_data(v1_day(START, 420))


def test_no_summary_or_no_minutes_is_no_data() -> None:
    assert not m.enough_data(None)
    assert not m.enough_data({"date": START.isoformat()})
    assert not m.enough_data({"date": START.isoformat(), "worn_min": True})


def test_the_rule_does_not_follow_the_persons_own_valid_flag() -> None:
    # min_known_hours 6 in the person's config made this day valid: not for billing
    day = v2_day(START, 400) | {"valid": True}
    assert not m.enough_data(day)


def test_days_with_data_skips_unreadable_dates() -> None:
    bodies = [v2_day(START, 700), v2_day(START + timedelta(1), 100),
              v1_day(START + timedelta(2), 640), {"date": "2026-02-30", "worn_min": 700},
              {"worn_min": 700}]
    assert m.days_with_data(bodies) == {START, START + timedelta(2)}


@pytest.mark.parametrize(("count", "expected"), [
    (0, "under 2"), (1, "under 2"), (2, "2-15"), (15, "2-15"), (16, "16+"), (30, "16+")])
def test_bands(count: int, expected: str) -> None:
    assert m.band(count) == expected


def test_rolling_counts_the_30_days_ending_on_the_day() -> None:
    days = frozenset({START, START + timedelta(29), START + timedelta(30)})
    assert m.rolling(days, START + timedelta(29)) == 2  # START is day 1 of 30
    assert m.rolling(days, START + timedelta(30)) == 2  # START has left the window
    assert m.rolling(days, START - timedelta(1)) == 0
    assert m.rolling(frozenset(), START) == 0


def test_billing_periods_run_from_the_first_day_with_data_across_gaps() -> None:
    # 20 days worn, a 45-day gap, then 3 days
    worn = [START + timedelta(i) for i in range(20)]
    later = [START + timedelta(i) for i in (65, 66, 67)]
    days = frozenset(worn + later)
    got = m.periods(days, START + timedelta(70))
    assert [(p.number, p.start, p.end) for p in got] == [
        (1, START, START + timedelta(29)),
        (2, START + timedelta(30), START + timedelta(59)),
        (3, START + timedelta(60), START + timedelta(89))]
    assert [p.days for p in got] == [20, 0, 3]
    assert [p.band for p in got] == ["16+", "under 2", "2-15"]
    assert [p.complete for p in got] == [True, True, False]
    assert got[-1].days_left == 19
    assert got[-1].until == START + timedelta(70)


def test_period_boundaries_day_30_and_day_31() -> None:
    days = frozenset({START, START + timedelta(29), START + timedelta(30)})
    first, second = m.periods(days, START + timedelta(30))
    assert (first.days, second.days) == (2, 1)
    assert second.start == START + timedelta(30)
    assert m.period_of(START, START + timedelta(29))[0] == 1
    assert m.period_of(START, START + timedelta(30))[0] == 2
    with pytest.raises(ValueError, match="before the episode"):
        m.period_of(START, START - timedelta(1))


def test_periods_before_data_and_the_first_filter() -> None:
    assert m.periods(frozenset(), START) == ()
    assert m.periods(frozenset({START}), START - timedelta(1)) == ()
    days = frozenset({START, START + timedelta(40)})
    shown = m.periods(days, START + timedelta(45), first=START + timedelta(31))
    assert [p.number for p in shown] == [2]


def test_current_period_counts_so_far() -> None:
    days = frozenset(START + timedelta(i) for i in range(0, 40, 2))
    now = m.current_period(days, START + timedelta(35))
    assert now is not None
    assert (now.number, now.days, now.days_left) == (2, 3, 24)  # days 30, 32, 34
    assert now.holds(START + timedelta(59))
    assert not now.holds(START + timedelta(60))
    assert m.current_period(frozenset(), START) is None
