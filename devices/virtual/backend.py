"""bleak client and scanner backends on a bumble central: real bleak code, no radio.

``BumbleClient`` and ``BumbleScanner`` implement bleak 3.x's backend interface
(``BaseBleakClient``, ``BaseBleakScanner``) on a bumble ``Device`` acting as
central on a ``LocalLink``, so ``BleakClient(..., backend=...)`` and
``BleakScanner(..., backend=...)`` run unchanged against virtual wearables in
the same event loop (ble-testing.md). bleak wants a *class* for ``backend=``
(it instantiates it itself), so ``Central.client_backend()`` and
``Central.scanner_backend()`` return subclasses bound to one central.

What the mapping does, and why:

* bumble's ATT errors become ``BleakGATTProtocolError``; a failed or timed-out
  connect becomes ``BleakDeviceNotFoundError``; any other bumble error becomes
  ``BleakError``, so callers see only bleak's exceptions, as on BlueZ;
* a link drop cancels bumble's pending GATT request with ``CancelledError``;
  unless our own task is being cancelled that becomes a ``BleakError``, or the
  caller would take it for its own cancellation (pitfall 3);
* ``disconnected_callback`` fires on every disconnect, solicited or not, as
  bleak's BlueZ backend does (pitfall 10);
* one connect at a time per central, as a real controller allows one pending
  LE connection; several clients connecting at once queue on a lock;
* scanners share the central's one scan, started for the first scanner and
  stopped after the last.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import uuid as uuid_module
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, ClassVar, Literal, TypeVar

from bleak.args import SizedBuffer
from bleak.assigned_numbers import CHARACTERISTIC_PROPERTIES, CharacteristicPropertyName
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bleak.uuids import normalize_uuid_str
from bumble import att, core, hci
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.gatt_client import CharacteristicProxy

T = TypeVar("T")

REQUESTED_MTU = 247
"""The ATT MTU the client asks for (bleak documents that BlueZ reports 23)."""


def _uuid(u: core.UUID) -> str:
    return normalize_uuid_str(u.to_hex_str("-"))


def _raw_uuids(data: bytes, size: int) -> list[str]:
    """UUIDs in an advertising UUID list, little-endian, ``size`` bytes each."""
    out = []
    for i in range(0, len(data) - size + 1, size):
        chunk = data[i : i + size]
        if size == 16:
            out.append(str(uuid_module.UUID(bytes=bytes(reversed(chunk)))))
        else:
            out.append(normalize_uuid_str(bytes(reversed(chunk)).hex()))
    return out


def advertisement_data(
    ad_structures: Iterable[tuple[int, bytes]], rssi: int, platform: tuple[Any, ...] = ()
) -> AdvertisementData:
    """bleak's ``AdvertisementData`` from raw (AD type, bytes) structures."""
    name: str | None = None
    uuids: list[str] = []
    manufacturer: dict[int, bytes] = {}
    service_data: dict[str, bytes] = {}
    tx_power: int | None = None
    for ad_type, value in ad_structures:
        match int(ad_type):
            case 0x08 if name is None:  # shortened local name
                name = value.decode("utf-8", errors="replace")
            case 0x09:  # complete local name
                name = value.decode("utf-8", errors="replace")
            case 0x02 | 0x03:
                uuids += _raw_uuids(value, 2)
            case 0x04 | 0x05:
                uuids += _raw_uuids(value, 4)
            case 0x06 | 0x07:
                uuids += _raw_uuids(value, 16)
            case 0x0A if len(value) == 1:
                (tx_power,) = struct.unpack("<b", value)
            case 0xFF if len(value) >= 2:
                manufacturer[int.from_bytes(value[:2], "little")] = value[2:]
            case 0x16 if len(value) >= 2:
                service_data[_raw_uuids(value[:2], 2)[0]] = value[2:]
            case _:
                pass
    return AdvertisementData(
        local_name=name,
        manufacturer_data=manufacturer,
        service_data=service_data,
        service_uuids=list(dict.fromkeys(uuids)),  # scan responses repeat them
        tx_power=tx_power,
        rssi=rssi,
        platform_data=platform,
    )


