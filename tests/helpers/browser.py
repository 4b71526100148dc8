"""Shared by the browser tests."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def screenshot_dir(published: Path) -> Path:
    """Where a browser test saves its screenshots: the README's own folder when
    PACER_SCREENSHOTS=1 (to refresh them), else a temporary one, so that a test
    run leaves the working tree as it was."""
    if os.environ.get("PACER_SCREENSHOTS") == "1":
        return published
    return Path(tempfile.mkdtemp(prefix="pacer-screenshots-"))
