"""pacer: activity pacing for persistent back pain.

BLE wearables give minute-by-minute activity; a pure pacing engine applies the
load-management rules; prompts and summaries go out over MQTT.
"""

__version__ = "0.1.0"
