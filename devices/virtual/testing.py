"""Old home of the tests' virtual-device helpers, now ``tests/helpers/devices.py``
(nothing here ships: importable only with the repo's tests/ folder on
``sys.path``). Kept for the files still being moved; remove once none imports it."""

from helpers.devices import *  # noqa: F403
