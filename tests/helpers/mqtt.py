"""Test helpers for MQTT: a plain-paho client that records what arrives (and
publishes and answers commands, as a phone or the daemon would), and a one-shot
publisher (a stand-in for a phone or a physiotherapist's tool).

Used by pacer's tests and bench scripts; they use paho directly, not
``MqttLink``, so they check the link from the outside.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from paho.mqtt import client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from pacer.mqtt.broker import PrivateBroker


@dataclass(frozen=True)
class Received:
    """One message as a subscriber saw it, with the MQTT 5 properties tests check."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    expiry: int | None
    user_properties: tuple[tuple[str, str], ...]
    response_topic: str | None
    correlation_data: bytes | None


def _received(msg: mqtt.MQTTMessage) -> Received:
    props = getattr(msg, "properties", None)
    return Received(
        topic=msg.topic,
        payload=bytes(msg.payload),
        qos=msg.qos,
        retain=bool(msg.retain),
        expiry=getattr(props, "MessageExpiryInterval", None),
        user_properties=tuple(getattr(props, "UserProperty", ())),
        response_topic=getattr(props, "ResponseTopic", None),
        correlation_data=getattr(props, "CorrelationData", None),
    )


class Collector:
    """A plain paho subscriber on its own thread that records what arrives,
    signed in as ``username`` when given.

    It keeps a persistent session (clean_start False, session expiry), so after
    a broker restart it gets what was published meanwhile without subscribing
    again, and hence without a replay of retained messages. When the broker lost
    the session (killed before saving it), it subscribes again; ``wait_ready``
    tells when it is listening again."""

    def __init__(self, host: str, port: int, topic: str, protocol: str = "5", *,
                 username: str | None = None, password: str | None = None) -> None:
        self.topic = topic
        self.messages: list[Received] = []
        self._cond = threading.Condition()
        self._ready = 0
        self._v5 = protocol == "5"
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"test-sub-{uuid.uuid4().hex[:12]}",
            protocol=MQTTProtocolVersion.MQTTv5 if self._v5 else MQTTProtocolVersion.MQTTv311,
            clean_session=None if self._v5 else False,
        )
        if username is not None:
            self._client.username_pw_set(username, password)
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        props = None
        if self._v5:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = 300
        self._client.reconnect_delay_set(1, 2)
        self._client.connect_async(host, port, keepalive=10, clean_start=False, properties=props)
        self._client.loop_start()
        try:
            self.wait_ready(1)
        except AssertionError:
            self.close()
            raise

    @property
    def ready_count(self) -> int:
        """How many times it has been (re)connected and listening."""
        with self._cond:
            return self._ready

    def wait_ready(self, count: int, timeout: float = 10.0) -> None:
        """Block until it has been listening ``count`` times (1 = first connection)."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._ready >= count, timeout):
                raise AssertionError(f"test subscriber on {self.topic} not listening "
                                     f"(connection {count}) within {timeout:g} s")

    def _set_ready(self) -> None:
        with self._cond:
            self._ready += 1
            self._cond.notify_all()

    def _on_connect(self, client: mqtt.Client, _u: Any, flags: mqtt.ConnectFlags,
                    rc: ReasonCode, _p: Any) -> None:
        if rc.is_failure:
            return
        if flags.session_present:
            self._set_ready()
        else:
            client.subscribe(self.topic, qos=1)

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, _mid: int, _rcs: Any, _p: Any) -> None:
        self._set_ready()

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self._cond:
            self.messages.append(_received(msg))
            self._cond.notify_all()

    def payloads(self, since: int = 0) -> list[bytes]:
        with self._cond:
            return [m.payload for m in self.messages[since:]]

    def wait_for(self, n: int, timeout: float = 10.0,
                 match: Callable[[Received], bool] = lambda _m: True,
                 since: int = 0, what: str | None = None) -> list[Received]:
        """Block until at least ``n`` messages (after index ``since``) satisfy
        ``match``; return them, or fail the test after ``timeout`` seconds
        saying ``what`` was awaited."""
        def found() -> list[Received]:
            return [m for m in self.messages[since:] if match(m)]

        with self._cond:
            if not self._cond.wait_for(lambda: len(found()) >= n, timeout):
                label = what or f"{n} matching message(s)"
                raise AssertionError(f"expected {label} on {self.topic} within "
                                     f"{timeout:g} s; got {self.messages[since:]}")
            return found()

    def first(self, match: Callable[[Received], object], timeout: float = 20.0,
              what: str = "a message") -> Received:
        """The first message that ``match`` accepts, waiting up to ``timeout``."""
        return self.wait_for(1, timeout, lambda m: bool(match(m)), what=what)[0]

    async def wait_for_async(self, n: int, timeout: float = 10.0,
                             match: Callable[[Received], bool] = lambda _m: True,
                             since: int = 0) -> list[Received]:
        """``wait_for`` without blocking the caller's event loop."""
        return await asyncio.to_thread(self.wait_for, n, timeout, match, since)

    def publish(self, topic: str, body: dict[str, Any], *, retain: bool = False) -> None:
        """Publish ``body`` as JSON (QoS 1) and wait for the broker to take it."""
        info = self._client.publish(topic, json.dumps(body), qos=1, retain=retain)
        info.wait_for_publish(10)
        assert info.is_published(), f"test client could not publish on {topic}"

    def answer(self, command: Received, body: dict[str, Any]) -> None:
        """Reply to ``command`` as the daemon would (interfaces.md section 7.2): on
        its response topic, with its correlation data; for tests of the other
        side without a daemon."""
        assert command.response_topic, f"no response topic on {command.topic}"
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        if command.correlation_data is not None:
            props.CorrelationData = command.correlation_data
        info = self._client.publish(command.response_topic, json.dumps(body), qos=1,
                                    properties=props)
        info.wait_for_publish(10)
        assert info.is_published(), f"test client could not answer on {command.response_topic}"

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


def publish_once(broker: PrivateBroker, topic: str, payload: bytes, *, qos: int = 1,
                 retain: bool = False, response_topic: str | None = None,
                 correlation_data: bytes | None = None) -> None:
    """Publish one message from a short-lived plain paho client (a 'phone')."""
    v5 = broker.protocol == "5"
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"test-pub-{uuid.uuid4().hex[:12]}",
        protocol=MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311,
    )
    props = None
    if v5 and (response_topic or correlation_data):
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        if response_topic:
            props.ResponseTopic = response_topic
        if correlation_data:
            props.CorrelationData = correlation_data
    connacked = threading.Event()
    client.on_connect = lambda *_args: connacked.set()
    client.connect(broker.host, broker.port, keepalive=10)
    client.loop_start()
    try:
        # Publish only after CONNACK; then wait_for_publish is safe (it raises
        # for messages published while disconnected).
        if not connacked.wait(10):
            raise AssertionError(f"test publisher got no CONNACK from {broker.url}")
        info = client.publish(topic, payload, qos=qos, retain=retain, properties=props)
        info.wait_for_publish(10)
        assert info.is_published(), f"test publisher got no acknowledgement for {topic}"
    finally:
        client.disconnect()
        client.loop_stop()
