"""Pure decoders, one module per wearable protocol.

Each module has ``decode(characteristic_uuid, payload) -> list[Reading]``: a
function of the bytes alone, raising only ``devices.errors.DecodeError``. The
connection code picks the module by the configured device kind.
"""

from __future__ import annotations

from collections.abc import Callable

from devices.drivers import (
    bangle,
    battery,
    heart_rate,
    huami,
    infinitime,
    pams,
    polar,
    rsc,
    witmotion,
)
from devices.readings import Reading

Decoder = Callable[[str, bytes | bytearray], list[Reading]]

DECODERS: dict[str, Decoder] = {
    "infinitime": infinitime.decode,
    "rsc": rsc.decode,
    "heart_rate": heart_rate.decode,
    "witmotion": witmotion.decode,
    "polar": polar.decode,
    "pams": pams.decode,  # experimental (see the module)
    "bangle": bangle.decode,  # whole lines, after bangle.LineFramer
    "huami": huami.decode,
}
"""Decoder by configured device kind (``pacer.config.BleKind``)."""

__all__ = ["DECODERS", "Decoder", "bangle", "battery", "heart_rate", "huami", "infinitime",
           "pams", "polar", "rsc", "witmotion"]
