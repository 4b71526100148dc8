"""The bumble backend and the virtual wearables, through bleak's public API only."""

from __future__ import annotations

import asyncio

import pytest
from bleak import BleakClient, BleakScanner
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError

from devices import uuids
from devices.drivers.infinitime import Alert, encode_new_alert
from devices.virtual import VirtualWorld, rsc_measurement, run_in_world
from devices.virtual.backend import advertisement_data


def test_scanner_sees_both_kinds_with_names_and_services() -> None:
    async def scenario(world: VirtualWorld) -> None:
        found = await BleakScanner.discover(
            0.15, return_adv=True, backend=world.scanner_backend
        )
        seen = {addr: (d.name, ad.service_uuids) for addr, (d, ad) in found.items()}
        assert seen == {
            "F0:00:00:00:00:01": ("InfiniTime", [uuids.HEART_RATE_SERVICE]),
            "F0:00:00:00:00:02": ("FootPod", [uuids.RSC_SERVICE]),
        }
        only_rsc = await BleakScanner.discover(
            0.15, service_uuids=[uuids.RSC_SERVICE], backend=world.scanner_backend
        )
        assert [d.name for d in only_rsc] == ["FootPod"]
        by_name = await BleakScanner.find_device_by_name(
            "FootPod", timeout=1.0, backend=world.scanner_backend
        )
        assert by_name is not None
        assert by_name.address == "F0:00:00:00:00:02"

    run_in_world(scenario, watches=1, foot_pods=1)


def test_watch_gatt_read_notify_write_and_errors() -> None:
    async def scenario(world: VirtualWorld) -> None:
        watch = world.watches[0]
        await watch.walk(25)
        got: list[bytes] = []
        arrived = asyncio.Event()

        def on_steps(_char: object, data: bytearray) -> None:
            got.append(bytes(data))
            arrived.set()

        async with BleakClient(watch.address, backend=world.backend, timeout=2) as client:
            assert client.mtu_size == 247
            assert await client.read_gatt_char(uuids.STEP_COUNT) == bytearray(b"\x19\0\0\0")
            assert await client.read_gatt_char(uuids.BATTERY_LEVEL) == bytearray(b"\x50")
            await client.start_notify(uuids.STEP_COUNT, on_steps)
            await watch.walk(5, per_notification=5)
            await asyncio.wait_for(arrived.wait(), 1)
            assert got == [b"\x1e\0\0\0"]
            await client.write_gatt_char(
                uuids.NEW_ALERT, encode_new_alert("Move!", "Sat 50 min"), response=True
            )
            assert watch.shown_alerts == [Alert(0, "Move!", "Sat 50 min")]
            with pytest.raises(BleakGATTProtocolError):
                await client.read_gatt_char(uuids.NEW_ALERT)
            new_alert = client.services.get_characteristic(uuids.NEW_ALERT)
            assert new_alert is not None
            assert new_alert.properties == ["write"]
            await client.stop_notify(uuids.STEP_COUNT)
            await watch.walk(5)
            await asyncio.sleep(0.02)
            assert len(got) == 1

    run_in_world(scenario, watches=1)


def test_foot_pod_measurement_is_notify_only() -> None:
    async def scenario(world: VirtualWorld) -> None:
        pod = world.foot_pods[0]
        got: list[bytes] = []
        async with BleakClient(pod.address, backend=world.backend, timeout=2) as client:
            await client.start_notify(uuids.RSC_MEASUREMENT, lambda _c, d: got.append(bytes(d)))
            await pod.measure(110, 1.5)
            with pytest.raises(BleakGATTProtocolError):
                await client.read_gatt_char(uuids.RSC_MEASUREMENT)
            assert await client.read_gatt_char(uuids.RSC_FEATURE) == bytearray(b"\x03\x00")
        assert got == [rsc_measurement(110, 1.5)]

    run_in_world(scenario, foot_pods=1)


def test_peripheral_drop_fires_the_disconnected_callback_and_reconnect_works() -> None:
    async def scenario(world: VirtualWorld) -> None:
        watch = world.watches[0]
        dropped = asyncio.Event()
        client = BleakClient(
            watch.address, lambda _c: dropped.set(), backend=world.backend, timeout=2
        )
        await client.connect()
        await watch.drop_link()
        await asyncio.wait_for(dropped.wait(), 1)
        assert not client.is_connected
        with pytest.raises(BleakError, match="Not connected"):
            await client.read_gatt_char(uuids.STEP_COUNT)
        await client.connect()  # advertising restarted by itself
        assert client.services.get_characteristic(uuids.STEP_COUNT) is not None
        await client.disconnect()
        assert dropped.is_set()

    run_in_world(scenario, watches=1)


def test_link_lost_during_a_read_is_a_bleak_error_quickly() -> None:
    async def scenario(world: VirtualWorld) -> None:
        watch = world.watches[0]
        async with BleakClient(watch.address, backend=world.backend, timeout=2) as client:
            # The watch would take an hour to answer: only the lost link can end
            # the read, so a BleakError here is the disconnection's doing.
            watch.read_delay_s = 3600.0
            read = asyncio.create_task(client.read_gatt_char(uuids.STEP_COUNT))
            await asyncio.sleep(0)  # the request is on its way
            await watch.drop_link()
            with pytest.raises(BleakError):
                await asyncio.wait_for(read, 60)  # a guard against a hang, not a bound

    run_in_world(scenario, watches=1)


def test_absent_and_departed_devices_are_not_found_within_the_timeout() -> None:
    async def scenario(world: VirtualWorld) -> None:
        with pytest.raises(BleakDeviceNotFoundError):  # the connect timeout ends the search
            await BleakClient("F0:00:00:00:00:77", backend=world.backend, timeout=0.3).connect()
        watch = world.watches[0]
        await watch.go_away()
        with pytest.raises(BleakDeviceNotFoundError):
            await BleakClient(watch.address, backend=world.backend, timeout=0.3).connect()
        await watch.come_back()
        async with BleakClient(watch.address, backend=world.backend, timeout=2) as client:
            assert client.is_connected

    run_in_world(scenario, watches=1)


def test_several_clients_connect_at_once() -> None:
    async def scenario(world: VirtualWorld) -> None:
        clients = [
            BleakClient(p.address, backend=world.backend, timeout=2)
            for p in (*world.watches, *world.foot_pods)
        ]
        await asyncio.gather(*(c.connect() for c in clients))
        assert all(c.is_connected for c in clients)
        await asyncio.gather(*(c.disconnect() for c in clients))

    run_in_world(scenario, watches=2, foot_pods=1)


def test_advertisement_parsing_handles_every_field() -> None:
    adv = advertisement_data(
        [
            (0x08, b"Short"),
            (0x09, b"Complete"),
            (0x02, b"\x0d\x18"),
            (0x05, b"\x78\x56\x34\x12"),
            (0x07, bytes(reversed(bytes.fromhex("000300007" + "8fc48fe8e23433b3a1942d0")))),
            (0x0A, b"\xf6"),
            (0xFF, b"\x59\x00\x01\x02"),
            (0x16, b"\x0f\x18\x55"),
            (0x30, b"ignored"),
        ],
        rssi=-60,
    )
    assert adv.local_name == "Complete"
    assert adv.service_uuids == [
        uuids.HEART_RATE_SERVICE,
        "12345678-0000-1000-8000-00805f9b34fb",
        uuids.MOTION_SERVICE,
    ]
    assert adv.tx_power == -10
    assert adv.manufacturer_data == {0x59: b"\x01\x02"}
    assert adv.service_data == {uuids.BATTERY_SERVICE: b"\x55"}
    assert adv.rssi == -60
