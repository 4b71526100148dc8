"""MQTT for pacer: ``MqttLink`` (the daemon's connection, the only code that
uses paho) and ``PrivateBroker`` (a loopback broker for tests and the demo)."""

from pacer.mqtt.broker import PrivateBroker
from pacer.mqtt.client import (
    Incoming,
    MqttLink,
    NotConnected,
    PayloadTooLarge,
    PublishQueueFull,
    PublishResult,
)

__all__ = [
    "Incoming",
    "MqttLink",
    "NotConnected",
    "PayloadTooLarge",
    "PrivateBroker",
    "PublishQueueFull",
    "PublishResult",
]
