"""GATT UUIDs pacer uses, in bleak's lowercase 128-bit form.

Facts from ble-protocols.md (InfiniTime's own service UUIDs, SIG assigned
numbers). Comparing UUIDs as these normalised strings avoids the 16-bit versus
128-bit and upper versus lower case mismatches between backends.
"""

from __future__ import annotations

from bleak.uuids import normalize_uuid_str


def sig(short: int) -> str:
    """The 128-bit form of a 16-bit SIG UUID."""
    return f"0000{short:04x}-0000-1000-8000-00805f9b34fb"


def normalize(uuid: str) -> str:
    """Any accepted UUID spelling (``"2a37"``, upper case) as lowercase 128-bit."""
    return normalize_uuid_str(uuid)


# InfiniTime motion service (since 1.7).
MOTION_SERVICE = "00030000-78fc-48fe-8e23-433b3a1942d0"
STEP_COUNT = "00030001-78fc-48fe-8e23-433b3a1942d0"
RAW_MOTION = "00030002-78fc-48fe-8e23-433b3a1942d0"

# InfiniTime DFU service, advertised next to Heart Rate.
INFINITIME_DFU_SERVICE = "00001530-1212-efde-1523-785feabcd123"

HEART_RATE_SERVICE = sig(0x180D)
HEART_RATE_MEASUREMENT = sig(0x2A37)

BATTERY_SERVICE = sig(0x180F)
BATTERY_LEVEL = sig(0x2A19)

ALERT_NOTIFICATION_SERVICE = sig(0x1811)
NEW_ALERT = sig(0x2A46)

RSC_SERVICE = sig(0x1814)
RSC_MEASUREMENT = sig(0x2A53)
RSC_FEATURE = sig(0x2A54)
