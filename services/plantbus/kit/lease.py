"""Leases on scopes (a line, an area, an ERP connection) in a JetStream KV bucket, so that
one replica at a time acts for a scope, and one that was paused cannot act on after waking.

A lease is one KV entry, written only with compare-and-set: taken with ``create`` (no
entry, or a deleted one), renewed with ``update(last=revision)``, taken over with
``update(last=revision)`` of the entry seen unchanged for ``ttl_s``, given back with
``delete(last=revision)``. Its revision is the fencing token: a holder whose renewal finds
another revision has lost the lease.

Time never compares two hosts' clocks. The holder counts its lease valid until
``valid_s`` (3/4 of ``ttl_s``) after it *sent* its last successful renewal, on its own
monotonic clock; another replica takes over only after it has seen the entry's revision
unchanged for ``ttl_s`` on its own (:class:`~plantbus.kit.heartbeat.Liveness`). The
write happened after the holder sent it and before the taker saw it, so a holder's lease
ends at least ``ttl_s / 4`` before anyone may take it over: a holder checks
:meth:`Leases.holds` right before it publishes, and a process stopped (SIGSTOP) past its
lease finds it no longer holds on waking, whatever it was doing.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import nats.errors
from nats.js.errors import KeyDeletedError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from plantbus.kit.heartbeat import MISSED_BEATS, Liveness

__all__ = ["DEFAULT_TTL_S", "Leases"]

DEFAULT_TTL_S = 3.0
_VALID = 0.75
"""Share of ``ttl_s`` a holder counts its lease valid after sending its renewal."""
_KV_ERRORS = (nats.errors.Error, OSError, TimeoutError)


@dataclass
class _Held:
    revision: int
    until: float
    """Monotonic time up to which this holder may act."""
    renewed: float
    """Monotonic time the last successful renewal (or acquisition) was sent."""


class Leases:
    """The leases one replica (``holder``, unique per process) holds in ``kv``."""

    def __init__(
        self,
        kv: KeyValue,
        holder: str,
        ttl_s: float = DEFAULT_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl_s < MISSED_BEATS:
            raise ValueError(f"lease ttl_s {ttl_s}: use at least {MISSED_BEATS} s")
        self.kv = kv
        self.holder = holder
        self.ttl_s = ttl_s
        self.valid_s = ttl_s * _VALID
        self._clock = clock
        self._held: dict[str, _Held] = {}
        self._seen = Liveness(clock)
        self._value = json.dumps({"holder": holder, "ttl_s": ttl_s}).encode()

    @property
    def held(self) -> set[str]:
        """Keys this holder took and has not given back or lost (valid or not right now)."""
        return set(self._held)

    def holds(self, key: str) -> bool:
        """Whether this holder may act for ``key`` now: check it right before publishing."""
        lease = self._held.get(key)
        return lease is not None and self._clock() < lease.until

    def revision(self, key: str) -> int:
        """The fencing revision of a held lease (0 when not held)."""
        lease = self._held.get(key)
        return lease.revision if lease else 0

    def due(self, key: str) -> bool:
        """Whether a held lease should be renewed now (a quarter of its ttl passed)."""
        lease = self._held.get(key)
        return lease is not None and self._clock() - lease.renewed >= self.ttl_s / 4

    async def acquire(self, key: str, *, preferred: bool = True) -> bool:
        """Take ``key`` when its holder let it lapse, or when it is free: at once if this
        replica is its ``preferred`` one, else once it was seen free for ``ttl_s`` (its
        preferred replica had the time to take it). True when this holder has it now."""
        if key in self._held:
            return await self.renew(key)
        sent = self._clock()
        try:
            if preferred:
                revision = await self._create(key)
            else:
                revision = 0
            revision = revision or await self._take_over(key, preferred)
        except _KV_ERRORS:
            return False
        if not revision:
            return False
        self._held[key] = _Held(revision, sent + self.valid_s, sent)
        return True

    async def _create(self, key: str) -> int:
        try:
            return await self.kv.create(key, self._value)
        except KeyWrongLastSequenceError:
            return 0

    async def _take_over(self, key: str, preferred: bool) -> int:
        """The new revision once the entry (or its absence), seen unchanged for ttl_s, is
        ours; else 0."""
        try:
            entry = await self.kv.get(key)
            revision = entry.revision or 0
        except KeyNotFoundError as err:
            if preferred:
                return 0  # free meanwhile: created on the next try
            # given back: nats-py's get() reports a deleted key as not found, with its
            # tombstone, whose revision is new at each release; 0 only for a key never
            # written. (Counting every free spell as revision 0 let a replica that had seen
            # the key free once take it back at once each time it handed it over.)
            revision = err.entry.revision if err.entry else 0
        if self._seen.live(key, revision, self.ttl_s / MISSED_BEATS):
            return 0
        try:
            if revision == 0:
                return await self.kv.create(key, self._value)
            return await self.kv.update(key, self._value, last=revision)
        except KeyWrongLastSequenceError:
            return 0

    async def renew(self, key: str) -> bool:
        """Renew a held lease; False once it is lost (another holder's revision). While NATS
        does not answer it stays held but :meth:`holds` turns False when its validity runs
        out; a later renewal with the same revision makes it valid again, if nobody took it."""
        lease = self._held.get(key)
        if lease is None:
            return False
        sent = self._clock()
        try:
            lease.revision = await self.kv.update(key, self._value, last=lease.revision)
        except (KeyWrongLastSequenceError, KeyNotFoundError, KeyDeletedError):
            if not await self._ours(key, lease):
                del self._held[key]
                return False
        except _KV_ERRORS:
            return True  # NATS away: not lost, but valid only until it runs out; retried
        lease.until, lease.renewed = sent + self.valid_s, sent
        return True

    async def _ours(self, key: str, lease: _Held) -> bool:
        """Whether the entry is still this holder's: a renewal whose reply was lost (NATS
        went away after writing it) moved the revision on. Then its revision is adopted."""
        try:
            entry = await self.kv.get(key)
        except (KeyNotFoundError, KeyDeletedError, *_KV_ERRORS):
            return False
        if entry.value != self._value or not entry.revision:
            return False
        lease.revision = entry.revision
        return True

    async def release(self, key: str) -> None:
        """Give ``key`` back at once (only if still ours: delete with our revision)."""
        lease = self._held.pop(key, None)
        if lease is None:
            return
        with contextlib.suppress(*_KV_ERRORS):  # taken over already, or NATS away: it lapses
            await self.kv.delete(key, last=lease.revision)

    def forget(self, key: str) -> None:
        """Stop counting ``key`` as held without touching the bucket."""
        self._held.pop(key, None)
