"""Red flags, version 2 (pacing-rules.md section 7, edge case 15; interfaces.md
section 8 points 2-4): two tiers with the action first, repeated at the first
minute of each waking window until the person says they have been seen, and
cleared by them ("seen" with "resume"), the physiotherapist or the machine's owner,
recorded with who and how.

Days as in test_engine_plan: Monday 2026-06-01 in London is day 0, days 0-6 are
the baseline, the waking window opens at 07:30.
"""

from __future__ import annotations

from typing import Any

import pytest
from helpers.engine import Driver, Result
from helpers.plan import (
    ZONE,
    at,
    day,
    days_epochs,
    flags_of,
    key,
    kind,
    plan_of,
    plan_rules,
    run_days,
    stamp,
    when,
)

from pacer.config import SafetyRules, WalkRules
from pacer.contract import payloads
from pacer.contract.commands import parse_command
from pacer.engine.model import (
    Ack,
    Alert,
    AlertCleared,
    Dropped,
    PlanChange,
    RedFlagAlert,
    ReviewAlert,
    Symptom,
)
from pacer.engine.safety import FLAGS, RED_FLAGS, tier_of
from pacer.errors import CommandRejected
from pacer.io.minutes import fill_gaps

B = 5000
EMERGENCY_FIRST = "Call 999 or go to the emergency department now. Do not wait for a GP"
URGENT_FIRST = "Get medical advice today: contact NHS 111 or an urgent GP appointment."
SEEN = Ack("last", "seen")
RESUME = Ack("last", "seen", resume=True)


def red_flag(*flags: str) -> Symptom:
    return Symptom("green", red_flags=flags)


def times(r: Result) -> list[str]:
    return [stamp(p) for p in kind(r, "red_flag")]


def alerts(r: Result) -> list[Alert]:
    return [o for o in r.outputs if isinstance(o, Alert)]


def published(body: RedFlagAlert | ReviewAlert | None) -> dict[str, Any] | None:
    """The alert as the physiotherapist receives it (None: none is open)."""
    return None if body is None else payloads.alert(body, user="alice")


def published_clearing(cleared: AlertCleared | None) -> dict[str, Any] | None:
    """The event saying who cleared the alert, as published."""
    return None if cleared is None else payloads.alert_cleared(cleared, user="alice",
                                                               tz=day(0).tz)


def test_fourteen_flags_in_two_tiers_and_the_v1_names_keep_their_meaning() -> None:
    assert len(FLAGS) == 14
    emergency = {f.name for f in FLAGS if f.tier == "emergency"}
    assert emergency == {"saddle_numbness", "bladder_bowel_change", "both_legs",
                         "progressive_leg_weakness", "sexual_function_change",
                         "significant_trauma", "chest_pain"}
    v1 = {"bladder_bowel_change", "saddle_numbness", "progressive_leg_weakness", "both_legs",
          "fever_or_unwell", "unexplained_weight_loss", "severe_night_pain",
          "significant_trauma"}
    assert v1 <= set(RED_FLAGS)


@pytest.mark.parametrize("flag", FLAGS, ids=[f.name for f in FLAGS])
def test_every_flag_gives_its_tier_and_the_right_first_line(flag: Any) -> None:
    r = run_days([B], commands=[at(0, "10:00", red_flag(flag.name))])
    [p] = kind(r, "red_flag")
    assert p.reason["tier"] == flag.tier
    assert p.level == "urgent"
    assert p.expires is None
    first = EMERGENCY_FIRST if flag.tier == "emergency" else URGENT_FIRST
    assert p.text.startswith(first)
    assert flag.words in p.text  # what was reported, in plain words
    assert p.text.index(flag.words) < p.text.index("pacer cannot diagnose")
    assert "seen" in p.actions


def test_the_emergency_tier_wins_when_both_are_reported() -> None:
    r = run_days([B], commands=[at(0, "10:00", red_flag("fever_or_unwell", "chest_pain"))])
    [p] = kind(r, "red_flag")
    assert p.reason["tier"] == "emergency"
    assert p.text.startswith(EMERGENCY_FIRST)
    assert "a fever or feeling generally unwell and chest pain" in p.text


def test_a_later_urgent_flag_never_softens_an_open_emergency() -> None:
    r = run_days([B], commands=[at(0, "10:00", red_flag("saddle_numbness")),
                                at(0, "11:00", red_flag("fever_or_unwell"))])
    _first, second = kind(r, "red_flag")
    assert second.reason["tier"] == "emergency"
    assert second.reason["flags"] == ["fever_or_unwell"]
    assert second.reason["earlier"] == ["saddle_numbness"]
    assert second.text.startswith(EMERGENCY_FIRST)
    body = published(alerts(r)[-1].body)
    assert body is not None
    assert body["tier"] == "emergency"


