"""The daily plan and the symptom rules: baseline, quota, weekly progression,
amber days, the settle plan, review_suggested, red flags, boom and bust, the
plan in the daily and weekly summaries, plan changes by the physiotherapist
(pacing-rules.md sections 4 to 7, 9 and 11; interfaces.md sections 3 to 5).

Every recording starts on Monday 2026-06-01 in London (day 0). Unless a test
says otherwise the baseline days 0-6 have 5,000 steps each, so at the rollover
after day 6 B = B80 = 5,000 and the first quota day is day 7 (a Monday) with
Q = 4,000, floor 2,000, ceiling 6,000 (v2: max(Q * 1.5, B80 * 1.15 = 5,750))
and the boom mark at 7,500 (v2: max(Q, B) * 1.5); the first weekly review is
at day 14's day.wake, over days 7-13. A day's steps are spread evenly over its
known minutes from 07:30 (all upright, so no sitting prompts unless a test adds
a bout). Walk reminders are off unless a test turns them on. The waking window
is the fixed 07:30-21:30 one (``plan_rules`` pins it, FIXED_DAY), so every
morning message goes out at 07:30.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers.daemon import write_minutes
from helpers.engine import SIT, STEP, UP, Result
from helpers.plan import (
    TZ,
    DaySpec,
    at,
    at_sleep,
    day,
    days_epochs,
    flags_of,
    invalid,
    key,
    kind,
    plan_of,
    plan_rules,
    run_days,
    stamp,
    stamped,
    week,
    when,
    write_events,
)

from pacer.config import (
    DayRules,
    PlanRules,
    PromptRules,
    SettleRules,
    SittingRules,
    WalkRules,
)
from pacer.contract import payloads
from pacer.engine.model import (
    Ack,
    Alert,
    DayEvent,
    Dnd,
    PlanChange,
    Posture,
    Prompt,
    Symptom,
)

B = 5000
Q = 4000
FLOOR, CEILING = 2000, 6000  # Q * 0.5; max(Q * 1.5, B80 * 1.15 = 5750)
BOOM = 7500  # max(Q, B) * 1.5 (v2: against the baseline, never below it)
SETTLE_Q = 3000  # B * 0.6
AT_PLAN = 3200  # Q * plan.progress_at (0.8): a day that counts toward progression
STEADY = 3500  # at plan, inside every band: 2000-6000, settle 1500-4500, amber 1800-5750
BASELINE = [B] * 7
RED_FLAG = ("saddle_numbness",)
BASELINE_WHY = "the baseline is complete"


def sitting_reason(bout_min: int, limit_min: int, repeat: int = 0) -> dict[str, Any]:
    """A sitting prompt's reason (v2: with the break advice and whether sitting was
    inferred; these recordings come from a posture device)."""
    return {"bout_min": bout_min, "limit_min": limit_min, "repeat": repeat,
            "advice": "walk", "inferred": False}


def plan_updates(r: Result) -> list[tuple[str, dict[str, Any]]]:
    return stamped(r, "plan_update")


def quota(r: Result, i: int) -> int | None:
    value: int | None = plan_of(r, i)["quota"]
    return value


def alerts(r: Result) -> list[tuple[str, dict[str, Any] | None]]:
    return [(stamp(o), None if o.body is None else payloads.alert(o.body, user="alice"))
            for o in r.outputs if isinstance(o, Alert)]


def dropped(r: Result) -> list[tuple[str, str, str]]:
    return [(stamp(d), d.kind, d.why) for d in r.dropped]


# --- 1. baseline (section 4, 11.11) ----------------------------------------------------


@pytest.mark.parametrize("valid_days", [6, 7])
def test_baseline_completes_on_the_seventh_valid_day(valid_days: int) -> None:
    r = run_days([B] * valid_days, until=(7, "08:00"))
    if valid_days == 6:
        assert plan_updates(r) == []
        assert plan_of(r, 7)["phase"] == "baseline"
        assert quota(r, 7) is None
    else:
        [(time, reason)] = plan_updates(r)
        assert time == when(7, "07:30")
        assert reason["old_quota"] is None
        assert reason["new_quota"] == Q
        assert BASELINE_WHY in reason["why"]
        assert plan_of(r, 7)["phase"] == "progressing"


@pytest.mark.parametrize(("last_known_min", "complete"), [(599, False), (600, True)])
def test_baseline_counts_valid_days_only(last_known_min: int, complete: bool) -> None:
    # Six valid days and two invalid ones with huge totals, then the 7th valid
    # day (or one known minute short of it).
    specs: list[DaySpec | int] = [
        3000, invalid(20000), 7000, 5000, invalid(20000), 4000, 6000, 5500,
        DaySpec(4500, known_min=last_known_min),
    ]
    r = run_days(specs, until=(9, "08:00"))
    assert [r.final(key(i))["valid"] for i in range(9)] == [
        True, False, True, True, False, True, True, True, complete]
    assert r.final(key(1))["known_min"] == 599
    if complete:
        # B = median(3000, 7000, 5000, 4000, 6000, 5500, 4500) = 5000
        assert plan_updates(r) == [(when(9, "07:30"), {
            "parts": ["first_quota"], "old_quota": None, "new_quota": Q,
            "why": "the baseline is complete: the median of 7 days was 5,000 steps, and the "
                   "plan starts at 80% of it"})]
    else:
        assert plan_updates(r) == []
        assert plan_of(r, 9)["phase"] == "baseline"


def test_first_quota_is_announced_at_wake_and_applies_that_day() -> None:
    r = run_days([*BASELINE, STEADY])
    [p] = kind(r, "plan_update")
    assert stamp(p) == when(7, "07:30")
    assert p.level == "info"
    payload = payloads.prompt(p, user="alice", tz=day(7).tz)
    assert payload["time"] == "2026-06-08T07:30:00+01:00"
    assert "4,000" in payload["text"]
    assert p.reason["parts"] == ["first_quota"]
    assert plan_of(r, 6) == {"phase": "baseline", "quota": None, "floor": None,
                             "ceiling": None, "achievement": None}
    assert plan_of(r, 7) == {"phase": "progressing", "quota": Q, "floor": FLOOR,
                             "ceiling": CEILING, "achievement": 0.88}  # 3500 / 4000


@pytest.mark.parametrize(("steps", "reached"), [(6784, False), (6785, True)])
def test_ceiling_is_never_below_the_usual_good_day(steps: int, reached: bool) -> None:
    # v2 (section 4): ceiling = max(Q * 1.5, B80 * 1.15). Baseline days of 3,000 to
    # 7,000: B = 5,000 and B80 = 5,900 (80th percentile, linear interpolation between
    # 5,500 and 6,000), so the ceiling is 6,785, above Q * 1.5 = 6,000. Day 7 ends
    # its data at 17:30, so the steps that reach the ceiling come inside the window.
    specs: list[DaySpec | int] = [5500, 3000, 7000, 4500, 6000, 4000, 5000,
                                  DaySpec(steps, known_min=600)]
    r = run_days(specs)
    assert plan_updates(r)[0][1]["new_quota"] == Q
    assert [time for time, _ in stamped(r, "ceiling_reached")] == (
        [when(7, "17:30")] if reached else [])
    assert [reason["ceiling"] for _, reason in stamped(r, "ceiling_reached")] == (
        [6785] if reached else [])
    # The summary shows the ceiling in force, the same one.
    assert plan_of(r, 7)["ceiling"] == 6785
    assert "boom" not in flags_of(r, 7)  # 7,500 is the boom mark


def test_four_day_baseline_median_and_usual_good_day() -> None:
    # plan.baseline_days = 4 (Visible's): B = median(3,000, 4,000, 5,000, 9,000) =
    # 4,500, so Q = 3,600; B80 = 5,000 + 0.4 * 4,000 = 6,600 (linear interpolation),
    # so the ceiling is max(5,400, 7,590) = 7,590; the boom mark max(Q, B) * 1.5 = 6,750.
    rules = plan_rules(plan=PlanRules(baseline_days=4))
    r = run_days([9000, 3000, 5000, 4000, DaySpec(6750, known_min=600)], rules=rules)
    [(time, reason)] = plan_updates(r)
    assert (time, reason["new_quota"]) == (when(4, "07:30"), 3600)
    assert "the median of 4 days was 4,500 steps" in reason["why"]
    assert plan_of(r, 4) == {"phase": "progressing", "quota": 3600, "floor": 1800,
                             "ceiling": 7590, "achievement": 1.88}
    assert "boom" in flags_of(r, 4)
    assert kind(r, "ceiling_reached") == []  # a boom under the usual good day's ceiling


def test_nothing_that_needs_a_quota_fires_during_the_baseline() -> None:
    # A very big day and a very small one in the baseline: no boom, no ceiling,
    # no ease-off, no floor nudge, no boom follow-up the morning after.
    specs = [1000, 20000, B, B, B, B, 20000, STEADY]  # median still 5000
    r = run_days(specs)
    assert {p.kind for p in r.prompts} == {"plan_update"}
    assert [flags_of(r, i) for i in range(8)] == [[]] * 8
    assert plan_updates(r)[0][1]["new_quota"] == Q


def test_baseline_leaves_out_every_day_touched_by_a_settle_period() -> None:
    # Red in the last minute of day 1 (03:59:30 on the next date): the settle
    # period runs to 03:59:30 on day 4's last minute, so days 1-4 are each partly
    # inside it and do not count; day 5 is the first untouched day.
    specs = [B, 20000, 20000, 20000, 20000, B, B, B, B, B, B, STEADY]
    r = run_days(specs, commands=[at(1, "+1 03:59:30", Symptom("red"))])
    assert [("settling" in flags_of(r, i)) for i in range(7)] == [
        False, True, True, True, True, False, False]
    # Sent at the next day.wake, the baseline quota is null; v2: the settle plan's
    # walks and advice lines come with it (section 6).
    [(time, reason)] = stamped(r, "settle_plan")
    assert time == when(2, "07:30")
    assert {k: reason[k] for k in ("until", "quota", "sitting_limit_min", "walks",
                                   "walk_min")} == {
        "until": "2026-06-06T03:59:30+01:00", "quota": None, "sitting_limit_min": 30,
        "walks": 3, "walk_min": 5}
    assert list(reason["advice"]) == list(SettleRules().advice)
    assert plan_of(r, 2)["phase"] == "settling"
    assert plan_of(r, 2)["quota"] is None
    # Valid untouched days 0, 5-10: the 7th is day 10, so the quota comes at day 11.
    assert plan_updates(r) == [(when(11, "07:30"), {
        "parts": ["first_quota"], "old_quota": None, "new_quota": Q,
        "why": "the baseline is complete: the median of 7 days was 5,000 steps, and the "
               "plan starts at 80% of it"})]


# --- 2. weekly progression (section 4, 11.12) ---------------------------------------


def review(week_days: list[DaySpec | int], commands: Any = (), **kw: Any) -> Result:
    """The baseline, the first quota week (days 7-13), up to 08:00 on day 14."""
    return run_days([*BASELINE, *week_days], commands=commands, until=(14, "08:00"), **kw)


def review_update(r: Result) -> dict[str, Any]:
    found = [reason for time, reason in plan_updates(r) if time == when(14, "07:30")]
    assert len(found) == 1, plan_updates(r)
    return found[0]


def assert_progressed(r: Result, old: int = Q) -> None:
    reason = review_update(r)
    assert (reason["old_quota"], reason["new_quota"]) == (old, old + 500)  # + B * 0.10
    assert reason["why"].startswith("a steady week: ")
    assert "weekly_review" in reason["parts"]
    assert plan_of(r, 14)["phase"] == "progressing"
    assert quota(r, 14) == old + 500


def assert_held(r: Result, old: int = Q) -> str:
    reason = review_update(r)
    assert (reason["old_quota"], reason["new_quota"]) == (old, old)
    assert str(reason["why"]).startswith("the plan holds this week: ")
    assert plan_of(r, 14)["phase"] == "holding"
    assert quota(r, 14) == old
    return str(reason["why"])


def test_steady_week_progresses() -> None:
    r = review([STEADY] * 7)
    assert_progressed(r)
    # v2: the walk target grows with it (walks.growth_min, from 5 to 6 minutes).
    assert review_update(r)["why"] == ("a steady week: 7 of 7 days at or near your plan; "
                                       "your walks grow to about 6 minutes each")
    assert plan_of(r, 14) == {"phase": "progressing", "quota": 4500, "floor": 2250,
                              "ceiling": 6750, "achievement": 0.0}
    # No review before the first quota week is over.
    assert [time for time, _ in plan_updates(r)] == [when(7, "07:30"), when(14, "07:30")]


@pytest.mark.parametrize(("invalid_days", "progress"), [(2, True), (3, False)])
def test_review_needs_five_valid_days(invalid_days: int, progress: bool) -> None:
    # Invalid days still have in-band steps: only the valid-day count changes.
    week_days = [invalid(STEADY)] * invalid_days + [STEADY] * (7 - invalid_days)
    r = review(week_days)
    if progress:
        assert_progressed(r)
    else:
        assert "only 4 days with enough data (5 needed)" in assert_held(r)


@pytest.mark.parametrize("red", [False, True])
def test_one_red_day_holds_progression(red: bool) -> None:
    commands = [at(8, "10:00", Symptom("red"))] if red else []
    r = review([STEADY] * 7, commands)
    if red:
        # The settle period (days 8-11) is over; the review holds the resumed quota.
        assert "1 red symptom day" in assert_held(r, old=3600)
    else:
        assert_progressed(r)


@pytest.mark.parametrize(
    ("amber_days", "progress"),
    [
        ([], True),
        ([8], True),
        ([8, 10], False),
        ([6, 8], True),  # day 6 is before the review week
        ([8, (14, "05:00")], True),  # the review day itself is not in the week
    ],
)
def test_at_most_one_amber_day(amber_days: list[Any], progress: bool) -> None:
    commands = []
    for d in amber_days:
        i, clock = d if isinstance(d, tuple) else (d, "12:00")
        commands.append(at(i, clock, Symptom("amber")))
    r = review([STEADY] * 7, commands)
    if progress:
        assert_progressed(r)
    else:
        assert "2 amber days (it grows after a week with at most one)" in assert_held(r)


@pytest.mark.parametrize(
    ("week_days", "at_plan"),
    [
        # v2 (section 4): days with steps >= Q * plan.progress_at count; one step
        # under it does not.
        ([AT_PLAN] * 4 + [AT_PLAN - 1] * 3, 4),
        ([AT_PLAN - 1, AT_PLAN, AT_PLAN - 1, AT_PLAN, AT_PLAN - 1, AT_PLAN, AT_PLAN - 1], 3),
        # Days above the ceiling count too (6,001 is not a boom, so the quiet days
        # after them are not busts).
        ([CEILING + 1, FLOOR - 1] * 3 + [CEILING + 1], 4),
        ([CEILING + 1, FLOOR - 1] * 3 + [FLOOR - 1], 3),
    ],
)
def test_four_days_at_or_above_the_plan(week_days: list[DaySpec | int], at_plan: int) -> None:
    r = review(week_days)
    if at_plan >= 4:
        assert_progressed(r)
        assert review_update(r)["why"].startswith(
            f"a steady week: {at_plan} of 7 days at or near your plan")
    else:
        assert assert_held(r) == (
            f"the plan holds this week: {at_plan} of 7 days at or near your plan (4 needed)")


@pytest.mark.parametrize("steps", [CEILING + 1000, BOOM, BOOM + 2000])
def test_a_week_above_the_band_every_day_progresses(steps: int) -> None:
    # v1 counted only days inside the band, so a person above it every day never
    # progressed. v2: days above the ceiling count, booms included, as long as no
    # bust followed them.
    r = review([steps] * 7)
    assert_progressed(r)
    assert review_update(r)["why"].startswith("a steady week: 7 of 7 days at or near your plan")
    assert [("boom" in flags_of(r, i)) for i in range(7, 14)] == [steps >= BOOM] * 7
    assert all("bust" not in flags_of(r, i) for i in range(7, 14))


@pytest.mark.parametrize(
    ("week_days", "held_why"),
    [
        ([BOOM, FLOOR - 1, STEADY, STEADY, STEADY, STEADY, STEADY],
         "1 big day was followed by a quiet day"),
        ([BOOM, 1000, STEADY, BOOM, 1000, STEADY, STEADY],
         "2 big days were followed by a quiet day"),
        ([BOOM, FLOOR, STEADY, STEADY, STEADY, STEADY, STEADY], None),  # not a bust
    ],
)
def test_hold_names_big_days_followed_by_a_quiet_day(
    week_days: list[DaySpec | int], held_why: str | None
) -> None:
    # Enough days at or above the plan (a boom day counts), but a boom followed by
    # a day under its floor (a bust) holds the plan, and the message says so.
    r = review(week_days)
    if held_why is None:
        assert_progressed(r)
    else:
        assert assert_held(r) == f"the plan holds this week: {held_why}"


def test_first_review_comes_at_least_seven_days_after_the_baseline() -> None:
    # Baseline Tuesday-Monday (days 1-7): the first quota day is Tuesday, day 8.
    # Monday day 14 is only 6 days later; the first review is on day 21.
    specs: list[DaySpec | int] = [DaySpec(0, known_min=0), *BASELINE, *[STEADY] * 13]
    r = run_days(specs, until=(21, "08:00"))
    assert [(time, reason["old_quota"], reason["new_quota"])
            for time, reason in plan_updates(r)] == [
        (when(8, "07:30"), None, Q),
        (when(21, "07:30"), Q, 4500),
    ]


@pytest.mark.parametrize(("max_min", "day21_target"), [(6, 6), (30, 7)])
def test_walk_target_grows_with_progression_up_to_its_cap(
    max_min: int, day21_target: int
) -> None:
    # v2 (section 3): walks.min_duration_min (5) alone decides what counts as a walk;
    # the plan's walk length is a target that grows by walks.growth_min (1) at each
    # progression, up to walks.max_duration_min. v1 counted only walks as long as
    # the target, so a 5-minute walk after the first progression was "0 walks".
    walks = WalkRules(per_day=0, times=(), min_duration_min=5, max_duration_min=max_min)

    def walk(minutes: int, steps: int) -> DaySpec:
        return DaySpec(steps, segments=(("12:00", minutes, STEP, 100),))

    specs: list[DaySpec | int] = [
        *BASELINE,
        walk(5, STEADY), *[STEADY] * 6,  # day 7: the target is 5 minutes
        walk(5, 4000), walk(6, 4000), *[4000] * 5,  # after the 1st progression: 6
        walk(6, 4500),  # after the 2nd: 7, or 6 with the cap at 6
    ]
    r = run_days(specs, rules=plan_rules(walks=walks))
    updates = plan_updates(r)
    assert [(reason["old_quota"], reason["new_quota"]) for _, reason in updates] == [
        (None, 4000), (4000, 4500), (4500, 5000)]
    assert updates[1][1]["why"].endswith("; your walks grow to about 6 minutes each")
    assert updates[2][1]["why"].endswith(
        "; your walks grow to about 7 minutes each" if day21_target == 7 else "your plan")
    assert [r.final(key(i))["walks"] for i in (7, 14, 15, 21)] == [1, 1, 1, 1]
    assert [r.final(key(i))["walk_lengths"] for i in (7, 14, 15, 21)] == [[5], [5], [6], [6]]
    # The target in force that day: a review at the window's first minute sets it.
    assert [r.final(key(i))["walk_target_min"] for i in (7, 14, 15, 21)] == [
        5, 6, 6, day21_target]


@pytest.mark.parametrize(("growth", "target", "limits"),
                         [(0, None, [40, 40]), (5, 50, [45, 50]), (15, 50, [50, 50])])
def test_sitting_limit_grows_with_progression_up_to_its_target(
    growth: int, target: int | None, limits: list[int]
) -> None:
    # v2 (section 2): sitting.limit_growth_min (default 0) is added to the limit at
    # each review that progresses, up to sitting.limit_target_min; the message says so.
    sitting = SittingRules(limit_growth_min=growth, limit_target_min=target)
    bout = DaySpec(STEADY, segments=(("09:00", 70, SIT),))
    specs: list[DaySpec | int] = [*BASELINE, *[STEADY] * 7, bout, *[4000] * 6, bout]
    r = run_days(specs, rules=plan_rules(sitting=sitting))
    reviews = plan_updates(r)[1:]
    assert [(reason["old_quota"], reason["new_quota"]) for _, reason in reviews] == [
        (4000, 4500), (4500, 5000)]
    for (_, reason), before, limit in zip(reviews, [40, *limits], limits, strict=False):
        said = f"movement breaks now come after {limit} minutes of sitting"
        assert (said in reason["why"]) is (limit > before)
    # The first sitting prompt of day 14 and of day 21 comes at the limit in force.
    firsts = [p for p in kind(r, "sitting_break") if p.reason["repeat"] == 0]
    assert [(stamp(p), p.reason["limit_min"]) for p in firsts] == [
        (when(14, f"{9 + limits[0] // 60:02d}:{limits[0] % 60:02d}"), limits[0]),
        (when(21, f"{9 + limits[1] // 60:02d}:{limits[1] % 60:02d}"), limits[1])]


def test_the_physiotherapists_sitting_limit_replaces_the_grown_one() -> None:
    # The limit grows to 45 at day 14's review; on day 15 the physiotherapist sets
    # 35: from then on the first prompt comes at 35, not at the grown 45 (and it
    # grows on from 35 at later reviews).
    sitting = SittingRules(limit_growth_min=5, limit_target_min=60)
    bout = DaySpec(STEADY, segments=(("09:00", 70, SIT),))
    specs: list[DaySpec | int] = [*BASELINE, *[STEADY] * 7, bout, bout, bout]
    change = PlanChange("physio", "shorter bouts for now", set={"sitting.limit_min": 35})
    r = run_days(specs, commands=[at(15, "08:00", change)], rules=plan_rules(sitting=sitting))
    assert all(reply.ok for reply in r.replies)
    firsts = [p for p in kind(r, "sitting_break") if p.reason["repeat"] == 0]
    assert [(stamp(p), p.reason["limit_min"]) for p in firsts] == [
        (when(14, "09:45"), 45), (when(15, "09:35"), 35), (when(16, "09:35"), 35)]


def test_the_physiotherapists_walk_length_replaces_the_grown_one() -> None:
    # The walk target grows to 6 at the first progression (day 14); the
    # physiotherapist then sets 8: the next day's plan and summary say 8.
    walks = WalkRules(per_day=0, times=(), min_duration_min=5, max_duration_min=30)
    walk = DaySpec(4000, segments=(("12:00", 6, STEP, 100),))
    specs: list[DaySpec | int] = [*BASELINE, *[STEADY] * 7, walk, walk]
    change = PlanChange("physio", "longer walks", set={"walks.target_min": 8})
    r = run_days(specs, commands=[at(15, "08:00", change)], rules=plan_rules(walks=walks))
    assert all(reply.ok for reply in r.replies)
    assert [r.final(key(i))["walk_target_min"] for i in (14, 15)] == [6, 8]


def test_grown_sitting_limit_is_shortened_while_settling_and_comes_back() -> None:
    # The limit grows to 45 at day 14's review; a red report on day 15 sets
    # min(45, settle.sitting_limit_min = 30) until day 18 at 08:00; then 45 again.
    sitting = SittingRules(limit_growth_min=5, limit_target_min=60)
    bout = DaySpec(STEADY, segments=(("09:00", 70, SIT),))
    specs: list[DaySpec | int] = [*BASELINE, *[STEADY] * 7, bout, bout, bout, bout, bout]
    r = run_days(specs, commands=[at(15, "08:00", Symptom("red"))],
                 rules=plan_rules(sitting=sitting))
    assert stamped(r, "settle_plan")[0][1]["sitting_limit_min"] == 30
    firsts = [p for p in kind(r, "sitting_break") if p.reason["repeat"] == 0]
    assert [(stamp(p), p.reason["limit_min"]) for p in firsts] == [
        (when(14, "09:45"), 45), (when(15, "09:30"), 30), (when(16, "09:30"), 30),
        (when(17, "09:30"), 30), (when(18, "09:45"), 45)]


# --- 3. amber (section 6) -------------------------------------------------------------


@pytest.mark.parametrize("clock", ["12:00", "21:45", "+1 03:59"])
def test_amber_lowers_the_next_day_only(clock: str) -> None:
    # Any time in day 8 (which runs to 04:00 the next date) reduces day 9.
    r = run_days([*BASELINE, *[STEADY] * 4], commands=[at(8, clock, Symptom("amber"))])
    assert plan_updates(r)[1:] == [(when(9, "07:30"), {
        "parts": ["amber_day"], "old_quota": Q, "new_quota": 3600,
        "why": "you reported an amber day yesterday, so today's target is 10% lower"})]
    assert [quota(r, i) for i in (7, 8, 9, 10)] == [Q, Q, 3600, Q]
    # v2: the ceiling never drops below the usual good day, max(5,400, 5,750).
    assert plan_of(r, 9) == {"phase": "progressing", "quota": 3600, "floor": 1800,
                             "ceiling": 5750, "achievement": 0.97}
    assert [s["level"] for s in r.final(key(8))["symptoms"]] == ["amber"]


def test_amber_during_the_baseline_changes_no_quota() -> None:
    r = run_days([*BASELINE, STEADY], commands=[at(3, "12:00", Symptom("amber"))])
    assert [time for time, _ in plan_updates(r)] == [when(7, "07:30")]
    assert quota(r, 4) is None
    assert quota(r, 7) == Q


def test_amber_on_the_last_baseline_day_lowers_the_first_quota_day() -> None:
    # v2 (section 8): one morning message with both parts, not two messages.
    r = run_days([*BASELINE, STEADY, STEADY], commands=[at(6, "12:00", Symptom("amber"))])
    assert plan_updates(r) == [(when(7, "07:30"), {
        "parts": ["first_quota", "amber_day"], "old_quota": None, "new_quota": 3600,
        "why": "the baseline is complete: the median of 7 days was 5,000 steps, and the "
               "plan starts at 80% of it; you reported an amber day yesterday, so today's "
               "target is 10% lower"})]
    text = kind(r, "plan_update")[0].text
    assert "3,600" in text
    assert text.index("The baseline is complete") < text.index("You reported an amber day")
    assert [quota(r, 7), quota(r, 8)] == [3600, Q]


def test_ambers_on_consecutive_days_lower_both_next_days() -> None:
    commands = [at(8, "12:00", Symptom("amber")), at(9, "12:00", Symptom("amber"))]
    r = run_days([*BASELINE, *[STEADY] * 5], commands=commands)
    assert [time for time, _ in plan_updates(r)[1:]] == [when(9, "07:30"), when(10, "07:30")]
    assert [quota(r, i) for i in (8, 9, 10, 11)] == [Q, 3600, 3600, Q]


# --- 4. red: the settle plan (section 6) ------------------------------------------------


def test_settle_plan_numbers_and_the_resume_at_ninety_percent() -> None:
    specs = [*BASELINE, *[STEADY] * 6]
    r = run_days(specs, commands=[at(8, "10:30", Symptom("red"))])
    [settle] = kind(r, "settle_plan")
    assert (stamp(settle), settle.level) == (when(8, "10:30"), "warning")
    # v2 (section 6): the settle plan's walks (3 of 5 minutes: 900 steps fit half
    # of 3,000) and what to do, in the physiotherapist's chosen lines.
    assert dict(settle.reason) == {"until": "2026-06-12T10:30:00+01:00", "quota": SETTLE_Q,
                                   "sitting_limit_min": 30, "walks": 3, "walk_min": 5,
                                   "advice": list(SettleRules().advice)}
    assert "Until Friday at 10:30 the plan settles: a lighter target of 3,000 steps" in (
        settle.text)
    assert "3 short walks of about 5 minutes" in settle.text
    assert all(line in settle.text for line in SettleRules().advice)
    # While settling the ceiling is from the settle quota only: 3,000 * 1.5, not
    # the usual good day's 5,750.
    for i in (8, 9, 10):
        assert plan_of(r, i) == {"phase": "settling", "quota": SETTLE_Q, "floor": 1500,
                                 "ceiling": 4500, "achievement": 1.17}
        assert "settling" in flags_of(r, i)
    # It ends on day 11 at 10:30: the rest of the day is on the resumed quota,
    # round(4000 * 0.9); the day still carries the flag.
    assert plan_of(r, 11) == {"phase": "progressing", "quota": 3600, "floor": 1800,
                              "ceiling": 5750, "achievement": 0.97}
    assert "settling" in flags_of(r, 11)
    assert "settling" not in flags_of(r, 12)
    [(time, reason)] = plan_updates(r)[1:]
    assert time.startswith(key(11))
    assert reason["new_quota"] == 3600
    assert "settle period is over" in reason["why"]
    assert quota(r, 12) == 3600
    assert r.final(key(8))["symptoms"] == [{"time": "2026-06-09T10:30:00+01:00",
                                            "level": "red"}]


def test_the_plan_change_a_red_report_makes_says_its_end_as_a_person_writes_it() -> None:
    r = run_days([*BASELINE, *[STEADY] * 6], commands=[at(8, "10:30", Symptom("red"))])
    changes = [c for w in r.weeks for c in payloads.summary(w)["plan_changes"]]
    why = [c["why"] for c in changes if c["why"].startswith("a red symptom report")]
    # Shown in the app's "why it changed", the report and the clinic: as the
    # settle prompt says it, no timestamp.
    assert set(why) == {"a red symptom report: settle plan until Friday at 10:30"}, changes


def test_settle_plan_has_three_walk_reminders_a_day() -> None:
    # Walk reminders are off in the person's plan; the settle plan has three.
    r = run_days([*BASELINE, *[STEADY] * 5], commands=[at(8, "10:30", Symptom("red"))])
    assert [(time, reason["walks_due"]) for time, reason in stamped(r, "walk_reminder")] == [
        (when(8, "14:00"), 2), (when(8, "17:00"), 3),
        (when(9, "10:00"), 1), (when(9, "14:00"), 2), (when(9, "17:00"), 3),
        (when(10, "10:00"), 1), (when(10, "14:00"), 2), (when(10, "17:00"), 3),
        (when(11, "10:00"), 1),  # the settle period ends at 10:30
    ]


@pytest.mark.parametrize(("minutes", "settling", "walks"),
                         [(7, False, 0), (8, False, 1), (5, True, 0), (7, True, 0),
                          (8, True, 1)])
def test_a_walk_counts_from_the_fixed_minimum_while_settling_too(
    minutes: int, settling: bool, walks: int
) -> None:
    # v2 (section 3): walks.min_duration_min (here 8) alone decides what counts as a
    # walk; settle.walk_min (5) is the settle plan's target length, not a threshold
    # (v1 counted a 5-minute walk while settling).
    spec = DaySpec(B, segments=(("12:00", minutes, STEP, 100),))
    rules = plan_rules(walks=WalkRules(min_duration_min=8))
    commands = [at(0, "09:00", Symptom("red"))] if settling else []
    r = run_days([spec], commands=commands, rules=rules)
    assert r.final(key(0))["walks"] == walks
    assert r.final(key(0))["walk_lengths"] == ([minutes] if walks else [])
    # The target in force at the window's close: the settle plan's 5 minutes.
    assert r.final(key(0))["walk_target_min"] == (5 if settling else 8)


@pytest.mark.parametrize("settling", [False, True])
def test_no_ease_off_or_floor_nudge_while_settling(settling: bool) -> None:
    # Day 8 front-loaded (2,400 steps by 08:30), day 9 quiet (500 steps).
    ahead = DaySpec(2400, segments=(("07:30", 60, UP, 40),))
    commands = [at(8, "07:00", Symptom("red"))] if settling else []
    r = run_days([*BASELINE, STEADY, ahead, 500], commands=commands)
    nudges = {p.kind for p in r.prompts if p.kind in ("pace_ease_off", "floor_nudge")}
    if settling:
        assert nudges == set()
    else:
        assert nudges == {"pace_ease_off", "floor_nudge"}
        [(time, reason)] = stamped(r, "floor_nudge")
        assert time == when(9, "16:00")
        assert reason["floor"] == FLOOR


@pytest.mark.parametrize(("limit", "in_force"), [(25, 25), (30, 30), (31, 30), (40, 30)])
def test_settle_sitting_limit_is_at_most_thirty(limit: int, in_force: int) -> None:
    # Baseline day 0, sitting from 09:00; red at 09:05.
    spec = DaySpec(B, segments=(("09:00", 120, SIT),))
    rules = plan_rules(sitting=SittingRules(limit_min=limit))
    r = run_days([spec], commands=[at(0, "09:05", Symptom("red"))], rules=rules)
    assert stamped(r, "settle_plan")[0][1]["sitting_limit_min"] == in_force
    first = kind(r, "sitting_break")[0]
    assert stamp(first) == when(0, f"09:{in_force:02d}")
    assert dict(first.reason) == sitting_reason(in_force, in_force)


@pytest.mark.parametrize(("settle_limit", "limit", "in_force"),
                         [(20, 40, 20), (20, 15, 15), (60, 40, 40)])
def test_settle_sitting_limit_is_set_by_settle_sitting_limit_min(
    settle_limit: int, limit: int, in_force: int
) -> None:
    spec = DaySpec(B, segments=(("09:00", 120, SIT),))
    rules = plan_rules(sitting=SittingRules(limit_min=limit),
                       settle=SettleRules(sitting_limit_min=settle_limit))
    r = run_days([spec], commands=[at(0, "09:05", Symptom("red"))], rules=rules)
    assert stamped(r, "settle_plan")[0][1]["sitting_limit_min"] == in_force
    first = kind(r, "sitting_break")[0]
    assert stamp(first) == when(0, f"09:{in_force:02d}")
    assert dict(first.reason) == sitting_reason(in_force, in_force)


def test_settle_sitting_limit_min_is_a_setting_a_plan_change_may_set() -> None:
    spec = DaySpec(B, segments=(("09:00", 120, SIT),))
    change = PlanChange("physio", "short bouts while settling",
                        set={"settle.sitting_limit_min": 20})
    r = run_days([spec], commands=[at(0, "08:00", change), at(0, "09:05", Symptom("red"))])
    assert stamped(r, "settle_plan")[0][1]["sitting_limit_min"] == 20
    assert stamp(kind(r, "sitting_break")[0]) == when(0, "09:20")


def test_settle_sitting_limit_applies_to_the_running_bout() -> None:
    # The bout is at 35 minutes when the red report comes: its prompt is due at once.
    spec = DaySpec(B, segments=(("09:00", 120, SIT),))
    rules = plan_rules(prompts=PromptRules(min_gap_min=0))
    r = run_days([spec], commands=[at(0, "09:35:30", Symptom("red"))], rules=rules)
    assert [(stamp(p), p.kind) for p in r.prompts[:2]] == [
        (when(0, "09:36"), "settle_plan"), (when(0, "09:36"), "sitting_break")]
    assert dict(r.prompts[1].reason) == sitting_reason(36, 30)


def test_settle_plan_waits_for_do_not_disturb_and_is_not_dropped() -> None:
    commands = [at(0, "09:30", Dnd(60)), at(0, "10:00", Symptom("red"))]
    r = run_days([B], commands=commands)
    assert [time for time, _ in stamped(r, "settle_plan")] == [when(0, "10:30")]
    assert [d for d in r.dropped if d.kind == "settle_plan"] == []


def test_red_after_day_sleep_keeps_that_day_summary_on_its_quota() -> None:
    # Section 11.14: a day's summary shows the quota in force at the window's close
    # (day.sleep here).
    r = run_days([*BASELINE, STEADY, STEADY, STEADY],
                 commands=[at(8, "22:00", Symptom("red"))])
    assert at_sleep(r, 8)["plan"]["quota"] == Q
    assert plan_of(r, 8)["phase"] == "progressing"
    assert quota(r, 8) == Q
    assert "settling" in flags_of(r, 8)
    assert [time for time, _ in stamped(r, "settle_plan")] == [when(9, "07:30")]
    assert plan_of(r, 9)["phase"] == "settling"


def test_red_after_going_to_bed_waits_for_the_next_window() -> None:
    # v2: "going to bed" closes the window at 20:00; a red report at 20:30 starts the
    # settle period at once, but its message waits for the next window's first
    # minute, and the day keeps the quota in force at its close.
    commands = [at(8, "20:00", DayEvent("bed")), at(8, "20:30", Symptom("red"))]
    r = run_days([*BASELINE, STEADY, STEADY, STEADY], commands=commands)
    assert r.final(key(8))["window"]["closed"] == "2026-06-09T20:00:00+01:00"
    assert at_sleep(r, 8)["plan"]["quota"] == Q
    assert quota(r, 8) == Q
    assert "settling" in flags_of(r, 8)
    assert [time for time, _ in stamped(r, "settle_plan")] == [when(9, "07:30")]
    assert stamped(r, "settle_plan")[0][1]["until"] == "2026-06-12T20:30:00+01:00"


def test_settle_ending_at_day_sleep_shows_the_resumed_quota() -> None:
    r = run_days([*BASELINE, *[STEADY] * 5], commands=[at(8, "21:29:30", Symptom("red"))])
    assert at_sleep(r, 11)["plan"]["quota"] == 3600
    assert quota(r, 11) == 3600


def test_settle_end_is_announced_when_it_ends() -> None:
    r = run_days([*BASELINE, *[STEADY] * 5], commands=[at(8, "10:30", Symptom("red"))])
    assert [time for time, _ in plan_updates(r)[1:]] == [when(11, "10:30")]


def test_settle_end_update_starts_from_the_settle_quota() -> None:
    r = run_days([*BASELINE, *[STEADY] * 5], commands=[at(8, "10:30", Symptom("red"))])
    [(_, reason)] = plan_updates(r)[1:]
    assert (reason["old_quota"], reason["new_quota"]) == (SETTLE_Q, 3600)


def test_settle_plan_is_a_recorded_plan_change() -> None:
    r = run_days([*BASELINE, *[STEADY] * 7], commands=[at(8, "10:30", Symptom("red"))])
    changes = week(r, "2026-W24")["plan_changes"]
    assert any(c["time"] == "2026-06-09T10:30:00+01:00" for c in changes), changes


def test_report_in_the_first_minute_of_a_day_belongs_to_that_day() -> None:
    r = run_days([B, B], commands=[at(1, "04:00:30", Symptom("amber", pain=3))])
    assert r.final(key(0))["symptoms"] == []
    assert [s["time"] for s in r.final(key(1))["symptoms"]] == ["2026-06-02T04:00:30+01:00"]


# --- 5. review_suggested (sections 6, 11.16) -----------------------------------------


@pytest.mark.parametrize(
    ("red_days", "review_on"),
    [([0, 1], None), ([0, 1, 2], 2), ([0, 2, 3], None), ([0, 1, 2, 3], 2)],
)
def test_review_suggested_after_three_consecutive_red_days(
    red_days: list[int], review_on: int | None
) -> None:
    commands = [at(i, "10:00", Symptom("red")) for i in red_days]
    r = run_days([B] * 4, commands=commands)
    found = stamped(r, "review_suggested")
    if review_on is None:
        assert found == []
        assert alerts(r) == []
        return
    # After that day's settle_plan, at the next minute the limits allow.
    assert found == [(when(review_on, "10:05"), {"red_days": 3})]
    [(time, body)] = alerts(r)
    assert time == when(review_on, "10:00")
    assert body is not None
    assert (body["kind"], body["reason"]) == ("review_suggested", {"red_days": 3})
    assert "review_suggested" in flags_of(r, review_on)
    assert kind(r, "review_suggested")[0].level == "warning"


@pytest.mark.parametrize(
    ("pains", "review_on"),
    [
        # v2 (11.16): 3 consecutive days, each at least as high as the day before,
        # the last at least 2 points above the first.
        ([3, 4, 5], 2),
        ([3, 4], None),  # two days only
        ([3, 4, 4], None),  # up by 1 only
        ([3, 3, 5], 2),  # a level day, then up: 2 points over the three days
        ([3, 5, 5], 2),
        ([3, 5, 4], None),  # not rising day after day
        ([3, 4, None, 5, 6], None),  # not consecutive days
        ([2, 3, 4, 5], 2),  # once while the alert is open
    ],
)
def test_review_suggested_when_pain_rises_three_days_in_a_row(
    pains: list[int | None], review_on: int | None
) -> None:
    commands = [at(i, "12:00", Symptom("green", pain=p))
                for i, p in enumerate(pains) if p is not None]
    r = run_days([B] * len(pains), commands=commands)
    found = stamped(r, "review_suggested")
    if review_on is None:
        assert found == []
        return
    rising = [p for p in pains if p is not None][:3]
    assert found == [(when(review_on, "12:00"), {"red_days": 0, "pain": rising})]
    assert [(t, b["kind"] if b else None) for t, b in alerts(r)] == [
        (when(review_on, "12:00"), "review_suggested")]


def test_review_alert_is_cleared_by_a_plan_editor() -> None:
    commands = [at(i, "12:00", Symptom("green", pain=p)) for i, p in enumerate([3, 4, 5])]
    commands.append(at(3, "09:00", PlanChange("physio", "seen on Thursday", clear_alert=True)))
    commands.append(at(3, "09:05", PlanChange("physio", "again", clear_alert=True)))
    r = run_days([B] * 4, commands=commands)
    assert [(t, b is None) for t, b in alerts(r)] == [(when(2, "12:00"), False),
                                                       (when(3, "09:00"), True)]
    assert [reply.ok for reply in r.replies] == [True, True, True, True, False]
    assert r.replies[-1].error == "there is no open alert to clear"


# --- 6. red flags (sections 7, 11.15) ------------------------------------------------


def test_red_flag_at_any_hour_even_during_do_not_disturb() -> None:
    commands = [at(0, "+1 02:30", Dnd(240)),
                at(0, "+1 03:00", Symptom("green", red_flags=RED_FLAG))]
    r = run_days([B, B], commands=commands)
    reply = r.replies[1]
    assert reply.ok
    [prompt] = [o for o in reply.outputs if isinstance(o, Prompt)]
    payload = payloads.prompt(prompt, user="alice", tz=day(0).tz)
    assert payload["kind"] == "red_flag"
    assert payload["level"] == "urgent"
    assert payload["time"] == "2026-06-02T03:00:00+01:00"
    assert payload["expires"] is None
    assert payload["reason"] == {"flags": ["saddle_numbness"], "tier": "emergency"}
    assert payload["text"].startswith("Call 999 or go to the emergency department now.")
    [(time, body)] = alerts(r)
    assert time == when(1, "03:00")
    assert body is not None
    assert (body["kind"], body["flags"]) == ("red_flag", ["saddle_numbness"])
    assert "red_flag" in flags_of(r, 0)  # 03:00 is still day 0


def test_red_flag_is_never_rate_limited_and_does_not_count() -> None:
    # One prompt an hour at most, five minutes between prompts.
    spec = DaySpec(B, segments=(("09:00", 180, SIT),))
    rules = plan_rules(prompts=PromptRules(max_per_hour=1))
    flag = Symptom("green", red_flags=RED_FLAG)
    clear = PlanChange("physio", "called, not urgent", clear_alert=True)
    commands = [at(0, "09:37", flag), at(0, "09:38", clear), at(0, "09:50", flag)]
    r = run_days([spec], commands=commands, rules=rules)
    assert [(stamp(p), p.kind) for p in r.prompts][:3] == [
        (when(0, "09:37"), "red_flag"),
        (when(0, "09:40"), "sitting_break"),  # neither the gap nor the hour counts the flag
        (when(0, "09:50"), "red_flag"),  # the hour's one prompt is spent: sent anyway
    ]


def test_red_flag_suppresses_every_other_prompt() -> None:
    # Baseline day with walk reminders on and a long bout; a red report with a red flag.
    spec = DaySpec(B, segments=(("09:00", 180, SIT),))
    commands = [at(0, "09:10", Symptom("red", red_flags=RED_FLAG))]
    r = run_days([spec], commands=commands, rules=plan_rules(walks=WalkRules()))
    assert [p.kind for p in r.prompts] == ["red_flag"]
    assert (when(0, "09:10"), "settle_plan", "red-flag alert open") in dropped(r)
    assert (when(0, "09:30"), "sitting_break", "red-flag alert open") in dropped(r)
    assert (when(0, "10:00"), "walk_reminder", "red-flag alert open") in dropped(r)
    assert r.final(key(0))["prompts"] == {"red_flag": 1}


def test_clearing_the_red_flag_sends_one_plan_update_with_the_plan_in_force() -> None:
    flag = Symptom("green", red_flags=RED_FLAG)
    commands = [
        at(6, "22:00", flag),  # on day 6's date: repeated at day 7's wake
        at(7, "10:00", Symptom("amber")),  # day 8's quota is 3600
        at(8, "12:00", PlanChange("physio", "seen: no concern", clear_alert=True)),
    ]
    r = run_days([*BASELINE, STEADY, STEADY, STEADY], commands=commands)
    assert [(stamp(p), p.kind) for p in r.prompts] == [
        (when(6, "22:00"), "red_flag"),
        (when(7, "07:30"), "red_flag"),
        (when(8, "07:30"), "red_flag"),
        (when(8, "12:00"), "plan_update"),
    ]
    # The first quota (day 7) and the amber reduction (day 8) were held back...
    assert [(t, k) for t, k, why in dropped(r) if why == "red-flag alert open"
            and k == "plan_update"] == [(when(7, "07:30"), "plan_update"),
                                        (when(8, "07:30"), "plan_update")]
    # ... and are replaced by one plan_update stating the plan in force.
    # v2: who cleared it in words for the person (the record keeps "physio").
    assert dict(kind(r, "plan_update")[0].reason) == {
        "parts": ["alert_cleared"], "old_quota": 3600, "new_quota": 3600,
        "why": "the alert was cleared by your physiotherapist; this is the plan in force"}
    assert [(t, b is None) for t, b in alerts(r)] == [(when(6, "22:00"), False),
                                                       (when(8, "12:00"), True)]
    # The plan itself went on meanwhile.
    assert [quota(r, 7), quota(r, 8), quota(r, 9)] == [Q, 3600, Q]


def test_clearing_the_alert_during_a_settle_plan_states_the_settle_plan() -> None:
    # A red report with a red flag on day 8 at 10:00: the settle plan's message is
    # held while the alert is open. Cleared on day 9 at 12:00, the plan_update that
    # replaces it states the plan in force, the settle plan still running included
    # (11.15): its lighter target and until when (Friday at 10:00).
    flag = Symptom("red", red_flags=RED_FLAG)
    clear = PlanChange("physio", "seen: no concern", clear_alert=True)
    r = run_days([*BASELINE, *[STEADY] * 4], commands=[at(8, "10:00", flag),
                                                       at(9, "12:00", clear)])
    assert (when(8, "10:00"), "settle_plan", "red-flag alert open") in dropped(r)
    [p] = kind(r, "plan_update")[1:]
    assert stamp(p) == when(9, "12:00")
    assert p.reason["parts"] == ["alert_cleared"]
    assert (p.reason["old_quota"], p.reason["new_quota"]) == (SETTLE_Q, SETTLE_Q)
    assert plan_of(r, 9)["phase"] == "settling"
    assert "settle" in p.text.lower()
    assert "Friday at 10:00" in p.text


def test_person_seen_and_told_to_carry_on_gets_the_plan_in_force() -> None:
    # Section 7 (v2): "seen" with resume clears the alert; the held plan messages are
    # replaced by one plan_update, said in the person's words ("by you").
    flag = Symptom("green", red_flags=RED_FLAG)
    commands = [at(6, "22:00", flag), at(7, "10:00", Symptom("amber")),
                at(8, "12:00", Ack("last", "seen", resume=True))]
    r = run_days([*BASELINE, STEADY, STEADY, STEADY], commands=commands)
    assert [(stamp(p), p.kind) for p in r.prompts] == [
        (when(6, "22:00"), "red_flag"),
        (when(7, "07:30"), "red_flag"),
        (when(8, "07:30"), "red_flag"),
        (when(8, "12:00"), "plan_update"),
    ]
    assert dict(kind(r, "plan_update")[0].reason) == {
        "parts": ["alert_cleared"], "old_quota": 3600, "new_quota": 3600,
        "why": "the alert was cleared by you; this is the plan in force"}
    assert [(t, b is None) for t, b in alerts(r)][-1] == (when(8, "12:00"), True)


@pytest.mark.parametrize(
    ("clock", "repeats"),
    [
        ("12:00", [1, 2]),
        ("21:29", [1, 2]),  # before day.sleep: repeated the next morning
        # 11.15 (v2): a flag raised in the night or before wake is repeated at
        # the first minute of the next waking window, that same morning.
        ("21:30", [1, 2]),
        ("+1 03:00", [1, 2]),
        ("+1 07:29", [1, 2]),
    ],
)
def test_red_flag_is_repeated_once_each_day_at_wake(clock: str, repeats: list[int]) -> None:
    flag = Symptom("green", red_flags=RED_FLAG)
    clear = PlanChange("physio", "reviewed", clear_alert=True)
    r = run_days([B] * 4, commands=[at(0, clock, flag), at(2, "12:00", clear)])
    times = [stamp(p) for p in kind(r, "red_flag")]
    assert times == [stamp(day(0).at(clock)), *[when(i, "07:30") for i in repeats]]


def test_red_flag_repeat_names_every_flag_reported() -> None:
    commands = [at(0, "10:00", Symptom("green", red_flags=("saddle_numbness",))),
                at(0, "11:00", Symptom("amber", red_flags=("both_legs",)))]
    r = run_days([B, B], commands=commands)
    reasons = [dict(p.reason) for p in kind(r, "red_flag")]
    assert reasons[:2] == [
        {"flags": ["saddle_numbness"], "tier": "emergency"},
        {"flags": ["both_legs"], "tier": "emergency", "earlier": ["saddle_numbness"]},
    ]
    assert reasons[2]["flags"] == ["saddle_numbness", "both_legs"]
    assert reasons[2]["repeat"] is True
    last = alerts(r)[-1][1]
    assert last is not None
    assert last["flags"] == ["saddle_numbness", "both_legs"]


def test_clearing_with_no_alert_open_is_an_error() -> None:
    r = run_days([B], commands=[at(0, "10:00", PlanChange("physio", "tidy", clear_alert=True))])
    [reply] = r.replies
    assert not reply.ok
    assert reply.error == "there is no open alert to clear"
    assert alerts(r) == []
    assert plan_updates(r) == []


# --- 7. boom and bust (section 5) --------------------------------------------------------


@pytest.mark.parametrize(("steps", "boom"), [(BOOM - 1, False), (BOOM, True)])
def test_boom_day_and_the_followup_next_morning(steps: int, boom: bool) -> None:
    r = run_days([*BASELINE, steps, STEADY])
    assert ("boom" in flags_of(r, 7)) is boom
    assert ("boom" in at_sleep(r, 7)["flags"]) is boom  # as soon as the steps reach it
    # v2 (section 8): boom_followup is no longer a prompt kind; it is a part of the
    # next morning's one plan_update.
    assert kind(r, "boom_followup") == []
    if boom:
        [p] = kind(r, "plan_update")[1:]
        assert (stamp(p), p.level) == (when(8, "07:30"), "info")
        assert dict(p.reason) == {
            "parts": ["boom_followup"], "old_quota": Q, "new_quota": Q,
            "why": "yesterday was a big day (7,500 steps); keep today to plan, even if you "
                   "feel good",
            "yesterday_steps": BOOM}
        assert "Yesterday was a big day (7,500 steps)" in p.text
    else:
        assert plan_updates(r)[1:] == []


@pytest.mark.parametrize(
    ("change", "amber", "mark"),
    [
        (None, False, BOOM),  # max(4,000, 5,000) * 1.5
        (None, True, BOOM),  # an amber day's 3,600 does not lower it (v1: 4,680)
        (6000, False, 9000),  # a quota above the baseline: max(6,000, 5,000) * 1.5
    ],
)
def test_boom_is_measured_against_the_baseline_never_below_it(
    change: int | None, amber: bool, mark: int
) -> None:
    commands = []
    if change is not None:
        commands.append(at(7, "20:00", PlanChange("physio", "more", set={"plan.quota": change})))
    if amber:
        commands.append(at(7, "20:00", Symptom("amber")))
    r = run_days([*BASELINE, STEADY, mark - 1, mark], commands=commands)
    assert [("boom" in flags_of(r, i)) for i in (8, 9)] == [False, True]


@pytest.mark.parametrize(
    ("yesterday", "steps", "bust"),
    [(BOOM, FLOOR - 1, True), (BOOM, FLOOR, False), (BOOM - 1, FLOOR - 1, False)],
)
def test_bust_is_a_day_under_its_floor_right_after_a_boom_day(
    yesterday: int, steps: int, bust: bool
) -> None:
    r = run_days([*BASELINE, yesterday, steps])
    assert ("bust" in flags_of(r, 8)) is bust
    assert week(r, "2026-W24")["boom_bust_cycles"] == (1 if bust else 0)


# --- 8. the plan in summaries (section 9, 11.14) ---------------------------------------


def test_summary_shows_the_quota_in_force_at_day_sleep() -> None:
    # Amber on day 7: day 8's quota at the window's close (day.sleep here) is the
    # reduced one, in both summaries; the ceiling is the usual good day's 5,750.
    r = run_days([*BASELINE, STEADY, 2700], commands=[at(7, "12:00", Symptom("amber"))])
    expected = {"phase": "progressing", "quota": 3600, "floor": 1800, "ceiling": 5750,
                "achievement": 0.75}
    assert at_sleep(r, 8)["plan"] == expected
    assert plan_of(r, 8) == expected


def test_weekly_summary_shape() -> None:
    # Days 7-9: a 45-minute bout, prompted at 09:40 and broken at 09:45 (taken);
    # days 10-13: a 60-minute bout, prompted at 09:40 and broken at 10:00 (ignored).
    rules = plan_rules(sitting=SittingRules(max_repeats=0))
    taken = DaySpec(STEADY, segments=(("09:00", 45, SIT),))
    ignored = DaySpec(STEADY, segments=(("09:00", 60, SIT),))
    physio = PlanChange("physio", "steady progress", set={"plan.weekly_increment": 0.15})
    r = run_days([*BASELINE, *[taken] * 3, *[ignored] * 4, STEADY],
                 commands=[at(9, "18:00", physio)], rules=rules)
    [summary] = [s for s in r.weeks if s.key == "2026-W24"]
    assert stamp(summary.time) == when(14, "04:00")  # at the rollover into Monday
    body = payloads.summary(summary)
    # v2: days with enough data and exercise sessions against the target (section 9).
    assert set(body) == {"v", "type", "period", "user", "week", "timezone", "days",
                         "boom_bust_cycles", "cv_daily_steps_14d", "adherence", "plan_changes",
                         "valid_days", "exercise"}
    assert body["valid_days"] == 7
    assert body["exercise"] == {"sessions": 0, "target": 0}  # exercise.per_week is off
    assert (body["v"], body["type"], body["period"], body["week"]) == (
        2, "summary", "week", "2026-W24")  # v2 summaries
    assert (body["user"], body["timezone"]) == ("alice", "Europe/London")
    assert [d["date"] for d in body["days"]] == [key(i) for i in range(7, 14)]
    assert body["days"][0] == r.final(key(7))
    assert body["boom_bust_cycles"] == 0
    # 14 valid days: seven of 5000, seven of 3500.
    assert body["cv_daily_steps_14d"] == round(750 / 4250, 3)
    assert [d["breaks"]["prompted"] for d in body["days"]] == [1] * 7
    assert body["adherence"] == round(3 / 7, 2)
    assert body["plan_changes"] == [
        {"time": "2026-06-08T07:30:00+01:00", "by": "pacer",
         "why": "the baseline is complete: the median of 7 days was 5,000 steps, and the "
                "plan starts at 80% of it",
         "set": {"plan.quota": Q}},
        {"time": "2026-06-10T18:00:00+01:00", "by": "physio", "why": "steady progress",
         "set": {"plan.weekly_increment": 0.15}},
    ]
    json.dumps(body)
    # The first week: baseline only.
    first = week(r, "2026-W23")
    assert [d["date"] for d in first["days"]] == [key(i) for i in range(7)]
    assert first["adherence"] is None
    assert first["cv_daily_steps_14d"] == 0.0


CV_DAYS: list[DaySpec | int] = [
    *BASELINE, *[STEADY] * 7, 4000, 4000, invalid(50000), 4000, 4000, 4000, 4000]
CV_LAST14 = [4000] * 6 + [STEADY] * 7 + [B]  # days 20-6 without day 16 (not valid)


def test_weekly_cv_uses_the_last_fourteen_valid_days() -> None:
    r = run_days(CV_DAYS, until=(21, "04:01"))  # W25's summary at the rollover into day 21
    expected = round(statistics.pstdev(CV_LAST14) / statistics.fmean(CV_LAST14), 3)
    assert expected == 0.106
    assert week(r, "2026-W25")["cv_daily_steps_14d"] == expected
    assert week(r, "2026-W24")["cv_daily_steps_14d"] == round(750 / 4250, 3)


def test_weekly_cv_at_the_end_of_a_replay_counts_the_last_day() -> None:
    r = run_days(CV_DAYS)
    assert [d["date"] for d in week(r, "2026-W25")["days"]][-1] == key(20)
    assert week(r, "2026-W25")["cv_daily_steps_14d"] == 0.106


def test_boom_bust_cycles_count_the_bust_days_of_the_week() -> None:
    r = run_days([*BASELINE, BOOM, 1000, STEADY, BOOM + 500, FLOOR - 1, BOOM, STEADY])
    assert [("bust" in flags_of(r, i)) for i in range(7, 14)] == [
        False, True, False, False, True, False, False]
    assert week(r, "2026-W24")["boom_bust_cycles"] == 2


# --- 9. plan changes by the physiotherapist (sections 4, 9) ---------------------------


@pytest.mark.parametrize("limit", [10, 15, 30])  # v2: sitting.limit_min is 10..120
def test_physio_sitting_limit_applies_at_once(limit: int) -> None:
    spec = DaySpec(B, segments=(("09:00", 120, SIT),))
    change = PlanChange("physio", "shorter sitting", set={"sitting.limit_min": limit})
    r = run_days([spec], commands=[at(0, "09:05", change)])
    assert r.replies[0].ok
    # v2: the why is for the record; the person is told their physiotherapist
    # updated the plan (no message was given).
    assert plan_updates(r) == [(when(0, "09:05"), {
        "parts": ["plan_change"], "old_quota": None, "new_quota": None,
        "why": "your physiotherapist has updated your plan"})]
    assert "shorter sitting" not in kind(r, "plan_update")[0].text
    first = kind(r, "sitting_break")[0]
    assert stamp(first) == when(0, f"09:{limit:02d}")
    assert dict(first.reason) == sitting_reason(limit, limit)
    assert week(r, "2026-W23")["plan_changes"] == [
        {"time": "2026-06-01T09:05:00+01:00", "by": "physio", "why": "shorter sitting",
         "set": {"sitting.limit_min": limit}}]


@pytest.mark.parametrize("message", [None, "Fewer reminders from today, as we agreed."])
def test_physio_change_after_the_baseline_keeps_the_quota(message: str | None) -> None:
    change = PlanChange("physio", "fewer prompts: complained of nagging",
                        set={"prompts.max_per_hour": 3}, message=message)
    r = run_days([*BASELINE, STEADY], commands=[at(7, "12:00", change)])
    said = message or "your physiotherapist has updated your plan"
    expected: dict[str, Any] = {"parts": ["plan_change"], "old_quota": Q, "new_quota": Q,
                                "why": said}
    if message is not None:
        expected["message"] = message
    assert plan_updates(r)[1:] == [(when(7, "12:00"), expected)]
    text = kind(r, "plan_update")[1].text
    assert "nagging" not in text  # the why is for the record only
    assert said[:1].upper() + said[1:].rstrip(".") in text
    assert week(r, "2026-W24")["plan_changes"][-1]["why"] == (
        "fewer prompts: complained of nagging")


def test_physio_quota_change_fits_the_walks_and_says_so() -> None:
    # Section 3 (v2): a quota set by the physiotherapist refits the walk plan: at
    # 1,000 steps three 5-minute walks (900) are more than half, so one walk.
    change = PlanChange("physio", "flare risk: lower", set={"plan.quota": 1000})
    r = run_days([*BASELINE, 900], commands=[at(7, "09:00", change)],
                 rules=plan_rules(walks=WalkRules()))
    assert plan_updates(r)[1:] == [(when(7, "09:00"), {
        "parts": ["plan_change"], "old_quota": Q, "new_quota": 1000,
        "why": "your physiotherapist has updated your plan; so that the planned walks fit "
               "the step plan, the plan has 1 walk of about 5 minutes a day"})]
    assert [(time, reason["walks_due"]) for time, reason in stamped(r, "walk_reminder")
            if time.startswith(key(7))] == [(when(7, "10:00"), 1)]  # one walk, not three


def test_physio_cannot_set_the_quota_during_the_baseline() -> None:
    change = PlanChange("physio", "too early", set={"plan.quota": 3000})
    r = run_days([B, B], commands=[at(1, "09:00", change)])
    [reply] = r.replies
    assert not reply.ok
    assert reply.error == ("the quota cannot be set before the baseline is complete "
                           "(1 of 7 valid days so far)")
    assert plan_updates(r) == []


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"sitting.limit_min": 9}, "sitting.limit_min"),  # v2: 10..120
        ({"sitting.limit_min": 121}, "sitting.limit_min"),
        ({"sitting.max_repeats": 11}, "sitting.max_repeats"),  # 0..10: v1 values stay valid
        ({"sitting.limt_min": 30}, "sitting.limt_min"),
        ({"plan.weekly_increment": 0.25}, "plan.weekly_increment"),
        ({"pacing.settle_in_min": 361}, "pacing.settle_in_min"),  # v2 key, 0..360
    ],
)
def test_bad_plan_change_is_refused_and_changes_nothing(
    settings: dict[str, Any], named: str
) -> None:
    spec = DaySpec(B, segments=(("09:00", 120, SIT),))
    r = run_days([spec], commands=[at(0, "09:05", PlanChange("physio", "oops", set=settings))])
    [reply] = r.replies
    assert not reply.ok
    assert named in (reply.error or "")
    assert plan_updates(r) == []
    assert stamp(kind(r, "sitting_break")[0]) == when(0, "09:40")
    assert week(r, "2026-W23")["plan_changes"] == []


@pytest.mark.parametrize(
    ("settings", "first_prompt"),
    [
        ({"sitting.max_repeats": 0}, ["09:40"]),
        ({"sitting.max_repeats": 3}, ["09:40", "09:55", "10:10", "10:25"]),
        ({"pacing.settle_in_min": 0}, ["09:40", "09:55"]),  # a v2 key a plan may set
    ],
)
def test_good_v2_plan_change_applies(settings: dict[str, Any], first_prompt: list[str]) -> None:
    # Sitting from 09:00 for two hours; the default is 1 + max_repeats (v2: 1) prompts.
    spec = DaySpec(B, segments=(("09:00", 120, SIT),))
    r = run_days([spec], commands=[at(0, "08:00", PlanChange("physio", "ok", set=settings))])
    assert r.replies[0].ok
    assert [day(0).clock(p.time) for p in kind(r, "sitting_break")] == first_prompt


# --- 10. one morning message (section 8, 11.15, v2) -------------------------------------


def kinds_on(r: Result, i: int) -> list[str]:
    return [p.kind for p in r.prompts if stamp(p).startswith(key(i))]


def morning(r: Result, i: int) -> list[Prompt]:
    """The plan_update prompts sent on day ``i`` (by its date)."""
    return [p for p in kind(r, "plan_update") if stamp(p).startswith(key(i))]


def test_review_amber_day_and_boom_followup_go_out_as_one_morning_message() -> None:
    # Day 13 (Sunday) is a boom day and the person reports amber on it; Monday's
    # review progresses (7 days at or above the plan, one amber, no bust).
    commands = [at(13, "18:00", Symptom("amber"))]
    r = review([*[STEADY] * 6, BOOM], commands)
    [p] = morning(r, 14)
    assert (stamp(p), p.level) == (when(14, "07:30"), "info")
    assert dict(p.reason) == {
        "parts": ["weekly_review", "amber_day", "boom_followup"],
        "old_quota": Q,  # the review's old quota
        "new_quota": 4050,  # the amber day's: round(4,500 * 0.9)
        "why": "a steady week: 7 of 7 days at or near your plan; your walks grow to about "
               "6 minutes each; you reported an amber day yesterday, so today's target is "
               "10% lower; yesterday was a big day (7,500 steps); keep today to plan, even "
               "if you feel good",
        "yesterday_steps": BOOM,
    }
    # One text saying each part in turn.
    assert p.title == "Good morning: your plan today"
    text = p.text
    order = ["A steady week", "You reported an amber day", "Yesterday was a big day"]
    assert [text.index(part) for part in order] == sorted(text.index(part) for part in order)
    assert "4,000 to 4,050" in text
    assert [quota(r, 14), plan_of(r, 14)["phase"]] == [4050, "progressing"]
    assert kind(r, "boom_followup") == []


def test_morning_message_waits_for_do_not_disturb_and_gathers_parts_meanwhile() -> None:
    # DND from 07:00 to 08:30 delays the first quota message (never dropped); a plan
    # change made at 08:00 joins it, so it is still one message.
    change = PlanChange("physio", "fine-tune", set={"prompts.max_per_hour": 3})
    commands = [at(7, "07:00", Dnd(90)), at(7, "08:00", change)]
    r = run_days([*BASELINE, STEADY], commands=commands)
    assert plan_updates(r) == [(when(7, "08:30"), {
        "parts": ["first_quota", "plan_change"], "old_quota": None, "new_quota": Q,
        "why": "the baseline is complete: the median of 7 days was 5,000 steps, and the "
               "plan starts at 80% of it; your physiotherapist has updated your plan"})]
    assert [d for d in r.dropped if d.kind == "plan_update"] == []


def test_a_morning_with_nothing_to_say_sends_nothing() -> None:
    # Only the first quota morning has something to say: no review (too early), no
    # amber, no boom, no change, no settle end.
    # Day 12 is above the ceiling but not a boom: day 13's morning says nothing of it
    # (v1 said "yesterday was a big day" after ordinary good days).
    r = run_days([*BASELINE, *[STEADY] * 5, BOOM - 1], until=(13, "08:00"))
    assert [time for time, _ in plan_updates(r)] == [when(7, "07:30")]
    assert [stamp(p) for p in r.prompts if day(0).clock(p.time) < "08:00"] == [
        when(7, "07:30")]
    assert "ceiling_reached" in kinds_on(r, 12)


def test_plan_change_made_overnight_joins_the_morning_message() -> None:
    # A change at 22:00 (the window is closed) waits for the next morning, and goes
    # out with the amber day in one message; its message is what the person reads.
    change = PlanChange("physio", "call on Tuesday: sitting is better",
                        set={"sitting.limit_min": 50},
                        message="Sitting breaks now come after 50 minutes.")
    commands = [at(7, "21:45", Symptom("amber")), at(7, "22:00", change)]
    r = run_days([*BASELINE, STEADY, STEADY], commands=commands)
    assert morning(r, 7) == kind(r, "plan_update")[:1]  # the first quota only
    [p] = morning(r, 8)
    assert stamp(p) == when(8, "07:30")
    assert dict(p.reason) == {
        # the quota in force today, the amber day's
        "parts": ["amber_day", "plan_change"], "old_quota": Q, "new_quota": 3600,
        "why": "you reported an amber day yesterday, so today's target is 10% lower; "
               "Sitting breaks now come after 50 minutes.",
        "message": "Sitting breaks now come after 50 minutes."}
    assert "Sitting breaks now come after 50 minutes." in p.text
    assert ".." not in p.text
    assert "call on Tuesday" not in p.text
    assert quota(r, 8) == 3600
    # The record keeps the time of the change and its why.
    assert [c for c in week(r, "2026-W24")["plan_changes"] if c["by"] == "physio"] == [{
        "time": "2026-06-08T22:00:00+01:00", "by": "physio",
        "why": "call on Tuesday: sitting is better", "set": {"sitting.limit_min": 50}}]


def test_alert_cleared_overnight_is_the_first_part_of_the_morning_message() -> None:
    # 11.15: plan messages held while the red-flag alert was open are replaced by one
    # part of the next morning message, here with the amber day.
    flag = Symptom("green", red_flags=RED_FLAG)
    commands = [
        at(6, "22:00", flag),
        at(7, "10:00", Symptom("amber")),
        at(7, "23:00", PlanChange("physio", "seen: no concern", clear_alert=True)),
    ]
    r = run_days([*BASELINE, STEADY, STEADY], commands=commands)
    assert [(stamp(p), p.kind) for p in r.prompts] == [
        (when(6, "22:00"), "red_flag"),
        (when(7, "07:30"), "red_flag"),  # the first quota was held back
        (when(8, "07:30"), "plan_update"),  # no red-flag repeat: the alert is cleared
    ]
    assert dict(r.prompts[-1].reason) == {
        "parts": ["alert_cleared", "amber_day"], "old_quota": Q, "new_quota": 3600,
        "why": "the alert was cleared by your physiotherapist; this is the plan in force; "
               "you reported an amber day yesterday, so today's target is 10% lower"}


def test_settle_end_overnight_and_a_plan_change_say_the_plan_in_force() -> None:
    # Red at 23:00 on day 8: the settle period ends at 23:00 on day 11, after the
    # window closed, so its end is said the next morning. A change made during the
    # settle period the same evening joins that message. The message's new quota is
    # the plan in force on day 12: round(4,000 * 0.9).
    change = PlanChange("physio", "less nagging", set={"prompts.max_per_hour": 3},
                        message="Fewer reminders from now on.")
    commands = [at(8, "23:00", Symptom("red")), at(11, "22:00", change)]
    r = run_days([*BASELINE, *[STEADY] * 6], commands=commands)
    [p] = morning(r, 12)
    assert stamp(p) == when(12, "07:30")
    assert p.reason["parts"] == ["settle_end", "plan_change"]
    assert p.reason["old_quota"] == SETTLE_Q
    assert quota(r, 12) == 3600
    assert p.reason["new_quota"] == 3600
    assert "4,000" not in p.text


@pytest.mark.parametrize(
    ("lying_min", "tap", "sent", "opened_by"),
    [
        # Up at 09:15: the window's first minute, known when that minute is over.
        (105, None, "09:15", "detected"),
        # "I'm up" at 08:40:00 is believed at once: the window opens at 08:40 and the
        # message goes out then.
        (105, "08:40", "08:40", "event"),
        # Nothing says up by day.wake + 240 min: the window opens at 11:30.
        (300, None, "11:30", "configured"),
    ],
)
def test_the_morning_message_waits_for_the_person_to_be_up(
    lying_min: int, tap: str | None, sent: str, opened_by: str
) -> None:
    # v2 (section 1): with the default window rules (not FIXED_DAY) the window opens
    # when the person is up; the first quota goes out at its first minute, never
    # while they are still in bed. Day 7 starts with lying in bed from 07:30.
    lying = DaySpec(STEADY, segments=(("07:30", lying_min, Posture.LYING),))
    commands = [at(7, tap, DayEvent("up"))] if tap else []
    r = run_days([*BASELINE, lying], commands=commands, rules=plan_rules(day=DayRules()))
    window = r.final(key(7))["window"]
    assert (window["opened"], window["opened_by"]) == (day(7).iso(day(7).at(sent)), opened_by)
    decided = day(7).at(sent) + (1 if opened_by == "detected" else 0)
    assert [time for time, _ in plan_updates(r)] == [stamp(decided)]


# --- 11. the walk plan fits the step plan (section 3, v2) --------------------------------


@pytest.mark.parametrize(
    ("baseline", "walks", "minutes"),
    [
        (5000, 3, 10),  # Q 4,000: 3 x 10 x 60 = 1,800 fits 2,000, nothing said
        (2500, 3, 5),  # Q 2,000: shorter walks fit (900 <= 1,000)
        (1250, 1, 5),  # Q 1,000: at the 5-minute minimum, then fewer walks (300 <= 500)
    ],
)
def test_walk_plan_is_fitted_to_the_first_quota(baseline: int, walks: int, minutes: int) -> None:
    rules = plan_rules(walks=WalkRules(target_min=10))
    r = run_days([*[baseline] * 7, baseline * 9 // 10], rules=rules)
    [(_, reason)] = plan_updates(r)
    fitted = (f"so that the planned walks fit the step plan, the plan has {walks} "
              f"walk{'s' if walks != 1 else ''} of about {minutes} minutes a day")
    assert reason["why"].endswith(fitted) is (minutes != 10)
    assert walks * minutes * 60 <= reason["new_quota"] / 2
    # Reminders follow the fitted plan: one per planned walk, each with its target.
    expected = [(when(7, clock), i + 1, minutes)
                for i, clock in enumerate(["10:00", "14:00", "17:00"][:walks])]
    assert [(time, r_["walks_due"], r_["target_min"]) for time, r_ in stamped(
        r, "walk_reminder") if time.startswith(key(7))] == expected
    assert r.final(key(7))["walk_target_min"] == minutes


def test_settle_walks_are_fitted_to_the_settle_quota() -> None:
    # Baseline 1,250: settle quota 750, so 3 walks of 5 minutes (900 steps) do not
    # fit half of it; the settle plan has one walk of 5 minutes and says so.
    r = run_days([1250] * 7 + [1000, 1000], commands=[at(8, "09:00", Symptom("red"))])
    [(time, reason)] = stamped(r, "settle_plan")
    assert time == when(8, "09:00")
    assert (reason["quota"], reason["walks"], reason["walk_min"]) == (750, 1, 5)
    assert "1 short walk of about 5 minutes" in kind(r, "settle_plan")[0].text


def test_walk_plan_fitted_to_a_low_quota_is_said_and_stays_under_the_ceiling() -> None:
    # Baseline 1,250 steps: Q = 1,000, so the planned walks may take at most 500
    # steps at walks.min_cadence (60). Three 10-minute walks (1,800) are first
    # shortened to the 5-minute minimum (900), then reduced to one walk (300).
    walks = WalkRules(target_min=10)
    low = 1250
    walk_day = DaySpec(700, segments=(("10:05", 5, STEP, 60),))  # the planned walk
    r = run_days([*[low] * 7, walk_day], rules=plan_rules(walks=walks))
    [first] = morning(r, 7)
    assert first.reason["parts"] == ["first_quota"]
    assert first.reason["new_quota"] == 1000
    assert first.reason["why"] == (
        "the baseline is complete: the median of 7 days was 1,250 steps, and the plan "
        "starts at 80% of it; so that the planned walks fit the step plan, the plan has "
        "1 walk of about 5 minutes a day")
    assert "1 walk of about 5 minutes a day" in first.text
    # Ceiling max(1,500, 1,250 * 1.15) = 1,500: one planned walk at the minimum
    # cadence (300 steps) is at most half the quota, far under the ceiling.
    assert plan_of(r, 7)["ceiling"] == 1500
    assert 1 * 5 * walks.min_cadence <= 1000 / 2
    # The day: one reminder (one walk planned), the walk done, and nothing asks for
    # less because of it.
    assert [(time, reason["walks_due"], reason["target_min"])
            for time, reason in stamped(r, "walk_reminder")
            if time.startswith(key(7))] == [(when(7, "10:00"), 1, 5)]
    assert r.final(key(7))["walks"] == 1
    assert r.final(key(7))["walk_target_min"] == 5
    assert {p.kind for p in r.prompts if stamp(p).startswith(key(7))} == {
        "plan_update", "walk_reminder"}


# --- 12. `pacer replay --json` over three weeks ---------------------------------------


CONFIG = """\
[user]
id = "alice"
timezone = "Europe/London"

