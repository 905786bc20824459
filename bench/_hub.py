"""Shared bench plumbing: a throwaway nats-server and percentile helpers."""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from plantbus.kit.natsserver import NatsServer


@contextmanager
def nats_server() -> Iterator[tuple[NatsServer, Path]]:
    """A nats-server with JetStream in a temporary directory."""
    with tempfile.TemporaryDirectory() as tmp:
        server = NatsServer(store_dir=Path(tmp) / "nats").start()
        try:
            yield server, Path(tmp)
        finally:
            server.stop()


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) of values."""
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]
