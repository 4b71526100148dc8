"""``pacer report`` as a user runs it, on small stores: exit codes and
messages for bad input, where the store and user come from, output to
stdout, the progress bar, and escaping of store text in the HTML."""

from __future__ import annotations

import functools
import io
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.daemon import journal_mode, pacer_cli

from pacer.report.progress import Progress

DAY = "2026-11-23"


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
    proc = pacer_cli("replay", "--input", str(desk_minutes(folder / "m.csv")), "--events",
                     str(events), "--config", str(config(folder, "alice", path)),
                     "--store", str(path))
    assert proc.returncode == 0, proc.stderr
    return path


@pytest.fixture(scope="module")
def two_users(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("two")
    path = folder / "pacer.sqlite3"
    minutes = desk_minutes(folder / "m.csv")
    for user in ("alice", "bob"):
        proc = pacer_cli("replay", "--input", str(minutes), "--config",
                         str(config(folder, user, path)), "--store", str(path))
        assert proc.returncode == 0, proc.stderr
    return path


def report(*args: str, fmt: str = "csv", out: str = "-") -> subprocess.CompletedProcess[str]:
    return pacer_cli("report", *args, "--from", DAY, "--to", DAY, "--format", fmt, "--out", out)


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
    assert len(bundle["entry"]) == 7  # v2: steps, sitting, bouts, prompts, worn, walks, exercise
    # Steps carry the local date, as the Physical Activity guide wants; the
    # others' period is the local pacing day, from day.start.
    assert bundle["entry"][0]["resource"]["effectiveDateTime"] == f"{DAY}"
    start = bundle["entry"][2]["resource"]["effectivePeriod"]["start"]
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
    proc = pacer_cli("report", "--store", str(store), *args, "--format", "csv", "--out", "-")
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
    proc = pacer_cli("report", "--store", str(store), "--from", "2026-11-20", "--to", "2026-11-24",
                     "--format", "html", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    page = out.read_text(encoding="utf-8")
    assert "5 days without valid data" in page
    assert "Fri 20 Nov to Sun 22 Nov (nothing stored, 3 days)" in page
    assert "Mon 23 Nov (2.0 h of data), Tue 24 Nov (nothing stored)." in page
    assert page.count("nothing stored for this day") == 4


# --- where the report goes: --out --------------------------------------------------------
# Only links and nodes made in the test's own folder: a regression must not be
# able to replace the machine's /dev/null or /dev/stdout.


def test_out_replaces_a_regular_file_whole_and_for_its_owner_only(store: Path,
                                                                   tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    out.write_text("the last good report\n", encoding="utf-8")
    kept = tmp_path / "kept.csv"
    os.link(out, kept)  # a second name for the old file
    out.chmod(0o644)
    proc = report("--store", str(store), out=str(out))
    assert proc.returncode == 0, proc.stderr
    assert out.read_text(encoding="utf-8").startswith("date,user,")
    assert kept.read_text(encoding="utf-8") == "the last good report\n"  # replaced, not rewritten
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.csv", "r.csv"]  # no temp file left


def test_out_writes_through_a_link_and_keeps_it(store: Path, tmp_path: Path) -> None:
    target = tmp_path / "target.csv"
    target.write_text("old\n", encoding="utf-8")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    proc = report("--store", str(store), out=str(link))
    assert proc.returncode == 0, proc.stderr
    assert link.is_symlink()
    assert target.read_text(encoding="utf-8").startswith("date,user,")


def test_out_to_a_link_to_standard_output(store: Path, tmp_path: Path) -> None:
    """What /dev/stdout is: a link to /proc/self/fd/1."""
    link = tmp_path / "stdout"
    link.symlink_to("/proc/self/fd/1")
    proc = report("--store", str(store), out=str(link))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("date,user,")
    assert link.is_symlink()
    assert os.readlink(link) == "/proc/self/fd/1"


def test_out_to_a_fifo_writes_into_it(store: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # the report's open need not wait
    try:
        proc = report("--store", str(store), out=str(fifo))
        assert proc.returncode == 0, proc.stderr
        data = os.read(reader, 1 << 16)  # a one-day CSV fits the pipe's buffer
    finally:
        os.close(reader)
    assert data.decode("utf-8").startswith("date,user,")
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_out_to_a_device_node_keeps_the_node(store: Path, tmp_path: Path) -> None:
    null = tmp_path / "null"
    try:
        os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # what /dev/null is
    except PermissionError:
        pytest.skip("making a device node needs CAP_MKNOD")
    proc = report("--store", str(store), out=str(null))
    assert proc.returncode == 0, proc.stderr
    assert stat.S_ISCHR(null.lstat().st_mode)
    assert null.stat().st_rdev == os.makedev(1, 3)


def test_out_to_a_folder_is_bad_input(store: Path, tmp_path: Path) -> None:
    proc = report("--store", str(store), out=str(tmp_path))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == f"pacer: {tmp_path}: cannot write the report (Is a directory)"


def test_out_dev_stdout_as_a_user_who_may_not_write_dev(store: Path) -> None:
    proc = as_nobody("report", "--store", str(shared(store)), "--from", DAY, "--to", DAY,
                     "--format", "csv", "--out", "/dev/stdout")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("date,user,")


# --- a report only reads the store ---------------------------------------------------------


NOBODY = 65534
SETPRIV = shutil.which("setpriv")
_shared: list[Path] = []


def shared(store: Path) -> Path:
    """A copy of ``store`` that another user can read, in a folder of its own
    that the test's user made (pytest's folders are for root alone)."""
    if os.geteuid() != 0 or SETPRIV is None:
        pytest.skip("needs root and setpriv to run pacer as another user")
    if not _nobody_can_run_pacer():
        pytest.skip("another user cannot read this checkout or its .venv (a folder of "
                    "mode 0700 on the way, as `mktemp -d` makes), so pacer cannot run as one")
    folder = Path(tempfile.mkdtemp(prefix="pacer-report-"))
    _shared.append(folder)
    folder.chmod(0o755)
    copy = folder / store.name
    shutil.copyfile(store, copy)
    copy.chmod(0o644)
    return copy


@pytest.fixture(autouse=True)
def _remove_shared() -> Iterator[None]:
    yield
    while _shared:
        folder = _shared.pop()
        folder.chmod(0o755)
        shutil.rmtree(folder)


@functools.cache
def _nobody_can_run_pacer() -> bool:
    assert SETPRIV is not None
    probe = subprocess.run(
        [SETPRIV, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
         sys.executable, "-c", "import pacer.cli"],
        capture_output=True, timeout=120, check=False, cwd="/",
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/nonexistent"})
    return probe.returncode == 0


def as_nobody(*args: str) -> subprocess.CompletedProcess[str]:
    assert SETPRIV is not None
    return subprocess.run(
        [SETPRIV, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
         sys.executable, "-m", "pacer", *args],
        capture_output=True, text=True, timeout=120, check=False, cwd="/",
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/nonexistent"})


def fingerprint(path: Path) -> tuple[bytes, list[str]]:
    """The store's bytes and the files beside it."""
    return path.read_bytes(), sorted(p.name for p in path.parent.iterdir())


def test_report_reads_a_store_it_may_not_write(store: Path) -> None:
    """A 0444 file in a 0555 folder of root's, reported by another user."""
    copy = shared(store)
    copy.chmod(0o444)
    copy.parent.chmod(0o555)
    before = fingerprint(copy)
    proc = as_nobody("report", "--store", str(copy), "--from", DAY, "--to", DAY,
                     "--format", "csv", "--out", "-")
    assert proc.returncode == 0, proc.stderr
    assert f"{DAY},alice,Australia/Sydney," in proc.stdout
    assert fingerprint(copy) == before


def test_report_reads_another_users_store_in_a_folder_it_may_write(store: Path) -> None:
    copy = shared(store)
    copy.parent.chmod(0o777)
    before = copy.read_bytes()
    proc = as_nobody("report", "--store", str(copy), "--from", DAY, "--to", DAY,
                     "--format", "csv", "--out", "-")
    assert proc.returncode == 0, proc.stderr
    assert f"{DAY},alice," in proc.stdout
    assert copy.read_bytes() == before
    assert journal_mode(copy) == "wal"


def test_report_writes_nothing_to_the_store(store: Path, tmp_path: Path) -> None:
    """As root, whom chmod does not stop: the copy's bytes, the files beside
    it and its journal mode are as they were."""
    copy = tmp_path / "copy" / "pacer.sqlite3"
    copy.parent.mkdir()
    shutil.copyfile(store, copy)
    before = fingerprint(copy)
    proc = report("--store", str(copy), fmt="fhir", out=str(tmp_path / "r.json"))
    assert proc.returncode == 0, proc.stderr
    assert copy.read_bytes() == before[0]
    assert journal_mode(copy) == "wal"
    # SQLite's readers may leave the empty -wal and -shm files that WAL shares.
    assert set(fingerprint(copy)[1]) <= {"pacer.sqlite3", "pacer.sqlite3-wal",
                                         "pacer.sqlite3-shm"}


def test_report_of_a_foreign_sqlite_file_leaves_it_alone(tmp_path: Path) -> None:
    foreign = tmp_path / "notes.sqlite3"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE notes (text TEXT)")
        conn.execute("INSERT INTO notes VALUES ('hello')")
    conn.close()
    before = fingerprint(foreign)
    assert journal_mode(foreign) == "delete"
    proc = report("--store", str(foreign))
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f"pacer: {foreign} is an SQLite database but not a pacer store (no table epochs); "
        "check --store or [storage] path")
    assert fingerprint(foreign) == before
    assert journal_mode(foreign) == "delete"


def test_report_of_an_older_store_reads_it_as_it_is(store: Path, tmp_path: Path) -> None:
    """A store of schema 1 (summaries, epochs and prompts are all there) is
    read without being brought up to date."""
    old = tmp_path / "old.sqlite3"
    with sqlite3.connect(store) as src, sqlite3.connect(old) as dst:
        src.backup(dst)
        for table in ("local_requests", "samples", "heartbeat"):
            dst.execute(f"DROP TABLE {table}")
        dst.execute("PRAGMA user_version = 1")
    dst.close()
    proc = report("--store", str(old))
    assert proc.returncode == 0, proc.stderr
    assert f"{DAY},alice," in proc.stdout
    with sqlite3.connect(old) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()
    assert "heartbeat" not in tables


def test_report_of_a_store_from_a_newer_pacer(store: Path, tmp_path: Path) -> None:
    newer = tmp_path / "newer.sqlite3"
    shutil.copyfile(store, newer)
    with sqlite3.connect(newer) as conn:
        conn.execute("PRAGMA user_version = 999")
    conn.close()
    proc = report("--store", str(newer))
    assert proc.returncode == 2
    assert "was written by a newer pacer (schema 999" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_out_names_of_open_files_write_on_them(store: Path, tmp_path: Path) -> None:
    """/dev/fd/N and /proc/self/fd/N are this process's open files: written as
    they are open (appended to here), not opened again."""
    log = tmp_path / "log.csv"
    log.write_text("before\n", encoding="utf-8")
    for name in ("/dev/fd/1", "/proc/self/fd/1"):
        with log.open("a", encoding="utf-8") as f:
            proc = subprocess.run(
                [sys.executable, "-m", "pacer", "report", "--store", str(store), "--from", DAY,
                 "--to", DAY, "--format", "csv", "--out", name],
                stdout=f, stderr=subprocess.PIPE, text=True, timeout=120, check=False)
        assert proc.returncode == 0, proc.stderr
    lines = log.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "before"
    assert [line.startswith("date,user,") for line in lines[1:]] == [True, False, True, False]
    proc = report("--store", str(store), out="/dev/fd/9")  # not open
    assert proc.returncode == 2
    assert proc.stderr.strip() == "pacer: /dev/fd/9: cannot write the report (Bad file descriptor)"
