"""Version 2's waking day and what hangs on it (pacing-rules.md sections 1, 2, 8
and 12): the window opens when the person is up and closes at bed, lying is
not sitting, not-worn minutes are unknown, the daily budget, exercise sessions.

Times are local London clock times; a prompt decided on epoch 09:39 is stamped
09:40.
"""

from __future__ import annotations

from datetime import date, time
from typing import Any

import pytest
from helpers.engine import LONDON, SIT, STEP, UNK, UP, Day, Driver, Result, TimedCommand, run
from hypothesis import given, settings
from hypothesis import strategies as st

from pacer.config import (
    DayRules,
    ExerciseRules,
    PromptRules,
    Rules,
    SittingRules,
    StandingRules,
    WalkRules,
)
from pacer.engine.model import DayEvent, Dnd, Epoch, Exercise, Posture

LIE = Posture.LYING
DAY = Day(date(2026, 6, 10), LONDON)  # a Wednesday
KEY = "2026-06-10"
NO_WALKS = WalkRules(per_day=0, times=())


def rules(**tables: Any) -> Rules:
    tables.setdefault("walks", NO_WALKS)
    return Rules(**tables)


def at(clock: str, cmd: Any, day: Day = DAY) -> TimedCommand:
    return (day.seconds(clock), cmd)


def window(r: Result, key: str = KEY) -> dict[str, Any]:
    w = r.final(key)["window"]
    assert isinstance(w, dict)
    return w


def still(day: Day, start: str, minutes: int) -> list[Epoch]:
    """A step-only device's zero-step minutes (sedentary, inferred)."""
    first = day.at(start)
    return [Epoch.from_steps(m, 0) for m in range(first, first + minutes)]


def steps(day: Day, start: str, minutes: int, per_min: int = 90) -> list[Epoch]:
    first = day.at(start)
    return [Epoch.from_steps(m, per_min) for m in range(first, first + minutes)]


# --- when the window opens --------------------------------------------------------------


def test_a_wrist_opens_the_window_at_the_first_stepping_minute() -> None:
    epochs = still(DAY, "04:00", 150) + steps(DAY, "06:30", 3) + still(DAY, "06:33", 200)
    r = run(epochs, zone=LONDON, rules=rules())
    assert window(r)["opened"] == "2026-06-10T06:30:00+01:00"
    assert window(r)["opened_by"] == "detected"


def test_steps_before_wake_early_do_not_open_it() -> None:
    # 05:29 is before 07:30 - 120 min: a night-time trip, not getting up.
    epochs = (still(DAY, "04:00", 89) + steps(DAY, "05:29", 1) + still(DAY, "05:30", 30)
              + steps(DAY, "06:00", 2) + still(DAY, "06:02", 60))
    r = run(epochs, zone=LONDON, rules=rules())
    assert window(r)["opened"] == "2026-06-10T06:00:00+01:00"


def test_a_day_in_bed_opens_at_wake_plus_wake_late_and_gets_no_nudge_before() -> None:
    r = run(still(DAY, "04:00", 12 * 60), zone=LONDON, rules=rules())
    assert window(r)["opened"] == "2026-06-10T11:30:00+01:00"
    assert window(r)["opened_by"] == "configured"
    assert all(DAY.clock(p.time) >= "11:30" for p in r.prompts)


def test_a_night_trip_on_a_posture_device_does_not_open_the_window() -> None:
    """Our choice: a posture device shows the person up after 5 minutes in a row
    not lying (a 3-minute walk to the toilet at 05:40 is not getting up)."""
    day = DAY.epochs(("04:00", 100, LIE), ("", 3, STEP, 40), ("", 70, LIE),
                     ("", 4, UP), ("", 1, LIE), ("", 30, SIT))
    r = run(day, zone=LONDON, rules=rules())
    assert window(r)["opened"] == "2026-06-10T06:58:00+01:00"
    assert window(r)["opened_by"] == "detected"


