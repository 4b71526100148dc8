"""The collector: every patient's summaries, alerts, events and status, through
MQTT 5 shared subscriptions, into the clinic's database exactly once.

- ``$share/<group>/<prefix>/+/summary/#`` (and ``/alert``, ``/event``,
  ``/status``): the broker hands each message to one collector of the group,
  so collectors on several machines share the load;
- a persistent session (stable client id, ``clean_start`` false, session
  expiry a week): messages published while a collector is down wait for it
  at the broker; the shared subscriptions are renewed on every connection;
- manual acknowledgements, sent only after the database commit: a collector
  killed between receiving and committing gets the message again (the broker
  re-sends unacknowledged QoS 1 messages on reconnect, or to another member
  of the group), and the natural keys in ``records`` make the second copy a
  no-op.

Messages are stored in batches (whatever has arrived, up to ``batch``) to keep
the commit rate down under load; each batch is acked after its commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass, field
from typing import Any

from pacer.clinic.config import ClinicConfig
from pacer.clinic.db import Database
from pacer.clinic.records import Record, Rejected, parse
from pacer.contract.topics import Topics, shared_filters
from pacer.mqtt.client import Incoming, MqttLink

log = logging.getLogger(__name__)

LINGER_S = 0.02


@dataclass
class Stats:
    received: int = 0
    retained: int = 0  # of the received: the broker's retained copies (see _on_connected)
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    batches: int = 0
    errors: list[str] = field(default_factory=list)


class Collector:
    """One collector process's work; ``run()`` until cancelled or ``stop()``."""

    def __init__(self, config: ClinicConfig, db: Database) -> None:
        self.config = config
        self.db = db
        self.stats = Stats()
        mqtt = config.mqtt
        who = mqtt.username or "clinic"
        self.link = MqttLink(
            mqtt,
            client_id=config.collector.client_id,
            status_topic=Topics(mqtt.topic_prefix, who).clinic_status(config.collector.client_id),
            logger=log,
            on_connected=self._on_connected,
            manual_ack=True,
            incoming_max=1_000_000,  # never drop: an unacked drop waits for a reconnect
        )
        self._subscribed = False
        self._stopped = asyncio.Event()

    async def _on_connected(self, session_present: bool) -> None:
        # On every connection, session or not: mosquitto 2.0 restores a
        # persisted session after a restart without its shared subscriptions
        # (seen with 2.0.11: "session present" and then nothing delivered).
        # Subscribing again is harmless. mosquitto 2.0.x would also send each
        # (re)subscribing member of the group every retained message (MQTT 5
        # says a shared subscription gets none): retain handling 2 says no.
        # Any retained copy that still comes is counted as ``retained`` and
        # stored like any other message (a no-op when already stored).
        for topic in shared_filters(self.config.collector.group, self.config.mqtt.topic_prefix):
            await self.link.subscribe(topic, qos=1, retain_handling=2)
        self._subscribed = True
        log.info("collecting for group %r (session present: %s)",
                 self.config.collector.group, session_present)

    async def run(self) -> None:
        await self.link.start()
        worker: asyncio.Future[None] = asyncio.ensure_future(self._work())
        stop: asyncio.Future[Any] = asyncio.ensure_future(self._stopped.wait())
        waiting: list[asyncio.Future[Any]] = [worker, stop, self.link.failed]
        try:
            await asyncio.wait(waiting,
                               return_when=asyncio.FIRST_COMPLETED)
            if self.link.failed.done():
                self.link.failed.result()
            if worker.done():
                worker.result()
        finally:
            worker.cancel()
            stop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
            await self.link.stop()
            await asyncio.to_thread(self.db.close)

    def stop(self) -> None:
        self._stopped.set()

    async def _work(self) -> None:
        queue = self.link.messages
        limit = self.config.collector.batch
        loop = asyncio.get_running_loop()
        while True:
            batch = [await queue.get()]
            # Under load, linger a little for a fuller batch: each commit costs
            # about a millisecond, a message a few microseconds to store.
            until = loop.time() + LINGER_S
            while len(batch) < limit:
                if queue.empty():
                    wait = until - loop.time()
                    if wait <= 0:
                        break
                    try:
                        batch.append(await asyncio.wait_for(queue.get(), wait))
                    except TimeoutError:
                        break
                else:
                    batch.append(queue.get_nowait())
            await self._store(batch)

    async def _store(self, batch: list[Incoming]) -> None:
        records: list[Record] = []
        prefix = self.config.mqtt.topic_prefix
        for msg in batch:
            try:
                records.append(parse(msg.topic, msg.payload, prefix))
            except Rejected as exc:
                self.stats.rejected += 1
                log.warning("message on %s not stored: %s", msg.topic, exc)
        while True:
            try:
                result = await asyncio.to_thread(self.db.store, records)
                break
            except Exception as exc:  # the database is down: keep the batch, unacked
                log.error("cannot store %d message(s): %s; retrying in 2 s", len(records), exc)
                self.stats.errors.append(str(exc))
                await asyncio.sleep(2)
        for msg in batch:  # after the commit, and only then
            self.link.ack(msg)
        self.stats.received += len(batch)
        self.stats.retained += sum(1 for msg in batch if msg.retain)
        self.stats.stored += result.new
        self.stats.duplicates += result.duplicates
        self.stats.batches += 1


async def collect(config: ClinicConfig) -> int:
    """``pacer clinic collect``: run until SIGTERM or SIGINT."""
    db = await asyncio.to_thread(Database, config.database)
    collector = Collector(config, db)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, collector.stop)
    log.info("clinic collector %s storing into %r", config.collector.client_id, db)
    await collector.run()
    s = collector.stats
    log.info("stopped: %d received (%d retained copies), %d stored, %d duplicates, "
             "%d rejected", s.received, s.retained, s.stored, s.duplicates, s.rejected)
    return 0
