"""Pytest fixtures: a real nats-server with JetStream on a free port, a real 3-node
JetStream cluster, and connected Buses."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from plantbus.kit.bus import Bus, NatsSettings
from plantbus.kit.natsconnect import connect
from plantbus.kit.natsserver import NatsServer
from plantbus.testing.cluster import NatsCluster


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A nats-server with JetStream in a temporary directory, on a free port."""
    server = NatsServer(store_dir=tmp_path / "nats").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def nats_url(nats_server: NatsServer) -> str:
    """The client URL of :func:`nats_server`."""
    return nats_server.url


@pytest.fixture
async def bus(nats_url: str) -> AsyncIterator[Bus]:
    """A Bus connected to :func:`nats_server`."""
    connected = await connect(NatsSettings(url=nats_url, name="pytest"))
    try:
        yield connected
    finally:
        await connected.close()


@pytest.fixture
def nats_cluster(tmp_path: Path) -> Iterator[NatsCluster]:
    """Three nats-servers clustered on loopback with JetStream, once a meta leader is
    elected; stopped at the end."""
    cluster = NatsCluster.in_dir(tmp_path / "cluster").start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
async def cluster_bus(nats_cluster: NatsCluster) -> AsyncIterator[Bus]:
    """A Bus connected to :func:`nats_cluster` that creates streams and buckets R3."""
    connected = await connect(nats_cluster.settings())
    try:
        yield connected
    finally:
        await connected.close()
