"""Raw tri-axial acceleration to per-second posture and steps, in numpy.

Pure array code, no I/O. The pieces, in pipeline order:

| module | what |
|---|---|
| `bins.py` | samples (n, 3) in g at ``rate`` Hz -> 10 Hz bin means, one second at a time |
| `spectrum.py` | cadence and periodicity of a 4-s window (rotation invariant) |
| `reference.py` | the mount orientation, learnt from walking (upright axis, thigh's forward axis) |
| `classify.py` | per-second raw labels per placement (thigh Acti4, waist APE, wrist ENMO) |
| `smooth.py` | minimum-bout smoothing of the labels (Acti4 bout lengths), streaming |
| `revise.py` | the seconds before the mount was learnt, labelled with it once it is |
| `pipeline.py` | `Pipeline` (streaming, any chunk sizes) and `process` (batch): the same results |

Labels are the ``LABELS`` names: sitting, lying, standing, walking, running,
sedentary (wrist only: still, sit versus stand unknown), unknown.

A thigh or waist says unknown until its wearer's first walk has shown the mount,
then ``Pipeline.revisions`` relabels those seconds with it (a waist that moved
without a stride before that is read against a provisional upright meanwhile);
``Pipeline.reference_state`` / ``Pipeline(..., reference=...)`` save and restore
what was learnt, ``learn_reference`` learns it from a whole recording (offline).
"""

from __future__ import annotations

from devices.imu.labels import LABELS, Label
from devices.imu.pipeline import (
    PLACEMENTS,
    Pipeline,
    Placement,
    Revision,
    Seconds,
    learn_reference,
    process,
)
from devices.imu.reference import BadReference

__all__ = ["LABELS", "PLACEMENTS", "BadReference", "Label", "Pipeline", "Placement", "Revision",
           "Seconds", "learn_reference", "process"]
