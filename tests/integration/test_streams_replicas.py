"""Streams and buckets on a real 3-node JetStream cluster: created with the replicas of
PLANTBUS_JS_REPLICAS, never lowered below what an operator raised, and the difference
logged; a single server refuses replicas with an error that names the setting."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from plantbus.kit import streams
from plantbus.kit.bus import Bus
from plantbus.kit.natsconnect import connect
from plantbus.kit.settings import from_env
from plantbus.sdk.errors import ConfigError
from plantbus.testing.cluster import NatsCluster
from plantbus.testing.waiting import wait_until

DAY = 24 * 3600.0


async def replicas(bus: Bus, stream: str) -> int:
    return int((await bus.js.stream_info(stream)).config.num_replicas or 1)


async def test_provision_makes_every_stream_and_bucket_r3_and_survives_its_leader(
    cluster_bus: Bus, nats_cluster: NatsCluster
) -> None:
    await streams.provision(cluster_bus)
    names = [s.name for s in streams.ALL_STREAMS] + [b.stream for b in streams.ALL_BUCKETS]
    for name in names:
        info = await cluster_bus.js.stream_info(name)
        assert info.config.num_replicas == 3, name
        assert info.cluster is not None and info.cluster.leader, name
        assert len(info.cluster.replicas or []) == 2, (name, info.cluster)

    subject = "plantbus.v1.cycle.s.a.l.m1.plc"
    await cluster_bus.js.publish(subject, b"before")
    leader = await nats_cluster.leader(cluster_bus, streams.CYCLES.name)
    leader.server.kill()

    async def new_leader() -> bool:
        try:
            return (await nats_cluster.leader(cluster_bus, streams.CYCLES.name)) != leader
        except Exception:  # noqa: BLE001 - no leader while the election runs
            return False

    await wait_until(new_leader, timeout=20, message="a new telemetry leader")
    await cluster_bus.js.publish(subject, b"after", timeout=10)
    state = (await cluster_bus.js.stream_info(streams.CYCLES.name)).state
    assert state.messages == 2, state


async def test_an_operator_raise_is_kept_and_logged(
    nats_cluster: NatsCluster, caplog: pytest.LogCaptureFixture
) -> None:
    r1 = await connect(nats_cluster.settings().model_copy(update={"js_replicas": 1}))
    try:
        await streams.ensure_stream(r1, streams.CYCLES)
        await streams.open_bucket(r1, streams.OEE_STATE)
        assert await replicas(r1, streams.CYCLES.name) == 1
        # the operator raises replicas and limits by hand (nats stream edit)
        found = (await r1.js.stream_info(streams.CYCLES.name)).config
        await r1.js.update_stream(
            replace(found, num_replicas=3, max_age=3 * DAY, duplicate_window=600.0)
        )
        kv = (await r1.js.stream_info(streams.OEE_STATE.stream)).config
        await r1.js.update_stream(replace(kv, num_replicas=3))
        # a service starts again with the hub's definition and one replica
        with caplog.at_level(logging.INFO, logger="plantbus.kit.streams"):
            await streams.ensure_stream(r1, streams.CYCLES)
            await streams.open_bucket(r1, streams.OEE_STATE)
        kept = (await r1.js.stream_info(streams.CYCLES.name)).config
        assert (kept.num_replicas, kept.max_age, kept.duplicate_window) == (3, 3 * DAY, 600.0)
        assert await replicas(r1, streams.OEE_STATE.stream) == 3
        logged = caplog.text
        assert "stream PLANTBUS_CYCLES differs" in logged, logged
        assert "num_replicas 3 (hub: 1)" in logged and "max_age 259200.0 (hub: 86400.0)" in logged
        assert "bucket plantbus_oee differs" in logged, logged
    finally:
        await r1.close()


async def test_ensure_restores_what_was_weakened_and_raises_replicas_to_the_setting(
    nats_cluster: NatsCluster, cluster_bus: Bus
) -> None:
    r1 = await connect(nats_cluster.settings().model_copy(update={"js_replicas": 1}))
    try:
        await streams.ensure_stream(r1, streams.ERP_OUTBOX)
        await streams.open_bucket(r1, streams.ERP_STATE)
        # someone drops a subject and shortens the dedupe window of the outbox
        found = (await r1.js.stream_info(streams.ERP_OUTBOX.name)).config
        await r1.js.update_stream(replace(found, subjects=["elsewhere.>"], duplicate_window=5.0))
    finally:
        await r1.close()
    await streams.ensure_stream(cluster_bus, streams.ERP_OUTBOX)
    await streams.open_bucket(cluster_bus, streams.ERP_STATE)
    fixed = (await cluster_bus.js.stream_info(streams.ERP_OUTBOX.name)).config
    assert fixed.subjects == list(streams.ERP_OUTBOX.subjects)
    assert (fixed.num_replicas, fixed.duplicate_window) == (3, DAY)
    assert await replicas(cluster_bus, streams.ERP_STATE.stream) == 3
    kv = await streams.open_bucket(cluster_bus, streams.ERP_STATE)
    assert await kv.put("k", b"v") == 1


async def test_one_server_refuses_replicas_naming_the_setting(nats_url: str) -> None:
    bus = await connect(from_env(nats_url)[0].model_copy(update={"js_replicas": 3}))
    try:
        with pytest.raises(ConfigError, match="PLANTBUS_JS_REPLICAS must not exceed"):
            await streams.ensure_stream(bus, streams.CYCLES)
        with pytest.raises(ConfigError, match="bucket plantbus_config with 3 replicas"):
            await streams.open_bucket(bus, streams.CONFIG)
    finally:
        await bus.close()


def test_replicas_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLANTBUS_JS_REPLICAS", raising=False)
    assert from_env()[0].js_replicas == 1
    monkeypatch.setenv("PLANTBUS_JS_REPLICAS", "3")
    assert from_env()[0].js_replicas == 3
    monkeypatch.setenv("PLANTBUS_JS_REPLICAS", "7")
    with pytest.raises(ConfigError, match="PLANTBUS_JS_REPLICAS=7: expected 1 to 5"):
        from_env()
