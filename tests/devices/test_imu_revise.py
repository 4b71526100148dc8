"""devices.imu: the seconds before the mount was learnt, labelled once it is; a sensor
put on differently learns its mount again instead of mislabelling."""

from __future__ import annotations

import logging
from itertools import pairwise

import numpy as np
import pytest

from devices.imu import Label, Pipeline, Seconds, process
from devices.imu.classify import Features
from devices.imu.reference import MIN_WALK_S, RELEARN_DEG, Reference
from devices.imu.revise import Unlabelled, relabel
from devices.imu.synth import Segment, synthesise

RATE = 25


def _turn(degrees: float) -> np.ndarray:
    """A rotation by ``degrees`` about the sensor's y axis."""
    a = np.radians(degrees)
    return np.array([[np.cos(a), 0.0, np.sin(a)], [0.0, 1.0, 0.0], [-np.sin(a), 0.0, np.cos(a)]])


def _stream(pipe: Pipeline, xyz: np.ndarray) -> Seconds:
    """A live stream: one second at a time."""
    return Seconds.join([pipe.push(xyz[k: k + RATE]) for k in range(0, len(xyz), RATE)])


def _revised(out: Seconds, pipe: Pipeline) -> np.ndarray:
    labels = out.labels.copy()
    for rev in pipe.revisions():
        labels[rev.start: rev.start + len(rev.labels)] = rev.labels
    return labels


_DAY = [Segment("walking", 90, 110), Segment("sitting", 120), Segment("standing", 60)]


@pytest.mark.parametrize("placement", ["thigh", "waist"])
def test_put_on_differently_the_mount_is_learnt_again(
        placement: str, caplog: pytest.LogCaptureFixture) -> None:
    first, truth1 = synthesise(_DAY, RATE, placement, seed=2)
    again, truth2 = synthesise(_DAY, RATE, placement, rotation=_turn(70), seed=3)
    pipe = Pipeline(RATE, placement)  # type: ignore[arg-type]
    with caplog.at_level(logging.INFO, logger="devices.imu"):
        out = Seconds.join([_stream(pipe, first), _stream(pipe, again), pipe.flush()])
    relearnt = [r for r in caplog.records if "put on differently" in r.getMessage()]
    assert len(relearnt) == 1
    assert relearnt[0].levelno == logging.WARNING
    labels = _revised(out, pipe)
    n1 = len(truth1)
    # the second wearing, after its walk: read against the new mount, not the old one
    later = slice(n1 + 100, n1 + len(truth2) - 20)
    assert (labels[later] == truth2[later.start - n1: later.stop - n1]).mean() > 0.97
    up = np.asarray(pipe.reference_state()["up"])
    walking_gravity = _turn(70) @ np.array([1.0, 0.0, 0.0])  # synth's upright: body x
    cos = float(up @ walking_gravity / np.linalg.norm(up))
    assert cos > np.cos(np.radians(10))


def test_the_same_mount_is_not_learnt_again(caplog: pytest.LogCaptureFixture) -> None:
    xyz, truth = synthesise(_DAY * 3, RATE, "waist", seed=4)
    pipe = Pipeline(RATE, "waist")
    with caplog.at_level(logging.INFO, logger="devices.imu"):
        out = Seconds.join([_stream(pipe, xyz), pipe.flush()])
    assert not [r for r in caplog.records if "put on differently" in r.getMessage()]
    learnt = [r for r in caplog.records if "mount learnt" in r.getMessage()]
    assert len(learnt) == 1  # the revision, once
    assert (_revised(out, pipe) == truth[: len(out)]).mean() > 0.97
    assert pipe.reference_state()["walking_seconds"] > 200  # every walk counted


def test_a_short_odd_walk_does_not_replace_the_mount() -> None:
    ref = Reference()
    n = 200
    upright = np.tile([1.0, 0.0, 0.0], (n, 1))
    cov = np.zeros((n, 3, 3))
    walking = np.ones(n, dtype=bool)
    ref.update(upright, cov, walking, with_forward=False)
    leant = np.tile(_turn(RELEARN_DEG + 15) @ np.array([1.0, 0.0, 0.0]), (30, 1))
    up, _, ready = ref.update(leant[:15], cov[:15], walking[:15], with_forward=False)
    assert ref.relearnt == []
    assert ready.all()
    assert up[-1] @ upright[0] > np.cos(np.radians(5))  # 15 odd seconds in 215
    ref.update(upright[:5], cov[:5], walking[:5], with_forward=False)  # near: the run ends
    ref.update(leant[:15], cov[:15], walking[:15], with_forward=False)
    assert ref.relearnt == []
    # 15 + 15 far seconds in a row (still seconds between do not break a run): relearnt
    still = np.zeros(30, dtype=bool)
    ref.update(leant, cov[:30], still, with_forward=False)
    up, _, _ = ref.update(leant, cov[:30], walking[:30], with_forward=False)
    assert ref.relearnt == [4]  # the 20th far second in a row: 15 before + 5 here
    np.testing.assert_allclose(up[5:], leant[5:], atol=1e-12)  # the new mount only
    assert ref.state("waist")["walking_seconds"] == 20 + 25


