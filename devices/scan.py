"""Which supported wearables are in reach (``pacer scan``).

``recognise`` is the pure rule, from what a device advertises: InfiniTime by
its name (``InfiniTime``, or ``Pinetime-JF`` on old firmware) or by the DFU
service next to Heart Rate; Polar by its PMD service or name; WitMotion by its
own service (note its ``...9a34fb`` base, not the SIG ``...9b34fb``) or a name
starting ``WT``; Bangle.js by its name (``Bangle.js 7a3c``: the last four hex
digits of its address), or the Nordic UART service with a name starting
``Bangle`` (other Espruino boards and many gadgets advertise the UART too);
PAMS, RSC and Heart Rate by their SIG services. The order
matters: a watch and a Polar strap also advertise Heart Rate. Huami bands
by name (``Mi Smart Band 4``/``5``/``6``, ``Mi Band 4``..., ``Amazfit Band 5``)
or the 0xFEE0 service every Huami band advertises.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bleak import BleakScanner
from bleak.backends.scanner import BaseBleakScanner

from devices import uuids

POLAR_PMD_SERVICE = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
WITMOTION_SERVICE = "0000ffe5-0000-1000-8000-00805f9a34fb"
PAMS_SERVICE = uuids.sig(0x183E)
INFINITIME_NAMES = ("InfiniTime", "Pinetime-JF")
BANGLE_NAME = "Bangle.js"
HUAMI_NAMES = (*(f"{prefix} {n}" for prefix in ("Mi Smart Band", "Mi Band") for n in "456"),
               "Amazfit Band 5")
HUAMI_SERVICE = uuids.sig(0xFEE0)


@dataclass(frozen=True, slots=True)
class Found:
    """A wearable seen in a scan; ``kind`` is a config ``[[devices]] kind``."""

    kind: str
    address: str
    name: str | None
    rssi: int


def recognise(name: str | None, service_uuids: Iterable[str]) -> str | None:
    """The device kind an advertisement shows, or None if pacer cannot use it."""
    services = {uuids.normalize(u) for u in service_uuids}
    name = name or ""
    if name.startswith(INFINITIME_NAMES) or {
        uuids.INFINITIME_DFU_SERVICE,
        uuids.HEART_RATE_SERVICE,
    } <= services:
        return "infinitime"
    if POLAR_PMD_SERVICE in services or name.startswith("Polar "):
        return "polar"
    if WITMOTION_SERVICE in services or name.startswith("WT"):
        return "witmotion"
    if name.startswith(BANGLE_NAME) or (
        uuids.NORDIC_UART_SERVICE in services and name.startswith("Bangle")
    ):
        return "bangle"
    if name.startswith(HUAMI_NAMES) or HUAMI_SERVICE in services:
        return "huami"
    if PAMS_SERVICE in services:
        return "pams"
    if uuids.RSC_SERVICE in services:
        return "rsc"
    if uuids.HEART_RATE_SERVICE in services:
        return "heart_rate"
    return None


async def scan(seconds: float, backend: type[BaseBleakScanner] | None = None) -> list[Found]:
    """Scan for ``seconds`` and list the supported wearables seen, strongest signal first."""
    if backend is None:
        seen = await BleakScanner.discover(seconds, return_adv=True)
    else:
        seen = await BleakScanner.discover(seconds, return_adv=True, backend=backend)
    found = []
    for address, (device, adv) in seen.items():
        name = adv.local_name or device.name
        kind = recognise(name, adv.service_uuids)
        if kind is not None:
            found.append(Found(kind=kind, address=address, name=name, rssi=adv.rssi))
    return sorted(found, key=lambda f: (-f.rssi, f.address))
