"""The harness: virtual wearables and a central on one bumble link, in the running loop.

    async with virtual_world(watches=1, foot_pods=1) as world:
        manager = DeviceManager(
            devices, backend=world.backend, scanner_backend=world.scanner_backend, ...
        )
        await world.watches[0].walk(100)

bumble's controller needs the running event loop, so the world is built
inside it (in a test: inside ``asyncio.run``), never shared across loops.
Devices get static random addresses ``F0:00:00:00:00:01``, ``...:02`` in the
order they are added.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from bumble import gatt_client
from bumble.link import LocalLink

from devices.virtual.backend import BumbleClient, BumbleScanner, Central
from devices.virtual.bangle import VirtualBangle
from devices.virtual.controller import new_device
from devices.virtual.footpod import VirtualFootPod
from devices.virtual.miband import VirtualMiBand
from devices.virtual.peripheral import VirtualPeripheral
from devices.virtual.watch import VirtualWatch

if TYPE_CHECKING:
    from devices.virtual.imu import VirtualPolar, VirtualWitMotion

T = TypeVar("T")

CENTRAL_ADDRESS = "C0:00:00:00:00:00"
_GATT_TIMEOUT = "GATT_REQUEST_TIMEOUT"  # bumble.gatt_client's copy of the constant


class VirtualWorld:
    """One link, one central (what the manager connects from) and the virtual devices."""

    def __init__(self) -> None:
        self.link = LocalLink()  # type: ignore[no-untyped-call]  # bumble leaves it untyped
        self.central = Central(new_device(self.link, "pacer", CENTRAL_ADDRESS))
        self.backend: type[BumbleClient] = self.central.client_backend()
        """Pass as ``backend=`` to ``BleakClient`` or the connection manager."""
        self.scanner_backend: type[BumbleScanner] = self.central.scanner_backend()
        """Pass as ``backend=`` to ``BleakScanner`` (``scanner_backend=`` of the manager)."""
        self.watches: list[VirtualWatch] = []
        self.foot_pods: list[VirtualFootPod] = []
        self.imus: list[VirtualWitMotion | VirtualPolar] = []
        self.bangles: list[VirtualBangle] = []
        self.mibands: list[VirtualMiBand] = []
        self._peripherals: list[VirtualPeripheral] = []

    def _next_address(self) -> str:
        return f"F0:00:00:00:00:{len(self._peripherals) + 1:02X}"

    async def start(self) -> None:
        await self.central.device.power_on()

    async def add_watch(self, name: str = "InfiniTime", address: str | None = None) -> VirtualWatch:
        """A new virtual InfiniTime watch, powered on and advertising."""
        watch = VirtualWatch(self.link, address=address or self._next_address(), name=name)
        self._peripherals.append(watch)
        self.watches.append(watch)
        await watch.start()
        return watch

    async def add_foot_pod(
        self, name: str = "FootPod", address: str | None = None
    ) -> VirtualFootPod:
        """A new virtual RSC foot pod, powered on and advertising."""
        pod = VirtualFootPod(self.link, address=address or self._next_address(), name=name)
        self._peripherals.append(pod)
        self.foot_pods.append(pod)
        await pod.start()
        return pod

    async def add_bangle(self, name: str = "Bangle.js 7a3c", address: str | None = None,
                         clock: Callable[[], float] | None = None) -> VirtualBangle:
        """A new virtual Bangle.js 2 (Android Integration app), powered on and advertising."""
        bangle = VirtualBangle(self.link, address=address or self._next_address(), name=name,
                               clock=clock)
        self._peripherals.append(bangle)
        self.bangles.append(bangle)
        await bangle.start()
        return bangle

    async def add_miband(self, key: bytes, address: str | None = None, **options: Any
                         ) -> VirtualMiBand:
        """A new virtual Mi Band 5 holding auth ``key`` (``options``: those of
        ``VirtualMiBand``), powered on and advertising."""
        band = VirtualMiBand(self.link, address=address or self._next_address(), key=key,
                             **options)
        self._peripherals.append(band)
        self.mibands.append(band)
        await band.start()
        return band

    async def add_witmotion(self, address: str | None = None, **options: Any
                            ) -> VirtualWitMotion:
        """A new virtual WitMotion IMU (``options``: those of ``VirtualWitMotion``)."""
        from devices.virtual.imu import VirtualWitMotion  # noqa: PLC0415 - numpy, only for IMUs

        imu = VirtualWitMotion(self.link, address=address or self._next_address(), **options)
        self._peripherals.append(imu)
        self.imus.append(imu)
        await imu.start()
        return imu

    async def add_polar(self, address: str | None = None, **options: Any) -> VirtualPolar:
        """A new virtual Polar PMD accelerometer (``options``: those of ``VirtualPolar``)."""
        from devices.virtual.imu import VirtualPolar  # noqa: PLC0415 - numpy, only for IMUs

        imu = VirtualPolar(self.link, address=address or self._next_address(), **options)
        self._peripherals.append(imu)
        self.imus.append(imu)
        await imu.start()
        return imu

    async def close(self) -> None:
        for peripheral in self._peripherals:
            await peripheral.close()
        await self.central.device.power_off()


@contextlib.asynccontextmanager
async def virtual_world(
    watches: int = 0, foot_pods: int = 0, *, gatt_timeout_s: float = 3.0
) -> AsyncIterator[VirtualWorld]:
    """A started ``VirtualWorld`` with ``watches`` watches and ``foot_pods`` foot pods.

    bumble's 30 s GATT request timeout is shortened to ``gatt_timeout_s`` while
    the world runs, so a request nobody answers fails a test quickly instead of
    stalling it (ble-testing.md pitfall 2). It is a module global of
    ``bumble.gatt_client`` (imported there by name), restored on exit.
    """
    saved = getattr(gatt_client, _GATT_TIMEOUT)
    setattr(gatt_client, _GATT_TIMEOUT, gatt_timeout_s)
    world = VirtualWorld()
    try:
        await world.start()
        for _ in range(watches):
            await world.add_watch()
        for _ in range(foot_pods):
            await world.add_foot_pod()
        yield world
    finally:
        try:
            await world.close()
        finally:
            setattr(gatt_client, _GATT_TIMEOUT, saved)


def run_in_world(
    scenario: Callable[[VirtualWorld], Awaitable[T]],
    *,
    watches: int = 0,
    foot_pods: int = 0,
    timeout_s: float = 20.0,
) -> T:
    """Run ``scenario(world)`` in a fresh event loop and world; for plain test functions.

    ``timeout_s`` bounds the whole run, so a hang fails the test rather than CI.
    """

    async def main() -> T:
        async with virtual_world(watches, foot_pods) as world:
            return await asyncio.wait_for(scenario(world), timeout_s)

    return asyncio.run(main())
