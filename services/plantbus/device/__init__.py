"""The device service: runs devices through driver plugins and publishes telemetry."""