class Central:
    """A bumble device acting as the central, shared by every client and scanner bound to it."""

    def __init__(self, device: Device) -> None:
        self.device = device
        self.connect_lock = asyncio.Lock()
        self._scan_lock = asyncio.Lock()
        self._scanners: set[BumbleScanner] = set()
        device.on(device.EVENT_ADVERTISEMENT, self._on_advertisement)

    def client_backend(self) -> type[BumbleClient]:
        """A ``BumbleClient`` subclass bound to this central, for ``BleakClient(backend=...)``."""
        return type("BumbleClient", (BumbleClient,), {"central": self})

    def scanner_backend(self) -> type[BumbleScanner]:
        """A ``BumbleScanner`` subclass bound to this central, for ``BleakScanner(backend=...)``."""
        return type("BumbleScanner", (BumbleScanner,), {"central": self})

    async def add_scanner(self, scanner: BumbleScanner) -> None:
        async with self._scan_lock:
            if not self._scanners:
                await self.device.start_scanning(filter_duplicates=False)
            self._scanners.add(scanner)

    async def remove_scanner(self, scanner: BumbleScanner) -> None:
        async with self._scan_lock:
            self._scanners.discard(scanner)
            if not self._scanners and self.device.is_scanning:
                await self.device.stop_scanning()

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        for scanner in list(self._scanners):
            scanner.on_advertisement(advertisement)


async def _gatt(call: Awaitable[T]) -> T:
    """Await a bumble GATT call, translating its errors into bleak's."""
    try:
        return await call
    except att.ATT_Error as error:
        raise BleakGATTProtocolError(error.error_code) from error
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
        # bumble cancels requests that were pending when the link dropped.
        raise BleakError("the link was lost during the GATT request") from None
    except core.BaseBumbleError as error:
        raise BleakError(f"GATT request failed: {error}") from error


