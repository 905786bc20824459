"""The Plantbus SDK: what services and plugins share.

Plugins import only from ``plantbus.sdk`` (and ``plantbus.testing`` in their tests).
"""

API_VERSION = "1.2"
"""SDK API version. A plugin targeting ``X.Y`` loads when X matches and Y <= this minor.
1.1 added the historian store interface (``plantbus.sdk.historian``); 1.2 the anomaly
models and maintenance-request connectors (``plantbus.sdk.maintenance``)."""

__all__ = ["API_VERSION"]
