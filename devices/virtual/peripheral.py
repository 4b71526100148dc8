"""What every virtual wearable shares: a bumble peripheral that advertises, drops
its link on demand and notifies raw bytes (garbage included) on any characteristic.

Workarounds for bumble's simulator that live here (ble-testing.md):

* every characteristic value has a read callback; one that must not be read
  raises ``ATT_Error`` (bumble's server never answers a read it has no
  callback for, and the client waits out the ATT timeout: pitfall 2);
* the advertising interval is 20 ms, not bumble's 1 s (it is real time, and
  every connect waits for an advert: pitfall 5), and advertising restarts by
  itself after a disconnect, as a wearable does.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable, Iterable

from bumble import att, core, hci
from bumble.device import Connection
from bumble.gatt import Characteristic, CharacteristicValue, Service
from bumble.link import LocalLink

from devices.uuids import normalize
from devices.virtual.controller import new_device

ADVERTISING_INTERVAL_MS = 20.0

READ = Characteristic.Properties.READ
NOTIFY = Characteristic.Properties.NOTIFY
WRITE = Characteristic.Properties.WRITE
READABLE = Characteristic.Permissions.READABLE
WRITEABLE = Characteristic.Permissions.WRITEABLE


_SIG_SUFFIX = "-0000-1000-8000-00805f9b34fb"


def gatt_uuid(uuid: str) -> core.UUID:
    """bumble's UUID for ``uuid``, 16-bit when it is a SIG one (as real devices send it)."""
    full = normalize(uuid)
    if full.startswith("0000") and full.endswith(_SIG_SUFFIX):
        return core.UUID.from_16_bits(int(full[4:8], 16))
    return core.UUID(full)


def ad_structure(ad_type: int, value: bytes) -> bytes:
    """One advertising data structure: length, type, value."""
    return bytes((len(value) + 1, ad_type)) + value


def advertising_data(name: str, uuids16: Iterable[int] = (), uuids128: Iterable[str] = ()) -> bytes:
    """Flags (LE general discoverable, no BR/EDR), service UUIDs and the complete name."""
    data = ad_structure(0x01, b"\x06")
    short = b"".join(struct.pack("<H", u) for u in uuids16)
    if short:
        data += ad_structure(0x03, short)
    for u in uuids128:
        data += ad_structure(0x07, bytes(reversed(bytes.fromhex(u.replace("-", "")))))
    return data + ad_structure(0x09, name.encode())


class Slowness:
    """How long reads take; a test sets ``read_delay_s`` to cut a link mid-request."""

    read_delay_s: float = 0.0


def readable(read: Callable[[], bytes], slowness: Slowness) -> CharacteristicValue[bytes]:
    """A value read through ``read()``, after ``slowness.read_delay_s``."""

    async def value(_connection: Connection) -> bytes:
        if slowness.read_delay_s:
            await asyncio.sleep(slowness.read_delay_s)
        return read()

    return CharacteristicValue(read=value)


def write_only(write: Callable[[bytes], None]) -> CharacteristicValue[bytes]:
    """A value that records writes and refuses reads with an ATT error (not silence)."""

    def refuse(_connection: Connection) -> bytes:
        raise att.ATT_Error(att.ErrorCode.READ_NOT_PERMITTED)

    return CharacteristicValue(read=refuse, write=lambda _connection, value: write(bytes(value)))


def not_readable() -> CharacteristicValue[bytes]:
    """A notify-only value: reads fail with an ATT error."""

    def refuse(_connection: Connection) -> bytes:
        raise att.ATT_Error(att.ErrorCode.READ_NOT_PERMITTED)

    return CharacteristicValue(read=refuse)


class VirtualPeripheral(Slowness):
    """A bumble peripheral on ``link`` with the given GATT services."""

    def __init__(
        self,
        link: LocalLink,
        *,
        name: str,
        address: str,
        services: list[Service],
        advertisement: bytes,
    ) -> None:
        self.name = name
        self.address = address
        self.device = new_device(link, name, address)
        self.device.add_services(services)
        self._advertisement = advertisement
        self._characteristics: dict[str, Characteristic[bytes]] = {}
        for service in services:
            for char in service.characteristics:
                self._characteristics[normalize(char.uuid.to_hex_str("-"))] = char

    async def start(self) -> None:
        """Power on and advertise."""
        await self.device.power_on()
        await self.advertise()

    async def advertise(self) -> None:
        """(Re)start advertising: the device is in reach and connectable."""
        await self.device.start_advertising(
            auto_restart=True,
            advertising_data=self._advertisement,
            advertising_interval_min=ADVERTISING_INTERVAL_MS,
            advertising_interval_max=ADVERTISING_INTERVAL_MS,
        )

    async def stop_advertising(self) -> None:
        """Stop advertising: nobody can find or connect to the device."""
        await self.device.stop_advertising()

    @property
    def connections(self) -> list[Connection]:
        return list(self.device.connections.values())

    @property
    def connected(self) -> bool:
        return bool(self.device.connections)

    async def drop_link(self) -> None:
        """End every connection from this side, as a link lost to range would."""
        for connection in self.connections:
            await connection.disconnect(hci.HCI_CONNECTION_TIMEOUT_ERROR)

    async def go_away(self) -> None:
        """Out of reach: drop the link and stop advertising until ``come_back``."""
        await self.stop_advertising()
        await self.drop_link()
        # auto_restart may have brought advertising back after the disconnect.
        await self.stop_advertising()

    async def come_back(self) -> None:
        """Back in reach: advertise again."""
        await self.advertise()

    def characteristic(self, uuid: str) -> Characteristic[bytes]:
        """This device's characteristic with ``uuid`` (16-bit "2A37" or 128-bit form)."""
        return self._characteristics[normalize(uuid)]

    async def notify(self, uuid: str, payload: bytes) -> None:
        """Notify ``payload`` as it is on the characteristic ``uuid`` to every subscriber."""
        await self.device.notify_subscribers(self.characteristic(uuid), payload)

    async def send_garbage(self, uuid: str, payload: bytes) -> None:
        """Notify bytes that do not fit the characteristic's layout (the state is unchanged)."""
        await self.notify(uuid, payload)

    async def close(self) -> None:
        """Stop advertising, drop every link and power off."""
        await self.stop_advertising()
        await self.drop_link()
        await self.device.power_off()
