"""Helpers for the MQTT contract tests: a test PKI, a private mosquitto with TLS,
passwords and the shipped ACL, plain-paho peers (a phone, a physiotherapist's
tool, Home Assistant, an intruder) and daemon configs for the secure broker
(``pacer run`` as a subprocess is ``helpers.daemon.DaemonProcess``).

The broker is always a ``PrivateBroker`` on a free loopback port; nothing here
talks to a broker on 127.0.0.1:1883.
"""

from __future__ import annotations

import datetime as dt
import json
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from paho.mqtt import client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from pacer.mqtt.broker import PrivateBroker

REPO = Path(__file__).resolve().parents[2]
SHIPPED_ACL = REPO / "config" / "mosquitto" / "acl"
SHIPPED_CONF = REPO / "config" / "mosquitto" / "mosquitto.conf"
TZ = ZoneInfo("Australia/Sydney")
DAY = dt.datetime(2026, 11, 23, 9, 0, tzinfo=TZ)  # a Monday; clock origin of the desk day

# Broker accounts. Passwords with characters a shell or a config file could trip on.
PASSWORDS: dict[str, str] = {
    "alice": "alice-S3cret \"pw\" #1",
    "bob": "bob-pw-4711",
    "physio": "physio-pw-0815",
    "homeassistant": "ha-pw-2024",
}

# Settings of the shipped mosquitto.conf that shape delivery (queue and size
# limits); the test broker uses them too, so the tests see what a home sees.
SHIPPED_LIMITS = ("max_queued_messages", "message_size_limit")

NOT_AUTHORIZED = 0x87
WAIT_S = 15.0  # bound for every single wait in these tests


# --- PKI ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    ca: Path
    cert: Path
    key: Path


def make_pki(directory: Path) -> Pki:
    """A test CA and a server certificate for 127.0.0.1 and localhost (EC P-256)."""
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pacer contract-test CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(IPv4Address("127.0.0.1"))]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pki = Pki(directory / "ca.crt", directory / "server.crt", directory / "server.key")
    pki.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    pki.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pki.key.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    pki.key.chmod(0o600)
    return pki


# --- the broker ------------------------------------------------------------------------


def shipped_limits() -> list[str]:
    """The queue and size limits of the shipped mosquitto.conf, as config lines."""
    lines = SHIPPED_CONF.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.split(" ", 1)[0] in SHIPPED_LIMITS]


def secure_broker(pki: Pki, *, acl: Path = SHIPPED_ACL) -> PrivateBroker:
    """A started private mosquitto: TLS only (its one listener), the test
    accounts' passwords, the ACL (by default the repository's own file)."""
    tls = [f"cafile {pki.ca}", f"certfile {pki.cert}", f"keyfile {pki.key}",
           "tls_version tlsv1.2"]
    broker = PrivateBroker(backend="mosquitto", users=PASSWORDS,
                           extra_config=[*tls, f"acl_file {acl}", *shipped_limits()])
    return broker.start()


def broker_pid(broker: PrivateBroker) -> int:
    """The pid of the mosquitto process this test started (found by its config file)."""
    assert broker.data_dir is not None
    conf = str(broker.data_dir / "mosquitto.conf")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if len(args) >= 3 and args[1] == b"-c" and args[2].decode() == conf:
            return int(proc.name)
    raise AssertionError(f"no mosquitto process with the config {conf}")


def unread_bytes(port: int) -> int:
    """Bytes clients have sent to the broker on ``port`` that it has not read yet
    (the receive queues of its established loopback connections, /proc/net/tcp)."""
    total = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state, queues = fields[1], fields[3], fields[4]
        if state == "01" and int(local.split(":")[1], 16) == port:
            total += int(queues.split(":")[1], 16)
    return total


def mqtts_url(broker: PrivateBroker, host: str = "127.0.0.1") -> str:
    return f"mqtts://{host}:{broker.port}"


# --- plain paho peers ------------------------------------------------------------------


