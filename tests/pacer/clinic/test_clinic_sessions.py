"""The clinic web app's sessions and sign-in throttling (issue 19, items 4
and 5): a cookie copied before sign-out, a password change or the user's
removal signs in nobody; failed sign-ins are throttled per account and per
client address, refused before any hashing and logged; the argon2 checks
running at once are bounded."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient
from test_clinic_web import NAME, PASSWORD, Site, _csrf, _sign_in, site  # noqa: F401

from pacer.clinic import auth
from pacer.clinic.web import ClinicApp

OTHER, OTHER_PW = "sam.physio", "another good password"


def _clinic(site: Site) -> ClinicApp:  # noqa: F811
    clinic: ClinicApp = site.client.app.state.clinic  # type: ignore[attr-defined]
    return clinic


def _client(site: Site, address: str = "testclient") -> TestClient:  # noqa: F811
    return TestClient(site.client.app, client=(address, 50000))


# --- item 4: sessions end ---------------------------------------------------------------


def test_a_cookie_copied_before_sign_out_signs_in_nobody(site: Site) -> None:  # noqa: F811
    c = site.client
    assert _sign_in(c).status_code == 303
    copied = c.cookies["pacer_clinic"]
    token = _csrf(c.get("/").text)
    c.post("/signout", data={"csrf": token})
    assert c.get("/api/patients").status_code == 401
    thief = _client(site)
    thief.cookies.set("pacer_clinic", copied)
    assert thief.get("/api/patients").status_code == 401
    r = thief.get("/", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/signin")
    # The database keeps a hash of the session's token, never the token.
    assert site.db.query("SELECT count(*) FROM web_sessions") == [(0,)]


def test_a_new_password_ends_every_session_of_that_user(site: Site) -> None:  # noqa: F811
    auth.set_password(site.tmp / "users", OTHER, OTHER_PW)
    phone, desk, sam = site.client, _client(site), _client(site)
    for c in (phone, desk):
        assert _sign_in(c).status_code == 303
    assert _sign_in(sam, OTHER, OTHER_PW).status_code == 303
    copied = desk.cookies["pacer_clinic"]
    rows = site.db.query("SELECT id FROM web_sessions")
    assert len(rows) == 3
    assert all(copied not in r[0] for r in rows)
    auth.set_password(site.tmp / "users", NAME, "a brand new password")
    for c in (phone, desk):
        assert c.get("/api/patients").status_code == 401
    assert sam.get("/api/patients").status_code == 200
    assert _sign_in(desk).status_code == 401  # the old password
    assert _sign_in(desk, NAME, "a brand new password").status_code == 303
    assert desk.get("/api/patients").status_code == 200


def test_removing_the_user_ends_their_sessions(site: Site,  # noqa: F811
                                               caplog: pytest.LogCaptureFixture) -> None:
    c = site.client
    _sign_in(c)
    assert c.get("/api/patients").status_code == 200
    with caplog.at_level(logging.INFO, logger="pacer.clinic.web"):
        assert auth.remove_user(site.tmp / "users", NAME)
        assert c.get("/api/patients").status_code == 401
    assert f"session of {NAME} ended: removed from the users file" in caplog.text
    assert not auth.remove_user(site.tmp / "users", NAME)
    assert _sign_in(c).status_code == 401


def test_an_old_style_cookie_signs_in_nobody(site: Site) -> None:  # noqa: F811
    """A cookie naming a user, signed with the right key, as before sessions
    had rows: not a session."""
    from itsdangerous import TimestampSigner  # noqa: PLC0415

    secret = (site.tmp / "secret").read_text().strip()
    data = base64.b64encode(json.dumps({"user": NAME}).encode())
    forged = TimestampSigner(secret).sign(data).decode()
    c = _client(site)
    c.cookies.set("pacer_clinic", forged)
    assert c.get("/api/patients").status_code == 401


# --- item 5: throttling ---------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = auth.verify

    def verify(path: Path, name: str, password: str) -> bool:
        calls.append(name)
        return real(path, name, password)

    monkeypatch.setattr(auth, "verify", verify)
    return calls


def test_failed_sign_ins_are_throttled_per_account(
        site: Site, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
        caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    _clinic(site).throttle.clock = clock
    calls = _counting(monkeypatch)
    c = site.client
    for _ in range(auth.PER_ACCOUNT):
        assert _sign_in(c, NAME, "wrong password").status_code == 401
    with caplog.at_level(logging.WARNING, logger="pacer.clinic.web"):
        r = _sign_in(c)  # the right password, too late
    assert r.status_code == 429
    assert "Too many failed sign-ins; try again in 15 minutes." in r.text
    assert len(calls) == auth.PER_ACCOUNT  # refused before any hashing
    assert f"sign-in for '{NAME}' from testclient refused: too many failed attempts for " \
           "this account" in caplog.text
    assert c.get("/api/patients").status_code == 401
    # Another account from the same address is not held up.
    auth.set_password(site.tmp / "users", OTHER, OTHER_PW)
    assert _sign_in(_client(site), OTHER, OTHER_PW).status_code == 303
    # The window slides: the oldest failure ages out, one more try.
    clock.now += auth.WINDOW_S + 1
    assert _sign_in(c).status_code == 303
    assert c.get("/api/patients").status_code == 200


def test_failed_sign_ins_are_throttled_per_address(site: Site,  # noqa: F811
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    _clinic(site).throttle.clock = Clock()
    calls = _counting(monkeypatch)
    c = _client(site, "198.51.100.7")
    for i in range(auth.PER_ADDRESS):  # a different name each time
        assert _sign_in(c, f"guess{i}", "password1234").status_code == 401
    r = _sign_in(c)
    assert r.status_code == 429
    assert len(calls) == auth.PER_ADDRESS
    assert _sign_in(_client(site, "198.51.100.8")).status_code == 303


def test_a_successful_sign_in_forgives_the_account_s_failures(site: Site) -> None:  # noqa: F811
    _clinic(site).throttle.clock = Clock()
    c = site.client
    for _ in range(3):
        for _ in range(auth.PER_ACCOUNT - 1):
            assert _sign_in(c, NAME, "typo typo typo").status_code == 401
        assert _sign_in(c).status_code == 303


def test_throttle_remembers_a_bounded_number_of_names() -> None:
    clock = Clock()
    throttle = auth.Throttle(clock=clock, max_keys=100)
    for i in range(1000):
        throttle.failed(f"name{i}", "198.51.100.9")
    assert len(throttle._failed) <= 100
    assert throttle.refused("someone", "198.51.100.9") == ("address", auth.WINDOW_S)


def test_concurrent_password_checks_are_bounded(site: Site,  # noqa: F811
                                                monkeypatch: pytest.MonkeyPatch,
                                                caplog: pytest.LogCaptureFixture) -> None:
    """Sign-ins from many addresses at once: two argon2 checks run, eight
    wait, the rest are refused at once as busy (and logged)."""
    release = threading.Event()
    real = auth.verify

    def slow(path: Path, name: str, password: str) -> bool:
        assert release.wait(30)
        return real(path, name, password)

    monkeypatch.setattr(auth, "verify", slow)
    clinic = _clinic(site)
    app: Any = site.client.app
    extra = 3
    total = auth.HASHING + auth.HASH_QUEUE + extra

    async def one(i: int, started: asyncio.Event) -> int:
        transport = httpx.ASGITransport(app=app, client=(f"203.0.113.{i}", 4000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            token = _csrf((await c.get("/signin")).text)
            started.set()
            r = await c.post("/signin", data={"csrf": token, "name": f"user{i}",
                                               "password": "not it at all"})
            return r.status_code

    async def main() -> list[int]:
        events = [asyncio.Event() for _ in range(total)]
        tasks = [asyncio.ensure_future(one(i, e)) for i, e in enumerate(events)]
        for e in events:
            await e.wait()
        deadline = asyncio.get_running_loop().time() + 30  # a hang guard, not a bound
        while sum(t.done() for t in tasks) < extra or clinic.gate.waiting < auth.HASH_QUEUE:
            assert asyncio.get_running_loop().time() < deadline, [
                t.result() for t in tasks if t.done()]
            await asyncio.sleep(0.01)  # until the queue is full and the rest refused
        assert clinic.gate.running == auth.HASHING
        release.set()
        return list(await asyncio.gather(*tasks))

    try:
        with caplog.at_level(logging.WARNING, logger="pacer.clinic.web"):
            codes = asyncio.run(main())
    finally:
        release.set()  # no thread left waiting, whatever happened
    assert sorted(codes) == [401] * (auth.HASHING + auth.HASH_QUEUE) + [503] * extra
    assert clinic.gate.most == auth.HASHING
    assert "refused: busy" in caplog.text


def test_hash_gate_alone() -> None:
    gate = auth.HashGate(limit=1, queue=1)
    release = threading.Event()

    async def main() -> list[object]:
        first = asyncio.ensure_future(gate.run(release.wait, 30))
        while gate.running < 1:
            await asyncio.sleep(0.01)
        second = asyncio.ensure_future(gate.run(lambda: "second"))
        while gate.waiting < 1:
            await asyncio.sleep(0.01)
        with pytest.raises(auth.Busy):
            await gate.run(lambda: "third")
        release.set()
        return [await first, await second]

    assert asyncio.run(main()) == [True, "second"]
    assert (gate.running, gate.waiting, gate.most) == (0, 0, 1)
