"""MqttLink and PrivateBroker against a real private mosquitto (and amqtt when
installed). Async parts run with asyncio.run inside plain test functions."""

from __future__ import annotations

import asyncio
import logging
import os
import select
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import REPO
from helpers.daemon import until, wait_until
from helpers.mqtt import Collector, publish_once

from pacer.config import MqttConfig
from pacer.errors import BadInput, BrokerUnavailable, PacerError
from pacer.mqtt import broker as broker_mod
from pacer.mqtt.broker import (
    PrivateBroker,
    amqtt_available,
    find_mosquitto,
    free_port,
    port_open,
)
from pacer.mqtt.client import (
    DEFAULT_MAX_PAYLOAD,
    Incoming,
    MqttLink,
    NotConnected,
    PayloadTooLarge,
)

needs_mosquitto = pytest.mark.skipif(find_mosquitto() is None, reason="needs the mosquitto binary")

SubscriberFactory = Callable[[PrivateBroker, str], Collector]


def make_link(broker: PrivateBroker | str, name: str, protocol: str | None = None,
              **kwargs: Any) -> MqttLink:
    url = broker if isinstance(broker, str) else broker.url
    proto = protocol or (broker.protocol if isinstance(broker, PrivateBroker) else "5")
    cfg = MqttConfig(url=url, protocol=proto)  # type: ignore[arg-type]
    return MqttLink(cfg, client_id=f"test-{name}", status_topic=f"pacer/{name}/status",
                    **kwargs)


def online(m: Any) -> bool:
    return bool(m.payload == b"online")


def offline(m: Any) -> bool:
    return bool(m.payload == b"offline")


# --- PrivateBroker -------------------------------------------------------------------


@needs_mosquitto
def test_private_broker_url_restart_and_cleanup() -> None:
    b = PrivateBroker().start()
    try:
        assert b.backend == "mosquitto"
        assert b.protocol == "5"
        assert b.url == f"mqtt://127.0.0.1:{b.port}"
        assert b.port != 1883
        data_dir = b.data_dir
        assert data_dir is not None
        conf = (data_dir / "mosquitto.conf").read_text()
        assert f"listener {b.port} 127.0.0.1" in conf
        assert "autosave_interval 1" in conf
        publish_once(b, "pacer/x/state", b"kept", retain=True)
        port = b.port
        b.restart()
        assert b.running
        assert (b.port, b.data_dir) == (port, data_dir)
    finally:
        b.stop()
    after_stop = (b.running, b.data_dir)  # read afresh (mypy narrowed the properties)
    assert after_stop == (False, None)
    assert not data_dir.exists()


@needs_mosquitto
def test_retained_message_survives_restart(broker: PrivateBroker,
                                           subscriber: SubscriberFactory) -> None:
    publish_once(broker, "pacer/x/state", b"kept", retain=True)
    broker.restart()
    got = subscriber(broker, "pacer/x/state").wait_for(1)
    assert got[0].payload == b"kept"
    assert got[0].retain


@needs_mosquitto
def test_kill_then_restart(broker: PrivateBroker) -> None:
    broker.kill()
    assert not broker.running
    broker.restart()
    assert broker.running


