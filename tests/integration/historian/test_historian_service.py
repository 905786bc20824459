"""The historian with a real nats-server: telemetry and core-NATS events into the
embedded store exactly once, resumed after a restart, late samples in their rollups,
and the gRPC queries (raw pages, buckets, interpolation, events, export)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from plantbus.historian.service import HistorianService
from plantbus.kit import streams
from plantbus.kit.bus import Bus
from plantbus.kit.grpc_client import ClientTls, channel
from plantbus.kit.pki import Pki
from plantbus.kit.runner import Runner
from plantbus.testing.config import put_config
from plantbus.testing.harness import hosted, issue_token, operator_channel, token_channel
from plantbus.testing.messages import collected
from plantbus.testing.waiting import wait_until
from plantbus.v1 import historian_pb2, historian_pb2_grpc, service_pb2
from tests.historian import (
    EVENTS,
    assert_stored_once,
    final_figures,
    publish_events,
    publish_finals,
    publish_samples,
)

CONFIG: dict[str, Any] = {
    "sites": [
        {
            "name": "s",
            "areas": [{"name": "a", "lines": [{"name": "l", "machines": [{"name": "m1"}]}]}],
        }
    ],
    "historian": {"max_batch_delay_s": 0.1, "oee_every_s": 0},
}
MINUTE = 60_000_000
T0 = (time.time_ns() // 1000 - 3600 * 10**6) // MINUTE * MINUTE
"""An hour ago, on a minute boundary."""


def historian(runner: Runner) -> HistorianService:
    service = runner.services["historian"]
    assert isinstance(service, HistorianService)
    return service


@pytest.fixture
async def stub(bus: Bus, nats_url: str, tmp_path: Path) -> AsyncIterator[Any]:
    await put_config(bus, CONFIG)
    async with hosted([HistorianService], nats_url=nats_url, data_dir=tmp_path) as runner:
        await wait_until(lambda: historian(runner).store is not None)
        async with operator_channel(runner) as chan:
            stub = historian_pb2_grpc.HistorianServiceStub(chan)
            stub.service = historian(runner)
            yield stub


def _range(request: Any, start_us: int, end_us: int) -> Any:
    request.start.FromMicroseconds(start_us)
    request.end.FromMicroseconds(end_us)
    return request


async def test_samples_and_events_are_stored_and_queried(stub: Any, bus: Bus) -> None:
    times = [T0 + i * 1_000_000 for i in range(150)]
    for tag in ("temp", "speed"):
        await publish_samples(bus, f"s/a/l/m1/{tag}", times)
    await publish_events(bus, T0)
    service = stub.service
    await wait_until(lambda: service.stored["samples"] == 300 and service.stored["events"] == 5)

    # raw, paged: 150 samples of one tag in pages of 40
    got: list[Any] = []
    token = ""
    while True:
        request = historian_pb2.QueryHistoryRequest(
            paths=["s/a/l/m1/temp"], page_size=40, page_token=token
        )
        reply = await stub.QueryHistory(_range(request, T0, T0 + 10 * MINUTE))
        got.extend(s for t in reply.tags for s in t.samples)
        if not (token := reply.next_page_token):
            break
    assert [s.time.ToMicroseconds() for s in got] == times
    assert [s.value.double_value for s in got] == [float(i) for i in range(150)]
    assert got[0].receive_time.ToMicroseconds() == T0 + 1000

    # bucketed: whole minutes from the minute rollups, odd widths from raw samples
    request = historian_pb2.QueryHistoryRequest(
        paths=["s/a/l/m1/*"], mode=historian_pb2.HISTORY_MODE_BUCKETED
    )
    request.bucket.FromSeconds(60)
    reply = await stub.QueryHistory(_range(request, T0, T0 + 3 * MINUTE))
    assert reply.source == "minute"
    assert [t.path for t in reply.tags] == ["s/a/l/m1/speed", "s/a/l/m1/temp"]
    minute = reply.tags[1].buckets
    assert [b.count for b in minute] == [60, 60, 30]
    assert (minute[0].min, minute[0].max, minute[0].first, minute[0].last) == (0, 59, 0, 59)
    assert minute[0].mean == pytest.approx(29.5) and minute[0].good_fraction == 1.0
    assert minute[0].time_weighted_mean == pytest.approx(29.5)
    request.bucket.FromSeconds(7)
    reply = await stub.QueryHistory(_range(request, T0, T0 + 3 * MINUTE))
    assert reply.source == "raw" and sum(b.count for b in reply.tags[1].buckets) == 150

    # interpolated between two samples, and before the first
    request = historian_pb2.QueryHistoryRequest(
        paths=["s/a/l/m1/temp"], mode=historian_pb2.HISTORY_MODE_INTERPOLATED
    )
    request.start.FromMicroseconds(T0)
    request.at.add().FromMicroseconds(T0 + 10_500_000)
    request.at.add().FromMicroseconds(T0 - 1)
    values = (await stub.QueryHistory(request)).tags[0].values
    assert values[0].value.double_value == pytest.approx(10.5)
    assert not values[1].value.WhichOneof("kind") and values[1].quality == 3

    # events by kind and scope; the work order is scoped to its line from the config
    reply = await stub.QueryEvents(
        _range(historian_pb2.QueryEventsRequest(), T0 - MINUTE, time.time_ns() // 1000 + MINUTE)
    )
    assert sorted(historian_pb2.EventKind.Name(e.kind) for e in reply.events) == sorted(
        f"EVENT_KIND_{k.upper()}" for k in EVENTS
    )
    request = historian_pb2.QueryEventsRequest(
        kinds=[historian_pb2.EVENT_KIND_ALARM], scope="s/a/l/m1"
    )
    alarms = (await stub.QueryEvents(_range(request, T0, T0 + MINUTE))).events
    assert [(e.key, e.alarm.state) for e in alarms] == [("hot@s/a/l/m1", "unacknowledged")]
    request = historian_pb2.QueryEventsRequest(
        kinds=[historian_pb2.EVENT_KIND_WORK_ORDER], scope="s/a/l"
    )
    orders = (
        await stub.QueryEvents(_range(request, T0 - MINUTE, time.time_ns() // 1000 + MINUTE))
    ).events
    assert [(e.scope, e.work_order.erp_id) for e in orders] == [("s/a/l", "WO-1")]

    # export streams every sample, with progress
    chunks = [
        c async for c in stub.Export(_range(historian_pb2.ExportRequest(), T0, T0 + 10 * MINUTE))
    ]
    assert sum(len(c.samples) for c in chunks) == 300
    assert (chunks[-1].tags_done, chunks[-1].tags_total) == (2, 2)


async def test_final_figures_are_kept_and_a_revision_replaces_the_earlier(
    stub: Any, bus: Bus
) -> None:
    """PLANTBUS_OEE_FINAL into the store: a closed shift, its correction (revision 1) and a
    closed work order; QueryEvents answers the latest revision of each."""
    await streams.ensure_stream(bus, streams.OEE_FINAL)
    await publish_finals(
        bus,
        [
            final_figures("s/a/l/m1", T0, 0.5, shift="early"),
            final_figures("s/a/l/m1", T0 + 1, 0.7, order="WO-1"),
            final_figures("s/a/l/m1", T0, 0.6, 1, shift="early"),
        ],
    )
    await wait_until(lambda: stub.service.stored["events"] == 3)
    request = historian_pb2.QueryEventsRequest(kinds=[historian_pb2.EVENT_KIND_OEE_FINAL])
    reply = await stub.QueryEvents(_range(request, T0 - MINUTE, T0 + MINUTE))
    got = [(e.key, e.oee.revision, round(e.oee.oee, 2), e.oee.final) for e in reply.events]
    assert got == [("shift:early", 1, 0.6, True), ("work_order:WO-1", 0, 0.7, True)]
    everything = await stub.QueryEvents(_range(historian_pb2.QueryEventsRequest(), T0 - 1, T0 + 2))
    assert [e.kind for e in everything.events] == [historian_pb2.EVENT_KIND_OEE_FINAL] * 2


async def test_late_samples_recompute_their_rollups(stub: Any, bus: Bus) -> None:
    await publish_samples(bus, "s/a/l/m1/temp", [T0 + i * 2_000_000 for i in range(30)])
    await wait_until(lambda: stub.service.stored["samples"] == 30)
    # a spool replay: the odd seconds of the same minute, older than what is stored
    await publish_samples(
        bus, "s/a/l/m1/temp", [T0 + i * 2_000_000 + 1_000_000 for i in range(30)], [100.0] * 30
    )
    await wait_until(lambda: stub.service.stored["samples"] == 60)
    request = historian_pb2.QueryHistoryRequest(
        paths=["s/a/l/m1/temp"], mode=historian_pb2.HISTORY_MODE_BUCKETED
    )
    request.bucket.FromSeconds(3600)
    start = T0 - T0 % (3600 * 10**6)
    hour = (await stub.QueryHistory(_range(request, start, start + 3600 * 10**6))).tags[0].buckets
    assert [b.count for b in hour] == [60] and hour[0].max == 100.0
    request.bucket.FromSeconds(60)
    minute = (await stub.QueryHistory(_range(request, T0, T0 + MINUTE))).tags[0].buckets
    # every value held one second: half the minute 0..29, half 100
    assert minute[0].time_weighted_mean == pytest.approx((sum(range(30)) + 100 * 30) / 60)


async def test_bad_requests_say_what_is_wrong(stub: Any, bus: Bus) -> None:
    await publish_samples(bus, "s/a/l/m1/temp", [T0])
    await wait_until(lambda: stub.service.stored["samples"] == 1)
    cases = [
        (
            historian_pb2.QueryHistoryRequest(paths=["s/a/l/m1/nope"]),
            grpc.StatusCode.NOT_FOUND,
            "no stored tag",
        ),
        (
            historian_pb2.QueryHistoryRequest(
                paths=["*"], mode=historian_pb2.HISTORY_MODE_BUCKETED
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "bucket width",
        ),
        (
            historian_pb2.QueryHistoryRequest(paths=["*"], page_token="garbage"),
            grpc.StatusCode.INVALID_ARGUMENT,
            "page_token",
        ),
    ]
    for request, code, words in cases:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.QueryHistory(_range(request, T0, T0 + MINUTE))
        assert err.value.code() == code and words in (err.value.details() or "")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.QueryHistory(historian_pb2.QueryHistoryRequest(paths=["*"]))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_restart_resumes_after_the_committed_sequence(
    bus: Bus, nats_url: str, tmp_path: Path
) -> None:
    await put_config(bus, CONFIG)
    times = [T0 + i * 1_000_000 for i in range(200)]
    async with hosted([HistorianService], nats_url=nats_url, data_dir=tmp_path) as runner:
        await wait_until(lambda: historian(runner).store is not None)
        await publish_samples(bus, "s/a/l/m1/temp", times[:100])
        await publish_events(bus, T0)
        await wait_until(lambda: historian(runner).stored["messages"] == 105)
    # while the historian is down: more samples and events wait in their streams
    await publish_samples(bus, "s/a/l/m1/temp", times[100:])
    await publish_events(bus, T0 + 1000)
    async with hosted([HistorianService], nats_url=nats_url, data_dir=tmp_path) as runner:
        service = historian(runner)
        await wait_until(lambda: service.stored["messages"] == 105)
        await assert_stored_once(bus, service, "s/a/l/m1/temp", times, 10)


async def test_reads_need_history_read_and_refusals_are_audited(
    bus: Bus, nats_url: str, tmp_path: Path
) -> None:
    """Anonymous: UNAUTHENTICATED. A user with only the viewer role, which this config
    narrows to OEE: PERMISSION_DENIED, audited. A user whose role grants it reads."""
    config = {
        **CONFIG,
        "roles": [
            {"name": "viewer", "permissions": ["oee.read"]},
            {"name": "analyst", "permissions": ["history.read"]},
        ],
        "users": [{"name": "visitor", "roles": []}, {"name": "ana", "roles": ["analyst"]}],
    }
    await put_config(bus, config)
    audits = await collected(bus, "plantbus.v1.audit.historian", service_pb2.AuditRecord)
    async with hosted([HistorianService], nats_url=nats_url, data_dir=tmp_path) as runner:
        service = historian(runner)
        await wait_until(lambda: service.store is not None and service.config_version == 1)
        await publish_samples(bus, "s/a/l/m1/temp", [T0])
        await wait_until(lambda: service.stored["samples"] == 1)
        query = historian_pb2.QueryHistoryRequest(paths=["s/a/l/m1/temp"])
        request = _range(query, T0, T0 + MINUTE)
        assert runner.grpc is not None
        ca = Pki(runner.settings.data_dir / "pki").ca_cert
        async with channel(runner.grpc.token_address, ClientTls(ca)) as nobody:
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await historian_pb2_grpc.HistorianServiceStub(nobody).QueryHistory(request)
            assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        async with token_channel(runner, await issue_token(bus, "visitor")) as chan:
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await historian_pb2_grpc.HistorianServiceStub(chan).QueryHistory(request)
            assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
            assert "history.read" in (err.value.details() or "")
        refusal = await wait_until(
            lambda: next((a for a in audits if a.actor == "visitor"), None), message="audited"
        )
        assert refusal.outcome == service_pb2.AUDIT_OUTCOME_DENIED
        assert refusal.action == "history.read" and refusal.target == "s/a/l/m1/temp"
        async with token_channel(runner, await issue_token(bus, "ana")) as chan:
            reply = await historian_pb2_grpc.HistorianServiceStub(chan).QueryHistory(request)
            assert len(reply.tags[0].samples) == 1
