"""The test suite's one set of helpers: brokers, daemons, clients, drivers and
data makers that only tests and bench scripts use (nothing here ships).

The suite puts ``tests/`` on ``sys.path`` (pyproject.toml, pytest's
``pythonpath``), so tests import ``helpers.<module>``; bench scripts add it
themselves."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"  # recorded inputs and expected outputs
