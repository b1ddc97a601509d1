"""srraw: real-world computational-zoom datasets from RAW sensor data (shared core)."""

__version__ = "0.1.0"
