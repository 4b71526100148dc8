"""The simulated personas (pacer/personas.py) and the checker's detectors
(pacer/persona_check.py). Nothing here runs the engine: these hold whatever
the engine does."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from pacer import persona_check as pc
from pacer.engine.model import DayEvent, Posture, Prompt, Symptom
from pacer.engine.rules import Rules
from pacer.personas import PERSONAS, Recording
from pacer.timebase import minute_of, to_datetime

TZ = ZoneInfo("Europe/London")


@cache
def rec(name: str, weeks: int = 4, seed: int = 7) -> Recording:
    return PERSONAS[name].generate(weeks=weeks, seed=seed)


def local(m: int) -> datetime:
    return to_datetime(m, TZ)


def at(y: int, mo: int, d: int, h: int, mi: int = 0) -> int:
    return minute_of(datetime(y, mo, d, h, mi, tzinfo=TZ))


def steps_by_day(r: Recording) -> dict[date, int]:
    out: Counter[date] = Counter()
    for e in r.epochs:
        out[pc.pacing_date(e.start, r.timezone)] += e.steps
    return dict(out)


# --- the generators ---------------------------------------------------------------------


def test_five_personas_and_the_red_flag_night() -> None:
    assert {"desk_worker", "boom_bust", "deconditioned", "night_shift", "watch_off",
            "red_flag_night"} <= set(PERSONAS)


@pytest.mark.parametrize("name", sorted(PERSONAS))
def test_deterministic_for_a_seed(name: str) -> None:
    a = PERSONAS[name].generate(weeks=1, seed=11)
    b = PERSONAS[name].generate(weeks=1, seed=11)
    assert a == b
    assert a.epochs != PERSONAS[name].generate(weeks=1, seed=12).epochs


@pytest.mark.parametrize("name", sorted(PERSONAS))
def test_gap_free_whole_days_from_a_monday(name: str) -> None:
    r = rec(name)
    starts = [e.start for e in r.epochs]
    assert starts == list(range(starts[0], starts[0] + len(starts)))
    first, end = local(r.first_minute), local(r.end_minute)
    assert first.weekday() == 0
    assert first.time() == time(4, 0)
    assert end.time() == time(4, 0)
    assert end.date() == r.start + timedelta(days=28)
    assert r.days == 28
    assert len(r.dates()) == 28
    assert r.timezone == "Europe/London"
    assert all(e.steps >= 0 for e in r.epochs)


@pytest.mark.parametrize("name", sorted(PERSONAS))
def test_events_sorted_and_inside(name: str) -> None:
    r = rec(name)
    times = [e.at for e in r.events]
    assert times == sorted(times)
    assert all(r.first_minute * 60 <= t < r.end_minute * 60 for t in times)


@pytest.mark.parametrize("name", sorted(PERSONAS))
def test_ground_truth_consistent(name: str) -> None:
    r = rec(name)
    sleep = r.sleep
    assert sleep[0][0] == r.first_minute
    assert sleep[-1][1] == r.end_minute
    for start, until in sleep:
        assert start < until
    for (_, up), (bed, _) in itertools.pairwise(sleep):
        assert up < bed  # awake for a while between two sleeps
    assert r.awake == [(a[1], b[0]) for a, b in itertools.pairwise(sleep)]
    # every pacing day has someone getting up in it
    ups = {pc.pacing_date(up, r.timezone) for up, _ in r.awake}
    assert ups == set(r.dates())


@pytest.mark.parametrize("name", sorted(PERSONAS))
def test_settings_are_valid_rules(name: str) -> None:
    r = rec(name, weeks=1)
    pc.persona_rules(r, Rules())  # raises if a setting is unknown or out of range


def test_a_dst_change_inside_spring_and_autumn_personas() -> None:
    for name in ("desk_worker", "deconditioned"):
        r = rec(name)
        offsets = {local(e.start).utcoffset() for e in r.epochs}
        assert len(offsets) == 2, name
    # the desk worker still gets up on the wall clock after the change
    r = rec("desk_worker")
    ups = [local(up) for up, _ in r.awake]
    assert all(6 <= u.hour <= 9 for u in ups)


def test_desk_worker_steady_with_long_meetings() -> None:
    r = rec("desk_worker")
    steps = steps_by_day(r)
    assert all(6_000 <= s <= 10_000 for s in steps.values())
    assert 7_000 <= sorted(steps.values())[len(steps) // 2] <= 9_000
    assert all(e.inferred for e in r.epochs)  # a step-only watch
    # meetings: sitting stretches of 60 minutes and more on weekdays
    run, longest = 0, Counter[date]()
    for e in r.epochs:
        run = run + 1 if e.posture is Posture.SEDENTARY else 0
        d = local(e.start)
        if 9 <= d.hour < 17 and d.weekday() < 5:
            longest[d.date()] = max(longest[d.date()], run)
    assert sum(1 for v in longest.values() if v >= 60) >= 15


def test_boom_bust_swings_and_reports() -> None:
    r = rec("boom_bust")
    steps = sorted(steps_by_day(r).values())
    usual = steps[len(steps) // 2]
    assert steps[-1] >= 1.8 * usual
    assert steps[0] <= 0.5 * usual
    levels = [e.command.level for e in r.events if isinstance(e.command, Symptom)]
    assert "amber" in levels
    assert "red" in levels
    pains = [e.command.pain for e in r.events if isinstance(e.command, Symptom)]
    assert all(p is not None and 0 <= p <= 10 for p in pains)


def test_deconditioned_on_a_thigh() -> None:
    r = rec("deconditioned")
    assert not any(e.inferred for e in r.epochs)
    postures = Counter(e.posture for e in r.epochs)
    assert postures[Posture.LYING] > 0
    assert postures[Posture.SEDENTARY] > 8 * 60 * 28
    steps = sorted(steps_by_day(r).values())
    assert 1_000 <= steps[len(steps) // 2] <= 2_000
    # lying at night: most minutes asleep are lying
    asleep = [e for e in r.epochs if pc._asleep_at(e.start, r.sleep)]
    assert sum(e.posture is Posture.LYING for e in asleep) > 0.95 * len(asleep)


def test_night_shift_sleeps_by_day_and_taps() -> None:
    r = rec("night_shift")
    day_sleeps = {pc.pacing_date(s, r.timezone) for s, u in r.sleep
                  if local(s).hour < 12 and u - s >= 5 * 60 and local(s).hour >= 6}
    assert len(day_sleeps) >= 8  # the night weeks
    taps = Counter(e.command.event for e in r.events if isinstance(e.command, DayEvent))
    assert taps["up"] >= 20
    assert taps["bed"] >= 20
    # each tap lies close to the ground truth it reports
    ups = [up for up, _ in r.awake]
    for e in r.events:
        if isinstance(e.command, DayEvent) and e.command.event == "up":
            assert min(abs(e.at / 60 - u) for u in ups) <= 5


def test_watch_off_walks_unseen() -> None:
    r = rec("watch_off")
    not_worn = [e for e in r.epochs if e.posture is Posture.NOT_WORN]
    awake_off = [e for e in not_worn if not pc._asleep_at(e.start, r.sleep)]
    assert len(awake_off) > 20 * 60
    assert all(e.steps == 0 for e in not_worn)
    assert r.unseen_steps >= 4 * 3_000
    # a whole waking day with nothing seen
    assert 0 in steps_by_day(r).values()


def test_red_flag_at_two_in_the_morning() -> None:
    r = rec("red_flag_night")
    reds = [e for e in r.events if isinstance(e.command, Symptom) and e.command.red_flags]
    assert len(reds) == 1
    when = datetime.fromtimestamp(reds[0].at, TZ)
    assert when.hour == 2
    # awake then, per the ground truth: the report is not made in sleep
    assert not pc._asleep_at(int(reds[0].at // 60), r.sleep)


def test_weeks_and_seed_arguments() -> None:
    r = PERSONAS["desk_worker"].generate(weeks=2, seed=3)
    assert r.days == 14
    assert len(r.dates()) == 14
    with pytest.raises(ValueError, match="at least 1"):
        PERSONAS["desk_worker"].generate(weeks=0)


# --- the detectors ----------------------------------------------------------------------

SPRING_DAY = date(2026, 3, 17)


def p(kind: str, minute: int, **reason: Any) -> Prompt:
    return Prompt(id=f"{kind}-{minute}", kind=kind, level="nudge",  # type: ignore[arg-type]
                  time=minute, expires=None, title="", text="", actions=(), reason=reason)


def m(h: int, mi: int = 0, day: date = SPRING_DAY) -> int:
    return at(day.year, day.month, day.day, h, mi)


@pytest.mark.parametrize(("gap", "found"), [(119, 1), (120, 0), (0, 1), (121, 0)])
def test_walk_then_ease_off(gap: int, found: int) -> None:
    prompts = [p("walk_reminder", m(10)), p("pace_ease_off", m(10) + gap)]
    assert len(pc.contradictions(prompts, "Europe/London")) == found


@pytest.mark.parametrize(("first", "then"), [
    ("floor_nudge", "ceiling_reached"), ("walk_reminder", "ceiling_reached"),
    ("pace_ease_off", "walk_reminder"), ("pace_ease_off", "floor_nudge")])
def test_each_pair_within_coherence(first: str, then: str) -> None:
    for gap, found in ((119, 1), (120, 0)):
        prompts = [p(first, m(12)), p(then, m(12) + gap)]
        assert len(pc.contradictions(prompts, "Europe/London")) == found


def test_walk_after_ceiling_rest_of_the_day_only() -> None:
    prompts = [p("ceiling_reached", m(11)), p("walk_reminder", m(17)),
               p("walk_reminder", m(10, day=SPRING_DAY + timedelta(days=1)))]
    found = pc.contradictions(prompts, "Europe/London")
    assert [(a.kind, b.kind) for a, b in found] == [("ceiling_reached", "walk_reminder")]
    assert found[0][1].time == m(17)


def test_same_direction_is_no_contradiction() -> None:
    prompts = [p("walk_reminder", m(10)), p("floor_nudge", m(10, 30)),
               p("pace_ease_off", m(13)), p("ceiling_reached", m(13, 30)),
               p("sitting_break", m(13, 40))]
    assert pc.contradictions(prompts, "Europe/London") == []


def test_prompts_asleep() -> None:
    sleep = [(m(0), m(7)), (m(23), m(7, day=SPRING_DAY + timedelta(days=1)))]
    prompts = [p("sitting_break", m(6, 59)), p("plan_update", m(7)),
               p("walk_reminder", m(22, 59)), p("walk_reminder", m(23)),
               p("red_flag", m(2)), p("wearable_silent", m(1, 30, SPRING_DAY + timedelta(1)))]
    asleep = pc.prompts_asleep(prompts, sleep)
    assert [(x.kind, x.time) for x in asleep] == [
        ("sitting_break", m(6, 59)), ("walk_reminder", m(23)),
        ("wearable_silent", m(1, 30, SPRING_DAY + timedelta(1)))]


def test_bout_longer_than_time_up() -> None:
    sleep = [(m(0), m(7)), (m(23), m(23, 30))]
    prompts = [p("sitting_break", m(7, 40), bout_min=40),  # up 40 min: fine
               p("sitting_break", m(7, 40), bout_min=41),  # longer than the time up
               p("sitting_break", m(7, 30), bout_min=565),
               p("sitting_break", m(3), bout_min=5),  # in sleep: any bout is too long
               p("walk_reminder", m(8), bout_min=999),  # not a sitting prompt
               p("sitting_break", m(9))]  # no bout_min: nothing to judge
    over = pc.bouts_over_time_up(prompts, sleep)
    assert [x.reason["bout_min"] for x in over] == [41, 565, 5]


def test_nudges_per_day_by_pacing_date() -> None:
    days = [SPRING_DAY, SPRING_DAY + timedelta(days=1), SPRING_DAY + timedelta(days=2)]
    prompts = [p("sitting_break", m(9)), p("standing_break", m(10)),
               p("exercise_reminder", m(11)), p("wearable_silent", m(12)),
               p("walk_reminder", m(3, 59, days[1])),  # before 04:00: the day before
               p("plan_update", m(9)), p("red_flag", m(9)), p("review_suggested", m(9)),
               p("floor_nudge", m(4, 0, days[1]))]
    counts = pc.nudges_per_day(prompts, "Europe/London", days)
    assert counts == {days[0]: 5, days[1]: 1, days[2]: 0}


def test_progressions_read_old_and_new_reasons() -> None:
    v1_up = p("plan_update", m(7, 30), old_quota=6000, new_quota=6600,
              why="steady week: 5 days within the band, 7 valid days")
    v1_hold = p("plan_update", m(7, 30), old_quota=6000, new_quota=6000, why="holding this week")
    v1_settle = p("plan_update", m(7, 30), old_quota=3600, new_quota=5400,
                  why="the settle period is over; the plan resumes at 90%")
    v1_first = p("plan_update", m(7, 30), old_quota=None, new_quota=6000, why="baseline")
    v2_names = p("plan_update", m(7, 30), parts=["boom_followup", "weekly_review"],
                 old_quota=6000, new_quota=6600)
    v2_objects = p("plan_update", m(7, 30), parts=[
        {"part": "weekly_review", "old_quota": 6000, "new_quota": 6300}, {"part": "amber_day"}],
        old_quota=6000, new_quota=5670)
    v2_no_review = p("plan_update", m(7, 30), parts=["first_quota"], old_quota=None,
                     new_quota=6000)
    v2_hold = p("plan_update", m(7, 30), parts=[{"kind": "weekly_review", "old_quota": 6000,
                                                  "new_quota": 6000}])
    prompts = [v1_up, v1_hold, v1_settle, v1_first, v2_names, v2_objects, v2_no_review,
               v2_hold, p("walk_reminder", m(10), old_quota=1, new_quota=2, why="week")]
    assert pc.progressions(prompts) == [v1_up, v2_names, v2_objects]


def test_morning_plan_messages() -> None:
    next_day = SPRING_DAY + timedelta(days=1)
    sleep = [(m(0), m(7)), (m(23), m(8, 0, next_day)), (m(23, 0, next_day),
                                                       m(4, 0, next_day + timedelta(1)))]
    prompts = [p("plan_update", m(7)), p("boom_followup", m(7, 5)),
               p("plan_update", m(12)),  # later in the day: not a morning message
               p("plan_update", m(7, 30, next_day)),  # before getting up: counted
               p("sitting_break", m(8, 0, next_day))]
    assert pc.morning_plan_messages(prompts, sleep) == [2, 1]


def test_judge_puts_it_together() -> None:
    r = rec("desk_worker", weeks=1)
    up, bed = r.awake[1]
    prompts = [p("walk_reminder", up + 60), p("pace_ease_off", up + 70),
               p("sitting_break", bed + 10, bout_min=30)]
    v = pc.judge(prompts, r)
    assert v.days == 7
    assert len(v.nudges) == 7
    assert v.nudges_max == 3
    assert v.nudges_mean == pytest.approx(3 / 7)
    assert len(v.contradictions) == 1
    assert len(v.asleep) == 1
    assert len(v.bouts_over_up) == 1
    assert v.progressions == []
    assert sum(v.mornings) == 0
