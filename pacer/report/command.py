"""The ``pacer report`` command: arguments in, one file out.

Bad input (dates, a missing, foreign or damaged store, a user the store does
not hold, an ``--out`` that cannot be written) raises ``BadInput``, which the
CLI turns into exit code 2 with the message.

The store is opened read-only (``pacer.store.readonly``): a report writes
nothing to it and can read one it may not write.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import logging
import os
import re
import stat
import sys
import tempfile
from datetime import date
from pathlib import Path

from pacer.config import Config, load_config
from pacer.errors import BadInput, PacerError, StoreError
from pacer.extras import needs_extra
from pacer.report import data as report_data
from pacer.report.fhir_pa import PATIENT_ID
from pacer.report.progress import Progress
from pacer.store import Store
from pacer.store.readonly import open_readonly

log = logging.getLogger(__name__)

FORMATS = ("html", "csv", "fhir")
MAX_DAYS = 3660  # ten years: a longer range is a typo, not a report
READS_SCHEMA = 1
"""The oldest store schema a report reads: the summaries, epochs and prompts
it reads are all in schema 1, and released schema scripts are never edited."""


def report_command(args: argparse.Namespace) -> int:
    first: date = args.date_from
    last: date = args.date_to
    if first > last:
        raise BadInput(f"--from {first} is after --to {last}; --from and --to are inclusive")
    if (last - first).days >= MAX_DAYS:
        raise BadInput(f"--from {first} to --to {last} is more than {MAX_DAYS} days")
    patient = _patient(args)
    config, store_path, wanted = _source(args)
    report_data.check_store_file(store_path)
    try:
        store = open_readonly(store_path, oldest=READS_SCHEMA)
    except StoreError as exc:  # foreign, newer, unreadable: the store given is the problem
        raise BadInput(str(exc)) from None
    with store:
        user = report_data.pick_user(store_path, wanted)
        text = _make(args.format, store, user, (first, last), config,
                     patient=patient)
    _write(args.out, text)
    if str(args.out) != "-":
        log.info("wrote the %s report for %s (%s to %s) to %s", args.format, user, first,
                 last, args.out)
    return 0


def _source(args: argparse.Namespace) -> tuple[Config, Path, str | None]:
    """The config, the store and the user asked for: ``--store`` alone uses
    the default rules and the store's only user (or ``--user``)."""
    if args.store is not None:
        return Config(), Path(args.store), args.user
    config = load_config(args.config)
    return config, config.storage.path, args.user or config.user.id


def _patient(args: argparse.Namespace) -> str | None:
    """The clinic's FHIR Patient id for the user (``--patient-id``), checked
    against FHIR's id type; only the FHIR bundle uses it."""
    patient: str | None = getattr(args, "patient_id", None)
    if patient is None:
        return None
    if args.format != "fhir":
        raise BadInput("--patient-id is for --format fhir (the bundle's Patient reference)")
    if not PATIENT_ID.fullmatch(patient):
        raise BadInput(f"--patient-id {patient[:80]!r} is not a FHIR id: 1 to 64 letters, "
                       "digits, '-' or '.', as the clinic's FHIR server has it")
    return patient


def _make(fmt: str, store: Store, user: str, dates: tuple[date, date],
          config: Config, *, patient: str | None = None) -> str:
    first, last = dates
    n_days = (last - first).days + 1
    charts = 0
    if fmt == "html":
        # Imported here: only HTML needs the optional extra (and it is slow).
        with needs_extra("report", "the HTML report (Jinja2 and matplotlib; CSV and FHIR "
                         "need neither)"):
            from pacer.report import html  # noqa: PLC0415
        charts = html.CHART_COUNT
    with Progress(n_days + charts, "report") as progress:
        loaded = report_data.load(
            store, user, first, last,
            day_rules=config.day, walk_rules=config.walks,
            timezone=config.user.timezone,
            tick=lambda label: progress.step(f"day {label}"),
            rules=config.rules,
        )
        if fmt == "html":
            return html.render(loaded, step=progress.step)
    if fmt == "csv":
        from pacer.report import csv  # noqa: PLC0415

        return csv.render(loaded)
    from pacer.report import fhir  # noqa: PLC0415

    return fhir.render(loaded, patient=patient)


def _write(out: Path, text: str) -> None:
    """``-`` is stdout. A regular file (or none yet) is written beside its
    target and renamed over it, so a failed report never leaves half a file
    where the last good one was. Anything else is written through, as the
    shell's ``>`` would: a link is followed and stays a link, a device or a
    pipe stays what it is. A name of one of this process's open files
    (``/dev/stdout``, ``/dev/fd/N``, ``/proc/self/fd/N``, or a link to one)
    is written on that file as it is open, not opened again (another user's
    pipe or a socket cannot be).

    A path that cannot be written is bad input; a failure while writing (a
    full disk) is not."""
    if str(out) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    fd = _descriptor(out)
    if fd is not None:
        _write_descriptor(out, fd, text)
        return
    try:
        mode = os.lstat(out).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise BadInput(f"{out}: cannot write the report ({exc.strerror})") from None
    if mode is None or stat.S_ISREG(mode):
        _replace(out, text)
    else:
        _write_through(out, text)


def _replace(out: Path, text: str) -> None:
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise BadInput(f"{out}: the folder {folder} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=folder)
    except OSError as exc:
        raise BadInput(f"{out}: cannot write the report in {folder} ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, out)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise _failed(out, exc) from None


def _write_through(out: Path, text: str) -> None:
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOCTTY, 0o600)
    except OSError as exc:
        raise BadInput(f"{out}: cannot write the report ({exc.strerror})") from None
    _write_fd(out, fd, text)


_FD_PATH = re.compile(r"/(?:proc/self|dev)/fd/(\d+)")
_MAX_LINKS = 40  # Linux's limit on links followed in one path


def _descriptor(out: Path) -> int | None:
    """The file descriptor ``out`` names, following links; None for any
    other path."""
    path = os.path.abspath(out)
    for _ in range(_MAX_LINKS):
        if m := _FD_PATH.fullmatch(path):
            return int(m.group(1))
        try:
            target = os.readlink(path)
        except OSError:  # not a link (or not there): not a descriptor's name
            return None
        path = os.path.normpath(os.path.join(os.path.dirname(path), target))
    return None


def _write_descriptor(out: Path, fd: int, text: str) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        own = os.dup(fd)
    except OSError as exc:  # not open
        raise BadInput(f"{out}: cannot write the report ({exc.strerror})") from None
    _write_fd(out, own, text)


def _write_fd(out: Path, fd: int, text: str) -> None:
    """Write ``text`` on the open ``fd`` (named ``out`` in errors) and close it."""
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
    except OSError as exc:
        raise _failed(out, exc) from None


def _failed(out: Path, exc: OSError) -> PacerError:
    message = f"{out}: cannot write the report ({exc.strerror})"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EIO):
        return PacerError(message)
    return BadInput(message)
