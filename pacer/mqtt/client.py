"""``MqttLink``: pacer's only contact with paho-mqtt.

paho runs its own network thread (``loop_start()``): it keeps the connection
alive, reconnects with back-off and re-sends unacknowledged QoS 1 messages. The
only code that runs in that thread is ``_Bridge``, which forwards every paho
callback to the asyncio loop with ``call_soon_threadsafe``; all state lives on
the loop. Calls into paho (publish, subscribe, ack, disconnect) are
thread-safe and made from the loop.

paho behaviours handled here (see docs mqtt-notes.md, section 1.1):

* ``publish()`` while the connection is down returns ``MQTT_ERR_NO_CONN`` yet
  queues a QoS 1 message; ``MQTTMessageInfo.is_published()`` then raises, so
  delivery is tracked only through ``on_publish`` and the message id.
* ``on_publish`` may fire in paho's thread before ``publish()`` has returned
  here; because it is forwarded to the loop, it runs only after the message id
  has been registered (registration happens in the same loop step as the call).
* CONNACK refusals are retried by paho forever: they are counted here and, after
  ``max_refusals`` permanent refusals, surfaced as ``BrokerUnavailable``.
* paho ignores the broker's ``MaximumPacketSize``: the size is checked here,
  before sending, because an oversized message would be re-sent after every
  reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from paho.mqtt import client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from pacer.config import MqttConfig
from pacer.errors import BadInput, BrokerUnavailable, PacerError

log = logging.getLogger(__name__)

ONLINE: Final = b"online"
OFFLINE: Final = b"offline"
SESSION_EXPIRY_S: Final = 7 * 24 * 3600
DEFAULT_MAX_PAYLOAD: Final = 256 * 1024
PROBE_TIMEOUT_S: Final = 3.0

# CONNACK refusals that retrying will not cure (MQTT 5 numbering; paho maps
# 3.1.1 return codes onto these).
_PERMANENT_REFUSALS: Final = frozenset({0x84, 0x85, 0x86, 0x87, 0x8A, 0x8C})
_AUTH_ADVICE: Final = ("check [mqtt] username and password_file (or PACER_MQTT_PASSWORD) "
                       "and the broker's password file and ACL")
_REFUSAL_ADVICE: Final = {
    0x84: "the broker does not accept this MQTT version; try [mqtt] protocol = \"3.1.1\"",
    0x85: "the broker rejected the client id",
    0x86: _AUTH_ADVICE,
    0x87: _AUTH_ADVICE,
    0x8A: "the broker has banned this client; ask its operator",
    0x8C: "the broker wants another authentication method",
}
_REACH_ADVICE: Final = "is mosquitto running? check [mqtt] url"
_TLS_ADVICE: Final = ("check [mqtt] ca_file, and that the host in [mqtt] url matches the "
                      "broker's certificate")


class NotConnected(BrokerUnavailable):
    """The link is not connected right now; the caller keeps the message
    (outbox) and tries again after ``on_connected``."""


class PayloadTooLarge(PacerError):  # noqa: N818 - named like pacer.errors
    """A message is larger than the broker or pacer allows; it was not sent and
    will not be retried."""


class PublishQueueFull(BrokerUnavailable):
    """paho's in-memory queue of unacknowledged messages is full."""