class BumbleClient(BaseBleakClient):
    """bleak client backend on a bumble central (bind it with ``Central.client_backend``)."""

    central: ClassVar[Central]

    def __init__(self, address_or_ble_device: BLEDevice | str, **kwargs: Any) -> None:
        super().__init__(address_or_ble_device, **kwargs)
        self._peer_address: hci.Address | None = None
        self._name = self.address
        if isinstance(address_or_ble_device, BLEDevice):
            if isinstance(address_or_ble_device.details, hci.Address):
                # The scanner keeps bumble's address, with its type (public/random).
                self._peer_address = address_or_ble_device.details
            self._name = address_or_ble_device.name or self.address
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._mtu = 23
        self._subscribers: dict[int, Callable[[bytes], None]] = {}

    @property
    def name(self) -> str:
        return self._name

    @property
    def mtu_size(self) -> int:
        return self._mtu

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        if pair:
            raise NotImplementedError("pairing is not supported by the bumble test backend")
        timeout = float(kwargs.get("timeout", self._timeout))
        try:
            address = self._peer_address or hci.Address(self.address)
        except (ValueError, core.BaseBumbleError) as error:
            raise BleakDeviceNotFoundError(self.address, f"not an address: {error}") from error
        async with self.central.connect_lock:
            try:
                connection = await self.central.device.connect(address, timeout=timeout)
            except (core.BaseBumbleError, hci.HCI_Error) as error:
                raise BleakDeviceNotFoundError(
                    self.address, f"Device with address {self.address} was not found: {error!r}"
                ) from error
        self._connection = connection
        connection.on(connection.EVENT_DISCONNECTION, self._on_disconnection)
        peer = Peer(connection)
        self._peer = peer
        try:
            self._mtu = await _gatt(peer.request_mtu(REQUESTED_MTU))
            self.services = await self._discover(peer)
        except BaseException:
            with contextlib.suppress(BleakError, core.BaseBumbleError):
                await self.disconnect()
            raise

    async def _discover(self, peer: Peer) -> BleakGATTServiceCollection:
        collection = BleakGATTServiceCollection()
        await _gatt(peer.discover_services())
        for service in peer.services:
            await _gatt(service.discover_characteristics())
            bleak_service = BleakGATTService(service, service.handle, _uuid(service.uuid))
            collection.add_service(bleak_service)
            for char in service.characteristics:
                await _gatt(char.discover_descriptors())
                properties: list[CharacteristicPropertyName] = [
                    name for bit, name in CHARACTERISTIC_PROPERTIES.items() if char.properties & bit
                ]
                bleak_char = BleakGATTCharacteristic(
                    char, char.handle, _uuid(char.uuid), properties,
                    lambda: self._mtu - 3, bleak_service,
                )
                collection.add_characteristic(bleak_char)
                for descriptor in char.descriptors:
                    collection.add_descriptor(
                        BleakGATTDescriptor(
                            descriptor, descriptor.handle, _uuid(descriptor.type), bleak_char
                        )
                    )
        return collection

    def _on_disconnection(self, _reason: int) -> None:
        self._connection = None
        self._peer = None
        self._subscribers.clear()
        if self._disconnected_callback is not None:
            self._disconnected_callback()

    async def disconnect(self) -> None:
        connection = self._connection
        if connection is None:
            return
        try:
            await connection.disconnect()
        except (core.BaseBumbleError, hci.HCI_Error) as error:
            # Already gone (the peer dropped first): nothing left to close.
            if self._connection is not None:
                raise BleakError(f"disconnect failed: {error}") from error

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("pairing is not supported by the bumble test backend")

    async def unpair(self) -> None:
        raise NotImplementedError("pairing is not supported by the bumble test backend")

    def _require_peer(self) -> Peer:
        if self._peer is None:
            raise BleakError("Not connected")
        return self._peer

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        value = await _gatt(self._require_peer().read_value(characteristic.obj))
        return bytearray(value)

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        value = await _gatt(self._require_peer().read_value(descriptor.obj))
        return bytearray(value)

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        peer = self._require_peer()
        await _gatt(peer.write_value(characteristic.obj, bytes(data), with_response=response))

    async def write_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, data: SizedBuffer
    ) -> None:
        peer = self._require_peer()
        await _gatt(peer.write_value(descriptor.obj, bytes(data), with_response=True))

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        peer = self._require_peer()
        proxy: CharacteristicProxy[bytes] = characteristic.obj

        def deliver(value: bytes) -> None:
            callback(bytearray(value))

        self._subscribers[characteristic.handle] = deliver
        await _gatt(peer.subscribe(proxy, deliver))

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        peer = self._require_peer()
        deliver = self._subscribers.pop(characteristic.handle, None)
        await _gatt(peer.unsubscribe(characteristic.obj, deliver))


class BumbleScanner(BaseBleakScanner):
    """bleak scanner backend on a bumble central (bind it with ``Central.scanner_backend``)."""

    central: ClassVar[Central]

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: Literal["active", "passive"] = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)

    async def start(self) -> None:
        self.seen_devices = {}
        await self.central.add_scanner(self)

    async def stop(self) -> None:
        await self.central.remove_scanner(self)

    def on_advertisement(self, advertisement: Advertisement) -> None:
        adv = advertisement_data(
            advertisement.data.ad_structures, advertisement.rssi, (advertisement,)
        )
        if not self.is_allowed_uuid(adv.service_uuids):
            return
        # str() of a bumble address may carry a "/P" suffix; bleak wants the bare form.
        address = advertisement.address.to_string(False)
        device = self.create_or_update_device(
            address, address, adv.local_name, advertisement.address, adv
        )
        self.call_detection_callbacks(device, adv)
