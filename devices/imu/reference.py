"""The mount orientation, learnt from walking (the APE and Acti4 idea).

While a person walks, the mean gravity direction seen by a thigh or waist
sensor is the "upright" direction of that placement, whatever way round the
sensor was strapped on; and the thigh swings in the sagittal plane, so the
main axis of its motion perpendicular to upright is forward-backward. The
reference at each second is the running sum over every walking second so far
(that second included): causal, so a stream and a batch agree.

The sums are the whole learnt state: ``state`` gives them as plain JSON-able
data and ``Reference.from_state`` checks and restores them, so a sensor that
has seen its wearer walk once need not wait for a walk again.

A sensor put back on differently walks with its gravity far from the stored
upright: ``RELEARN_S`` such walking seconds with no walking near it in between
replace it (``relearnt`` says at which seconds), instead of every posture being
read against the old mount.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from devices.errors import DeviceError

Float = NDArray[np.float64]

MIN_WALK_S = 10
"""Walking seconds needed before the reference is trusted."""

RELEARN_DEG = 30.0
"""A walking second this far from the learnt upright is another mount. One mount's
walking gravity moves by the trunk's or thigh's lean, some 10-20 degrees on stairs
and slopes; a sensor strapped on again is turned further, and 30 degrees off would
read a standing waist as sitting (APE >= 11.6) and a thigh near its 45-degree cut."""
RELEARN_S = 20
"""Far walking seconds, with no near one between them, that make a new mount: twice
``MIN_WALK_S``, so a short odd walk (a slope, a carried load) does not."""

FAR_LOOK_S = 1024  # the first look, and after a relearn (any number gives the same result)

STATE_FORMAT = "pacer-imu-reference"
STATE_VERSION = 1
_KEYS = frozenset(("format", "version", "placement", "walking_seconds", "up", "scatter"))


class BadReference(DeviceError, ValueError):  # noqa: N818 - says what was given
    """A saved mount reference is not one this pipeline can use; the message says why."""


def _running(carry: Float, values: Float) -> Float:
    """Cumulative sums along axis 0 continuing ``carry`` (same float order in any cut)."""
    return np.cumsum(np.concatenate([carry[None], values]), axis=0)[1:]


@dataclass(slots=True)
class Reference:
    """Running sums over walking seconds; ``update`` gives the reference per second.

    ``relearnt`` lists, for the last ``update``, the index in its run of each second
    at which walking far from the old reference replaced it (for the caller to log).
    """

    _up: Float = field(default_factory=lambda: np.zeros(3))
    _scatter: Float = field(default_factory=lambda: np.zeros((3, 3)))
    _count: float = 0.0
    # The run of walking seconds far from the reference so far (in the sums above too).
    _far_up: Float = field(default_factory=lambda: np.zeros(3))
    _far_scatter: Float = field(default_factory=lambda: np.zeros((3, 3)))
    _far_count: int = 0
    relearnt: list[int] = field(default_factory=list)
    walked: Float = field(default_factory=lambda: np.zeros(0))
    """Walking seconds in the reference at each second of the last ``update``."""
    # The last update's mounts, for ``forward``: each second's index into the distinct
    # (up, scatter) sums it saw (-1: not ready), and those sums, a list per look.
    _state_of: NDArray[np.intp] = field(default_factory=lambda: np.zeros(0, np.intp))
    _states: list[tuple[Float, Float]] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        """Enough walking seen to trust the reference."""
        return self._count >= MIN_WALK_S and float(np.linalg.norm(self._up)) > 1e-9

    def state(self, placement: str) -> dict[str, Any]:
        """The learnt sums as plain data (JSON-able, exact: floats round-trip)."""
        return {"format": STATE_FORMAT, "version": STATE_VERSION, "placement": placement,
                "walking_seconds": float(self._count),
                "up": [float(v) for v in self._up],
                "scatter": [[float(v) for v in row] for row in self._scatter]}

    @classmethod
    def from_state(cls, state: object, placement: str) -> Reference:
        """Check ``state`` (from ``state``) and restore it for a sensor at ``placement``.

        Raises
        ------
        BadReference
            Not a saved reference, another placement's, or numbers no walking gives.
        """
        if not isinstance(state, Mapping):
            raise BadReference(f"a mount reference is a JSON object, not {type(state).__name__}")
        if state.get("format") != STATE_FORMAT:
            raise BadReference(f"not a mount reference: \"format\" must be {STATE_FORMAT!r}")
        if state.get("version") != STATE_VERSION:
            raise BadReference(f"mount reference version {state.get('version')!r} is not "
                               f"supported (this pacer reads version {STATE_VERSION})")
        if set(state) != _KEYS:
            raise BadReference("mount reference keys must be exactly "
                               + ", ".join(sorted(_KEYS)))
        if state["placement"] != placement:
            raise BadReference(f"the mount reference was learnt on a {state['placement']!r} "
                               f"sensor, not a {placement!r} one: each placement learns its own")
        count = _number(state["walking_seconds"], "walking_seconds")
        up = _numbers(state["up"], (3,), "up")
        scatter = _numbers(state["scatter"], (3, 3), "scatter")
        if count < 0 or not count.is_integer():
            raise BadReference("walking_seconds must be a whole number >= 0")
        # A sum of `count` unit vectors; covariances summed: symmetric, positive semidefinite.
        if float(np.linalg.norm(up)) > count * (1 + 1e-9) + 1e-9:
            raise BadReference("up is longer than walking_seconds unit vectors can sum to")
        if (not np.allclose(scatter, scatter.T, rtol=1e-9, atol=1e-12)
                or float(np.linalg.eigvalsh(scatter).min()) < -1e-9 * max(1.0, count)):
            raise BadReference("scatter must be a symmetric positive semidefinite 3 x 3 matrix")
        return cls(up, scatter, count)

    def update(self, direction: Float, cov: Float, walking: NDArray[np.bool_], *,
               with_forward: bool = True) -> tuple[Float, Float, NDArray[np.bool_]]:
        """References for a run of seconds: ``update_up``, then ``forward`` at them all.

        Returns
        -------
        up, forward : ndarray, shape (s, 3)
            Unit upright and forward-backward directions (see ``update_up``, ``forward``;
            zeros for ``forward`` without ``with_forward``).
        ready : ndarray of bool, shape (s,)
        """
        up, ready = self.update_up(direction, cov, walking, with_forward=with_forward)
        return up, self.forward(np.ones(len(up), dtype=bool)), ready

    def update_up(self, direction: Float, cov: Float, walking: NDArray[np.bool_], *,
                  with_forward: bool = True) -> tuple[Float, NDArray[np.bool_]]:
        """Upright references for a run of seconds (their forward axes from ``forward``).

        Parameters
        ----------
        direction : ndarray, shape (s, 3)
            Unit gravity direction of each second (2-s mean).
        cov : ndarray, shape (s, 3, 3)
            Covariance (g^2) of each second's 2-s window of bins.
        walking : ndarray of bool, shape (s,)
            Seconds that count as walking for the reference.
        with_forward : bool
            Keep what ``forward`` needs (the thigh reads it; else ``forward`` gives zeros).

        Returns
        -------
        up : ndarray, shape (s, 3)
            Unit upright direction.
        ready : ndarray of bool, shape (s,)
            At least ``MIN_WALK_S`` walking seconds so far.
        """
        n = len(walking)
        up = np.zeros((n, 3))
        ready = np.zeros(n, dtype=bool)
        walked = np.zeros(n)
        self.relearnt = []
        self._state_of, self._states = np.full(n, -1, np.intp), []
        states = 0
        cos_far = math.cos(math.radians(RELEARN_DEG))
        i, span = 0, FAR_LOOK_S
        while i < n:
            # A look at most `span` ahead: short at first and after a relearn, then
            # doubling, so a relearn throws away at most the look it ends (the rest is
            # looked at again from there); any cut gives the same numbers.
            end = min(n, i + span)
            was_ready = self.ready
            before = self._up / max(float(np.linalg.norm(self._up)), 1e-12)
            # First the upright alone (cheap), for where a run of far walking ends the look.
            w = walking[i:end].astype(np.float64)
            up_sum = _running(self._up, direction[i:end] * w[:, None])
            count = _running(np.array(self._count), w)
            norm = np.linalg.norm(up_sum, axis=1, keepdims=True)
            u = up_sum / np.maximum(norm, 1e-12)
            r = (count >= MIN_WALK_S) & (norm[:, 0] > 1e-9)
            prev_up = np.concatenate([before[None], u[:-1]])
            prev_ready = np.concatenate([[was_ready], r[:-1]])
            far = prev_ready & (np.einsum("ij,ij->i", direction[i:end], prev_up) < cos_far)
            # The run of far walking seconds up to each walking second (a near one ends it).
            steps = np.flatnonzero(walking[i:end])
            far_w = far[steps]
            at = np.arange(len(steps))
            last_near = np.maximum.accumulate(np.where(far_w, -1, at))
            run = np.where(far_w, at - last_near, 0) + np.where(last_near < 0, self._far_count, 0)
            hit = np.flatnonzero(far_w & (run >= RELEARN_S))
            stop = int(steps[hit[0]]) + 1 if len(hit) else end - i
            # The same sums again up to the stop, with the scatter and forward axis.
            up[i: i + stop], ready[i: i + stop], state = self._plain(
                direction[i: i + stop], cov[i: i + stop], walking[i: i + stop],
                with_forward=with_forward, looked=(up_sum[:stop], count[:stop]))
            self._state_of[i: i + stop] = np.where(state >= 0, state + states, -1)
            states = sum(len(u) for u, _ in self._states)
            walked[i: i + stop] = self.walked
            # The far run as of the stop (its seconds are in the sums above too).
            last = int(hit[0]) if len(hit) else len(steps) - 1
            if last >= 0:
                if not far_w[last] or last_near[last] >= 0:
                    self._far_reset()
                if far_w[last]:
                    run_s = i + steps[last_near[last] + 1: last + 1]
                    if len(run_s):  # summed in order: the same numbers in any cut
                        self._far_up = _running(self._far_up, direction[run_s])[-1]
                        self._far_scatter = _running(self._far_scatter, cov[run_s])[-1]
                    self._far_count += len(run_s)
            if not len(hit):
                i, span = end, 2 * span
                continue
            # RELEARN_S walking seconds in a row far from the reference: another mount.
            self._up, self._scatter = self._far_up, self._far_scatter
            self._count = float(self._far_count)
            self._far_reset()
            self.relearnt.append(i + stop - 1)
            i, span = i + stop, FAR_LOOK_S
        self.walked = walked
        return up, ready

    def forward(self, at: NDArray[np.bool_]) -> Float:
        """The forward axis at the seconds ``at`` of the last ``update`` (zeros elsewhere).

        The unit forward-backward direction (perpendicular to ``up``; sign arbitrary) of
        the mount each second saw, zeros where it was not ready: the main axis across up
        of the walking scatter, solved once per distinct mount those seconds saw (a sitting
        bout's seconds see one), not at every walking second.
        """
        out = np.zeros((len(self._state_of), 3))
        ids = self._state_of[at]
        ids = ids[ids >= 0]
        if not len(ids):
            return out
        ups = np.concatenate([u for u, _ in self._states])
        scatters = np.concatenate([c for _, c in self._states])
        solve = np.zeros(len(ups), dtype=bool)
        solve[ids] = True
        todo = np.flatnonzero(solve)
        axes = np.zeros((len(ups), 3))
        axes[todo] = principal_across(ups[todo], scatters[todo])
        sel = at & (self._state_of >= 0)
        out[sel] = axes[self._state_of[sel]]
        return out

    def _far_reset(self) -> None:
        self._far_up, self._far_scatter, self._far_count = np.zeros(3), np.zeros((3, 3)), 0

    def _plain(self, direction: Float, cov: Float, walking: NDArray[np.bool_], *,
               with_forward: bool = True, looked: tuple[Float, Float] | None = None
               ) -> tuple[Float, NDArray[np.bool_], NDArray[np.intp]]:
        """``update`` with every walking second counted (no far test); ``looked``: the
        running up sums and counts of these seconds, when already summed. Also each
        second's index into the mounts appended to ``_states`` (-1: not ready)."""
        w = walking.astype(np.float64)
        up_sum, count = looked if looked is not None else (
            _running(self._up, direction * w[:, None]), _running(np.array(self._count), w))
        # The scatter changes on walking seconds only: summed over those (the same
        # numbers as over every second with zeros between, and far fewer).
        steps = np.flatnonzero(walking)
        carry = self._scatter
        scat = _running(carry, cov[steps])
        self.walked = count
        if len(w):
            self._up, self._count = up_sum[-1], float(count[-1])
        if len(steps):
            self._scatter = scat[-1]
        norm = np.linalg.norm(up_sum, axis=1, keepdims=True)
        up = up_sum / np.maximum(norm, 1e-12)
        ready = (count >= MIN_WALK_S) & (norm[:, 0] > 1e-9)
        state = np.full(len(w), -1, np.intp)
        if with_forward and ready.any():
            # The sums only change on walking seconds: each second's mount is that of
            # the first second of the run or of its last walking second (kept for
            # `forward`, which solves only those its seconds ask for).
            n = len(w)
            key = np.maximum.accumulate(np.where(walking, np.arange(n), 0))
            todo = np.flatnonzero(ready & (walking | (np.arange(n) == 0)))
            rank = np.cumsum(walking) - 1  # the walking second's place in `scat`
            at = np.where(walking[todo], rank[todo], -1)
            sums = np.where((at >= 0)[:, None, None], scat[np.maximum(at, 0)], carry) \
                if len(steps) else np.broadcast_to(carry, (len(todo), 3, 3))
            local = np.full(n, -1, np.intp)
            local[todo] = np.arange(len(todo))
            state = np.where(ready, local[key], -1)
            self._states.append((up[todo], np.asarray(sums, dtype=np.float64)))
        return up, ready, state


def _number(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BadReference(f"{name} must be a finite number, not {value!r}")
    return float(value)


def _numbers(value: object, shape: tuple[int, ...], name: str) -> Float:
    """A nested list of finite numbers of exactly ``shape``, as an array."""
    def flat(v: object, dims: tuple[int, ...]) -> list[float]:
        if not dims:
            return [_number(v, name)]
        if not isinstance(v, (list, tuple)) or len(v) != dims[0]:
            raise BadReference(f"{name} must be {' x '.join(map(str, shape))} numbers")
        return [x for item in v for x in flat(item, dims[1:])]
    return np.array(flat(value, shape), dtype=np.float64).reshape(shape)


def cross_rows(a: Float, b: Float) -> Float:
    """Row-wise cross products: ``np.cross`` to the bit, without its copies (5x faster)."""
    ax, ay, az = a[:, 0], a[:, 1], a[:, 2]
    bx, by, bz = b[:, 0], b[:, 1], b[:, 2]
    return np.stack([ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx], axis=1)


def principal_across(up: Float, scatter: Float) -> Float:
    """Main axis of each scatter matrix in the plane perpendicular to ``up``.

    The closed form of the symmetric 2 x 2 eigenproblem in an orthonormal basis of
    that plane: the direction at angle ``atan2(2 b, a - c) / 2`` maximises the variance.

    Parameters
    ----------
    up : ndarray, shape (m, 3)
        Unit vectors.
    scatter : ndarray, shape (m, 3, 3)
        Symmetric matrices.

    Returns
    -------
    ndarray, shape (m, 3)
        Unit vectors perpendicular to ``up`` (sign arbitrary).
    """
    m = len(up)
    # A helper axis far from up: the coordinate axis up is least along.
    helper = np.zeros((m, 3))
    helper[np.arange(m), np.argmin(np.abs(up), axis=1)] = 1.0
    e1 = cross_rows(up, helper)
    e1 /= np.linalg.norm(e1, axis=1, keepdims=True)
    e2 = cross_rows(up, e1)
    s1 = np.einsum("mij,mj->mi", scatter, e1)
    s2 = np.einsum("mij,mj->mi", scatter, e2)
    a = np.einsum("mi,mi->m", e1, s1)
    b = np.einsum("mi,mi->m", e1, s2)
    c = np.einsum("mi,mi->m", e2, s2)
    phi = 0.5 * np.arctan2(2.0 * b, a - c)
    out: Float = np.cos(phi)[:, None] * e1 + np.sin(phi)[:, None] * e2
    return out
