"""Remake the README's report screenshot from the 28-day example history:

    .venv/bin/python -m pacer.report.example [--keep FOLDER]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from pacer.report.example import history
from pacer.report.example.screenshot import LAPTOP, screenshot

HERE = Path(__file__).resolve().parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keep", type=Path, help="build the history and reports in this folder")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        made = history.build(folder)
        page = folder / "report.html"
        subprocess.run(
            [sys.executable, "-m", "pacer", "report", "--config", str(made.config),
             "--from", made.first.isoformat(), "--to", made.last.isoformat(),
             "--format", "html", "--out", str(page)],
            check=True,
        )
        png = screenshot(page, HERE / "report.png", LAPTOP)
    print(f"wrote {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
