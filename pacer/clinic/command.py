"""``pacer clinic collect | serve | add-user | token``."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from pacer.clinic.config import ClinicConfig, load_clinic_config
from pacer.errors import BadInput
from pacer.extras import needs_extra


def _password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("new password: ")
        if getpass.getpass("again: ") != first:
            raise BadInput("the two passwords differ; nothing was changed")
        return first
    return sys.stdin.readline().removesuffix("\n").removesuffix("\r")


def _check_database_driver(config: ClinicConfig) -> None:
    """A PostgreSQL clinic needs psycopg: say so before anything starts, not at
    the first write (SQLite needs nothing)."""
    if "://" in config.database:
        with needs_extra("clinic", "a PostgreSQL clinic database"):
            import psycopg  # noqa: F401, PLC0415


def clinic_main(args: argparse.Namespace) -> int:
    config = load_clinic_config(args.config)
    if args.clinic_command == "add-user":
        with needs_extra("clinic", "pacer clinic add-user"):
            from pacer.clinic.auth import set_password  # noqa: PLC0415 - argon2 only here

        set_password(config.web.users_file, args.name, _password())
        print(f"{args.name}: password set in {config.web.users_file}")
        return 0
    _check_database_driver(config)
    if args.clinic_command == "token":
        from pacer.clinic.token_command import token_main  # noqa: PLC0415

        return token_main(config, args)
    if args.clinic_command == "collect":
        from pacer.clinic.collector import collect  # noqa: PLC0415

        return asyncio.run(collect(config))
    with needs_extra("clinic", "pacer clinic serve"):
        import uvicorn  # noqa: F401, PLC0415 - imported by serve, checked here

        from pacer.clinic.web import serve  # noqa: PLC0415 - starlette only here

    return serve(config)
