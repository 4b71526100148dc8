"""Helpers shared by the decoders: UUID matching and exact-length checks."""

from __future__ import annotations

from devices.errors import DecodeError
from devices.uuids import normalize


def char_uuid(characteristic_uuid: str) -> str:
    """The UUID in the normalised form every decoder compares against."""
    try:
        return normalize(characteristic_uuid)
    except (ValueError, TypeError, AttributeError):
        # Not a UUID at all; the decoders then report "not a characteristic I
        # decode", which names what they were given.
        return str(characteristic_uuid).lower()


def need_length(uuid: str, payload: bytes, expected: int, what: str) -> None:
    """Raise unless ``payload`` is exactly ``expected`` bytes long."""
    if len(payload) != expected:
        raise DecodeError(uuid, payload, f"{what} must be {expected} byte(s) long")


def unknown(uuid: str, payload: bytes, driver: str) -> DecodeError:
    """The error for a characteristic this driver does not decode."""
    return DecodeError(uuid, payload, f"not a characteristic the {driver} driver decodes")
