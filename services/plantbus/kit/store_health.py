"""Whether writes to a store work: a disk that filled up, a KV bucket at its JetStream limit.

A failed write is not raised to whoever wrote (a poll loop, a tick loop): the error is
kept for the service's health detail until a write works again, and each change is
logged once, so an operator sees the cause and the recovery without a line per write.
"""

from __future__ import annotations

import logging

import nats.errors
from nats.js.kv import KeyValue

from plantbus.sdk.errors import describe

__all__ = ["StoreHealth"]

_KV_ERRORS = (nats.errors.Error, OSError)
"""What a KV write raises when it fails: JetStream's own error (``maximum bytes
exceeded``, ``insufficient resources``), no responders, a timeout, a lost connection."""


class StoreHealth:
    """The state of writes to one store, named by ``what`` in logs and health."""

    def __init__(self, what: str, log: logging.Logger) -> None:
        self.what = what
        self.log = log
        self.error = ""
        """The last write's error while writes fail; empty when the last write worked."""
        self.failures = 0
        """Writes that failed since the last one that worked."""

    def failed(self, err: BaseException) -> None:
        """Record a failed write; the first of a run is logged as an error."""
        self.error = describe(err)
        self.failures += 1
        if self.failures == 1:
            self.log.error("%s failing: %s (tried again on the next write)", self.what, self.error)

    def worked(self) -> None:
        """Record a write that worked; the first after failures is logged."""
        if self.failures:
            self.log.info("%s works again after %d failed writes", self.what, self.failures)
        self.error = ""
        self.failures = 0

    def detail(self) -> str:
        """What is failing and why, for a health detail; empty while writes work."""
        return f"{self.what} failing: {self.error}" if self.error else ""

    async def put(self, kv: KeyValue, key: str, value: bytes) -> bool:
        """``kv.put`` with its failure recorded instead of raised; True when it worked."""
        try:
            await kv.put(key, value)
        except _KV_ERRORS as err:
            self.failed(err)
            return False
        self.worked()
        return True
