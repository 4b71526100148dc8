"""Prolonged sitting: bouts, breaks, sitting_break prompts, their delivery and
outcomes, days and restarts (pacing-rules.md sections 1, 2, 8, 9 and 11;
interfaces.md sections 4 and 5).

Times are local. An epoch is named by its start and evaluated at its end, so a
bout that starts with epoch 09:00 reaches 40 minutes with epoch 09:39 and its
prompt is stamped 09:40. Commands go in as the replay driver applies them: one
stamped at or before T is applied before the epoch that ends at T.
"""

from __future__ import annotations

import itertools
import json
import warnings
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from helpers.engine import (
    LONDON,
    SIT,
    STEP,
    SYDNEY,
    UNK,
    UP,
    Day,
    Driver,
    Result,
    Segment,
    TimedCommand,
    run,
    sitting_rules,
    to_local,
)
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import HypothesisWarning

from pacer.config import DayRules, PromptRules, Rules, SittingRules
from pacer.contract import payloads
from pacer.engine.core import Engine
from pacer.engine.model import (
    Ack,
    Command,
    DayEvent,
    DaySummary,
    Dnd,
    Epoch,
    Output,
    Posture,
)

LYING = Posture.LYING
NOT_WORN = Posture.NOT_WORN
STILL = "still"  # a step-only device's minute of zero steps (sedentary, inferred)
DAY = Day(date(2026, 11, 23), SYDNEY)  # a Monday; Sydney is on summer time, +11:00
KEY = "2026-11-23"
DESK = ("09:00", 180, SIT)  # 09:00-12:00 sitting, no steps


MECHANICS: dict[str, Any] = {"max_repeats": 2, "ignored_streak": 0}
"""Most tests here follow a bout through three prompts (the first and two
repeats) to see the repeat, snooze, limit and cap mechanics; version 2's
default is one repeat (test_v2_default_is_one_repeat_per_bout)."""


def sitting(**rules: Any) -> Rules:
    return sitting_rules(sitting=SittingRules(**{**MECHANICS, **rules}))


def limits(sitting_values: dict[str, Any], **prompt_rules: Any) -> Rules:
    return sitting_rules(
        sitting=SittingRules(**{**MECHANICS, **sitting_values}),
        prompts=PromptRules(**prompt_rules),
    )


def at(clock: str, cmd: Command) -> TimedCommand:
    """A command at a local clock time on DAY."""
    return (DAY.seconds(clock), cmd)


def desk_day(*segments: Segment, **kw: Any) -> Result:
    kw.setdefault("rules", sitting())
    return run(DAY.epochs(*segments), **kw)


def bout_mins(r: Result) -> list[int]:
    return [p.reason["bout_min"] for p in r.prompts]


def repeats(r: Result) -> list[int]:
    return [p.reason["repeat"] for p in r.prompts]


# --- 1. the desk day and the prompt itself --------------------------------------------


def test_desk_day_gives_three_prompts_then_silence() -> None:
    r = desk_day(DESK)
    assert r.prompt_times() == [
        "2026-11-23T09:40:00+11:00",
        "2026-11-23T09:55:00+11:00",
        "2026-11-23T10:10:00+11:00",
    ]
    measured = {"inferred": False, "advice": "walk"}  # sitting measured by posture
    assert r.reasons() == [
        {"bout_min": 40, "limit_min": 40, "repeat": 0, **measured},
        {"bout_min": 55, "limit_min": 40, "repeat": 1, **measured},
        {"bout_min": 70, "limit_min": 40, "repeat": 2, **measured},
    ]
    assert r.dropped == []


def test_v2_default_is_one_repeat_per_bout() -> None:
    """Version 2: the first prompt and one repeat, then silence until the bout ends."""
    r = run(DAY.epochs(DESK))
    assert r.prompt_clocks() == ["09:40", "09:55"]
    assert repeats(r) == [0, 1]


def test_after_an_ignored_streak_new_bouts_get_their_first_prompt_only() -> None:
    """Three sitting prompts in a row ignored: the bouts that start after that
    get no repeats, until a prompt is taken again (section 2, v2)."""
    bouts = (("09:00", 80, SIT), ("", 3, UP), ("", 80, SIT), ("", 3, UP),
             ("", 80, SIT), ("", 3, UP), ("", 80, SIT))
    r = run(DAY.epochs(*bouts))
    # Bout 1 leaves 2 ignored; bout 2 started before the streak reached 3 and
    # keeps its repeat; bouts 3 and 4 start after it: the first prompt only.
    assert [p.reason["repeat"] for p in r.prompts] == [0, 1, 0, 1, 0, 0]
    assert r.final(KEY)["breaks"]["ignored_streak"] == 6


def test_a_taken_prompt_ends_the_ignored_streak() -> None:
    bouts = (("09:00", 80, SIT), ("", 3, UP), ("", 80, SIT), ("", 3, UP),
             ("", 45, SIT), ("", 3, UP, 80), ("", 80, SIT))
    r = run(DAY.epochs(*bouts))
    # Bout 3's only prompt is taken 5 minutes later: bout 4 gets its repeat again.
    assert [p.reason["repeat"] for p in r.prompts][-2:] == [0, 1]
    assert r.final(KEY)["breaks"]["ignored_streak"] == 2


def test_sitting_prompt_payload_shape() -> None:
    first = desk_day(DESK).prompts[0]
    payload = payloads.prompt(first, user="alice", tz=ZoneInfo(SYDNEY))
    assert payload["v"] == 1
    assert payload["type"] == "prompt"
    assert payload["user"] == "alice"
    assert payload["kind"] == "sitting_break"
    assert payload["level"] == "nudge"
    assert payload["time"] == "2026-11-23T09:40:00+11:00"
    assert payload["expires"] == "2026-11-23T09:55:00+11:00"  # time + repeat_min
    assert payload["title"]
    assert "40 minutes" in payload["text"]  # it says why it fired
    assert "snooze" in payload["actions"]
    assert set(payload["reason"]) == {"bout_min", "limit_min", "repeat", "inferred", "advice"}
    json.dumps(payload)  # the wire shape is plain JSON


def test_desk_day_summary() -> None:
    body = desk_day(DESK).final(KEY)
    assert body["date"] == KEY
    assert body["timezone"] == SYDNEY
    assert body["prompts"] == {"sitting_break": 3}
    assert body["breaks"] == {
        "prompted": 3, "taken": 0, "natural": 0, "ignored": 3, "snoozed": 0,
        "dismissed": 0, "median_response_min": None, "ignored_streak": 3,
    }
    assert body["sedentary_min"] == 180
    assert body["longest_sitting_bout_min"] == 180
    assert (body["sitting_bouts_30"], body["sitting_bouts_60"]) == (1, 1)


@pytest.mark.parametrize(
    ("sat", "clocks"),
    [
        (39, []),
        (40, ["09:40"]),
        (41, ["09:40"]),
        (54, ["09:40"]),
        (55, ["09:40", "09:55"]),
        (69, ["09:40", "09:55"]),
        (70, ["09:40", "09:55", "10:10"]),
        (180, ["09:40", "09:55", "10:10"]),
    ],
)
def test_prompts_at_limit_and_repeats_up_to_the_cap(sat: int, clocks: list[str]) -> None:
    r = desk_day(("09:00", sat, SIT), ("", 2, UP), ("", 10, UP))
    assert r.prompt_clocks() == clocks


