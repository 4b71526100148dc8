"""``pacer import gadgetbridge``: the weeks before pacer, from a band's history.

A person who already wears a band has weeks of minutes in Gadgetbridge; their
physiotherapist wants them, and the plan can start from them instead of
learning a baseline from scratch. The minutes go into the store as minutes
from ``gadgetbridge``:

* Before pacer has measured anything for the user, they run through the
  engine as history (``Engine.history``: no prompt is decided, since nobody
  was there to ask), so the store gains each day's summary and the engine
  state the daemon resumes from: the baseline and the report start there.
* Once pacer has measured minutes of its own, only minutes before its first
  one are added, as minutes; the plan it has already learnt is not rewritten,
  and the note says so.

Importing again stores nothing twice: a minute already stored, whoever
stored it, is skipped and counted, and pacer's own minutes are never
overwritten.
"""

from __future__ import annotations

import argparse
import logging
import time as clock
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo

from pacer.config import Config, load_config
from pacer.engine.core import Engine
from pacer.engine.model import Epoch, Output, Summary
from pacer.io.gadgetbridge import Tally, open_export, pick, samples, to_minutes
from pacer.store import Store
from pacer.store.batch import MinuteBatch
from pacer.timebase import Minute, to_datetime, zone

log = logging.getLogger(__name__)

SOURCE = "gadgetbridge"


@dataclass(slots=True)
class Imported:
    stored: int = 0
    already: int = 0  # minutes the store held already
    after_pacer: int = 0  # minutes at or after pacer's own first: pacer's count
    future: int = 0  # minutes after now: a band's clock set wrong
    days: int = 0  # final day summaries made
    first: Minute | None = None
    last: Minute | None = None
    learnt: bool = False  # the engine ran over them (no minutes of pacer's own yet)
    last_day: str | None = None  # the last day with a final summary


def import_minutes(store: Store, config: Config, minutes: Iterable[Epoch], now: float
                   ) -> tuple[Imported, Engine | None]:
    """Store ``minutes`` for the config's user as the module says."""
    user = config.user.id
    out = Imported()
    own = store.first_minute(user, besides=SOURCE)
    last = store.last_minute(user)
    end = int(now // 60)
    engine: Engine | None = None
    if own is None:
        engine = _engine(store, config)
        engine.history = True
    # A day of minutes a transaction, with the engine state after the last
    # (pacer.store.batch): an import stopped half-way keeps whole days.
    batch = MinuteBatch(store, user, SOURCE, engine.snapshot) if engine is not None else None
    for epoch in minutes:
        if epoch.start >= end:
            out.future += 1
            continue
        if own is not None and epoch.start >= own:
            out.after_pacer += 1
            continue
        if engine is None:
            if store.add_minute(user, epoch, SOURCE):
                _stored(out, epoch)
            else:
                out.already += 1
            continue
        if last is not None and epoch.start <= last:
            out.already += 1  # imported before: the engine has taken it
            continue
        outputs = engine.advance(epoch)
        kept: list[Output] = [o for o in outputs if isinstance(o, Summary)]
        for s in kept:
            if isinstance(s, Summary) and s.period == "day" and s.final:
                out.days += 1
                out.last_day = s.key
        assert batch is not None  # made with the engine
        batch.add(epoch, kept)
        _stored(out, epoch)
    if batch is not None:
        batch.flush()
    out.learnt = engine is not None and out.stored > 0
    return out, engine


def _stored(out: Imported, epoch: Epoch) -> None:
    out.stored += 1
    out.first = epoch.start if out.first is None else out.first
    out.last = epoch.start


def _engine(store: Store, config: Config) -> Engine:
    rules, user, tz = config.rules, config.user.id, config.user.zone_name()
    saved = store.load_state(user)
    if saved is None:
        return Engine(rules, user=user, timezone=tz)
    return Engine.restore(rules, user=user, timezone=tz, snapshot=saved[1])


def import_command(args: argparse.Namespace) -> int:
    config = load_config(args.config) if args.config else Config()
    store_path = args.store if args.store is not None else config.storage.path
    tz = config.user.zone_name()
    conn, export = open_export(args.database)
    with closing(conn):
        devices = pick(export, args.device)
        since = _since(args.since, tz) if args.since is not None else None
        tally = Tally()
        minutes = to_minutes(samples(conn, export, devices, since), tally)
        # Not synced minute by minute: an import that did not finish is run again.
        with Store.open(store_path, durable=False) as store:
            done, engine = import_minutes(store, config, minutes, clock.time())
    names = ", ".join(d.name or d.identifier for d in devices)
    print(_report(done, tally, engine, names=names, user=config.user.id, where=str(store_path),
                  tz=zone(tz)))
    return 0


def _since(day: date, tz_name: str) -> int:
    return int(datetime.combine(day, time(), zone(tz_name)).timestamp())


def _report(done: Imported, tally: Tally, engine: Engine | None, *, names: str, user: str,
            where: str, tz: tzinfo) -> str:
    lines = [f"{tally.samples:,} samples from {names or 'no device'}: {tally.minutes:,} "
             f"minutes ({tally.sleep:,} asleep, {tally.not_worn:,} not worn, "
             f"{tally.implausible:,} with impossible step counts left unknown)"]
    if done.stored:
        span = (f"{to_datetime(done.first, tz):%Y-%m-%d} to {to_datetime(done.last, tz):%Y-%m-%d}"
                if done.first is not None and done.last is not None else "")
        lines.append(f"stored {done.stored:,} minutes for user {user!r} in {where}"
                     + (f", {span}" if span else ""))
    else:
        lines.append(f"stored nothing new for user {user!r} in {where}")
    if done.already:
        lines.append(f"{done.already:,} minutes were stored already and were left as they are")
    if done.after_pacer:
        lines.append(f"{done.after_pacer:,} minutes are from when pacer was measuring itself: "
                     "pacer's own minutes are kept")
    if done.future:
        lines.append(f"{done.future:,} minutes are later than now (is the band's clock "
                     "right?) and were skipped")
    if done.learnt and engine is not None:
        plan = engine.state.plan
        baseline = (f"the baseline is complete: {plan.baseline:,} steps a day"
                    if plan.baseline is not None else
                    f"the baseline has {len(plan.baseline_steps)} of "
                    f"{engine.rules.plan.baseline_days} days")
        last = f"{to_datetime(done.last, tz):%Y-%m-%d}" if done.last is not None else None
        later = ("" if last is None or done.last_day == last else
                 f"; {last}, the day in progress, is summarised when pacer runs on")
        lines.append(f"{done.days} days summarised for the report; {baseline}{later}")
    elif done.stored:
        lines.append("pacer had already started measuring, so these minutes are stored but "
                     "the plan it has learnt is not rebuilt from them and they have no "
                     "day summaries; import before the first `pacer run` for both")
    return "\n".join(lines)
