"""Each process serves its OpenTelemetry metrics for Prometheus on --metrics-port, gauges
read from every live source when scraped."""

from __future__ import annotations

import os
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
            level = telemetry.Gauge("plantbus.test", "plantbus.test.level", "a level")
            level.watch(lambda: [(7.5, {{"scope": "m1"}})])
            gone = level.watch(lambda: [(1.0, {{"scope": "stopped"}})])
            gone()  # a service that stopped no longer reports
            await asyncio.sleep(60)

        asyncio.run(main())
    """)
    # a separate process: the Prometheus exporter and the meter provider are process-wide
    proc = subprocess.Popen(
        [sys.executable, "-c", script], env={**os.environ, "PLANTBUS_METRICS_HOST": "127.0.0.1"}
    )
    try:
        deadline = time.monotonic() + 30
        body = scrape(port)
        while "plantbus_test_samples" not in body:
            assert time.monotonic() < deadline, "metrics endpoint did not serve the counter"
            time.sleep(0.1)
            body = scrape(port)
        assert re.search(r"^plantbus_test_samples_total\{[^}]*\} 3\.0$", body, re.M), body
        assert re.search(r'^plantbus_test_level\{[^}]*scope="m1"[^}]*\} 7\.5$', body, re.M), body
        assert 'scope="stopped"' not in body
    finally:
        proc.kill()
        proc.wait()
