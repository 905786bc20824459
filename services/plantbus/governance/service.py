"""Governance: validates and versions the plant config, answers permission checks, audits.

Options (``ctx.options``): ``bootstrap_config`` (a path applied as version 1 when none is
stored; ``${VAR}`` in it is expanded from this process's environment), ``max_config_bytes``
(per config file, default 32 MiB). Config received over gRPC is never expanded.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from plantbus.config import PlantConfig
from plantbus.config.issues import ConfigInvalid, ConfigIssue
from plantbus.config.loader import (
    Limits,
    Source,
    VariablesNotExpanded,
    expand_variables,
    load_sources,
    read_sources,
)
from plantbus.governance.diff import config_diff
from plantbus.governance.policy import Decision, check_write
from plantbus.governance.store import ConfigStore, StoredVersion
from plantbus.kit.service import GrpcBinding, Service, ServiceContext
from plantbus.sdk.errors import ConflictError, NotFound
from plantbus.v1 import governance_pb2_grpc, service_pb2

__all__ = ["ApplyResult", "GovernanceService"]

DENIED = service_pb2.AUDIT_OUTCOME_DENIED


class ApplyResult:
    """What an apply (or dry run) found and did."""

    def __init__(
        self, issues: Sequence[ConfigIssue], diff: str, version: int, previous: int
    ) -> None:
        self.issues = list(issues)
        self.diff = diff
        self.version = version
        self.previous = previous


class GovernanceService(Service):
    """The source of truth every other service follows."""

    name: ClassVar[str] = "governance"
    follows_config = False

    def __init__(self, ctx: ServiceContext) -> None:
        super().__init__(ctx)
        self._store: ConfigStore | None = None
        self.limits = Limits(max_bytes=int(ctx.options.get("max_config_bytes", Limits.max_bytes)))

    @property
    def store(self) -> ConfigStore:
        """The KV-backed version store (after start)."""
        assert self._store is not None, "GovernanceService.start() was not called"
        return self._store

    def grpc_bindings(self) -> Sequence[GrpcBinding]:
        """The GovernanceService servicer."""
        from plantbus.governance.servicer import GovernanceServicer

        return [
            GrpcBinding(
                governance_pb2_grpc.add_GovernanceServiceServicer_to_server,
                GovernanceServicer(self),
                "plantbus.v1.GovernanceService",
            )
        ]

    async def start(self) -> None:
        """Open the store; apply the bootstrap config when no version exists yet."""
        self._store = await ConfigStore.open(self.ctx.bus)
        current, _ = await self.store.current()
        bootstrap = self.ctx.options.get("bootstrap_config")
        if current is None and bootstrap:
            sources = [
                expand_variables(s, os.environ, self.limits) for s in read_sources(Path(bootstrap))
            ]
            result = await self.apply(
                sources, author="bootstrap", message=f"bootstrap from {bootstrap}"
            )
            if result.issues:
                raise ConfigInvalid(result.issues)
            self.ctx.log.info("bootstrapped config version %d from %s", result.version, bootstrap)
        current, _ = await self.store.current()
        self.config_version = current.version if current else 0

    async def stop(self) -> None:
        """Nothing to release: every write is already in KV."""

    async def running(self) -> StoredVersion | None:
        """The running version."""
        current, _ = await self.store.current()
        return current

    async def apply(
        self,
        sources: Sequence[Source],
        author: str,
        message: str,
        dry_run: bool = False,
        expected_version: int = 0,
    ) -> ApplyResult:
        """Validate, diff and (unless dry run) store the next version; audit the outcome.

        ``sources`` are never expanded: a ``${VAR}`` in them raises VariablesNotExpanded.
        """
        current, revision = await self.store.current()
        previous = current.version if current else 0
        try:
            config = load_sources(sources, limits=self.limits)
        except ConfigInvalid as err:
            unexpanded = isinstance(err, VariablesNotExpanded)
            what = "unexpanded ${VAR} values" if unexpanded else "validation errors"
            if not dry_run:
                await self.ctx.audit(
                    action="config.apply",
                    target="plant config",
                    actor=author,
                    outcome=DENIED,
                    detail=f"{len(err.issues)} {what}; version {previous} stays",
                )
            if unexpanded:
                raise  # the caller's mistake, not the config's: INVALID_ARGUMENT
            return ApplyResult(err.issues, "", 0, previous)
        diff = config_diff(
            current.config if current else None,
            config,
            f"version {previous}",
            "proposed",
        )
        if dry_run or (current is not None and not diff):
            return ApplyResult([], diff, 0, previous)
        if expected_version and expected_version != previous:
            raise ConflictError(
                f"running version is {previous}, not {expected_version}: re-diff and re-apply"
            )
        stored = await self.store.store(config, author, message, revision, previous + 1)
        self.config_version = stored.version
        await self.ctx.audit(
            action="config.apply",
            target="plant config",
            actor=author,
            detail=message or f"version {stored.version}",
            attributes={"version": str(stored.version), "previous": str(previous)},
        )
        return ApplyResult([], diff, stored.version, previous)

    async def rollback(self, version: int, author: str, message: str) -> ApplyResult:
        """Store version ``version``'s content as the next version."""
        target = await self.store.get(version)
        current, revision = await self.store.current()
        if current is None:
            raise NotFound("no config has been applied yet")
        diff = config_diff(
            current.config, target.config, f"version {current.version}", f"version {version}"
        )
        stored = await self.store.store(
            target.config,
            author,
            message or f"rollback to version {version}",
            revision,
            current.version + 1,
        )
        self.config_version = stored.version
        await self.ctx.audit(
            action="config.rollback",
            target="plant config",
            actor=author,
            detail=f"version {stored.version} restores version {version}",
            attributes={"version": str(stored.version), "restored": str(version)},
        )
        return ApplyResult([], diff, stored.version, current.version)

    async def check_permission(self, user: str, tag_path: str, value: float) -> Decision:
        """Decide a tag write against the running config's policies; audit the decision."""
        current = await self.running()
        config = current.config if current else PlantConfig()
        decision = check_write(config, user, tag_path, value)
        await self.ctx.audit(
            action="tag.write.check",
            target=tag_path,
            actor=user,
            outcome=service_pb2.AUDIT_OUTCOME_SUCCESS if decision.allowed else DENIED,
            detail=decision.reason,
            attributes={"value": "" if math.isnan(value) else repr(value)},
        )
        return decision