@pytest.mark.parametrize(
    ("rules", "clocks"),
    [
        (sitting(limit_min=30), ["09:30", "09:45", "10:00"]),
        (sitting(limit_min=15, repeat_min=5, max_repeats=1), ["09:15", "09:20"]),
        (sitting(max_repeats=0), ["09:40"]),
        (sitting(max_repeats=3), ["09:40", "09:55", "10:10", "10:25"]),
    ],
)
def test_limit_repeat_and_cap_follow_the_rules(rules: Rules, clocks: list[str]) -> None:
    r = desk_day(DESK, rules=rules)
    assert r.prompt_clocks() == clocks
    assert repeats(r) == list(range(len(clocks)))
    assert {p.reason["limit_min"] for p in r.prompts} == {rules.sitting.limit_min}


def test_cap_is_per_bout() -> None:
    # Two long bouts separated by a break: each gets its own three prompts.
    r = desk_day(("09:00", 90, SIT), ("", 2, UP), ("", 90, SIT))
    assert r.prompt_clocks() == ["09:40", "09:55", "10:10", "11:12", "11:27", "11:42"]
    assert repeats(r) == [0, 1, 2, 0, 1, 2]


# --- 2. natural breaks ----------------------------------------------------------------


def test_one_upright_minute_neither_breaks_nor_counts() -> None:
    r = desk_day(("09:00", 20, SIT), ("", 1, UP), ("", 60, SIT))
    assert r.prompt_clocks()[:1] == ["09:41"]  # 40 sedentary minutes, one minute later
    assert bout_mins(r)[0] == 40
    assert r.breaks(KEY)["natural"] == 0


@pytest.mark.parametrize("pair", [(UP, UP), (UP, STEP), (STEP, UP), (STEP, STEP)])
def test_two_non_sedentary_minutes_make_a_break(pair: tuple[Posture, Posture]) -> None:
    first, second = pair
    r = desk_day(("09:00", 20, SIT), ("", 1, first), ("", 1, second), ("", 60, SIT))
    assert r.prompt_clocks()[:1] == ["10:02"]  # a new bout from 09:22
    assert r.breaks(KEY)["natural"] == 1


@pytest.mark.parametrize(("steps", "broken"), [(59, False), (60, True), (61, True)])
def test_one_minute_with_break_steps_is_a_break(steps: int, broken: bool) -> None:
    r = desk_day(("09:00", 20, SIT), ("", 1, STEP, steps), ("", 60, SIT))
    assert r.prompt_clocks()[:1] == (["10:01"] if broken else ["09:41"])
    assert r.breaks(KEY)["natural"] == (1 if broken else 0)


@pytest.mark.parametrize(("steps", "broken"), [(59, False), (60, True)])
def test_break_steps_count_whatever_the_posture(steps: int, broken: bool) -> None:
    # Section 11.9: one epoch with at least break_steps steps, whatever its posture.
    r = desk_day(("09:00", 20, SIT), ("", 1, SIT, steps), ("", 60, SIT))
    if broken:
        assert r.prompt_clocks()[:1] == ["10:01"]  # new bout from 09:21
    else:
        assert r.prompt_clocks()[:1] == ["09:40"]  # a sedentary minute of the bout
    assert r.breaks(KEY)["natural"] == (1 if broken else 0)


def test_custom_break_rules() -> None:
    one_minute = sitting(break_min=1)
    r = desk_day(("09:00", 20, SIT), ("", 1, UP), ("", 60, SIT), rules=one_minute)
    assert r.prompt_clocks()[:1] == ["10:01"]
    hundred = sitting(break_steps=100)
    for steps, clocks in [(99, ["09:41"]), (100, ["10:01"])]:
        r = desk_day(("09:00", 20, SIT), ("", 1, STEP, steps), ("", 60, SIT), rules=hundred)
        assert r.prompt_clocks()[:1] == clocks


def test_a_break_just_before_the_limit_resets_the_count() -> None:
    r = desk_day(("09:00", 39, SIT), ("", 2, UP), ("", 60, SIT))
    assert "09:40" not in r.prompt_clocks()
    assert "09:41" not in r.prompt_clocks()
    assert r.prompt_clocks()[0] == "10:21"  # 40 minutes from 09:41
    assert bout_mins(r)[0] == 40
    assert r.breaks(KEY)["natural"] == 1


def test_natural_breaks_are_counted_only_for_unprompted_bouts() -> None:
    r = desk_day(
        ("09:00", 30, SIT), ("", 2, UP),  # natural
        ("", 45, SIT), ("", 2, STEP),  # prompted at 10:12: taken, not natural
        ("", 10, SIT), ("", 1, STEP, 80),  # natural
        ("", 5, SIT), ("", 3, UP),  # natural
        ("", 10, UP),
    )
    assert r.prompt_clocks() == ["10:12"]
    brk = r.breaks(KEY)
    assert (brk["natural"], brk["taken"], brk["prompted"]) == (3, 1, 1)


def test_bouts_in_the_summary() -> None:
    r = desk_day(
        ("09:00", 29, SIT), ("", 2, UP),
        ("", 30, SIT), ("", 2, UP),
        ("", 59, SIT), ("", 2, UP),
        ("", 60, SIT), ("", 2, UP),
    )
    body = r.final(KEY)
    assert (body["sitting_bouts_30"], body["sitting_bouts_60"]) == (3, 1)
    assert body["longest_sitting_bout_min"] == 60
    assert body["sit_to_stand"] == 4


# --- 3. unknown gaps ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gap", "clocks", "first_bout_min"),
    [
        (4, ["09:44"], 40),  # tolerated, not counted
        (5, ["09:45"], 40),  # gap_tolerance_min: still tolerated
        (6, ["10:06"], 40),  # one more: the bout ended, a new one started at 09:26
    ],
)
def test_unknown_gap_up_to_tolerance_keeps_the_bout(
    gap: int, clocks: list[str], first_bout_min: int
) -> None:
    r = desk_day(("09:00", 20, SIT), ("", gap, UNK), ("", 60, SIT))
    assert r.prompt_clocks()[:1] == clocks
    assert bout_mins(r)[0] == first_bout_min
    assert r.breaks(KEY)["natural"] == 0  # a gap is never a break


@pytest.mark.parametrize(("gap", "first"), [(5, "09:45"), (6, "10:06")])
def test_missing_minutes_are_unknown(gap: int, first: str) -> None:
    # Skipped minutes (no epoch fed at all) count as unknown, as missing rows do.
    epochs = DAY.epochs(("09:00", 20, SIT), (f"09:{20 + gap:02d}", 60, SIT))
    assert run(epochs).prompt_clocks()[0] == first


def test_gap_longer_than_tolerance_ends_bout_without_prompt_or_natural_break() -> None:
    r = desk_day(("09:00", 39, SIT), ("", 6, UNK), ("", 20, SIT), ("", 2, UP), ("", 5, UP))
    assert r.prompts == []
    brk = r.breaks(KEY)
    assert brk["natural"] == 1  # only the second bout ended with a break
    assert r.final(KEY)["longest_sitting_bout_min"] == 39


def test_zero_gap_tolerance() -> None:
    rules = sitting(gap_tolerance_min=0)
    r = desk_day(("09:00", 20, SIT), ("", 1, UNK), ("", 60, SIT), rules=rules)
    assert r.prompt_clocks()[0] == "10:01"


