"""StepCounter (InfiniTime's daily counter -> deltas), cadence integration and backoff."""

from __future__ import annotations

import logging
import random
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.backoff import backoff_delay
from devices.counter import CounterEvent, CounterState, StepCounter, count
from devices.rsc import CadenceState, CadenceSteps, integrate
from devices.samples import Cadence, StepDelta

ZONE = ZoneInfo("Australia/Sydney")


def t(text: str) -> float:
    """Unix seconds of a local time in ZONE."""
    return datetime.fromisoformat(text).replace(tzinfo=ZONE).timestamp()


def feed(counter: StepCounter, readings: list[tuple[str, int]]) -> list[int]:
    out = []
    for when, total in readings:
        delta = counter.update(total, t(when))
        out.append(0 if delta is None else delta.steps)
    return out


def test_rises_count_the_difference_and_repeats_count_nothing() -> None:
    c = StepCounter("watch", zone=ZONE)
    steps = feed(
        c,
        [
            ("2026-11-23 09:00", 100),
            ("2026-11-23 09:01", 130),
            ("2026-11-23 09:01:30", 130),  # the read after a reconnect
            ("2026-11-23 09:02", 130),
            ("2026-11-23 09:05", 200),
        ],
    )
    assert steps == [100, 30, 0, 0, 70]


def test_first_reading_counts_todays_steps_so_far_with_unknown_since() -> None:
    c = StepCounter("watch", zone=ZONE)
    delta = c.update(4200, t("2026-11-23 14:00"))
    assert delta == StepDelta(at=t("2026-11-23 14:00"), device="watch", steps=4200, since=None)


def test_rise_reports_the_interval_it_covers() -> None:
    c = StepCounter("watch", zone=ZONE)
    c.update(10, t("2026-11-23 09:00"))
    delta = c.update(60, t("2026-11-23 10:00"))
    assert delta is not None
    assert (delta.since, delta.at) == (t("2026-11-23 09:00"), t("2026-11-23 10:00"))
    assert delta.steps == 50


def test_midnight_reset_counts_the_new_day_from_zero(caplog: pytest.LogCaptureFixture) -> None:
    c = StepCounter("watch", zone=ZONE)
    caplog.set_level(logging.INFO, logger="devices.counter")
    steps = feed(
        c,
        [
            ("2026-11-23 23:50", 8000),
            ("2026-11-23 23:59", 8040),
            ("2026-11-24 00:00:01", 0),  # InfiniTime >= 1.16 notifies 0 at once
            ("2026-11-24 00:10", 12),
        ],
    )
    assert steps == [8000, 40, 0, 12]
    assert "watch: step counter reset for the new day (8040 -> 0)" in caplog.text
    assert "restarted" not in caplog.text


@pytest.mark.parametrize("when", ["2026-11-23 23:52", "2026-11-24 00:12"])
def test_watch_clock_a_few_minutes_off_is_still_midnight(when: str) -> None:
    state = CounterState(total=8000, at=t("2026-11-23 23:45"), changed_at=t("2026-11-23 23:45"))
    result = count(state, 3, t(when), zone=ZONE)
    assert result.event is CounterEvent.MIDNIGHT_RESET
    assert result.steps == 3


def test_rise_just_after_our_midnight_is_not_mistaken_for_a_reset() -> None:
    # Watch clock 2 minutes behind: its 23:59 notification arrives at our 00:01.
    c = StepCounter("watch", zone=ZONE)
    steps = feed(
        c,
        [("2026-11-23 23:50", 8000), ("2026-11-24 00:01", 8010), ("2026-11-24 00:02", 0)],
    )
    assert steps == [8000, 10, 0]


def test_reset_while_disconnected_over_night() -> None:
    # Last seen yesterday evening; the first read this morning is lower: a reset.
    c = StepCounter("watch", zone=ZONE)
    assert feed(c, [("2026-11-23 21:00", 9000), ("2026-11-24 08:00", 300)]) == [9000, 300]


