"""What the wheel smoke test (tests/test_wheel.py) costs, part by part: building
the wheel, a fresh virtual environment, installing the wheel with each set of
extras (dependencies from the registry, through pip's cache), the installed
size, and the first ``pacer --version`` from it (imports cold).

    .venv/bin/python bench/wheel_install.py [--extras '' report clinic demo,report,clinic]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The tests' folder for test_wheel and its helpers, the repo before it
# (tests/pacer mirrors the package's name; the package must win).
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from test_wheel import build_wheel, install  # noqa: E402


def size_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--extras", nargs="*", default=["", "report", "clinic",
                                                    "demo,report,clinic"],
                    help="the sets of extras to install, each into its own venv")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        wheel = build_wheel(Path(tmp))
        print(f"wheel built in {time.perf_counter() - t:.1f} s: {wheel.name}, "
              f"{wheel.stat().st_size / 1024:.0f} KiB")
        for extras in args.extras:
            with tempfile.TemporaryDirectory() as one:
                t = time.perf_counter()
                venv = install(Path(one), wheel, extras)
                took = time.perf_counter() - t
                t = time.perf_counter()
                subprocess.run([str(venv.bin / "pacer"), "--version"], cwd=venv.work,
                               env=venv.env, check=True, capture_output=True)
                first = time.perf_counter() - t
                print(f"[{extras or 'no extras'}]: venv and install {took:.1f} s, "
                      f"{size_mb(Path(one) / 'venv'):.0f} MiB installed, "
                      f"first pacer --version {first:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
