"""The real ``Daemon`` in the test's own event loop, on virtual wearables."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from devices.virtual import VirtualWorld
from pacer.config import Config
from pacer.daemon.app import Daemon
from pacer.daemon.clock import Clock
from pacer.store import Store


async def until(check: Callable[[], Any], timeout: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.01)


def connected(daemon: Daemon) -> bool:
    """The first configured wearable is connected."""
    return bool(daemon.ble and daemon.ble.devices()[0]["connected"])


async def run_daemon(config: Config, world: VirtualWorld, clock: Clock,
                     body: Callable[[Daemon], Awaitable[None]]) -> None:
    """Run the daemon on ``world``'s wearables while ``body`` runs, then stop it."""
    with Store.open(config.storage.path) as store:
        daemon = Daemon(config, store=store, clock=clock, ble_backend=world.backend,
                        ble_scanner_backend=world.scanner_backend)
        task = asyncio.create_task(daemon.run())
        try:
            await body(daemon)
        finally:
            daemon.stop()
            await asyncio.wait_for(task, 20)
