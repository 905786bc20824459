"""Which scopes of a service (lines, areas, ERP connections) this replica runs.

Each scope has a preferred replica, by rendezvous hashing (:mod:`plantbus.kit.assignment`)
over the replicas of the service whose heartbeats are live, and is run by whoever holds its
lease (:mod:`plantbus.kit.lease`). Every ``step``:

- held leases are renewed; one found taken over is *lost*: the service stops acting for
  it at once and saves nothing of it (the new holder has the state);
- a held scope preferred on another live replica is *released* (once held for
  ``settle_s``, longer than a dead replica's heartbeat stays live): the service saves its
  state and stops, then the lease is given back, so the other takes it without waiting;
- a scope preferred here is taken when free or lapsed; any other scope only once it was
  seen unchanged (held or free) for the lease's ``ttl_s``: a replica killed or paused
  loses its scopes after ``ttl_s``, not after the three heartbeats membership needs.

The service is told through :class:`ScopeHandler`: ``take`` before it acts for new
scopes, ``drop`` when it must stop. A ``take`` that fails is undone (``drop`` without
saving, the leases given back) so that no scope stays held by a replica that does not run
it; the next step tries again.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import nats.errors

from plantbus.kit import streams
from plantbus.kit.assignment import owner
from plantbus.kit.bus import Bus, kv_key
from plantbus.kit.heartbeat import read_heartbeats
from plantbus.kit.lease import DEFAULT_TTL_S, Leases
from plantbus.kit.service import ServiceContext
from plantbus.kit.tasks import cancel
from plantbus.v1 import service_pb2

__all__ = ["ScopeHandler", "ScopeOwner", "open_scopes"]

_MEMBERSHIP_S = 2.0
"""How often the live replicas are read from the heartbeats."""


class ScopeHandler(Protocol):
    """What a service does when its share changes."""

    async def take(self, scopes: set[str]) -> None:
        """Load the saved state of ``scopes`` and start acting for them."""

    async def drop(self, scopes: set[str], *, save: bool) -> None:
        """Stop acting for ``scopes``; save their state first when ``save`` (released),
        not when the lease was lost to another replica."""


@dataclass(eq=False)
class ScopeOwner:
    """Runs one service replica's share of ``scopes`` through leases."""

    bus: Bus
    service: str
    instance: str
    leases: Leases
    handler: ScopeHandler
    log: logging.Logger
    interval_s: float = 0.5
    settle_s: float = 10.0

    def __post_init__(self) -> None:
        self.scopes: set[str] = set()
        self.running: set[str] = set()
        """Scopes the handler was told to take and not yet to drop."""
        self.members: set[str] = {self.instance}
        self.changes = 0
        """Scopes taken or dropped so far (readiness, tests)."""
        self._members_at = -_MEMBERSHIP_S
        self._since: dict[str, float] = {}
        """When each running scope was taken (monotonic)."""
        self._task: asyncio.Task[None] | None = None

    def key(self, scope: str) -> str:
        """The lease key of a scope."""
        return kv_key(f"{self.service}.{scope.replace('/', '.')}")

    def holds(self, scope: str) -> bool:
        """Whether this replica may act (publish, save) for ``scope`` right now."""
        return scope in self.running and self.leases.holds(self.key(scope))

    def preferred(self) -> set[str]:
        """The scopes rendezvous hashing gives this replica under the current membership."""
        return {s for s in self.scopes if owner(s, self.members) == self.instance}

    def settled(self) -> bool:
        """Whether this replica runs exactly its share (readiness)."""
        return self.running == self.preferred()

    def describe(self) -> str:
        """This replica's share for a health detail ('' when it runs alone, settled)."""
        if self.members == {self.instance} and self.settled():
            return ""
        share = f"runs {len(self.running)} of {len(self.scopes)} {self.service} scopes"
        waiting = self.preferred() - self.running
        extra = self.running - self.preferred()
        if waiting:
            share += f", waiting for {', '.join(sorted(waiting))}"
        if extra:
            share += f", standing in for {', '.join(sorted(extra))}"
        return share

    @property
    def started(self) -> bool:
        """Whether it steps in the background."""
        return self._task is not None

    def start(self) -> None:
        """Start stepping in the background."""
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name=f"{self.service}-scopes")

    async def stop(self) -> None:
        """Stop stepping; save and give back every scope (the others take them at once)."""
        if self._task is not None:
            await cancel(self._task)
            self._task = None
        await self._drop(set(self.running), save=True, release=True)

    def configure(self, scopes: Iterable[str]) -> None:
        """The service's scopes under the current config (taken on the next step)."""
        self.scopes = set(scopes)

    async def _loop(self) -> None:
        while True:
            try:
                await self.step()
            except Exception as err:  # noqa: BLE001 - NATS away: the next step tries again
                self.log.warning("%s scope ownership step failed: %s", self.service, err)
            await asyncio.sleep(self.interval_s)

    async def _refresh_members(self) -> None:
        if time.monotonic() - self._members_at < _MEMBERSHIP_S:
            return
        self._members_at = time.monotonic()
        try:
            beats = await asyncio.wait_for(read_heartbeats(self.bus), 3.0)
        except (TimeoutError, nats.errors.Error):  # NATS away or slow: keep the membership
            return
        live = {
            hb.instance
            for hb in beats
            if hb.service == self.service and hb.health != service_pb2.HEALTH_STOPPING
        }
        members = live | {self.instance}
        if members != self.members:
            self.log.info("%s replicas now %s", self.service, sorted(members))
            self.members = members

    async def step(self) -> None:
        """Renew, release, take: one round (see the module's docstring)."""
        await self._refresh_members()
        due = [scope for scope in sorted(self.running) if self.leases.due(self.key(scope))]
        # together: one after another, 50 lines' renewals on a loaded machine outlasted
        # the first ones' validity, and a lease not valid stops its scope's publishing
        renewed = await asyncio.gather(*(self.leases.renew(self.key(scope)) for scope in due))
        lost = {scope for scope, kept in zip(due, renewed, strict=True) if not kept}
        if lost:
            self.log.warning("%s lost %s to another replica", self.service, sorted(lost))
            await self._drop(lost, save=False, release=False)
        preferred = self.preferred()
        now = time.monotonic()
        settled = {s for s in self.running if now - self._since.get(s, now) >= self.settle_s}
        handed = ((self.running & settled) - preferred) | (self.running - self.scopes)
        await self._drop(handed, save=True, release=True)
        gained = set()
        for scope in sorted(self.scopes - self.running):
            if await self.leases.acquire(self.key(scope), preferred=scope in preferred):
                gained.add(scope)
        if gained:
            self.log.info("%s takes %s", self.service, sorted(gained))
            self.running |= gained
            self._since.update(dict.fromkeys(gained, time.monotonic()))
            self.changes += len(gained)
            try:
                await self.handler.take(gained)
            except Exception:  # its state did not load (NATS slow): give the scopes back
                await self._drop(gained, save=False, release=True)
                raise

    async def _drop(self, scopes: set[str], *, save: bool, release: bool) -> None:
        if not scopes:
            return
        if save:
            self.log.info("%s hands over %s", self.service, sorted(scopes))
        await self.handler.drop(scopes, save=save)
        self.running -= scopes
        for scope in scopes:
            self._since.pop(scope, None)
        self.changes += len(scopes)
        for scope in scopes:
            if release:
                await self.leases.release(self.key(scope))
            else:
                self.leases.forget(self.key(scope))


async def open_scopes(ctx: ServiceContext, handler: ScopeHandler) -> ScopeOwner:
    """The scope owner of a hosted service; its leases live ``lease_ttl_s`` (a service
    option, default 3 s) and are held under a name unique to this process, so a replica
    restarted under the same instance name waits for its predecessor's leases to lapse."""
    kv = await streams.open_bucket(ctx.bus, streams.LEASES)
    ttl_s = float(ctx.options.get("lease_ttl_s", DEFAULT_TTL_S))
    leases = Leases(kv, f"{ctx.instance}-{secrets.token_hex(4)}", ttl_s)
    return ScopeOwner(ctx.bus, ctx.name, ctx.instance, leases, handler, ctx.log)
