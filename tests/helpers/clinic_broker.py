"""The shipped mosquitto config (config/mosquitto/mosquitto.conf, both ACLs,
per-listener password files) on free loopback ports, for the clinic's tests
of hostile accounts; plain paho clients on its listeners; a clinic collector
running in a thread of its own.

Only the ports, file paths and certificates of the shipped config are
replaced (each replacement is checked to be there, so a change of the
shipped file fails here first); everything else is the file as shipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from paho.mqtt.reasoncodes import ReasonCode

from helpers.daemon import stop_process, wait_until
from helpers.mqtt_tls import Endpoint, Got, Peer, Pki, make_pki
from pacer.clinic.collector import Collector
from pacer.clinic.config import ClinicConfig, load_clinic_config
from pacer.clinic.db import Database
from pacer.mqtt.broker import find_mosquitto, free_port, port_open

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "config" / "mosquitto"
NOT_AUTHORIZED = 0x87
WAIT_S = 20.0

# The daemons' (and the clinic's) accounts, and the phones' with other passwords.
DAEMONS = {"alice": "alice-daemon-pw-1", "bob": "bob-daemon-pw-2", "carol": "carol-daemon-pw-3",
           "mallory": "mallory-daemon-pw-4", "physio": "physio-pw-0815",
           "homeassistant": "ha-pw-2024"}
PHONES = {"alice": "alice phone pw 5", "bob": "bob phone pw 6", "mallory": "mallory phone 7"}


def _passwd(path: Path, users: dict[str, str]) -> None:
    path.touch(mode=0o600)
    passwd = shutil.which("mosquitto_passwd")
    assert passwd is not None, "mosquitto_passwd is not installed"
    for user, pw in users.items():
        subprocess.run([passwd, "-b", str(path), user, pw], check=True, capture_output=True,
                       timeout=30)


@dataclass
class ShippedBroker:
    """mosquitto with the shipped config: ``mqtts`` (8883), ``plain`` (1883)
    and ``ws`` (8884, websockets) are its listeners' ports."""

    work: Path
    pki: Pki
    mqtts: int = field(default_factory=free_port)
    plain: int = field(default_factory=free_port)
    ws: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The loopback listener, as the clinic's and the daemons' [mqtt] url."""
        return f"mqtt://127.0.0.1:{self.plain}"

    def config(self) -> Path:
        text = (SHIPPED / "mosquitto.conf").read_text(encoding="utf-8")
        certs = "/etc/mosquitto/certs/"
        for old, new in (
                ("listener 8883\n", f"listener {self.mqtts} 127.0.0.1\n"),
                ("listener 1883 127.0.0.1\n", f"listener {self.plain} 127.0.0.1\n"),
                ("listener 8884\n", f"listener {self.ws} 127.0.0.1\n"),
                ("/etc/mosquitto/pacer.passwd", str(self.work / "pacer.passwd")),
                ("/etc/mosquitto/pacer-phone.passwd", str(self.work / "pacer-phone.passwd")),
                ("/etc/mosquitto/pacer.acl", str(SHIPPED / "acl")),
                ("/etc/mosquitto/pacer-phone.acl", str(SHIPPED / "acl-phone")),
                (certs + "server.crt", str(self.pki.cert)),
                (certs + "server.key", str(self.pki.key)),
                (certs + "ca.crt", str(self.pki.ca))):
            assert old in text, f"{old!r} is no longer in the shipped mosquitto.conf"
            text = text.replace(old, new)
        head = [f"persistence_location {self.work}/", f"log_dest file {self.work}/log",
                "log_type all"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            head.append("user root")  # our temporary files are root's
        conf = self.work / "mosquitto.conf"
        conf.write_text("\n".join(head) + "\n" + text, encoding="utf-8")
        return conf

    def start(self) -> ShippedBroker:
        binary = find_mosquitto()
        assert binary is not None, "mosquitto is not installed"
        _passwd(self.work / "pacer.passwd", DAEMONS)
        _passwd(self.work / "pacer-phone.passwd", PHONES)
        conf = self.config()
        with (self.work / "out").open("ab") as out:
            self.proc = subprocess.Popen([binary, "-c", str(conf)], stdout=out,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        wait_until(lambda: all(port_open("127.0.0.1", p)
                               for p in (self.mqtts, self.plain, self.ws))
                   or self.proc is None or self.proc.poll() is not None,
                   WAIT_S, "the shipped mosquitto listening")
        assert self.proc.poll() is None, self.log()
        return self

    def log(self) -> str:
        parts = []
        for name in ("out", "log"):
            with contextlib.suppress(OSError):
                parts.append((self.work / name).read_text(errors="replace")[-4000:])
        return "\n".join(parts)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            stop_process(proc)


@contextlib.contextmanager
def shipped_broker(work: Path) -> Iterator[ShippedBroker]:
    work.mkdir(parents=True, exist_ok=True)
    broker = ShippedBroker(work, make_pki(work / "pki"))
    try:
        yield broker.start()
    finally:
        broker.stop()


class Client:
    """A plain paho MQTT 5 client (a ``helpers.mqtt_tls.Peer``): the daemon's
    account on the loopback listener, or (``phone``) the phone's account over
    TLS websockets. ``check``: that the broker accepted it and it subscribed
    (else only that the broker answered; see ``refusal``)."""

    def __init__(self, broker: ShippedBroker, user: str, password: str | None = None, *,
                 phone: bool = False, topics: Sequence[str] = (), check: bool = True) -> None:
        self.user = user
        pw = password if password is not None else (PHONES if phone else DAEMONS)[user]
        self.peer = Peer(Endpoint("127.0.0.1", broker.ws if phone else broker.plain),
                         broker.pki, user, topics=topics, password=pw, wait=False, tls=phone,
                         transport="websockets" if phone else "tcp")
        self.peer.wait_connack(WAIT_S)
        if check:
            rc = self.refusal()
            assert rc is None, f"{user} refused: {rc}"
            self.peer.wait_ready(1, WAIT_S)

    def refusal(self) -> ReasonCode | str | None:
        """Why the broker refused the connection (or that it did not answer), or None."""
        rc = self.peer.wait_connack(0)
        if rc is None:
            return "no CONNACK"
        return rc if rc.is_failure else None

    def publish(self, topic: str, payload: bytes | str, *, retain: bool = False,
                correlation: bytes | None = None) -> ReasonCode:
        """Publish at QoS 1 and return the broker's PUBACK reason code."""
        return self.peer.publish(topic, payload, retain=retain, correlation=correlation)

    def received(self, match: Callable[[Got], bool] = lambda _m: True) -> list[Got]:
        return self.peer.snapshot(match)

    def wait_for(self, match: Callable[[Got], bool], what: str) -> None:
        self.peer.wait_for(1, match, WAIT_S, what)

    def close(self) -> None:
        self.peer.close()