def test_a_posture_device_seen_sitting_is_up_but_lying_is_not() -> None:
    day = DAY.epochs(("04:00", 150, LIE), ("", 1, SIT), ("", 60, SIT))
    r = run(day, zone=LONDON, rules=rules())
    assert window(r)["opened"] == "2026-06-10T06:30:00+01:00"


def test_with_no_early_and_no_late_the_window_is_v1s_fixed_one() -> None:
    fixed = rules(day=DayRules(wake_early_min=0, wake_late_min=0))
    r = run(steps(DAY, "06:00", 3) + still(DAY, "06:03", 200), zone=LONDON, rules=fixed)
    assert window(r)["opened"] == "2026-06-10T07:30:00+01:00"


def test_im_up_opens_the_window_at_once_at_any_hour() -> None:
    r = run(still(DAY, "04:00", 120), zone=LONDON, rules=rules(),
            commands=[at("05:10", DayEvent("up"))])
    assert window(r)["opened"] == "2026-06-10T05:10:00+01:00"
    assert window(r)["opened_by"] == "event"


# --- lying, bed and nothing over the night ----------------------------------------------


def test_lying_is_its_own_posture_and_never_a_sitting_bout() -> None:
    day = DAY.epochs(("07:00", 60, SIT), ("", 120, LIE), ("", 30, UP))
    r = run(day, zone=LONDON, rules=rules())
    body = r.final(KEY)
    assert body["lying_min"] == 120
    assert body["sedentary_min"] == 60
    assert [p.kind for p in r.prompts] == ["sitting_break", "sitting_break"]
    assert all(p.reason["bout_min"] <= 60 for p in r.prompts)


def test_an_hour_lying_near_bedtime_closes_the_window_when_it_began() -> None:
    day = DAY.epochs(("07:00", 60, UP), ("20:50", 90, LIE))
    r = run(day, zone=LONDON, rules=rules())
    assert window(r)["closed"] == "2026-06-10T20:50:00+01:00"
    assert window(r)["closed_by"] == "detected"
    assert r.final(KEY)["lying_min"] == 0  # the night's lying left the window's figures


def test_lying_an_hour_in_the_afternoon_is_a_rest_not_bed() -> None:
    day = DAY.epochs(("07:00", 60, UP), ("14:00", 90, LIE), ("", 30, UP))
    r = run(day, zone=LONDON, rules=rules())
    assert window(r)["closed_by"] is None  # still open when the data end
    assert r.final(KEY)["lying_min"] == 90


def test_going_to_bed_closes_and_im_up_reopens_the_same_day() -> None:
    day = DAY.epochs(("07:00", 8 * 60, SIT))
    r = run(day, zone=LONDON, rules=rules(),
            commands=[at("12:00", DayEvent("bed")), at("13:30", DayEvent("up"))])
    # No sitting prompt while the window is closed; a bout counts again from 13:30.
    clocks = [DAY.clock(p.time) for p in r.prompts if p.kind == "sitting_break"]
    assert not [c for c in clocks if "12:00" <= c < "13:30"]
    assert "14:10" in clocks
    assert window(r)["opened"] == "2026-06-10T07:00:00+01:00"


def test_a_bout_never_carries_over_the_night() -> None:
    """v1: "sitting for about 565 minutes" at 07:31 after a night in bed."""
    night = Day(date(2026, 6, 9), LONDON)
    epochs = still(night, "20:00", 14 * 60) + steps(DAY, "10:00", 2) + still(DAY, "10:02", 50)
    r = run(epochs, zone=LONDON, rules=rules())
    for p in r.prompts:
        if p.kind == "sitting_break":
            assert p.reason["bout_min"] <= 60


# --- a night worker ----------------------------------------------------------------------


