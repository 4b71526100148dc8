"""Sign-in for the clinic web app: passwords as argon2id hashes, CSRF tokens.

Passwords are hashed with argon2id (argon2-cffi's ``PasswordHasher`` defaults,
RFC 9106's second recommended profile: 64 MiB of memory, 3 passes, 4 lanes,
16-byte salt); a hash made with older parameters is re-hashed at the next
sign-in. The users file has one ``name:hash`` line per person and is written
with mode 0600. Passwords are never logged, echoed or kept after hashing.
"""

from __future__ import annotations

import hmac
import os
import re
import secrets
import tempfile
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from pacer.errors import BadInput

NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MIN_PASSWORD = 10
_HASHER = PasswordHasher()
# Verifying an unknown name still costs one hash, so timing does not tell
# whether a name exists.
_DUMMY = _HASHER.hash(secrets.token_hex(16))


def read_users(path: Path) -> dict[str, str]:
    """Names and hashes; an absent file means nobody can sign in yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    users = {}
    for line in text.splitlines():
        name, sep, hashed = line.strip().partition(":")
        if sep and NAME.match(name):
            users[name] = hashed
    return users


def _write_users(path: Path, users: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".users-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.writelines(f"{n}:{h}\n" for n, h in sorted(users.items()))
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def set_password(path: Path, name: str, password: str) -> None:
    """Add or change ``name``'s password in the users file."""
    if not NAME.match(name):
        raise BadInput(f"{name!r}: a user name is 1-64 letters, digits, '.', '_' or '-'")
    if len(password) < MIN_PASSWORD:
        raise BadInput(f"the password must have at least {MIN_PASSWORD} characters")
    users = read_users(path)
    users[name] = _HASHER.hash(password)
    _write_users(path, users)


def verify(path: Path, name: str, password: str) -> bool:
    """True when ``password`` is ``name``'s; re-hashes outdated parameters."""
    users = read_users(path)
    hashed = users.get(name)
    try:
        _HASHER.verify(hashed or _DUMMY, password)
    except (VerificationError, InvalidHashError):
        return False
    if hashed is None:
        return False
    if _HASHER.check_needs_rehash(hashed):
        users[name] = _HASHER.hash(password)
        _write_users(path, users)
    return True


def csrf_token(session: dict[str, object]) -> str:
    """The session's CSRF token (made on first use); forms carry it back."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def csrf_ok(session: dict[str, object], sent: object) -> bool:
    token = session.get("csrf")
    return (isinstance(token, str) and isinstance(sent, str)
            and hmac.compare_digest(token.encode(), sent.encode()))


def load_secret(path: Path) -> str:
    """The cookie-signing key: read from ``path``, made there (0600) if absent."""
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        secret = ""
    if len(secret) < 32:
        secret = secrets.token_urlsafe(48)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(secret + "\n")
    return secret
