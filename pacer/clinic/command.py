"""``pacer clinic collect | serve | add-user``."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from pacer.clinic.config import load_clinic_config
from pacer.errors import BadInput


def _password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("new password: ")
        if getpass.getpass("again: ") != first:
            raise BadInput("the two passwords differ; nothing was changed")
        return first
    return sys.stdin.readline().removesuffix("\n").removesuffix("\r")


def clinic_main(args: argparse.Namespace) -> int:
    config = load_clinic_config(args.config)
    if args.clinic_command == "add-user":
        from pacer.clinic.auth import set_password  # noqa: PLC0415 - argon2 only here

        set_password(config.web.users_file, args.name, _password())
        print(f"{args.name}: password set in {config.web.users_file}")
        return 0
    if args.clinic_command == "collect":
        from pacer.clinic.collector import collect  # noqa: PLC0415

        return asyncio.run(collect(config))
    from pacer.clinic.web import serve  # noqa: PLC0415 - starlette only here

    return serve(config)
