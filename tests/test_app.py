"""``pacer app``: the static server, its headers and config, and what it says
when the phone app has not been built. No browser here (test_app_browser.py)."""

from __future__ import annotations

import json
import os
import shutil
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

from pacer import cli
from pacer.app import bundle
from pacer.app.bundle import DIST_DIR, WEB_DIR, AppNotBuiltError, check_bundle, is_stale
from pacer.app.server import AppServer, app_config, safety_config
from pacer.config import Config, load_config
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
    assert {k: v for k, v in body.items() if k != "safety"} == {
        "v": 1, "user": None, "broker_url": None, "rules": {}}
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


def _words_js(expr: str) -> Any:
    """``expr`` evaluated by node with words.js imported as ``m``."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    out = subprocess.run(
        ["node", "--input-type=module", "-e",
         f"const m = await import('./src/words.js'); console.log(JSON.stringify({expr}));"],
        cwd=WEB_DIR, capture_output=True, text=True, timeout=30, check=True).stdout
    return json.loads(out)


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
    out = subprocess.run([sys.executable, "-m", "pacer", "app", "--help"], capture_output=True,
                         text=True, timeout=30, check=True).stdout
    assert "--port" in out
    assert "--host" in out
    assert "npm run build" in out
    bad = tmp_path / "bad.toml"
    bad.write_text("[sitting]\nlimt_min = 3\n", encoding="utf-8")
    if not BUILT:
        return
    proc = subprocess.run([sys.executable, "-m", "pacer", "app", "--config", str(bad)],
                          capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 2
    assert "sitting.limt_min" in proc.stderr