def test_unknown_between_upright_minutes_is_not_a_break() -> None:
    r = desk_day(("09:00", 20, SIT), ("", 1, UP), ("", 1, UNK), ("", 1, UP), ("", 60, SIT))
    assert r.prompt_clocks()[0] == "09:43"
    assert bout_mins(r)[0] == 40
    assert r.breaks(KEY)["natural"] == 0


def test_two_upright_minutes_after_an_unknown_one_are_a_break() -> None:
    r = desk_day(("09:00", 20, SIT), ("", 1, UP), ("", 1, UNK), ("", 2, UP), ("", 60, SIT))
    assert r.prompt_clocks()[0] == "10:04"
    assert r.breaks(KEY)["natural"] == 1


def test_prompt_after_a_long_outage_waits_its_window_and_is_ignored() -> None:
    r = desk_day(("09:00", 41, SIT), ("", 30, UNK), ("", 5, UP))
    assert r.prompt_clocks() == ["09:40"]
    [outcome] = r.outcomes
    assert outcome.outcome == "ignored"
    assert DAY.clock(outcome.time) == "09:56"  # when the response window closed
    assert r.breaks(KEY)["natural"] == 0


# --- 11.8: decided on a sedentary epoch -----------------------------------------------


@pytest.mark.parametrize("interruption", [UP, UNK])
def test_repeat_due_on_a_non_sedentary_minute_waits_for_the_next_sedentary_one(
    interruption: Posture,
) -> None:
    # The repeat falls due at 09:55, decided on epoch 09:54, which is not sedentary.
    r = desk_day(("09:00", 54, SIT), ("", 1, interruption), ("", 30, SIT))
    assert r.prompt_clocks()[:2] == ["09:40", "09:56"]
    assert bout_mins(r)[:2] == [40, 55]


def test_repeat_waits_through_several_non_sedentary_minutes() -> None:
    # Upright, unknown, upright: no break (unknown does not count), no sitting
    # either; the repeat is decided on epoch 09:57, the next sedentary one.
    r = desk_day(("09:00", 54, SIT), ("", 1, UP), ("", 1, UNK), ("", 1, UP), ("", 30, SIT))
    assert r.prompt_clocks()[:2] == ["09:40", "09:58"]
    assert bout_mins(r)[:2] == [40, 55]


# --- 4. snooze ------------------------------------------------------------------------


def test_snooze_holds_then_one_catch_up_and_repeats_continue() -> None:
    r = desk_day(DESK, commands=[at("09:41", Ack("last", "snooze", 15))])
    assert r.prompt_clocks() == ["09:40", "09:56", "10:11"]
    assert repeats(r) == [0, 1, 2]
    assert bout_mins(r) == [40, 56, 71]
    assert r.outcome_names() == ["snoozed", "ignored", "ignored"]
    assert r.breaks(KEY)["snoozed"] == 1
    assert r.replies[0].ok


@pytest.mark.parametrize(
    ("when", "catch_up"),
    [("09:40:30", "09:56"), ("09:41:00", "09:56"), ("09:41:30", "09:57")],
)
def test_snooze_catch_up_at_first_minute_at_or_after_its_end(when: str, catch_up: str) -> None:
    # 09:40:30 + 15 min ends at 09:55:30; the 09:55 evaluation is still inside it.
    r = desk_day(DESK, commands=[at(when, Ack("last", "snooze", 15))])
    assert r.prompt_clocks()[1] == catch_up


def test_snooze_default_is_15_minutes() -> None:
    r = desk_day(DESK, commands=[at("09:41", Ack("last", "snooze"))])
    assert r.prompt_clocks()[1] == "09:56"


def test_snooze_by_prompt_id() -> None:
    first = desk_day(DESK).prompts[0]
    r = desk_day(DESK, commands=[at("09:41", Ack(first.id, "snooze", 30))])
    assert r.prompt_clocks() == ["09:40", "10:11", "10:26"]
    assert r.outcome_names()[0] == "snoozed"


def test_snooze_catch_up_waits_for_a_sedentary_minute() -> None:
    r = desk_day(
        ("09:00", 55, SIT), ("", 1, UP), ("", 60, SIT),
        commands=[at("09:41", Ack("last", "snooze", 15))],
    )
    # Snooze ends 09:56, but epoch 09:55 is upright: the catch-up goes at 09:57.
    assert r.prompt_clocks()[:2] == ["09:40", "09:57"]
    assert bout_mins(r)[1] == 56


def test_snooze_during_which_the_bout_ends_gives_no_catch_up() -> None:
    r = desk_day(
        ("09:00", 60, SIT), ("", 2, UP), ("", 60, SIT),
        commands=[at("09:41", Ack("last", "snooze", 30))],
    )
    # Snooze until 10:11; the bout ended at 10:00; the new bout (from 10:02)
    # reaches its limit at 10:42 and gets an ordinary first prompt.
    assert r.prompt_clocks() == ["09:40", "10:42", "10:57"]
    assert repeats(r) == [0, 0, 1]
    assert r.outcome_names()[0] == "snoozed"
    assert r.breaks(KEY)["natural"] == 0  # the ended bout had a prompt


def test_snooze_catch_up_counts_toward_the_cap() -> None:
    r = desk_day(DESK, commands=[at("09:56", Ack("last", "snooze", 20))])
    # 09:40 and 09:55 delivered; the catch-up at 10:16 is the third and last.
    assert r.prompt_clocks() == ["09:40", "09:55", "10:16"]
    assert repeats(r) == [0, 1, 2]


def test_snooze_after_the_cap_gives_nothing() -> None:
    r = desk_day(DESK, commands=[at("10:11", Ack("last", "snooze", 15))])
    assert r.prompt_clocks() == ["09:40", "09:55", "10:10"]
    assert r.outcome_names() == ["ignored", "ignored", "snoozed"]


def test_snooze_holds_new_bouts_too() -> None:
    r = desk_day(
        ("09:00", 50, SIT), ("", 2, UP), ("", 150, SIT),
        commands=[at("09:41", Ack("last", "snooze", 120))],
    )
    # New bout from 09:52, at its limit 10:32 but snoozed until 11:41.
    assert r.prompt_clocks() == ["09:40", "11:41", "11:56", "12:11"]
    assert repeats(r) == [0, 0, 1, 2]
    assert bout_mins(r)[1] == 109


def test_snooze_ending_before_the_new_bout_reaches_its_limit() -> None:
    r = desk_day(
        ("09:00", 45, SIT), ("", 2, UP), ("", 60, SIT),
        commands=[at("09:41", Ack("last", "snooze", 15))],
    )
    # Snooze ends 09:56 with a 9-minute bout: no catch-up (section 11.5).
    assert r.prompt_clocks()[:2] == ["09:40", "10:27"]


def test_short_snooze_gets_its_prompt_when_it_ends() -> None:
    # "If the bout is still going when the snooze ends, one sitting prompt fires
    # at that minute (it counts toward the cap, and repeats continue from it)":
    # also when the snooze ends before the next repeat would have been due.
    r = desk_day(DESK, commands=[at("09:41", Ack("last", "snooze", 5))])
    assert r.prompt_clocks() == ["09:40", "09:46", "10:01"]


