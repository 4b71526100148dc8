"""``pacer app``: the static server, its headers and config, and what it says
when the phone app has not been built. No browser here (test_app_browser.py)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from helpers.daemon import pacer_cli, wait_until

from pacer import cli
from pacer.app import bundle
from pacer.app.bundle import DIST_DIR, WEB_DIR, AppNotBuiltError, check_bundle, is_stale
from pacer.app.server import AppServer, app_config, safety_config
from pacer.config import Config, load_config
from pacer.contract.topics import Topics, app_topics
from pacer.engine.safety import FLAGS, RED_FLAGS

BUILT = (DIST_DIR / "BUILT").is_file()


def _dist(root: Path) -> Path:
    dist = root / "web" / "dist"
    dist.mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>pacer</title>", encoding="utf-8")
    (dist / "app.js").write_text("console.log('hi')", encoding="utf-8")
    (dist / "manifest.webmanifest").write_text("{}", encoding="utf-8")
    (dist / "BUILT").write_text("abc\n", encoding="utf-8")
    (root / "secret.txt").write_text("not for the web", encoding="utf-8")
    return dist


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    cfg = tmp_path / "pacer.toml"
    cfg.write_text('[user]\nid = "alice"\n[sitting]\nlimit_min = 30\n', encoding="utf-8")
    server = AppServer(("127.0.0.1", 0), _dist(tmp_path),
                       app_config(load_config(cfg), "wss://pi.example:8884"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.url
    server.shutdown()
    server.server_close()


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_serves_the_app_with_types_and_a_strict_policy(served: str) -> None:
    status, headers, body = _get(served)
    assert status == 200
    assert body.startswith(b"<!doctype html>")
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "connect-src 'self' ws: wss:" in csp
    assert "unsafe-inline" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert _get(served + "app.js")[1]["Content-Type"].startswith("text/javascript")
    assert _get(served + "manifest.webmanifest")[1]["Content-Type"] == (
        "application/manifest+json")


def test_app_config_has_the_user_and_rules_but_no_secret(served: str) -> None:
    status, _h, body = _get(served + "app-config.json")
    assert status == 200
    cfg = json.loads(body)
    assert cfg["user"] == "alice"
    assert cfg["broker_url"] == "wss://pi.example:8884"
    assert cfg["rules"]["sitting_limit_min"] == 30
    assert cfg["rules"]["walks_per_day"] == 3
    assert "password" not in body.decode()


@pytest.mark.parametrize("path", ["../secret.txt", "%2e%2e/secret.txt", "..%2fsecret.txt",
                                  "nothing.js", "%00", "sub/../../secret.txt"])
def test_nothing_outside_the_bundle(served: str, path: str) -> None:
    status, _h, body = _get(served + path)
    assert status == 404
    assert b"not for the web" not in body


def test_app_config_without_a_config_file() -> None:
    body = app_config(None, None)
    assert {k: v for k, v in body.items() if k not in ("safety", "topics")} == {
        "v": 1, "user": None, "broker_url": None, "rules": {}}
    assert body["topics"] == app_topics("pacer")
    assert body["safety"]["emergency_number"] == "999"


def test_app_config_serves_the_engines_red_flag_table(served: str) -> None:
    """The check-in asks what pacer.engine.safety defines, in its order (the
    emergency tier first), with the advice's numbers: one table for both."""
    safety = json.loads(_get(served + "app-config.json")[2])["safety"]
    assert safety["emergency_number"] == "999"
    assert safety["urgent_service"] == "NHS 111 or an urgent GP appointment"
    flags = safety["flags"]
    assert [f["name"] for f in flags] == list(RED_FLAGS)
    assert len(flags) == 14
    assert [f["tier"] for f in flags] == ["emergency"] * 7 + ["urgent"] * 7
    assert flags == [{"name": f.name, "tier": f.tier, "question": f.question, "words": f.words}
                     for f in FLAGS]
    assert all(f["question"].endswith("?") and f["words"] for f in flags)


def test_app_config_takes_the_configs_safety_numbers() -> None:
    """``config.safety`` when the config has it; the defaults when it has not."""
    local = SimpleNamespace(safety=SimpleNamespace(emergency_number="112",
                                                   urgent_service="your GP's same-day line"))
    assert safety_config(local)["emergency_number"] == "112"
    assert safety_config(local)["urgent_service"] == "your GP's same-day line"
    bare = safety_config(SimpleNamespace())
    assert (bare["emergency_number"], bare["urgent_service"]) == (
        "999", "NHS 111 or an urgent GP appointment")
    assert safety_config(None) == bare


