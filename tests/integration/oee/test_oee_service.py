"""The OEE service with a real nats-server: telemetry through the stream to snapshots,
state changes published at once, and a restart that neither loses nor double-counts."""

from __future__ import annotations

import asyncio
import json
import time
import zlib
from pathlib import Path
from typing import Any

import grpc
import pytest
from click.testing import CliRunner
from google.protobuf.message import Message
from nats.aio.msg import Msg

from plantbus.cli.main import cli
from plantbus.kit import streams, subjects
from plantbus.kit.bus import Bus
from plantbus.oee.service import OeeService
from plantbus.testing.config import people, put_config
from plantbus.testing.harness import hosted, operator_channel
from plantbus.testing.messages import store_samples
from plantbus.testing.waiting import wait_until
from plantbus.v1 import erp_pb2, oee_pb2, oee_pb2_grpc, service_pb2, telemetry_pb2

CONFIG: dict[str, Any] = {
    "sites": [
        {
            "name": "s",
            "areas": [{"name": "a", "lines": [{"name": "l", "machines": [{"name": "m1"}]}]}],
        }
    ],
    "oee": [
        {
            "machine": "s/a/l/m1",
            "state_tag": "state",
            "total_tag": "parts",
            "reject_tag": "rejects",
            "reason_tag": "reason",
            "reason_codes": {102: "jam"},
            "states": [{"value": 1, "state": "running"}, {"value": 3, "state": "stopped"}],
            "ideal_cycle_time_s": 1.0,
        }
    ],
    **people(alice=["downtime.classify"]),
}


