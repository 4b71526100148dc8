"""The whole IMU pipeline: samples in, per-second labels and steps out.

``Pipeline`` is streaming: ``push`` chunks of samples of any size as they
arrive, in order, then ``flush`` once at the end. ``process`` is the batch
form (one push of everything, then the flush); both give exactly the same
seconds whatever the chunking. A second's label is final ``smooth.LOOK``
seconds after it (the bout filters look ahead), so a stream runs that far
behind its input.

Per second ``k`` (samples ``ceil(k * rate)`` to ``ceil((k + 1) * rate) - 1``):

1. bins: 10 means per second (``bins.Binner``);
2. features over the 2-s window of seconds ``k - 1`` and ``k`` (Acti4's 2-s
   windows with a 1-s hop): gravity direction, covariance, moving
   (``sqrt(trace cov) > 0.1 g``), and over the 4-s window ``k - 3 .. k`` the
   cadence and whether the motion is periodic (``spectrum.cadence``);
3. the mount reference from walking so far (``reference.Reference``);
4. the placement's rules (``classify``), steps = cadence while walking or
   running, as whole steps by carrying the fractions on;
5. minimum bouts (``smooth.Smoother``).

A new sensor knows nothing of its mount, so a thigh or waist says ``unknown``
until its wearer has walked ``reference.MIN_WALK_S`` seconds ("cold start").
It keeps those seconds' features (``revise.Unlabelled``, not the samples) and,
once the mount is learnt, labels them with it: ``revisions`` gives the new
labels of the seconds already given out (logged), and the seconds still in
the smoother are labelled with it before they go out; so a stream ends with
the same labels as a batch, the whole day labelled. A waist that moves without
a stride before any walk (``FALLBACK_MOVING_S`` such seconds) takes a provisional
upright from those seconds' gravity, as APE's reference does, and labels with it
(revisions too, logged) until walking gives the mount; a thigh waits. Walking far from the
learnt mount (a sensor put on differently) learns it again, logged too.
``Pipeline.reference_state`` saves what it has learnt as plain JSON-able data
and ``Pipeline(..., reference=state)`` starts from it; ``learn_reference`` reads
a whole recording for it first, so the recording can then be labelled from its
first second (offline only: a live stream cannot know its later walks).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import InitVar, dataclass, field
from typing import Any, Literal, get_args

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

from devices.imu import classify, smooth
from devices.imu.bins import Binner
from devices.imu.labels import Label
from devices.imu.reference import RELEARN_DEG, RELEARN_S, Reference
from devices.imu.revise import MAX_UNLABELLED_S, Unlabelled, relabel, revise
from devices.imu.spectrum import WINDOW_S, cadence

log = logging.getLogger(__name__)

REVISE_WALK_S = 60
"""Walking seconds in the mount before the earlier seconds are labelled with it. Live
seconds are labelled from ``reference.MIN_WALK_S``; the revision, given out once,
waits for a minute of walking, whose mean gravity is the steadier upright."""

FALLBACK_MOVING_S = 10
"""Waist: moving seconds (any, periodic or not) before a provisional upright is taken
from them while fewer than ``reference.MIN_WALK_S`` seconds of periodic walking have
come; it is taken again at each doubling of their count (10, 20, 40...), the seconds
before relabelled each time, until walking gives the mount. APE's own reference is
the mean gravity of every moving second (Vähä-Ypyä 2018), and a moving waist is
mostly an upright one; a thigh is not (a seated leg moves too), so a thigh waits."""

Placement = Literal["thigh", "waist", "wrist"]
PLACEMENTS: tuple[Placement, ...] = get_args(Placement)
Float = NDArray[np.float64]
HISTORY = WINDOW_S - 1  # earlier seconds a second's windows need
_SIT_COS = math.cos(math.radians(classify.SIT_DEG)) + 1e-9
_PAIRS = ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2))


@dataclass(frozen=True, slots=True)
class Seconds:
    """Consecutive seconds of output.

    Attributes
    ----------
    start : int
        Index of the first second (second 0 starts at the first sample).
    labels : ndarray of int8, shape (n,)
        ``Label`` codes.
    steps : ndarray of int64, shape (n,)
        Whole steps in each second.
    """

    start: int
    labels: NDArray[np.int8]
    steps: NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.labels)

    @staticmethod
    def join(parts: list[Seconds]) -> Seconds:
        """Consecutive parts as one (empty parts allowed)."""
        start = parts[0].start if parts else 0
        if not parts:
            return Seconds(0, np.zeros(0, np.int8), np.zeros(0, np.int64))
        return Seconds(start, np.concatenate([p.labels for p in parts]),
                       np.concatenate([p.steps for p in parts]))


@dataclass(frozen=True, slots=True)
class Revision:
    """New labels for seconds given out before: ``labels[i]`` is second ``start + i``'s.
    ``provisional``: labelled with a waist's provisional upright (no walk yet),
    not with a learnt mount."""

    start: int
    labels: NDArray[np.int8]
    provisional: bool = False


@dataclass(slots=True)
class Pipeline:
    """Streaming samples -> seconds for one sensor.

    Parameters
    ----------
    rate : float
        Sampling rate, Hz (>= 1; whole below 10 Hz).
    placement : {"thigh", "waist", "wrist"}
    reference : dict, optional
        A ``reference_state`` saved from a sensor at the same placement (on the
        same wearer and mount): labels from the first second instead of after
        the first walk. Checked: ``reference.BadReference`` says what is wrong.
    """

    rate: float
    placement: Placement
    reference: InitVar[Any] = None
    _binner: Binner = field(init=False)
    _hist: Float | None = None  # (3, HISTORY, bins) bins of the seconds before
    _hist_enmo: Float | None = None  # (HISTORY, bins)
    _reference: Reference = field(default_factory=Reference)
    _smoother: smooth.Smoother = field(default_factory=smooth.Smoother)
    _step_carry: float = 0.0
    _emitted: int = 0
    _classified: int = 0
    # Features of the seconds labelled before the mount was known (None: none to keep).
    _unlabelled: list[Unlabelled] | None = None
    _revisions: list[Revision] = field(default_factory=list)
    # Waist before the mount: moving seconds summed, and the provisional upright.
    _moving_up: Float = field(default_factory=lambda: np.zeros(3))
    _moving_n: int = 0
    _provisional: Float | None = None

    def __post_init__(self, reference: Any) -> None:
        if self.placement not in PLACEMENTS:
            raise ValueError(f"placement must be one of {', '.join(PLACEMENTS)}")
        self._binner = Binner(self.rate, wrist=self.placement == "wrist")
        if reference is not None:
            self._reference = Reference.from_state(reference, self.placement)
        if self.placement != "wrist" and not self._reference.ready:
            self._unlabelled = []

    @property
    def revisable_from(self) -> int | None:
        """The first second a later revision may still relabel (None: no revision will come).

        Seconds from here on given out as ``unknown`` get their labels once the mount is
        learnt; a consumer that wants the final labels holds them back until then.
        """
        if self._unlabelled is None:
            return None
        if not self._unlabelled:
            return self._classified
        return max(self._unlabelled[0].start, self._classified - MAX_UNLABELLED_S)

    def revisions(self) -> list[Revision]:
        """The revisions since the last call (seconds given out before, labelled again)."""
        out, self._revisions = self._revisions, []
        return out

    def reference_state(self) -> dict[str, Any]:
        """The mount reference learnt so far, as JSON-able data for ``reference=``.

        A wrist learns none (its method needs no mount): its state stays empty.
        """
        return self._reference.state(self.placement)

    def push(self, xyz: Float) -> Seconds:
        """Add samples, shape (n, 3) in g; return the seconds now final."""
        means, enmo = self._binner.push(xyz)
        return self._seconds(means, enmo, final=False)

    def flush(self) -> Seconds:
        """The end of the data: every remaining second."""
        means, enmo = self._binner.flush()
        return self._seconds(means, enmo, final=True)

    def _seconds(self, means: Float, enmo: Float | None, *, final: bool) -> Seconds:
        labels, steps = self._classify(means, enmo)
        out_labels, out_steps = self._smoother.push(labels, steps, final=final)
        out = Seconds(self._emitted, out_labels, out_steps)
        self._emitted += len(out_labels)
        return out

    def _classify(self, means: Float, enmo: Float | None
                  ) -> tuple[NDArray[np.int8], NDArray[np.int64]]:
        s, b = means.shape[0], self._binner.bins
        if s == 0:
            return np.zeros(0, np.int8), np.zeros(0, np.int64)
        # Each axis's bins in time order, (3, HISTORY + s, b): contiguous rows to sum
        # (the binner's bins are a view of that layout, so this is the one copy).
        new = means.transpose(2, 0, 1)
        if self._hist is None:
            self._hist = np.repeat(new[:, :1], HISTORY, axis=1)
            if enmo is not None:
                self._hist_enmo = np.repeat(enmo[:1], HISTORY, axis=0)
        axes = np.concatenate([self._hist, new], axis=1)
        self._hist = axes[:, -HISTORY:].copy()  # not a view: it would keep the chunk alive
        # 2-s windows from per-second sums (the same numbers in any chunking).
        s1 = np.einsum("isb->si", axes)  # (HISTORY + s, 3)
        s2 = np.empty((len(_PAIRS), axes.shape[1]))  # each second's six distinct products
        for k, (i, j) in enumerate(_PAIRS):
            np.einsum("sb,sb->s", axes[i], axes[j], out=s2[k])
        n2 = 2.0 * b
        g = (s1[HISTORY - 1: -1] + s1[HISTORY:]) / n2
        second = (s2[:, HISTORY - 1: -1] + s2[:, HISTORY:]) / n2
        cov = np.einsum("si,sj->sij", g, g)  # the outer products, then second - them
        for k, (i, j) in enumerate(_PAIRS):
            np.subtract(second[k], cov[:, i, j], out=cov[:, i, j])
            cov[:, j, i] = cov[:, i, j]
        direction = g / np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-12)
        moving = np.sqrt(np.trace(cov, axis1=1, axis2=2)) > classify.MOVE_G
        steps_per_s = np.zeros(s)
        periodic = np.zeros(s, dtype=bool)
        idx = np.flatnonzero(moving)
        if len(idx):
            stride = self.placement == "thigh"
            # The spectra take time last: (m, 3, WINDOW_S * b) axes, or magnitudes.
            # Windows as strided views of the bins in time order (a view, no copies),
            # one every second; only the moving seconds' windows are gathered, a block
            # at a time.
            if stride:  # (seconds, 3, WINDOW_S * b); each axis's bins contiguous in time
                views = sliding_window_view(axes.reshape(3, -1), WINDOW_S * b,
                                            axis=1)[:, ::b].transpose(1, 0, 2)
            else:
                mag = np.sqrt(np.einsum("isb,isb->sb", axes, axes)).reshape(-1)
                views = sliding_window_view(mag, WINDOW_S * b)[::b]
            steps_per_s[idx], periodic[idx] = cadence(views, b, stride=stride, rows=idx)
        win_enmo = None
        if enmo is not None:
            assert self._hist_enmo is not None
            e = np.concatenate([self._hist_enmo, enmo])
            self._hist_enmo = e[-HISTORY:]
            win_enmo = np.concatenate([e[HISTORY - 1: -1], e[HISTORY:]], axis=1).mean(axis=1)
        f = classify.Features(direction, cov, moving, periodic, win_enmo)
        start = self._classified
        self._classified += s
        if self.placement == "wrist":
            labels = labels_for_steps = classify.wrist(f)
        else:
            thigh = self.placement == "thigh"
            up, ready = self._reference.update_up(direction, cov, moving & periodic,
                                                  with_forward=thigh)
            forward = np.zeros_like(up)
            if thigh:
                forward = self._reference.forward(self._reads_forward(direction, up, ready))
                labels = classify.thigh(f, up, forward, ready)
            else:
                labels = classify.waist(f, up, ready)
            for k in self._reference.relearnt:
                log.warning("%s sensor: %d s of walking more than %g degrees from the learnt "
                            "upright by second %d: put on differently, its mount is learnt "
                            "again from that walking", self.placement, RELEARN_S, RELEARN_DEG,
                            start + k)
            live = labels
            if self._unlabelled is not None and self.placement == "waist":
                labels = self._fallback(start, f, labels, ready)
            if self._unlabelled is not None:
                labels = self._learn(start, f, labels, (up, forward, ready))
            # A provisional upright relabels postures only: the steps of its seconds are
            # counted from the labels without it, as they will be once walking comes.
            labels_for_steps = np.where(ready, labels, live) \
                if self._provisional is not None else labels
        # Steps from the stride as labelled now (a revision relabels postures only).
        gait = (labels_for_steps == Label.WALKING) | (labels_for_steps == Label.RUNNING)
        rate = np.where(gait, steps_per_s, 0.0)
        cum = np.cumsum(np.concatenate([[self._step_carry], rate]))
        whole = np.floor(cum)
        steps = (whole[1:] - whole[:-1]).astype(np.int64)
        self._step_carry = float(cum[-1])
        return labels, steps

    def _reads_forward(self, direction: Float, up: Float, ready: NDArray[np.bool_]
                       ) -> NDArray[np.bool_]:
        """The seconds whose forward axis is read: those the thigh's rules may call
        sitting (its roll tells lying; a margin over the cut's cosine, so none is
        missed) and the one whose mount labels the seconds before it (``_learn``)."""
        at: NDArray[np.bool_] = ready & (np.einsum("ij,ij->i", direction, up) < _SIT_COS)
        if self._unlabelled is not None:
            learnt = ready & (self._reference.walked >= REVISE_WALK_S)
            if learnt.any():
                at[int(np.argmax(learnt))] = True
        return at

    def _fallback(self, start: int, f: classify.Features, labels: NDArray[np.int8],
                  ready: NDArray[np.bool_]) -> NDArray[np.int8]:
        """Waist, before walking has shown the mount: the upright from the moving seconds.

        At each second where the count of moving seconds reaches ``FALLBACK_MOVING_S``
        times a power of two, their mean gravity becomes the provisional upright; the
        kept seconds up to it are relabelled with it (a revision, as for the mount) and
        the later ones labelled with it live, until ``ready``. Per second, so the same
        whatever the chunks.
        """
        assert self._unlabelled is not None
        mv = f.moving & ~f.periodic & ~ready
        count = self._moving_n + np.cumsum(mv)
        sums = np.cumsum(np.concatenate([self._moving_up[None], f.direction * mv[:, None]]),
                         axis=0)[1:]
        ratio = count // FALLBACK_MOVING_S
        points = np.flatnonzero(mv & (count % FALLBACK_MOVING_S == 0) & (ratio > 0)
                                & ((ratio & (ratio - 1)) == 0))
        if len(mv):
            self._moving_n, self._moving_up = int(count[-1]), sums[-1]
        labels = labels.copy()
        after = 0
        if len(points):
            k = int(points[-1])
            up = sums[k] / max(float(np.linalg.norm(sums[k])), 1e-12)
            if self._provisional is None:
                log.warning("waist sensor: %d moving seconds and no walking stride yet by "
                            "second %d: the upright is taken from the moving seconds for now "
                            "(relabelled as more come) until a walk shows the mount",
                            int(count[k]), start + k)
            self._provisional = up
            before = Unlabelled.join([*self._unlabelled, Unlabelled.of(start, classify.Features(
                f.direction[:k + 1], f.cov[:k + 1], f.moving[:k + 1], f.periodic[:k + 1],
                None))])
            raw = relabel(before, "waist", up, np.zeros(3))
            labels[:k + 1] = raw[len(raw) - k - 1:]
            given = self._emitted - before.start
            if given > 0:
                new = revise(np.concatenate([raw, labels[k + 1:]]), given)
                self._revisions.append(Revision(before.start, new, provisional=True))
                self._smoother.carry = int(new[-1])
            self._smoother.replace(raw[: len(raw) - k - 1])
            log.info("waist sensor: provisional upright from %d moving seconds at second %d; "
                     "seconds %d to %d labelled with it", int(count[k]), start + k,
                     before.start, start + k)
            after = k + 1
        if self._provisional is not None:
            rest = np.flatnonzero(~ready[after:]) + after
            if len(rest):
                n = len(rest)
                sub = classify.Features(f.direction[rest], f.cov[rest], f.moving[rest],
                                        f.periodic[rest], None)
                labels[rest] = classify.waist(sub, np.broadcast_to(self._provisional, (n, 3)),
                                              np.ones(n, dtype=bool))
        return labels

    def _learn(self, start: int, f: classify.Features, labels: NDArray[np.int8],
               mount: tuple[Float, Float, NDArray[np.bool_]]) -> NDArray[np.int8]:
        """Keep the features of seconds before the mount is known; once it is, label them.

        The mount at the first second with ``REVISE_WALK_S`` of walking labels them all
        (those after ``MIN_WALK_S``, labelled live with the mount as it was, too): the
        same whatever the chunks, so a stream and a batch agree.
        """
        assert self._unlabelled is not None
        up, forward, ready = mount
        ready = ready & (self._reference.walked >= REVISE_WALK_S)
        if not ready.any():
            self._unlabelled.append(Unlabelled.of(start, f))
            # Trimmed to the limit once an hour over it: at most 25 h kept (about 9 MB).
            if sum(len(u) for u in self._unlabelled) > MAX_UNLABELLED_S + 3600:
                self._unlabelled = [Unlabelled.join(self._unlabelled)]
            return labels
        first = int(np.argmax(ready))
        parts = [*self._unlabelled, Unlabelled.of(start, classify.Features(
            f.direction[:first], f.cov[:first], f.moving[:first], f.periodic[:first], None))]
        self._unlabelled = None
        before = Unlabelled.join(parts)
        raw = relabel(before, self.placement, up[first], forward[first])
        labels = labels.copy()
        labels[:first] = raw[len(raw) - first:]
        # Seconds given out already: revised now; those still in the smoother: replaced.
        given = self._emitted - before.start
        if given > 0:
            new = revise(np.concatenate([raw, labels[first:]]), given)
            self._revisions.append(Revision(before.start, new))
            self._smoother.carry = int(new[-1])
        self._smoother.replace(raw[: len(raw) - first])
        log.info("%s sensor: mount learnt at second %d; seconds %d to %d labelled with it",
                 self.placement, start + first, before.start, start + first - 1)
        return labels


def process(xyz: Float, rate: float, placement: Placement, *,
            reference: dict[str, Any] | None = None) -> Seconds:
    """Batch: every second of a recording.

    Parameters
    ----------
    xyz : ndarray, shape (n, 3)
        Acceleration in g, in the sensor's own axes, at ``rate`` Hz.
    rate : float
        Sampling rate, Hz.
    placement : {"thigh", "waist", "wrist"}
    reference : dict, optional
        A saved ``Pipeline.reference_state`` to start from.

    Returns
    -------
    Seconds
        One label and step count per second, from second 0.
    """
    pipe = Pipeline(rate, placement, reference)
    return Seconds.join([pipe.push(xyz), pipe.flush()])


def learn_reference(chunks: Iterable[Float], rate: float, placement: Placement, *,
                    reference: dict[str, Any] | None = None) -> dict[str, Any]:
    """The mount reference learnt from all the walking of a recording (its chunks in order).

    With ``process(..., reference=learn_reference(...))`` a recording is labelled
    from its first second, as a sensor that had already seen that walking would
    (offline: not what a live stream gives before its first walk). ``reference``
    is a saved state to continue from.
    """
    pipe = Pipeline(rate, placement, reference)
    for chunk in chunks:
        pipe.push(chunk)
    pipe.flush()
    return pipe.reference_state()