def test_app_config_safety_from_a_config_file(tmp_path: Path) -> None:
    if "safety" not in Config.model_fields:
        pytest.skip("this pacer.config has no [safety] table yet")
    cfg = tmp_path / "pacer.toml"
    cfg.write_text('[user]\nid = "alice"\n[safety]\nemergency_number = "000"\n'
                   'urgent_service = "healthdirect on 1800 022 222"\n', encoding="utf-8")
    safety = app_config(load_config(cfg), None)["safety"]
    assert safety["emergency_number"] == "000"
    assert safety["urgent_service"] == "healthdirect on 1800 022 222"


def _js(module: str, expr: str) -> Any:
    """``expr`` evaluated by node with ``src/<module>`` imported as ``m``."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    out = subprocess.run(
        ["node", "--input-type=module", "-e",
         f"const m = await import('./src/{module}'); console.log(JSON.stringify({expr}));"],
        cwd=WEB_DIR, capture_output=True, text=True, timeout=30, check=True).stdout
    return json.loads(out)


def _words_js(expr: str) -> Any:
    return _js("words.js", expr)


def test_the_app_uses_the_contracts_topics_for_the_signed_in_account(tmp_path: Path) -> None:
    """app-config.json carries the contract's topics under the config's prefix;
    the app fills in the account and its client id and gets what the daemon
    and the broker's ACL use."""
    cfg = tmp_path / "pacer.toml"
    cfg.write_text('[user]\nid = "alice"\n[mqtt]\ntopic_prefix = "clinic-7/pacer"\n',
                   encoding="utf-8")
    served = app_config(load_config(cfg), None)
    t = Topics("clinic-7/pacer", "bob")
    got = _js("topics.js", f"""(() => {{
      const t = m.appTopics({json.dumps(served)}, 'bob', 'app-x1');
      return {{names: Object.fromEntries(t.names), reply: t.reply, cmd: t.cmd('symptom')}};
    }})()""")
    assert got == {
        "names": {t.prompt: "prompt", t.state: "state", t.summary("day"): "summary/day",
                  t.summary("week"): "summary/week", t.alert: "alert", t.status: "status"},
        "reply": t.reply_to("app-x1"), "cmd": t.cmd("symptom")}


def test_the_app_without_topics_in_its_config_builds_none() -> None:
    assert _js("topics.js", "[m.appTopics({}, 'bob', 'c'), m.appTopics(null, 'bob', 'c'), "
                            "m.appTopics({topics: {subscribe: {}}}, 'bob', 'c')]") == [None] * 3


def test_the_apps_sources_write_no_topic() -> None:
    """Topics come from app-config.json only: no source joins levels with a
    slash or names a tree's command or reply level."""
    joined = re.compile(r"\$\{[^}]*\}/|/(cmd|reply)\b|['`\"]pacer/")
    found = {f.name: [n for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1)
                      if joined.search(line) and not line.lstrip().startswith("//")]
             for f in sorted((WEB_DIR / "src").glob("*.js"))}
    assert {k: v for k, v in found.items() if v} == {}


def test_the_apps_built_in_red_flags_match_the_engine() -> None:
    """words.js keeps a copy for when app-config.json is missing: the same."""
    assert _words_js("m.SAFETY") == app_config(None, None)["safety"]
    # ... and uses it when the config has no usable table.
    assert _words_js("[m.safety({}), m.safety({safety: {flags: []}})]") == [
        app_config(None, None)["safety"]] * 2


def test_the_apps_advice_emergency_wins_and_the_number_is_dialable() -> None:
    served = app_config(None, None)
    table = {**served["safety"], "emergency_number": "+44 (0) 99-9"}
    got = _words_js(f"""(() => {{
      const t = m.safety({json.dumps({"safety": table})});
      return [m.tierOf(['fever_or_unwell'], t), m.tierOf(['fever_or_unwell', 'chest_pain'], t),
              m.tierOf(['not_known'], t), m.dial(t.emergency_number), m.dial('1+1'),
              m.firstLine('emergency', t), m.said(['chest_pain', 'fever_or_unwell'], t)];
    }})()""")
    assert got == ["urgent", "emergency", "emergency", "+440999", "11",
                   "Call +44 (0) 99-9 or go to the emergency department now. "
                   "Do not wait for a GP or physiotherapist appointment.",
                   "chest pain and a fever or feeling generally unwell"]


def test_missing_bundle_says_how_to_build_it(tmp_path: Path) -> None:
    with pytest.raises(AppNotBuiltError, match=r"npm ci && npm run build"):
        check_bundle(tmp_path / "dist")


