"""Read-only API tokens for physiotherapists' scripts (issue 17, item 6):
made, listed and revoked with ``pacer clinic token``, stored as a hash,
never logged; a token reads the JSON API exactly as its owner's session does,
only with GET or HEAD, never a page; revoked, expired or with its owner
removed it is refused at the next request.

Each web test runs on SQLite and on PostgreSQL (skipped without a server on
127.0.0.1:5432), with the app and the command line on their own connections,
as ``pacer clinic serve`` and ``pacer clinic token`` are.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from helpers.clinic import CLINIC_PATIENTS
from helpers.daemon import pacer_cli, wait_until
from starlette.routing import Route
from starlette.testclient import TestClient
from test_clinic_collector import pg_url  # noqa: F401 - a fixture
from test_clinic_web import LISTED_ONLY, NAME, PASSWORD, _config, _fill, _sign_in

from pacer.cli import main
from pacer.clinic import auth, tokens
from pacer.clinic.config import load_clinic_config
from pacer.clinic.db import Database
from pacer.clinic.web import create_app
from pacer.mqtt.broker import free_port, port_open

OTHER, OTHER_PW = "sam.physio", "another good password"


@dataclass
class ApiSite:
    client: TestClient
    db: Database
    tmp: Path
    config: Path

    def pacer(self, *args: str) -> int:
        """``pacer clinic token ARGS --config ...`` in this process."""
        return main(["clinic", "token", *args, "--config", str(self.config)])

    def token(self, capsys: pytest.CaptureFixture[str], *args: str,
              user: str = NAME) -> str:
        assert self.pacer("create", "--user", user, *args) == 0
        out = capsys.readouterr().out.strip()
        assert tokens.split(out) is not None, out
        return out

    def get(self, path: str, token: str) -> httpx.Response:
        response: httpx.Response = self.client.get(path, headers=_bearer(token))
        return response


@pytest.fixture(params=["sqlite", "postgresql"])
def api_site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ApiSite]:
    path = _config(tmp_path)
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_url")
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace('database = "clinic.sqlite3"', f'database = "{url}"'),
                        encoding="utf-8")
    config = load_clinic_config(path)
    auth.set_password(config.web.users_file, NAME, PASSWORD)
    db = Database(config.database)
    _fill(db)
    try:
        with TestClient(create_app(config, db=db, connect=False)) as client:
            yield ApiSite(client, db, tmp_path, path)
    finally:
        db.close()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _parts(token: str) -> tuple[str, str]:
    parts = tokens.split(token)
    assert parts is not None, token
    return parts


# --- reading as the owner ------------------------------------------------------------------


def test_a_token_reads_what_its_owner_reads(api_site: ApiSite,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    token = api_site.token(capsys, "--name", "weekly export")
    browser = TestClient(api_site.client.app)
    assert _sign_in(browser).status_code == 303
    script = TestClient(api_site.client.app)
    paths = ["/api/patients", "/api/patients/nobody-here",
             *(f"/api/patients/{p}" for p in [*CLINIC_PATIENTS, LISTED_ONLY])]
    for path in paths:
        as_owner = browser.get(path)
        as_token = script.get(path, headers=_bearer(token))
        assert as_token.status_code == as_owner.status_code, path
        assert as_token.json() == as_owner.json(), path
    assert script.head("/api/patients", headers=_bearer(token)).status_code == 200
    assert "pacer_clinic" not in script.cookies  # no session was made for the script
    # last used: noted, and shown by the list
    row = api_site.db.tokens(_parts(token)[0])[0]
    assert row.last_used_at is not None
    assert row.last_used_at >= row.created_at
    assert api_site.pacer("list") == 0
    listed = capsys.readouterr().out
    assert "weekly export" in listed
    assert "active" in listed
    assert "LAST USED" in listed.splitlines()[0]


def test_the_database_keeps_only_a_hash(api_site: ApiSite,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    token = api_site.token(capsys)
    token_id, secret = _parts(token)
    stored = api_site.db.query("SELECT * FROM api_tokens")
    assert len(stored) == 1
    text = repr(stored)
    assert secret not in text
    assert token not in text
    assert tokens.digest(secret) in text
    assert api_site.pacer("list") == 0
    listed = capsys.readouterr().out
    assert token_id in listed
    assert secret not in listed
    assert tokens.digest(secret) not in listed


def test_last_use_is_written_at_most_once_a_minute(api_site: ApiSite,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    token_id = _parts(api_site.token(capsys))[0]
    db = api_site.db
    for now in (1000.0, 1030.0, 1059.9):
        db.token_used(token_id, now)
    assert db.tokens(token_id)[0].last_used_at == 1000.0
    db.token_used(token_id, 1060.0)
    assert db.tokens(token_id)[0].last_used_at == 1060.0


# --- only reading, only the API ------------------------------------------------------------


def test_a_token_only_reads(api_site: ApiSite, capsys: pytest.CaptureFixture[str]) -> None:
    token = api_site.token(capsys)
    c = api_site.client
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        for path in ("/api/patients", "/api/patients/anna-k", "/patients/anna-k/plan",
                     "/signout"):
            r = c.request(method, path, headers=_bearer(token))
            assert r.status_code == 403, (method, path)
            assert "only read" in r.json()["error"]
    # The plan form with a token and a well-formed body: refused, nothing stored.
    r = c.post("/patients/anna-k/plan", headers=_bearer(token),
               data={"why": "more walking", "plan.quota": "4000"})
    assert r.status_code == 403
    assert api_site.db.query("SELECT count(*) FROM plan_requests") == [(0,)]


def test_a_token_never_opens_a_page(api_site: ApiSite,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    token = api_site.token(capsys)
    routes = api_site.client.app.routes  # type: ignore[attr-defined]
    pages = [r.path.replace("{patient}", "anna-k") for r in routes
             if isinstance(r, Route) and not r.path.startswith(("/api/", "/signin"))
             and "GET" in (r.methods or ())]  # every page, the CSV exports too
    assert {"/", "/patients/anna-k"} <= set(pages)
    for path in pages:
        r = api_site.client.get(path, headers=_bearer(token), follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, "/signin")


def test_a_sent_token_is_checked_even_with_a_session(
        api_site: ApiSite, capsys: pytest.CaptureFixture[str]) -> None:
    """A bad token is refused, not quietly replaced by the browser's session."""
    token = api_site.token(capsys)
    c = api_site.client
    assert _sign_in(c).status_code == 303
    assert c.get("/api/patients").status_code == 200
    other = token[:-1] + ("B" if token.endswith("A") else "A")  # one character off, always
    assert c.get("/api/patients", headers=_bearer(other)).status_code == 401
    assert c.get("/api/patients", headers=_bearer(token)).status_code == 200


