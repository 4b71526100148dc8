"""``pacer report`` as a user runs it, on small stores: exit codes and
messages for bad input, where the store and user come from, output to
stdout, the progress bar, and escaping of store text in the HTML."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from pacer.report.progress import Progress

DAY = "2026-11-23"


def pacer(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pacer", *args], capture_output=True,
                          text=True, timeout=120, check=False)


def desk_minutes(path: Path) -> Path:
    """Two hours at a desk with a walk: enough for prompts and a summary."""
    rows = ["time,steps,posture"]
    for i in range(120):
        steps, posture = (100, "walking") if 60 <= i < 70 else (0, "sitting")
        rows.append(f"{DAY}T{9 + i // 60:02d}:{i % 60:02d}:00+11:00,{steps},{posture}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def config(folder: Path, user: str, store: Path) -> Path:
    path = folder / f"{user}.toml"
    path.write_text(f'[user]\nid = "{user}"\ntimezone = "Australia/Sydney"\n\n'
                    f'[storage]\npath = "{store}"\n', encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One user, one morning, and a plan change whose reason holds markup."""
    folder = tmp_path_factory.mktemp("store")
    path = folder / "pacer.sqlite3"
    events = folder / "events.jsonl"
    events.write_text(json.dumps({
        "time": f"{DAY}T09:30:00+11:00", "type": "plan", "set": {"sitting.limit_min": 30},
        "by": "physio", "why": '<script>alert("x")</script> & shorter bouts'}) + "\n",
        encoding="utf-8")
    proc = pacer("replay", "--input", str(desk_minutes(folder / "m.csv")), "--events",
                 str(events), "--config", str(config(folder, "alice", path)), "--store", str(path))
    assert proc.returncode == 0, proc.stderr
    return path


@pytest.fixture(scope="module")
def two_users(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("two")
    path = folder / "pacer.sqlite3"
    minutes = desk_minutes(folder / "m.csv")
    for user in ("alice", "bob"):
        proc = pacer("replay", "--input", str(minutes), "--config",
                     str(config(folder, user, path)), "--store", str(path))
        assert proc.returncode == 0, proc.stderr
    return path


def report(*args: str, fmt: str = "csv", out: str = "-") -> subprocess.CompletedProcess[str]:
    return pacer("report", *args, "--from", DAY, "--to", DAY, "--format", fmt, "--out", out)


def test_store_alone_uses_its_only_user_and_writes_to_stdout(store: Path) -> None:
    proc = report("--store", str(store))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 2
    assert lines[1].startswith(f"{DAY},alice,Australia/Sydney,")
    assert proc.stderr == ""  # no progress bar when stderr is not a terminal


def test_config_gives_store_and_user(store: Path, tmp_path: Path) -> None:
    cfg = config(tmp_path, "alice", store)
    out = tmp_path / "day.json"
    proc = report("--config", str(cfg), fmt="fhir", out=str(out))
    assert proc.returncode == 0, proc.stderr
    bundle = json.loads(out.read_text(encoding="utf-8"))
    assert bundle["resourceType"] == "Bundle"
    assert len(bundle["entry"]) == 4
    # The period is the local pacing day, from day.start.
    start = bundle["entry"][0]["resource"]["effectivePeriod"]["start"]
    assert start == f"{DAY}T04:00:00+11:00"


def test_several_users_need_user(two_users: Path) -> None:
    proc = report("--store", str(two_users))
    assert proc.returncode == 2
    assert "several users (alice, bob); choose one with --user" in proc.stderr
    proc = report("--store", str(two_users), "--user", "bob")
    assert proc.returncode == 0, proc.stderr
    assert f"{DAY},bob," in proc.stdout


def test_a_user_the_store_does_not_hold(store: Path, tmp_path: Path) -> None:
    proc = report("--store", str(store), "--user", "carol")
    assert proc.returncode == 2
    assert "no summaries for user 'carol' (users in the store: alice)" in proc.stderr
    cfg = config(tmp_path, "dave", store)
    proc = report("--config", str(cfg))
    assert proc.returncode == 2
    assert "'dave'" in proc.stderr


def test_missing_or_foreign_store_is_bad_input_and_nothing_is_created(tmp_path: Path) -> None:
    missing = tmp_path / "nope.sqlite3"
    proc = report("--store", str(missing))
    assert proc.returncode == 2
    assert "no such store" in proc.stderr
    assert not missing.exists()
    foreign = tmp_path / "notes.txt"
    foreign.write_text("not a database\n", encoding="utf-8")
    proc = report("--store", str(foreign))
    assert proc.returncode == 2
    assert "is not an SQLite database" in proc.stderr


def test_missing_config_is_bad_input(tmp_path: Path) -> None:
    proc = report("--config", str(tmp_path / "none.toml"))
    assert proc.returncode == 2
    assert "no such file" in proc.stderr


@pytest.mark.parametrize(("args", "message"), [
    (("--from", "2026-13-01", "--to", DAY), "'2026-13-01' is not a date; use YYYY-MM-DD"),
    (("--from", DAY, "--to", "yesterday"), "'yesterday' is not a date"),
    (("--from", "2026-11-24", "--to", DAY), "--from 2026-11-24 is after --to 2026-11-23"),
])
def test_bad_dates(store: Path, args: tuple[str, ...], message: str) -> None:
    proc = pacer("report", "--store", str(store), *args, "--format", "csv", "--out", "-")
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_store_and_config_together_are_refused(store: Path, tmp_path: Path) -> None:
    proc = report("--store", str(store), "--config", str(tmp_path / "x.toml"))
    assert proc.returncode == 2
    assert "not allowed with argument" in proc.stderr


def test_output_folder_must_exist(store: Path, tmp_path: Path) -> None:
    proc = report("--store", str(store), out=str(tmp_path / "no" / "such" / "r.csv"))
    assert proc.returncode == 2
    assert "does not exist" in proc.stderr


def test_html_escapes_what_the_store_holds(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    proc = report("--store", str(store), fmt="html", out=str(out))
    assert proc.returncode == 0, proc.stderr
    page = out.read_text(encoding="utf-8")
    assert "<script" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; shorter bouts" in page


def test_progress_draws_only_on_a_terminal() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    with Progress(4, "report", stream=tty) as p:
        for i in range(4):
            p.step(f"day {i}")
    drawn = tty.getvalue()
    assert drawn.count("\r") == 4
    assert "[" + "#" * 28 + "] 4/4 report day 3" in drawn
    assert drawn.endswith("\n")
    quiet = io.StringIO()
    with Progress(4, "report", stream=quiet) as p:
        p.step("x")
    assert quiet.getvalue() == ""


def test_html_for_days_around_the_data(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "around.html"
    proc = pacer("report", "--store", str(store), "--from", "2026-11-20", "--to", "2026-11-24",
                 "--format", "html", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    page = out.read_text(encoding="utf-8")
    assert "5 days without valid data" in page
    assert "Fri 20 Nov to Sun 22 Nov (nothing stored, 3 days)" in page
    assert "Mon 23 Nov (2.0 h of data), Tue 24 Nov (nothing stored)." in page
    assert page.count("nothing stored for this day") == 4