def test_pacer_app_without_a_build_exits_1_saying_how_to_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(bundle, "DIST_DIR", tmp_path / "web" / "dist")
    assert cli.main(["app", "--port", "0"]) == 1
    err = capsys.readouterr().err
    assert "the phone app is not built yet" in err
    assert f"cd {tmp_path / 'web'} && npm ci && npm run build" in err


def test_a_source_newer_than_the_build_is_stale(tmp_path: Path) -> None:
    dist = _dist(tmp_path)
    src = tmp_path / "web" / "src"
    src.mkdir()
    (src / "main.js").write_text("", encoding="utf-8")
    old = time.time() - 100
    os.utime(src / "main.js", (old, old))
    assert not is_stale(dist)
    (src / "main.js").write_text("changed", encoding="utf-8")
    assert is_stale(dist)


def test_pacer_app_serves_and_stops_on_sigterm() -> None:
    if not BUILT:
        pytest.skip("the app is not built: cd pacer/app/web && npm run build")
    proc = subprocess.Popen([sys.executable, "-m", "pacer", "app", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        assert "serving the phone app at http://127.0.0.1:" in line
        url = line.split(" at ", 1)[1].split()[0]
        status, _h, body = _get(url)
        assert status == 200
        assert b"manifest.webmanifest" in body
        proc.terminate()
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_pacer_app_help_and_bad_config(tmp_path: Path) -> None:
    help_run = pacer_cli("app", "--help", timeout=30)
    assert help_run.returncode == 0, help_run.stderr
    out = help_run.stdout
    assert "--port" in out
    assert "--host" in out
    assert "npm run build" in out
    bad = tmp_path / "bad.toml"
    bad.write_text("[sitting]\nlimt_min = 3\n", encoding="utf-8")
    if not BUILT:
        return
    proc = pacer_cli("app", "--config", str(bad), timeout=30)
    assert proc.returncode == 2
    assert "sitting.limt_min" in proc.stderr


# --- connections, files, long lines, HSTS (issue 19, item 13) -------------------------


@contextlib.contextmanager
def _running(server: AppServer) -> Iterator[AppServer]:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def _closed_or_refused(sock: socket.socket) -> bool:
    """True once the server has closed ``sock`` (reading returns end of file),
    whatever it said first."""
    sock.settimeout(0)
    try:
        while sock.recv(4096):
            pass
    except BlockingIOError:
        return False
    except OSError:
        return True
    return True


def test_idle_connections_are_bounded_and_timed_out(tmp_path: Path) -> None:
    """Many idle connections hold at most ``max_connections`` threads, the rest
    are refused at once, the idle ones are closed after ``timeout``, and a new
    client is served (the issue: 500 idle connections, 501 threads, forever)."""
    server = AppServer(("127.0.0.1", 0), _dist(tmp_path), app_config(None, None),
                       max_connections=4, timeout=0.5)
    before = threading.active_count()
    with _running(server):
        host, port = server.server_address[:2]
        idle = [socket.create_connection((str(host), port), timeout=5) for _ in range(40)]
        try:
            # all but the 4 the server holds are refused (closed) straight away
            wait_until(lambda: sum(_closed_or_refused(s) for s in idle) >= 36,
                       timeout=30, what="the connections beyond the bound to be refused")
            assert threading.active_count() <= before + 1 + 4  # serve_forever + handlers
            # the held ones time out, and a new client is then served
            wait_until(lambda: all(_closed_or_refused(s) for s in idle),
                       timeout=30, what="the idle connections to time out")
            status, _h, body = _get(server.url)
            assert status == 200
            assert body.startswith(b"<!doctype html>")
            wait_until(lambda: threading.active_count() <= before + 1,
                       timeout=30, what="the handler threads to end")
        finally:
            for s in idle:
                s.close()


def test_a_refused_connection_hears_503(tmp_path: Path) -> None:
    server = AppServer(("127.0.0.1", 0), _dist(tmp_path), app_config(None, None),
                       max_connections=1, timeout=30)
    with _running(server):
        host, port = server.server_address[:2]
        holder = socket.create_connection((str(host), port), timeout=5)
        try:
            wait_until(lambda: server.busy == 1, timeout=30, what="the first connection to be held")
            status, headers, _b = _get(server.url)
            assert status == 503
            assert headers.get("Retry-After")
        finally:
            holder.close()
        wait_until(lambda: _get(server.url)[0] == 200, timeout=30,
                   what="the slot to be free again")


@pytest.mark.parametrize("path", [
    ".env", ".git/config", ".well/app.js", "sub/.hidden.js", "%2eenv", "BUILT",
    "later.js", "sub/..%2f.env", "link.js",
])
def test_only_the_builds_own_files_are_served(tmp_path: Path, path: str) -> None:
    """No dotfile or dot-folder, no file the build did not make (one added
    while serving, the build stamp, a link out of the folder)."""
    dist = _dist(tmp_path)
    (dist / ".env").write_text("SECRET=1", encoding="utf-8")
    (dist / ".git").mkdir()
    (dist / ".git" / "config").write_text("SECRET=1", encoding="utf-8")
    (dist / ".well").mkdir()
    (dist / ".well" / "app.js").write_text("SECRET=1", encoding="utf-8")
    (dist / "sub").mkdir()
    (dist / "sub" / ".hidden.js").write_text("SECRET=1", encoding="utf-8")
    (dist / "sub" / "ok.js").write_text("ok", encoding="utf-8")
    (dist / "link.js").symlink_to(tmp_path / "secret.txt")
    with _running(AppServer(("127.0.0.1", 0), dist, app_config(None, None))) as server:
        (dist / "later.js").write_text("SECRET=1", encoding="utf-8")
        status, _h, body = _get(server.url + path)
        assert status == 404
        assert b"SECRET" not in body
        assert b"not for the web" not in body
        assert _get(server.url + "sub/ok.js")[:3:2] == (200, b"ok")
        assert _get(server.url + "app.js")[0] == 200


def test_a_rebuild_is_served(tmp_path: Path) -> None:
    """A new build (a new stamp) is what is served from then on."""
    dist = _dist(tmp_path)
    with _running(AppServer(("127.0.0.1", 0), dist, app_config(None, None))) as server:
        assert _get(server.url + "new.js")[0] == 404
        (dist / "new.js").write_text("new", encoding="utf-8")
        stamp = dist / "BUILT"
        stamp.write_text("def\n", encoding="utf-8")
        later = stamp.stat().st_mtime + 5
        os.utime(stamp, (later, later))
        assert _get(server.url + "new.js")[:3:2] == (200, b"new")


@pytest.mark.parametrize("length", [40_000, 9_000, 70_000])
def test_an_over_long_request_line_is_414_without_a_traceback(
    tmp_path: Path, length: int, capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with _running(AppServer(("127.0.0.1", 0), _dist(tmp_path), app_config(None, None))) as srv:
        host, port = srv.server_address[:2]
        with socket.create_connection((str(host), port), timeout=10) as sock:
            sock.sendall(b"GET /" + b"a" * length + b" HTTP/1.1\r\nHost: x\r\n\r\n")
            reply = b""
            while chunk := sock.recv(4096):
                reply += chunk
        assert reply.startswith(b"HTTP/1.0 414") or reply.startswith(b"HTTP/1.1 414"), reply[:80]
        assert _get(srv.url)[0] == 200  # and the server carries on
    assert "Traceback" not in capsys.readouterr().err
    assert not [r for r in caplog.records if r.exc_info]


def _self_signed(tmp_path: Path) -> ssl.SSLContext:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
                   capture_output=True, timeout=60, check=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def _get_tls(url: str) -> tuple[int, dict[str, str], bytes]:
    client = ssl.create_default_context()
    client.check_hostname = False
    client.verify_mode = ssl.CERT_NONE
    with urllib.request.urlopen(url, timeout=10, context=client) as r:
        return r.status, dict(r.headers), r.read()


def test_hsts_over_https_only_and_a_silent_client_blocks_no_one(tmp_path: Path) -> None:
    """https answers carry Strict-Transport-Security (http ones do not), and a
    client that connects and never starts TLS holds up nobody else."""
    tls = _self_signed(tmp_path)
    server = AppServer(("127.0.0.1", 0), _dist(tmp_path), app_config(None, None), tls,
                       timeout=30)
    with _running(server):
        assert server.url.startswith("https://")
        host, port = server.server_address[:2]
        with socket.create_connection((str(host), port), timeout=5):  # says nothing
            status, headers, body = _get_tls(server.url)
        assert status == 200
        assert body.startswith(b"<!doctype html>")
        assert headers["Strict-Transport-Security"].startswith("max-age=")
    with _running(AppServer(("127.0.0.1", 0), _dist(tmp_path / "plain"),
                            app_config(None, None))) as plain:
        assert "Strict-Transport-Security" not in _get(plain.url)[1]
