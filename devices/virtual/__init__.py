"""Virtual wearables on bumble, and the bleak backends that reach them (tests, demo).

Needs the ``virtual`` extra (bumble). Nothing outside tests and the demo imports
this package: the daemon gets its backend class injected.
"""

from __future__ import annotations

from devices.virtual.backend import BumbleClient, BumbleScanner, Central
from devices.virtual.footpod import VirtualFootPod, rsc_measurement
from devices.virtual.imu import VirtualPolar, VirtualWitMotion
from devices.virtual.peripheral import VirtualPeripheral
from devices.virtual.watch import VirtualWatch
from devices.virtual.world import VirtualWorld, run_in_world, virtual_world

__all__ = [
    "BumbleClient",
    "BumbleScanner",
    "Central",
    "VirtualFootPod",
    "VirtualPeripheral",
    "VirtualPolar",
    "VirtualWatch",
    "VirtualWitMotion",
    "VirtualWorld",
    "rsc_measurement",
    "run_in_world",
    "virtual_world",
]
