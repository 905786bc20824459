"""Each process serves its OpenTelemetry metrics for Prometheus on --metrics-port."""

from __future__ import annotations

import asyncio
import re
import socket
import sys
import textwrap
import urllib.request

from plantbus.testing.waiting import wait_until


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_metrics_are_scrapeable_by_prometheus(nats_url: str) -> None:
    port = free_port()
    script = textwrap.dedent(f"""
        import asyncio
        from plantbus.sdk import telemetry
        from plantbus.sdk.bus import NatsSettings, connect

        async def main():
            telemetry.configure("probe", "i1", {port})
            bus = await connect(NatsSettings(url="{nats_url}"))
            telemetry.meter("plantbus.test").create_counter("plantbus.test.samples").add(3)
            await asyncio.sleep(60)

        asyncio.run(main())
    """)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, env={"PLANTBUS_METRICS_HOST": "127.0.0.1"}
    )
    try:

        def scrape() -> str:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
                    return str(r.read().decode())
            except OSError:
                return ""

        body = await wait_until(
            lambda: "plantbus_test_samples" in scrape() and scrape(),
            timeout=30,
            message="metrics endpoint",
        )
        assert re.search(r"^plantbus_test_samples_total\{[^}]*\} 3\.0$", body, re.M), body
    finally:
        proc.kill()
        await proc.wait()
