"""``pacer replay``: the engine over recorded minutes, deterministically.

The same engine the daemon runs, driven by the file instead of a clock: every
minute from the first row to the last (missing rows are unknown), with each
event applied just before the first evaluation at or after its time.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

from pacer.config import Config, load_config
from pacer.contract import payloads
from pacer.engine.core import Engine
from pacer.engine.model import Epoch, Output, Prompt, Summary
from pacer.engine.numbers import counted, grouped
from pacer.errors import BadInput, InputFileError
from pacer.io.events import TimedCommand, read_events
from pacer.io.minutes import first_row_offset, read_minutes
from pacer.store import Store
from pacer.store.batch import MinuteBatch
from pacer.timebase import Minute, fixed_zone_name, to_datetime

log = logging.getLogger(__name__)

REPLAY_SOURCE = "replay"


@dataclass(slots=True)
class ReplayStats:
    minutes: int = 0
    prompts: int = 0
    summaries: int = 0
    events: int = 0
    rejected: int = 0


def published(outputs: Iterable[Output]) -> Iterator[Prompt | Summary]:
    """What a replay prints: every prompt and every final summary (the
    daemon also publishes the provisional one at the end of the waking day)."""
    for out in outputs:
        if isinstance(out, Prompt) or (isinstance(out, Summary) and out.final):
            yield out


def wire(out: Prompt | Summary, engine: Engine) -> dict[str, Any]:
    if isinstance(out, Prompt):
        return payloads.prompt(out, user=engine.user, tz=engine.tz)
    return payloads.summary(out)


def run(
    engine: Engine,
    epochs: Iterable[Epoch],
    events: Sequence[TimedCommand],
    emit: Callable[[Prompt | Summary], None],
    *,
    store: Store | None = None,
    on_reject: Callable[[TimedCommand, str], None] | None = None,
) -> ReplayStats:
    stats = ReplayStats()
    pending = list(events)
    nxt = 0

    def count_out(out: Prompt | Summary) -> None:
        if isinstance(out, Prompt):
            stats.prompts += 1
        else:
            stats.summaries += 1

    def apply_until(at: float) -> None:
        nonlocal nxt
        while nxt < len(pending) and pending[nxt].at <= at:
            ev = pending[nxt]
            nxt += 1
            stats.events += 1
            reply = engine.command(ev.command, ev.at)
            if not reply.ok:
                stats.rejected += 1
                if on_reject is not None:
                    on_reject(ev, reply.error or "rejected")
            for out in published(reply.outputs):
                count_out(out)
                emit(out)
            if store is not None:
                store.commit_command(
                    engine.user,
                    at=ev.at,
                    event_type=type(ev.command).__name__.lower(),
                    event_payload={"line": ev.line, "ok": reply.ok, "error": reply.error},
                    outputs=reply.outputs,
                    state=engine.snapshot(),
                    # Before the first minute the engine has no next one yet.
                    state_minute=(engine.next_minute if engine.next_minute is not None
                                  else int(ev.at // 60)),
                    outbox=(),
                )

    # A day of minutes a transaction (pacer.store.batch).
    batch = (MinuteBatch(store, engine.user, REPLAY_SOURCE, engine.snapshot)
             if store is not None else None)

    def flush() -> None:
        if batch is not None:
            batch.flush()

    count = len(pending)
    rows = iter(epochs)
    while True:
        try:
            epoch = next(rows)
        except StopIteration:
            break
        except Exception:
            flush()  # a bad row further on: the minutes before it are kept
            raise
        if nxt < count and pending[nxt].at <= (epoch.start + 1) * 60:
            flush()
            apply_until((epoch.start + 1) * 60)
        outputs = engine.advance(epoch)
        stats.minutes += 1
        if batch is not None:
            batch.add(epoch, outputs)
        if not outputs:
            continue
        for out in published(outputs):
            count_out(out)
            emit(out)
    flush()
    apply_until(float("inf"))
    closing = engine.close_day()
    if store is not None and closing:
        store.commit_command(
            engine.user,
            at=(engine.next_minute or 0) * 60,
            event_type="replay_end",
            event_payload={},
            outputs=closing,
            state=engine.snapshot(),
            state_minute=engine.next_minute,
            outbox=(),
        )
    for out in published(closing):
        count_out(out)
        emit(out)
    return stats


def format_line(out: Prompt | Summary, engine: Engine) -> str:
    """One human-readable line for the terminal."""
    data = wire(out, engine)
    if isinstance(out, Prompt):
        reason = ", ".join(f"{k} {v}" for k, v in out.reason.items())
        return f"{data['time']}  {out.kind:<16} {out.title} ({reason})"
    b = data
    if b["period"] == "week":
        cv = b["cv_daily_steps_14d"]
        adherence = b["adherence"]
        return (
            f"{b['week']}  week: {len(b['days'])} day(s), boom-bust cycles "
            f"{b['boom_bust_cycles']}, CV of daily steps (14 d) "
            f"{'n/a' if cv is None else f'{cv:.2f}'}, breaks taken after prompts "
            f"{'n/a' if adherence is None else f'{adherence:.0%}'}, "
            f"plan changes {len(b['plan_changes'])}"
        )
    brk = b["breaks"]
    plan = b["plan"]
    quota = "no quota yet" if plan["quota"] is None else (
        f"quota {plan['quota']} ({plan['floor']}-{plan['ceiling']})")
    flags = f"; flags: {', '.join(b['flags'])}" if b["flags"] else ""
    return (
        f"{b['date']}  summary{'' if b['final'] else ' (so far)'}: {_window(b)}"
        f"{'valid' if b['valid'] else 'not valid'}, known {b['known_min']} min, "
        f"steps {b['steps']}, sedentary {b['sedentary_min']} min"
        f"{' (inferred)' if b['sedentary_inferred'] else ''}, "
        f"bouts >=30 {b['sitting_bouts_30']} / >=60 {b['sitting_bouts_60']}, "
        f"longest {b['longest_sitting_bout_min']} min; sitting prompts {brk['prompted']}: "
        f"taken {brk['taken']}, ignored {brk['ignored']}, snoozed {brk['snoozed']}, "
        f"natural breaks {brk['natural']}; walks {b['walks']}; {plan['phase']}, {quota}{flags}"
    )


def _window(b: dict[str, Any]) -> str:
    """``up 06:58 (detected), bed 21:30 (configured), `` from a v2 summary."""
    w = b.get("window")
    if not w or not w.get("opened"):
        return "the day did not open, " if w else ""
    closed = w.get("closed")
    bed = f", bed {closed[11:16]} ({w['closed_by']})" if closed else ""
    return f"up {w['opened'][11:16]} ({w['opened_by']}){bed}, "


def dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(", ", ": "))


def input_zone_name(path: Path) -> str:
    """Without a configured zone a replay keeps the input's own local time:
    the UTC offset of its first row, as a fixed offset (set [user] timezone
    to follow DST)."""
    # At most two short lines are read (a file with no end, /dev/zero, is
    # reported by read_minutes with its line number).
    offset = first_row_offset(path)
    return "UTC" if offset is None else fixed_zone_name(offset)


def _local(minute: Minute, engine: Engine) -> str:
    """A minute as a person reads it: ``2026-11-23 09:00+11:00``."""
    return to_datetime(minute, engine.tz).isoformat(sep=" ", timespec="minutes")


def check_after_stored(
    store: Store, store_path: Path, input_path: Path, first: Minute, engine: Engine
) -> None:
    """Refuse (``BadInput``, before anything is written) a replay whose first
    minute is not after the last one ``store`` holds for the user: a minute is
    never stored twice, and the engine's days must follow each other."""
    last = store.last_minute(engine.user)
    if last is None or first > last:
        return
    raise BadInput(
        f"{store_path} already holds minutes for user {engine.user!r} up to "
        f"{_local(last, engine)}, and {input_path} starts at {_local(first, engine)}, "
        "so those minutes would be stored twice. Replay into a new store (another "
        f"--store path), or keep only the rows after {_local(last, engine)} in the input")


