"""scan(): supported wearables recognised from their advertisements."""

from __future__ import annotations

import pytest

from devices import uuids
from devices.scan import (
    POLAR_PMD_SERVICE,
    WITMOTION_SERVICE,
    Found,
    recognise,
    scan,
)
from devices.virtual import VirtualWorld, run_in_world


def test_scan_finds_the_virtual_watch_and_foot_pods() -> None:
    async def scenario(world: VirtualWorld) -> list[Found]:
        await world.add_foot_pod(name="Stryd")
        return await scan(0.2, backend=world.scanner_backend)

    found = run_in_world(scenario, watches=1, foot_pods=1)
    assert found == [
        Found(kind="infinitime", address="F0:00:00:00:00:01", name="InfiniTime", rssi=-50),
        Found(kind="rsc", address="F0:00:00:00:00:02", name="FootPod", rssi=-50),
        Found(kind="rsc", address="F0:00:00:00:00:03", name="Stryd", rssi=-50),
    ]


def test_scan_ignores_devices_out_of_reach() -> None:
    async def scenario(world: VirtualWorld) -> list[Found]:
        await world.watches[0].go_away()
        return await scan(0.1, backend=world.scanner_backend)

    assert run_in_world(scenario, watches=1) == []


@pytest.mark.parametrize(
    ("name", "services", "kind"),
    [
        ("InfiniTime", [uuids.HEART_RATE_SERVICE], "infinitime"),
        ("Pinetime-JF", [], "infinitime"),
        (None, [uuids.INFINITIME_DFU_SERVICE, "180d"], "infinitime"),
        ("Polar H10 1234ABCD", [uuids.HEART_RATE_SERVICE], "polar"),
        (None, [POLAR_PMD_SERVICE.upper()], "polar"),
        ("WT901BLE68", [], "witmotion"),
        (None, [WITMOTION_SERVICE], "witmotion"),
        (None, ["183e"], "pams"),
        ("Some pod", ["1814"], "rsc"),
        ("HRM-Pro", [uuids.HEART_RATE_SERVICE], "heart_rate"),
        ("Headphones", ["110b"], None),
        (None, [], None),
        (None, [uuids.INFINITIME_DFU_SERVICE], None),  # DFU alone: any nRF bootloader
    ],
)
def test_recognise(name: str | None, services: list[str], kind: str | None) -> None:
    assert recognise(name, services) == kind
