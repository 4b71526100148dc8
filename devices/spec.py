"""What the devices package needs to know of a configured wearable.

The caller's own config (pacer's ``[[devices]]`` tables) is mapped onto this;
the package reads nothing else of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    kind: str  # a key of ``devices.profiles.PROFILES`` ("infinitime", "rsc", ...)
    address: str | None = None
    name: str | None = None  # matched against the advertised name when no address
    auth_key: bytes | None = field(default=None, repr=False)
    """A Huami band's 16-byte auth key (never shown: not in the repr)."""
    auth_key_source: str | None = None
    """Where the key came from (its file), for the message when the band refuses it."""

    @property
    def label(self) -> str:
        return device_label(self)


def device_label(device: DeviceSpec) -> str:
    """The stable label samples carry: the configured address, else the name."""
    label = device.address or device.name
    if not label:
        raise ValueError("a device needs an address or a name")
    return label