def test_urgent_advice_names_the_emergency_number_for_when_it_gets_worse() -> None:
    r = run_days([B], commands=[at(0, "10:00", red_flag("severe_night_pain"))])
    [p] = kind(r, "red_flag")
    assert p.title == "Get medical advice today"
    assert "If it gets much worse, call 999." in p.text


def test_the_numbers_come_from_the_config() -> None:
    rules = plan_rules(safety=SafetyRules(emergency_number="112",
                                          urgent_service="your doctor's same-day line"))
    r = run_days([B], rules=rules, commands=[at(0, "10:00", red_flag("chest_pain")),
                                             at(0, "11:00", red_flag("fever_or_unwell"))])
    first, _ = kind(r, "red_flag")
    assert first.text.startswith("Call 112 or go to the emergency department now.")
    assert first.title == "Call 112 or go to the emergency department now"
    r = run_days([B], rules=rules, commands=[at(0, "10:00", red_flag("fever_or_unwell"))])
    [p] = kind(r, "red_flag")
    assert p.text.startswith("Get medical advice today: contact your doctor's same-day line.")


def test_a_night_report_is_repeated_at_the_first_minute_of_that_mornings_window() -> None:
    r = run_days([B, B, B], commands=[at(1, "02:00", red_flag("saddle_numbness"))])
    assert times(r) == [when(1, "02:00"), when(1, "07:30"), when(2, "07:30")]
    repeat = kind(r, "red_flag")[1]
    assert repeat.reason["repeat"] is True
    assert repeat.text.startswith(EMERGENCY_FIRST)
    assert "You reported at 2:00: numbness or tingling" in repeat.text


def test_seen_stops_the_repeats_but_keeps_the_alert_open_for_the_physiotherapist() -> None:
    rules = plan_rules(walks=WalkRules(per_day=1, times=(day(0).local("14:00").time(),)))
    r = run_days([B, B, B], rules=rules, commands=[
        at(1, "02:00", red_flag("saddle_numbness")), at(1, "11:00", SEEN)])
    assert times(r) == [when(1, "02:00"), when(1, "07:30")]  # none on day 2
    assert r.replies[1].ok
    last = alerts(r)[-1]
    assert last.body is not None  # still open
    assert payloads.alert(last.body, user="alice")["seen"] == day(1).local("11:00").isoformat()
    assert last.cleared is None
    # Still only the advice to get seen: the walk reminders stay suspended.
    assert [stamp(p) for p in kind(r, "walk_reminder")] == [when(0, "14:00")]
    assert any(isinstance(o, Dropped) and o.kind == "walk_reminder"
               and o.why == "red-flag alert open" for o in r.outputs)
    assert "red_flag" in flags_of(r, 2)
    plan = plan_of(r, 1)  # the seen came in the baseline phase
    assert plan["phase"] == "baseline"


def test_seen_with_resume_clears_the_alert_recorded_with_who_and_how() -> None:
    rules = plan_rules(walks=WalkRules(per_day=1, times=(day(0).local("14:00").time(),)))
    r = run_days([B, B, B], rules=rules, commands=[
        at(1, "02:00", red_flag("both_legs")), at(1, "12:00", RESUME)])
    assert times(r) == [when(1, "02:00"), when(1, "07:30")]
    cleared = alerts(r)[-1]
    assert cleared.body is None
    assert cleared.cleared is not None
    event = published_clearing(cleared.cleared)
    assert event is not None
    assert {k: event[k] for k in ("type", "kind", "by", "how", "flags", "tier")} == {
        "type": "alert_cleared", "kind": "red_flag", "by": "alice", "how": "person",
        "flags": ["both_legs"], "tier": "emergency"}
    assert event["seen"] == day(1).local("12:00").isoformat()
    assert event["time"] == when(1, "12:00").replace(" ", "T") + ":00+01:00"
    # The walk reminders come back that very day.
    assert [stamp(p) for p in kind(r, "walk_reminder")] == [
        when(0, "14:00"), when(1, "14:00"), when(2, "14:00")]


@pytest.mark.parametrize(("by", "how"), [("physio", "physiotherapist"),
                                          ("local:alice", "local")])
def test_who_cleared_it_and_how(by: str, how: str) -> None:
    r = run_days([B, B], commands=[at(0, "10:00", red_flag("chest_pain")),
                                   at(0, "11:00", PlanChange(by, "reviewed", clear_alert=True))])
    cleared = published_clearing(alerts(r)[-1].cleared)
    assert cleared is not None
    assert (cleared["by"], cleared["how"], cleared["why"]) == (by, how, "reviewed")
    assert cleared["seen"] is None
    assert times(r) == [when(0, "10:00")]