def test_ack_with_nothing_to_ack_is_refused() -> None:
    r = desk_day(("09:00", 10, SIT), commands=[at("09:05", Ack("last", "snooze"))])
    assert not r.replies[0].ok
    assert r.replies[0].error == "cannot snooze a prompt: no prompt has been sent yet"
    r = desk_day(DESK, commands=[at("09:45", Ack("alice-nope", "done"))])
    assert not r.replies[0].ok
    assert r.replies[0].error == ("cannot mark a prompt as done: no recent prompt has the id "
                                  "'alice-nope'")
    assert r.prompt_clocks() == ["09:40", "09:55", "10:10"]


# --- 5. do not disturb ----------------------------------------------------------------


def test_dnd_holds_prompts_and_gives_one_catch_up() -> None:
    r = desk_day(DESK, commands=[at("09:30", Dnd(60))])
    # 09:40 and 09:55 fell due during DND; one prompt when it ends at 10:30.
    assert r.prompt_clocks() == ["10:30", "10:45", "11:00"]
    assert repeats(r) == [0, 1, 2]
    assert bout_mins(r)[0] == 90


@pytest.mark.parametrize(
    ("when", "catch_up"),
    [("09:34:30", "09:50"), ("09:35:00", "09:50"), ("09:35:30", "09:51")],
)
def test_dnd_end_on_and_off_a_minute_boundary(when: str, catch_up: str) -> None:
    r = desk_day(DESK, commands=[at(when, Dnd(15))])
    assert r.prompt_clocks()[0] == catch_up


def test_dnd_during_which_the_bout_ends_gives_no_catch_up() -> None:
    r = desk_day(
        ("09:00", 50, SIT), ("", 2, UP), ("", 30, SIT),
        commands=[at("09:30", Dnd(60))],
    )
    assert r.prompts == []
    assert r.breaks(KEY)["natural"] == 1  # no prompt was delivered in that bout


def test_dnd_ending_before_the_limit_changes_nothing() -> None:
    r = desk_day(DESK, commands=[at("09:00", Dnd(39))])
    assert r.prompt_clocks() == ["09:40", "09:55", "10:10"]


def test_dnd_zero_ends_do_not_disturb_at_once() -> None:
    r = desk_day(DESK, commands=[at("09:30", Dnd(120)), at("10:02:10", Dnd(0))])
    # Ended during the evaluation at 10:03 (the command is applied before it).
    assert r.prompt_clocks() == ["10:03", "10:18", "10:33"]


def test_dnd_holds_a_repeat() -> None:
    r = desk_day(DESK, commands=[at("09:45", Dnd(20))])
    assert r.prompt_clocks() == ["09:40", "10:05", "10:20"]
    assert repeats(r) == [0, 1, 2]


# --- 6. quiet hours -------------------------------------------------------------------


def test_a_bout_begun_before_the_window_counts_from_its_opening() -> None:
    """Version 2: only minutes inside the waking window make a bout, so sitting
    since 06:00 reaches its 40 minutes at 08:10, not at the opening."""
    r = desk_day(("06:00", 150, SIT))
    assert r.prompt_clocks() == ["08:10", "08:25"]
    assert r.reasons()[0]["bout_min"] == 40


@pytest.mark.parametrize(
    ("start", "first"),
    [("06:49", "08:10"), ("07:29", "08:10"), ("07:30", "08:10"), ("07:31", "08:11")],
)
def test_wake_edge(start: str, first: str) -> None:
    r = desk_day((start, 120, SIT))
    assert r.prompt_clocks()[0] == first
    assert bout_mins(r)[0] == 40


@pytest.mark.parametrize(
    ("start", "clocks"),
    [
        ("20:48", ["21:28"]),
        ("20:49", ["21:29"]),  # epoch 21:28, evaluated 21:29: the last allowed minute
        ("20:50", []),  # due at 21:30: not sent, and never later that night
    ],
)
def test_sleep_edge(start: str, clocks: list[str]) -> None:
    r = desk_day((start, 240, SIT))
    assert r.prompt_clocks() == clocks


def test_no_repeat_after_sleep_and_none_overnight() -> None:
    # Repeat due 21:30 is not sent; the bout runs on past the day rollover and
    # ends before wake, so nothing at all after 21:15.
    r = desk_day(("20:35", 9 * 60, SIT), ("", 2, UP), ("", 30, UP))
    assert r.prompt_clocks() == ["21:15"]


def test_night_bout_running_into_the_morning() -> None:
    """Still from 02:00 straight into the morning: v1 said "sitting for 330
    minutes" at 07:30; v2 counts from the window's opening, so half an hour of
    sitting after it is no prompt at all."""
    r = desk_day(("+1 02:00", 6 * 60, SIT))
    assert r.prompts == []
    body = r.final("2026-11-24")
    assert body["longest_sitting_bout_min"] == 30
    assert body["sedentary_min"] == 30


# --- 7. rate limits -------------------------------------------------------------------

FAST = {"limit_min": 15, "repeat_min": 5, "max_repeats": 3}


@pytest.mark.parametrize(
    ("gap", "clocks"),
    [
        (4, ["09:15", "09:20", "09:25"]),
        (5, ["09:15", "09:20", "09:25"]),  # exactly min_gap is allowed
        (6, ["09:15", "09:21", "09:27"]),
    ],
)
def test_min_gap_edges(gap: int, clocks: list[str]) -> None:
    r = desk_day(("09:00", 27, SIT), rules=limits(FAST, min_gap_min=gap, max_per_hour=20))
    assert r.prompt_clocks() == clocks


def test_prompt_delayed_by_min_gap_is_sent_with_the_numbers_of_its_minute() -> None:
    rules = limits(FAST | {"max_repeats": 3}, min_gap_min=8)
    r = desk_day(("09:00", 60, SIT), rules=rules)
    assert r.prompt_clocks() == ["09:15", "09:23", "09:31", "09:39"]
    assert bout_mins(r) == [15, 23, 31, 39]  # section 11.7
    assert repeats(r) == [0, 1, 2, 3]
    assert r.dropped == []


def test_hourly_limit_delays_then_drops_then_sends() -> None:
    rules = limits(FAST, max_per_hour=2, min_gap_min=5)
    r = desk_day(("09:00", 90, SIT), rules=rules)
    # 09:25 is held (two in the hour); still held 16 minutes later at 09:41:
    # dropped, next try 5 minutes later; 09:46 held, dropped at 10:02; 10:07
    # held and sent at 10:15, when 09:15 leaves the sliding hour.
    assert r.prompt_clocks() == ["09:15", "09:20", "10:15", "10:20"]
    assert [DAY.clock(d.time) for d in r.dropped] == ["09:41", "10:02"]
    assert {d.kind for d in r.dropped} == {"sitting_break"}
    assert repeats(r) == [0, 1, 2, 3]
    assert bout_mins(r)[2] == 75


def test_prompts_exactly_60_minutes_apart_do_not_share_an_hour() -> None:
    rules = limits(FAST, max_per_hour=1, min_gap_min=0, max_delay_min=60)
    r = desk_day(("09:00", 150, SIT), rules=rules)
    assert r.prompt_clocks() == ["09:15", "10:15", "11:15"]
    assert r.dropped == []


@pytest.mark.parametrize(
    ("repeat_min", "clocks", "dropped"),
    [
        # Repeat due 10:00, the hour frees at 10:15: held exactly max_delay_min.
        (45, ["09:15", "10:15"], []),
        # Due 09:58: still held at 10:14 (16 min): dropped; next try 10:57.
        (43, ["09:15", "10:57"], ["10:14"]),
    ],
)
def test_max_delay_edges(repeat_min: int, clocks: list[str], dropped: list[str]) -> None:
    rules = limits(
        {"limit_min": 15, "repeat_min": repeat_min, "max_repeats": 1},
        max_per_hour=1, min_gap_min=0,
    )
    r = desk_day(("09:00", 150, SIT), rules=rules)
    assert r.prompt_clocks() == clocks
    assert [DAY.clock(d.time) for d in r.dropped] == dropped