def replay_command(args: argparse.Namespace) -> int:
    """``pacer replay``: parse, run, print."""
    config = load_config(args.config) if args.config else Config()
    events = read_events(args.events) if args.events else []
    tz_name = config.user.timezone or input_zone_name(args.input)
    engine = Engine(config.rules, user=config.user.id, timezone=tz_name)
    as_json: bool = args.json

    def emit(out: Prompt | Summary) -> None:
        print(dumps(wire(out, engine)) if as_json else format_line(out, engine), flush=False)

    def reject(ev: TimedCommand, why: str) -> None:
        log.warning("%s:%d: event rejected: %s", args.events, ev.line, why)

    epochs = read_minutes(args.input, filled=True)  # fills the gaps as it reads: no second pass
    first = next(epochs, None)
    if first is None:
        raise InputFileError(
            str(args.input), None, "there are no minutes to replay: the file has its header "
            "and no rows; add rows like 2026-11-23T09:00:00+11:00,0,sitting")
    # Not synced commit by commit: a replay that did not finish can be run again.
    store = Store.open(args.store, durable=False) if args.store else None
    try:
        if store is not None:
            check_after_stored(store, args.store, args.input, first.start, engine)
        stats = run(engine, chain((first,), epochs), events, emit, store=store,
                    on_reject=reject)
    finally:
        if store is not None:
            store.close()
        sys.stdout.flush()
    log.info(
        "replayed %s and %s (%s rejected): %s, %s",
        counted(stats.minutes, "minute"), counted(stats.events, "event"),
        grouped(stats.rejected), counted(stats.prompts, "prompt"),
        counted(stats.summaries, "summary", "summaries"),
    )
    return 0
