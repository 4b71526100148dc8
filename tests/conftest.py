"""Shared fixtures: a private MQTT broker per test and plain-paho subscribers.

Tests never touch the system broker on 127.0.0.1:1883: every broker here is a
``PrivateBroker`` on a free loopback port. The helpers themselves live in
``tests/helpers/`` (``helpers.mqtt`` here) so test modules can import them by name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from helpers.mqtt import Collector

from pacer.mqtt.broker import PrivateBroker


@pytest.fixture
def broker() -> Iterator[PrivateBroker]:
    """A private broker (mosquitto when installed) on a free loopback port."""
    with PrivateBroker() as b:
        yield b


SubscriberFactory = Callable[[PrivateBroker, str], Collector]


@pytest.fixture
def subscriber() -> Iterator[SubscriberFactory]:
    """``subscriber(broker, topic)`` -> a started ``Collector``; all closed after the test."""
    made: list[Collector] = []

    def make(b: PrivateBroker, topic: str) -> Collector:
        c = Collector(b.host, b.port, topic, protocol=b.protocol)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()