def test_seen_is_an_error_when_no_alert_is_open_or_the_prompt_is_not_a_red_flag() -> None:
    r = run_days([B], commands=[at(0, "10:00", SEEN)])
    assert r.replies[0].error == "there is no open red-flag alert to mark as seen"
    rules = plan_rules(walks=WalkRules(per_day=1, times=(day(0).local("09:00").time(),)))
    r = run_days([B], rules=rules, commands=[at(0, "10:00", red_flag("chest_pain"))])
    walk = kind(r, "walk_reminder")[0]
    r = run_days([B], rules=rules, commands=[at(0, "09:30", red_flag("chest_pain")),
                                             at(0, "10:00", Ack(walk.id, "seen"))])
    assert not r.replies[1].ok
    assert "is a walk_reminder prompt" in str(r.replies[1].error)
    body = published(alerts(r)[-1].body)
    assert body is not None
    assert body["seen"] is None


def test_a_red_flag_prompt_takes_only_seen() -> None:
    r = run_days([B], commands=[at(0, "10:00", red_flag("chest_pain")),
                                at(0, "10:05", Ack("last", "dismiss"))])
    assert not r.replies[1].ok
    assert 'takes only "seen"' in str(r.replies[1].error)


def test_a_new_flag_after_seen_needs_seeing_again() -> None:
    r = run_days([B, B], commands=[at(0, "10:00", red_flag("fever_or_unwell")),
                                   at(0, "12:00", SEEN),
                                   at(0, "15:00", red_flag("chest_pain"))])
    body = published(alerts(r)[-1].body)
    assert body is not None
    assert body["seen"] is None
    assert body["tier"] == "emergency"
    assert times(r) == [when(0, "10:00"), when(0, "15:00"), when(1, "07:30")]


def test_red_flags_work_in_the_baseline_phase_and_the_day_records_the_tier() -> None:
    r = run_days([B], commands=[at(0, "10:00", Symptom("red", red_flags=("saddle_numbness",),
                                                        pain=8))])
    assert plan_of(r, 0)["phase"] in ("baseline", "settling")
    [symptom] = r.final(key(0))["symptoms"]
    assert symptom["tier"] == "emergency"
    assert times(r) == [when(0, "10:00")]


def test_seen_survives_a_restart() -> None:
    driver = Driver(rules=plan_rules(), zone=ZONE, commands=[
        at(0, "10:00", red_flag("chest_pain")), at(0, "11:00", SEEN)])
    epochs = list(fill_gaps(days_epochs([B, B])))
    half = len(epochs) // 2
    driver.feed(epochs[:half])
    driver.restart()
    driver.feed(epochs[half:])
    r = driver.finish()
    assert times(r) == [when(0, "10:00")]


def test_tier_of_unknown_names_errs_on_the_side_of_the_emergency() -> None:
    assert tier_of(["fever_or_unwell"]) == "urgent"
    assert tier_of(["something_new"]) == "emergency"


# --- the command shapes (strict parsing) ---------------------------------------------


@pytest.mark.parametrize(("payload", "expected"), [
    (b'{"prompt": "last", "action": "seen"}', Ack("last", "seen")),
    (b'{"prompt": "last", "action": "seen", "resume": false}', Ack("last", "seen")),
    (b'{"prompt": "p-1", "action": "seen", "resume": true}', Ack("p-1", "seen", resume=True)),
])
def test_seen_commands_parse(payload: bytes, expected: Ack) -> None:
    assert parse_command("ack", payload).command == expected


@pytest.mark.parametrize(("payload", "says"), [
    (b'{"prompt": "last", "action": "seen", "resume": "true"}', "resume"),
    (b'{"prompt": "last", "action": "done", "resume": true}', 'resume goes only with action'),
    (b'{"prompt": "last", "action": "seen", "minutes": 5}', "minutes goes only"),
    (b'{"prompt": "last", "action": "seen", "resume": 1}', "resume"),
])
def test_bad_seen_commands_are_refused(payload: bytes, says: str) -> None:
    with pytest.raises(CommandRejected, match=says):
        parse_command("ack", payload)


def test_every_new_flag_name_parses_and_a_misspelt_one_is_refused() -> None:
    body = b'{"level": "red", "red_flags": ["chest_pain", "history_of_cancer", ' \
           b'"sexual_function_change", "back_shape_change", "cough_strain_pain", ' \
           b'"upper_back_pain"]}'
    cmd = parse_command("symptom", body).command
    assert isinstance(cmd, Symptom)
    assert len(cmd.red_flags) == 6
    with pytest.raises(CommandRejected, match='unknown red flag "chest_pains"'):
        parse_command("symptom", b'{"level": "red", "red_flags": ["chest_pains"]}')
