"""devices.imu: postures and steps on synthetic labelled signals, mount invariance, and
streaming equal to batch over random chunkings."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices.imu import BadReference, Label, Pipeline, Seconds, learn_reference, process
from devices.imu.bins import Binner, bins_per_second
from devices.imu.reference import Reference, principal_across
from devices.imu.smooth import smooth_block
from devices.imu.spectrum import WINDOW_S, cadence
from devices.imu.synth import Segment, random_rotation, synthesise

DAY = [
    Segment("walking", 60, 110),
    Segment("sitting", 120),
    Segment("standing", 60),
    Segment("walking", 60, 100),
    Segment("lying", 60),
    Segment("running", 30, 160),
    Segment("standing", 30),
]
EXPECTED_STEPS = 110 + 100 + 80


def agreement(out: Seconds, truth: np.ndarray, *, wrist: bool = False) -> float:
    n = min(len(out), len(truth))
    got, want = out.labels[:n].copy(), truth[:n].copy()
    if wrist:  # a wrist only says still or walking
        still = np.isin(want, [Label.SITTING, Label.LYING, Label.STANDING])
        want[still] = Label.SEDENTARY
        want[want == Label.RUNNING] = Label.WALKING
        got[got == Label.RUNNING] = Label.WALKING
    return float((got == want).mean())


@pytest.mark.parametrize("placement", ["thigh", "waist"])
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_postures_whatever_the_mount(placement: str, seed: int) -> None:
    rotation = None if seed == 0 else random_rotation(np.random.default_rng(seed))
    xyz, truth = synthesise(DAY, 50, placement, rotation=rotation, seed=seed)
    out = process(xyz, 50, placement)  # type: ignore[arg-type]
    assert len(out) == len(truth)
    assert agreement(out, truth) > 0.95
    assert abs(int(out.steps.sum()) - EXPECTED_STEPS) <= 0.05 * EXPECTED_STEPS


def test_upside_down_gives_the_same_postures() -> None:
    xyz, _ = synthesise(DAY, 50, "thigh", seed=5)
    flipped = xyz * np.array([-1.0, -1.0, 1.0])  # turned 180 degrees about z
    a, b = process(xyz, 50, "thigh"), process(flipped, 50, "thigh")
    assert (a.labels == b.labels).mean() > 0.99


def test_wrist_never_claims_sitting_or_standing() -> None:
    xyz, truth = synthesise(DAY, 50, "wrist", seed=1)
    out = process(xyz, 50, "wrist")
    assert not np.isin(out.labels, [Label.SITTING, Label.STANDING, Label.LYING]).any()
    assert agreement(out, truth, wrist=True) > 0.95
    assert int(out.steps.sum()) > 0.9 * (110 + 100)


def test_unknown_until_walking_teaches_the_mount_then_revised() -> None:
    xyz, _ = synthesise([Segment("sitting", 60), Segment("walking", 90, 110),
                         Segment("sitting", 60)], 50, "thigh")
    pipe = Pipeline(50, "thigh")
    live = Seconds.join([pipe.push(xyz[k: k + 50]) for k in range(0, len(xyz), 50)]
                        + [pipe.flush()])
    assert (live.labels[:50] == Label.UNKNOWN).all()  # what a live stream knew at the time
    assert (live.labels[170:] == Label.SITTING).all()
    [revision] = pipe.revisions()
    assert revision.start == 0
    assert (revision.labels[:55] == Label.SITTING).all()  # the seconds before the walk
    assert pipe.revisable_from is None
    revised = live.labels.copy()
    revised[: len(revision.labels)] = revision.labels
    np.testing.assert_array_equal(revised, process(xyz, 50, "thigh").labels)


# --- a saved mount reference ------------------------------------------------------

_POSTURES_FIRST = [Segment("sitting", 60), Segment("standing", 40), Segment("lying", 40),
                   Segment("walking", 60, 110), Segment("sitting", 30)]


def _warm(xyz: np.ndarray, rate: int, placement: str) -> np.ndarray:
    """The second pass's labels of the recording streamed twice through one pipeline."""
    pipe = Pipeline(rate, placement)  # type: ignore[arg-type]
    n = len(xyz) // rate * rate  # whole seconds: the second pass starts on a second
    return Seconds.join([pipe.push(xyz[:n]), pipe.push(xyz[:n]), pipe.flush()]).labels[n // rate:]


@pytest.mark.parametrize("placement", ["thigh", "waist"])
def test_a_restored_reference_labels_from_the_first_second(placement: str) -> None:
    rotation = random_rotation(np.random.default_rng(21))
    xyz, truth = synthesise(_POSTURES_FIRST, 50, placement, rotation=rotation, seed=21)
    new = Pipeline(50, placement)  # type: ignore[arg-type]
    cold = Seconds.join([new.push(xyz[k: k + 50]) for k in range(0, len(xyz), 50)]
                        + [new.flush()])  # live, a second at a time: nothing before the walk
    assert (cold.labels[:100] == Label.UNKNOWN).all()
    state = learn_reference([xyz[:3000], xyz[3000:]], 50, placement)  # type: ignore[arg-type]
    assert state["walking_seconds"] >= 40
    restored = Pipeline(50, placement, reference=json.loads(json.dumps(state)))  # type: ignore[arg-type]
    parts = [restored.push(c) for c in np.array_split(xyz, 7)]
    out = Seconds.join([*parts, restored.flush()])
    batch = process(xyz, 50, placement, reference=state)  # type: ignore[arg-type]
    np.testing.assert_array_equal(out.labels, batch.labels)  # streaming == batch, restored too
    np.testing.assert_array_equal(out.steps, batch.steps)
    warm = _warm(xyz, 50, placement)
    assert len(out) == len(warm) == len(truth)
    assert out.labels[0] == warm[0] == truth[0] == Label.SITTING
    assert (out.labels == warm).mean() > 0.99
    assert agreement(out, truth) > 0.95


def test_reference_state_round_trips_through_json_exactly() -> None:
    xyz, _ = synthesise(_POSTURES_FIRST, 25, "thigh", seed=22)
    pipe = Pipeline(25, "thigh")
    pipe.push(xyz)
    state = pipe.reference_state()
    again = json.loads(json.dumps(state))
    assert again == state
    assert Pipeline(25, "thigh", reference=again).reference_state() == state
    # continuing from a saved state is the same stream as never having stopped
    cut = 4000
    first = Pipeline(25, "thigh")
    first.push(xyz[:cut])
    whole = Pipeline(25, "thigh")
    whole.push(xyz)
    assert whole.reference_state()["walking_seconds"] > first.reference_state()["walking_seconds"]


def test_wrist_state_is_empty_and_restores() -> None:
    pipe = Pipeline(50, "wrist")
    pipe.push(synthesise(DAY, 50, "wrist", seed=1)[0])
    state = pipe.reference_state()
    assert state["walking_seconds"] == 0
    assert Pipeline(50, "wrist", reference=state).reference_state() == state


def _good() -> dict[str, object]:
    xyz, _ = synthesise(_POSTURES_FIRST, 25, "waist", seed=23)
    return learn_reference([xyz], 25, "waist")


@pytest.mark.parametrize(
    ("change", "what"),
    [
        (lambda s: [1, 2, 3], "JSON object, not list"),
        (lambda s: {**s, "format": "zip"}, "format"),
        (lambda s: {**s, "version": 99}, "version 99"),
        (lambda s: {**s, "extra": 1}, "keys must be exactly"),
        (lambda s: {k: v for k, v in s.items() if k != "up"}, "keys must be exactly"),
        (lambda s: {**s, "placement": "thigh"}, "learnt on a 'thigh' sensor, not a 'waist'"),
        (lambda s: {**s, "up": [1, 2]}, "up must be 3 numbers"),
        (lambda s: {**s, "up": [1, "a", 2]}, "up must be a finite number, not 'a'"),
        (lambda s: {**s, "up": [1, float("nan"), 2]}, "finite"),
        (lambda s: {**s, "up": [True, 0, 0]}, "finite number"),
        (lambda s: {**s, "scatter": [[1, 0, 0], [0, 1, 0]]}, "scatter must be 3 x 3"),
        (lambda s: {**s, "scatter": [[1, 2, 0], [0, 1, 0], [0, 0, 1]]}, "symmetric"),
        (lambda s: {**s, "scatter": [[-1, 0, 0], [0, 1, 0], [0, 0, 1]]}, "semidefinite"),
        (lambda s: {**s, "walking_seconds": -3}, "whole number >= 0"),
        (lambda s: {**s, "walking_seconds": 2.5}, "whole number"),
        (lambda s: {**s, "walking_seconds": 1}, "longer than"),
    ],
)
def test_garbage_references_are_refused(change: object, what: str) -> None:
    bad = change(_good())  # type: ignore[operator]
    with pytest.raises(BadReference, match=what.replace("(", r"\(")):
        Pipeline(25, "waist", reference=bad)


def test_rates() -> None:
    assert bins_per_second(50) == 10
    assert bins_per_second(12.5) == 10
    assert bins_per_second(5) == 5
    for bad in (0.5, 7.5, float("nan")):
        with pytest.raises(ValueError, match="rate"):
            bins_per_second(bad)
    with pytest.raises(ValueError, match="placement"):
        Pipeline(50, "ankle")  # type: ignore[arg-type]


@pytest.mark.parametrize("rate", [10, 12.5, 52, 100])
def test_other_rates_classify(rate: float) -> None:
    xyz, truth = synthesise(DAY, rate, "thigh", seed=2)
    out = process(xyz, rate, "thigh")
    assert agreement(out, truth) > 0.9


@pytest.mark.parametrize("placement", ["thigh", "waist", "wrist"])
@pytest.mark.parametrize("rate", [1, 2, 3])
def test_the_lowest_rates_label_every_second(placement: str, rate: int) -> None:
    # At 2-3 Hz the thigh's stride band reaches Nyquist; at 1 Hz the step band lies
    # above it (no cadence to find, so no stride: a walk there is moving and upright).
    segments = [Segment("walking", 60, 100), Segment("sitting", 60)]
    xyz, truth = synthesise(segments, rate, placement, seed=1)
    out = process(xyz, rate, placement)  # type: ignore[arg-type]
    assert len(out) == len(truth)


def test_binner_seconds_cover_every_sample_once() -> None:
    b = Binner(12.5)
    means, _ = b.push(np.ones((25, 3)))
    assert means.shape == (2, 10, 3)
    means, _ = b.push(np.ones((7, 3)))  # second 2 has samples 25..37
    assert means.shape == (0, 10, 3)
    means, _ = b.flush()  # 7 of its 13 samples: kept, completed with the last one
    assert means.shape == (1, 10, 3)
    short = Binner(12.5)
    short.push(np.ones((31, 3)))
    assert short.flush()[0].shape == (0, 10, 3)  # 6 of 13: dropped


def test_smoother_fills_short_gaps_and_drops_blips() -> None:
    s, w = Label.SITTING, Label.WALKING
    labels = np.array([s] * 10 + [w] + [s] * 10 + [w] * 5, dtype=np.int8)
    out = smooth_block(labels)
    assert (out[:21] == s).all()
    assert (out[21:] == w).all()


# --- streaming equals batch ------------------------------------------------------

_MIXED = [Segment("standing", 8), Segment("walking", 70, 105), Segment("sitting", 30),
          Segment("walking", 12, 120), Segment("lying", 15), Segment("running", 10, 170)]
_SIGNALS = {p: synthesise(_MIXED, 25, p, rotation=random_rotation(np.random.default_rng(7)),
                          seed=3)[0] for p in ("thigh", "waist", "wrist")}
_BATCH = {p: process(x, 25, p) for p, x in _SIGNALS.items()}  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(placement=st.sampled_from(["thigh", "waist", "wrist"]),
       cuts=st.lists(st.integers(min_value=0, max_value=3600), max_size=40))
def test_streaming_equals_batch_for_any_chunking(placement: str, cuts: list[int]) -> None:
    xyz = _SIGNALS[placement]
    pipe = Pipeline(25, placement)  # type: ignore[arg-type]
    parts = [pipe.push(chunk) for chunk in np.split(xyz, sorted(set(cuts)))]
    parts.append(pipe.flush())
    out = Seconds.join(parts)
    for rev in pipe.revisions():  # the seconds before the mount was learnt, labelled again
        out.labels[rev.start: rev.start + len(rev.labels)] = rev.labels
    batch = _BATCH[placement]
    assert out.start == 0
    np.testing.assert_array_equal(out.labels, batch.labels)
    np.testing.assert_array_equal(out.steps, batch.steps)
    starts = [p.start for p in parts]
    assert starts == sorted(starts)


# --- the fast paths agree with the slow definitions -----------------------------


def test_forward_axis_is_the_main_axis_across_up() -> None:
    rng = np.random.default_rng(11)
    up = rng.normal(size=(200, 3))
    up /= np.linalg.norm(up, axis=1, keepdims=True)
    up[:3] = np.eye(3)  # axis-aligned ups too
    m = rng.normal(size=(200, 3, 3))
    scatter = m @ m.transpose(0, 2, 1)
    got = principal_across(up, scatter)
    proj = np.eye(3)[None] - up[:, :, None] * up[:, None, :]
    _, vecs = np.linalg.eigh(proj @ scatter @ proj)
    want = vecs[:, :, -1]
    np.testing.assert_allclose(np.abs(np.einsum("ij,ij->i", got, want)), 1.0, atol=1e-9)
    np.testing.assert_allclose(np.einsum("ij,ij->i", got, up), 0.0, atol=1e-12)


def test_forward_axes_solved_where_asked_are_those_of_every_second() -> None:
    # The pipeline asks for the thigh's forward axis only where its rules read it; the
    # mounts a run of seconds saw are kept and solved on demand, to the bit.
    rng = np.random.default_rng(12)
    n = 3000
    direction = np.tile([1.0, 0.0, 0.0], (n, 1)) + rng.normal(0, 0.1, (n, 3))
    direction[1800:] = direction[1800:] @ np.array([[0, 1, 0], [-1, 0, 0], [0, 0, 1]])
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)  # turned 90: relearnt
    m = rng.normal(0, 0.1, (n, 3, 3))
    cov = m @ m.transpose(0, 2, 1)
    walking = rng.random(n) < 0.3
    every, asked = Reference(), Reference()
    at = rng.random(n) < 0.1
    relearnt = []
    for lo, hi in ((0, 5), (5, 1900), (1900, n)):  # chunks: at the start, across a relearn
        want_up, want, ready = every.update(direction[lo:hi], cov[lo:hi], walking[lo:hi])
        up, ready_too = asked.update_up(direction[lo:hi], cov[lo:hi], walking[lo:hi])
        got = asked.forward(at[lo:hi])
        np.testing.assert_array_equal(up, want_up)
        np.testing.assert_array_equal(ready_too, ready)
        np.testing.assert_array_equal(got[at[lo:hi]], want[at[lo:hi]])
        assert not got[~at[lo:hi]].any()
        np.testing.assert_allclose(np.linalg.norm(got[at[lo:hi] & ready], axis=1), 1.0)
        assert asked.relearnt == every.relearnt
        relearnt += asked.relearnt
    assert relearnt  # the turned mount was learnt again within the second chunk


