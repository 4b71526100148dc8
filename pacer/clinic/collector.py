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

One patient's message never stops the others': a message that cannot be
parsed, breaks the contract (``records``, ``contract``) or that the database
refuses is a *dead letter*: counted, logged, kept in the ``dead_letters``
table for inspection, and acknowledged like any other. When a batch fails,
its messages are stored one at a time, so only the one the database refuses
is set aside. Only an outage of the database itself (``Database.is_outage``,
or a database that does not answer after a refusal) is waited out and tried
again, with the batch kept unacknowledged.

The group is closed to other broker accounts. mosquitto 2.0 grants any
account any ``$share/...`` subscription (its ACL file cannot refuse one) and
checks reads only when it delivers, where a message it hands to a member that
may not read it is lost to the group. So the share name the collectors use is
``<group>-<32 hex digits>``, derived (PBKDF2) from the clinic account's user
name, password and ``group``: every collector of the clinic (same account,
same group) works out the same name, no other account can.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import signal
from dataclasses import dataclass, field
from typing import Any

from pacer.clinic.config import ClinicConfig
from pacer.clinic.db import Database, Stored
from pacer.clinic.records import DeadLetter, Record, Rejected, parse
from pacer.config import MqttConfig
from pacer.contract.topics import Topics, shared_filters
from pacer.mqtt.client import Incoming, MqttLink

log = logging.getLogger(__name__)

LINGER_S = 0.02
SHARE_ROUNDS = 200_000  # PBKDF2 rounds of the share name: once per collector start
RETRY_S = (0.5, 30.0)  # first and longest wait before trying a database again


def share_name(group: str, mqtt: MqttConfig) -> str:
    """The shared subscription's name for ``group``: the same for every
    collector signed in with the clinic's account, unknowable without its
    password (see the module docstring)."""
    secret = mqtt.password()
    password = secret.get_secret_value() if secret is not None else ""
    if not password:
        log.warning("no MQTT password: another account could join the collectors' "
                    "shared subscription group")
    salt = f"pacer clinic collectors\0{mqtt.username or ''}\0{group}".encode()
    derived = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, SHARE_ROUNDS, 16)
    return f"{group}-{derived.hex()}"


@dataclass
class Stats:
    received: int = 0
    retained: int = 0  # of the received: the broker's retained copies (see _on_connected)
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0  # of the dead letters: refused by the contract
    dead_letters: int = 0  # messages kept in dead_letters: refused, or by the database
    outages: int = 0  # failed tries to reach the database (each tried again)
    batches: int = 0
    errors: list[str] = field(default_factory=list)  # the latest outages' errors


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
        self.retry_s = RETRY_S
        self.share = share_name(config.collector.group, mqtt)

    async def _on_connected(self, session_present: bool) -> None:
        # On every connection, session or not: mosquitto 2.0 restores a
        # persisted session after a restart without its shared subscriptions
        # (seen with 2.0.11: "session present" and then nothing delivered).
        # Subscribing again is harmless. mosquitto 2.0.x would also send each
        # (re)subscribing member of the group every retained message (MQTT 5
        # says a shared subscription gets none): retain handling 2 says no.
        # Any retained copy that still comes is counted as ``retained`` and
        # stored like any other message (a no-op when already stored).
        for topic in shared_filters(self.share, self.config.mqtt.topic_prefix):
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
        records: list[tuple[Incoming, Record]] = []
        dead: list[DeadLetter] = []
        prefix = self.config.mqtt.topic_prefix
        for msg in batch:
            try:
                records.append((msg, parse(msg.topic, msg.payload, prefix)))
            except Rejected as exc:
                self.stats.rejected += 1
                dead.append(self._dead(msg, f"refused: {exc}"))
        result = await self._commit(records, dead)
        for msg in batch:  # after the commit, and only then
            self.link.ack(msg)
        self.stats.received += len(batch)
        self.stats.retained += sum(1 for msg in batch if msg.retain)
        self.stats.stored += result.new
        self.stats.duplicates += result.duplicates
        self.stats.dead_letters += result.dead
        self.stats.batches += 1

    def _dead(self, msg: Incoming, reason: str) -> DeadLetter:
        letter = DeadLetter.of(msg.topic, msg.payload, reason)
        log.warning("dead letter: message on %r (%d bytes) not stored: %s",
                    letter.topic[:200], letter.size, letter.reason)
        return letter

    async def _outage(self, exc: BaseException, tries: int, what: str) -> None:
        """Log an outage of the database and wait before the next try."""
        self.stats.outages += 1
        self.stats.errors = [*self.stats.errors[-9:], str(exc)[:500]]
        first, most = self.retry_s
        wait = min(most, first * 2 ** min(tries, 16))
        log.error("cannot store %s: the database is unavailable (%s: %s); trying again "
                  "in %.1f s", what, type(exc).__name__, str(exc)[:300], wait)
        await asyncio.sleep(wait)

    async def _commit(self, records: list[tuple[Incoming, Record]],
                      dead: list[DeadLetter]) -> Stored:
        """Store the batch in one transaction; when the database refuses it,
        one message at a time, each it refuses a dead letter."""
        tries = 0
        while True:
            try:
                return await asyncio.to_thread(self.db.store, [r for _, r in records], None,
                                               dead)
            except Exception as exc:
                if self.db.is_outage(exc):
                    await self._outage(exc, tries, f"{len(records) + len(dead)} message(s)")
                    tries += 1
                    continue
                log.warning("the database refused a batch of %d message(s) (%s: %s); "
                            "storing them one at a time", len(records), type(exc).__name__,
                            str(exc)[:300])
                return await self._one_by_one(records, dead)

    async def _one_by_one(self, records: list[tuple[Incoming, Record]],
                          dead: list[DeadLetter]) -> Stored:
        new = duplicates = 0
        for msg, rec in records:
            tries = 0
            while True:
                try:
                    done = await asyncio.to_thread(self.db.store, [rec])
                except Exception as exc:
                    if self.db.is_outage(exc) or not await asyncio.to_thread(self.db.alive):
                        await self._outage(exc, tries, f"the message on {msg.topic!r}")
                        tries += 1
                        continue
                    dead.append(self._dead(msg, f"the database refused it: "
                                                f"{type(exc).__name__}: {exc}"))
                    break
                new += done.new
                duplicates += done.duplicates
                break
        tries = 0
        while True:
            try:
                await asyncio.to_thread(self.db.store, [], None, dead)
                return Stored(new, duplicates, len(dead))
            except Exception as exc:  # dead letters are always storable: an outage
                await self._outage(exc, tries, f"{len(dead)} dead letter(s)")
                tries += 1


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
             "%d rejected (dead letters; %d refused by the contract), %d database outages",
             s.received, s.retained, s.stored, s.duplicates, s.dead_letters, s.rejected,
             s.outages)
    return 0
