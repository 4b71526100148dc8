"""Virtual wearables on bumble, and the bleak backends that reach them (tests, demo).

Needs the ``virtual`` extra (bumble). Nothing outside tests and the demo imports
this package: the daemon gets its backend class injected.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from devices.virtual.backend import BumbleClient, BumbleScanner, Central
from devices.virtual.bangle import VirtualBangle
from devices.virtual.footpod import VirtualFootPod, rsc_measurement
from devices.virtual.peripheral import VirtualPeripheral
from devices.virtual.watch import VirtualWatch
from devices.virtual.world import VirtualWorld, run_in_world, virtual_world

if TYPE_CHECKING:
    from devices.virtual.imu import VirtualPolar, VirtualWitMotion

_IMUS = ("VirtualPolar", "VirtualWitMotion")


def __getattr__(name: str) -> Any:
    # The virtual IMUs synthesise with numpy: loaded only when asked for, so a
    # daemon on a virtual watch (the demo, the footprint benchmark) stays lean.
    if name in _IMUS:
        from devices.virtual import imu  # noqa: PLC0415

        return getattr(imu, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BumbleClient",
    "BumbleScanner",
    "Central",
    "VirtualBangle",
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