def test_relearning_is_the_same_whatever_the_chunks() -> None:
    rng = np.random.default_rng(8)
    n = 400
    direction = np.concatenate([np.tile([1.0, 0.0, 0.0], (150, 1)),
                                np.tile(_turn(70) @ np.array([1.0, 0.0, 0.0]), (250, 1))])
    direction += rng.normal(0, 0.05, direction.shape)
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    cov = np.zeros((n, 3, 3))
    walking = rng.random(n) < 0.6
    whole = Reference()
    want = whole.update(direction, cov, walking, with_forward=False)[0]
    assert len(whole.relearnt) == 1
    cut = Reference()
    cuts = [0, 7, 150, 151, 170, 230, 399, n]
    got = np.concatenate([cut.update(direction[a:b], cov[a:b], walking[a:b],
                                     with_forward=False)[0] for a, b in pairwise(cuts)])
    np.testing.assert_array_equal(got, want)
    assert cut.state("waist") == whole.state("waist")


def test_relabel_reads_the_kept_seconds_against_the_mount() -> None:
    up = np.array([0.0, 0.0, 1.0])
    sit = np.array([1.0, 0.0, 0.0])  # 90 degrees from up: a thigh sits, a waist lies
    stand = up
    direction = np.array([sit, sit, stand])
    f = Features(direction, np.zeros((3, 3, 3)), np.zeros(3, bool), np.zeros(3, bool), None)
    kept = Unlabelled.of(5, f)
    forward = np.array([1.0, 0.0, 0.0])
    assert relabel(kept, "thigh", up, forward).tolist() == [
        Label.SITTING, Label.SITTING, Label.STANDING]
    assert relabel(kept, "waist", up, forward).tolist() == [
        Label.LYING, Label.LYING, Label.STANDING]
    with pytest.raises(ValueError, match="wrist"):
        relabel(kept, "wrist", up, forward)


def test_kept_seconds_are_bounded() -> None:
    def part(start: int, n: int) -> Unlabelled:
        f = Features(np.tile([0.0, 0.0, 1.0], (n, 1)), np.zeros((n, 3, 3)),
                     np.arange(n) % 2 == 0, np.zeros(n, bool), None)
        return Unlabelled.of(start, f)
    joined = Unlabelled.join([part(0, 10), part(10, 7), part(17, 5)], limit=8)
    assert (joined.start, len(joined)) == (14, 8)
    np.testing.assert_array_equal(joined.moving, (np.arange(14, 22) - np.array(
        [10] * 3 + [17] * 5)) % 2 == 0)


def test_a_day_without_a_walk_keeps_the_last_day_for_the_revision() -> None:
    from devices.imu.revise import MAX_UNLABELLED_S  # noqa: PLC0415

    rate = 10
    pipe = Pipeline(rate, "waist")
    still = np.tile([0.0, 0.0, 1.0], (3600 * rate, 1))  # an hour on the desk, not worn
    for _ in range(26):
        pipe.push(still)
    assert pipe.revisable_from == 26 * 3600 - MAX_UNLABELLED_S  # older seconds: unknown
    walk, _ = synthesise([Segment("walking", 90, 110)], rate, "waist", seed=5)
    pipe.push(walk)
    [revision] = pipe.revisions()
    # the day before the mount was learnt (the minute of walking moved it on a little)
    first = 26 * 3600 - MAX_UNLABELLED_S
    assert first <= revision.start <= first + 90
    assert revision.start + len(revision.labels) >= 26 * 3600 - 20  # up to the walk
    desk = revision.labels[: 26 * 3600 - 20 - revision.start]
    assert (desk == Label.LYING).all()  # flat on the desk: 90 degrees from walking upright
    assert pipe.revisable_from is None


