"""A virtual RSC foot pod (Running Speed and Cadence 0x1814), scriptable from Python.

RSC Measurement 0x2A53 is notify only (reads fail, as the specification
excludes them), RSC Feature 0x2A54 is readable, Battery Level reads and
notifies. ``measure(cadence)`` sends one measurement, as a pod does about once
a second while it moves.
"""

from __future__ import annotations

import struct

from bumble.gatt import Characteristic, Service
from bumble.link import LocalLink

from devices import uuids
from devices.virtual.peripheral import (
    NOTIFY,
    READ,
    READABLE,
    VirtualPeripheral,
    advertising_data,
    gatt_uuid,
    not_readable,
    readable,
)


def rsc_measurement(
    cadence_spm: int,
    speed_mps: float = 1.4,
    *,
    running: bool = False,
    stride_m: float | None = None,
    distance_m: float | None = None,
) -> bytes:
    """An RSC Measurement value (ble-protocols.md §3.1)."""
    flags = (1 if stride_m is not None else 0) | (2 if distance_m is not None else 0)
    flags |= 4 if running else 0
    out = struct.pack("<BHB", flags, round(speed_mps * 256), cadence_spm)
    if stride_m is not None:
        out += struct.pack("<H", round(stride_m * 100))
    if distance_m is not None:
        out += struct.pack("<I", round(distance_m * 10))
    return out


class VirtualFootPod(VirtualPeripheral):
    """An RSC foot pod on a bumble link."""

    def __init__(self, link: LocalLink, *, address: str, name: str = "FootPod") -> None:
        self.battery = 90
        services = [
            Service(
                gatt_uuid(uuids.RSC_SERVICE),
                [
                    Characteristic(
                        gatt_uuid(uuids.RSC_MEASUREMENT), NOTIFY, READABLE, not_readable()
                    ),
                    Characteristic(
                        gatt_uuid(uuids.RSC_FEATURE),
                        READ,
                        READABLE,
                        readable(lambda: b"\x03\x00", self),
                    ),
                ],
            ),
            Service(
                gatt_uuid(uuids.BATTERY_SERVICE),
                [
                    Characteristic(
                        gatt_uuid(uuids.BATTERY_LEVEL), READ | NOTIFY, READABLE,
                        readable(lambda: bytes((self.battery,)), self),
                    )
                ],
            ),
        ]
        super().__init__(
            link,
            name=name,
            address=address,
            services=services,
            advertisement=advertising_data(name, uuids16=[0x1814]),
        )

    async def measure(self, cadence_spm: int, speed_mps: float = 1.4) -> None:
        """Notify one measurement with this cadence (steps per minute) and speed."""
        await self.notify(uuids.RSC_MEASUREMENT, rsc_measurement(cadence_spm, speed_mps))

    async def set_battery(self, percent: int) -> None:
        self.battery = percent
        await self.notify(uuids.BATTERY_LEVEL, bytes((percent,)))