@dataclass(frozen=True, slots=True)
class Incoming:
    """A message received on a subscription."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    response_topic: str | None
    correlation_data: bytes | None
    mid: int


@dataclass(frozen=True, slots=True)
class PublishResult:
    """The broker's answer to one publish (PUBACK, or the socket write for QoS 0).

    A ``reason_code`` of 0x80 or more means the broker refused the message
    ("Not authorized", "Quota exceeded", ...): dead-letter it, do not retry."""

    topic: str
    mid: int
    reason_code: int
    reason: str

    @property
    def ok(self) -> bool:
        return self.reason_code < 0x80


OnConnected = Callable[[bool], Awaitable[None]]
"""Called (as a task) after every successful CONNACK with ``session_present``."""


class _Bridge:
    """The only code run in paho's network thread: it forwards each callback,
    with paho's arguments, to a handler on the asyncio loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, link: MqttLink) -> None:
        self._loop = loop
        self._link = link

    def install(self, client: mqtt.Client) -> None:
        client.on_connect = self.on_connect
        client.on_connect_fail = self.on_connect_fail
        client.on_disconnect = self.on_disconnect
        client.on_publish = self.on_publish
        client.on_subscribe = self.on_subscribe
        client.on_message = self.on_message

    def _forward(self, handler: Callable[..., None], *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody to tell
            self._loop.call_soon_threadsafe(handler, *args)

    def on_connect(self, _c: mqtt.Client, _u: Any, flags: mqtt.ConnectFlags,
                   rc: ReasonCode, props: Properties | None) -> None:
        self._forward(self._link._handle_connack, flags, rc, props)

    def on_connect_fail(self, _c: mqtt.Client, _u: Any) -> None:
        self._forward(self._link._handle_connect_fail)

    def on_disconnect(self, _c: mqtt.Client, _u: Any, _flags: mqtt.DisconnectFlags,
                      rc: ReasonCode, _props: Properties | None) -> None:
        self._forward(self._link._handle_disconnect, rc)

    def on_publish(self, _c: mqtt.Client, _u: Any, mid: int, rc: ReasonCode,
                   _props: Properties) -> None:
        self._forward(self._link._handle_puback, mid, rc)

    def on_subscribe(self, _c: mqtt.Client, _u: Any, mid: int, rcs: list[ReasonCode],
                     _props: Properties | None) -> None:
        self._forward(self._link._handle_suback, mid, rcs)

    def on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        self._forward(self._link._handle_message, msg)


def _new_properties(packet_type: int) -> Properties:
    return Properties(packet_type)  # type: ignore[no-untyped-call]


def _varint_len(n: int) -> int:
    size = 1
    while n >= 128:
        n //= 128
        size += 1
    return size


def publish_packet_size(topic: str, payload: bytes, qos: int,
                        props: Properties | None, v5: bool) -> int:
    """Bytes of the PUBLISH packet paho will send (what MaximumPacketSize limits)."""
    remaining = 2 + len(topic.encode("utf-8")) + (2 if qos > 0 else 0) + len(payload)
    if v5:
        remaining += len(props.pack()) if props is not None else 1  # type: ignore[no-untyped-call]
    return 1 + _varint_len(remaining) + remaining


def _no_key_password() -> bytes:
    # An encrypted client key would make OpenSSL prompt on the terminal.
    return b""


def tls_context(config: MqttConfig) -> ssl.SSLContext:
    """A verifying TLS context from ``[mqtt] ca_file`` (the system's CAs when
    unset) and the optional client certificate; unreadable files are reported
    as bad input, naming the key."""
    ca = str(config.ca_file) if config.ca_file is not None else None
    try:
        ctx = ssl.create_default_context(cafile=ca)
    except OSError as exc:  # ssl.SSLError is an OSError too
        raise BadInput(f"[mqtt] ca_file {ca}: cannot load it as PEM CA certificates "
                       f"({_tls_detail(exc)})") from None
    if config.client_cert is not None and config.client_key is not None:
        try:
            ctx.load_cert_chain(str(config.client_cert), str(config.client_key),
                                password=_no_key_password)
        except OSError as exc:
            raise BadInput(f"[mqtt] client_cert {config.client_cert} / client_key "
                           f"{config.client_key}: cannot load them ({_tls_detail(exc)}); "
                           "client_key must be an unencrypted PEM key matching the "
                           "certificate") from None
    return ctx


def _tls_detail(exc: OSError) -> str:
    return str(getattr(exc, "reason", None) or exc.strerror or exc)


def _incoming(msg: mqtt.MQTTMessage) -> Incoming:
    props = getattr(msg, "properties", None)
    corr = getattr(props, "CorrelationData", None)
    return Incoming(
        topic=msg.topic,
        payload=bytes(msg.payload),
        qos=msg.qos,
        retain=bool(msg.retain),
        response_topic=getattr(props, "ResponseTopic", None),
        correlation_data=bytes(corr) if corr is not None else None,
        mid=msg.mid,
    )


def _describe_oserror(exc: OSError, host: str) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the host name {host!r}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"the broker's TLS certificate was not accepted ({exc.verify_message})"
    if isinstance(exc, ssl.SSLError):
        return f"the TLS handshake failed ({exc.reason or exc})"
    return exc.strerror or str(exc) or type(exc).__name__


class MqttLink:
    """One MQTT connection for the daemon (or a tool): publish with broker
    acknowledgement, subscribe into a bounded queue, online/offline status with
    a retained Last Will on ``status_topic`` (none when it is None: one-shot tools).

    Use from one asyncio loop: ``await start()``, ``await wait_connected()``,
    ``await publish(...)``, read ``messages``, ``await stop()``.
    """

    def __init__(
        self,
        config: MqttConfig,
        *,
        client_id: str,
        status_topic: str | None,
        logger: logging.Logger | None = None,
        on_connected: OnConnected | None = None,
        manual_ack: bool = False,
        incoming_max: int = 1000,
        max_payload: int = DEFAULT_MAX_PAYLOAD,
        max_inflight: int = 20,
        max_queued: int = 1000,
        keepalive: int = 30,
        max_refusals: int = 3,
        reconnect_delay: tuple[int, int] = (1, 30),
        session_expiry_s: int = SESSION_EXPIRY_S,
    ) -> None:
        if not client_id:
            raise ValueError("MqttLink needs a stable, non-empty client id")
        self.config = config
        self.client_id = client_id
        self.status_topic = status_topic
        self.on_connected = on_connected
        self.manual_ack = manual_ack
        self.max_payload = max_payload
        self.messages: asyncio.Queue[Incoming] = asyncio.Queue(maxsize=incoming_max)
        self._log = logger or log
        self._v5 = config.protocol == "5"
        self._where = f"{config.host}:{config.port}"
        self._max_inflight = max_inflight
        self._max_queued = max_queued
        self._keepalive = keepalive
        self._max_refusals = max_refusals
        self._reconnect_delay = reconnect_delay
        self._session_expiry_s = session_expiry_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: mqtt.Client | None = None
        self._ready = asyncio.Event()
        self._failed: asyncio.Future[None] | None = None
        self._connected = False
        self._stopping = False
        self._pending: dict[int, tuple[str, asyncio.Future[PublishResult]]] = {}
        self._subacks: dict[int, asyncio.Future[list[ReasonCode]]] = {}
        self._subscriptions: dict[str, tuple[int, int]] = {}  # filter -> qos, retain handling
        self._tasks: set[asyncio.Future[None]] = set()
        self._probe: asyncio.Future[None] | None = None
        self._refusals = 0
        self._last_error: str | None = None
        self._broker_max_packet: int | None = None
        self._dropped = 0

    # --- state ---------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True between a successful CONNACK and the next disconnection."""
        return self._connected

    @property
    def protocol(self) -> str:
        return self.config.protocol

    @property
    def failed(self) -> asyncio.Future[None]:
        """Completes with ``BrokerUnavailable`` when the link gave up (the broker
        refused the connection ``max_refusals`` times). Never completes otherwise."""
        if self._failed is None:
            raise RuntimeError("MqttLink.failed is available after start()")
        return self._failed

    @property
    def broker_max_packet(self) -> int | None:
        """The broker's MaximumPacketSize from the last CONNACK (MQTT 5), if any."""
        return self._broker_max_packet

    @property
    def dropped(self) -> int:
        """Incoming messages dropped because ``messages`` was full."""
        return self._dropped

    # --- connecting ----------------------------------------------------------------

    async def start(self) -> None:
        """Begin connecting (returns at once); paho keeps reconnecting from now on.
        Raises ``BadInput`` for unreadable password or TLS files."""
        if self._client is not None:
            raise RuntimeError("MqttLink.start() called twice")
        self._loop = asyncio.get_running_loop()
        self._failed = self._loop.create_future()
        # Nobody may await it; mark its exception as seen so asyncio stays quiet.
        self._failed.add_done_callback(lambda f: f.cancelled() or f.exception())
        client = self._make_client()
        _Bridge(self._loop, self).install(client)
        props = None
        if self._v5:
            props = _new_properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = self._session_expiry_s
            if self.manual_ack:
                # Flow control: the broker sends at most this many QoS 1 and 2
                # messages not yet acknowledged, so a burst waits at the broker
                # instead of overflowing ``messages`` (half of it: room is left
                # for QoS 0 and retained messages).
                props.ReceiveMaximum = max(1, min(65535, self.messages.maxsize // 2))
        else:
            self._log.info("MQTT 3.1.1 ([mqtt] protocol): message expiry, user properties, "
                           "response topics and PUBACK reason codes are off")
        client.connect_async(self.config.host, self.config.port, keepalive=self._keepalive,
                             clean_start=False, properties=props)
        self._client = client
        client.loop_start()
        self._log.info("connecting to the MQTT broker at %s as %s (MQTT %s)",
                       self._where, self.client_id, self.config.protocol)

    def _make_client(self) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=None if self._v5 else False,
            protocol=MQTTProtocolVersion.MQTTv5 if self._v5 else MQTTProtocolVersion.MQTTv311,
            manual_ack=self.manual_ack,
        )
        if self.config.tls:
            client.tls_set_context(tls_context(self.config))
        if self.config.username:
            password = self.config.password()
            client.username_pw_set(self.config.username,
                                   password.get_secret_value() if password else None)
        if self.status_topic is not None:
            try:
                client.will_set(self.status_topic, OFFLINE, qos=1, retain=True)
            except ValueError as exc:
                raise PacerError(f"cannot use {self.status_topic!r} as the MQTT status topic: "
                                 f"{exc}") from None
        client.reconnect_delay_set(*self._reconnect_delay)
        # Both must be set before connecting (paho refuses afterwards).
        client.max_inflight_messages_set(self._max_inflight)
        client.max_queued_messages_set(self._max_queued)
        return client

    async def wait_connected(self, timeout: float = 10.0) -> None:
        """Return once connected; raise ``BrokerUnavailable`` when the link has
        failed, or with a diagnosis when ``timeout`` passes first."""
        failed = self.failed
        if failed.done():
            failed.result()
        if self._connected:
            return
        ready = asyncio.ensure_future(self._ready.wait())
        waiting: list[asyncio.Future[Any]] = [ready, failed]
        try:
            await asyncio.wait(waiting, timeout=timeout,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
        if failed.done():
            failed.result()
        if not self._connected:
            raise BrokerUnavailable(await self._diagnose(timeout))

    async def _diagnose(self, waited: float) -> str:
        problem = self._last_error or await self._reachability()
        if problem is None:
            return (f"the MQTT broker at {self._where} accepts connections but did not "
                    f"complete the MQTT handshake within {waited:g} s; check [mqtt] url "
                    "(mqtts:// for TLS) and [mqtt] protocol")
        advice = _TLS_ADVICE if "TLS" in problem else _REACH_ADVICE
        return f"cannot reach the MQTT broker at {self._where}: {problem}; {advice}"

    async def _reachability(self) -> str | None:
        """Why a connection to the broker fails, found with a connection of our
        own (paho does not say); None when it can be opened."""
        ctx = tls_context(self.config) if self.config.tls else None
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(self.config.host, self.config.port, ssl=ctx,
                                        server_hostname=self.config.host if ctx else None),
                PROBE_TIMEOUT_S)
        except TimeoutError:
            return f"no answer within {PROBE_TIMEOUT_S:g} s"
        except OSError as exc:
            return _describe_oserror(exc, self.config.host)
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return None

    # --- paho callbacks, on the loop -------------------------------------------------

    def _handle_connack(self, flags: mqtt.ConnectFlags, rc: ReasonCode,
                        props: Properties | None) -> None:
        if self._stopping:
            return
        if rc.is_failure:
            self._handle_refusal(rc)
            return
        self._refusals = 0
        self._last_error = None
        self._connected = True
        self._ready.set()
        self._broker_max_packet = getattr(props, "MaximumPacketSize", None)
        session = bool(flags.session_present)
        self._log.info("connected to the MQTT broker at %s (session present: %s)",
                       self._where, session)
        if not session and self._subscriptions:
            self._resubscribe()
        self._announce_online()
        if self.on_connected is not None:
            self._spawn(self.on_connected(session), "on_connected hook")

    def _announce_online(self) -> None:
        if self.status_topic is None:
            return
        try:
            fut = self._submit(self.status_topic, ONLINE, 1, True, None)
        except PacerError as exc:
            self._log.warning("could not publish 'online' on %s: %s", self.status_topic, exc)
            return
        fut.add_done_callback(self._check_status_ack)

    def _check_status_ack(self, fut: asyncio.Future[PublishResult]) -> None:
        if fut.cancelled() or fut.exception() is not None:
            return
        result = fut.result()
        if not result.ok:
            self._log.warning("the broker refused the status message on %s: %s",
                              result.topic, result.reason)

    def _handle_refusal(self, rc: ReasonCode) -> None:
        advice = _REFUSAL_ADVICE.get(rc.value, "see the broker's log")
        self._log.error("the MQTT broker at %s refused the connection: %s (reason code 0x%02X); "
                        "%s", self._where, rc.getName(), rc.value, advice)
        if rc.value not in _PERMANENT_REFUSALS:
            return
        self._refusals += 1
        if self._refusals >= self._max_refusals:
            self._give_up(rc, advice)

    def _give_up(self, rc: ReasonCode, advice: str) -> None:
        failed = self._failed
        if failed is not None and not failed.done():
            failed.set_exception(BrokerUnavailable(
                f"the MQTT broker at {self._where} refused the connection "
                f"{self._refusals} times: {rc.getName()}; {advice}"))
            self._log.error("giving up on the MQTT broker at %s after %d refusals",
                            self._where, self._refusals)
        if self._client is not None:
            # Ends paho's retrying; repeated in case a reconnect attempt raced it.
            self._client.disconnect()

    def _handle_connect_fail(self) -> None:
        if self._stopping or (self._probe is not None and not self._probe.done()):
            return
        self._probe = self._spawn(self._note_unreachable(), "reachability probe")

    async def _note_unreachable(self) -> None:
        problem = await self._reachability() or "the connection attempt failed"
        if problem != self._last_error:
            min_delay, max_delay = self._reconnect_delay
            advice = _TLS_ADVICE if "TLS" in problem else _REACH_ADVICE
            self._log.warning("cannot reach the MQTT broker at %s: %s; retrying every %d-%d s "
                              "(%s)", self._where, problem, min_delay, max_delay, advice)
        self._last_error = problem

    def _handle_disconnect(self, rc: ReasonCode) -> None:
        was_connected = self._connected
        self._connected = False
        self._ready.clear()
        if was_connected and not self._stopping:
            self._log.warning("lost the connection to the MQTT broker at %s (%s); reconnecting",
                              self._where, rc.getName())

    def _handle_puback(self, mid: int, rc: ReasonCode) -> None:
        entry = self._pending.pop(mid, None)
        if entry is None:
            self._log.debug("acknowledgement for unknown message id %d", mid)
            return
        topic, fut = entry
        result = PublishResult(topic, mid, rc.value, rc.getName())
        if not result.ok:
            self._log.warning("the MQTT broker refused the message on %s: %s (reason code "
                              "0x%02X)", topic, result.reason, result.reason_code)
        if not fut.done():
            fut.set_result(result)

    def _handle_suback(self, mid: int, rcs: list[ReasonCode]) -> None:
        fut = self._subacks.pop(mid, None)
        if fut is not None and not fut.done():
            fut.set_result(rcs)

    def _handle_message(self, msg: mqtt.MQTTMessage) -> None:
        try:
            incoming = _incoming(msg)
        except UnicodeDecodeError:
            self._log.warning("dropped a message whose topic is not UTF-8")
            return
        try:
            self.messages.put_nowait(incoming)
        except asyncio.QueueFull:
            self._dropped += 1
            self._log.warning("incoming MQTT queue full (%d): dropped the message on %s "
                              "(%d dropped so far)%s", self.messages.maxsize, incoming.topic,
                              self._dropped,
                              "; not acknowledged, so the broker will send it again"
                              if self.manual_ack and incoming.qos > 0 else "")

    def _spawn(self, work: Awaitable[None], what: str) -> asyncio.Future[None]:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._task_done(t, what))
        return task

    def _task_done(self, task: asyncio.Future[None], what: str) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._log.error("%s failed", what, exc_info=task.exception())

    # --- publishing ----------------------------------------------------------------

    async def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        qos: int = 1,
        retain: bool = False,
        expiry_s: float | None = None,
        user_properties: Sequence[tuple[str, str]] = (),
        correlation_data: bytes | None = None,
        content_type: str | None = None,
        response_topic: str | None = None,
    ) -> PublishResult:
        """Publish and wait for the broker's acknowledgement (see ``submit``).
        Cancelling the wait does not unsend the message: paho may still deliver it."""
        return await self.submit(
            topic, payload, qos=qos, retain=retain, expiry_s=expiry_s,
            user_properties=user_properties, correlation_data=correlation_data,
            content_type=content_type, response_topic=response_topic)

    def submit(
        self,
        topic: str,
        payload: bytes,
        *,
        qos: int = 1,
        retain: bool = False,
        expiry_s: float | None = None,
        user_properties: Sequence[tuple[str, str]] = (),
        correlation_data: bytes | None = None,
        content_type: str | None = None,
        response_topic: str | None = None,
    ) -> asyncio.Future[PublishResult]:
        """Hand a message to paho now; the future ends with the broker's answer.

        Raises ``NotConnected`` when not connected (the caller keeps the message),
        ``PayloadTooLarge`` before sending an oversized message; either way the
        message was not handed over. A refusal by the broker is a result with
        ``ok`` False; the future fails with ``BrokerUnavailable`` if the link
        stops first. Once handed over, paho sends it on after a reconnect."""
        self._require_connected()
        props = self._publish_properties(expiry_s, user_properties, correlation_data,
                                         content_type, response_topic)
        self._check_size(topic, payload, qos, props)
        return self._submit(topic, payload, qos, retain, props)

    def _require_connected(self) -> None:
        if self._client is None:
            raise RuntimeError("MqttLink.start() has not been called")
        if not self._connected or self._stopping:
            raise NotConnected(f"not connected to the MQTT broker at {self._where}")

    def _publish_properties(self, expiry_s: float | None, user_properties: Sequence[
            tuple[str, str]], correlation_data: bytes | None,
            content_type: str | None, response_topic: str | None = None) -> Properties | None:
        if not self._v5:
            return None
        props = _new_properties(PacketTypes.PUBLISH)
        if expiry_s is not None:
            props.MessageExpiryInterval = max(1, int(-(-expiry_s // 1)))  # whole seconds, >= 1
        if user_properties:
            props.UserProperty = [(str(k), str(v)) for k, v in user_properties]
        if correlation_data is not None:
            props.CorrelationData = correlation_data
        if content_type is not None:
            props.ContentType = content_type
        if response_topic is not None:
            props.ResponseTopic = response_topic
        return props

    def _check_size(self, topic: str, payload: bytes, qos: int, props: Properties | None) -> None:
        if len(payload) > self.max_payload:
            raise PayloadTooLarge(
                f"the message for {topic} has {len(payload)} bytes, over pacer's limit of "
                f"{self.max_payload} bytes; it was not sent")
        limit = self._broker_max_packet
        if limit is not None:
            size = publish_packet_size(topic, payload, qos, props, self._v5)
            if size > limit:
                raise PayloadTooLarge(
                    f"the message for {topic} makes a {size}-byte packet, over the maximum "
                    f"packet size of {limit} bytes of the MQTT broker at {self._where}; "
                    "it was not sent")

    def _submit(self, topic: str, payload: bytes, qos: int, retain: bool,
                props: Properties | None) -> asyncio.Future[PublishResult]:
        assert self._client is not None
        assert self._loop is not None
        try:
            info = self._client.publish(topic, payload, qos=qos, retain=retain, properties=props)
        except ValueError as exc:
            raise PacerError(f"cannot publish to MQTT topic {topic!r}: {exc}") from None
        if info.rc == MQTTErrorCode.MQTT_ERR_QUEUE_SIZE:
            raise PublishQueueFull(f"too many MQTT messages waiting for the broker at "
                                   f"{self._where}; not sent")
        if info.rc == MQTTErrorCode.MQTT_ERR_NO_CONN:
            # Queued all the same (QoS >= 1): paho sends it after reconnecting.
            self._log.debug("message %d on %s queued while the connection is down",
                            info.mid, topic)
        elif info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            raise BrokerUnavailable(f"cannot publish to {topic}: {mqtt.error_string(info.rc)}")
        fut: asyncio.Future[PublishResult] = self._loop.create_future()
        self._pending[info.mid] = (topic, fut)
        return fut

    # --- subscribing ---------------------------------------------------------------

    async def subscribe(self, topic_filter: str, qos: int = 1, *, timeout: float = 10.0,
                        retain_handling: int = 0) -> int:
        """Subscribe and return the granted QoS. The subscription is kept by the
        broker's session and renewed here if the broker lost the session.
        ``retain_handling`` (MQTT 5): 0 retained messages on subscribing, 1 only
        for a new subscription, 2 never; ignored with MQTT 3.1.1."""
        self._require_connected()
        assert self._client is not None
        assert self._loop is not None
        try:
            rc, mid = self._client.subscribe((topic_filter, self._options(qos, retain_handling)))
        except ValueError as exc:
            raise PacerError(f"cannot subscribe to {topic_filter!r}: {exc}") from None
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS or mid is None:
            raise NotConnected(f"cannot subscribe to {topic_filter}: {mqtt.error_string(rc)}")
        fut: asyncio.Future[list[ReasonCode]] = self._loop.create_future()
        self._subacks[mid] = fut
        self._subscriptions[topic_filter] = (qos, retain_handling)
        try:
            codes = await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            self._subacks.pop(mid, None)
            raise BrokerUnavailable(f"the MQTT broker at {self._where} did not confirm the "
                                    f"subscription to {topic_filter} within {timeout:g} s"
                                    ) from None
        code = codes[0]
        if code.is_failure:
            del self._subscriptions[topic_filter]
            raise BrokerUnavailable(f"the MQTT broker at {self._where} refused the subscription "
                                    f"to {topic_filter}: {code.getName()}; check its ACL")
        return code.value

    def _options(self, qos: int, retain_handling: int) -> Any:
        if not self._v5:
            return qos
        return SubscribeOptions(qos=qos, retainHandling=retain_handling)

    def _resubscribe(self) -> None:
        assert self._client is not None
        topics = [(t, self._options(q, rh)) for t, (q, rh) in self._subscriptions.items()]
        self._log.info("the broker kept no session; subscribing again to %d topic(s)",
                       len(topics))
        rc, _ = self._client.subscribe(topics)
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            self._log.warning("could not subscribe again: %s", mqtt.error_string(rc))

    def ack(self, incoming: Incoming) -> None:
        """Acknowledge a message once it has been processed (with ``manual_ack``;
        otherwise paho has acknowledged it on arrival)."""
        if not self.manual_ack or incoming.qos == 0 or self._client is None:
            return
        self._client.ack(incoming.mid, incoming.qos)

    # --- stopping ------------------------------------------------------------------

    async def stop(self, publish_offline: bool = True, timeout: float = 2.0) -> None:
        """Publish "offline" (retained; waits up to ``timeout`` for its PUBACK),
        disconnect cleanly (the broker keeps the session) and stop paho's thread."""
        client = self._client
        if client is None or self._stopping:
            return
        if publish_offline and self._connected and self.status_topic is not None:
            await self._publish_offline(self.status_topic, timeout)
        self._stopping = True
        client.disconnect()
        try:
            await asyncio.wait_for(asyncio.to_thread(client.loop_stop), timeout + 5.0)
        except TimeoutError:
            self._log.warning("paho's network thread did not stop within %.0f s", timeout + 5.0)
        self._connected = False
        self._ready.clear()
        self._abandon_pending()
        for task in list(self._tasks):
            task.cancel()
        self._log.info("disconnected from the MQTT broker at %s", self._where)

    async def _publish_offline(self, status_topic: str, timeout: float) -> None:
        try:
            fut = self._submit(status_topic, OFFLINE, 1, True, None)
            await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            self._log.warning("no acknowledgement for 'offline' on %s within %.1f s",
                              self.status_topic, timeout)
        except PacerError as exc:
            self._log.warning("could not publish 'offline' on %s: %s", self.status_topic, exc)

    def _abandon_pending(self) -> None:
        gone = BrokerUnavailable(f"the MQTT link to {self._where} stopped before the broker "
                                 "acknowledged the message")
        for _, fut in self._pending.values():
            if not fut.done():
                fut.set_exception(gone)
                fut.exception()  # retrieved here: the waiter may have given up
        self._pending.clear()
        for sub in self._subacks.values():
            sub.cancel()
        self._subacks.clear()

    async def __aenter__(self) -> MqttLink:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