@pytest.mark.parametrize(("repeat_min", "max_delay"), [(44, 15), (5, 54)])
def test_prompt_held_longer_than_max_delay_is_not_sent(repeat_min: int, max_delay: int) -> None:
    """Section 8: a held prompt "is sent at the first minute the limits allow
    ... within prompts.max_delay_min; after that it is dropped". Regression:
    the drop was checked only while still limited, so a prompt whose limit
    freed exactly max_delay + 1 minutes after it fell due was still sent."""
    # Due at 09:15 + repeat_min; the hourly limit frees at 10:15, which is
    # max_delay + 1 minutes after it fell due.
    rules = limits(
        {"limit_min": 15, "repeat_min": repeat_min, "max_repeats": 3},
        max_per_hour=1, min_gap_min=0, max_delay_min=max_delay,
    )
    r = desk_day(("09:00", 80, SIT), rules=rules)
    assert "10:15" not in r.prompt_clocks()
    assert r.dropped


def test_max_delay_zero_sends_only_when_allowed_at_once() -> None:
    rules = limits(FAST, min_gap_min=7, max_delay_min=0)
    r = desk_day(("09:00", 40, SIT), rules=rules)
    # Due 09:20, but only 5 minutes after 09:15: held; still held at 09:21:
    # dropped; the next try at 09:26 meets the gap.
    assert r.prompt_clocks() == ["09:15", "09:26", "09:37"]
    assert [DAY.clock(d.time) for d in r.dropped] == ["09:21", "09:32"]


# --- 8. outcomes ----------------------------------------------------------------------

ONE = sitting(max_repeats=0)  # a single prompt per bout: nothing supersedes it


@pytest.mark.parametrize(
    ("latency", "outcome", "decided"),
    [
        (0, "taken", "09:42"),
        (1, "taken", "09:43"),
        (14, "taken", "09:56"),
        (15, "taken", "09:57"),  # the break starts exactly response_window_min later
        (16, "ignored", "09:56"),  # epoch 09:55 was sitting: the window closed
    ],
)
def test_taken_within_the_response_window(latency: int, outcome: str, decided: str) -> None:
    r = desk_day(("09:00", 40 + latency, SIT), ("", 2, UP), ("", 10, SIT), rules=ONE)
    [o] = r.outcomes
    assert o.outcome == outcome
    assert DAY.clock(o.time) == decided
    assert o.latency_min == (latency if outcome == "taken" else None)
    assert not o.self_reported
    brk = r.breaks(KEY)
    assert (brk["taken"], brk["ignored"], brk["natural"]) == (
        (1, 0, 0) if outcome == "taken" else (0, 1, 0)
    )


@pytest.mark.parametrize(("latency", "taken"), [(9, True), (10, True), (11, False)])
def test_custom_response_window(latency: int, taken: bool) -> None:
    rules = sitting(response_window_min=10)
    r = desk_day(("09:00", 40 + latency, SIT), ("", 2, UP), ("", 10, SIT), rules=rules)
    assert r.outcome_names()[0] == ("taken" if taken else "ignored")


def test_break_by_steps_latency() -> None:
    r = desk_day(("09:00", 43, SIT), ("", 1, STEP, 90), ("", 10, SIT), rules=ONE)
    [o] = r.outcomes
    assert (o.outcome, o.latency_min, DAY.clock(o.time)) == ("taken", 3, "09:44")


def test_break_started_at_window_end_may_complete_a_minute_later() -> None:
    # Epoch 09:55 upright starts a break at latency 15; it completes at 09:56.
    r = desk_day(("09:00", 55, SIT), ("", 1, UP), ("", 1, STEP), ("", 5, SIT), rules=ONE)
    assert r.outcome_names() == ["taken"]
    assert r.outcomes[0].latency_min == 15


def test_break_started_in_time_but_interrupted_is_ignored() -> None:
    r = desk_day(("09:00", 55, SIT), ("", 1, UP), ("", 5, SIT), rules=ONE)
    [o] = r.outcomes
    assert (o.outcome, DAY.clock(o.time)) == ("ignored", "09:57")


def test_newer_prompt_supersedes_an_undecided_one() -> None:
    r = desk_day(("09:00", 60, SIT), ("", 2, UP), ("", 5, SIT))
    assert r.prompt_clocks() == ["09:40", "09:55"]
    assert r.outcome_names() == ["ignored", "taken"]
    first, second = r.outcomes
    assert DAY.clock(first.time) == "09:55"  # decided when the repeat went out
    assert second.latency_min == 5


def test_dismissed() -> None:
    r = desk_day(DESK, commands=[at("09:42", Ack("last", "dismiss"))])
    assert r.outcome_names() == ["dismissed", "ignored", "ignored"]
    assert r.prompt_clocks() == ["09:40", "09:55", "10:10"]  # repeats go on
    assert r.breaks(KEY)["dismissed"] == 1


def test_done_is_taken_self_reported_and_resets_the_bout() -> None:
    r = desk_day(DESK, commands=[at("09:45:30", Ack("last", "done"))])
    # Applied before epoch 09:45: that epoch starts a new bout, 40 minutes to 10:25.
    assert r.prompt_clocks() == ["09:40", "10:25", "10:40", "10:55"]
    assert repeats(r) == [0, 0, 1, 2]
    first = r.outcome_of(r.prompts[0])[0]
    assert (first.outcome, first.self_reported, first.latency_min) == ("taken", True, 5)
    brk = r.breaks(KEY)
    assert (brk["taken"], brk["natural"], brk["median_response_min"]) == (1, 0, 5)


def test_done_for_the_first_prompt_at_once() -> None:
    r = desk_day(DESK, commands=[at("09:40:10", Ack("last", "done"))])
    assert r.prompt_clocks()[:2] == ["09:40", "10:20"]
    assert r.outcomes[0].latency_min == 0


def test_median_response_minutes() -> None:
    r = desk_day(
        ("09:00", 40, SIT), ("", 2, UP),  # taken at latency 0
        ("", 44, SIT), ("", 2, UP),  # prompt 10:22, break 10:26: latency 4
        ("", 55, SIT), ("", 2, UP),  # prompt 11:08, break 11:23: latency 15
        ("", 10, UP),
        rules=ONE,
    )
    brk = r.breaks(KEY)
    assert [o.latency_min for o in r.outcomes] == [0, 4, 15]
    assert (brk["prompted"], brk["taken"], brk["median_response_min"]) == (3, 3, 4)


def test_median_counts_taken_only() -> None:
    r = desk_day(
        ("09:00", 43, SIT), ("", 2, UP),  # latency 3
        ("", 80, SIT), ("", 2, UP),  # ignored
        rules=ONE,
    )
    brk = r.breaks(KEY)
    assert (brk["taken"], brk["ignored"], brk["median_response_min"]) == (1, 1, 3)


