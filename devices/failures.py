"""What a failed scan or connect means, for the log line an operator reads (pure).

bleak raises different things for the same situation on different systems: no
D-Bus socket (``FileNotFoundError``), BlueZ not running (a D-Bus
``ServiceUnknown`` error), no adapter (``BleakBluetoothNotAvailableError``).
``describe`` maps them to one short cause and what to do about it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakDBusError,
    BleakDeviceNotFoundError,
    BleakError,
)

from devices.errors import DecodeError


class DeviceAbsentError(BleakError):
    """A scan ended without seeing the device (out of reach, off, or connected elsewhere)."""


@dataclass(frozen=True, slots=True)
class Failure:
    """A failure as the log line shows it: ``kind`` names the class of problem."""

    kind: str
    message: str


NO_ADAPTER_ADVICE = "check that a Bluetooth adapter is present and powered (bluetoothctl show)"
NO_BLUEZ_ADVICE = "check that bluetoothd is running and the system D-Bus is reachable"


def describe(error: BaseException) -> Failure:
    """The cause of a failed scan, connect or setup, and a hint where there is one."""
    detail = str(error) or type(error).__name__
    match error:
        case DeviceAbsentError():
            return Failure("absent", detail)
        case BleakBluetoothNotAvailableError():
            return Failure(
                "no_adapter", f"Bluetooth is not available ({detail}); {NO_ADAPTER_ADVICE}"
            )
        case BleakDBusError() if "ServiceUnknown" in error.dbus_error:
            return Failure("no_bluez", f"BlueZ is not running ({detail}); {NO_BLUEZ_ADVICE}")
        case FileNotFoundError() | ConnectionRefusedError() | PermissionError():
            return Failure(
                "no_bluez", f"cannot reach BlueZ over D-Bus ({detail}); {NO_BLUEZ_ADVICE}"
            )
        case BleakError() if "adapter" in detail.lower():
            return Failure("no_adapter", f"{detail}; {NO_ADAPTER_ADVICE}")
        case BleakDeviceNotFoundError():
            return Failure("connect_failed", f"seen, but the connection failed ({detail})")
        case TimeoutError():
            return Failure("timeout", "timed out")
        case DecodeError():
            return Failure("decode", detail)
        case BleakError():
            return Failure("bluetooth", f"Bluetooth error: {detail}")
        case OSError():
            return Failure("os", f"system error: {detail}")
        case _:
            return Failure("unexpected", f"unexpected {type(error).__name__}: {detail}")