class Feed:
    """Publishes samples into the telemetry stream as the device service would."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.seq = 0

    async def send(self, tag: str, value: int) -> None:
        self.seq += 1
        sample = telemetry_pb2.TagSample(
            path=f"s/a/l/m1/{tag}", sequence=self.seq, quality=telemetry_pb2.QUALITY_GOOD
        )
        sample.value.int_value = value
        sample.source_time.FromNanoseconds(time.time_ns())
        await store_samples(self.bus, sample)


@pytest.fixture
async def feed(bus: Bus) -> Feed:
    await streams.ensure_stream(bus, streams.CYCLES)
    await put_config(bus, CONFIG)
    return Feed(bus)


async def test_telemetry_to_snapshot_and_downtime(
    bus: Bus, nats_url: str, tmp_path: Path, feed: Feed
) -> None:
    snaps: list[oee_pb2.OeeSnapshot] = []
    downtimes: list[oee_pb2.DowntimeEvent] = []

    async def on_snap(subject: str, msg: Message, raw: Msg) -> None:
        if isinstance(msg, oee_pb2.OeeSnapshot):
            snaps.append(msg)
        elif isinstance(msg, oee_pb2.DowntimeEvent):
            downtimes.append(msg)

    await bus.subscribe("plantbus.v1.oee.>", on_snap)
    await bus.subscribe("plantbus.v1.downtime.>", on_snap)
    async with hosted([OeeService], nats_url=nats_url, data_dir=tmp_path) as runner:
        service = runner.services["oee"]
        await wait_until(lambda: service.config_version == 1)
        await feed.send("state", 1)
        await feed.send("parts", 100)  # baseline
        await feed.send("parts", 110)
        await feed.send("rejects", 7)  # baseline
        await feed.send("rejects", 8)
        machine = await wait_until(
            lambda: next(
                (
                    s
                    for s in reversed(snaps)
                    if s.scope == "s/a/l/m1" and s.total_count == 10 and s.good_count == 9
                ),
                None,
            )
        )
        assert machine is not None
        assert machine.state == "running" and machine.HasField("availability")
        assert any(s.scope == "s/a/l" for s in snaps)
        assert isinstance(service, OeeService)
        gauge = {attrs["kpi"]: value for value, attrs in service.kpi_readings()}
        assert set(gauge) == {"oee", "availability", "performance", "quality"}
        assert gauge["quality"] == pytest.approx(0.9), "9 good of 10, on the Prometheus gauge"
        assert service.lag == 0, "caught up with the telemetry stream"
        await feed.send("reason", 102)
        sent = time.monotonic()
        await feed.send("state", 3)
        stopped = await wait_until(
            lambda: next((s for s in reversed(snaps) if s.state == "stopped"), None)
        )
        assert time.monotonic() - sent < 1.0  # not held back by count coalescing
        assert stopped is not None and stopped.reason == "jam"
        started = await wait_until(lambda: next(iter(downtimes), None))
        assert started is not None
        assert started.kind == oee_pb2.DOWNTIME_KIND_STARTED and started.reason == "jam"


async def test_restart_neither_loses_nor_double_counts(
    bus: Bus, nats_url: str, tmp_path: Path, feed: Feed
) -> None:
    async with hosted([OeeService], nats_url=nats_url, data_dir=tmp_path) as runner:
        first = runner.services["oee"]
        assert isinstance(first, OeeService)
        await wait_until(lambda: first.config_version == 1)
        await feed.send("state", 1)
        for raw in (0, 5, 12):
            await feed.send("parts", raw)
        await wait_until(lambda: first.engine.machines["s/a/l/m1"].totals.total_count == 12)
    # counts arriving while the service is down are read from the stream afterwards
    await feed.send("parts", 20)
    async with hosted([OeeService], nats_url=nats_url, data_dir=tmp_path) as runner:
        second = runner.services["oee"]
        assert isinstance(second, OeeService)
        await wait_until(
            lambda: (
                second.engine.machines.get("s/a/l/m1") is not None
                and second.engine.machines["s/a/l/m1"].totals.total_count == 20
            )
        )
        await feed.send("parts", 25)
        await wait_until(lambda: second.engine.machines["s/a/l/m1"].totals.total_count == 25)
        await asyncio.sleep(0.3)  # let any duplicate delivery show itself
        assert second.engine.machines["s/a/l/m1"].totals.total_count == 25


async def test_state_saved_against_another_stream_reads_the_new_one_from_its_end(
    bus: Bus, nats_url: str, tmp_path: Path, feed: Feed, caplog: pytest.LogCaptureFixture
) -> None:
    """An upgrade from PLANTBUS_TELEMETRY (or the stream made anew): the saved sequence is
    past the new stream's end, so starting after it would read nothing for a long time."""
    async with hosted([OeeService], nats_url=nats_url, data_dir=tmp_path) as runner:
        first = runner.services["oee"]
        assert isinstance(first, OeeService)
        await wait_until(lambda: first.config_version == 1)
        await feed.send("state", 1)
        for raw in range(0, 30, 3):
            await feed.send("parts", raw)
        await wait_until(lambda: first.engine.machines["s/a/l/m1"].totals.total_count == 27)
    await bus.js.delete_stream(streams.CYCLES.name)
    await streams.ensure_stream(bus, streams.CYCLES)
    async with hosted([OeeService], nats_url=nats_url, data_dir=tmp_path) as runner:
        second = runner.services["oee"]
        assert isinstance(second, OeeService)
        await wait_until(lambda: second.share.source.sub is not None, message="reading")
        await feed.send("parts", 31)
        await wait_until(
            lambda: second.engine.machines["s/a/l/m1"].totals.total_count == 31,
            message="the new stream's counts applied",
        )
    assert "saved against another stream" in caplog.text


async def test_restart_keeps_recent_stops_and_ends_the_open_one(
    bus: Bus, nats_url: str, tmp_path: Path, feed: Feed
) -> None:
    events: list[oee_pb2.DowntimeEvent] = []

    async def on_downtime(subject: str, msg: Message, raw: Msg) -> None:
        if isinstance(msg, oee_pb2.DowntimeEvent):
            events.append(msg)

    def of_kind(kind: int) -> oee_pb2.DowntimeEvent | None:
        return next((e for e in events if e.kind == kind), None)

    await bus.subscribe("plantbus.v1.downtime.>", on_downtime)
    async with hosted([OeeService], nats_url=nats_url, data_dir=tmp_path) as runner:
        first = runner.services["oee"]
        assert isinstance(first, OeeService)
        await wait_until(lambda: first.config_version == 1)
        await feed.send("state", 1)
        await feed.send("reason", 102)
        await feed.send("state", 3)
        started = await wait_until(lambda: of_kind(oee_pb2.DOWNTIME_KIND_STARTED))
    async with hosted([OeeService], nats_url=nats_url, data_dir=tmp_path) as runner:
        second = runner.services["oee"]
        assert isinstance(second, OeeService)
        # the stop is still listed (operators classify after a restart too) ...
        await wait_until(lambda: any(d.id == started.id for d in second.engine.downtime.recent))
        # ... and when the machine runs again, that same stop ends
        await feed.send("state", 1)
        ended = await wait_until(lambda: of_kind(oee_pb2.DOWNTIME_KIND_ENDED))
        assert (ended.id, ended.reason) == (started.id, "jam")
        classified = await second.classify(started.id, "tool_change", "tester")
        assert (classified.id, classified.reason) == (started.id, "tool_change")