# --- refused ------------------------------------------------------------------------------


def test_wrong_and_malformed_tokens_are_refused(api_site: ApiSite,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    token = api_site.token(capsys)
    token_id, secret = _parts(token)
    other = tokens.new_token().text  # well-formed, never stored
    wrong_secret = f"pct_{token_id}_{secret[::-1]}"
    c = api_site.client
    for header in (f"Bearer {other}", f"Bearer {wrong_secret}", "Bearer", "Bearer pct_",
                   f"Bearer {token} extra", f"bearer {secret}"):
        r = c.get("/api/patients", headers={"Authorization": header})
        assert r.status_code == 401, header
        assert r.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    # Another scheme is not a token (a proxy's basic auth, sent with every
    # request, forms too): the session decides.
    behind_proxy = TestClient(c.app, headers={"Authorization": "Basic cHJveHk6cGFzcw=="})
    r = behind_proxy.get("/api/patients")
    assert (r.status_code, r.json()) == (401, {"error": "sign in first"})
    assert _sign_in(behind_proxy).status_code == 303
    assert behind_proxy.get("/api/patients").status_code == 200
    assert c.get("/api/patients", headers={"Authorization": f"bearer {token}"}
                 ).status_code == 200  # the scheme's case does not matter (RFC 7235)


def test_a_revoked_token_is_refused_at_once(api_site: ApiSite,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    token = api_site.token(capsys)
    kept = api_site.token(capsys)
    token_id = _parts(token)[0]
    c = api_site.client
    assert c.get("/api/patients", headers=_bearer(token)).status_code == 200
    assert api_site.pacer("revoke", token_id) == 0
    assert "revoked" in capsys.readouterr().out
    r = c.get("/api/patients", headers=_bearer(token))
    assert r.status_code == 401
    assert "revoked" in r.json()["error"]
    assert c.get("/api/patients", headers=_bearer(kept)).status_code == 200
    assert api_site.pacer("revoke", token_id) == 0
    assert "already revoked" in capsys.readouterr().out
    assert api_site.pacer("revoke", "0123456789ab") == 2
    assert "no token '0123456789ab'" in capsys.readouterr().err
    assert api_site.pacer("list") == 0
    states = {line.split()[0]: line.split()[-1]
              for line in capsys.readouterr().out.splitlines()[1:]}
    assert states == {token_id: "revoked", _parts(kept)[0]: "active"}


def test_an_expired_token_is_refused(api_site: ApiSite,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    token = api_site.token(capsys, "--expires", "30")
    token_id = _parts(token)[0]
    row = api_site.db.tokens(token_id)[0]
    assert row.expires_at == pytest.approx(row.created_at + 30 * 86_400)
    assert api_site.get("/api/patients", token).status_code == 200
    # Its stored expiry passed (the clock is the server's: move the row, not time).
    with api_site.db.transaction() as conn:
        conn.execute("UPDATE api_tokens SET expires_at = created_at - 1 WHERE id = ?",
                     (token_id,))
    assert api_site.get("/api/patients", token).status_code == 401
    assert api_site.pacer("list") == 0
    assert capsys.readouterr().out.splitlines()[1].endswith("expired")


def test_a_token_ends_with_its_owner_not_with_a_new_password(
        api_site: ApiSite, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    users = api_site.tmp / "users"
    auth.set_password(users, OTHER, OTHER_PW)
    mine, sams = api_site.token(capsys), api_site.token(capsys, user=OTHER)
    auth.set_password(users, NAME, "a brand new password")
    assert api_site.get("/api/patients", mine).status_code == 200
    with caplog.at_level(logging.WARNING, logger="pacer.clinic.web"):
        assert auth.remove_user(users, NAME)
        assert api_site.get("/api/patients", mine).status_code == 401
    assert f"{NAME} is no longer in the users file" in caplog.text
    assert api_site.get("/api/patients", sams).status_code == 200


# --- never logged ----------------------------------------------------------------------


def test_a_token_is_never_logged(api_site: ApiSite, capsys: pytest.CaptureFixture[str],
                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    assert api_site.pacer("create", "--user", NAME) == 0
    made = capsys.readouterr()
    token = made.out.strip()
    token_id, secret = _parts(token)
    assert secret not in made.err
    assert token_id in made.err
    c = api_site.client
    for _ in range(2):
        c.get("/api/patients", headers=_bearer(token))
    c.post("/api/patients", headers=_bearer(token))
    c.get("/", headers=_bearer(token))
    c.get("/api/patients", headers=_bearer(f"pct_{token_id}_{secret[::-1]}"))
    assert api_site.pacer("revoke", token_id) == 0
    c.get("/api/patients", headers=_bearer(token))
    assert api_site.pacer("list") == 0
    printed = capsys.readouterr()
    assert f"API token {token_id} of {NAME} refused: revoked" in caplog.text
    for text in (caplog.text, printed.out, printed.err):
        assert secret not in text
        assert secret[::-1] not in text


def test_the_server_and_the_command_line_never_log_a_token(tmp_path: Path) -> None:
    """``pacer clinic serve`` (uvicorn, its access log, pacer's log at DEBUG)
    and ``pacer clinic token`` as processes: the secret is in no output but
    the one line ``create`` prints."""
    port = free_port()
    path = _config(tmp_path)
    path.write_text(path.read_text(encoding="utf-8").replace(
        "[web]\n", f"[web]\nport = {port}\n"), encoding="utf-8")
    config = load_clinic_config(path)
    auth.set_password(config.web.users_file, NAME, PASSWORD)
    _fill(Database(config.database))

    def pacer(*args: str) -> subprocess.CompletedProcess[str]:
        return pacer_cli("--log-level", "DEBUG", "clinic", "token", *args, "--config", str(path),
                         timeout=60)

    made = pacer("create", "--user", NAME, "--name", "export")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    token_id, secret = _parts(token)
    outputs = [made.stderr]
    log_path = tmp_path / "web.log"
    with log_path.open("ab") as log:
        web = subprocess.Popen([sys.executable, "-m", "pacer", "--log-level", "DEBUG", "clinic",
                                "serve", "--config", str(path)], stdout=log, stderr=log)
    try:
        wait_until(lambda: port_open("127.0.0.1", port), 30, "the clinic web app listening")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as c:
            assert c.get("/api/patients", headers=_bearer(token)).status_code == 200
            assert c.post("/api/patients", headers=_bearer(token)).status_code == 403
            wrong = f"pct_{token_id}_{secret[::-1]}"
            assert c.get("/api/patients", headers=_bearer(wrong)).status_code == 401
            revoked = pacer("revoke", token_id)
            assert revoked.returncode == 0, revoked.stderr
            assert c.get("/api/patients", headers=_bearer(token)).status_code == 401
        listed = pacer("list")
        assert token_id in listed.stdout
        outputs += [revoked.stdout, revoked.stderr, listed.stdout, listed.stderr]
    finally:
        web.terminate()
        web.wait(15)
    outputs.append(log_path.read_text(encoding="utf-8"))
    assert '"GET /api/patients HTTP/1.1" 200' in outputs[-1]  # the access log was kept
    assert f"API token {token_id} of {NAME} refused: revoked" in outputs[-1]
    for text in outputs:
        assert secret not in text
        assert secret[::-1] not in text


# --- the command line ------------------------------------------------------------------


def test_create_checks_what_it_is_given(api_site: ApiSite,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    for args, says in ((["--user", "nobody"], "'nobody' is not in"),
                       (["--user", NAME, "--expires", "0"], "--expires is a number of days"),
                       (["--user", NAME, "--expires", "100000"], "from 1 to 3650"),
                       (["--user", NAME, "--name", "<script>"], "a token's name is")):
        assert api_site.pacer("create", *args) == 2, args
        captured = capsys.readouterr()
        assert captured.out == ""
        assert says in captured.err
    assert api_site.db.tokens() == []


def test_an_unreachable_database_exits_1(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    path = _config(tmp_path)
    path.write_text(path.read_text(encoding="utf-8").replace(
        'database = "clinic.sqlite3"', 'database = "postgresql://nobody@127.0.0.1:1/clinic"'),
        encoding="utf-8")
    auth.set_password(tmp_path / "users", NAME, PASSWORD)
    assert main(["clinic", "token", "list", "--config", str(path)]) == 1
    assert "the clinic database cannot be opened" in capsys.readouterr().err
    assert main(["clinic", "token", "create", "--user", NAME, "--config", str(path)]) == 1
    assert capsys.readouterr().out == ""


def test_token_help_names_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["clinic", "token", "--help"])
    assert done.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for word in ("create", "list", "revoke", "Authorization: Bearer", "GET and HEAD only"):
        assert word in text
    with pytest.raises(SystemExit) as done:
        main(["clinic", "token", "create", "--config", "x.toml"])  # no --user
    assert done.value.code == 2


# --- the pure parts -------------------------------------------------------------------------


def test_token_text_parts_and_states() -> None:
    made = tokens.new_token()
    token_id, secret = _parts(made.text)
    assert (token_id, tokens.digest(secret)) == (made.id, made.digest)
    assert len(secret) == 43  # 32 random bytes
    assert tokens.new_token().text != made.text
    for bad in ("", made.text + "x", made.text.replace("pct_", "pat_"), made.text[:-1]):
        assert tokens.split(bad) is None, bad
    assert tokens.bearer(None) is None
    assert tokens.bearer("Basic abc") is None
    assert tokens.bearer("Bearer") == ""
    assert tokens.bearer("  Bearer  pct_x ") == "pct_x"
    row = tokens.ApiToken(made.id, NAME, "n", made.digest, 100.0, 200.0, None, None)
    assert [row.state(t) for t in (100.0, 199.9, 200.0)] == ["active", "active", "expired"]
    assert tokens.ApiToken(made.id, NAME, "n", made.digest, 100.0, None, 150.0, None
                           ).state(120.0) == "revoked"
    assert tokens.secret_matches(row, secret)
    assert not tokens.secret_matches(row, secret[:-1] + ("y" if secret.endswith("x") else "x"))
    assert not tokens.secret_matches(None, secret)
    assert tokens.expiry(1000.0, None) is None
    assert tokens.expiry(1000.0, 2) == 1000.0 + 2 * 86_400
