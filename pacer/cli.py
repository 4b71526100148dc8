"""The ``pacer`` command line (interfaces.md section 1).

Exit codes: 0 success, 2 bad input (config, arguments, input files), 1 anything
else. Bad input is reported as a message naming the file, line or key; never
as a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from pacer import __version__
from pacer.errors import BadInput, ConfigError, PacerError

log = logging.getLogger("pacer")

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be greater than 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pacer",
        description=(
            "Activity pacing for persistent back pain: reads wearables, applies "
            "load-management rules (movement breaks, walks, a graded daily quota, "
            "traffic-light symptoms) and sends calm prompts over MQTT."
        ),
        epilog="Run 'pacer COMMAND --help' for the options of one command.",
    )
    parser.add_argument("--version", action="version", version=f"pacer {__version__}")
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="how much to log to stderr (default: %(default)s)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="the daemon: wearables -> pacing rules -> MQTT, until SIGTERM",
        description="Run the pacing daemon until SIGTERM or Ctrl-C.",
    )
    run.add_argument("--config", type=Path, default=Path("/etc/pacer/pacer.toml"),
                     help="config file (default: %(default)s)")

    demo = sub.add_parser(
        "demo",
        help="zero-setup demonstration of the whole pipeline",
        description=(
            "Start a private MQTT broker on a free loopback port, run the daemon on a "
            "scripted desk day at an accelerated clock, and print every prompt as an "
            "MQTT subscriber receives it, then the day's summary. Needs no hardware, "
            "no config and no broker of your own."
        ),
    )
    demo.add_argument("--speed", type=_positive_float, default=1200.0,
                      help="how many times faster than real time the clock runs "
                           "(default: %(default)s: one minute in 50 ms)")
    demo.add_argument("--hours", type=_positive_float, default=15.0,
                      help="how many hours of the scripted day to run, from 06:30 "
                           "(default: %(default)s)")

    replay = sub.add_parser(
        "replay",
        help="run the pacing rules over recorded minutes, offline",
        description=(
            "Deterministic offline run of the pacing engine over a minutes CSV "
            "(header time,steps,posture). Prints every prompt and the final daily "
            "summary of every day covered. Writes nothing unless --store is given."
        ),
    )
    replay.add_argument("--input", type=Path, required=True, metavar="MINUTES.csv",
                        help="minutes file: time,steps,posture")
    replay.add_argument("--events", type=Path, metavar="EVENTS.jsonl",
                        help="symptom, ack, dnd and plan events as JSON lines")
    replay.add_argument("--config", type=Path, help="config file (default: built-in defaults)")
    replay.add_argument("--store", type=Path, metavar="PATH",
                        help="also write minutes, prompts and summaries to this SQLite file")
    replay.add_argument("--json", action="store_true",
                        help="print one JSON object per line, exactly as published over MQTT")

    check = sub.add_parser(
        "check-config",
        help="validate a config file",
        description="Validate a config file: exit 0, or exit 2 with one line per problem.",
    )
    check.add_argument("path", type=Path)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return _dispatch(args)
    except ConfigError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        return EXIT_BAD_INPUT
    except BadInput as exc:
        print(f"pacer: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except PacerError as exc:
        print(f"pacer: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return EXIT_FAILURE


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "check-config":
        from pacer.config import load_config

        load_config(args.path)
        print(f"{args.path}: ok")
        return EXIT_OK
    if args.command == "replay":
        from pacer.replay import replay_command

        return replay_command(args)
    if args.command == "run":
        from pacer.daemon.app import run_daemon

        return run_daemon(args.config)
    if args.command == "demo":
        from pacer.demo import run_demo

        return run_demo(speed=args.speed, hours=args.hours)
    raise AssertionError(args.command)  # argparse guarantees one of the above
