"""What checking a clinic API token costs, against what argon2 would.

A token's secret is checked on every API request, so its hash must be fast;
the web app's argon2id password hash (64 MiB, 3 passes) is made to be slow.
This prints the median time of one SHA-256 check of a token's secret, of one
argon2id verification with the app's parameters, and of a whole
``GET /api/patients`` on a filled SQLite clinic with a token and with a
session (Starlette's test client: no network).

    .venv/bin/python bench/clinic_token_check.py [--requests 200]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from _timing import interleaved, median_s
from starlette.testclient import TestClient

from pacer.clinic import auth, tokens
from pacer.clinic.config import ClinicConfig, WebConfig
from pacer.clinic.db import Database
from pacer.clinic.records import parse
from pacer.clinic.web import create_app

# The simulated patients' messages are test helpers (tests/helpers/, not shipped):
# this script runs from the repo, so it puts the tests' folder on the path, and
# the repo before it (tests/pacer mirrors the package's name; the package wins).
REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]
from helpers.clinic import clinic_messages  # noqa: E402

NAME, PASSWORD = "bench.physio", "a bench password"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="API requests timed each way")
    args = parser.parse_args()

    made = tokens.new_token()
    _id, secret = tokens.split(made.text) or ("", "")
    row = tokens.ApiToken(made.id, NAME, "bench", made.digest, 0.0, None, None, None)
    sha = median_s(lambda: tokens.secret_matches(row, secret), 10_000)
    hashed = auth._HASHER.hash(PASSWORD)  # the app's own parameters
    argon = median_s(lambda: auth._HASHER.verify(hashed, PASSWORD), 20)
    print(f"SHA-256 token check:      {sha * 1e6:8.2f} µs")
    print(f"argon2id verification:    {argon * 1e3:8.2f} ms  ({argon / sha:,.0f} times as long)")

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config = ClinicConfig(database=str(folder / "clinic.sqlite3"),
                              web=WebConfig(users_file=folder / "users",
                                            secret_file=folder / "secret"))
        auth.set_password(config.web.users_file, NAME, PASSWORD)
        db = Database(config.database)
        db.store([parse(t, p) for t, p, _ in clinic_messages(date.today())])
        db.add_token(tokens.ApiToken(made.id, NAME, "bench", made.digest, time.time(), None,
                                     None, None))
        with TestClient(create_app(config, db=db, connect=False)) as browser:
            page = browser.get("/signin").text
            csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
            browser.post("/signin", data={"csrf": csrf, "name": NAME, "password": PASSWORD})
            with TestClient(browser.app,
                            headers={"Authorization": f"Bearer {made.text}"}) as script:
                assert script.get("/api/patients").status_code == 200
                assert browser.get("/api/patients").status_code == 200
                # Interleaved, so a change in the machine's load falls on both alike.
                with_token, with_session = interleaved(lambda: script.get("/api/patients"),
                                                       lambda: browser.get("/api/patients"),
                                                       args.requests)
        db.close()
    print(f"GET /api/patients, token:   {with_token * 1e3:8.2f} ms median")
    print(f"GET /api/patients, session: {with_session * 1e3:8.2f} ms median")


if __name__ == "__main__":
    main()
