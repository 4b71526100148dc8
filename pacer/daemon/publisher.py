"""The outbox publisher: stored messages -> MQTT, each row deleted only once
the broker has acknowledged it.

A row handed to paho is never handed over twice by one process: paho itself
sends it on after a reconnect, and on the way out the daemon waits for the
acknowledgements it is owed rather than publishing those rows again. A row
still in the outbox after a kill is sent by the next process (QoS 1: at
least once across kills, once within one).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from pacer.errors import BrokerUnavailable
from pacer.mqtt.client import MqttLink, NotConnected, PayloadTooLarge, PublishResult
from pacer.store import OutboxMessage, Store

log = logging.getLogger(__name__)


class Publisher:
    def __init__(self, store: Store, link: MqttLink, wake: asyncio.Event) -> None:
        """``wake`` is set by whoever queues a message; the publisher also looks
        every second (for rows left by an earlier process, or after a reconnect)."""
        self.store = store
        self.link = link
        self.wake = wake
        self._in_flight: dict[int, asyncio.Future[PublishResult]] = {}

    async def run(self) -> None:
        while True:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a
            # cancellation that comes just after the event fired, and a stop hung.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await self.wake.wait()
            self.wake.clear()
            if self.link.connected:
                await self.send_pending()

    async def send_pending(self) -> None:
        expired = self.store.outbox_drop_expired(time.time())
        if expired:
            log.info("%d queued message(s) expired before the broker could take them", expired)
        for seq, msg in self.store.outbox_pending():
            if seq in self._in_flight:
                continue
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
                handed = self._hand_over(seq, msg, expiry_s)
            except NotConnected:
                return  # kept in the outbox; sent on after the next connect
            except PayloadTooLarge as exc:
                log.error("%s; kept as a dead letter", exc)
                self.store.outbox_dead(seq, str(exc))
                continue
            # Shielded: a stop cancels this wait, not the acknowledgement.
            self._settle(seq, msg, await asyncio.shield(handed))

    async def flush(self, timeout: float) -> None:
        """On the way out: wait for the acknowledgements of what paho already
        holds, then send what is still queued, all within ``timeout``."""
        if not self.link.connected:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._await_in_flight()
                await self.send_pending()

    def _hand_over(self, seq: int, msg: OutboxMessage,
                   expiry_s: float | None) -> asyncio.Future[PublishResult]:
        """Give one row to paho; the future ends with its PUBACK."""
        handed = self.link.submit(msg.topic, msg.payload, qos=msg.qos, retain=msg.retain,
                                  expiry_s=expiry_s)
        self._in_flight[seq] = handed
        handed.add_done_callback(lambda _: self._in_flight.pop(seq, None))
        return handed

    def _settle(self, seq: int, msg: OutboxMessage, result: PublishResult) -> None:
        if result.ok:
            self.store.outbox_done(seq)
        else:
            log.error("broker refused %s on %s: %s; kept as a dead letter",
                      msg.msg_id, msg.topic, result.reason)
            self.store.outbox_dead(seq, result.reason or "refused")

    async def _await_in_flight(self) -> None:
        rows = dict(self.store.outbox_pending())
        for seq, handed in list(self._in_flight.items()):
            with contextlib.suppress(BrokerUnavailable):
                result = await asyncio.shield(handed)
                if seq in rows:
                    self._settle(seq, rows[seq], result)
