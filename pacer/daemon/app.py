"""``pacer run``: the thin shell around the engine.

One asyncio loop; long-lived tasks under one supervisor (a task group): the
publisher (``publisher.py``: store outbox -> MQTT, a row deleted once the
broker has acknowledged it), the command inbox, the retained state, local requests. The
wall-clock jobs run on APScheduler: the minute job (source -> engine -> store,
one transaction per minute holding the epoch, what the engine decided, its new
state and the messages to send), data retention and the systemd watchdog. A
job that fails ends the daemon with the error, rather than being logged and
retried for ever.

A kill at any moment therefore loses nothing and repeats nothing: on restart
the engine resumes from the stored state and the outbox is sent on. The rules'
own clock times (walk reminders, the floor check, the morning jobs, summaries,
the weekly review) are decided by the engine on the minute they fall in, so a
replay and the daemon agree, DST days included, and a restart never runs one
twice: the stored state says which minutes are done.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import signal
import socket
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from pacer import __version__
from pacer.config import BleDevice, Config, ReplayDevice, load_config
from pacer.contract import payloads
from pacer.contract.payloads import audit_event, encode
from pacer.contract.topics import Topics
from pacer.daemon.ble import BleSource, relabel_line
from pacer.daemon.clock import Clock
from pacer.daemon.inbox import read_command
from pacer.daemon.messages import outbox_for
from pacer.daemon.publisher import Publisher
from pacer.daemon.ratelimit import SENDERS_MAX, RateLimit
from pacer.daemon.sources import ReplayFeed
from pacer.daemon.systemd import Notifier
from pacer.engine.core import Engine
from pacer.engine.model import Dropped, Epoch, Output, PlanChange, Prompt
from pacer.errors import BadInput, BrokerUnavailable, CommandRejected, PacerError
from pacer.mqtt.client import (
    Incoming,
    MqttLink,
    NotConnected,
)
from pacer.mqtt.discovery import BIRTH_TOPIC, discovery_messages
from pacer.store import OutboxMessage, Store
from pacer.timebase import iso, iso_seconds

log = logging.getLogger(__name__)

PUBLISH_TIMEOUT_S = 10.0
HEARTBEAT_S = 10.0
LINK_WATCH_S = 0.1  # how soon a heartbeat follows the MQTT link connecting or dropping
MIN_TICK_S = 0.01  # the minute job's period at very high replay speeds
CATCH_UP_SLICE = 30  # minutes taken between two turns of the loop in a long catch-up
STATE_EVERY_S = 30.0  # the retained state at most this often (real seconds)
REPLY_TIMEOUT_S = 10.0


def client_id(config: Config) -> str:
    # Stable across restarts, so the broker keeps our session (mqtt-notes 1.2).
    return f"pacer-{config.user.id}-{socket.gethostname()}"[:64]


class _Stop(Exception):  # noqa: N818
    """Raised inside the task group to end every task at once."""


class Daemon:
    def __init__(
        self,
        config: Config,
        *,
        store: Store,
        clock: Clock | None = None,
        ble_backend: Any = None,
        ble_scanner_backend: Any = None,
    ) -> None:
        """``clock``, ``ble_backend`` and ``ble_scanner_backend`` let the demo and
        the tests run BLE wearables on virtual devices at an accelerated clock;
        by default the clock is real time and bleak uses the platform's stack."""
        self.config = config
        self.store = store
        self.user = config.user.id
        self.topics = Topics(config.mqtt.topic_prefix, self.user)
        saved = self.store.load_state(self.user)
        self.engine = self._restore_engine(saved)
        self.ble: BleSource | None = None
        self.feed, self.clock = self._source()
        if clock is not None:
            self.clock = clock
        ble = [d for d in config.devices if isinstance(d, BleDevice)]
        if ble:
            self.ble = BleSource(
                ble, clock=self.clock.now, zone=self.engine.tz,
                still_min=config.rules.wear.still_min,
                saved=saved[1].get("devices") if saved else None,
                backend=ble_backend, scanner_backend=ble_scanner_backend,
            )
        self._settle_s = self.ble.settle_s if self.ble is not None else 0.0
        # The first minute to take when nothing is stored yet: the clock's own.
        self._first_minute = int(self.clock.now() // 60)
        self.link = MqttLink(
            config.mqtt,
            client_id=client_id(config),
            status_topic=self.topics.status,
            on_connected=self._on_connected,
            manual_ack=True,  # a command is acknowledged once it is stored
        )
        self._wake_publisher = asyncio.Event()
        self._stopping = asyncio.Event()
        self._job_error: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.notifier = Notifier()
        self._subscribed = False
        self._state_sent: dict[str, Any] | None = None
        self._state_at = -STATE_EVERY_S
        self.rejected = 0  # commands refused (counted, and each logged)
        self.limited = 0  # commands refused by the per-sender limit (counted)
        per_minute = config.mqtt.commands_per_minute
        self._limit = RateLimit(burst=max(1, per_minute // 2), per_s=per_minute / 60)
        self._limited_told: set[str] = set()  # senders told once in this burst
        self._replies: set[asyncio.Future[None]] = set()
        self.publisher = Publisher(store, self.link, self._wake_publisher)

    # --- start-up ------------------------------------------------------------------

    def _state_minute(self, at: float) -> int:
        """The minute a state stored after a command is named by: the engine's
        next minute, or the command's own before the engine has taken one."""
        minute = self.engine.next_minute
        return minute if minute is not None else int(at // 60)

    def _restore_engine(self, saved: tuple[int, dict[str, Any]] | None) -> Engine:
        rules, user, tz = self.config.rules, self.user, self.config.user.zone_name()
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
        if replays and len(replays) != len(self.config.devices):
            raise BadInput("a replay device replaces the wearables: configure one or the other")
        if not replays:
            if not self.config.devices:
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
        if self.ble is not None:
            await self.ble.start()
        scheduler = self._scheduler()
        scheduler.start()
        self.notifier.ready(f"pacing {self.user}")
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._job_failures(), name="jobs")
                tasks.create_task(self._link_gave_up(), name="mqtt")
                if self.ble is not None:
                    tasks.create_task(self.ble.pump(), name="wearables")
                tasks.create_task(self.publisher.run(), name="publisher")
                tasks.create_task(self._commands(), name="commands")
                tasks.create_task(self._state(), name="state")
                tasks.create_task(self._local_requests(), name="local requests")
                tasks.create_task(self._stop_when_asked(), name="stop")
                tasks.create_task(self._beat_on_link_change(), name="link heartbeat")
        except* _Stop:
            pass
        finally:
            self.notifier.stopping()
            scheduler.shutdown(wait=False)
            if self.ble is not None:
                await self.ble.stop()
            await self.publisher.flush(timeout=3.0)
            await self.link.stop()
            self._last_beat()

    def stop(self) -> None:
        self._stopping.set()

    async def _stop_when_asked(self) -> None:
        await self._stopping.wait()
        log.info("stopping")
        raise _Stop

    # --- wall-clock jobs (APScheduler) ------------------------------------------------

    def _scheduler(self) -> AsyncIOScheduler:
        # Every job is a coroutine: APScheduler runs plain functions in a thread
        # pool, and the store, the engine and the link belong to this loop.
        scheduler = AsyncIOScheduler(timezone=UTC)
        # Every trigger names its zone: without one APScheduler asks tzlocal,
        # which reads files on the loop. After a suspend or a downtime a missed
        # run is run once (coalesced), and it catches up every minute since:
        # the engine counts them unknown.
        once = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
        if self.clock.speed == 1.0:
            # A second into each minute, so the last samples of the minute are in
            # (and a thigh or waist IMU's last seconds labelled: ``settle_s``).
            tick: BaseTrigger = CronTrigger(second=min(59, 1 + math.ceil(self._settle_s)),
                                            timezone=UTC)
        else:
            tick = IntervalTrigger(seconds=max(MIN_TICK_S, 60 / self.clock.speed), timezone=UTC)
        scheduler.add_job(self._tick, tick, id="minutes", **once)
        scheduler.add_job(self._beat, IntervalTrigger(seconds=HEARTBEAT_S, timezone=UTC),
                          id="heartbeat", next_run_time=datetime.now(UTC), **once)
        day_start = self.config.day.start
        scheduler.add_job(
            self._retention,
            CronTrigger(hour=day_start.hour, minute=(day_start.minute + 30) % 60,
                        timezone=self.engine.tz),
            id="retention", **once,
        )
        if self.notifier.watchdog_s:
            scheduler.add_job(self._watchdog,
                              IntervalTrigger(seconds=self.notifier.watchdog_s / 2, timezone=UTC),
                              id="watchdog", **once)
        scheduler.add_listener(self._job_event, EVENT_JOB_ERROR)
        return scheduler

    async def _watchdog(self) -> None:
        self.notifier.watchdog()

    def _job_event(self, event: JobExecutionEvent) -> None:
        if not self._job_error.done():
            self._job_error.set_exception(
                PacerError(f"the {event.job_id} job failed: {event.exception}")
                if not isinstance(event.exception, PacerError) else event.exception
            )

    async def _job_failures(self) -> None:
        await self._job_error

    async def _link_gave_up(self) -> None:
        # The broker refused us for good (a wrong password, a banned client id):
        # retrying cannot help, so the daemon ends with the link's advice rather
        # than pacing on unheard. What it made meanwhile stays in the outbox.
        await self.link.failed

    async def _tick(self) -> None:
        """Take every minute that is over by the daemon's clock. After a long
        downtime that is thousands of minutes (seconds of work): they are taken
        in slices with the loop free in between, so MQTT, commands and the
        watchdog go on; and only those over when the job began, so a daemon
        slower than its clock (a replay faster than the machine) never chases
        it for ever with the loop blocked."""
        target = self.clock.now() - self._settle_s
        while not self._stopping.is_set() and self._catch_up(target, CATCH_UP_SLICE):
            await asyncio.sleep(0)

    def _catch_up(self, until: float | None = None, limit: int | None = None) -> bool:
        """Take the minutes over by ``until`` (the clock now by default), at
        most ``limit`` of them; True if some are left. A command passes the time
        it is applied at: a minute that ends just after it belongs after it."""
        end = self.clock.now() if until is None else until
        minute = self.engine.next_minute
        if minute is None:
            minute = self._first_minute
        taken = 0
        while (minute + 1) * 60 <= end:
            if limit is not None and taken >= limit:
                return True
            self._take(minute)
            minute += 1
            taken += 1
        return False

    async def _beat(self) -> None:
        self._record_beat(running=True)

    def _last_beat(self) -> None:
        """The heartbeat saying the daemon stopped, its links closed: ``pacer
        status`` must not show a stopped daemon running until its last beat
        goes stale. A store that cannot take it does not hide why it stopped."""
        try:
            self._record_beat(running=False)
        except PacerError as exc:
            log.warning("the stop was not recorded in the heartbeat: %s", exc)

    async def _beat_on_link_change(self) -> None:
        """A heartbeat as soon as the MQTT link connects or drops, not only on
        the timer: ``pacer status`` shows the link as it is."""
        seen = self.link.connected
        while True:
            await asyncio.sleep(LINK_WATCH_S)
            if self.link.connected != seen:
                seen = self.link.connected
                self._record_beat(running=True)

    def _record_beat(self, *, running: bool) -> None:
        """What ``pacer status`` shows about the daemon (``running`` False: the
        last one, written as it stops)."""
        self.store.beat(self.user, time.time(), {
            "running": running,
            "pid": os.getpid(),
            "version": __version__,
            "clock": iso_seconds(self.clock.now(), self.engine.tz),
            "speed": self.clock.speed,
            "broker": {"url": f"{self.config.mqtt.host}:{self.config.mqtt.port}",
                       "connected": self.link.connected},
            "devices": self._devices() if running else [
                {**dev, "connected": False} for dev in self._devices()],
            "commands_refused": self.rejected,
            "commands_rate_limited": self.limited,
            "mqtt_dropped": self.link.dropped,
        })

    async def _retention(self) -> None:
        days = self.config.storage.raw_retention_days
        removed = self.store.prune_samples(self.user, time.time() - days * 86400)
        if removed:
            log.info("retention: removed %d raw samples older than %d days", removed, days)

    def _take(self, minute: int) -> None:
        not_worn: list[tuple[int, int]] = []
        revised: list[Epoch] = []
        outputs: list[Output] = []
        if self.feed is not None:
            epoch = self.feed.epoch(minute)
        elif self.ble is not None:
            epoch = self.ble.epoch(minute)
            # A still run found minutes already given not worn (ble.py): the
            # engine takes them back, the store rewrites them with this minute.
            not_worn = self.ble.take_not_worn()
            for first, end in not_worn:
                log.info("not worn: minutes %s to %s were still", iso(first, self.engine.tz),
                         iso(end, self.engine.tz))
                self.engine.not_worn(first, end)
            # An IMU that learnt its mount relabelled minutes already given: the
            # engine corrects today's figures (no prompt about the past), the
            # store rewrites them with this minute.
            changes: list[tuple[Epoch, Epoch]] = []
            for rel in self.ble.take_relabelled():
                log.info("%s", relabel_line(rel, self.engine.tz))
                changes.extend(rel.changes)
            if changes:
                outputs = self.engine.revise(changes)
                revised = [new for _, new in changes]
            # A still run not yet long enough holds a sitting prompt.
            self.engine.still(self.ble.still_since())
        else:
            epoch = Epoch.unknown(minute)
        outputs += self.engine.advance(epoch)
        outbox = outbox_for(
            outputs,
            topics=self.topics,
            tz=self.engine.tz,
            real_deadline=self.clock.real_deadline,
        )
        state = self.engine.snapshot()
        source = "replay" if self.feed else "ble" if self.ble else "none"
        if self.ble is not None:
            # The trackers' state goes with the minute: a restart neither loses
            # nor repeats a step (ble.py).
            state["devices"] = self.ble.state()
        # A minute the store cannot take stops the daemon (StoreError): restarted,
        # it carries on from what was stored, so nothing is half applied.
        self.store.commit_minute(self.user, epoch, source, outputs, state, outbox,
                                 not_worn=not_worn, revised=revised)
        if self.ble is not None:
            raw = self.ble.take_raw()
            if raw:
                self.store.add_samples(self.user, raw)
            for out in outputs:
                if isinstance(out, Prompt):
                    self.ble.notify(out.title, out.text)
        self._log_outputs(outputs)
        if outbox:
            self._wake_publisher.set()

    def _log_outputs(self, outputs: list[Output]) -> None:
        for out in outputs:
            if isinstance(out, Prompt):
                log.info("prompt %s at %s: %s %s", out.kind, iso(out.time, self.engine.tz),
                         out.id, dict(out.reason))
            elif isinstance(out, Dropped):
                log.info("prompt %s at %s not sent: %s", out.kind,
                         iso(out.time, self.engine.tz), out.why)

    async def _on_connected(self, session_present: bool) -> None:
        # The broker keeps our subscriptions in the session (clean_start is
        # false); the link renews them itself if the broker lost it.
        if not self._subscribed:
            try:
                await self.link.subscribe(self.topics.commands)
                if self.config.mqtt.ha_discovery:
                    await self.link.subscribe(BIRTH_TOPIC)
                self._subscribed = True
            except BrokerUnavailable as exc:
                log.error("%s; commands will not arrive until the next connection", exc)
        if self.config.mqtt.ha_discovery:
            await self._announce_discovery()
        self._state_sent = None  # send the state again on every connection
        self._wake_publisher.set()

    async def _announce_discovery(self) -> None:
        node = self.config.mqtt.username or self.user
        for topic, payload in discovery_messages(user=self.user, node=node,
                                                 prefix=self.topics.prefix):
            with contextlib.suppress(NotConnected):
                await self.link.publish(topic, payload, qos=1, retain=True)

    # --- commands in ------------------------------------------------------------------

    async def _commands(self) -> None:
        while True:
            msg = await self.link.messages.get()
            try:
                if msg.topic == BIRTH_TOPIC:
                    if msg.payload == b"online" and self.config.mqtt.ha_discovery:
                        await self._announce_discovery()
                else:
                    self._command(msg)
            except Exception:
                # A command that breaks the daemon must not come back for ever:
                # it is logged with its traceback, answered and acknowledged.
                log.exception("command on %s failed", msg.topic)
                self._reply(msg, payloads.refusal("pacer could not process this command; "
                                                  "the problem has been logged"))
            finally:
                self.link.ack(msg)

    def _command(self, msg: Incoming) -> None:
        sender = msg.response_topic or msg.topic
        if not self._limit.allow(sender, time.monotonic()):
            self.limited += 1
            if sender not in self._limited_told:
                # Told once per burst: answering every one would flood the
                # sender and the broker in turn.
                if len(self._limited_told) >= SENDERS_MAX:
                    self._limited_told.clear()
                self._limited_told.add(sender)
                log.warning("too many commands from %s: refusing them for now (%d so far)",
                            sender, self.limited)
                self._reply(msg, payloads.refusal(
                    "too many commands in a short time; wait a few seconds and send it again"))
            return
        self._limited_told.discard(sender)
        at = self.clock.now()
        # Minutes already over come first, as in a replay: the minute job may not
        # have run yet (it runs a second into each minute). Late samples of a
        # taken minute go into the open one, so nothing is lost by taking it now.
        self._catch_up(until=at)
        try:
            parsed = read_command(msg.topic, msg.payload,
                                  plan_editors=self.config.mqtt.plan_editors)
        except CommandRejected as exc:
            self.rejected += 1
            log.warning("command on %s refused (%d so far): %s", msg.topic, self.rejected, exc)
            self._reply(msg, payloads.refusal(str(exc)))
            return
        cmd_id = parsed.cmd_id
        if cmd_id is not None:
            done = self.store.command_reply(self.user, cmd_id)
            if done is not None:
                log.info("command %s was already applied; sending its reply again", cmd_id)
                self._reply(msg, done)
                return
        # Applied and recorded in one transaction, or not at all: if the store
        # cannot take it, the engine goes back to where it was.
        before = self.engine.snapshot()
        reply = self.engine.command(parsed.command, at)
        payload = payloads.reply(reply)
        if not reply.ok:
            self.rejected += 1
            log.warning("command on %s not applied (%d refused so far): %s", msg.topic,
                        self.rejected, reply.error)
        tz = self.engine.tz
        outbox = outbox_for(reply.outputs, topics=self.topics, tz=tz,
                            real_deadline=self.clock.real_deadline)
        audit = audit_event(parsed.command, user=self.user, time=iso_seconds(at, tz),
                            cmd_id=cmd_id)
        if reply.ok:
            outbox.append(OutboxMessage(self.topics.event, encode(audit), qos=1,
                                        msg_id=f"{self.user}-cmd-{cmd_id or at}"))
        else:
            # Kept in the local audit trail as refused, never published as applied.
            audit["refused"] = reply.error
        try:
            self.store.commit_command(
                self.user, at, audit["type"], audit, reply.outputs,
                self.engine.snapshot() if reply.ok else None,
                self._state_minute(at) if reply.ok else None,
                outbox, cmd_id=cmd_id, reply=payload if cmd_id is not None else None,
            )
        except Exception:
            self.engine.rewind(before)
            raise
        self._log_outputs(list(reply.outputs))
        self._reply(msg, payload)
        self._wake_publisher.set()

    def _reply(self, msg: Incoming, payload: dict[str, Any]) -> None:
        """Answer on the MQTT 5 response topic if the command named one, else on
        <prefix>/<user>/reply; always with the command's correlation data."""
        topic = msg.response_topic or self.topics.reply
        task = asyncio.ensure_future(self._send_reply(topic, encode(payload),
                                                      msg.correlation_data))
        self._replies.add(task)
        task.add_done_callback(self._replies.discard)

    async def _send_reply(self, topic: str, payload: bytes, correlation: bytes | None) -> None:
        try:
            result = await asyncio.wait_for(
                self.link.publish(topic, payload, qos=1, correlation_data=correlation),
                REPLY_TIMEOUT_S,
            )
        except (PacerError, TimeoutError) as exc:
            log.warning("reply on %s not sent: %s", topic, exc or "no acknowledgement")
            return
        if not result.ok:
            log.warning("the broker refused the reply on %s: %s", topic, result.reason)

    async def _local_requests(self) -> None:
        """``pacer alert clear`` on this machine leaves a request in the store."""
        while True:
            await asyncio.sleep(1.0)
            for seq, kind, payload in self.store.requests_open(self.user):
                if kind != "clear_alert":
                    self.store.request_done(seq, {"ok": False, "error": f"unknown {kind!r}"})
                    continue
                at = self.clock.now()
                self._catch_up(until=at)  # as for a command over MQTT
                cmd = PlanChange(by=str(payload["by"]), why=str(payload["why"]),
                                 clear_alert=True)
                before = self.engine.snapshot()
                reply = self.engine.command(cmd, at)
                outbox = outbox_for(reply.outputs, topics=self.topics, tz=self.engine.tz,
                                    real_deadline=self.clock.real_deadline)
                audit = audit_event(cmd, user=self.user, time=iso_seconds(at, self.engine.tz),
                                    cmd_id=None)
                try:
                    self.store.commit_command(
                        self.user, at, audit["type"], audit, reply.outputs,
                        self.engine.snapshot() if reply.ok else None,
                        self._state_minute(at) if reply.ok else None, outbox,
                    )
                except Exception:
                    self.engine.rewind(before)  # not applied unless recorded
                    raise
                self.store.request_done(seq, payloads.reply(reply))
                log.info("local request to clear the alert: %s",
                         "done" if reply.ok else reply.error)
                self._wake_publisher.set()

    # --- retained state ------------------------------------------------------------------

    async def _state(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            if not self.link.connected:
                continue
            state = payloads.state(self.engine.status(), user=self.user, tz=self.engine.tz,
                                   devices=self._devices())
            changed = {k: v for k, v in state.items() if k != "time"}
            if changed == self._state_sent:
                continue
            if time.monotonic() - self._state_at < STATE_EVERY_S and self._state_sent:
                continue
            with contextlib.suppress(NotConnected, TimeoutError):
                async with asyncio.timeout(PUBLISH_TIMEOUT_S):  # see _publisher
                    await self.link.publish(self.topics.state, encode(state), qos=1,
                                            retain=True)
                self._state_sent = changed
                self._state_at = time.monotonic()

    def _devices(self) -> list[dict[str, Any]]:
        if self.ble is not None:
            return self.ble.devices()
        return [
            {"name": d.name, "kind": d.kind, "connected": self.feed is not None,
             "battery": None}
            for d in self.config.devices if isinstance(d, ReplayDevice)
        ]


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
