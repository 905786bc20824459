"""gRPC translation for GovernanceService: proto in, domain call, proto out."""

from __future__ import annotations

import math
from collections.abc import Awaitable
from datetime import datetime
from typing import TYPE_CHECKING, TypeAlias, TypeVar

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from plantbus.config.issues import ConfigIssue
from plantbus.config.loader import Source
from plantbus.governance import memory
from plantbus.governance.diff import to_yaml
from plantbus.governance.store import VersionMeta
from plantbus.kit import codec
from plantbus.kit.heartbeat import read_heartbeats
from plantbus.kit.identity import require
from plantbus.kit.paging import page
from plantbus.kit.tokens import TokenRecord
from plantbus.v1 import governance_pb2, governance_pb2_grpc, service_pb2

if TYPE_CHECKING:
    from plantbus.governance.service import GovernanceService

__all__ = ["GovernanceServicer"]

Context: TypeAlias = grpc.aio.ServicerContext
T = TypeVar("T")


def _issues(issues: list[ConfigIssue]) -> list[governance_pb2.ConfigIssue]:
    return [
        governance_pb2.ConfigIssue(file=i.file, line=i.line, path=i.path, message=i.message)
        for i in issues
    ]


def _meta(stored: VersionMeta) -> governance_pb2.ConfigVersion:
    ts = Timestamp()
    if stored.time:
        ts.FromDatetime(datetime.fromisoformat(stored.time))
    return governance_pb2.ConfigVersion(
        version=stored.version, author=stored.author, time=ts, message=stored.message
    )


def _instance_key(beat: service_pb2.ServiceHeartbeat) -> tuple[str, str]:
    return beat.service, beat.instance


def _token(record: TokenRecord) -> governance_pb2.TokenInfo:
    info = governance_pb2.TokenInfo(
        id=record.id,
        user=record.user,
        created=codec.timestamp(record.created),
        expires=codec.timestamp(record.expires),
        created_by=record.created_by,
        revoked_by=record.revoked_by,
    )
    if record.revoked:
        info.revoked.CopyFrom(codec.timestamp(record.revoked))
    return info


class GovernanceServicer(governance_pb2_grpc.GovernanceServiceServicer):  # type: ignore[misc]
    """Thin translation to :class:`GovernanceService`."""

    def __init__(self, service: GovernanceService) -> None:
        self.service = service
        self._release = memory.Release()

    async def _released(self, work: Awaitable[T]) -> T:
        """``work`` (it reads, dumps or diffs a whole config), then the memory it freed
        handed back, and again once the call has ended and its request is freed too
        (:mod:`plantbus.governance.memory`)."""
        try:
            return await work
        finally:
            memory.release()
            self._release.soon()

    async def ApplyConfig(
        self, request: governance_pb2.ApplyConfigRequest, context: Context
    ) -> governance_pb2.ApplyConfigResponse:
        who = await require("config.read" if request.dry_run else "config.apply", "plant config")
        result = await self._released(
            self.service.apply(
                [Source(f.name, f.content) for f in request.files],
                author=who.name,
                message=request.message,
                dry_run=request.dry_run,
                expected_version=request.expected_version,
            )
        )
        return governance_pb2.ApplyConfigResponse(
            issues=_issues(result.issues),
            diff=result.diff,
            version=result.version,
            previous_version=result.previous,
        )

    async def DiffConfig(
        self, request: governance_pb2.DiffConfigRequest, context: Context
    ) -> governance_pb2.DiffConfigResponse:
        who = await require("config.read", "plant config")
        result = await self._released(
            self.service.apply(
                [Source(f.name, f.content) for f in request.files],
                author=who.name,
                message="",
                dry_run=True,
            )
        )
        return governance_pb2.DiffConfigResponse(
            issues=_issues(result.issues), diff=result.diff, running_version=result.previous
        )

    async def GetConfig(
        self, request: governance_pb2.GetConfigRequest, context: Context
    ) -> governance_pb2.GetConfigResponse:
        await require("config.read", "plant config")
        if request.version:
            stored = await self.service.store.get(request.version)
        else:
            running = await self.service.running()
            if running is None:
                return governance_pb2.GetConfigResponse()
            stored = running
        reply = governance_pb2.GetConfigResponse(meta=_meta(stored), yaml=to_yaml(stored.config))
        self._release.soon()  # the YAML of the whole config
        return reply

    async def ListVersions(
        self, request: governance_pb2.ListVersionsRequest, context: Context
    ) -> governance_pb2.ListVersionsResponse:
        await require("config.read", "plant config")
        history = await self.service.store.history()
        shown, token = page(history, request)
        return governance_pb2.ListVersionsResponse(
            versions=[_meta(v) for v in shown],
            running_version=history[0].version if history else 0,
            next_page_token=token,
        )

    async def RollbackConfig(
        self, request: governance_pb2.RollbackConfigRequest, context: Context
    ) -> governance_pb2.RollbackConfigResponse:
        who = await require("config.rollback", "plant config")
        result = await self._released(
            self.service.rollback(request.version, who.name, request.message)
        )
        return governance_pb2.RollbackConfigResponse(version=result.version, diff=result.diff)

    async def CheckPermission(
        self, request: governance_pb2.CheckPermissionRequest, context: Context
    ) -> governance_pb2.CheckPermissionResponse:
        who = await require("tag.read", request.tag_path)
        value = request.value if request.HasField("value") else math.nan  # NaN: not a number
        decision = await self.service.check_permission(who, request.tag_path, value)
        return governance_pb2.CheckPermissionResponse(
            allowed=decision.allowed, reason=decision.reason, policy=decision.policy
        )

    async def ListPlugins(
        self, request: governance_pb2.ListPluginsRequest, context: Context
    ) -> governance_pb2.ListPluginsResponse:
        await require("config.read", "plugins")
        beats = sorted(await read_heartbeats(self.service.ctx.bus), key=_instance_key)
        shown, token = page(beats, request)
        return governance_pb2.ListPluginsResponse(
            instances=[
                governance_pb2.InstancePlugins(
                    service=hb.service, instance=hb.instance, plugins=list(hb.plugins)
                )
                for hb in shown
            ],
            next_page_token=token,
        )

    async def CreateToken(
        self, request: governance_pb2.CreateTokenRequest, context: Context
    ) -> governance_pb2.CreateTokenResponse:
        who = await require("users.manage", request.user, "token.create")
        token, record = await self.service.tokens.create(
            request.user, request.expires_seconds, who.name
        )
        return governance_pb2.CreateTokenResponse(token=token, info=_token(record))

    async def RevokeToken(
        self, request: governance_pb2.RevokeTokenRequest, context: Context
    ) -> governance_pb2.RevokeTokenResponse:
        who = await require("users.manage", request.id, "token.revoke")
        record = await self.service.tokens.revoke(request.id, who.name)
        return governance_pb2.RevokeTokenResponse(info=_token(record))

    async def ListTokens(
        self, request: governance_pb2.ListTokensRequest, context: Context
    ) -> governance_pb2.ListTokensResponse:
        await require("users.manage", "tokens")
        shown, token = page(await self.service.tokens.store.all(), request)
        return governance_pb2.ListTokensResponse(
            tokens=[_token(r) for r in shown], next_page_token=token
        )
