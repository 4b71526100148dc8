"""``pacer clinic token create | list | revoke``: read-only API tokens for
physiotherapists' scripts (see ``tokens``).

``create`` prints the token alone on stdout, once (``TOKEN=$(pacer clinic
token create ...)``), and what to do with it on stderr; the database keeps
only its hash, so a lost token is revoked and made again.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime

from pacer.clinic import tokens
from pacer.clinic.auth import read_users
from pacer.clinic.config import ClinicConfig
from pacer.clinic.db import Database
from pacer.errors import BadInput, PacerError


@contextlib.contextmanager
def _database(config: ClinicConfig) -> Iterator[Database]:
    try:
        db = Database(config.database)
    except Exception as exc:  # the driver's own errors, SQLite's or psycopg's
        raise PacerError(f"the clinic database cannot be opened ({type(exc).__name__}: "
                         f"{exc}); check `database` in the config and that the "
                         "database is running") from None
    try:
        yield db
    finally:
        db.close()


def _when(stamp: float | None) -> str:
    if stamp is None:
        return "-"
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


def rows(found: list[tokens.ApiToken], now: float) -> list[str]:
    """The token list as lines of text: never a digest."""
    head = ("ID", "USER", "NAME", "CREATED", "EXPIRES", "LAST USED", "STATE")
    table = [head] + [(t.id, t.user, t.name, _when(t.created_at), _when(t.expires_at),
                       _when(t.last_used_at), t.state(now)) for t in found]
    widths = [max(len(r[i]) for r in table) for i in range(len(head))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
            for r in table]


def create(config: ClinicConfig, user: str, name: str | None, days: int | None,
           now: float) -> tokens.NewToken:
    if user not in read_users(config.web.users_file):
        raise BadInput(f"{user!r} is not in {config.web.users_file}; a token acts as a "
                       "clinician who can sign in: add them first with pacer clinic add-user")
    try:
        label = tokens.check_name(name if name is not None else f"{user}'s script")
        expires = tokens.expiry(now, days)
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    made = tokens.new_token()
    with _database(config) as db:
        db.add_token(tokens.ApiToken(made.id, user, label, made.digest, now, expires,
                                     None, None))
    return made


def token_main(config: ClinicConfig, args: argparse.Namespace) -> int:
    now = time.time()
    if args.what == "create":
        made = create(config, args.user, args.name, args.expires, now)
        print(made.text)
        print(f"token {made.id} for {args.user}: shown once, only its hash is kept. Keep it "
              "where the script keeps secrets; it reads the JSON API (GET) as "
              f"{args.user}. Revoke it with: pacer clinic token revoke {made.id}",
              file=sys.stderr)
        return 0
    with _database(config) as db:
        if args.what == "list":
            print("\n".join(rows(db.tokens(), now)))
            return 0
        if db.revoke_token(args.id, now):
            print(f"token {args.id} revoked: it is refused from the next request on")
            return 0
        if db.tokens(args.id):
            print(f"token {args.id} was already revoked")
            return 0
    raise BadInput(f"no token {args.id!r}; see pacer clinic token list")