def test_fortran_ordered_and_sliced_input_bin_alike() -> None:
    xyz, _ = synthesise(_MIXED, 50, "wrist", seed=4)
    c_bins = Binner(50, wrist=True).push(xyz)
    f_bins = Binner(50, wrist=True).push(np.asfortranarray(xyz))
    wide = np.hstack([xyz, xyz])[:, :3]  # a strided view of a bigger array
    s_bins = Binner(50, wrist=True).push(wide)
    for other in (f_bins, s_bins):
        np.testing.assert_array_equal(other[0], c_bins[0])
        np.testing.assert_array_equal(other[1], c_bins[1])


def test_whole_samples_per_bin_give_the_bins_of_the_general_cut() -> None:
    # 50 Hz: five samples a bin, summed by a reshape into bins laid out axis by axis;
    # the wrist's binner takes the general path (reduceat) on the same samples.
    xyz, _ = synthesise(_MIXED, 50, "thigh", seed=6)
    fast, slow = Binner(50), Binner(50, wrist=True)
    for chunk in np.split(xyz, [777, 5_000, 5_001]):
        got, want = fast.push(chunk)[0], slow.push(chunk)[0]
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-15)
        assert got.transpose(2, 0, 1).flags.c_contiguous  # what the features read


def test_a_pushed_array_is_not_kept_alive_by_the_binner() -> None:
    b = Binner(50)
    big = np.zeros((5_025, 3))
    b.push(big)
    big[:] = 1.0  # the caller reuses its buffer: the 25 samples carried over must not change
    means, _ = b.push(np.zeros((25, 3)))
    assert float(np.abs(means).max()) == 0.0


