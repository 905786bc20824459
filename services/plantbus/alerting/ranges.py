"""The alarm state changes of a time range: from what the alerting service keeps when that
covers the range, else from the historian's QueryEvents (as this service, whose
certificate has the viewer role and so ``history.read``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

import grpc

from plantbus.alerting.performance import Change
from plantbus.kit import codec
from plantbus.kit.discovery import grpc_address
from plantbus.kit.grpc_client import channel
from plantbus.sdk.errors import DeviceUnavailable, ValidationFailed
from plantbus.v1 import alerting_pb2, historian_pb2, historian_pb2_grpc

if TYPE_CHECKING:
    from plantbus.alerting.service import AlertingService

__all__ = ["MAX_CHANGES", "change_of", "changes_in"]

MAX_CHANGES: Final = 1_000_000
"""More alarm changes than this in one range is refused (ask for a shorter range)."""
_PAGE: Final = 10_000


def change_of(event: alerting_pb2.AlarmEvent) -> Change:
    """The performance module's view of one published state change."""
    return Change(
        event.time.ToMicroseconds() / 1e6,
        event.id,
        event.scope,
        event.state,
        event.active,
        event.priority,
    )


async def _historian(service: AlertingService, start: float, end: float) -> list[Change]:
    request = historian_pb2.QueryEventsRequest(
        kinds=[historian_pb2.EVENT_KIND_ALARM],
        start=codec.timestamp(start),
        end=codec.timestamp(end),
        page_size=_PAGE,
    )
    out: list[Change] = []
    address = await grpc_address(service.ctx.bus, "historian")
    async with channel(address, service.ctx.grpc_tls) as chan:
        stub = historian_pb2_grpc.HistorianServiceStub(chan)
        while True:
            try:
                reply = await stub.QueryEvents(request)
            except grpc.aio.AioRpcError as err:
                raise DeviceUnavailable(
                    f"the historian did not answer for alarm events: {err.details()}"
                ) from None
            out += [change_of(e.alarm) for e in reply.events]
            if len(out) > MAX_CHANGES:
                raise ValidationFailed(
                    f"the range holds more than {MAX_CHANGES:,} alarm changes: ask for a "
                    "shorter one"
                )
            if not reply.next_page_token:
                return out
            request.page_token = reply.next_page_token


async def changes_in(
    service: AlertingService, start: float, end: float
) -> tuple[Iterable[Change], str]:
    """(changes, source): ``alerting`` when the range starts after ``kept_since``, else
    ``historian`` (DeviceUnavailable when none serves: the message says what alerting
    still has)."""
    if start >= service.kept_since:
        return [change_of(e) for e in service.history], "alerting"
    try:
        return await _historian(service, start, end), "historian"
    except DeviceUnavailable as err:
        kept = codec.timestamp(service.kept_since).ToDatetime().isoformat(timespec="seconds")
        raise DeviceUnavailable(
            f"the range starts before {kept}Z, the oldest alarm change alerting keeps, and "
            f"{err}; start the historian or ask for a range from {kept}Z"
        ) from None
