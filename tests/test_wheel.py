"""A wheel that works (issue 21 item 10): the wheel built from this tree,
installed with its extras into a fresh virtual environment, runs every command
from that environment's ``pacer``, in a folder outside the checkout, so nothing
comes from the source tree or the editable install.

It holds what is read at run time (the report's and the clinic's templates, the
phone app's built files) and nothing the app's build only needs. The wheel's
dependencies come from the package registry (pip's cache makes it quick): the
test takes 2 to 3 minutes on two busy cores (bench/wheel_install.py times its
parts; the figures are in bench/README.md).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest
from helpers.daemon import wait_until

from pacer import __version__
from pacer.app import bundle
from pacer.app.bundle import DIST_DIR
from pacer.app.command import app_main
from pacer.extras import DISTRIBUTION
from pacer.mqtt.broker import free_port

ROOT = Path(__file__).resolve().parent.parent
EXTRAS = "demo,report,clinic"
DAY = "2026-11-23"
# Not copied to the build: the environments, caches, the app's npm packages and
# sources' build output; the wheel is built from what is left, as from a checkout
# with the app built.
NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv", ".bench-venv", "node_modules", "build", "*.egg-info", "__pycache__",
    ".mypy_cache", ".pytest_cache", ".ruff_cache", ".hypothesis", "*.sqlite3*")


def minutes_csv(path: Path) -> Path:
    """A morning: 50 minutes sitting, a walk, more sitting (a sitting prompt)."""
    rows = ["time,steps,posture"]
    for i in range(240):
        hour, minute = divmod(7 * 60 + i, 60)
        steps, posture = (0, "sitting") if not 50 <= i < 65 else (100, "walking")
        rows.append(f"{DAY}T{hour:02d}:{minute:02d}:00+00:00,{steps},{posture}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def get(url: str) -> tuple[int, bytes] | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, OSError):
        return None  # not listening yet


class Venv:
    """A fresh virtual environment with the wheel installed; its commands run
    in ``work``, with no variable pointing back at the checkout."""

    def __init__(self, root: Path, work: Path) -> None:
        self.bin = root / "bin"
        self.work = work
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}

    def run(self, *argv: str, stdin: str = "", timeout: float = 300
            ) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.bin / "pacer"), *argv], cwd=self.work, env=self.env,
                              input=stdin, capture_output=True, text=True, timeout=timeout,
                              check=False)

    def ok(self, *argv: str, stdin: str = "") -> str:
        done = self.run(*argv, stdin=stdin)
        assert done.returncode == 0, f"pacer {' '.join(argv)}: {done.stderr[-3000:]}"
        assert "Traceback" not in done.stderr, done.stderr[-3000:]
        return done.stdout

    def serve(self, name: str, *argv: str) -> subprocess.Popen[bytes]:
        with (self.work / f"{name}.log").open("wb") as log:
            return subprocess.Popen([str(self.bin / "pacer"), *argv], cwd=self.work,
                                    env=self.env, stdout=log, stderr=log)

    def log(self, name: str) -> str:
        return (self.work / f"{name}.log").read_text(encoding="utf-8", errors="replace")


def stop(proc: subprocess.Popen[bytes]) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
        raise


def build_wheel(tmp: Path) -> Path:
    """The wheel of a copy of this tree (setuptools from the registry, isolated)."""
    source = tmp / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCES)
    out = tmp / "wheel"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--wheel-dir", str(out), str(source)],
                   check=True, timeout=600, capture_output=True)
    (wheel,) = out.glob("*.whl")
    return wheel


def check_contents(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    runtime = [*DIST_DIR.glob("*"), *(ROOT / "pacer/clinic/templates").glob("*.j2"),
               *(ROOT / "pacer/report/templates").glob("*.j2")]
    missing = sorted(str(p.relative_to(ROOT)) for p in runtime
                     if p.is_file() and str(p.relative_to(ROOT)) not in names)
    assert missing == []
    assert not [n for n in names if "node_modules" in n or n.startswith(("pacer/app/web/src/",
                                                                          "tests/", "bench/"))]
    assert "pacer/cli.py" in names
    assert "devices/virtual/watch.py" in names


def install(tmp: Path, wheel: Path, extras: str = EXTRAS) -> Venv:
    """A fresh venv in ``tmp/venv`` with ``wheel[extras]`` from the registry."""
    root = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True, timeout=300)
    work = tmp / "work"
    work.mkdir()
    venv = Venv(root, work)
    wanted = f"{wheel}[{extras}]" if extras else str(wheel)
    subprocess.run([str(venv.bin / "python"), "-m", "pip", "install", "--quiet", wanted],
                   cwd=work, env=venv.env, check=True, timeout=900, capture_output=True)
    return venv


def test_the_wheel_installs_and_every_command_runs_from_it(tmp_path: Path) -> None:
    if not (DIST_DIR / "BUILT").is_file():
        pytest.skip("the app is not built: cd pacer/app/web && npm run build")
    wheel = build_wheel(tmp_path)
    assert wheel.name == f"{DISTRIBUTION.replace('-', '_')}-{__version__}-py3-none-any.whl"
    check_contents(wheel)
    venv = install(tmp_path, wheel)
    where = subprocess.run(
        [str(venv.bin / "python"), "-c", "import importlib.metadata as m, pacer, devices; "
         f"print(pacer.__file__, devices.__file__, m.version({DISTRIBUTION!r}))"],
        cwd=venv.work, env=venv.env, capture_output=True, text=True, check=True,
        timeout=60).stdout.split()
    site = str(tmp_path / "venv")
    assert where[0].startswith(site), where  # not the checkout
    assert where[1].startswith(site), where
    assert where[2] == __version__

    assert venv.ok("--version").strip() == f"pacer {__version__}"
    assert "clinic" in venv.ok("--help")

    # The demo: a virtual watch over bumble (the demo extra), a private broker.
    out = venv.ok("demo", "--hours", "0.25")
    assert "virtual InfiniTime watch" in out
    assert "Summary for" in out

    # Replay into a store, and the report in every format from it.
    minutes = minutes_csv(venv.work / "minutes.csv")
    out = venv.ok("replay", "--input", str(minutes), "--store", "pacer.sqlite3")
    assert "sitting_break" in out
    report = ("report", "--store", "pacer.sqlite3", "--from", DAY, "--to", DAY)
    venv.ok(*report, "--format", "html", "--out", "report.html")
    page = (venv.work / "report.html").read_text(encoding="utf-8")
    assert page.lower().startswith("<!doctype html")
    assert "<svg" in page  # the charts: matplotlib from the report extra
    venv.ok(*report, "--format", "csv", "--out", "report.csv")
    header, first = (venv.work / "report.csv").read_text(encoding="utf-8").splitlines()[:2]
    assert "date" in header.split(",")
    assert DAY in first
    venv.ok(*report, "--format", "fhir", "--out", "report.json")
    bundle = json.loads((venv.work / "report.json").read_text(encoding="utf-8"))
    assert bundle["resourceType"] == "Bundle"
    assert bundle["entry"]

    # The clinic's web app: a sign-in page from the wheel's templates.
    port = free_port()
    (venv.work / "clinic.toml").write_text(
        f'database = "clinic.sqlite3"\n[mqtt]\nurl = "mqtt://127.0.0.1:{free_port()}"\n'
        f"[web]\nport = {port}\n", encoding="utf-8")
    venv.ok("clinic", "add-user", "jo", "--config", "clinic.toml", stdin="a long password\n")
    clinic = venv.serve("clinic", "clinic", "serve", "--config", "clinic.toml")
    try:
        status, body = wait_until(lambda: get(f"http://127.0.0.1:{port}/signin"), 120,
                                  "pacer clinic serve answering", diagnose=lambda: venv.log(
                                      "clinic"))
        assert status == 200, body[:2000]
        assert b'name="password"' in body
    finally:
        # uvicorn shuts down cleanly, then dies of the SIGTERM it caught (as systemd expects).
        assert stop(clinic) in (0, -signal.SIGTERM), venv.log("clinic")
    assert "Finished server process" in venv.log("clinic")
    assert "Traceback" not in venv.log("clinic")

    # The phone app: its built page and bundle from the wheel.
    port = free_port()
    app = venv.serve("app", "app", "--port", str(port))
    try:
        status, body = wait_until(lambda: get(f"http://127.0.0.1:{port}/"), 120,
                                  "pacer app answering", diagnose=lambda: venv.log("app"))
        assert status == 200
        assert b"manifest.webmanifest" in body
        served = get(f"http://127.0.0.1:{port}/app.js")
        assert served is not None
        assert served == (200, (DIST_DIR / "app.js").read_bytes())
    finally:
        assert stop(app) == 0, venv.log("app")
    assert "Traceback" not in venv.log("app")


def test_an_installed_pacer_without_the_app_says_how_its_wheel_should_be_built(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Installed (no sources beside the package), the advice to run npm there
    would be wrong: the wheel was built before the app was."""
    monkeypatch.setattr(bundle, "WEB_DIR", tmp_path / "web")
    with pytest.raises(bundle.AppNotBuiltError, match=r"installed without the phone app's built "
                       r"files .*before building the wheel"):
        app_main(config_path=None, host="127.0.0.1", port=0, broker_url=None,
                 dist=tmp_path / "web" / "dist")
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "package.json").write_text("{}", encoding="utf-8")  # a checkout
    with pytest.raises(bundle.AppNotBuiltError, match=r"not built yet.*npm run build"):
        app_main(config_path=None, host="127.0.0.1", port=0, broker_url=None,
                 dist=tmp_path / "web" / "dist")
