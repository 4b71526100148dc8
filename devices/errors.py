"""The devices package's exception types, under one root, ``DeviceError``.

The package knows nothing of pacer: whoever runs it maps these onto its own
errors where they come out (pacer's command line exits 1 for a ``DeviceError``).

Every decoder raises ``DecodeError`` for bytes it cannot make sense of, and
nothing else: a wearable that sends garbage must never take the connection (or
the daemon) down with an ``IndexError`` or a ``struct.error``. The connection
code counts and logs these and carries on.
"""

from __future__ import annotations


class DeviceError(Exception):
    """Base of every error the devices package raises on purpose."""


class DecodeError(DeviceError):
    """A notification or read value does not match its characteristic's layout.

    ``characteristic`` is the characteristic's UUID (lowercase, 128-bit form),
    ``payload`` the bytes received and ``problem`` what was wrong with them; the
    message names all three so one log line is enough to diagnose a device.
    """

    def __init__(self, characteristic: str, payload: bytes, problem: str) -> None:
        self.characteristic = characteristic
        self.payload = bytes(payload)
        self.problem = problem
        shown = self.payload[:32].hex(" ")
        if len(self.payload) > 32:
            shown += " ..."
        super().__init__(
            f"characteristic {characteristic or '(no UUID)'}: {problem} "
            f"(got {len(self.payload)} byte(s): {shown or 'none'})"
        )


class ImplausibleReading(DeviceError):  # noqa: N818 - what the device sent us
    """A value that decodes but no person could have caused (a step counter
    that rose faster than anyone steps, ``devices.plausible``). Counted and
    logged as a bad value, like ``DecodeError``; the reading is not counted."""