async def test_get_oee_over_grpc_for_now_and_a_named_shift(
    bus: Bus, nats_url: str, tmp_path: Path, feed: Feed
) -> None:
    async with hosted([OeeService], nats_url=nats_url, data_dir=tmp_path) as runner:
        service = runner.services["oee"]
        assert isinstance(service, OeeService)
        await wait_until(lambda: service.config_version == 1)
        await feed.send("state", 1)
        for raw in (0, 4):
            await feed.send("parts", raw)
        await wait_until(lambda: service.engine.machines["s/a/l/m1"].totals.total_count == 4)
        async with operator_channel(runner) as chan:
            stub = oee_pb2_grpc.OeeServiceStub(chan)
            now = await stub.GetOee(oee_pb2.GetOeeRequest(scope="s/a/l/m1"))
            assert now.snapshot.total_count == 4 and now.snapshot.state == "running"
            line = await stub.GetOee(oee_pb2.GetOeeRequest(scope="s/a/l"))
            assert line.snapshot.total_count == 4
            shift = await stub.GetOee(oee_pb2.GetOeeRequest(scope="s/a/l/m1", shift="always"))
            assert shift.snapshot.total_count == 4
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await stub.GetOee(oee_pb2.GetOeeRequest(scope="s/a/l/m1", shift="B@1999"))
            assert info.value.code() == grpc.StatusCode.NOT_FOUND


async def test_classify_downtime_moves_its_time_and_is_audited(
    bus: Bus, nats_url: str, tmp_path: Path, feed: Feed
) -> None:
    audits: list[service_pb2.AuditRecord] = []

    async def on_audit(subject: str, msg: Message, raw: Msg) -> None:
        if isinstance(msg, service_pb2.AuditRecord):
            audits.append(msg)

    await bus.subscribe("plantbus.v1.audit.oee", on_audit)
    async with hosted([OeeService], nats_url=nats_url, data_dir=tmp_path) as runner:
        service = runner.services["oee"]
        assert isinstance(service, OeeService)
        await wait_until(lambda: service.config_version == 1)
        await feed.send("state", 1)
        await feed.send("state", 3)  # stopped, no reason code given
        async with operator_channel(runner) as chan:
            stub = oee_pb2_grpc.OeeServiceStub(chan)

            async def listed() -> list[oee_pb2.DowntimeEvent]:
                reply = await stub.ListDowntimes(oee_pb2.ListDowntimesRequest(machine="s/a/l/m1"))
                return list(reply.downtimes)

            episodes: list[oee_pb2.DowntimeEvent] = await wait_until(listed)  # type: ignore[arg-type]
            [episode] = episodes
            assert episode.reason != "changeover"
            await wait_until(
                lambda: (
                    service.machine_snapshot("s/a/l/m1", time.time()).downtime_by_reason.get(
                        episode.reason or "unspecified", 0.0
                    )
                    > 0.0
                )
            )
            reply = await stub.ClassifyDowntime(
                oee_pb2.ClassifyDowntimeRequest(id=episode.id, reason="changeover"),
                metadata=(("x-plantbus-user", "alice"),),
            )
            assert reply.downtime.kind == oee_pb2.DOWNTIME_KIND_CLASSIFIED
            assert (reply.downtime.reason, reply.downtime.classified_by) == ("changeover", "alice")
            await feed.send("state", 1)  # the stop ends under its new reason

            async def losses() -> oee_pb2.GetLossesResponse | None:
                reply = await stub.GetLosses(oee_pb2.GetLossesRequest(scope="s/a/l/m1"))
                return reply if reply.six_big_losses_s["setup_adjustments_s"] > 0 else None

            ended: oee_pb2.GetLossesResponse | None = await wait_until(losses)  # type: ignore[arg-type]
            assert ended is not None
            reasons = [p.reason for p in ended.pareto]
            # time before the first state sample is "unknown"; the episode's own time all moved
            assert "changeover" in reasons and (episode.reason or "unspecified") not in reasons
            assert ended.six_big_losses_s["breakdowns_s"] == 0
            [after] = await listed()
            assert after.id == episode.id and after.reason == "changeover"
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await stub.ClassifyDowntime(oee_pb2.ClassifyDowntimeRequest(id="nope", reason="x"))
            assert info.value.code() == grpc.StatusCode.NOT_FOUND
        record = await wait_until(lambda: next(iter(audits), None))
        assert record is not None
        assert (record.action, record.actor, record.target) == (
            "downtime.classify",
            "alice",
            "s/a/l/m1",
        )


