"""``pacer scan``: nearby supported wearables, and what to write in the config."""

from __future__ import annotations

import asyncio

from pacer.errors import PacerError


def scan_main(seconds: float) -> int:
    from devices.scan import scan  # noqa: PLC0415 - bleak loads only for this command

    try:
        found = asyncio.run(scan(seconds))
    except Exception as exc:  # bleak's errors differ by platform: one clear line
        from devices.failures import describe  # noqa: PLC0415

        raise PacerError(f"cannot scan for Bluetooth devices: {describe(exc).message}") from None
    if not found:
        print(f"no supported wearable answered within {seconds:g} s "
              "(is it awake, charged and near? InfiniTime: wake the screen)")
        return 0
    print(f"{'kind':<12} {'address':<18} {'rssi':>5}  name")
    for f in found:
        print(f"{f.kind:<12} {f.address:<18} {f.rssi:>5}  {f.name or ''}")
    print("\nFor each one you wear, add to the config:\n")
    for f in found:
        print(devices_table(f.kind, f.address))
    return 0


def devices_table(kind: str, address: str) -> str:
    """The ``[[devices]]`` lines for a wearable ``pacer scan`` found."""
    placement = {"infinitime": "wrist", "rsc": "foot", "heart_rate": "chest"}.get(kind, "wrist")
    lines = f'[[devices]]\nkind = "{kind}"\naddress = "{address}"\nplacement = "{placement}"\n'
    if kind == "huami":
        lines += ('# the band\'s auth key (32 hex digits) alone in this file; how to get it:\n'
                  '# the README\'s wearables table\nauth_key_file = "miband.key"\n')
    return lines
