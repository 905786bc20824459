"""Governance: validates and versions the plant config, answers permission checks, issues
and revokes bearer tokens, audits.

Options (``ctx.options``): ``bootstrap_config`` (a path applied as version 1 when none is
stored; ``${VAR}`` in it is expanded from this process's environment), ``max_config_bytes``
(per config file, default 32 MiB). Config received over gRPC is never expanded.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from plantbus.config import PlantConfig
from plantbus.config.issues import ConfigInvalid, ConfigIssue
from plantbus.config.loader import (
    ItemCache,
    Limits,
    Source,
    VariablesNotExpanded,
    expand_variables,
    gc_paused,
    load_sources,
    read_sources,
)
from plantbus.governance import memory
from plantbus.governance.cut import Cut
from plantbus.governance.diff import sections_diff
from plantbus.governance.store import ConfigStore, StoredVersion
from plantbus.governance.token_admin import TokenAdmin
from plantbus.kit import streams
from plantbus.kit.audit import AuditUnavailable, record_outcome
from plantbus.kit.authz import Decision, authorize, check_write
from plantbus.kit.config_watch import ConfigWatch
from plantbus.kit.identity import Identity
from plantbus.kit.service import GrpcBinding, Service, ServiceContext
from plantbus.kit.tokens import TokenStore
from plantbus.sdk.errors import ConflictError, NotFound
from plantbus.v1 import governance_pb2_grpc, service_pb2

__all__ = ["ApplyResult", "GovernanceService"]

DENIED = service_pb2.AUDIT_OUTCOME_DENIED
ATTEMPT = service_pb2.AUDIT_OUTCOME_ATTEMPT
FAILED = service_pb2.AUDIT_OUTCOME_FAILED
_TARGET = "plant config"


@dataclass(frozen=True)
class ApplyResult:
    """What an apply (or dry run) found and did."""

    issues: list[ConfigIssue]
    diff: str
    version: int
    previous: int


class GovernanceService(Service):
    """The source of truth every other service follows."""

    name: ClassVar[str] = "governance"
    follows_config = False

    def __init__(self, ctx: ServiceContext) -> None:
        super().__init__(ctx)
        self._store: ConfigStore | None = None
        self.limits = Limits(max_bytes=int(ctx.options.get("max_config_bytes", Limits.max_bytes)))
        self._items = ItemCache()
        """The items of the last valid config, by their text: an apply reads and validates
        only the devices (rules, ...) whose text changed."""
        self._watch: ConfigWatch | None = None
        self.forged = ""
        """Why the latest forged document in ``current`` is not governance's."""
        self._tokens: TokenAdmin | None = None

    @property
    def store(self) -> ConfigStore:
        """The KV-backed version store (after start)."""
        assert self._store is not None, "GovernanceService.start() was not called"
        return self._store

    @property
    def tokens(self) -> TokenAdmin:
        """Issuing, revoking and listing bearer tokens (after start)."""
        assert self._tokens is not None, "GovernanceService.start() was not called"
        return self._tokens

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

    def health(self) -> tuple[bool, str]:
        """Serving; the detail names a config version in KV that governance did not sign."""
        forged = self._watch is not None and bool(self._watch.refused)
        return True, self.forged if forged else ""

    async def start(self) -> None:
        """Open the store; apply the bootstrap config when no version exists yet; watch
        for versions that someone else wrote."""
        signer = self.ctx.signer
        verifier = self.ctx.verifier or (signer.verifier() if signer else None)
        if signer is None:
            self.ctx.log.warning(
                "config versions are stored UNSIGNED: no signing key is configured "
                "(PLANTBUS_CONFIG_SIGNING_KEY; plantbus up sets it); services that check "
                "signatures will refuse them"
            )
        self._store = await ConfigStore.open(self.ctx.bus, signer, verifier)
        self._tokens = TokenAdmin(
            await TokenStore.open(self.ctx.bus), self.ctx.audit, self.configured_users
        )
        if verifier is not None:
            self._watch = ConfigWatch(self.ctx.bus, None, verifier, self._refused)
            await self._watch.start()
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
            memory.release()  # what reading the file freed
        current, _ = await self.store.current()
        self.config_version = current.version if current else 0

    async def stop(self) -> None:
        """Stop watching; every write is already in KV."""
        if self._watch:
            await self._watch.stop()
        await super().stop()

    async def _refused(self, version: int, why: str) -> None:
        """A document in ``current`` that governance did not sign: audit and report it."""
        running = await self.running()
        self.forged = (
            f"config version {version} in KV {streams.CONFIG.name}/current was not written "
            f"by governance ({why}); services keep version {running.version if running else 0}"
        )
        self.ctx.log.error("%s; apply or roll back a version to replace it", self.forged)
        await record_outcome(
            self.ctx.audit,
            action="config.forged",
            target=_TARGET,
            actor="unknown",
            outcome=DENIED,
            detail=self.forged,
            attributes={"version": str(version)},
        )

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
            config = load_sources(sources, limits=self.limits, cache=self._items)
        except ConfigInvalid as err:
            unexpanded = isinstance(err, VariablesNotExpanded)
            what = "unexpanded ${VAR} values" if unexpanded else "validation errors"
            if not dry_run:
                await self.ctx.audit(
                    action="config.apply",
                    target=_TARGET,
                    actor=author,
                    outcome=DENIED,
                    detail=f"{len(err.issues)} {what}; version {previous} stays",
                )
            if unexpanded:
                raise  # the caller's mistake, not the config's: INVALID_ARGUMENT
            return ApplyResult(list(err.issues), "", 0, previous)
        with gc_paused():  # dumping, cutting and comparing 100,000 tags
            cut = Cut.of(config)
            diff = await self._diff(current, cut, "proposed")
        if dry_run or (current is not None and not diff):
            return ApplyResult([], diff, 0, previous)
        if expected_version and expected_version != previous:
            raise ConflictError(
                f"running version is {previous}, not {expected_version}: re-diff and re-apply"
            )
        memory.collect()  # before what the stored version keeps is made
        attributes = {"version": str(previous + 1), "previous": str(previous)}
        stored = await self._audited_store(
            "config.apply",
            author,
            message or f"version {previous + 1}",
            attributes,
            config,
            revision,
            previous + 1,
            cut,
        )
        return ApplyResult([], diff, stored.version, previous)

    async def _diff(self, current: StoredVersion | None, cut: Cut, label: str) -> str:
        """The structural diff from ``current`` to a config (``cut``), over what changed
        only."""
        old, new = await self.store.changed(current, cut)
        return sections_diff(old, new, f"version {current.version if current else 0}", label)

    async def _audited_store(
        self,
        action: str,
        author: str,
        detail: str,
        attributes: dict[str, str],
        config: PlantConfig,
        revision: int,
        version: int,
        cut: Cut,
    ) -> StoredVersion:
        """Store a version only once its attempt is audited (AuditUnavailable: nothing is
        stored), then audit the outcome."""
        record = {"action": action, "target": _TARGET, "actor": author, "attributes": attributes}
        try:
            await self.ctx.audit(**record, outcome=ATTEMPT, detail=detail)
        except AuditUnavailable as err:
            self.ctx.log.error("%s by %s refused: %s", action, author, err)
            raise
        try:
            stored = await self.store.store(config, author, detail, revision, version, cut)
        except ConflictError as err:
            await record_outcome(self.ctx.audit, **record, outcome=FAILED, detail=str(err))
            raise
        self.config_version = stored.version
        await record_outcome(self.ctx.audit, **record, detail=detail)
        return stored

    async def rollback(self, version: int, author: str, message: str) -> ApplyResult:
        """Store version ``version``'s content as the next version."""
        target = await self.store.get(version)
        current, revision = await self.store.current()
        if current is None:
            raise NotFound("no config has been applied yet")
        cut = Cut.of(target.config)
        diff = await self._diff(current, cut, f"version {version}")
        stored = await self._audited_store(
            "config.rollback",
            author,
            message or f"rollback to version {version}",
            {"version": str(current.version + 1), "restored": str(version)},
            target.config,
            revision,
            current.version + 1,
            cut,
        )
        return ApplyResult([], diff, stored.version, current.version)

    async def check_permission(self, who: Identity, tag_path: str, value: float) -> Decision:
        """Decide a tag write by ``who`` against the running config's roles and policies;
        audit the decision."""
        current = await self.running()
        config = current.config if current else PlantConfig()
        decision = authorize(who, "tag.write", config)
        if decision.allowed:
            decision = check_write(config, who.name, tag_path, value, service=who.kind == "service")
        await self.ctx.audit(
            action="tag.write.check",
            target=tag_path,
            actor=who.name,
            outcome=service_pb2.AUDIT_OUTCOME_SUCCESS if decision.allowed else DENIED,
            detail=decision.reason,
            attributes={"value": "" if math.isnan(value) else repr(value)},
        )
        return decision

    async def configured_users(self) -> set[str]:
        """The users of the running config (none before the first version)."""
        current = await self.running()
        return {u.name for u in current.config.users} if current else set()