[walks]
per_day = 0
times = []
"""


def test_replay_three_weeks_with_an_amber_and_a_red_day(tmp_path: Path) -> None:
    desk = DaySpec(4000, segments=(("09:00", 60, SIT),))
    specs: list[DaySpec | int] = [*BASELINE, *[STEADY] * 7, 4000, 4000, 4000, desk,
                                  4000, 4000, 4000]
    minutes = tmp_path / "minutes.csv"
    write_minutes(minutes, days_epochs(specs), TZ)
    events = write_events(tmp_path / "events.jsonl", [
        (9, "12:00", {"type": "symptom", "level": "amber", "pain": 4}),
        (16, "10:30", {"type": "symptom", "level": "red", "pain": 6}),
    ])
    config = tmp_path / "pacer.toml"
    config.write_text(CONFIG, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "pacer", "replay", "--input", str(minutes), "--events",
         str(events), "--config", str(config), "--json"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    prompts = [x for x in lines if x["type"] == "prompt"]
    assert [p["time"] for p in prompts] == sorted(p["time"] for p in prompts)  # one offset
    plan = [(p["kind"], p["time"][:16], p["reason"]) for p in prompts
            if p["kind"] in ("plan_update", "settle_plan")]
    resume_why = ("the settle period is over; the plan resumes at 90% of the target before "
                  "the flare-up")
    # v2: the replay's config has the default waking window, which opens when the
    # person is up: epoch 07:30 shows them up, decided when it is over, so each
    # morning message goes out at 07:31 (section 1: anything decided on an epoch
    # happens at its end).
    assert [(k, t, r.get("new_quota")) for k, t, r in plan] == [
        ("plan_update", "2026-06-08T07:31", 4000),  # baseline complete
        ("plan_update", "2026-06-11T07:31", 3600),  # amber on day 9
        ("plan_update", "2026-06-15T07:31", 4500),  # review: one amber, progress
        ("settle_plan", "2026-06-17T10:30", None),
        ("plan_update", plan[4][1], 4050),  # resume at round(4500 * 0.9)
    ]
    assert [r["old_quota"] for _, _, r in plan[:3]] == [None, 4000, 4000]
    assert [r["parts"] for k, _, r in plan if k == "plan_update"] == [
        ["first_quota"], ["amber_day"], ["weekly_review"], ["settle_end"]]
    assert plan[3][2] == {"until": "2026-06-20T10:30:00+01:00", "quota": 3000,
                          "sitting_limit_min": 30, "walks": 3, "walk_min": 5,
                          "advice": list(SettleRules().advice)}
    assert plan[4][1].startswith("2026-06-20T10:3")
    assert plan[4][2]["why"] == resume_why
    # The settle sitting limit on day 17: first prompt at 30 minutes, and v2's one
    # repeat (sitting.max_repeats = 1).
    sitting = [p for p in prompts if p["kind"] == "sitting_break"]
    assert [p["time"][11:16] for p in sitting] == ["09:30", "09:45"]
    assert {p["time"][:10] for p in sitting} == {"2026-06-18"}
    assert sitting[0]["reason"] == sitting_reason(30, 30)
    # Walk reminders come only from the settle plan (days 16-19).
    walk_days = sorted({p["time"][:10] for p in prompts if p["kind"] == "walk_reminder"})
    assert walk_days == ["2026-06-17", "2026-06-18", "2026-06-19", "2026-06-20"]

    days = [x for x in lines if x["type"] == "summary" and x["period"] == "day"]
    assert [d["date"] for d in days] == [key(i) for i in range(21)]
    assert all(d["final"] and d["valid"] for d in days)
    assert [d["plan"]["quota"] for d in days] == [
        *[None] * 7, 4000, 4000, 4000, 3600, 4000, 4000, 4000,
        4500, 4500, 3000, 3000, 3000, 4050, 4050]
    assert [d["plan"]["phase"] for d in days[14:]] == [
        "progressing", "progressing", "settling", "settling", "settling", "progressing",
        "progressing"]
    assert [i for i, d in enumerate(days) if "settling" in d["flags"]] == [16, 17, 18, 19]
    assert [s["level"] for s in days[9]["symptoms"]] == ["amber"]
    assert days[16]["symptoms"] == [{"time": "2026-06-17T10:30:00+01:00", "level": "red",
                                     "pain": 6}]

    weeks = [x for x in lines if x["type"] == "summary" and x["period"] == "week"]
    assert [w["week"] for w in weeks] == ["2026-W23", "2026-W24", "2026-W25"]
    assert all(len(w["days"]) == 7 for w in weeks)
    assert [c["set"] for c in weeks[1]["plan_changes"]] == [
        {"plan.quota": 4000}, {"quota_today": 3600}]
    assert [c["set"] for c in weeks[2]["plan_changes"]] == [
        {"plan.quota": 4500, "walks.target_min": 6},  # v2: walks grow with the plan
        {"quota": 3000, "sitting.limit_min": 30}, {"plan.quota": 4050}]
    assert all(d["window"]["opened_by"] == "detected" for d in days)
    # Two prompts on day 17; the break at 10:00 takes the last one.
    assert [days[17]["breaks"][k] for k in ("prompted", "taken", "ignored")] == [2, 1, 1]
    assert weeks[2]["adherence"] == 0.5
    assert weeks[2]["boom_bust_cycles"] == 0
