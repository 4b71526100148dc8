"""A command whose optional extra is missing says what to install, under the
distribution's own name (issue 21 item 6): ``pacer`` on PyPI is an unrelated
project, so every hint names ``pacer-activity[extra]`` or the checkout's
``-e '.[extra]'``, and the command exits 1 with no traceback."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from helpers import REPO

from pacer.cli import main
from pacer.extras import DISTRIBUTION, MissingExtraError, install_hint, needs_extra

ROOT = REPO

# Runs pacer's command line with the modules named in argv[1] hidden, as if their
# extra were not installed; "mosquitto" also hides the mosquitto binary.
HIDING = """
import sys
hidden = sys.argv[1].split(",")
for name in hidden:
    sys.modules[name] = None  # import of it now fails with ModuleNotFoundError
if "mosquitto" in hidden:
    import pacer.mqtt.broker
    pacer.mqtt.broker.find_mosquitto = lambda: None
from pacer.cli import main
sys.exit(main(sys.argv[2:]))
"""

ROWS = "time,steps,posture\n2026-11-23T09:00:00+11:00,10,\n2026-11-23T09:01:00+11:00,0,\n"


def pacer_without(hidden: str, *argv: str, cwd: Path, stdin: str = "",
                  timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", HIDING, hidden, *argv], cwd=cwd,
                          input=stdin, capture_output=True, text=True, timeout=timeout,
                          check=False)


def assert_hint(done: subprocess.CompletedProcess[str], extra: str) -> None:
    assert done.returncode == 1, done.stderr
    assert f"pip install '{DISTRIBUTION}[{extra}]'" in done.stderr
    assert f"pip install -e '.[{extra}]'" in done.stderr
    assert "pacer[" not in done.stderr  # the stranger's project on PyPI
    assert "Traceback" not in done.stderr


def clinic_config(tmp: Path, database: str = "clinic.sqlite3") -> Path:
    path = tmp / "clinic.toml"
    path.write_text(f'database = "{database}"\n[mqtt]\nurl = "mqtt://127.0.0.1:1"\n',
                    encoding="utf-8")
    return path


def test_the_distribution_is_the_one_pyproject_builds() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == DISTRIBUTION
    assert project["scripts"] == {"pacer": "pacer.cli:main"}
    assert install_hint("clinic") == (
        "pip install 'pacer-activity[clinic]' (or, in a checkout of pacer: "
        "pip install -e '.[clinic]')")


def test_a_hint_names_only_extras_that_exist() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))[
        "project"]["optional-dependencies"]
    for extra in ("demo", "virtual", "report", "clinic"):
        assert extra in extras


def test_a_missing_own_module_is_a_bug_not_a_missing_extra() -> None:
    with pytest.raises(ModuleNotFoundError), needs_extra("clinic", "x"):
        import pacer.no_such_module  # type: ignore[import-not-found]  # noqa: F401, PLC0415
    missing = r"x needs the 'clinic' extra \(no_such_lib is missing\): pip install "
    with pytest.raises(MissingExtraError, match=missing), needs_extra("clinic", "x"):
        import no_such_lib  # type: ignore[import-not-found]  # noqa: F401, PLC0415


@pytest.mark.parametrize("hidden", ["starlette", "uvicorn", "jinja2"])
def test_clinic_serve_without_the_clinic_extra(tmp_path: Path, hidden: str) -> None:
    done = pacer_without(hidden, "clinic", "serve", "--config", str(clinic_config(tmp_path)),
                         cwd=tmp_path)
    assert_hint(done, "clinic")
    assert "pacer clinic serve needs the 'clinic' extra" in done.stderr


def test_clinic_add_user_without_the_clinic_extra(tmp_path: Path) -> None:
    done = pacer_without("argon2", "clinic", "add-user", "jo", "--config",
                         str(clinic_config(tmp_path)), cwd=tmp_path, stdin="a password\n")
    assert_hint(done, "clinic")
    assert not (tmp_path / "clinic-users").exists()


def test_a_postgresql_clinic_without_psycopg(tmp_path: Path) -> None:
    config = clinic_config(tmp_path, "postgresql://clinic@127.0.0.1:1/clinic")
    for command in ("collect", "serve"):
        done = pacer_without("psycopg", "clinic", command, "--config", str(config),
                             cwd=tmp_path)
        assert_hint(done, "clinic")
        assert "a PostgreSQL clinic database needs the 'clinic' extra" in done.stderr


@pytest.mark.parametrize("hidden", ["jinja2", "matplotlib"])
def test_the_html_report_without_the_report_extra(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], hidden: str) -> None:
    minutes, store = tmp_path / "m.csv", tmp_path / "pacer.sqlite3"
    minutes.write_text(ROWS, encoding="utf-8")
    assert main(["--log-level", "WARNING", "replay", "--input", str(minutes),
                 "--store", str(store)]) == 0
    capsys.readouterr()
    report = ("report", "--store", str(store), "--from", "2026-11-23", "--to", "2026-11-23",
              "--out", str(tmp_path / "r.out"))
    done = pacer_without(hidden, *report, "--format", "html", cwd=tmp_path)
    assert_hint(done, "report")
    assert f"({hidden} is missing)" in done.stderr
    assert not (tmp_path / "r.out").exists()
    # CSV needs neither: the same command with the modules hidden still works.
    assert pacer_without(hidden, *report, "--format", "csv", cwd=tmp_path).returncode == 0


def test_the_demo_without_a_broker(tmp_path: Path) -> None:
    done = pacer_without("mosquitto,amqtt", "demo", "--hours", "0.25", cwd=tmp_path)
    assert_hint(done, "demo")
    assert "apt-get install mosquitto" in done.stderr


def test_the_demo_without_the_virtual_extra_says_what_it_would_add(tmp_path: Path) -> None:
    """Without bumble the demo still runs, on a replay device, and says how to
    get the virtual watch."""
    done = pacer_without("bumble", "demo", "--hours", "0.25", "--speed", "2400",
                         cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "from a replay device" in done.stdout
    assert f"pip install '{DISTRIBUTION}[virtual]'" in done.stdout
    assert "pip install -e '.[virtual]'" in done.stdout