async def test_stream_oee_and_plantbus_oee_show(
    bus: Bus, nats_url: str, tmp_path: Path, feed: Feed
) -> None:
    async with hosted([OeeService], nats_url=nats_url, data_dir=tmp_path) as runner:
        service = runner.services["oee"]
        assert isinstance(service, OeeService)
        await wait_until(lambda: service.config_version == 1)
        async with operator_channel(runner) as chan:
            stub = oee_pb2_grpc.OeeServiceStub(chan)
            stream = stub.StreamOee(oee_pb2.StreamOeeRequest(scope_prefix="s/a/l/m1"))

            async def stopped() -> oee_pb2.OeeSnapshot:
                async for reply in stream:
                    snapshot: oee_pb2.OeeSnapshot = reply.snapshot
                    assert snapshot.scope == "s/a/l/m1"  # the line's snapshots filtered out
                    if snapshot.state == "stopped":
                        return snapshot
                raise AssertionError("stream ended")

            reader = asyncio.create_task(stopped())
            await wait_until(lambda: service.listeners)
            await feed.send("state", 1)
            await feed.send("reason", 102)
            await feed.send("state", 3)
            snap = await asyncio.wait_for(reader, timeout=10)
            stream.cancel()
            assert snap.reason == "jam"
        shown = await asyncio.to_thread(
            CliRunner().invoke,
            cli,
            ["oee", "show", "--nats-url", nats_url, "--data-dir", str(tmp_path), "s/a/l/m1"],
        )
        assert shown.exit_code == 0, shown.output
        assert shown.output.startswith("s/a/l/m1") and "stopped jam" in shown.output
        missing = await asyncio.to_thread(
            CliRunner().invoke,
            cli,
            ["oee", "show", "--nats-url", nats_url, "--data-dir", str(tmp_path), "nowhere"],
        )
        assert missing.exit_code != 0 and "Traceback" not in missing.output


async def test_a_finished_order_is_published_final_and_leaves_the_saved_state(
    bus: Bus, nats_url: str, tmp_path: Path, feed: Feed
) -> None:
    finals: list[oee_pb2.OeeSnapshot] = []

    async def on_final(subject: str, msg: Message, raw: Msg) -> None:
        if isinstance(msg, oee_pb2.OeeSnapshot):
            finals.append(msg)

    await bus.subscribe("plantbus.v1.oee_final.>", on_final)
    async with hosted([OeeService], nats_url=nats_url, data_dir=tmp_path) as runner:
        service = runner.services["oee"]
        assert isinstance(service, OeeService)
        await wait_until(lambda: service.config_version == 1)
        order = erp_pb2.WorkOrderEvent(erp_id="WO-1", status="running", machine="s/a/l/m1")
        order.ideal_cycle_time_s = 2.0
        await bus.publish(subjects.workorder("s", "l"), order)
        await feed.send("state", 1)
        for raw in (0, 6):
            await feed.send("parts", raw)
        await wait_until(
            lambda: service.machine_snapshot("s/a/l/m1", time.time()).order_total_count == 6
        )
        order.status = "completed"
        await bus.publish(subjects.workorder("s", "l"), order)
        final = await wait_until(lambda: next(iter(finals), None), timeout=15)
        assert final.final and final.scope == "s/a/l/m1" and final.work_order == "WO-1"
        assert final.shift == "" and final.kpis.total_count == final.order_total_count == 6
        assert final.kpis.allocation_efficiency > 0 and final.order_kpis.total_count == 6
        await service.save()
        kv = await streams.open_bucket(bus, streams.OEE_STATE)
        assert sorted(await kv.keys()) == ["line.s.a.l", "machine.s.a.l.m1"]
        saved = json.loads(zlib.decompress((await kv.get("machine.s.a.l.m1")).value or b""))
        assert saved["track"]["orders"] == {} and saved["track"]["order"] == ""
    stored = await bus.js.get_last_msg(streams.OEE_FINAL.name, "plantbus.v1.oee_final.s.a.l.m1")
    assert oee_pb2.OeeSnapshot.FromString(stored.data or b"").work_order == "WO-1"
