"""Pytest fixtures: a real nats-server with JetStream on a free port, a real 3-node
JetStream cluster, connected Buses, and a real PostgreSQL server (Debian's postgresql
package) with a fresh database per test."""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator, Generator, Iterator
from pathlib import Path

import pytest

from plantbus.kit.bus import Bus, NatsSettings
from plantbus.kit.natsconnect import connect
from plantbus.kit.natsserver import NatsServer
from plantbus.testing.cluster import NatsCluster
from plantbus.testing.postgres import PostgresServer, postgres_bin


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


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item,
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test that ran :func:`nats_cluster` shows each server's log tail."""
    report: pytest.TestReport = yield
    cluster = getattr(item, "funcargs", {}).get("nats_cluster")
    if report.failed and isinstance(cluster, NatsCluster):
        report.sections.append(("nats-server log tails", cluster.log_tails()))
    return report


@pytest.fixture
async def cluster_bus(nats_cluster: NatsCluster) -> AsyncIterator[Bus]:
    """A Bus connected to :func:`nats_cluster` that creates streams and buckets R3."""
    connected = await connect(nats_cluster.settings())
    try:
        yield connected
    finally:
        await connected.close()


_databases = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster for the whole session, removed after; skipped (failed under
    CI) when Debian's postgresql package is not installed."""
    if postgres_bin() is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is missing: .ci/run installs Debian's postgresql package")
        pytest.skip("needs Debian's postgresql package (apt-get install postgresql)")
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture
def postgres_dsn(postgres_server: PostgresServer) -> str:
    """The connection string of a new, empty database on :func:`postgres_server`."""
    return postgres_server.create_database(f"test_{os.getpid()}_{next(_databases)}")
