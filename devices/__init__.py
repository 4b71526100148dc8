"""Bluetooth LE wearables: bytes in, samples out. Knows nothing about pacing."""
