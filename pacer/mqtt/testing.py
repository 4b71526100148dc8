"""Old home of the tests' MQTT helpers, now ``tests/helpers/mqtt.py`` (nothing
here ships: importable only with the repo's tests/ folder on ``sys.path``).
Kept for the files still being moved; remove once none imports it."""

from helpers.mqtt import *  # noqa: F403