@pytest.mark.parametrize(("stride", "hz", "steps"), [(True, 0.9, 1.8), (False, 1.8, 1.8)])
def test_cadence_of_a_pure_swing(stride: bool, hz: float, steps: float) -> None:
    t = np.arange(WINDOW_S * 10) / 10
    wave = 0.3 * np.sin(2 * np.pi * hz * t)
    windows = np.stack([wave, 0.5 * wave, np.zeros_like(t)])[None] if stride else wave[None]
    rate, periodic = cadence(windows, 10, stride=stride)
    assert periodic.all()
    assert abs(float(rate[0]) - steps) < 0.1


@pytest.mark.parametrize(("stride", "low", "high"), [(True, 0.6, 1.0), (False, 1.2, 2.6)])
def test_cadence_of_swings_between_bins_is_within_a_step_a_minute(
        stride: bool, low: float, high: float) -> None:
    # The spectra's bins are 0.156 Hz apart: the peak between them is found by a parabola
    # through the log power (one through the plain power read a stride up to 1.3 % fast).
    t = np.arange(WINDOW_S * 10) / 10
    hz = np.arange(low, high + 1e-9, 0.01)
    wave = 0.3 * np.sin(2 * np.pi * hz[:, None] * t + 0.3)
    windows = np.stack([wave, 0.5 * wave, np.zeros_like(wave)], axis=1) if stride \
        else 1.0 + wave  # the magnitude: gravity and the bounce
    rate, periodic = cadence(windows, 10, stride=stride)
    assert periodic.all()
    np.testing.assert_allclose(rate, hz * (2.0 if stride else 1.0), rtol=0.006)


