"""Wearable sitting-time tracker: BLE accelerometer bands to posture, streaks and nudges."""

__version__ = "0.1.0"