ORPHAN = """
import os, signal
from pacer.mqtt.broker import PrivateBroker
b = PrivateBroker().start()
print(b.port, b.data_dir, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


@needs_mosquitto
def test_broker_of_a_killed_owner_does_not_linger() -> None:
    out = subprocess.run([sys.executable, "-c", ORPHAN], capture_output=True, cwd=REPO,
                         env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60, check=False)
    assert out.returncode == -signal.SIGKILL
    port_text, data_dir = out.stdout.decode().split()
    wait_until(lambda: not port_open("127.0.0.1", int(port_text))
               and not Path(data_dir).exists(), timeout=15,
               what="the orphaned broker to be gone")


@needs_mosquitto
def test_broker_start_failure_shows_log_tail() -> None:
    with pytest.raises(PacerError, match="bogus_option") as info:
        PrivateBroker(extra_config=["bogus_option 1"]).start()
    assert "exited before listening" in str(info.value)


def test_no_broker_available_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(broker_mod, "find_mosquitto", lambda: None)
    monkeypatch.setattr(broker_mod, "amqtt_available", lambda: False)
    with pytest.raises(PacerError, match=r"apt-get install mosquitto.*pacer-activity\[demo\]"):
        PrivateBroker()


# --- connecting and status -----------------------------------------------------------


@needs_mosquitto
def test_connect_publishes_online_retained(broker: PrivateBroker,
                                           subscriber: SubscriberFactory) -> None:
    hooks: list[bool] = []

    async def hook(session_present: bool) -> None:
        hooks.append(session_present)

    async def main() -> None:
        link = make_link(broker, "online", on_connected=hook)
        await link.start()
        await link.wait_connected(5)
        assert link.connected
        await until(lambda: bool(hooks), what="the on_connected hook")
        # "online" went out before this message, so once this one is
        # acknowledged the broker holds "online" as retained.
        assert (await link.publish("pacer/online/event", b"{}")).ok
        # A subscriber that arrives later gets the retained status.
        got = await subscriber(broker, "pacer/online/status").wait_for_async(1, match=online)
        assert got[0].retain
        await link.stop()
        assert not link.connected

    asyncio.run(main())
    assert hooks == [False]
    after = subscriber(broker, "pacer/online/status").wait_for(1)
    assert after[-1].payload == b"offline"
    assert after[-1].retain


def test_wrong_port_gives_a_clear_error_when_the_wait_ends() -> None:
    port = free_port()

    async def main() -> None:
        link = make_link(f"mqtt://127.0.0.1:{port}", "noport")
        await link.start()
        try:
            with pytest.raises(BrokerUnavailable) as info:  # not a hang, not a retry for ever
                await asyncio.wait_for(link.wait_connected(2), 60)
        finally:
            await link.stop()
        msg = str(info.value)
        assert f"127.0.0.1:{port}" in msg
        assert "connection refused" in msg
        assert "[mqtt] url" in msg

    asyncio.run(main())


@needs_mosquitto
def test_refused_password_is_surfaced_not_retried_forever(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    secret = "wrong-pw-do-not-log"
    pw_file = tmp_path / "pw"
    pw_file.write_text(secret + "\n")
    good_file = tmp_path / "good"
    good_file.write_text("alice-pw\n")
    caplog.set_level(logging.DEBUG)

    async def main(b: PrivateBroker) -> None:
        cfg = MqttConfig(url=b.url, username="alice", password_file=pw_file)
        link = MqttLink(cfg, client_id="test-badpw", status_topic="pacer/alice/status",
                        max_refusals=2)
        await link.start()
        try:
            with pytest.raises(BrokerUnavailable) as info:
                await link.wait_connected(15)
            assert link.failed.done()
        finally:
            await link.stop()
        msg = str(info.value)
        assert "Not authorized" in msg or "Bad user name or password" in msg
        assert "password_file" in msg
        assert secret not in msg

        good = MqttLink(cfg.model_copy(update={"password_file": good_file}),
                        client_id="test-goodpw", status_topic="pacer/alice/status")
        await good.start()
        await good.wait_connected(5)
        await good.stop()

    with PrivateBroker(users={"alice": "alice-pw"}) as b:
        asyncio.run(main(b))
    assert "refused the connection" in caplog.text
    assert secret not in caplog.text
    assert "alice-pw" not in caplog.text


# --- publishing ----------------------------------------------------------------------


@needs_mosquitto
def test_publish_with_expiry_arrives_not_retained(broker: PrivateBroker,
                                                  subscriber: SubscriberFactory) -> None:
    prompts = subscriber(broker, "pacer/exp/prompt")

    async def main() -> None:
        link = make_link(broker, "exp")
        await link.start()
        await link.wait_connected(5)
        result = await link.publish("pacer/exp/prompt", b'{"v": 1}', expiry_s=59.2,
                                    user_properties=[("msg_id", "p-1")])
        assert result.ok, result
        await link.stop()

    asyncio.run(main())
    got = prompts.wait_for(1)[0]
    assert got.payload == b'{"v": 1}'
    assert not got.retain
    assert got.qos == 1
    assert got.expiry is not None
    assert 1 <= got.expiry <= 60
    assert got.user_properties == (("msg_id", "p-1"),)


@needs_mosquitto
def test_publish_while_disconnected_is_refused_and_link_reconnects(
        broker: PrivateBroker, subscriber: SubscriberFactory) -> None:
    prompts = subscriber(broker, "pacer/gate/prompt")

    async def main() -> None:
        link = make_link(broker, "gate")
        await link.start()
        await link.wait_connected(5)
        await asyncio.to_thread(broker.kill)
        await until(lambda: not link.connected, what="the link to notice the broker died")
        with pytest.raises(NotConnected):
            await link.publish("pacer/gate/prompt", b"while-down")
        # paho's publish() while the socket is down returns MQTT_ERR_NO_CONN but
        # queues the message; the link must still resolve it by its PUBACK.
        queued = link._submit("pacer/gate/prompt", b"queued", 1, False, None)
        await asyncio.to_thread(broker.restart)
        await link.wait_connected(20)
        result = await asyncio.wait_for(queued, 20)
        assert result.ok
        await asyncio.to_thread(prompts.wait_ready, 2, 20)
        assert (await link.publish("pacer/gate/prompt", b"after")).ok
        await link.stop()

    asyncio.run(main())
    # (Whether "queued" reaches this subscriber depends on whether mosquitto had
    # saved its session before the SIGKILL; the link's part is the PUBACK above.)
    prompts.wait_for(1, match=lambda m: m.payload == b"after")
    assert b"while-down" not in prompts.payloads()


@needs_mosquitto
def test_broker_restart_reconnects_and_republishes_online(
        broker: PrivateBroker, subscriber: SubscriberFactory) -> None:
    status = subscriber(broker, "pacer/rs/status")
    prompts = subscriber(broker, "pacer/rs/prompt")
    sessions: list[bool] = []

    async def hook(session_present: bool) -> None:
        sessions.append(session_present)

    async def main() -> None:
        link = make_link(broker, "rs", on_connected=hook)
        await link.start()
        await link.wait_connected(5)
        await status.wait_for_async(1, match=online)
        assert (await link.publish("pacer/rs/prompt", b"before")).ok
        mark = len(status.messages)
        await asyncio.to_thread(broker.restart)
        await until(lambda: len(sessions) == 2, timeout=20, what="a second CONNACK")
        assert (await link.publish("pacer/rs/prompt", b"after")).ok
        # The collector resumed its session without subscribing again, so this
        # is the link's new "online", not a replay of the retained one.
        again = await status.wait_for_async(1, match=online, since=mark)
        assert not again[0].retain
        await link.stop()

    asyncio.run(main())
    assert sessions == [False, True]  # mosquitto persisted the session
    prompts.wait_for(2, timeout=20)
    assert prompts.payloads() == [b"before", b"after"]


@needs_mosquitto
def test_oversize_payload_refused_before_sending(broker: PrivateBroker,
                                                 subscriber: SubscriberFactory) -> None:
    got = subscriber(broker, "pacer/big/prompt")

    async def main() -> None:
        link = make_link(broker, "big")
        await link.start()
        await link.wait_connected(5)
        with pytest.raises(PayloadTooLarge, match="not sent"):
            await link.publish("pacer/big/prompt", b"x" * (DEFAULT_MAX_PAYLOAD + 1))
        assert link.connected
        assert (await link.publish("pacer/big/prompt", b"marker")).ok
        await link.stop()

    asyncio.run(main())
    got.wait_for(1)
    assert got.payloads() == [b"marker"]  # in order: nothing went out before it


@needs_mosquitto
def test_broker_maximum_packet_size_is_respected(subscriber: SubscriberFactory) -> None:
    async def main(b: PrivateBroker) -> None:
        link = make_link(b, "mps")
        await link.start()
        await link.wait_connected(5)
        assert link.broker_max_packet == 1024
        with pytest.raises(PayloadTooLarge, match="maximum packet size of 1024"):
            await link.publish("pacer/mps/prompt", b"x" * 2000)
        assert (await link.publish("pacer/mps/prompt", b"y" * 500)).ok
        assert link.connected
        await link.stop()

    with PrivateBroker(extra_config=["max_packet_size 1024"]) as b:
        got = subscriber(b, "pacer/mps/prompt")
        asyncio.run(main(b))
        got.wait_for(1)
        assert [len(p) for p in got.payloads()] == [500]


# --- Last Will -----------------------------------------------------------------------

CHILD = """
import asyncio, sys
from pacer.config import MqttConfig
from pacer.mqtt.client import MqttLink

