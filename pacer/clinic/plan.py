"""Plan changes from the web app: the ``cmd/plan`` command published as the
physiotherapist's MQTT user, and the patient daemon's reply.

Each request has an id, sent as the command's ``id`` (the daemon applies a
repeated id once) and as MQTT 5 correlation data; the response topic is
``<prefix>/<patient>/reply/clinic-<instance>``, under the patient's tree as
the broker's ACL requires (the daemon may write only its own tree). The web
app subscribes to ``<prefix>/+/reply/clinic-<instance>`` on a persistent
session, so a reply that comes after the page stopped waiting (the daemon was
offline) is still stored with its request.

A reply counts only when it comes on the tree of the patient the request
went to (the broker lets only that patient's daemon write there) and has the
shape of a reply (``contract.Reply``); any other, such as one patient's
daemon answering another patient's request id, is logged and ignored.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from collections.abc import Mapping
from typing import Any

from pacer.clinic.config import ClinicConfig
from pacer.clinic.db import Database
from pacer.contract import checked as contract
from pacer.contract import topics as topic_names
from pacer.contract.topics import ANY, Topics
from pacer.errors import BrokerUnavailable, PacerError
from pacer.mqtt.client import Incoming, MqttLink

log = logging.getLogger(__name__)

PATIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class PlanSender:
    """The web app's MQTT link; ``start()`` in the app's lifespan."""

    def __init__(self, config: ClinicConfig, db: Database) -> None:
        self.config = config
        self.db = db
        mqtt = config.mqtt
        who = mqtt.username or "clinic"
        self.prefix = mqtt.topic_prefix
        self.instance = f"clinic-{config.web.instance}"
        self.link = MqttLink(mqtt, client_id=f"{who}-{self.instance}",
                             status_topic=Topics(self.prefix, who).clinic_status(self.instance),
                             logger=log, on_connected=self._on_connected, manual_ack=True)
        self._waiting: dict[str, tuple[str, asyncio.Future[dict[str, Any]]]] = {}
        self._reader: asyncio.Future[None] | None = None

    async def _on_connected(self, _session_present: bool) -> None:
        await self.link.subscribe(Topics(self.prefix, ANY).reply_to(self.instance), qos=1)

    async def start(self) -> None:
        await self.link.start()
        self._reader = asyncio.ensure_future(self._replies())

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        await self.link.stop()

    @property
    def connected(self) -> bool:
        return self.link.connected

    async def _replies(self) -> None:
        while True:
            msg = await self.link.messages.get()
            try:
                await self._reply(msg)
            finally:
                self.link.ack(msg)

    async def _reply(self, msg: Incoming) -> None:
        where = topic_names.split(msg.topic, self.prefix)
        user = where[0] if where is not None else ""
        req_id = (msg.correlation_data or b"").decode("utf-8", "replace")
        try:
            body = contract.check("reply", contract.load(msg.payload))
        except contract.Unreadable as exc:
            log.warning("unusable reply on %r: %s", msg.topic[:200], exc)
            return
        if not PATIENT_ID.match(user) or not req_id.startswith("clinic-") or len(req_id) > 64:
            log.warning("unusable reply on %r: no request id of ours", msg.topic[:200])
            return
        waiting = self._waiting.get(req_id)
        stored = await asyncio.to_thread(self.db.set_plan_reply, req_id, user,
                                         contract.dumps(body))
        mine = waiting[0] == user if waiting is not None else stored
        if not mine:
            log.warning("reply on %r ignored: request %s is not %s's, or has its reply",
                        msg.topic[:200], req_id[:64], user)
            return
        if waiting is not None:
            self._waiting.pop(req_id, None)
            if not waiting[1].done():
                waiting[1].set_result(body)

    async def send(self, patient: str, by: str, why: str, settings: Mapping[str, Any],
                   clear_alert: bool) -> tuple[str, dict[str, Any] | None]:
        """Publish the plan change; wait up to ``reply_timeout_s`` for the reply.

        Returns the request id and the reply (None: none yet). Raises
        ``PacerError`` when the broker is not reachable or refuses it."""
        if not PATIENT_ID.match(patient):
            raise PacerError("not a patient id")
        req_id = f"clinic-{uuid.uuid4().hex}"
        command: dict[str, Any] = {"id": req_id, "by": by, "why": why}
        if settings:
            command["set"] = dict(settings)
        if clear_alert:
            command["clear_alert"] = True
        payload = json.dumps(command, separators=(",", ":"))
        if not self.link.connected:  # checked first: no request row for a change never sent
            raise BrokerUnavailable("not connected to the MQTT broker")
        # The row exists before the publish, so a quick reply finds its request.
        await asyncio.to_thread(self.db.add_plan_request, req_id, patient, by, payload)
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[req_id] = (patient, fut)
        try:
            try:
                topics = Topics(self.prefix, patient)
                result = await self.link.publish(
                    topics.cmd("plan"), payload.encode(), qos=1,
                    response_topic=topics.reply_to(self.instance),
                    correlation_data=req_id.encode(), content_type="application/json")
            except PacerError:  # not handed over (disconnected just now, too large)
                await asyncio.to_thread(self.db.drop_plan_request, req_id)
                raise
            if not result.ok:
                await asyncio.to_thread(self.db.drop_plan_request, req_id)
                raise PacerError(f"the broker refused the plan change: {result.reason}")
            try:
                reply = await asyncio.wait_for(fut, self.config.web.reply_timeout_s)
            except TimeoutError:
                return req_id, None
            return req_id, reply
        finally:
            self._waiting.pop(req_id, None)