def test_a_configured_night_window_belongs_to_the_day_it_opens_in() -> None:
    night = rules(day=DayRules(start=time(12, 0), wake=time(14, 30), sleep=time(6, 30),
                               min_known_hours=8, wake_early_min=0, wake_late_min=0))
    r = run(DAY.epochs(("14:00", 18 * 60, SIT)), zone=LONDON, rules=night)
    w = window(r)
    assert (w["opened"], w["closed"]) == ("2026-06-10T14:30:00+01:00",
                                          "2026-06-11T06:30:00+01:00")
    assert all(not ("06:30" <= DAY.clock(p.time) < "14:30") for p in r.prompts)


def test_a_night_worker_who_only_taps_up_and_bed_gets_no_prompt_while_asleep() -> None:
    # Up at 20:00, works through the night (sitting), bed at 08:00; asleep all morning.
    epochs = (still(DAY, "08:00", 12 * 60) + DAY.epochs(("20:00", 12 * 60, SIT))
              + still(Day(date(2026, 6, 11), LONDON), "08:00", 10 * 60))
    tomorrow = Day(date(2026, 6, 11), LONDON)
    r = run(epochs, zone=LONDON, rules=rules(),
            commands=[at("07:59", DayEvent("bed")), at("20:00", DayEvent("up")),
                      at("08:00", DayEvent("bed"), tomorrow)])
    asleep = [p for p in r.prompts if p.kind != "red_flag"
              and (tomorrow.at("08:00") <= p.time < tomorrow.at("18:00"))]
    assert asleep == []
    # ... and prompts at work in the night, across the day's start at 04:00.
    assert any(tomorrow.at("00:00") <= p.time < tomorrow.at("08:00") for p in r.prompts)


# --- DST ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("day", "hours"), [(date(2026, 3, 29), 23), (date(2026, 10, 25), 25)])
def test_the_window_on_a_dst_day(day: date, hours: int) -> None:
    d = Day(day, LONDON)
    epochs = d.epochs(("07:00", 60, UP), ("", 14 * 60, SIT))
    r = run(epochs, zone=LONDON, rules=rules())
    w = window(r, day.isoformat())
    assert w["opened"].startswith(f"{day.isoformat()}T07:00:00")
    assert w["closed"].startswith(f"{day.isoformat()}T21:30:00")


# --- not worn ----------------------------------------------------------------------------


def test_not_worn_minutes_are_unknown_never_sitting() -> None:
    epochs = steps(DAY, "07:00", 5) + [Epoch.not_worn(m) for m in
                                       range(DAY.at("07:05"), DAY.at("10:05"))]
    r = run(epochs, zone=LONDON, rules=rules())
    assert [p for p in r.prompts if p.kind == "sitting_break"] == []
    body = r.final(KEY)
    assert body["not_worn_min"] == 180
    assert body["sedentary_min"] == 0


def test_a_late_not_worn_correction_takes_the_minutes_out_of_the_bout_and_the_day() -> None:
    driver = Driver(rules=rules(), zone=LONDON)
    driver.feed(steps(DAY, "07:00", 5) + still(DAY, "07:05", 30))
    engine = driver.engine
    assert engine.status().sitting_min == 30
    engine.not_worn(DAY.at("07:05"), DAY.at("07:35"))
    assert engine.status().sitting_min == 0
    driver.feed(still(DAY, "07:35", 20))
    r = driver.finish()
    body = r.final(KEY)
    assert body["not_worn_min"] == 30
    assert body["sedentary_min"] == 20
    assert body["sedentary_inferred_min"] == 20  # the taken-back minutes are not counted
    assert [p for p in r.prompts if p.kind == "sitting_break"] == []


def test_the_sitting_prompt_says_still_when_the_sitting_was_inferred() -> None:
    r = run(steps(DAY, "07:00", 5) + still(DAY, "07:05", 45), zone=LONDON, rules=rules())
    [p] = [p for p in r.prompts if p.kind == "sitting_break"]
    assert p.reason["inferred"] is True
    assert "been still" in p.text
    assert "sitting for" not in p.text


