"""What a Huami band's raw activity kind says (Mi Band 2 to 6, Amazfit Band 5).

The same byte is in the band's activity log (``devices.drivers.huami``) and in
Gadgetbridge's database (``pacer import gadgetbridge``), read as Gadgetbridge's
``MiBand2SampleProvider`` reads it: the low four bits are the kind (the high
bits carry flags); 3 is not worn and 6 on the charger, 9 and 11 light and deep
sleep, 0 and 10 "as the minute before". No imports: light enough for pacer's
importer.
"""

from __future__ import annotations

from typing import Literal

RawKind = Literal["activity", "sleep", "not_worn", "same"]


def raw_kind(raw: int) -> RawKind:
    """``not_worn`` (off the wrist, or on the charger), ``sleep``, ``same`` (as
    the minute before) or ``activity`` (worn and awake: the steps say the rest)."""
    low = raw & 0x0F
    if low in (0, 10):
        return "same"
    if low in (3, 6):
        return "not_worn"
    if low in (9, 11):
        return "sleep"
    return "activity"
