"""One trace from a device read to what it caused, across the hub's real processes: the
device service's read span is the parent of OEE's and alerting's handling of the samples,
and the historian's write links to it. The spans are exported over OTLP, as to a real
collector, to a receiver process (tests/e2e/otlp_receiver.py)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plantbus.testing.waiting import wait_until
from tests.hub import demo_plant, running_hub

CONSUMER = 5  # opentelemetry.proto.trace.v1.Span.SPAN_KIND_CONSUMER


class Spans:
    """What the receiver wrote so far."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def of(self, service: str, name: str) -> list[dict[str, Any]]:
        rows = [json.loads(line) for line in self.path.read_text().splitlines() if line]
        return [r for r in rows if r["service"] == service and r["name"].startswith(name)]


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[tuple[Spans, int]]:
    out = tmp_path / "spans.jsonl"
    out.touch()
    root = Path(__file__).parents[2]
    command = [sys.executable, "-m", "tests.e2e.otlp_receiver", str(out)]
    proc = subprocess.Popen(command, cwd=root)
    try:
        port_file = out.with_suffix(".port")
        asyncio.run(wait_until(port_file.exists, timeout=30, message="the OTLP receiver"))
        yield Spans(out), int(port_file.read_text())
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.slow
def test_a_device_read_is_the_parent_of_what_it_causes(
    receiver: tuple[Spans, int], tmp_path: Path
) -> None:
    spans, port = receiver
    env = {
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"http://127.0.0.1:{port}",
        "OTEL_BSP_SCHEDULE_DELAY": "500",
    }
    with running_hub(tmp_path / "hub", "--config", str(demo_plant(tmp_path)), env=env):

        def reads() -> dict[str, dict[str, Any]]:
            return {s["span_id"]: s for s in spans.of("plantbus-device", "read m1-plc")}

        def children(service: str, name: str) -> list[dict[str, Any]]:
            ids = reads()
            return [s for s in spans.of(service, name) if s["parent_span_id"] in ids]

        def historian_links() -> list[dict[str, Any]]:
            ids = reads()
            writes = spans.of("plantbus-historian", "historian write")
            return [s for s in writes if any(link in ids for link in s["links"])]

        oee = asyncio.run(wait_until(lambda: children("plantbus-oee", "oee telemetry"), timeout=90))
        alerting = asyncio.run(
            wait_until(lambda: children("plantbus-alerting", "receive plantbus.v1.cycle"))
        )
        historian = asyncio.run(wait_until(historian_links, timeout=30))
    device = reads()
    assert oee[0]["trace_id"] == device[oee[0]["parent_span_id"]]["trace_id"], "one trace"
    assert alerting[0]["kind"] == CONSUMER
    assert historian[0]["kind"] == CONSUMER
    assert len(historian[0]["links"]) <= 32, "batch spans keep a bounded number of links"