def test_the_wearable_going_quiet_is_said_once() -> None:
    epochs = steps(DAY, "07:00", 5) + still(DAY, "07:05", 30)
    r = run(epochs + [Epoch.unknown(m) for m in range(DAY.at("07:35"), DAY.at("12:00"))],
            zone=LONDON, rules=rules())
    silent = [p for p in r.prompts if p.kind == "wearable_silent"]
    assert [DAY.clock(p.time) for p in silent] == ["09:05"]
    assert "7:35" in silent[0].text


# --- the daily budget ------------------------------------------------------------------


def test_the_budget_caps_nudges_and_keeps_its_reserve_for_a_bouts_first_prompt() -> None:
    # Twelve 45-minute bouts: each wants a first prompt and a repeat.
    segments: list[Any] = [("07:00", 2, UP)]
    for _ in range(12):
        segments += [("", 58, SIT), ("", 2, UP)]
    budget = rules(prompts=PromptRules(max_per_day=6, reserve=3),
                   sitting=SittingRules(ignored_streak=0))
    r = run(DAY.epochs(*segments), zone=LONDON, rules=budget)
    sent = [p for p in r.prompts if p.kind == "sitting_break"]
    assert len(sent) == 6
    repeats = [p.reason["repeat"] for p in sent]
    # While more than the reserve (3) is left, repeats go out; then the last
    # three of the budget go to the first prompts of new bouts only.
    assert repeats == [0, 1, 0, 0, 0, 0]
    assert r.final(KEY)["prompts_dropped"]["budget"] > 0


# --- exercise ------------------------------------------------------------------------------


def test_exercise_sessions_are_counted_and_a_reminder_comes_when_the_week_needs_one() -> None:
    monday = Day(date(2026, 6, 8), LONDON)
    plan = rules(exercise=ExerciseRules(per_week=4, reminder=time(18, 0)))
    epochs = []
    for i in range(3):
        d = Day(date(2026, 6, 8 + i), LONDON)
        epochs += d.epochs(("07:00", 14 * 60, UP))
    commands = [at("12:00", Exercise(20, "back exercises"), monday)]
    r = run(epochs, zone=LONDON, rules=plan, commands=commands)
    assert r.final("2026-06-08")["exercise"] == {"sessions": 1, "minutes": 20}
    reminders = [(p.time, p.reason) for p in r.prompts if p.kind == "exercise_reminder"]
    # Monday had one; Tuesday is 1 day without: no reminder; Wednesday is the second.
    assert [Day(date(2026, 6, 10), LONDON).clock(t) for t, _ in reminders] == ["18:00"]
    assert reminders[0][1] == {"sessions_week": 1, "target": 4}


def test_unknown_minutes_do_not_open_the_window() -> None:
    r = run(DAY.epochs(("05:00", 120, UNK)) + steps(DAY, "07:00", 1), zone=LONDON,
            rules=rules())
    assert window(r)["opened"] == "2026-06-10T07:00:00+01:00"


# --- standing, for a back that does not tolerate it ---------------------------------------


def test_standing_too_long_gets_a_standing_break_on_a_posture_device() -> None:
    standing = rules(standing=StandingRules(limit_min=30))
    r = run(DAY.epochs(("07:00", 5, SIT), ("", 80, UP), ("", 2, SIT), ("", 40, UP)),
            zone=LONDON, rules=standing)
    got = [(DAY.clock(p.time), p.reason["bout_min"], p.reason["repeat"])
           for p in r.prompts if p.kind == "standing_break"]
    # 07:05 on its feet: 30 minutes at 07:35, one repeat 15 minutes later; two
    # minutes sitting is a break, and the next stretch starts afresh.
    assert got == [("07:35", 30, 0), ("07:50", 45, 1), ("08:57", 30, 0)]
    assert "standing for about 30 minutes" in r.prompts[0].text


