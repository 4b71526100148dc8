"""Helpers for the phone app's browser tests: a remote control for headless
Chromium (``web/test/driver.mjs``, Playwright from npm) and a subscriber that
signs in to the broker as a user.

Used by the phone app's browser tests; like ``helpers.mqtt`` they check the
app and the daemon from the outside.
"""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import threading
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any

from paho.mqtt import client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from helpers.mqtt import Received
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


class Watcher:
    """A paho MQTT 5 subscriber signed in as ``user`` that records what arrives."""

    def __init__(self, host: str, port: int, user: str, password: str, topic: str) -> None:
        self.messages: list[Received] = []
        self._cond = threading.Condition()
        self._ready = threading.Event()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2,
                                   client_id=f"test-watch-{uuid.uuid4().hex[:10]}",
                                   protocol=MQTTProtocolVersion.MQTTv5)
        self._client.username_pw_set(user, password)
        self._client.on_connect = lambda c, *_a: c.subscribe(topic, qos=1)
        self._client.on_subscribe = lambda *_a: self._ready.set()
        self._client.on_message = self._on_message
        self._client.connect(host, port, keepalive=10)
        self._client.loop_start()
        if not self._ready.wait(10):
            self.close()
            raise AssertionError(f"test watcher as {user} not subscribed to {topic}")

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        props = getattr(msg, "properties", None)
        with self._cond:
            self.messages.append(Received(
                topic=msg.topic, payload=bytes(msg.payload), qos=msg.qos,
                retain=bool(msg.retain),
                expiry=getattr(props, "MessageExpiryInterval", None),
                user_properties=tuple(getattr(props, "UserProperty", ())),
                response_topic=getattr(props, "ResponseTopic", None),
                correlation_data=getattr(props, "CorrelationData", None),
            ))
            self._cond.notify_all()

    def wait_for(self, match: Any, timeout: float = 20.0, what: str = "a message"
                 ) -> Received:
        """The first message that ``match`` accepts, waiting up to ``timeout``."""
        def found() -> Received | None:
            return next((m for m in self.messages if match(m)), None)

        with self._cond:
            if not self._cond.wait_for(lambda: found() is not None, timeout):
                raise AssertionError(f"no {what} within {timeout:g} s; got "
                                     f"{[(m.topic, m.payload[:80]) for m in self.messages]}")
            hit = found()
            assert hit is not None
            return hit

    def publish(self, topic: str, body: dict[str, Any], *, retain: bool = False) -> None:
        """Publish ``body`` as JSON (QoS 1) and wait for the broker to take it."""
        info = self._client.publish(topic, json.dumps(body), qos=1, retain=retain)
        info.wait_for_publish(10)
        assert info.is_published(), f"test watcher could not publish on {topic}"

    def answer(self, command: Received, body: dict[str, Any]) -> None:
        """Reply to ``command`` as the daemon would (interfaces.md section 7.2): on
        its response topic, with its correlation data; for tests of the app's
        side without a daemon."""
        assert command.response_topic, f"no response topic on {command.topic}"
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        if command.correlation_data is not None:
            props.CorrelationData = command.correlation_data
        info = self._client.publish(command.response_topic, json.dumps(body), qos=1,
                                    properties=props)
        info.wait_for_publish(10)
        assert info.is_published(), f"test watcher could not answer on {command.response_topic}"

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
