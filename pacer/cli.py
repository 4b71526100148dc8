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
from datetime import date
from pathlib import Path

from devices.errors import DeviceError
from pacer import __version__
from pacer.daemon.systemd import log_formatter
from pacer.engine.safety import FLAGS, RED_FLAGS
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


def _report_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date; use YYYY-MM-DD, for example 2026-03-09") from None


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
        default=None,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="how much to log to stderr (default: INFO; WARNING for the one-shot "
             "commands a person sends: symptom, ack, dnd, day, exercise)",
    )
    parser.add_argument(
        "--verbose", action="store_true",
        help="log at INFO level, for the one-shot commands too (connecting, sending)",
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
            "scripted desk day, a minute at a time and faster than real time, and print "
            "every prompt as an MQTT subscriber receives it, then the day's summary. The "
            "store starts with a simulated previous week, so the day opens with the first "
            "step plan. Needs no hardware, no config and no broker of your own."
        ),
    )
    demo.add_argument("--speed", type=_positive_float, default=1200.0,
                      help="how many times faster than real time the day runs "
                           "(default: %(default)s: one minute in 50 ms). The watch's day "
                           "steps a minute at a time in lock-step with the daemon, so its "
                           "prompts and summary are the same at any speed and on every run; "
                           "at most 3000x, what a small machine keeps up with")
    demo.add_argument("--hours", type=_positive_float, default=15.0,
                      help="how many hours of the scripted day to run, from 06:30 "
                           "(default: %(default)s)")
    demo.add_argument("--wearable", choices=("watch", "thigh"), default="watch",
                      help="the virtual wearable: an InfiniTime watch counting steps, or a "
                           "WitMotion IMU on the thigh streaming acceleration, from which "
                           "pacer measures sitting (at most 240x real time) "
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

    epochs = sub.add_parser(
        "epochs",
        help="raw acceleration to minutes (time,steps,posture), offline",
        description=(
            "Turn a raw acceleration CSV (header t,x,y,z; t in seconds from --start, x y z "
            "in g in the sensor's own axes, evenly sampled at --rate) into the replay's "
            "minutes CSV time,steps,posture on stdout: posture and steps per second from "
            "the thigh (Acti4 inclination), waist (APE) or wrist (sedentary or walking "
            "only) method, the mount orientation learnt from walking. A thigh or waist "
            "learns it from the recording's first minute of walking, then labels the "
            "seconds before with it (a file without that walk stays unknown until it, "
            "unless --learn-first or --reference)."
        ),
    )
    epochs.add_argument("--input", type=Path, required=True, metavar="RAW.csv",
                        help="raw file: t,x,y,z")
    epochs.add_argument("--rate", type=_positive_float, required=True, metavar="HZ",
                        help="sampling rate in Hz")
    epochs.add_argument("--placement", required=True, choices=["thigh", "waist", "wrist"])
    epochs.add_argument("--start", metavar="TIME",
                        help="ISO 8601 time of t = 0 (default: midnight today, local)")
    epochs.add_argument("--resolution", choices=["minute", "second"], default="minute",
                        help="one row per minute (default) or per second")
    epochs.add_argument("--learn-first", action="store_true",
                        help="read RAW.csv twice: first learn the mount from all its walking, "
                        "then label it from the first second with that; offline only: the "
                        "mount of the whole file, not of its first minute of walking as by "
                        "default")
    epochs.add_argument("--reference", type=Path, metavar="FILE",
                        help="start from the mount reference saved in FILE by "
                        "--save-reference (same sensor, wearer and placement)")
    epochs.add_argument("--save-reference", type=Path, metavar="FILE",
                        help="write the mount reference learnt (JSON) to FILE at the end")

    config_help = "config file (default: %(default)s)"
    default_config = Path("/etc/pacer/pacer.toml")

    importing = sub.add_parser(
        "import",
        help="history from before pacer into the store (a band's Gadgetbridge export)",
        description="Bring a wearable's history from before pacer into the store, so the "
                    "baseline and the report can start from it.",
    )
    import_sub = importing.add_subparsers(dest="source", required=True, metavar="SOURCE")
    gadgetbridge = import_sub.add_parser(
        "gadgetbridge",
        help="minutes from Gadgetbridge's exported database",
        description=(
            "Read the per-minute steps, and for Huami bands (Mi Band, Amazfit) and "
            "Bangle.js their not-worn and sleep marks, from the database Gadgetbridge "
            "exports (Settings > Data management > Export database), and store them as "
            "minutes for the config's user. Before pacer has measured anything the "
            "minutes also run through the pacing rules as history (no prompts), so the "
            "store gains day summaries and the baseline. Importing again stores nothing "
            "twice; pacer's own minutes are never overwritten."
        ),
    )
    gadgetbridge.add_argument("database", type=Path, metavar="EXPORT.db",
                              help="the exported database file")
    gadgetbridge.add_argument("--device", metavar="NAME",
                              help="only this band (its name or Bluetooth address, as "
                                   "Gadgetbridge lists it; default: every device in the file)")
    gadgetbridge.add_argument("--from", dest="since", type=_report_date, metavar="DATE",
                              help="only minutes from this day on (YYYY-MM-DD, local)")
    gadgetbridge.add_argument("--config", type=Path, default=default_config, help=config_help)
    gadgetbridge.add_argument("--store", type=Path, metavar="PATH",
                              help="the SQLite store (default: the config's [storage] path)")

    report = sub.add_parser(
        "report",
        help="the physiotherapist's report from stored data: html, csv or fhir",
        description=(
            "Make the physiotherapist's report for the days --from to --to (both "
            "included) from the store: one self-contained HTML page, a CSV with one row "
            "per day, or a FHIR R4 Bundle of daily Observations. With --store alone the "
            "store's only user is reported (or --user) with the default day rules."
        ),
    )
    source = report.add_mutually_exclusive_group()
    source.add_argument("--config", type=Path, default=default_config, metavar="PATH",
                        help="config file: its [storage] path and [user] id (default: "
                             "%(default)s)")
    source.add_argument("--store", type=Path, metavar="PATH",
                        help="the SQLite store to read, instead of the config's")
    report.add_argument("--user", metavar="ID", help="the user to report on (default: the "
                        "config's [user] id, or the store's only user)")
    report.add_argument("--from", dest="date_from", required=True, metavar="DATE",
                        type=_report_date, help="first day, YYYY-MM-DD")
    report.add_argument("--to", dest="date_to", required=True, metavar="DATE",
                        type=_report_date, help="last day, YYYY-MM-DD (included)")
    report.add_argument("--format", required=True, choices=["html", "csv", "fhir"])
    report.add_argument("--out", type=Path, required=True, metavar="PATH",
                        help="the file to write ('-' for standard output)")
    report.add_argument("--patient-id", metavar="ID",
                        help="fhir only: the user's Patient id at the clinic's FHIR server; "
                             "the bundle then refers to Patient/ID, as the HL7 Physical "
                             "Activity guide's profiles need (without it, an identifier "
                             "of the pacer user, and no profile claim)")

    symptom = sub.add_parser(
        "symptom",
        help="report how your back is: green, amber or red (with any red flags)",
        description=(
            "Send a traffic-light symptom report to the daemon over MQTT, as a phone would. "
            "green: mild, settles quickly. amber: moderate, settles within 24 h. red: sharp "
            "or severe, escalating, or lingering. A red flag (--flag) prints the advice at "
            "once, tells your physiotherapist and pauses other prompts until you have been seen."
        ),
        epilog=_red_flag_list(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    symptom.add_argument("level", choices=["green", "amber", "red"])
    symptom.add_argument("--flag", action="append", default=[], metavar="NAME",
                         choices=list(RED_FLAGS),
                         help="a red flag (repeat for several); the names are listed below")
    symptom.add_argument("--pain", type=int, metavar="0-10", help="pain now, 0 to 10")
    symptom.add_argument("--config", type=Path, default=default_config, help=config_help)

    ack = sub.add_parser(
        "ack",
        help="answer a prompt: done, snooze, dismiss, or seen (after a red flag)",
        description=(
            "Answer a prompt over MQTT, as a phone would. After a red flag, 'seen' says a "
            "clinician has seen you (the daily reminders stop; your physiotherapist still "
            "sees the alert); 'seen --resume' says you were told you can carry on, which "
            "also clears the alert and brings the pacing prompts back."
        ),
    )
    ack.add_argument("prompt", metavar="PROMPT_ID", help="the prompt's id, or 'last'")
    ack.add_argument("action", choices=["done", "snooze", "dismiss", "seen"])
    ack.add_argument("--minutes", type=int, help="snooze length (1-120, default 15)")
    ack.add_argument("--resume", action="store_true",
                     help="with seen: I was seen and told I can carry on")
    ack.add_argument("--config", type=Path, default=default_config, help=config_help)

    dnd = sub.add_parser(
        "dnd",
        help="do not disturb for N minutes (0 ends it); red flags still come",
        description="Silence prompts for a while (meetings, driving); red flags still come.",
    )
    dnd.add_argument("minutes", type=int)
    dnd.add_argument("--config", type=Path, default=default_config, help=config_help)

    day = sub.add_parser(
        "day",
        help="tell pacer you are up, or going to bed (your day's prompts start and stop)",
        description=(
            "Tell the daemon over MQTT, as the phone's 'I'm up' and 'Going to bed' buttons "
            "do, that you are up or going to bed. Your waking window opens when you are up "
            "and closes when you go to bed, so pacer does not nudge you in bed; it is "
            "believed at any hour: 'bed' then 'up' again for a nap or split sleep. Without "
            "it, pacer goes by your wearable and the configured times."
        ),
    )
    day.add_argument("event", choices=["up", "bed"],
                     help="up: I am up now; bed: I am going to bed now")
    day.add_argument("--config", type=Path, default=default_config, help=config_help)

    exercise = sub.add_parser(
        "exercise",
        help="record a strength or mobility session you have done",
        description=(
            "Tell the daemon over MQTT, as the phone's 'Done my exercises' button does, that "
            "you have done a strength or mobility session (your physiotherapist's exercises). "
            "Both options may be left out."
        ),
        epilog="example: pacer exercise --minutes 20 --what 'bridges and cat-camel'",
    )
    # The limits are pacer.contract.commands' (tests/pacer/test_cli.py checks they
    # agree); importing that module here would slow every `pacer --help`.
    exercise.add_argument("--minutes", type=int, metavar="N",
                          help="how long it took, 1 to 600 minutes")
    exercise.add_argument("--what", metavar="TEXT",
                          help="what you did, in your own words (at most 200 characters)")
    exercise.add_argument("--config", type=Path, default=default_config, help=config_help)

    scan = sub.add_parser(
        "scan",
        help="list nearby supported wearables: kind, address, name, signal strength",
        description=(
            "Scan for Bluetooth LE wearables pacer can read (InfiniTime watches, running "
            "speed and cadence foot pods, heart-rate straps) and print what to put in "
            "[[devices]]. Needs a Bluetooth adapter (BlueZ on Linux)."
        ),
    )
    scan.add_argument("--seconds", type=_positive_float, default=10.0,
                      help="how long to listen (default: %(default)s)")

    status = sub.add_parser(
        "status",
        help="what the daemon is doing: wearables, broker, last prompt, today's figures",
        description="Show what the daemon last recorded in its store, with its age (run it "
                    "on the daemon's machine): its heartbeat (running, stopped, or silent "
                    "since), the broker and wearables as it last saw them, the engine's own "
                    "time, the waking window and today's figures.",
    )
    status.add_argument("--config", type=Path, default=default_config, help=config_help)

    alert = sub.add_parser(
        "alert",
        help="on the daemon's own machine: clear an open red-flag alert",
        description=(
            "Clear the open red-flag (or review-suggested) alert, recorded like a plan "
            "change. Run it on the daemon's machine: it goes through the daemon's store."
        ),
    )
    alert.add_argument("action", choices=["clear"])
    alert.add_argument("--why", default="cleared on the daemon's machine",
                       help="why it is cleared (kept in the plan history)")
    alert.add_argument("--config", type=Path, default=default_config, help=config_help)

    clinic = sub.add_parser(
        "clinic",
        help="the clinic side: collect many patients' messages, serve the physio's view",
        description=(
            "collect: store every patient's summaries, alerts and events from MQTT "
            "(shared subscriptions; run several for load sharing). serve: the "
            "physiotherapist's web app and JSON API. add-user: set a sign-in password. "
            "token: read-only API tokens for scripts."
        ),
    )
    clinic_sub = clinic.add_subparsers(dest="clinic_command", required=True, metavar="WHAT")
    for name, text in (("collect", "store patients' messages until SIGTERM"),
                       ("serve", "serve the physiotherapist's web app until SIGTERM")):
        one = clinic_sub.add_parser(name, help=text, description=text)
        one.add_argument("--config", type=Path, required=True, metavar="CLINIC.toml",
                         help="clinic config (see config/clinic.example.toml)")
    add_user = clinic_sub.add_parser(
        "add-user", help="set a web sign-in password (asked twice, or one line on stdin)",
        description="Set NAME's password for the clinic web app, stored as an argon2 hash.")
    add_user.add_argument("name")
    add_user.add_argument("--config", type=Path, required=True, metavar="CLINIC.toml",
                          help="clinic config: its [web] users_file")
    _token_parser(clinic_sub)

    app = sub.add_parser(
        "app",
        help="serve the phone app: prompts, check-ins and today's picture",
        description=(
            "Serve the companion web app the person opens on their phone and adds to the "
            "home screen. The app connects to the broker itself, over MQTT on WebSockets "
            "(mosquitto's websockets listener); nothing passes through this server. "
            "Build the app first: cd pacer/app/web && npm ci && npm run build."
        ),
    )
    app.add_argument("--config", type=Path,
                     help="config file: the user id and the rule values the app shows "
                          "(default: /etc/pacer/pacer.toml if it exists)")
    app.add_argument("--host", default="127.0.0.1",
                     help="address to listen on (default: %(default)s)")
    app.add_argument("--port", type=int, default=8080, help="port (default: %(default)s)")
    app.add_argument("--broker-url", metavar="URL",
                     help="the broker's WebSockets address the app suggests, e.g. "
                          "wss://pi.example:8884 (default: the page's host, port 8884)")
    app.add_argument("--certfile", type=Path, help="TLS certificate (PEM), to serve https")
    app.add_argument("--keyfile", type=Path, help="TLS private key (PEM) for --certfile")

    check = sub.add_parser(
        "check-config",
        help="validate a config file",
        description=(
            "Validate a config file and what 'pacer run' will need from it (the files it "
            "names, the store's folder): exit 0, or exit 2 with one line per problem."),
    )
    check.add_argument("path", type=Path)
    return parser


ONE_SHOT = frozenset(("symptom", "ack", "dnd", "day", "exercise"))
"""Commands a person sends from the command line: quiet unless --verbose."""


def _token_parser(clinic_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``pacer clinic token create | list | revoke``."""
    token = clinic_sub.add_parser(
        "token", help="read-only API tokens for a physiotherapist's scripts",
        description=(
            "Tokens let a script read the clinic's JSON API (/api/, described at "
            "/api/openapi.json) as a clinician, with 'Authorization: Bearer pct_...': "
            "GET and HEAD only, never the web pages. Only a hash is stored."))
    token_sub = token.add_subparsers(dest="what", required=True, metavar="WHAT")
    config_help = "clinic config: its database (and [web] users_file)"
    create = token_sub.add_parser(
        "create", help="make a token and print it once",
        description=("Make a token that reads what USER may read; it is printed once on "
                     "stdout (only its hash is kept) and works until revoked, expired, or "
                     "USER is removed from the users file."))
    create.add_argument("--user", required=True, metavar="NAME",
                        help="the clinician the token acts as (a name in the users file)")
    create.add_argument("--name", metavar="LABEL",
                        help="what the token is for, shown by 'token list'")
    create.add_argument("--expires", type=int, metavar="DAYS",
                        help="stop working after DAYS days (default: never)")
    listing = token_sub.add_parser(
        "list", help="every token: id, user, name, times and state (never the token)",
        description="List every token with its owner, name, times and state.")
    revoke = token_sub.add_parser(
        "revoke", help="end a token at once",
        description="Revoke the token named ID (from 'token list'): refused from the next "
                    "request on.")
    revoke.add_argument("id", metavar="ID", help="the token's id (pct_<id>_...)")
    for one in (create, listing, revoke):
        one.add_argument("--config", type=Path, required=True, metavar="CLINIC.toml",
                         help=config_help)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(log_formatter())
    if args.log_level is None:
        # A person sending one command wants its answer, not the connection's story.
        quiet = args.command in ONE_SHOT and not args.verbose
        args.log_level = "WARNING" if quiet else "INFO"
    logging.basicConfig(level=args.log_level, handlers=[handler])
    # APScheduler says INFO for every run of every job: once a minute is noise.
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, logging.getLevelName(
        args.log_level)))
    try:
        return _dispatch(args)
    except ConfigError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        return EXIT_BAD_INPUT
    except BadInput as exc:
        print(f"pacer: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (PacerError, DeviceError) as exc:
        print(f"pacer: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return EXIT_FAILURE


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "check-config":
        from pacer.config import load_config, run_problems

        problems = run_problems(load_config(args.path), str(args.path))
        if problems:
            raise ConfigError(problems)
        print(f"{args.path}: ok")
        return EXIT_OK
    if args.command == "replay":
        from pacer.replay import replay_command

        return replay_command(args)
    if args.command == "report":
        from pacer.report.command import report_command

        return report_command(args)
    if args.command == "import":
        from pacer.importer import import_command

        return import_command(args)
    if args.command == "epochs":
        from pacer.epochs import epochs_command

        return epochs_command(args)
    if args.command == "run":
        from pacer.daemon.app import run_daemon

        return run_daemon(args.config)
    if args.command in ("symptom", "ack", "dnd", "day", "exercise"):
        from pacer.remote import command_main

        return command_main(args.config, args.command, _command_payload(args))
    if args.command == "scan":
        from pacer.scan import scan_main

        return scan_main(args.seconds)
    if args.command == "status":
        from pacer.status import status_main

        return status_main(args.config)
    if args.command == "alert":
        from pacer.remote import clear_alert_main

        return clear_alert_main(args.config, args.why)
    if args.command == "clinic":
        from pacer.clinic.command import clinic_main

        return clinic_main(args)
    if args.command == "app":
        from pacer.app.command import app_main

        return app_main(config_path=args.config, host=args.host, port=args.port,
                        broker_url=args.broker_url, certfile=args.certfile,
                        keyfile=args.keyfile)
    if args.command == "demo":
        from pacer.demo import run_demo

        return run_demo(speed=args.speed, hours=args.hours, wearable=args.wearable)
    raise AssertionError(args.command)  # argparse guarantees one of the above


def _red_flag_list() -> str:
    lines = ["red flags (--flag NAME):"]
    for tier, heading in (("emergency", "call the emergency number or go to the emergency "
                                        "department now"),
                          ("urgent", "get medical advice the same day")):
        lines.append(f"  {heading}:")
        lines += [f"    {f.name:<26} {f.words}" for f in FLAGS if f.tier == tier]
    return "\n".join(lines)


def _command_payload(args: argparse.Namespace) -> dict[str, object]:
    if args.command == "symptom":
        body: dict[str, object] = {"level": args.level}
        if args.flag:
            body["red_flags"] = list(args.flag)
        if args.pain is not None:
            body["pain"] = args.pain
        return body
    if args.command == "ack":
        body = {"prompt": args.prompt, "action": args.action}
        if args.minutes is not None:
            body["minutes"] = args.minutes
        if args.resume:
            body["resume"] = True  # refused with any action but seen, as over MQTT
        return body
    if args.command == "day":
        return {"event": args.event}
    if args.command == "exercise":
        body = {}
        if args.minutes is not None:
            body["minutes"] = args.minutes
        if args.what is not None:
            body["what"] = args.what  # an empty text is refused, as over MQTT
        return body
    return {"minutes": args.minutes}
