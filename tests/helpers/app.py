"""Helpers for the phone app's browser tests: a remote control for headless
Chromium (``web/test/driver.mjs``, Playwright from npm). They watch the broker
through ``helpers.mqtt.Collector`` signed in as the user, and like it check the
app and the daemon from the outside.
"""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

from pacer.app.bundle import WEB_DIR

DRIVER = WEB_DIR / "test" / "driver.mjs"
CHROMIUM = "/usr/bin/chromium"


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (WEB_DIR / "node_modules" / "playwright-core").is_dir():
        return f"playwright-core is not installed: cd {WEB_DIR} && npm ci"
    if shutil.which("chromium") is None and not Path(CHROMIUM).is_file():
        return "chromium is not installed (apt-get install chromium)"
    return None


class Browser:
    """``node driver.mjs`` on pipes; each call is one command and its answer."""

    def __init__(self, log: Path) -> None:
        self._log = log.open("ab")
        self._proc = subprocess.Popen(
            ["node", str(DRIVER)], cwd=WEB_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._log,
        )
        self._answers: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            self._answers.put(line.decode("utf-8", "replace"))
        self._answers.put("")

    def do(self, op: str, timeout: float = 60.0, **args: Any) -> Any:
        """Run one driver command; raise AssertionError with its error if it fails."""
        assert self._proc.stdin is not None
        self._proc.stdin.write((json.dumps({"op": op, **args}) + "\n").encode())
        self._proc.stdin.flush()
        try:
            line = self._answers.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"the browser driver did not answer {op} in {timeout:g} s"
                                 ) from None
        if not line:
            raise AssertionError(f"the browser driver exited during {op}")
        answer = json.loads(line)
        if not answer["ok"]:
            raise AssertionError(f"browser {op} {args}: {answer['error']}")
        return answer["value"]

    def close(self) -> None:
        try:
            if self._proc.poll() is None:
                self.do("close", timeout=20)
        except AssertionError:
            pass
        finally:
            if self._proc.stdin is not None:
                self._proc.stdin.close()
            try:
                self._proc.wait(20)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(10)
            self._log.close()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