# --- 9. time: days, DST, offsets ------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "day", "offset"),
    [
        (LONDON, date(2026, 3, 28), "+00:00"),
        (LONDON, date(2026, 3, 29), "+01:00"),  # spring forward at 01:00
        (LONDON, date(2026, 3, 30), "+01:00"),
        (LONDON, date(2026, 10, 24), "+01:00"),
        (LONDON, date(2026, 10, 25), "+00:00"),  # fall back at 02:00
        (SYDNEY, date(2026, 4, 5), "+10:00"),  # summer time ends at 03:00
        (SYDNEY, date(2026, 10, 4), "+11:00"),  # summer time starts at 02:00
    ],
)
def test_prompts_carry_the_local_offset_of_their_day(zone: str, day: date, offset: str) -> None:
    d = Day(day, zone)
    r = run(d.epochs(DESK), zone=zone, rules=sitting())
    stamp = day.isoformat()
    assert r.prompt_times() == [f"{stamp}T{c}:00{offset}" for c in ("09:40", "09:55", "10:10")]
    assert payloads.prompt(r.prompts[0], user="alice", tz=d.tz)["expires"] == (
        f"{stamp}T09:55:00{offset}")
    assert r.final(stamp)["date"] == stamp


@pytest.mark.parametrize("day", [date(2026, 3, 28), date(2026, 10, 24)])
def test_a_dst_night_in_a_chair_is_no_bout(day: date) -> None:
    """v1 counted the night's real minutes into the morning's bout (450 on the
    spring-forward night, 570 on the fall-back one); v2 counts from 07:30."""
    d = Day(day, LONDON)
    r = run(d.epochs(("23:00", 11 * 60, SIT)), zone=LONDON)
    first = r.prompts[0]
    assert Day(day + timedelta(days=1), LONDON).clock(first.time) == "08:10"
    assert first.reason["bout_min"] == 40


ALL_DAY = sitting_rules(
    sitting=SittingRules(**MECHANICS),
    day=DayRules(start=time(0, 0), wake=time(0, 5), sleep=time(23, 0), wake_early_min=0,
                 wake_late_min=0))


def test_bout_across_spring_forward_inside_the_window() -> None:
    d = Day(date(2026, 3, 29), LONDON)
    r = run(d.epochs(("00:30", 120, SIT)), zone=LONDON, rules=ALL_DAY)
    # 00:30 GMT + 40 real minutes = 01:10 UTC = 02:10 BST.
    assert r.prompt_times() == [
        "2026-03-29T02:10:00+01:00",
        "2026-03-29T02:25:00+01:00",
        "2026-03-29T02:40:00+01:00",
    ]
    assert payloads.prompt(r.prompts[0], user="alice", tz=d.tz)["expires"] == (
        "2026-03-29T02:25:00+01:00")


def test_bout_across_fall_back_inside_the_window() -> None:
    d = Day(date(2026, 10, 25), LONDON)
    start = d.at("01:30", fold=0)  # the first 01:30, still BST
    r = run([Epoch(m, 0, SIT) for m in range(start, start + 90)], zone=LONDON, rules=ALL_DAY)
    # 01:30 BST + 40 real minutes = 01:10 GMT: the wall clock went back.
    assert r.prompt_times() == [
        "2026-10-25T01:10:00+00:00",
        "2026-10-25T01:25:00+00:00",
        "2026-10-25T01:40:00+00:00",
    ]
    assert len({p.id for p in r.prompts}) == 3


@pytest.mark.parametrize(
    ("zone", "day", "minutes"),
    [
        (LONDON, date(2026, 3, 28), 23 * 60),
        (LONDON, date(2026, 10, 24), 25 * 60),
        (LONDON, date(2026, 6, 1), 24 * 60),
        (SYDNEY, date(2026, 4, 4), 25 * 60),
        (SYDNEY, date(2026, 10, 3), 23 * 60),
    ],
)
def test_dst_days_are_23_or_25_hours(zone: str, day: date, minutes: int) -> None:
    d = Day(day, zone)
    start = d.at("04:00")
    next_start = Day(day + timedelta(days=1), zone).at("04:00")
    assert next_start - start == minutes
    # One step a minute from this day's start to well into the next day.
    epochs = [Epoch(m, 1, UP) for m in range(start, next_start + 60)]
    r = run(epochs, zone=zone)
    body = r.final(day.isoformat())
    assert body["steps"] == minutes  # steps count the whole day
    assert body["known_min"] == 14 * 60  # minute figures: the waking window only
    rollover = next(s for s in r.summaries if s.final and s.key == day.isoformat())
    assert rollover.time == next_start
    assert d.clock(rollover.time) == "04:00"


def test_the_day_starts_at_0400_local() -> None:
    r = desk_day(
        ("12:00", 1, STEP, 100),
        ("+1 03:59", 1, STEP, 7),  # still 2026-11-23's pacing day
        ("", 1, STEP, 11),  # 04:00: 2026-11-24
    )
    keys = [(s.key, s.final, DAY.iso(s.time)) for s in r.summaries]
    assert keys == [
        (KEY, False, "2026-11-23T21:30:00+11:00"),
        (KEY, True, "2026-11-24T04:00:00+11:00"),  # when the first minute of the next day came
        ("2026-11-24", True, "2026-11-24T04:01:00+11:00"),  # close_day at the end of the run
    ]
    assert [payloads.summary(s)["steps"] for s in r.summaries] == [100, 107, 11]


def test_night_bout_belongs_to_the_previous_pacing_day() -> None:
    r = desk_day(
        ("21:00", 60, SIT), ("", 2, UP),  # 30 window minutes, then a break at 22:00
        ("+1 03:00", 30, SIT, 0), ("", 2, UP, 10),  # 03:00: still 2026-11-23
        ("+1 09:00", 20, SIT), ("", 2, UP),
    )
    first, second = r.final(KEY), r.final("2026-11-24")
    assert first["longest_sitting_bout_min"] == 30  # bouts count window minutes only
    assert first["steps"] == 20  # the 03:30 break's steps belong to 2026-11-23
    assert second["steps"] == 0
    assert second["longest_sitting_bout_min"] == 20


def test_sleep_summary_is_provisional_and_rollover_is_final() -> None:
    r = desk_day(("20:00", 2 * 60, SIT), ("", 2, UP), ("+1 04:00", 1, UP))
    sleep, final = (s for s in r.summaries if s.key == KEY)
    assert (sleep.final, DAY.clock(sleep.time)) == (False, "21:30")
    assert (final.final, DAY.iso(final.time)) == (True, "2026-11-24T04:00:00+11:00")
    # The bout still going at 21:30 is counted as if it ended then.
    assert payloads.summary(sleep)["longest_sitting_bout_min"] == 90
    assert payloads.summary(final)["longest_sitting_bout_min"] == 90
    assert payloads.summary(sleep)["breaks"]["prompted"] == (
        payloads.summary(final)["breaks"]["prompted"]) == 3


def test_bout_spanning_the_rollover_counts_toward_the_day_it_sat_in() -> None:
    # Window minutes 07:30-09:00 of the bout go to 2026-11-24; nothing to 2026-11-23.
    r = desk_day(("+1 02:00", 7 * 60, SIT), ("", 2, UP))
    assert r.final(KEY)["longest_sitting_bout_min"] == 0
    assert r.final("2026-11-24")["longest_sitting_bout_min"] == 90


# --- 10. restart ----------------------------------------------------------------------