def test_reset_overnight_then_more_steps_than_yesterday_counts_from_zero() -> None:
    c = StepCounter("watch", zone=ZONE)
    steps = feed(c, [("2026-11-23 21:00", 3000), ("2026-11-24 15:00", 9000)])
    assert steps == [3000, 9000]


def test_old_firmware_stale_value_after_midnight_is_not_counted_twice() -> None:
    # <= 1.15 defers the reset to the next motion update: a read at 00:30 can
    # still show yesterday's count, and the reset comes later.
    c = StepCounter("watch", zone=ZONE)
    steps = feed(
        c,
        [
            ("2026-11-23 23:40", 8000),
            ("2026-11-24 00:30", 8000),  # stale, same value: nothing
            ("2026-11-24 07:00", 150),  # the deferred reset, then 150 steps
        ],
    )
    assert steps == [8000, 0, 150]
    assert c.state.total == 150


def test_reboot_away_from_midnight_counts_from_zero_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    c = StepCounter("AA:BB", zone=ZONE)
    caplog.set_level(logging.WARNING, logger="devices.counter")
    steps = feed(c, [("2026-11-23 10:00", 500), ("2026-11-23 14:00", 40), ("2026-11-23 14:01", 90)])
    assert steps == [500, 40, 50]
    assert "AA:BB: step counter dropped from 500 to 40 away from midnight" in caplog.text
    assert count(
        CounterState(500, t("2026-11-23 10:00"), t("2026-11-23 10:00")), 40, t("2026-11-23 14:00"),
        zone=ZONE,
    ).event is CounterEvent.REBOOT


def test_reboot_to_zero_counts_nothing_then_counts_on() -> None:
    c = StepCounter("watch", zone=ZONE)
    readings = [("2026-11-23 10:00", 500), ("2026-11-23 11:00", 0), ("2026-11-23 11:05", 25)]
    assert feed(c, readings) == [500, 0, 25]


def test_steps_while_disconnected_arrive_as_one_delta_at_reconnect() -> None:
    c = StepCounter("watch", zone=ZONE)
    c.update(1000, t("2026-11-23 10:00"))
    delta = c.update(1750, t("2026-11-23 11:30"))  # the read after reconnecting
    assert delta == StepDelta(
        at=t("2026-11-23 11:30"), device="watch", steps=750, since=t("2026-11-23 10:00")
    )


def test_state_round_trips_through_plain_data() -> None:
    c = StepCounter("watch", zone=ZONE)
    c.update(1000, t("2026-11-23 10:00"))
    c.update(1000, t("2026-11-23 10:05"))
    stored = c.state.to_dict()
    assert stored == {
        "total": 1000,
        "at": t("2026-11-23 10:05"),
        "changed_at": t("2026-11-23 10:00"),
    }
    restored = StepCounter("watch", zone=ZONE, state=CounterState.from_dict(stored))
    assert restored.update(1000, t("2026-11-23 10:06")) is None  # no double count after restart
    delta = restored.update(1010, t("2026-11-23 10:07"))
    assert delta is not None
    assert delta.steps == 10
    assert CounterState.from_dict(CounterState().to_dict()) == CounterState()


def test_negative_reading_is_refused() -> None:
    with pytest.raises(ValueError, match="never negative"):
        count(CounterState(), -1, 0.0, zone=ZONE)


@settings(max_examples=300, deadline=None, database=None)
@given(
    walks=st.lists(st.integers(0, 400), min_size=1, max_size=40),
    reads=st.lists(st.booleans(), min_size=40, max_size=40),
)
def test_property_within_one_day_deltas_sum_to_the_counter(
    walks: list[int], reads: list[bool]
) -> None:
    """Without resets, deltas add up to the final count however often a value is re-read."""
    c = StepCounter("watch", zone=ZONE)
    now, total, counted = t("2026-11-23 08:00"), 0, 0
    for i, walked in enumerate(walks):
        total += walked
        now += 60
        for _ in range(1 + reads[i]):
            d = c.update(total, now)
            counted += 0 if d is None else d.steps
            assert d is None or d.steps > 0
    assert counted == total


