"""Does bleak-retry-connector work with a non-BlueZ backend? (Only when it is installed.)

It passes ``backend=`` through to ``BleakClient`` and skips its BlueZ-only work
when the ``BLEDevice`` has no D-Bus path, so a connect succeeds. The manager does
not use it (see devices/backoff.py and the report): its retry budget and fixed
4 s backoff for a missing device suit one connect attempt, not hours of absence.
"""

from __future__ import annotations

import pytest
from bleak import BleakClient, BleakScanner

from devices import uuids
from devices.virtual import VirtualWorld, run_in_world

retry_connector = pytest.importorskip("bleak_retry_connector")


def test_establish_connection_through_the_bumble_backend() -> None:
    async def scenario(world: VirtualWorld) -> bytes:
        watch = world.watches[0]
        await watch.set_steps(42)
        device = await BleakScanner.find_device_by_address(
            watch.address, timeout=1.0, backend=world.scanner_backend
        )
        assert device is not None
        client = await retry_connector.establish_connection(
            BleakClient, device, "watch", backend=world.backend, timeout=1.0
        )
        try:
            return bytes(await client.read_gatt_char(uuids.STEP_COUNT))
        finally:
            await client.disconnect()

    assert run_in_world(scenario, watches=1) == b"\x2a\0\0\0"