RESTART_DAY = (
    ("08:50", 70, SIT),  # 40-minute prompt at 09:30, snoozed
    ("", 2, UP),
    ("", 3, UNK),
    ("", 100, SIT),
    ("", 1, STEP, 70),
    ("", 60, SIT),
    ("20:30", 9 * 60, SIT),  # across sleep and the day rollover
    ("+1 05:30", 3 * 60, SIT),
)
RESTART_COMMANDS = (
    at("09:31", Ack("last", "snooze", 20)),
    at("10:40:20", Dnd(30)),
    at("12:27", Ack("last", "dismiss")),  # the 12:26 prompt
    at("21:10:30", Ack("last", "done")),  # the 21:10 prompt: taken, bout reset
)


def restart_points() -> list[int]:
    n = len(DAY.epochs(*RESTART_DAY))
    return [0, 1, 39, 40, 41, 45, 160, 185, 300, n - 600, n - 100, n - 1, n]


@pytest.mark.parametrize("k", restart_points())
def test_restart_gives_the_same_output_as_an_uninterrupted_run(k: int) -> None:
    epochs = DAY.epochs(*RESTART_DAY)
    straight = run(epochs, commands=RESTART_COMMANDS)
    restarted = run(epochs, commands=RESTART_COMMANDS, restart_after=k)
    assert len(straight.prompts) >= 8  # the scenario does exercise prompts
    assert restarted.outputs == straight.outputs
    ids = [p.id for p in restarted.prompts]
    assert len(ids) == len(set(ids))


def test_snapshot_is_plain_json() -> None:
    driver = Driver(commands=RESTART_COMMANDS)
    driver.feed(DAY.epochs(*RESTART_DAY)[:200])
    snap = driver.engine.snapshot()
    assert json.loads(json.dumps(snap)) == snap


def test_several_restarts() -> None:
    epochs = DAY.epochs(*RESTART_DAY)
    straight = run(epochs, commands=RESTART_COMMANDS)
    driver = Driver(commands=RESTART_COMMANDS)
    for i in range(0, len(epochs), 37):
        driver.feed(epochs[i:i + 37])
        driver.restart()
    assert driver.finish().outputs == straight.outputs


def test_restoring_twice_from_one_snapshot_gives_the_same_output() -> None:
    """Regression: ``Engine.restore`` used the snapshot's own lists (the day
    tally's), so running the restored engine changed the snapshot and a second
    restore from the same dict carried on from a different state."""
    epochs = DAY.epochs(*RESTART_DAY)
    driver = Driver(commands=RESTART_COMMANDS)
    driver.feed(epochs[:200])
    snap = driver.engine.snapshot()

    def continue_from(snapshot: dict[str, Any]) -> list[Output]:
        engine = Engine.restore(sitting_rules(), user="alice", timezone=SYDNEY, snapshot=snapshot)
        out: list[Output] = []
        for e in epochs[200:]:
            out.extend(engine.advance(e))
        out.extend(engine.close_day())
        return out

    assert continue_from(snap) == continue_from(snap)


@pytest.mark.parametrize(
    ("day", "restart_clock", "fold"),
    [(date(2026, 10, 24), "+1 01:10", 1), (date(2026, 3, 28), "+1 02:10", 0)],
)
def test_restart_near_a_dst_change_with_a_day_start_it_affects(
    day: date, restart_clock: str, fold: int
) -> None:
    """Section 1: "DST days are 23 or 25 hours long and must work". Regression:
    the day of a minute was found by comparing local wall-clock times, so with
    a day.start inside a DST gap or repeated hour a minute there mapped to the
    wrong day; a restart there (no cached day) split the day and sent its final
    summary twice."""
    # day.start 01:30 is repeated on 2026-10-25 and skipped on 2026-03-29 in London.
    rules = sitting_rules(day=DayRules(start=time(1, 30)))
    d = Day(day, LONDON)
    epochs = [Epoch(m, 1, UP) for m in range(d.at("12:00"), d.at("12:00") + 24 * 60)]
    k = d.at(restart_clock, fold=fold) - epochs[0].start
    straight = run(epochs, zone=LONDON, rules=rules)
    assert [s.key for s in straight.summaries if s.final] == [
        day.isoformat(), (day + timedelta(days=1)).isoformat()
    ]
    restarted = run(epochs, zone=LONDON, rules=rules, restart_after=k)
    assert restarted.outputs == straight.outputs


# --- 11. properties -------------------------------------------------------------------

SCENARIO_DAYS = [
    (SYDNEY, date(2026, 11, 23)),
    (SYDNEY, date(2026, 4, 4)),  # summer time ends the next night
    (SYDNEY, date(2026, 10, 3)),  # summer time starts the next night
    (LONDON, date(2026, 3, 28)),
    (LONDON, date(2026, 10, 24)),
]


@st.composite
def rule_sets(draw: st.DrawFn) -> Rules:
    return sitting_rules(
        sitting=SittingRules(
            limit_min=draw(st.integers(15, 60)),
            gap_tolerance_min=draw(st.integers(0, 8)),
            break_min=draw(st.integers(1, 3)),
            break_steps=draw(st.integers(30, 100)),
            repeat_min=draw(st.integers(5, 30)),
            max_repeats=draw(st.integers(0, 3)),
            response_window_min=draw(st.integers(1, 30)),
            ignored_streak=draw(st.sampled_from([0, 2, 3, 5])),
        ),
        prompts=PromptRules(
            max_per_hour=draw(st.integers(1, 6)),
            min_gap_min=draw(st.integers(0, 15)),
            max_delay_min=draw(st.integers(0, 30)),
            max_per_day=draw(st.integers(1, 12)),
            reserve=draw(st.integers(0, 4)),
        ),
        day=DayRules(wake_early_min=draw(st.sampled_from([0, 60, 120])),
                     wake_late_min=draw(st.sampled_from([0, 120, 240]))),
    )


# (posture or None for minutes not fed at all, minutes, steps per minute)
segments = st.one_of(
    st.tuples(st.just(SIT), st.integers(1, 180), st.just(0)),
    st.tuples(st.just(SIT), st.integers(200, 600), st.just(0)),  # a night, a long film
    st.tuples(st.just(SIT), st.integers(1, 2), st.integers(1, 120)),
    st.tuples(st.just(UP), st.integers(1, 4), st.integers(0, 70)),
    st.tuples(st.just(STEP), st.integers(1, 10), st.integers(20, 130)),
    st.tuples(st.just(UNK), st.integers(1, 10), st.just(0)),
    st.tuples(st.none(), st.integers(1, 10), st.just(0)),
    st.tuples(st.just(LYING), st.integers(1, 120), st.just(0)),  # v2: lying is not sitting
    st.tuples(st.just(NOT_WORN), st.integers(1, 90), st.just(0)),  # v2: unknown, never sitting
    st.tuples(st.just(STILL), st.integers(1, 90), st.just(0)),  # a wrist's zero steps
)
commands: st.SearchStrategy[Command] = st.one_of(
    (st.none() | st.integers(1, 120)).map(lambda m: Ack("last", "snooze", m)),
    st.sampled_from([Ack("last", "done"), Ack("last", "dismiss")]),
    st.integers(0, 120).map(Dnd),
    st.sampled_from([DayEvent("up"), DayEvent("bed")]),
)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[str, list[Epoch], list[TimedCommand]]:
    zone, day = draw(st.sampled_from(SCENARIO_DAYS))
    start = Day(day, zone).at("05:00") + draw(st.integers(0, 18 * 60))
    epochs: list[Epoch] = []
    m = start
    for posture, minutes, steps in draw(st.lists(segments, min_size=10, max_size=60)):
        if posture is not None:
            epochs.extend(_epoch(x, steps, posture) for x in range(m, m + minutes))
        m += minutes
    if not epochs:
        epochs.append(Epoch(m, 0, SIT))
    end = epochs[-1].start + 1
    timed = draw(
        st.lists(
            st.tuples(st.integers(start * 60, end * 60 + 59).map(float), commands),
            max_size=8,
        )
    )
    return zone, epochs, timed


