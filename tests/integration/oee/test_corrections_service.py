"""Corrections by people in the running OEE service: scrap entered over gRPC at a past
time needs oee.correct, is audited with the quantity and the revision, and is published
as a corrected snapshot (a higher revision replaces the old one); the CLI enters rework
and classifies a stop."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import grpc
import pytest
from click.testing import CliRunner, Result

from plantbus.cli.oee import oee
from plantbus.kit import codec, streams
from plantbus.kit.bus import Bus
from plantbus.oee.service import OeeService
from plantbus.testing.config import people, put_config
from plantbus.testing.harness import hosted, operator_channel
from plantbus.testing.messages import collected
from plantbus.testing.waiting import wait_until
from plantbus.v1 import oee_pb2, oee_pb2_grpc, service_pb2
from tests.integration.oee.test_oee_service import CONFIG, Feed

M1 = "s/a/l/m1"


async def cli(nats_url: str, tmp_path: Path, *args: str) -> Result:
    argv = [*args, "--nats-url", nats_url, "--data-dir", str(tmp_path)]
    return await asyncio.to_thread(CliRunner().invoke, oee, argv)


async def test_scrap_entered_later_is_authorized_audited_and_republished(
    bus: Bus, nats_url: str, tmp_path: Path
) -> None:
    await streams.ensure_stream(bus, streams.CYCLES)
    feed = Feed(bus)
    await put_config(
        bus,
        {
            **CONFIG,
            **people(qa=["oee.correct", "downtime.reclassify"], alice=["downtime.classify"]),
        },
    )
    audits = await collected(bus, "plantbus.v1.audit.oee", service_pb2.AuditRecord)
    snaps = await collected(bus, "plantbus.v1.oee.s.a.l.m1", oee_pb2.OeeSnapshot)
    async with hosted([OeeService], nats_url=nats_url, data_dir=tmp_path) as runner:
        service = runner.services["oee"]
        assert isinstance(service, OeeService)
        await wait_until(lambda: service.config_version == 1)
        await feed.send("state", 1)
        await feed.send("parts", 0)  # baseline
        await feed.send("parts", 40)
        await wait_until(lambda: any(s.total_count == 40 for s in snaps))
        made = time.time()  # the 40 parts were counted by now
        await asyncio.sleep(2.5)  # past the reorder window: the figures were shown
        shown = max(s.revision for s in snaps)
        request = oee_pb2.CorrectCountsRequest(
            machine=M1,
            time=codec.timestamp(made),
            correction=oee_pb2.COUNT_CORRECTION_SCRAP,
            quantity=4,
            comment="found at final inspection",
        )
        async with operator_channel(runner) as chan:
            stub = oee_pb2_grpc.OeeServiceStub(chan)
            with pytest.raises(grpc.aio.AioRpcError) as denied:
                await stub.CorrectCounts(request, metadata=(("x-plantbus-user", "alice"),))
            assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
            reply = await stub.CorrectCounts(request, metadata=(("x-plantbus-user", "qa"),))
        snap = reply.snapshot
        assert (snap.total_count, snap.good_count, snap.kpis.scrap_count) == (40, 36, 4)
        assert snap.revision > shown
        await wait_until(lambda: any(s.good_count == 36 and s.revision > shown for s in snaps))

        rework = await cli(nats_url, tmp_path, "correct", M1, "rework", "3", "-m", "burr")
        assert rework.exit_code == 0, rework.output
        assert "rework 3" in rework.output and "good 36" in rework.output
        await feed.send("reason", 102)
        await feed.send("state", 3)
        (stop,) = await wait_until(
            lambda: service.engine.downtime.recent and [service.engine.downtime.recent[0]]
        )
        listed = await cli(nats_url, tmp_path, "downtimes")
        assert stop.id in listed.output and "jam" in listed.output
        first = await cli(nats_url, tmp_path, "classify", stop.id, "setup", "--user", "alice")
        assert first.exit_code == 0 and "setup (by alice)" in first.output, first.output
        # changing a classification someone made is a correction: downtime.reclassify
        refused = await cli(nats_url, tmp_path, "classify", stop.id, "jam", "--user", "alice")
        assert refused.exit_code == 4 and "downtime.reclassify" in refused.output
        classified = await cli(
            nats_url, tmp_path, "classify", stop.id, "changeover", "--user", "qa"
        )
        assert classified.exit_code == 0 and "changeover" in classified.output, classified.output

    def corrections() -> list[service_pb2.AuditRecord]:
        return [a for a in audits if a.action == "oee.correct_counts"]

    await wait_until(lambda: len(corrections()) >= 3)
    refused, scrap, rework_ = corrections()[:3]
    assert (refused.actor, refused.outcome) == ("alice", service_pb2.AUDIT_OUTCOME_DENIED)
    assert (scrap.actor, scrap.detail, scrap.outcome) == (
        "qa",
        "found at final inspection",
        service_pb2.AUDIT_OUTCOME_SUCCESS,
    )
    assert scrap.attributes["correction"] == "scrap" and scrap.attributes["quantity"] == "4"
    assert rework_.attributes["correction"] == "rework"
    reclassified = [a for a in audits if a.action == "downtime.reclassify"]
    assert [(a.actor, a.outcome) for a in reclassified] == [
        ("alice", service_pb2.AUDIT_OUTCOME_DENIED),
        ("qa", service_pb2.AUDIT_OUTCOME_SUCCESS),
    ]
    assert reclassified[1].detail.endswith("setup -> changeover")