@dataclass(frozen=True)
class Got:
    """One message as a peer received it."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    expiry: int | None
    response_topic: str | None
    correlation: bytes | None
    at: float  # time.time() on arrival

    def json(self) -> Any:
        return json.loads(self.payload)


def _got(msg: mqtt.MQTTMessage) -> Got:
    props = getattr(msg, "properties", None)
    corr = getattr(props, "CorrelationData", None)
    return Got(msg.topic, bytes(msg.payload), msg.qos, bool(msg.retain),
               getattr(props, "MessageExpiryInterval", None),
               getattr(props, "ResponseTopic", None),
               bytes(corr) if corr is not None else None, time.time())


class Listener(Protocol):
    """Where a peer connects: a ``PrivateBroker``, or one listener of another."""

    @property
    def host(self) -> str: ...

    @property
    def port(self) -> int: ...


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int


class Peer:
    """A plain paho client with a password, on its own network thread; over
    TLS (``pki``'s CA) unless ``tls`` is False, on TCP or websockets.

    It subscribes to ``topics`` (after every connection without a session),
    records what arrives, and publishes with PUBACK tracking. ``persistent``
    keeps a broker session (clean_start False, session expiry), so it gets
    what was queued for it while it or the broker was away. It reconnects
    quickly (0.25 s), faster than the daemon's back-off. ``wait``: until it
    is connected and subscribed (else see ``wait_connack``, ``wait_ready``)."""

    def __init__(self, broker: Listener, pki: Pki, user: str, *,
                 topics: Sequence[str] = (), password: str | None = None,
                 protocol: str = "5", persistent: bool = False,
                 client_id: str | None = None, wait: bool = True, tls: bool = True,
                 transport: Literal["tcp", "websockets"] = "tcp") -> None:
        self.user = user
        self.topics = list(topics)
        self.messages: list[Got] = []
        self.connacks: list[ReasonCode] = []
        self.granted: list[list[ReasonCode]] = []
        self._acks: dict[int, ReasonCode] = {}
        self._cond = threading.Condition()
        self._ready = 0
        self._v5 = protocol == "5"
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"test-{user}-{uuid.uuid4().hex[:10]}",
            protocol=MQTTProtocolVersion.MQTTv5 if self._v5 else MQTTProtocolVersion.MQTTv311,
            clean_session=None if self._v5 else not persistent,
            transport=transport,
        )
        if tls:
            self._client.tls_set_context(ssl.create_default_context(cafile=str(pki.ca)))
        self._client.username_pw_set(user, PASSWORDS.get(user) if password is None
                                     else password)
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        self._client.on_publish = self._on_publish
        self._client.reconnect_delay_set(0.25, 0.5)  # type: ignore[arg-type]
        props = None
        if self._v5:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = 300 if persistent else 0
        self._client.connect_async(
            broker.host, broker.port, keepalive=10,
            clean_start=not persistent if self._v5 else mqtt.MQTT_CLEAN_START_FIRST_ONLY,
            properties=props)
        self._client.loop_start()
        if wait:
            try:
                self.wait_ready(1)
            except AssertionError:
                self.close()
                raise

    # --- connection ---

    def _on_connect(self, client: mqtt.Client, _u: Any, flags: mqtt.ConnectFlags,
                    rc: ReasonCode, _p: Any) -> None:
        with self._cond:
            self.connacks.append(rc)
            self._cond.notify_all()
        if rc.is_failure:
            return
        if flags.session_present or not self.topics:
            self._set_ready()
        else:
            client.subscribe([(t, 1) for t in self.topics])

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, _mid: int, rcs: list[ReasonCode],
                      _p: Any) -> None:
        with self._cond:
            self.granted.append(list(rcs))
        self._set_ready()

    def _set_ready(self) -> None:
        with self._cond:
            self._ready += 1
            self._cond.notify_all()

    @property
    def ready_count(self) -> int:
        with self._cond:
            return self._ready

    def wait_ready(self, count: int, timeout: float = WAIT_S) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: self._ready >= count, timeout):
                raise AssertionError(f"{self.user}'s test client not connected and "
                                     f"subscribed (connection {count}) within {timeout:g} s; "
                                     f"CONNACKs {self.connacks}")

    def wait_connack(self, timeout: float = WAIT_S) -> ReasonCode | None:
        """The broker's first answer to the connection, accepting or refusing
        it (None when none came within ``timeout``)."""
        with self._cond:
            self._cond.wait_for(lambda: bool(self.connacks), timeout)
            return self.connacks[0] if self.connacks else None

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    # --- receiving ---

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        got = _got(msg)
        with self._cond:
            self.messages.append(got)
            self._cond.notify_all()

    def snapshot(self, match: Callable[[Got], bool] = lambda _m: True) -> list[Got]:
        with self._cond:
            return [m for m in self.messages if match(m)]

    def wait_for(self, n: int, match: Callable[[Got], bool] = lambda _m: True,
                 timeout: float = WAIT_S, what: str = "") -> list[Got]:
        """At least ``n`` received messages that ``match``, or fail after ``timeout``."""
        with self._cond:
            ok = self._cond.wait_for(
                lambda: sum(1 for m in self.messages if match(m)) >= n, timeout)
            found = [m for m in self.messages if match(m)]
        if not ok:
            raise AssertionError(
                f"{self.user}'s test client: expected {n} {what or 'matching'} message(s) "
                f"within {timeout:g} s, got {len(found)}; last messages: "
                f"{[(m.topic, m.payload[:80]) for m in self.messages[-8:]]}")
        return found

    # --- publishing ---

    def _on_publish(self, _c: mqtt.Client, _u: Any, mid: int, rc: ReasonCode,
                    _p: Any) -> None:
        with self._cond:
            self._acks[mid] = rc
            self._cond.notify_all()

    def send(self, topic: str, payload: bytes | str, *, qos: int = 1, retain: bool = False,
             response_topic: str | None = None, correlation: bytes | None = None) -> int:
        """Publish (connected) and return the message id; see ``puback``."""
        if isinstance(payload, str):
            payload = payload.encode()
        props = None
        if self._v5 and (response_topic is not None or correlation is not None):
            props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            if response_topic is not None:
                props.ResponseTopic = response_topic
            if correlation is not None:
                props.CorrelationData = correlation
        info = self._client.publish(topic, payload, qos=qos, retain=retain, properties=props)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise AssertionError(f"publish to {topic} failed: {mqtt.error_string(info.rc)}")
        mid: int = info.mid
        return mid

    def puback(self, mid: int, timeout: float = WAIT_S) -> ReasonCode:
        """The broker's PUBACK reason code for ``mid`` (MQTT 3.1.1: always success)."""
        with self._cond:
            if not self._cond.wait_for(lambda: mid in self._acks, timeout):
                raise AssertionError(f"no PUBACK for message {mid} within {timeout:g} s")
            return self._acks.pop(mid)

    def publish(self, topic: str, payload: bytes | str, **kw: Any) -> ReasonCode:
        """Publish and wait for the broker's acknowledgement."""
        return self.puback(self.send(topic, payload, **kw))


def is_prompt(kind: str | None = None, user: str = "alice") -> Callable[[Got], bool]:
    def match(m: Got) -> bool:
        return m.topic == f"pacer/{user}/prompt" and (kind is None or m.json()["kind"] == kind)
    return match


def replies_to(correlation: bytes) -> Callable[[Got], bool]:
    return lambda m: m.correlation == correlation


# --- daemon configs for the secure broker ----------------------------------------------


def desk_csv(path: Path, minutes: int = 120, start: dt.datetime = DAY) -> Path:
    """A desk day: sitting still from 09:00, one row per minute."""
    rows = [f"{(start + dt.timedelta(minutes=i)).isoformat()},0,sitting" for i in range(minutes)]
    path.write_text("time,steps,posture\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def write_secure_config(directory: Path, broker: PrivateBroker, pki: Pki, *, speed: float,
                 user: str = "alice", password: str | None = None, protocol: str = "5",
                 host: str = "127.0.0.1", plan_editors: Iterable[str] = (),
                 ha_discovery: bool = False, rules: str = "", minutes: int = 120,
                 name: str = "pacer.toml", commands_per_minute: int = 120) -> Path:
    """A daemon config for ``user`` on the secure broker, fed a desk day by a
    replay device at ``speed``; ``rules`` is TOML appended as is. The password
    file ends with a newline (interfaces.md 7.6: it is ignored)."""
    directory.mkdir(parents=True, exist_ok=True)
    desk_csv(directory / "desk.csv", minutes)
    pw_file = directory / f"{user}.password"
    pw_file.write_text((PASSWORDS[user] if password is None else password) + "\n",
                       encoding="utf-8")
    pw_file.chmod(0o600)
    editors = ", ".join(json.dumps(e) for e in plan_editors)
    cfg = directory / name
    cfg.write_text(
        f"""
[user]
id = "{user}"
timezone = "Australia/Sydney"

[[devices]]
kind = "replay"
path = "desk.csv"
speed = {speed}

[mqtt]
url = "{mqtts_url(broker, host)}"
username = "{user}"
password_file = "{pw_file.name}"
ca_file = "{pki.ca}"
protocol = "{protocol}"
plan_editors = [{editors}]
ha_discovery = {"true" if ha_discovery else "false"}
commands_per_minute = {commands_per_minute}

[storage]
path = "pacer.sqlite3"
{rules}
""",
        encoding="utf-8",
    )
    return cfg


# Sitting rules that fire often, within the ranges pacer/config.py allows; no
# walk reminders, so a desk day's prompts are sitting prompts only. v2 stops
# at 1 + max_repeats prompts a bout (10 is a v1 value v2 still accepts) and
# at the daily budget, less its reserve for a bout's first prompt: 30 keeps a
# two-hour desk day's 21 prompts (09:15, then every 5 minutes) within it.
BUSY_RULES = """
[sitting]
limit_min = 15
repeat_min = 5
max_repeats = 10

[prompts]
max_per_hour = 20
min_gap_min = 0
max_per_day = 30

[walks]
per_day = 0
times = []
"""
