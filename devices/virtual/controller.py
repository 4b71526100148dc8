"""A bumble virtual controller that answers a connection cancel as the spec requires.

bumble's ``Controller`` (0.0.236) acknowledges HCI LE Create Connection Cancel
but never sends the LE Connection Complete event (status Unknown Connection
Identifier) that must follow, and keeps the request pending: a connect to an
absent device then hangs forever and every later connect is refused
(ble-testing.md, pitfall 1). This subclass clears the pending request and
sends that event, so a connect times out cleanly, as on real controllers.
"""

from __future__ import annotations

import asyncio

from bumble import hci
from bumble.controller import Controller
from bumble.device import Device
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink


class CancellingController(Controller):
    """``Controller`` with a working LE Create Connection Cancel."""

    def on_hci_le_create_connection_cancel_command(
        self, _command: hci.HCI_LE_Create_Connection_Cancel_Command
    ) -> hci.HCI_StatusReturnParameters:
        pending = self.pending_le_connection
        self.pending_le_connection = None
        if pending is not None:
            # Queued after the Command Complete the caller sends on return: the
            # host must see the cancel acknowledged before the failed connection.
            asyncio.get_running_loop().call_soon(self._send_cancelled, pending.peer_address)
        return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.SUCCESS)

    def _send_cancelled(self, peer_address: hci.Address) -> None:
        self.send_hci_packet(
            hci.HCI_LE_Connection_Complete_Event(
                status=hci.HCI_ErrorCode.UNKNOWN_CONNECTION_IDENTIFIER_ERROR,
                connection_handle=0,
                role=hci.Role.CENTRAL,
                peer_address_type=peer_address.address_type,
                peer_address=peer_address,
                connection_interval=0,
                peripheral_latency=0,
                supervision_timeout=0,
                central_clock_accuracy=0,
            )
        )


def new_device(link: LocalLink, name: str, address: str) -> Device:
    """A bumble host and device on ``link``, behind a ``CancellingController``.

    ``address`` should be a static random address (top two bits set, such as
    ``F0:...``): bumble parses a bare address string as random.
    """
    controller = CancellingController(name, link=link, public_address=address)
    return Device(
        name=name,
        address=hci.Address(address),
        host=Host(controller, AsyncPipeSink(controller)),
    )
