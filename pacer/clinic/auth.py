"""Sign-in for the clinic web app: passwords as argon2id hashes, CSRF tokens,
revocable sessions, throttling.

Passwords are hashed with argon2id (argon2-cffi's ``PasswordHasher`` defaults,
RFC 9106's second recommended profile: 64 MiB of memory, 3 passes, 4 lanes,
16-byte salt); a hash made with older parameters is re-hashed at the next
sign-in. The users file has one ``name:hash`` line per person and is written
with mode 0600. Passwords are never logged, echoed or kept after hashing.

A session is a row in the clinic's database (``Database.add_session``) named
by a random token that only the signed cookie carries; the row keeps a
fingerprint of the user's password hash, so a new password (``pacer clinic
add-user``) or the user's removal from the users file ends every session of
theirs at its next request, and signing out deletes the row.

Sign-in is throttled (``Throttle``): per account and per client address,
failed attempts in a sliding window, refused before any hashing once over
the limit; and at most ``HashGate.limit`` argon2 verifications (64 MiB each)
run at once, with a short queue, beyond which a sign-in is refused as busy.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import re
import secrets
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

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


def remove_user(path: Path, name: str) -> bool:
    """Remove ``name`` from the users file (their sessions end); False if absent."""
    users = read_users(path)
    if users.pop(name, None) is None:
        return False
    _write_users(path, users)
    return True


def fingerprint(hashed: str) -> str:
    """What a session keeps of its user's password hash: a new hash ends it."""
    return hashlib.sha256(hashed.encode()).hexdigest()[:32]


class UsersFile:
    """The users file, read again whenever it changes (checked per request)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._users: dict[str, str] = {}

    def hash_of(self, name: str) -> str | None:
        try:
            st = self.path.stat()
            stamp: tuple[int, int, int] | None = (st.st_ino, st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = None
        with self._lock:
            if stamp != self._stamp or stamp is None:
                self._users = read_users(self.path)
                self._stamp = stamp
            return self._users.get(name)


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


# --- throttling --------------------------------------------------------------------------

PER_ACCOUNT = 5  # failed sign-ins per account in WINDOW_S
PER_ADDRESS = 20  # failed sign-ins per client address in WINDOW_S
WINDOW_S = 15 * 60.0
MAX_KEYS = 10_000  # accounts and addresses remembered (the oldest forgotten first)


class Throttle:
    """Failed sign-ins per account and per client address in a sliding window.

    An attempt is counted as failed when it starts (so parallel attempts
    cannot slip past the limit) and forgiven when it succeeds. Names are
    counted whether or not such a user exists, so the answer does not tell."""

    def __init__(self, *, per_account: int = PER_ACCOUNT, per_address: int = PER_ADDRESS,
                 window_s: float = WINDOW_S, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = MAX_KEYS) -> None:
        self.limits = {"account": per_account, "address": per_address}
        self.window_s = window_s
        self.clock = clock
        self.max_keys = max_keys
        self._failed: dict[tuple[str, str], deque[float]] = {}

    def _recent(self, key: tuple[str, str]) -> deque[float]:
        stamps = self._failed.get(key)
        if stamps is None:
            return deque()
        horizon = self.clock() - self.window_s
        while stamps and stamps[0] <= horizon:
            stamps.popleft()
        if not stamps:
            del self._failed[key]
        return stamps

    def refused(self, name: str, address: str) -> tuple[str, float] | None:
        """(``account`` or ``address``, seconds until the next attempt may be
        made) when one is over its limit, else None."""
        for kind, value in (("account", name), ("address", address)):
            stamps = self._recent((kind, value))
            if len(stamps) >= self.limits[kind]:
                return kind, max(0.0, stamps[0] + self.window_s - self.clock())
        return None

    def failed(self, name: str, address: str) -> None:
        now = self.clock()
        for key in (("account", name), ("address", address)):
            self._failed.setdefault(key, deque()).append(now)
        if len(self._failed) > self.max_keys:
            for key in list(self._failed):
                self._recent(key)
            while len(self._failed) > self.max_keys:
                del self._failed[next(iter(self._failed))]

    def forgive(self, name: str, address: str, *, all_of_account: bool = False) -> None:
        """Undo the latest counted failure (the attempt was not a failure);
        ``all_of_account``: a successful sign-in clears the account's."""
        for key in (("account", name), ("address", address)):
            stamps = self._failed.get(key)
            if stamps:
                if all_of_account and key[0] == "account":
                    stamps.clear()
                else:
                    stamps.pop()
                if not stamps:
                    del self._failed[key]


class Busy(Exception):  # noqa: N818 - a state, not a failure of the program
    """Too many sign-ins are being checked at once."""


T = TypeVar("T")
HASHING = 2  # argon2 verifications at once: 64 MiB each
HASH_QUEUE = 8  # sign-ins waiting for one


class HashGate:
    """At most ``limit`` password checks at once (argon2id takes 64 MiB each),
    at most ``queue`` waiting; beyond that ``Busy`` at once. Used from one
    event loop."""

    def __init__(self, limit: int = HASHING, queue: int = HASH_QUEUE) -> None:
        self.limit = limit
        self.queue = queue
        self.running = 0
        self.waiting = 0
        self.most = 0  # the most checks seen running at once
        self._sem: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        if self._sem is None or self._loop is not loop:  # one loop, except in tests
            self._sem, self._loop = asyncio.Semaphore(self.limit), loop
        if self.running + self.waiting >= self.limit + self.queue:
            raise Busy(f"{self.running} password checks running, {self.waiting} waiting")
        self.waiting += 1
        try:
            await self._sem.acquire()
        finally:
            self.waiting -= 1
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            return await asyncio.to_thread(fn, *args)
        finally:
            self.running -= 1
            self._sem.release()
