"""Each process serves its OpenTelemetry metrics for Prometheus on --metrics-port."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import time
import urllib.request

from plantbus.kit.net import free_port


def scrape(port: int) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as reply:
            return str(reply.read().decode())
    except OSError:
        return ""


def test_metrics_are_scrapeable_by_prometheus(nats_url: str) -> None:
    port = free_port()
    script = textwrap.dedent(f"""
        import asyncio
        from plantbus.kit import telemetry
        from plantbus.kit.bus import NatsSettings
        from plantbus.kit.natsconnect import connect

        async def main():
            telemetry.configure("probe", "i1", {port})
            bus = await connect(NatsSettings(url="{nats_url}"))
            telemetry.meter("plantbus.test").create_counter("plantbus.test.samples").add(3)
            await asyncio.sleep(60)

        asyncio.run(main())
    """)
    # a separate process: the Prometheus exporter and the meter provider are process-wide
    proc = subprocess.Popen(
        [sys.executable, "-c", script], env={"PLANTBUS_METRICS_HOST": "127.0.0.1"}
    )
    try:
        deadline = time.monotonic() + 30
        body = scrape(port)
        while "plantbus_test_samples" not in body:
            assert time.monotonic() < deadline, "metrics endpoint did not serve the counter"
            time.sleep(0.1)
            body = scrape(port)
        assert re.search(r"^plantbus_test_samples_total\{[^}]*\} 3\.0$", body, re.M), body
    finally:
        proc.kill()
        proc.wait()
