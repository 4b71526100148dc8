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

IMMEDIATE_ALERT_SERVICE = sig(0x1802)
IMMEDIATE_ALERT = sig(0x2A06)

CURRENT_TIME_SERVICE = sig(0x1805)
CURRENT_TIME = sig(0x2A2B)

RSC_SERVICE = sig(0x1814)
RSC_MEASUREMENT = sig(0x2A53)
RSC_FEATURE = sig(0x2A54)

# WitMotion BWT901BLE5.0 / WT901BLECL (ble-protocols.md §5.1). The base is
# WitMotion's own ("...9a34fb", not the SIG "...9b34fb"): copied exactly.
WITMOTION_SERVICE = "0000ffe5-0000-1000-8000-00805f9a34fb"
WITMOTION_NOTIFY = "0000ffe4-0000-1000-8000-00805f9a34fb"
WITMOTION_WRITE = "0000ffe9-0000-1000-8000-00805f9a34fb"

# Polar Measurement Data (ble-protocols.md §4.1; the code's spelling, with the final 8).
PMD_SERVICE = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CONTROL_POINT = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
PMD_DATA = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"

# SIG Physical Activity Monitor Service (ble-protocols.md §2.1).
PAMS_SERVICE = sig(0x183E)
PAMS_FEATURES = sig(0x2B3B)
PAMS_GENERAL_ACTIVITY_INSTANTANEOUS = sig(0x2B3C)
PAMS_STEP_COUNTER_SUMMARY = sig(0x2B40)
PAMS_CONTROL_POINT = sig(0x2B43)

# Nordic UART service, as Espruino (Bangle.js) exposes it: the watch notifies on
# TX, the phone writes to RX (named from the watch's side, as Nordic does).
NORDIC_UART_SERVICE = "6e400001-b5a3-f393-e0a9-e50e24dcca9e"
NORDIC_UART_RX = "6e400002-b5a3-f393-e0a9-e50e24dcca9e"
NORDIC_UART_TX = "6e400003-b5a3-f393-e0a9-e50e24dcca9e"