def _shuffling(seconds: int, lean_deg: float, seed: int) -> np.ndarray:
    """A waist moving without a stride (upright, leant ``lean_deg``): white noise of
    0.3 g on gravity, SD over 0.1 g once binned, no rhythm."""
    rng = np.random.default_rng(seed)
    gravity = _turn(lean_deg) @ np.array([1.0, 0.0, 0.0])
    out: np.ndarray = gravity + rng.normal(0.0, 0.3, (seconds * RATE, 3))
    return out


def _postures_and_shuffling(lean_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Lying, sitting and standing with stride-less moving between them, no walk."""
    parts, truth = [], []
    for seg, seed in ((Segment("lying", 120), 1), (None, 2), (Segment("sitting", 120), 3),
                      (None, 4), (Segment("standing", 60), 5)):
        if seg is None:
            parts.append(_shuffling(30, lean_deg, seed))
            truth.append(np.full(30, Label.UNKNOWN, np.int8))
        else:
            xyz, t = synthesise([seg], RATE, "waist", seed=seed)
            parts.append(xyz)
            truth.append(t)
    return np.concatenate(parts), np.concatenate(truth)


def test_a_waist_that_never_walks_takes_its_upright_from_moving(
        caplog: pytest.LogCaptureFixture) -> None:
    xyz, truth = _postures_and_shuffling(lean_deg=0.0)
    pipe = Pipeline(RATE, "waist")
    with caplog.at_level(logging.INFO, logger="devices.imu"):
        live = Seconds.join([_stream(pipe, xyz), pipe.flush()])
    said = [r for r in caplog.records if "no walking stride yet" in r.getMessage()]
    assert len(said) == 1
    assert said[0].levelno == logging.WARNING
    labels = _revised(live, pipe)
    for code in (Label.LYING, Label.SITTING, Label.STANDING):
        inside = np.flatnonzero(truth == code)[5:-5]  # away from the moves
        assert (labels[inside] == code).mean() > 0.97, code
    assert pipe.revisable_from is not None  # a walk may still give the mount
    # the provisional upright is not saved: the sums hold stride seconds only (a few of noise)
    assert pipe.reference_state()["walking_seconds"] < MIN_WALK_S
    # a batch gives the same labels and steps as the stream revised
    batch = process(xyz, RATE, "waist")
    np.testing.assert_array_equal(batch.labels, labels)
    np.testing.assert_array_equal(batch.steps, live.steps)


def test_a_walk_replaces_the_upright_taken_from_moving() -> None:
    # moving leant 25 degrees: standing reads as sitting against it, until the walk
    xyz, truth = _postures_and_shuffling(lean_deg=25.0)
    walk, _ = synthesise([Segment("walking", 90, 110), Segment("standing", 30)],
                         RATE, "waist", seed=6)
    pipe = Pipeline(RATE, "waist")
    before = Seconds.join([_stream(pipe, xyz)])
    standing = np.flatnonzero(truth == Label.STANDING)[5:-20]  # the last ones not given yet
    assert (_revised(before, pipe)[standing] == Label.SITTING).mean() > 0.97
    after = Seconds.join([before, _stream(pipe, walk), pipe.flush()])
    labels = _revised(after, pipe)
    assert (labels[standing] == Label.STANDING).mean() > 0.97  # read against the walk's mount
    assert pipe.revisable_from is None
    both = np.concatenate([xyz, walk])
    cuts = Pipeline(RATE, "waist")
    chunked = Seconds.join([cuts.push(both[a:b]) for a, b in pairwise(
        [0, 1, 333, 4000, 9001, 9002, 12345, len(both)])] + [cuts.flush()])
    np.testing.assert_array_equal(_revised(chunked, cuts), labels)
    np.testing.assert_array_equal(process(both, RATE, "waist").labels, labels)
    np.testing.assert_array_equal(chunked.steps, after.steps)


def test_revisions_say_whether_a_provisional_upright_or_a_walk_gave_them() -> None:
    """The daemon's log tells an upright taken for now from a mount learnt
    (pacer.daemon.ble.relabel_line), from this flag."""
    xyz, _ = _postures_and_shuffling(lean_deg=25.0)
    walk, _ = synthesise([Segment("walking", 90, 110), Segment("standing", 30)],
                         RATE, "waist", seed=6)
    pipe = Pipeline(RATE, "waist")
    _stream(pipe, xyz)
    before = pipe.revisions()
    assert before
    assert all(r.provisional for r in before)
    _stream(pipe, walk)
    after = pipe.revisions()
    assert after
    assert not any(r.provisional for r in after)
