"""Home Assistant MQTT discovery (mqtt-notes.md section 5): retained config
messages that make pacer's sensors and prompt events appear with no YAML.

The node id is the MQTT user name (or the pacer user id), so one broker ACL
pattern (``homeassistant/+/%u/#``) confines each daemon to its own entities.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pacer import __version__
from pacer.contract.topics import HA_BIRTH, Topics, discovery_config
from pacer.engine.model import PROMPT_KINDS

BIRTH_TOPIC = HA_BIRTH  # Home Assistant says online here: announce again
_SAFE = re.compile(r"[^a-zA-Z0-9_-]")


def _node(name: str) -> str:
    return _SAFE.sub("_", name)


def discovery_messages(
    *, user: str, node: str, prefix: str
) -> list[tuple[str, bytes]]:
    """(topic, retained payload) for each entity."""
    node = _node(node)
    topics = Topics(prefix, user)
    device = {
        "identifiers": [f"pacer_{_node(user)}"],
        "name": f"Activity pacer ({user})",
        "manufacturer": "pacer",
        "model": "pacer daemon",
        "sw_version": __version__,
    }
    common: dict[str, Any] = {
        "availability_topic": topics.status,
        "payload_available": "online",
        "payload_not_available": "offline",
        "device": device,
        "origin": {"name": "pacer", "sw_version": __version__},
        "qos": 1,
    }
    sensors = {
        "steps_today": {
            "name": "Steps today",
            "value_template": "{{ value_json.steps_today }}",
            "unit_of_measurement": "steps",
            "state_class": "total_increasing",
            "icon": "mdi:walk",
        },
        "sitting_minutes": {
            "name": "Current sitting time",
            "value_template": "{{ value_json.sitting_min }}",
            "unit_of_measurement": "min",
            "device_class": "duration",
            "state_class": "measurement",
            "icon": "mdi:seat-recline-normal",
        },
        "sedentary_minutes_today": {
            "name": "Sedentary minutes today",
            "value_template": "{{ value_json.sedentary_min_today }}",
            "unit_of_measurement": "min",
            "device_class": "duration",
            "state_class": "total_increasing",
            "icon": "mdi:sofa",
        },
        "plan_quota": {
            "name": "Daily step plan",
            "value_template": "{{ value_json.plan.quota if value_json.plan else none }}",
            "unit_of_measurement": "steps",
            "icon": "mdi:target",
        },
    }
    out = []
    for object_id, fields in sensors.items():
        payload = {**common, **fields, "state_topic": topics.state,
                   "unique_id": f"pacer_{_node(user)}_{object_id}",
                   "object_id": f"pacer_{_node(user)}_{object_id}"}
        out.append((discovery_config("sensor", node, object_id), _encode(payload)))
    event = {
        **common,
        "name": "Pacing prompt",
        "state_topic": topics.prompt,
        "unique_id": f"pacer_{_node(user)}_prompt",
        "object_id": f"pacer_{_node(user)}_prompt",
        "event_types": list(PROMPT_KINDS),
        # Home Assistant wants an event_type key; pacer's prompt calls it kind.
        "value_template": (
            "{{ {'event_type': value_json.kind, 'title': value_json.title, "
            "'text': value_json.text, 'level': value_json.level, 'id': value_json.id} "
            "| to_json }}"
        ),
        "icon": "mdi:bell-ring",
    }
    out.append((discovery_config("event", node, "prompt"), _encode(event)))
    return out


def _encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()
