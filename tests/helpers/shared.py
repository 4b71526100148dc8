"""Expensive read-only fixtures made once for the whole run.

pytest-xdist builds a module- or session-scoped fixture once in every worker
that runs one of its tests; for a fixture that takes a minute and is only read
afterwards, that is a minute of CPU per worker for nothing. The workers share
the parent of their base temporary folder, so the first one there makes the
folder under a lock while the others wait, and all then read it."""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

MADE = ".made"  # written last: a folder without it is a build that failed half-way


def shared_dir(factory: pytest.TempPathFactory, name: str,
               make: Callable[[Path], object]) -> Path:
    """The folder ``name``, filled by ``make(folder)`` once for all workers of
    this run (once for the run without xdist). Tests must only read it."""
    base = factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder = root / name
    with (root / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not (folder / MADE).exists():
            shutil.rmtree(folder, ignore_errors=True)
            make(folder)
            (folder / MADE).touch()
    return folder
