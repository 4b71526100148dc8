"""What ``pacer demo`` prints, as pure functions of the payloads
(pacer/demo_words.py): reasons in words, counts that add up or say why not.
The demo itself runs in tests/pacer/daemon/test_daemon_ble.py."""

from __future__ import annotations

import re
from typing import Any

from pacer.demo_words import buzz_line, outcomes, prompt_lines, reason_words, summary_rows

# One reason of every kind the engine gives one for (interfaces.md section 4).
REASONS: dict[str, dict[str, Any]] = {
    "sitting_break": {"bout_min": 55, "limit_min": 40, "repeat": 1, "inferred": True},
    "standing_break": {"bout_min": 30, "limit_min": 30, "repeat": 0},
    "walk_reminder": {"walks_done": 1, "walks_due": 2, "target_min": 5, "coverage": 0.9},
    "pace_ease_off": {"steps": 3788, "expected": 2525, "quota": 6456},
    "ceiling_reached": {"steps": 9800, "ceiling": 9797},
    "long_bout_rest": {"bout_min": 25, "max_bout_min": 20},
    "floor_nudge": {"steps": 1200, "floor": 3228},
    "exercise_reminder": {"sessions_week": 1, "target": 3},
    "plan_update": {"parts": ["first_quota"], "old_quota": None, "new_quota": 6456},
}


def test_every_reason_is_said_in_words_not_as_key_value() -> None:
    said = {kind: reason_words(kind, reason) for kind, reason in REASONS.items()}
    assert said["sitting_break"] == "no steps for 55 min, limit 40; a reminder"
    assert said["pace_ease_off"] == "3,788 steps where about 2,525 are on track for 6,456"
    assert said["plan_update"] == "step plan 6,456"
    assert reason_words("plan_update", {"old_quota": 6000, "new_quota": 6456}) == (
        "step plan 6,000 -> 6,456")
    assert reason_words("sitting_break", {"bout_min": 40, "limit_min": 40, "repeat": 0}) == (
        "sitting 40 min, limit 40")  # measured by a posture device, not inferred
    for kind, text in said.items():
        assert text, kind
        assert not re.search(r"[={]|None", text), (kind, text)
    # A kind whose text says it all (a red flag) gets no reason, never a dict.
    assert reason_words("red_flag", {"flags": ["saddle_numbness"], "tier": "urgent"}) == ""


def test_a_prompt_prints_as_time_title_reason_and_text() -> None:
    lines = prompt_lines({"time": "2026-03-02T07:40:00+00:00", "kind": "sitting_break",
                          "title": "Time for a movement break", "text": "Stand up.",
                          "reason": {"bout_min": 40, "limit_min": 40, "repeat": 0,
                                     "inferred": True}})
    assert lines == ["  07:40  Time for a movement break  (no steps for 40 min, limit 40)",
                     "         Stand up."]
    assert prompt_lines({"time": "2026-03-02T09:00:00+00:00", "kind": "red_flag",
                         "title": "Please seek advice", "text": "Call 111.",
                         "reason": {"flags": ["x"]}})[0] == "  09:00  Please seek advice"


def test_outcomes_that_fall_short_of_the_prompts_say_how_many_are_open() -> None:
    breaks = {"prompted": 3, "taken": 1, "ignored": 1, "snoozed": 0, "dismissed": 0}
    assert outcomes(breaks, 15) == ("1 taken / 1 ignored / 0 snoozed / 0 dismissed; 1 still "
                                    "open (an outcome is decided 15 min after the prompt)")
    breaks["ignored"] = 2
    assert outcomes(breaks, 15) == "1 taken / 2 ignored / 0 snoozed / 0 dismissed"


def _summary(**changes: Any) -> dict[str, Any]:
    s: dict[str, Any] = {
        "steps": 8458, "known_min": 900, "sedentary_min": 746, "upright_min": 71,
        "stepping_min": 83, "sitting_bouts_30": 11, "sitting_bouts_60": 5,
        "longest_sitting_bout_min": 130, "sit_to_stand": 12,
        "prompts": {"plan_update": 1, "sitting_break": 9, "pace_ease_off": 1},
        "breaks": {"prompted": 9, "taken": 2, "natural": 5, "ignored": 7, "snoozed": 0,
                   "dismissed": 0, "median_response_min": 5},
        "plan": {"quota": 6456, "floor": 3228, "ceiling": 9797},
        "window": {"opened": "2026-03-02T06:30:00+00:00", "opened_by": "detected",
                   "closed": None, "closed_by": None},
        "prompts_dropped": {"budget": 4, "limits": 0, "dnd": 0, "coverage": 0, "coherence": 1},
    }
    s.update(changes)
    return s


def test_the_summary_explains_its_counts() -> None:
    rows = dict(summary_rows(_summary(), 15))
    assert rows["waking window"] == "06:30 (detected) to -"
    assert rows["steps"] == "8,458"
    assert rows["step plan"] == "6,456 (lower mark 3,228, upper limit 9,797)"
    # The prompts sent add up, by kind; the sitting prompts' outcomes add up to them.
    assert rows["prompts sent"] == "11: 1 plan message, 9 sitting breaks, 1 ease-off"
    assert rows["  their outcomes"] == "2 taken / 7 ignored / 0 snoozed / 0 dismissed"
    assert rows["nudges due but not sent"] == (
        "5: 4 over the daily budget, 1 would contradict a recent prompt")
    assert rows["  median time to a break"] == "5 min"
    quiet = dict(summary_rows(_summary(prompts={}, prompts_dropped={}, breaks={
        "prompted": 0, "taken": 0, "natural": 0, "ignored": 0, "snoozed": 0, "dismissed": 0,
        "median_response_min": None}), 15))
    assert quiet["prompts sent"] == "0"
    assert quiet["  median time to a break"] == "-"
    assert quiet["nudges due but not sent"] == "0"
    assert rows["known minutes (waking day)"] == "900"
    off = dict(summary_rows(_summary(known_min=770, not_worn_min=130), 15))
    assert off["known minutes (waking day)"] == "770; 130 not worn (the watch was off)"
    for label, value in summary_rows(_summary(), 15):
        assert not re.search(r"\w=\S|None", value), (label, value)


def test_the_buzzes_are_counted_against_the_prompts() -> None:
    assert buzz_line(2, 2) == "The watch buzzed 2 time(s), once for each prompt above."
    assert buzz_line(1, 3) == ("The watch buzzed 1 time(s) for the 3 prompt(s) above: 2 did "
                               "not reach it (it buzzes only while connected).")
