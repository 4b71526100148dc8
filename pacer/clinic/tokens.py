"""Read-only API tokens for physiotherapists' scripts (``pacer clinic token``).

A token reads ``pct_<id>_<secret>``: the id names its row (it is not secret,
``pacer clinic token list`` shows it), the secret is 32 random bytes from
``secrets``. The database keeps only the SHA-256 of the secret. A fast hash is
enough here, and argon2 would be wrong: argon2's cost protects passwords a
person chose, which can be guessed; a 256-bit random secret cannot be guessed
whatever the hash, and argon2 (64 MiB, tens of milliseconds) on every API
request would let a few scripts exhaust the web app. The comparison of
digests is in constant time (``hmac.compare_digest``).

A token acts as its owner: it reads what the owner's session may read, only
through the JSON API, only with GET or HEAD; it stops working when revoked,
when it expires, or when its owner is removed from the users file. A new
password does not end it (scripts keep running; revoke a token to end it).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Literal

PREFIX = "pct_"
SECRET_BYTES = 32
_TEXT = re.compile(r"^pct_([a-f0-9]{12})_([A-Za-z0-9_-]{43})$")
_NAME = re.compile(r"^[\w .,:@()/+'-]{1,80}$")
MAX_DAYS = 3650
# Compared against when the id is unknown, so both answers cost the same.
_DUMMY = hashlib.sha256(b"no such token").hexdigest()

State = Literal["active", "revoked", "expired"]


@dataclass(frozen=True, slots=True)
class NewToken:
    """A token as made: ``text`` is shown once, ``digest`` is stored."""

    id: str
    text: str
    digest: str


@dataclass(frozen=True, slots=True)
class ApiToken:
    """A stored token: who owns it and its times (seconds since the epoch)."""

    id: str
    user: str
    name: str
    digest: str
    created_at: float
    expires_at: float | None
    revoked_at: float | None
    last_used_at: float | None

    def state(self, now: float) -> State:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and now >= self.expires_at:
            return "expired"
        return "active"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_token() -> NewToken:
    token_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    return NewToken(token_id, f"{PREFIX}{token_id}_{secret}", digest(secret))


def split(text: str) -> tuple[str, str] | None:
    """(id, secret) of a token's text, or None when it is not one."""
    found = _TEXT.match(text)
    return (found.group(1), found.group(2)) if found else None


def bearer(header: str | None) -> str | None:
    """What an ``Authorization: Bearer ...`` header sends (maybe not a token
    at all), or None without one. Other schemes are not ours (a proxy's basic
    auth, say): they are left alone."""
    if header is None:
        return None
    scheme, _, value = header.strip().partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def secret_matches(stored: ApiToken | None, secret: str) -> bool:
    """Constant-time check of ``secret`` against the stored digest."""
    expected = stored.digest if stored is not None else _DUMMY
    return hmac.compare_digest(expected, digest(secret)) and stored is not None


def check_name(name: str) -> str:
    """A token's label, for the operator's list; raises ValueError."""
    if not _NAME.match(name):
        raise ValueError("a token's name is 1-80 letters, digits, spaces or .,:@()/+'-")
    return name


def expiry(now: float, days: int | None) -> float | None:
    if days is None:
        return None
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"--expires is a number of days from 1 to {MAX_DAYS}")
    return now + days * 86_400.0