def test_a_wrist_never_gets_a_standing_break() -> None:
    standing = rules(standing=StandingRules(limit_min=30))
    r = run(steps(DAY, "07:00", 2) + [Epoch.from_steps(m, 5) for m in
                                      range(DAY.at("07:02"), DAY.at("09:00"))],
            zone=LONDON, rules=standing)
    assert [p for p in r.prompts if p.kind == "standing_break"] == []


# --- combinations ------------------------------------------------------------------------


def test_nudges_dropped_in_do_not_disturb_do_not_use_the_budget() -> None:
    # Two-prompt bouts all day; do-not-disturb over the morning's bouts.
    segments: list[Any] = [("07:00", 2, UP)]
    for _ in range(8):
        segments += [("", 58, SIT), ("", 2, UP)]
    budget = rules(prompts=PromptRules(max_per_day=4, reserve=1),
                   sitting=SittingRules(ignored_streak=0))
    quiet = run(DAY.epochs(*segments), zone=LONDON, rules=budget,
                commands=[at("07:00", Dnd(240))])
    sent = [p for p in quiet.prompts if p.kind == "sitting_break"]
    assert len(sent) == 4
    assert all(DAY.clock(p.time) >= "11:00" for p in sent)
    dropped = quiet.final(KEY)["prompts_dropped"]
    assert dropped["dnd"] > 0
    assert dropped["budget"] > 0


def test_the_morning_message_and_a_walk_reminder_do_not_contradict() -> None:
    """Plan messages are neither more nor less: a walk reminder right after the
    morning message goes out."""
    walks = rules(walks=WalkRules(per_day=1, times=(time(7, 40),)),
                  day=DayRules(wake_early_min=0, wake_late_min=0))
    driver = Driver(rules=walks, zone=LONDON)
    driver.engine.state.morning.append({"part": "plan_change", "old_quota": None,
                                        "new_quota": None, "why": "a test part"})
    driver.feed(DAY.epochs(("07:30", 30, UP, 5)))
    r = driver.finish()
    # The data begin at 07:30: the window opened then, said at the minute's end.
    assert [(DAY.clock(p.time), p.kind) for p in r.prompts] == [
        ("07:31", "plan_update"), ("07:40", "walk_reminder")]


@settings(max_examples=60, deadline=None)
@given(st.integers(5, 120), st.integers(0, 90), st.integers(0, 30))
def test_property_a_still_run_told_as_not_worn_never_yields_a_sitting_prompt(
    still_min: int, after: int, head: int
) -> None:
    """Whatever the lengths, after the correction no sitting prompt counts the
    still run: a prompt's bout is only the sitting that came after it."""
    driver = Driver(rules=rules(), zone=LONDON)
    driver.feed(steps(DAY, "07:00", 2) + still(DAY, "07:02", head))
    start = DAY.at("07:02") + head
    driver.feed([Epoch.from_steps(m, 0) for m in range(start, start + still_min)])
    driver.engine.not_worn(start, start + still_min)
    end = start + still_min
    driver.feed([Epoch.from_steps(m, 0) for m in range(end, end + after)])
    r = driver.finish()
    for p in r.prompts:
        if p.kind == "sitting_break" and p.time > end:
            assert p.reason["bout_min"] <= head + (p.time - end)
    assert r.final(KEY)["not_worn_min"] == still_min


@pytest.mark.parametrize(("measured", "inferred", "marked"), [(645, 60, False), (60, 61, True)])
def test_a_day_is_inferred_only_when_most_of_its_sitting_was(
    measured: int, inferred: int, marked: bool
) -> None:
    epochs = DAY.epochs(("07:00", 1, UP), ("", measured, SIT))
    epochs += still(DAY, DAY.clock(epochs[-1].start + 1), inferred)
    r = run(epochs, zone=LONDON, rules=rules())
    body = r.final(KEY)
    assert (body["sedentary_inferred"], body["sedentary_inferred_min"]) == (marked, inferred)
