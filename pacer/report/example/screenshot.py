"""Headless Chromium screenshots of a report, as a person would see it.

Debian's ``chromium`` package, with every background service off: the page
must render with no network at all. Used by the tests and to remake the
README's picture.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

LAPTOP = (1366, 2400)
PHONE = (390, 2400)


def chromium() -> str | None:
    """The browser's path, or None if it is not installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def base_args(browser: str, profile: Path) -> list[str]:
    return [
        browser, "--headless", "--no-sandbox", "--disable-gpu",
        "--disable-background-networking", "--disable-component-update", "--no-first-run",
        "--disable-sync", "--hide-scrollbars", "--virtual-time-budget=5000",
        f"--user-data-dir={profile}",
    ]


def screenshot(page: Path, png: Path, size: tuple[int, int]) -> Path:
    """``page`` rendered in a window of ``size`` (width, height) pixels."""
    browser = chromium()
    if browser is None:
        raise FileNotFoundError("chromium is not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="pacer-chromium-") as profile:
        subprocess.run(
            [*base_args(browser, Path(profile)), f"--screenshot={png}",
             f"--window-size={size[0]},{size[1]}", page.resolve().as_uri()],
            capture_output=True, check=True, timeout=120,
        )
    return png


def dump_dom(page: Path, size: tuple[int, int]) -> str:
    """The DOM after the page's scripts ran (the tests add a script to a copy
    of the report to measure its layout; the report itself has none)."""
    browser = chromium()
    if browser is None:
        raise FileNotFoundError("chromium is not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="pacer-chromium-") as profile:
        done = subprocess.run(
            [*base_args(browser, Path(profile)), "--dump-dom",
             f"--window-size={size[0]},{size[1]}", page.resolve().as_uri()],
            capture_output=True, text=True, check=True, timeout=120,
        )
    return done.stdout
