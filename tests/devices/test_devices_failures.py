"""describe(): one clear cause per failure, whatever the platform raised."""

from __future__ import annotations

import pytest
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakDBusError,
    BleakDeviceNotFoundError,
    BleakError,
)

from devices.errors import DecodeError
from devices.failures import DeviceAbsentError, describe


@pytest.mark.parametrize(
    ("error", "kind", "text"),
    [
        (DeviceAbsentError("not found by address X"), "absent", "not found by address X"),
        (
            BleakBluetoothNotAvailableError(
                "No Bluetooth adapters found.", BleakBluetoothNotAvailableReason.NO_BLUETOOTH
            ),
            "no_adapter",
            "check that a Bluetooth adapter is present and powered",
        ),
        (BleakError("No Bluetooth adapters found."), "no_adapter", "adapter is present"),
        (
            BleakDBusError("org.freedesktop.DBus.Error.ServiceUnknown", ["org.bluez"]),
            "no_bluez",
            "BlueZ is not running",
        ),
        (FileNotFoundError(2, "No such file or directory"), "no_bluez", "cannot reach BlueZ"),
        (BleakDeviceNotFoundError("AA", "gone"), "connect_failed", "the connection failed"),
        (TimeoutError(), "timeout", "timed out"),
        (DecodeError("2a19", b"\xff", "too big"), "decode", "too big"),
        (BleakError("le-connection-abort-by-local"), "bluetooth", "abort-by-local"),
        (OSError("bus error"), "os", "bus error"),
        (RuntimeError("a bug"), "unexpected", "RuntimeError: a bug"),
    ],
)
def test_describe(error: BaseException, kind: str, text: str) -> None:
    failure = describe(error)
    assert failure.kind == kind
    assert text in failure.message
