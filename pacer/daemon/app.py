"""``pacer run``: the thin shell around the engine.

One asyncio loop. Two long-lived tasks under one supervisor: the minute loop
(source -> engine -> store, one transaction per minute holding the epoch, what
the engine decided, its new state and the messages to send) and the publisher
(store outbox -> MQTT, a row deleted only once the broker acknowledged it).
A kill at any moment therefore loses nothing and repeats nothing: on restart
the engine resumes from the stored state and the outbox is sent on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import time
from pathlib import Path

from pacer.config import Config, ReplayDevice, load_config
from pacer.daemon.clock import Clock
from pacer.daemon.messages import Topics, outbox_for
from pacer.daemon.sources import ReplayFeed
from pacer.engine.core import Engine
from pacer.engine.model import Dropped, Epoch, Output, Prompt
from pacer.errors import BadInput, PacerError
from pacer.mqtt.client import MqttLink, NotConnected, PayloadTooLarge
from pacer.store import Store
from pacer.timebase import iso

log = logging.getLogger(__name__)

PUBLISH_TIMEOUT_S = 10.0


def client_id(config: Config) -> str:
    # Stable across restarts, so the broker keeps our session (mqtt-notes 1.2).
    return f"pacer-{config.user.id}-{socket.gethostname()}"[:64]


class _Stop(Exception):  # noqa: N818
    """Raised inside the task group to end every task at once."""


class Daemon:
    def __init__(self, config: Config, *, store: Store) -> None:
        self.config = config
        self.store = store
        self.user = config.user.id
        self.topics = Topics(config.mqtt.topic_prefix, self.user)
        self.engine = self._restore_engine()
        self.feed, self.clock = self._source()
        self.link = MqttLink(
            config.mqtt,
            client_id=client_id(config),
            status_topic=self.topics.status,
            on_connected=self._on_connected,
        )
        self._wake_publisher = asyncio.Event()
        self._stopping = asyncio.Event()

    # --- start-up ------------------------------------------------------------------

    def _restore_engine(self) -> Engine:
        rules, user, tz = self.config.rules, self.user, self.config.user.zone_name()
        saved = self.store.load_state(user)
        if saved is None:
            log.info("no saved state for %s: starting fresh", user)
            return Engine(rules, user=user, timezone=tz)
        minute, snapshot = saved
        engine = Engine.restore(rules, user=user, timezone=tz, snapshot=snapshot)
        log.info("resuming %s after %s", user, iso(minute, engine.tz))
        return engine

    def _source(self) -> tuple[ReplayFeed | None, Clock]:
        replays = [d for d in self.config.devices if isinstance(d, ReplayDevice)]
        if len(replays) > 1:
            raise BadInput("only one replay device can feed the daemon at a time")
        if not replays:
            others = [d.kind for d in self.config.devices]
            if others:
                raise BadInput(
                    f"device kinds {', '.join(others)} are not supported by this version yet; "
                    "use a replay device"
                )
            log.warning("no devices configured: every minute will be unknown")
            return None, Clock()
        dev = replays[0]
        feed = ReplayFeed(dev.path, resume_at=self.engine.next_minute)
        start = self.engine.next_minute or feed.first_minute()
        if start is None:
            raise BadInput(f"{dev.path}: the replay file has no minutes")
        log.info("replay device at %gx real time, from %s", dev.speed, iso(start, self.engine.tz))
        return feed, Clock(speed=dev.speed, origin=start * 60)

    # --- tasks ---------------------------------------------------------------------

    async def run(self) -> None:
        await self.link.start()
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._minutes(), name="minutes")
                tasks.create_task(self._publisher(), name="publisher")
                tasks.create_task(self._stop_when_asked(), name="stop")
        except* _Stop:
            pass
        finally:
            await self._flush(timeout=3.0)
            await self.link.stop()

    def stop(self) -> None:
        self._stopping.set()

    async def _stop_when_asked(self) -> None:
        await self._stopping.wait()
        log.info("stopping")
        raise _Stop

    async def _minutes(self) -> None:
        minute = self.engine.next_minute
        if minute is None:
            minute = int(self.clock.now() // 60)
        while True:
            await self.clock.sleep_until((minute + 1) * 60)
            epoch = self.feed.epoch(minute) if self.feed else _unknown(minute)
            outputs = self.engine.advance(epoch)
            outbox = outbox_for(
                outputs,
                topics=self.topics,
                tz=self.engine.tz,
                real_deadline=self.clock.real_deadline,
            )
            self.store.commit_minute(
                self.user, epoch, "replay" if self.feed else "none", outputs,
                self.engine.snapshot(), outbox,
            )
            self._log_outputs(outputs)
            if outbox:
                self._wake_publisher.set()
            minute = epoch.start + 1

    def _log_outputs(self, outputs: list[Output]) -> None:
        for out in outputs:
            if isinstance(out, Prompt):
                log.info("prompt %s at %s: %s %s", out.kind, iso(out.time, self.engine.tz),
                         out.id, dict(out.reason))
            elif isinstance(out, Dropped):
                log.info("prompt %s at %s not sent: %s", out.kind,
                         iso(out.time, self.engine.tz), out.why)

    async def _on_connected(self, session_present: bool) -> None:
        self._wake_publisher.set()

    async def _publisher(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake_publisher.wait(), timeout=1.0)
            self._wake_publisher.clear()
            if self.link.connected:
                await self._send_pending()

    async def _send_pending(self) -> None:
        expired = self.store.outbox_drop_expired(time.time())
        if expired:
            log.info("%d queued message(s) expired before the broker could take them", expired)
        for seq, msg in self.store.outbox_pending():
            if not self.link.connected:
                return
            expiry_s = None
            if msg.expires_at is not None:
                expiry_s = msg.expires_at - time.time()
                if expiry_s <= 0:
                    self.store.outbox_done(seq)
                    log.info("message %s expired before sending; dropped", msg.msg_id)
                    continue
            try:
                result = await self.link.publish(
                    msg.topic, msg.payload, qos=msg.qos, retain=msg.retain, expiry_s=expiry_s
                )
            except NotConnected:
                return  # kept in the outbox; sent on after the next connect
            except PayloadTooLarge as exc:
                log.error("%s; kept as a dead letter", exc)
                self.store.outbox_dead(seq, str(exc))
                continue
            if result.ok:
                self.store.outbox_done(seq)
            else:
                log.error("broker refused %s on %s: %s; kept as a dead letter",
                          msg.msg_id, msg.topic, result.reason)
                self.store.outbox_dead(seq, result.reason or "refused")

    async def _flush(self, timeout: float) -> None:
        if not self.link.connected:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._send_pending(), timeout)


def _unknown(minute: int) -> Epoch:
    return Epoch.unknown(minute)


async def _main(config: Config) -> None:
    with Store.open(config.storage.path) as store:
        daemon = Daemon(config, store=store)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, daemon.stop)
        await daemon.run()


def run_daemon(config_path: Path) -> int:
    config = load_config(config_path)
    try:
        asyncio.run(_main(config))
    except* PacerError as group:
        raise group.exceptions[0] from None
    return 0
