"""The ``pacer report`` command: arguments in, one file out.

Bad input (dates, a missing store, a user the store does not hold) raises
``BadInput``, which the CLI turns into exit code 2 with the message.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import tempfile
from datetime import date
from pathlib import Path

from pacer.config import Config, load_config
from pacer.errors import BadInput, PacerError
from pacer.report import data as report_data
from pacer.report.progress import Progress
from pacer.store import Store

log = logging.getLogger(__name__)

FORMATS = ("html", "csv", "fhir")
MAX_DAYS = 3660  # ten years: a longer range is a typo, not a report


def report_command(args: argparse.Namespace) -> int:
    first: date = args.date_from
    last: date = args.date_to
    if first > last:
        raise BadInput(f"--from {first} is after --to {last}; --from and --to are inclusive")
    if (last - first).days >= MAX_DAYS:
        raise BadInput(f"--from {first} to --to {last} is more than {MAX_DAYS} days")
    config, store_path, wanted = _source(args)
    report_data.check_store_file(store_path)
    user = report_data.pick_user(store_path, wanted)
    text = _make(args.format, store_path, user, (first, last), config)
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


def _make(fmt: str, store_path: Path, user: str, dates: tuple[date, date],
          config: Config) -> str:
    first, last = dates
    n_days = (last - first).days + 1
    charts = 0
    if fmt == "html":
        try:
            # Imported here: only HTML needs the optional extra (and it is slow).
            from pacer.report import html  # noqa: PLC0415
        except ImportError as exc:  # the optional extra is not installed
            raise PacerError(
                f"the HTML report needs Jinja2 and matplotlib ({exc.name} is missing): "
                "pip install 'pacer[report]'; CSV and FHIR need neither") from None
        charts = html.CHART_COUNT
    with Progress(n_days + charts, "report") as progress, Store.open(store_path) as store:
        loaded = report_data.load(
            store, user, first, last,
            day_rules=config.day, walk_rules=config.walks,
            timezone=config.user.timezone,
            tick=lambda label: progress.step(f"day {label}"),
        )
        if fmt == "html":
            return html.render(loaded, step=progress.step)
    if fmt == "csv":
        from pacer.report import csv  # noqa: PLC0415

        return csv.render(loaded)
    from pacer.report import fhir  # noqa: PLC0415

    return fhir.render(loaded)


def _write(out: Path, text: str) -> None:
    """``-`` is stdout. A file is written beside its target and renamed, so a
    failed report never leaves half a file where the last good one was."""
    if str(out) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise BadInput(f"{out}: the folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, out)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise PacerError(f"{out}: cannot write the report ({exc.strerror})") from None
