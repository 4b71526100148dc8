"""MQTT topics (interfaces.md section 6, mqtt-notes.md section 5).

Each person has one tree, ``<prefix>/<user>/...``; the broker's ACL confines
each daemon to its own. ``Topics(prefix, user)`` names the topics of one tree;
``Topics(prefix, ANY)`` names the same topics in every tree, as the filters
the clinic subscribes to. Home Assistant's discovery topics live under their
own prefix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DEFAULT_PREFIX = "pacer"  # the first level of every tree unless [mqtt] topic_prefix says
ANY = "+"  # one topic level: every user's tree, in a subscription filter
ALL = "#"  # every level below, in a subscription filter

# The leaves of a person's tree.
PROMPT = "prompt"
STATE = "state"
SUMMARY = "summary"
ALERT = "alert"
EVENT = "event"
STATUS = "status"
CMD = "cmd"
REPLY = "reply"
PERIODS = ("day", "week")  # summary/day, summary/week

# The cmd/<kind> leaves by who may publish them (the broker ACLs in
# config/mosquitto/ follow these lists): the person, from their own account or
# their phone (day and exercise since v2), and the plan editors.
PERSON_COMMANDS = ("ack", "symptom", "dnd", "day", "exercise")
EDITOR_COMMANDS = ("plan",)

DISCOVERY_PREFIX = "homeassistant"
HA_BIRTH = f"{DISCOVERY_PREFIX}/{STATUS}"  # Home Assistant's own online/offline


@dataclass(frozen=True, slots=True)
class Topics:
    """The topics of one person's tree (or, with ``user=ANY``, of every tree)."""

    prefix: str
    user: str

    def _t(self, leaf: str) -> str:
        return f"{self.prefix}/{self.user}/{leaf}"

    @property
    def tree(self) -> str:
        """Everything in the tree (a filter)."""
        return self._t(ALL)

    @property
    def prompt(self) -> str:
        return self._t(PROMPT)

    @property
    def state(self) -> str:
        return self._t(STATE)

    def summary(self, period: str) -> str:
        return self._t(f"{SUMMARY}/{period}")

    @property
    def summaries(self) -> str:
        """Every period's summary (a filter)."""
        return self.summary(ALL)

    @property
    def alert(self) -> str:
        return self._t(ALERT)

    @property
    def event(self) -> str:
        return self._t(EVENT)

    @property
    def status(self) -> str:
        """The daemon's ``online``/``offline``, also its Last Will."""
        return self._t(STATUS)

    def cmd(self, kind: str) -> str:
        return self._t(f"{CMD}/{kind}")

    @property
    def commands(self) -> str:
        """Every command topic (the filter the daemon subscribes to)."""
        return self.cmd(ANY)

    @property
    def reply(self) -> str:
        """Where replies go when a command names no response topic."""
        return self._t(REPLY)

    def reply_to(self, name: str) -> str:
        """A sender's own response topic, under the person's tree as the ACL
        requires: ``cli-<token>``, ``clinic-<instance>``, the app's client id."""
        return self._t(f"{REPLY}/{name}")

    def cli_reply(self, token: str) -> str:
        """The response topic of one ``pacer symptom|ack|dnd`` run."""
        return self.reply_to(f"cli-{token}")

    def clinic_status(self, name: str) -> str:
        """The Last Will of a clinic process (``name``: its client id or
        instance), in the tree of the clinic's MQTT user."""
        return self._t(f"clinic/{name}/{STATUS}")

    @property
    def phone_status(self) -> str:
        """The Last Will of the demo's stand-in for the phone."""
        return self._t("phone")


# The placeholders of ``app_topics``: the phone app fills them in with the
# account the person signs in with and its own client id.
USER_SLOT = "{user}"
CLIENT_SLOT = "{client}"
KIND_SLOT = "{kind}"
APP_SUBSCRIBES = ("prompt", "state", "summary/day", "summary/week", "alert", "status")


def app_topics(prefix: str) -> dict[str, Any]:
    """The phone app's topics as templates, for ``app-config.json``: what it
    subscribes to (by the name its screens use), where it sends ``cmd/<kind>``
    and where it asks for replies. The app builds no topic of its own."""
    t = Topics(prefix, USER_SLOT)
    leaves = {PROMPT: t.prompt, STATE: t.state, ALERT: t.alert, STATUS: t.status,
              **{f"{SUMMARY}/{p}": t.summary(p) for p in PERIODS}}
    return {"subscribe": {name: leaves[name] for name in APP_SUBSCRIBES},
            "cmd": t.cmd(KIND_SLOT), "reply": t.reply_to(CLIENT_SLOT),
            "commands": list(PERSON_COMMANDS)}


def shared(group: str, topic_filter: str) -> str:
    """An MQTT 5 shared subscription: the broker hands each message to one
    member of ``group``."""
    return f"$share/{group}/{topic_filter}"


def shared_filters(group: str, prefix: str) -> list[str]:
    """What the clinic's collectors subscribe to, in every patient's tree."""
    every = Topics(prefix, ANY)
    return [shared(group, t) for t in (every.summaries, every.alert, every.event, every.status)]


def split(topic: str, prefix: str) -> tuple[str, str] | None:
    """(user, leaf) of a topic in a person's tree under ``prefix``, the leaf
    with its inner levels (``summary/day``); None for any other topic."""
    parts = topic.split("/")
    if len(parts) < 3 or parts[0] != prefix or not parts[1]:
        return None
    return parts[1], "/".join(parts[2:])


def summary_period(leaf: str) -> str | None:
    """``day`` or ``week`` for a summary leaf, else None."""
    head, _, period = leaf.partition("/")
    return period if head == SUMMARY and period in PERIODS else None


def command_kind(topic: str) -> str:
    """The kind a command topic names (its last level)."""
    return topic.rsplit("/", 1)[-1]


def discovery_config(component: str, node: str, object_id: str) -> str:
    """A Home Assistant discovery config topic."""
    return f"{DISCOVERY_PREFIX}/{component}/{node}/{object_id}/config"
