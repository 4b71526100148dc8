"""Where the built web app lives, and whether it is there and up to date."""

from __future__ import annotations

from pathlib import Path

from pacer.errors import PacerError

WEB_DIR = Path(__file__).resolve().parent / "web"
DIST_DIR = WEB_DIR / "dist"
STAMP = "BUILT"
"""Written last by ``npm run build``; its time says when the bundle was made."""

SOURCES = ("src", "static", "build.mjs", "icons.mjs", "package.json", "package-lock.json")


class AppNotBuiltError(PacerError):
    """The web app has not been built (``npm ci && npm run build``)."""


def build_advice(web: Path = WEB_DIR) -> str:
    return f"build it with: cd {web} && npm ci && npm run build   (needs Node.js 18+ and npm)"


def check_bundle(dist: Path = DIST_DIR) -> None:
    """Raise ``AppNotBuiltError``, saying how to build it, unless ``dist`` holds a build."""
    if not (dist / STAMP).is_file() or not (dist / "index.html").is_file():
        raise AppNotBuiltError(f"the phone app is not built yet ({dist} is missing); "
                            + build_advice(dist.parent))


def is_stale(dist: Path = DIST_DIR) -> bool:
    """True when a source file under ``web/`` is newer than the build."""
    stamp = dist / STAMP
    if not stamp.is_file():
        return True
    built = stamp.stat().st_mtime
    for name in SOURCES:
        path = dist.parent / name
        files = path.rglob("*") if path.is_dir() else [path]
        if any(f.is_file() and f.stat().st_mtime > built for f in files):
            return True
    return False