def clinic_config(work: Path, broker: ShippedBroker, client_id: str = "col-1", *,
                  database: str = "clinic.sqlite3", extra: str = "") -> ClinicConfig:
    (work / "physio.password").write_text(DAEMONS["physio"] + "\n", encoding="utf-8")
    path = work / f"{client_id}.toml"
    path.write_text(f"""
database = "{database}"
[mqtt]
url = "{broker.url}"
username = "physio"
password_file = "physio.password"
[collector]
group = "clinic"
client_id = "{client_id}"
batch = 50
[web]
users_file = "users"
secret_file = "secret"
reply_timeout_s = 0.5
{extra}
""", encoding="utf-8")
    return load_clinic_config(path)


class RunningCollector:
    """``Collector.run()`` on an event loop of its own thread."""

    def __init__(self, config: ClinicConfig, db: Database | None = None) -> None:
        self.db = db or Database(config.database)
        self.collector = Collector(config, self.db)
        self.error: BaseException | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self._loop.run_until_complete(self.collector.run())
        except BaseException as exc:  # reported by the test
            self.error = exc

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def __enter__(self) -> RunningCollector:
        self._thread.start()
        wait_until(lambda: self.collector._subscribed or not self.alive, WAIT_S,
                   "the collector subscribed")
        assert self.alive, f"the collector stopped: {self.error!r}"
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.alive:
            self._loop.call_soon_threadsafe(self.collector.stop)
            self._thread.join(30)
        with contextlib.suppress(RuntimeError):
            self._loop.close()
