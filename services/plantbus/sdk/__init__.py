"""The Plantbus SDK: what services and plugins share.

Plugins import only from ``plantbus.sdk`` (and ``plantbus.testing`` in their tests).
"""

API_VERSION = "2.0"
"""SDK API version. A plugin targeting ``X.Y`` loads when X matches and Y <= this minor.
1.1 added the historian store interface (``plantbus.sdk.historian``); 1.2 the anomaly
models and maintenance-request connectors (``plantbus.sdk.maintenance``); 2.0 removed
what the hub never read from ERP connectors: ``Capabilities``, ``post_downtime``,
``DowntimeRecord`` and ``Confirmation.downtimes`` (down time goes with each
confirmation as ``downtime_seconds``)."""

__all__ = ["API_VERSION"]
