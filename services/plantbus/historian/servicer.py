"""gRPC translation for HistorianService: requests to store reads, rows to messages. Every
RPC requires ``history.read`` (a read: every configured user and service has it through
the viewer role unless the config narrows that role)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Final, TypeAlias

import grpc

from plantbus.historian import convert
from plantbus.historian.query import (
    decode_token,
    encode_token,
    interpolate,
    match_tags,
    plan_buckets,
)
from plantbus.kit.identity import require
from plantbus.sdk.errors import ValidationFailed
from plantbus.sdk.historian import Event, HistorianStore, StoreUnavailable, combine
from plantbus.v1 import historian_pb2, historian_pb2_grpc, oee_pb2, telemetry_pb2

if TYPE_CHECKING:
    from plantbus.historian.service import HistorianService

__all__ = ["HistorianServicer"]

Context: TypeAlias = grpc.aio.ServicerContext

_RAW_PAGE: Final = (10_000, 100_000)
"""Default and largest page of raw samples."""
_EVENT_PAGE: Final = (1_000, 10_000)
_MAX_AT: Final = 10_000
_EXPORT_CHUNK: Final = 5_000


def _page(asked: int, limits: tuple[int, int]) -> int:
    return min(asked or limits[0], limits[1])


def _range(request: Any) -> tuple[int, int]:
    """(start, end) in microseconds; end defaults to now."""
    if not request.HasField("start"):
        raise ValidationFailed("give the start of the range (start)")
    start = int(request.start.ToMicroseconds())
    end = int(request.end.ToMicroseconds()) if request.HasField("end") else time.time_ns() // 1000
    if end <= start:
        raise ValidationFailed("the range is empty: start must be before end")
    return start, end


def _revision(row: tuple[int, Event]) -> tuple[int, int]:
    return oee_pb2.OeeSnapshot.FromString(row[1].data).revision, row[0]


async def _without_replaced_finals(
    store: HistorianStore[Any], rows: list[tuple[int, Event]]
) -> list[tuple[int, Event]]:
    """``rows`` less the final figures that a higher revision replaces: the same scope and
    key (shift or work order) at the same time (a correction keeps the period's end)."""
    kept = []
    for row in rows:
        e = row[1]
        if e.kind == "oee_final":
            same = await store.events(["oee_final"], e.scope, e.time_us, e.time_us + 1, 1000)
            mine = _revision(row)
            if any(
                o.scope == e.scope and o.key == e.key and _revision((i, o)) > mine for i, o in same
            ):
                continue
        kept.append(row)
    return kept


class HistorianServicer(historian_pb2_grpc.HistorianServiceServicer):  # type: ignore[misc]
    """Thin translation to the service's store."""

    def __init__(self, service: HistorianService) -> None:
        self.service = service

    @property
    def store(self) -> HistorianStore[Any]:
        """The open store; UNAVAILABLE (with the reason) while there is none."""
        store = self.service.store
        if store is None:
            why = self.service.open_error or "the historian is still opening its store"
            raise StoreUnavailable(why)
        return store

    async def QueryHistory(
        self, request: historian_pb2.QueryHistoryRequest, context: Context
    ) -> historian_pb2.QueryHistoryResponse:
        await require("history.read", ",".join(request.paths) or "*")
        store = self.store
        start, end = _range(request)
        tags = match_tags(list(request.paths), await store.tags())
        mode = request.mode or historian_pb2.HISTORY_MODE_RAW
        if mode == historian_pb2.HISTORY_MODE_BUCKETED:
            return await self._buckets(store, tags, start, end, request.bucket.ToMicroseconds())
        if mode == historian_pb2.HISTORY_MODE_INTERPOLATED:
            return await self._interpolated(store, tags, request)
        return await self._raw(store, tags, start, end, request)

    async def _raw(
        self,
        store: HistorianStore[Any],
        tags: list[str],
        start: int,
        end: int,
        request: historian_pb2.QueryHistoryRequest,
    ) -> historian_pb2.QueryHistoryResponse:
        room = _page(request.page_size, _RAW_PAGE)
        first, after = (
            decode_token(request.page_token, "tag", "after") if request.page_token else (0, -1)
        )
        out = historian_pb2.QueryHistoryResponse(source="raw")
        for index in range(first, len(tags)):
            rows = await store.samples(
                tags[index], start, end, room, after if index == first and after >= 0 else None
            )
            out.tags.add(path=tags[index]).samples.extend(convert.sample(s) for s in rows)
            room -= len(rows)
            if room == 0:
                out.next_page_token = encode_token(tag=index, after=rows[-1].time_us)
                break
        return out

    async def _buckets(
        self, store: HistorianStore[Any], tags: list[str], start: int, end: int, width: int
    ) -> historian_pb2.QueryHistoryResponse:
        plan = plan_buckets(start, end, width)
        out = historian_pb2.QueryHistoryResponse(source=plan.source)
        for tag in tags:
            if plan.child_us:
                children = await store.rollups(tag, plan.child_us, plan.start_us, plan.end_us)
                buckets = combine(children, plan.child_us, plan.start_us, width)
            else:
                buckets = await store.aggregate(tag, plan.start_us, plan.end_us, width)
            out.tags.add(path=tag).buckets.extend(convert.bucket(b, width) for b in buckets)
        return out

    async def _interpolated(
        self,
        store: HistorianStore[Any],
        tags: list[str],
        request: historian_pb2.QueryHistoryRequest,
    ) -> historian_pb2.QueryHistoryResponse:
        times = [int(t.ToMicroseconds()) for t in request.at]
        if not times or len(times) > _MAX_AT:
            raise ValidationFailed(f"interpolated query: give 1 to {_MAX_AT:,} times (at)")
        out = historian_pb2.QueryHistoryResponse(source="raw")
        for tag in tags:
            series = out.tags.add(path=tag)
            for t in times:
                found = interpolate(*await store.around(tag, t), t)
                if found is None:
                    empty = series.values.add(path=tag, quality=telemetry_pb2.QUALITY_BAD)
                    empty.time.FromMicroseconds(t)
                else:
                    series.values.append(convert.sample(found, with_receive=False))
        return out

    async def QueryEvents(
        self, request: historian_pb2.QueryEventsRequest, context: Context
    ) -> historian_pb2.QueryEventsResponse:
        await require("history.read", request.scope or "*")
        store = self.store
        start, end = _range(request)
        kinds = [convert.EVENT_KINDS[k] for k in request.kinds if k in convert.EVENT_KINDS]
        if len(kinds) != len(request.kinds):
            raise ValidationFailed("kinds: EVENT_KIND_UNSPECIFIED or an unknown kind")
        after = (0, 0)
        if request.page_token:
            after_time, after_id = decode_token(request.page_token, "time", "id")
            after = (after_time, after_id)
        limit = _page(request.page_size, _EVENT_PAGE)
        rows = await store.events(kinds, request.scope.strip("/"), start, end, limit, after)
        kept = await _without_replaced_finals(store, rows)
        out = historian_pb2.QueryEventsResponse(events=[convert.event(e) for _, e in kept])
        if len(rows) == limit:
            last_id, last = rows[-1]
            out.next_page_token = encode_token(time=last.time_us, id=last_id)
        return out

    async def Export(
        self, request: historian_pb2.ExportRequest, context: Context
    ) -> AsyncIterator[historian_pb2.ExportResponse]:
        await require("history.read", ",".join(request.paths) or "*")
        store = self.store
        start, end = _range(request)
        tags = match_tags(list(request.paths), await store.tags())
        for done, tag in enumerate(tags, start=1):
            after: int | None = None
            while True:
                rows = await store.samples(tag, start, end, _EXPORT_CHUNK, after)
                last_chunk = len(rows) < _EXPORT_CHUNK
                yield historian_pb2.ExportResponse(
                    samples=[convert.sample(s) for s in rows],
                    tags_done=done if last_chunk else done - 1,
                    tags_total=len(tags),
                )
                if last_chunk:
                    break
                after = rows[-1].time_us
