"""The Plantbus SDK: what services and plugins share.

Plugins import only from ``plantbus.sdk`` (and ``plantbus.testing`` in their tests).
"""

API_VERSION = "1.0"
"""SDK API version. A plugin targeting ``X.Y`` loads when X matches and Y <= this minor."""

__all__ = ["API_VERSION"]
