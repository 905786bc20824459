"""What the dashboard's browser tests share: Debian's Chromium and its flags, a hub
started with `plantbus up` (the demo plant) for them, login links as the operator gets
them, applying a changed plant to it as `plantbus up` applied the first, and publishing on
the hub's bus as the service that owns a subject."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plantbus.kit.natsconnect import connect
from plantbus.v1 import telemetry_pb2
from tests.hub import demo_plant, nats_settings, plantbus, running_hub

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WATCH_CSP = """window.__violations = [];
document.addEventListener('securitypolicyviolation',
    (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));"""


def need_chromium() -> None:
    """Skip (fail in CI) without Debian's chromium."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: .ci/run installs Debian's chromium package")
        pytest.skip("needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)")


def hub_for_browsers(tmp: Path) -> Iterator[dict[str, Any]]:
    """`plantbus up` with the demo plant: ``{"url": the dashboard, "data": data dir,
    "plant": config dir}``; its dashboard token file never outlives it."""
    need_chromium()
    data = tmp / "hub"
    plant = demo_plant(tmp)
    with running_hub(data, "--config", str(plant)):
        runtime = json.loads((data / "runtime.json").read_text())
        token_file = data / "dashboard-token"
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        yield {"url": runtime["dashboard"], "data": data, "plant": plant}
    assert not token_file.exists(), "the dashboard token outlived the hub"


def login_link(hub: dict[str, Any]) -> str:
    """A fresh one-time link, as the operator gets it: `plantbus dashboard login`."""
    out = plantbus("dashboard", "login", data_dir=hub["data"])
    assert out.returncode == 0, out.stderr
    link = out.stdout.strip()
    assert link.startswith(f"{hub['url']}login#")
    return link


def apply_plant(hub: dict[str, Any], plant: Path, why: str) -> None:
    """`plantbus config apply PLANT` with the environment `plantbus up` gave its own first
    config: the hub's data dir (the ERP exchange is under it, not in the current
    directory) and the simulator's ports (else the demo devices would point at the
    default ones, where nothing answers, for every test after this one)."""
    runtime = json.loads((hub["data"] / "runtime.json").read_text())
    env = {
        **os.environ,
        "PLANTBUS_DATA_DIR": str(hub["data"].resolve()),
        **{
            f"PLANTBUS_SIM_{k.upper()}_PORT": a.rsplit(":", 1)[1] for k, a in runtime["sim"].items()
        },
    }
    command = [sys.executable, "-m", "plantbus.cli", "config", "apply", str(plant), "-m", why]
    out = subprocess.run(
        [*command, "--data-dir", str(hub["data"])],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert out.returncode == 0, out.stderr


_PUBLISHER = {"cycle": "device", "alarm": "alerting", "downtime": "oee", "oee": "oee"}
"""The hub's NATS user that may publish each subject family (only its owner may)."""


async def publish(data: Path, subject: str, message: Any) -> None:
    """Publish as the service that owns the subject."""
    bus = await connect(nats_settings(data, _PUBLISHER[subject.split(".")[2]]))
    await bus.publish(subject, message)
    await bus.close()


async def raise_bad_quality_alarm(data: Path) -> None:
    """The PLC of m1 reports a bad value for its state tag, as a failing PLC would."""
    sample = telemetry_pb2.TagSample(
        path="demo/machining/line1/m1/state",
        quality=telemetry_pb2.QUALITY_BAD,
        quality_reason="connection lost (test)",
    )
    await publish(
        data,
        "plantbus.v1.cycle.demo.machining.line1.m1.m1-plc",  # into the stream alerting reads
        telemetry_pb2.TagSampleBatch(samples=[sample], device="m1-plc"),
    )