def _epoch(minute: int, steps: int, posture: Posture | str) -> Epoch:
    if posture is UNK:
        return Epoch.unknown(minute)
    if posture is NOT_WORN:
        return Epoch.not_worn(minute)
    if posture == STILL:
        return Epoch.from_steps(minute, 0)
    assert isinstance(posture, Posture)
    return Epoch(minute, steps, posture)


def _windows(r: Result) -> dict[str, tuple[int, int]]:
    """Each day's waking window, from its first opening to its last closing."""
    out = {}
    for x in r.summaries:
        if x.final:
            body = x.body
            assert isinstance(body, DaySummary)
            w = body.window
            if w is not None and w.opened is not None:
                # Still open when the data ended: a prompt at that minute was in
                # it. A tap closes the window at the minute it came in, which may
                # follow a prompt sent at the start of that minute. An hour of
                # lying closes it after the fact at the lying's first minute: a
                # prompt stamped then was decided on the minute before, when
                # nothing showed the person lying down.
                end = x.time if w.closed is None else w.closed
                inclusive = w.closed is None or w.closed_by in ("event", "detected")
                out[x.key] = (w.opened, end + 1 if inclusive else end)
    return out


def check_invariants(r: Result, rules: Rules, epochs: list[Epoch]) -> None:
    prompts = r.prompts
    times = [p.time for p in prompts]
    by_minute = {e.start: e for e in epochs}
    s, pr = rules.sitting, rules.prompts
    assert times == sorted(times)
    windows = _windows(r)
    per_day: dict[str, int] = {}
    for p in prompts:
        # v2: no nudge outside the waking window, and never more than the
        # day's budget; a bout never counts minutes from before the window.
        day = next((k for k, (a, b) in windows.items() if a <= p.time < b), None)
        assert day is not None, f"prompt at {to_local(p.time, r.tz)} outside the window"
        per_day[day] = per_day.get(day, 0) + 1
        assert per_day[day] <= pr.max_per_day
        window = [t for t in times if p.time - 60 < t <= p.time]
        assert len(window) <= pr.max_per_hour
        if p.kind == "wearable_silent":  # the only other prompt these scenarios allow
            since = p.reason["since"]
            if since is not None:
                quiet = p.time - datetime.fromisoformat(since).timestamp() / 60
                assert quiet >= rules.wear.silent_min
            continue
        assert p.reason["bout_min"] <= p.time - windows[day][0]
        # Decided on a sedentary epoch (section 11.8) that was not itself a break.
        epoch = by_minute.get(p.time - 1)
        assert epoch is not None
        assert epoch.posture is SIT
        assert epoch.steps < s.break_steps
        assert p.kind == "sitting_break"
        assert p.reason["limit_min"] == s.limit_min
        assert p.reason["bout_min"] >= s.limit_min
        assert 0 <= p.reason["repeat"] <= s.max_repeats
        # A prompt about sitting that was only inferred says so ("still").
        if p.reason["inferred"]:
            assert any(by_minute[m].inferred and by_minute[m].posture is SIT
                       for m in range(p.time - p.reason["bout_min"] - 60, p.time)
                       if m in by_minute)
        assert p.expires == p.time + s.repeat_min
    for a, b in itertools.pairwise(times):
        assert b - a >= pr.min_gap_min
    assert len({p.id for p in prompts}) == len(prompts)
    # Every outcome names a prompt sent before it, and decides it only once.
    sent = {p.id: p for p in prompts}
    decided = [o.prompt_id for o in r.outcomes]
    assert len(decided) == len(set(decided))
    for o in r.outcomes:
        assert o.prompt_id in sent
        assert o.time >= sent[o.prompt_id].time
        if o.outcome == "taken" and not o.self_reported:
            assert o.latency_min is not None
            assert 0 <= o.latency_min <= s.response_window_min
    # One final summary per day, and they add up to what was sent.
    finals = [x for x in r.summaries if x.final]
    keys = [x.key for x in finals]
    assert keys == sorted(set(keys))
    sitting_sent = [p for p in prompts if p.kind == "sitting_break"]
    assert sum(payloads.summary(x)["breaks"]["prompted"] for x in finals) == len(sitting_sent)
    outcomes_counted = sum(
        payloads.summary(x)["breaks"][k] for x in finals
        for k in ("taken", "ignored", "snoozed", "dismissed")
    )
    assert outcomes_counted == len([o for o in r.outcomes if o.kind == "sitting_break"])


def drive(
    zone: str, epochs: list[Epoch], timed: list[TimedCommand], rules: Rules,
    restart_after: int | None = None,
) -> Result:
    return run(epochs, zone=zone, rules=rules, commands=timed, restart_after=restart_after)


PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY_SETTINGS
@given(scenarios(), rule_sets())
def test_property_delivery_rules_hold(
    scenario: tuple[str, list[Epoch], list[TimedCommand]], rules: Rules
) -> None:
    zone, epochs, timed = scenario
    check_invariants(drive(zone, epochs, timed, rules), rules, epochs)


@PROPERTY_SETTINGS
@given(scenarios())
def test_property_default_rules_hold(
    scenario: tuple[str, list[Epoch], list[TimedCommand]],
) -> None:
    zone, epochs, timed = scenario
    check_invariants(drive(zone, epochs, timed, sitting_rules()), sitting_rules(), epochs)


@PROPERTY_SETTINGS
@given(scenarios(), rule_sets())
def test_property_running_twice_gives_the_same_output(
    scenario: tuple[str, list[Epoch], list[TimedCommand]], rules: Rules
) -> None:
    zone, epochs, timed = scenario
    assert drive(zone, epochs, timed, rules).outputs == drive(zone, epochs, timed, rules).outputs


@PROPERTY_SETTINGS
@given(scenarios(), rule_sets(), st.data())
def test_property_restart_anywhere_gives_the_same_output(
    scenario: tuple[str, list[Epoch], list[TimedCommand]], rules: Rules, data: st.DataObject
) -> None:
    zone, epochs, timed = scenario
    k = data.draw(st.integers(0, len(epochs)), label="restart after")
    straight = drive(zone, epochs, timed, rules)
    assert drive(zone, epochs, timed, rules, restart_after=k).outputs == straight.outputs


def test_generated_scenarios_do_reach_prompts_and_limits() -> None:
    # Guard against vacuous properties: the generator does produce days with
    # several prompts and with prompts held back by the limits.
    def busy(s: tuple[str, list[Epoch], list[TimedCommand]]) -> bool:
        r = drive(*s, limits(FAST, max_per_hour=2))
        return len(r.prompts) >= 3 and bool(r.dropped)

    quick = settings(max_examples=2000, database=None, phases=[Phase.generate])  # no shrinking
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HypothesisWarning)  # the example's repr is large
        found = find(scenarios(), busy, settings=quick)
    assert drive(*found, limits(FAST, max_per_hour=2)).prompts
