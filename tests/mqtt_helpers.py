"""Old name of ``helpers.mqtt_tls``: kept for the files still being moved;
remove once none imports it."""

from helpers.mqtt_tls import *  # noqa: F403