# --- RSC cadence integration ------------------------------------------------------


def test_thirty_seconds_at_110_spm_is_55_steps() -> None:
    pod = CadenceSteps("pod")
    total = 0
    for second in range(31):
        _, delta = pod.update(110, 1000.0 + second)
        total += 0 if delta is None else delta.steps
    assert total == 55


def test_calibration_factor_scales_steps_and_cadence() -> None:
    pod = CadenceSteps("pod", calibration=2.0)
    cadence, _ = pod.update(55, 0.0)
    assert cadence == Cadence(at=0.0, device="pod", steps_per_min=110.0)
    total = 0
    for second in range(1, 31):
        _, delta = pod.update(55, float(second))
        total += 0 if delta is None else delta.steps
    assert total == 55


def test_gaps_longer_than_the_limit_are_not_integrated() -> None:
    state = CadenceState()
    state, steps = integrate(state, 120, 0.0)
    state, steps = integrate(state, 120, 1.0)
    assert steps == 2
    state, steps = integrate(state, 120, 61.0, max_gap_s=5.0)  # a minute of silence
    assert steps == 0
    state, steps = integrate(state, 120, 62.0, max_gap_s=5.0)
    assert steps == 2


def test_fractions_carry_over_and_stopping_ends_counting() -> None:
    pod = CadenceSteps("pod")
    seen = []
    for at, spm in [(0.0, 90), (1.0, 90), (2.0, 90), (3.0, 0), (4.0, 0), (5.0, 0)]:
        _, delta = pod.update(spm, at)
        seen.append(0 if delta is None else delta.steps)
    assert seen == [0, 1, 2, 1, 0, 0]  # 1.5 steps a second: 1.5, 3.0, 4.5 -> 1, 2, 1
    assert pod.state.carry == pytest.approx(0.5)


def test_gap_after_link_loss_and_state_round_trip() -> None:
    pod = CadenceSteps("pod")
    pod.update(120, 0.0)
    pod.gap()
    _, delta = pod.update(120, 1.0)
    assert delta is None
    restored = CadenceSteps("pod", state=CadenceState.from_dict(pod.state.to_dict()))
    _, delta = restored.update(120, 2.0)
    assert delta is not None
    assert (delta.steps, delta.since) == (2, 1.0)


def test_clock_going_backwards_integrates_nothing() -> None:
    state, _ = integrate(CadenceState(), 120, 10.0)
    _, steps = integrate(state, 120, 9.0)
    assert steps == 0


def test_bad_cadence_and_calibration() -> None:
    with pytest.raises(ValueError, match="never negative"):
        integrate(CadenceState(), -1, 0.0)
    with pytest.raises(ValueError, match="positive"):
        CadenceSteps("pod", calibration=0)


# --- backoff ----------------------------------------------------------------------


def test_backoff_grows_exponentially_with_jitter_and_is_capped() -> None:
    rng = random.Random(7)
    for attempt in range(200):
        ceiling = min(60.0, 2.0**attempt)
        d = backoff_delay(attempt, rng)
        assert ceiling / 2 <= d <= ceiling
    assert backoff_delay(10_000, rng) <= 60.0  # hours of absence: no overflow, capped


def test_backoff_jitter_spreads_devices_that_failed_together() -> None:
    rng = random.Random(1)
    delays = {round(backoff_delay(6, rng), 3) for _ in range(20)}
    assert len(delays) > 15


def test_backoff_options_and_errors() -> None:
    rng = random.Random(0)
    assert backoff_delay(3, rng, base_s=0.01, cap_s=0.05) <= 0.05
    assert backoff_delay(0, rng, base_s=0.0) == 0.0
    with pytest.raises(ValueError, match="attempt"):
        backoff_delay(-1, rng)
    with pytest.raises(ValueError, match="negative"):
        backoff_delay(1, rng, cap_s=-1)