async def main():
    link = MqttLink(MqttConfig(url=sys.argv[1]), client_id="test-will-child",
                    status_topic=sys.argv[2])
    await link.start()
    await link.wait_connected(10)
    print("connected", flush=True)
    await asyncio.sleep(120)

asyncio.run(main())
"""


def _read_line(proc: subprocess.Popen[bytes], timeout: float) -> bytes:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    return proc.stdout.readline() if ready else b""


@needs_mosquitto
def test_last_will_offline_after_sigkill(broker: PrivateBroker,
                                         subscriber: SubscriberFactory) -> None:
    status = subscriber(broker, "pacer/will/status")
    proc = subprocess.Popen([sys.executable, "-c", CHILD, broker.url, "pacer/will/status"],
                            stdout=subprocess.PIPE, cwd=REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert _read_line(proc, 20) == b"connected\n"
        status.wait_for(1, match=online)
        mark = len(status.messages)
        proc.kill()
        proc.wait(10)
        got = status.wait_for(1, match=offline, since=mark)
        assert got[0].qos == 1
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
    # The will was retained: a newcomer sees "offline".
    late = subscriber(broker, "pacer/will/status").wait_for(1)
    assert late[0].payload == b"offline"
    assert late[0].retain


# --- subscribing ---------------------------------------------------------------------


@needs_mosquitto
def test_subscribe_and_manual_ack(broker: PrivateBroker) -> None:
    cmd = "pacer/ma/cmd/ack"

    async def receive(link: MqttLink) -> Incoming:
        return await asyncio.wait_for(link.messages.get(), 10)

    async def main() -> None:
        first = make_link(broker, "ma", manual_ack=True)
        await first.start()
        await first.wait_connected(5)
        assert await first.subscribe("pacer/ma/cmd/#") == 1
        await asyncio.to_thread(publish_once, broker, cmd, b'{"id": "c1"}',
                                response_topic="phone/reply", correlation_data=b"\x01\x02")
        msg = await receive(first)
        assert (msg.topic, msg.payload, msg.qos) == (cmd, b'{"id": "c1"}', 1)
        assert msg.response_topic == "phone/reply"
        assert msg.correlation_data == b"\x01\x02"
        assert not msg.retain
        await first.stop()  # without acking: the broker must send it again

        second = make_link(broker, "ma", manual_ack=True)
        await second.start()
        await second.wait_connected(5)
        again = await receive(second)
        assert again.payload == b'{"id": "c1"}'
        second.ack(again)
        await second.stop()

        third = make_link(broker, "ma", manual_ack=True)
        await third.start()
        await third.wait_connected(5)
        await asyncio.to_thread(publish_once, broker, cmd, b'{"id": "c2"}')
        # Acked c1 is not redelivered: the next message is c2.
        assert (await receive(third)).payload == b'{"id": "c2"}'
        await third.stop()

    asyncio.run(main())


@needs_mosquitto
def test_full_incoming_queue_drops_and_warns(broker: PrivateBroker,
                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)

    async def main() -> None:
        link = make_link(broker, "full", incoming_max=1)
        await link.start()
        await link.wait_connected(5)
        await link.subscribe("pacer/full/cmd/#")
        for i in range(3):
            await asyncio.to_thread(publish_once, broker, "pacer/full/cmd/dnd", b"%d" % i)
        await until(lambda: link.dropped == 2, what="two dropped messages")
        assert link.messages.get_nowait().payload == b"0"
        await link.stop()

    asyncio.run(main())
    assert "2 dropped so far" in caplog.text


# --- MQTT 3.1.1 and TLS --------------------------------------------------------------


@needs_mosquitto
def test_v311_mode_against_mosquitto(broker: PrivateBroker, subscriber: SubscriberFactory,
                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    prompts = subscriber(broker, "pacer/v3/prompt")
    status = subscriber(broker, "pacer/v3/status")

    async def main() -> None:
        link = make_link(broker, "v3", protocol="3.1.1", manual_ack=True)
        assert link.protocol == "3.1.1"
        await link.start()
        await link.wait_connected(5)
        await link.subscribe("pacer/v3/cmd/#")
        result = await link.publish("pacer/v3/prompt", b"p", expiry_s=30,
                                    user_properties=[("k", "v")])
        assert result.ok
        await asyncio.to_thread(publish_once, broker, "pacer/v3/cmd/ack", b"c")
        msg = await asyncio.wait_for(link.messages.get(), 10)
        assert msg.payload == b"c"
        assert msg.response_topic is None
        link.ack(msg)
        await link.stop()

    asyncio.run(main())
    got = prompts.wait_for(1)[0]
    assert got.payload == b"p"
    assert got.expiry is None
    assert got.user_properties == ()
    status.wait_for(1, match=offline)
    assert caplog.text.count("5-only") + caplog.text.count("message expiry, user properties") == 1


def _make_pki(d: Path) -> None:
    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=d, timeout=60)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
        "-subj", "/CN=pacer test CA", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (d / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                  "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "server.ext")


@needs_mosquitto
@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_tls_with_ca_file_and_certificate_error(tmp_path: Path) -> None:
    _make_pki(tmp_path)
    tls = [f"cafile {tmp_path / 'ca.crt'}", f"certfile {tmp_path / 'server.crt'}",
           f"keyfile {tmp_path / 'server.key'}"]

    async def main(port: int) -> None:
        url = f"mqtts://127.0.0.1:{port}"
        cfg = MqttConfig(url=url, ca_file=tmp_path / "ca.crt")
        link = MqttLink(cfg, client_id="test-tls", status_topic="pacer/tls/status")
        await link.start()
        await link.wait_connected(5)
        assert (await link.publish("pacer/tls/prompt", b"secure")).ok
        await link.stop()

        untrusted = MqttLink(MqttConfig(url=url), client_id="test-tls-bad",
                             status_topic="pacer/tls/status")
        await untrusted.start()
        try:
            with pytest.raises(BrokerUnavailable, match="TLS certificate") as info:
                await untrusted.wait_connected(2)
            assert "ca_file" in str(info.value)
        finally:
            await untrusted.stop()

    with PrivateBroker(extra_config=tls) as b:
        asyncio.run(main(b.port))


def test_unreadable_ca_file_is_bad_input(tmp_path: Path) -> None:
    async def main() -> None:
        cfg = MqttConfig(url="mqtts://127.0.0.1:1", ca_file=tmp_path / "missing.crt")
        link = MqttLink(cfg, client_id="test-noca", status_topic="pacer/noca/status")
        with pytest.raises(BadInput, match=r"missing\.crt"):
            await link.start()

    asyncio.run(main())


# --- amqtt fallback ------------------------------------------------------------------


@pytest.mark.skipif(not amqtt_available(), reason="amqtt is not installed (the 'demo' extra)")
def test_amqtt_fallback_speaks_311(subscriber: SubscriberFactory) -> None:
    async def main(b: PrivateBroker, got: Collector) -> None:
        link = make_link(b, "amq")
        assert link.protocol == "3.1.1"
        await link.start()
        await link.wait_connected(10)
        assert (await link.publish("pacer/amq/prompt", b"from-amqtt")).ok
        await got.wait_for_async(1)
        await link.stop()

    with PrivateBroker(backend="amqtt") as b:
        assert b.protocol == "3.1.1"
        assert b.backend == "amqtt"
        got = subscriber(b, "pacer/amq/prompt")
        asyncio.run(main(b, got))
        assert got.payloads() == [b"from-amqtt"]