@pytest.mark.parametrize("stride", [True, False])
def test_cadence_of_chosen_rows_of_a_strided_view_is_that_of_the_copied_windows(
        stride: bool) -> None:
    from numpy.lib.stride_tricks import sliding_window_view  # noqa: PLC0415

    from devices.imu.spectrum import BLOCK  # noqa: PLC0415

    rng = np.random.default_rng(3)
    walk, _ = synthesise([Segment("walking", 2 * BLOCK, 100)], 10, "thigh", seed=3)
    n = WINDOW_S * 10
    if stride:  # (windows, 3, n), time last, as the pipeline views its bins
        views = sliding_window_view(np.ascontiguousarray(walk.T), n, axis=1)[:, ::10]
        views = views.transpose(1, 0, 2)
    else:
        views = sliding_window_view(np.linalg.norm(walk, axis=1), n)[::10]
    rows = np.flatnonzero(rng.random(len(views)) < 0.8)  # more than a block: cut in two
    assert len(rows) > BLOCK
    got = cadence(views, 10, stride=stride, rows=rows)
    want = cadence(np.ascontiguousarray(views[rows]), 10, stride=stride)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    one_by_one = [cadence(views[r: r + 1], 10, stride=stride) for r in rows[:50]]
    np.testing.assert_array_equal(np.concatenate([s for s, _ in one_by_one]), got[0][:50])
    assert got[1].mean() > 0.9  # walking: periodic


def test_the_row_wise_cross_product_is_numpys_to_the_bit() -> None:
    from devices.imu.classify import _cross  # noqa: PLC0415

    rng = np.random.default_rng(11)
    a, b = rng.normal(size=(1000, 3)), rng.normal(size=(1000, 3))
    np.testing.assert_array_equal(_cross(a, b), np.cross(a, b))
